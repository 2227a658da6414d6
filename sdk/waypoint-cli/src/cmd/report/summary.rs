//! The JSON summary: every figure the HTML page shows, for machines.

use std::collections::BTreeMap;

use serde::Serialize;
use waypoint::Category;
use waypoint::telemetry::{Aggregate, Decision, ResponseLevel, Rollup, SIGNAL_KINDS, Tally};

use super::ReadStats;

/// A count as far as the exported records allow: the shown part, and how far hidden small
/// cells could take it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figure {
    /// Sum of the counts that were shown.
    pub count: u64,
    /// Number of suppressed cells (each below k) that are not in `count`.
    #[serde(skip_serializing_if = "is_zero")]
    pub suppressed_cells: u64,
    /// Largest value consistent with the suppressed cells (`count + suppressed_cells × (k − 1)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_most: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Figure {
    /// A figure from a tally, with the records' `k`.
    pub fn new(tally: Tally, k: u64) -> Figure {
        let at_most = (tally.suppressed > 0).then(|| {
            tally
                .count
                .saturating_add(tally.suppressed.saturating_mul(k.saturating_sub(1)))
        });
        Figure {
            count: tally.count,
            suppressed_cells: tally.suppressed,
            at_most,
        }
    }

    /// Whether part of this figure is hidden.
    pub fn is_partial(&self) -> bool {
        self.suppressed_cells > 0
    }

    /// The upper bound (the count itself when nothing is hidden).
    pub fn upper(&self) -> u64 {
        self.at_most.unwrap_or(self.count)
    }
}

/// Review decisions and precision for one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reviews {
    /// Referrals upheld by a reviewer.
    pub upheld: Figure,
    /// Referrals dismissed.
    pub dismissed: Figure,
    /// upheld / (upheld + dismissed) from the shown counts.
    pub precision: Option<f64>,
    /// Lowest precision the hidden cells allow.
    pub precision_low: Option<f64>,
    /// Highest precision the hidden cells allow.
    pub precision_high: Option<f64>,
}

impl Reviews {
    fn new(upheld: Figure, dismissed: Figure) -> Reviews {
        let ratio = |u: u64, d: u64| {
            let decided = u.saturating_add(d);
            (decided > 0).then(|| u as f64 / decided as f64)
        };
        Reviews {
            upheld,
            dismissed,
            precision: ratio(upheld.count, dismissed.count),
            precision_low: ratio(upheld.count, dismissed.upper()),
            precision_high: ratio(upheld.upper(), dismissed.count),
        }
    }
}

/// Latency percentiles in milliseconds (upper bounds of their histogram buckets).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: Option<f64>,
    /// 90th percentile.
    pub p90_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// 99.9th percentile.
    pub p999_ms: Option<f64>,
}

impl Latency {
    /// Percentiles of `agg`'s latency histogram.
    pub fn of(agg: &Aggregate) -> Latency {
        let q = |p: f64| agg.latency_quantile_micros(p).map(|us| us as f64 / 1000.0);
        Latency {
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
        }
    }
}

/// One window, all servers merged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Start, Unix seconds.
    pub start: u64,
    /// Servers that sent a record for it.
    pub servers: usize,
    /// Texts scored.
    pub messages: Figure,
    /// Responses of any kind.
    pub responses: Figure,
    /// Latency percentiles.
    pub latency: Latency,
}

/// The help funnel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Funnel {
    /// Help links shown.
    pub shown: Figure,
    /// Help links opened.
    pub opened: Figure,
    /// opened / shown from the shown counts.
    pub open_rate: Option<f64>,
}

/// Where the figures come from and how they were protected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sources {
    /// Input files read.
    pub files: usize,
    /// Records merged.
    pub records: u64,
    /// Server ids.
    pub servers: Vec<String>,
    /// Windows covered.
    pub windows: usize,
    /// Window lengths seen, seconds.
    pub window_secs: Vec<u64>,
    /// Start of the first window, Unix seconds.
    pub from: u64,
    /// End of the last window, Unix seconds.
    pub to: u64,
    /// The suppression threshold (the largest of the records).
    pub k: u64,
    /// Noise budgets of records that had noise.
    pub epsilons: Vec<f64>,
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Always `waypoint-report`.
    pub schema: &'static str,
    /// Version of this summary's layout.
    pub version: u32,
    /// Inputs.
    pub sources: Sources,
    /// Texts scored.
    pub messages: Figure,
    /// Texts scored per language.
    pub messages_by_language: BTreeMap<String, Figure>,
    /// Non-text signals per kind.
    pub signals: BTreeMap<&'static str, Figure>,
    /// The transparency table: category → response → count.
    pub responses: BTreeMap<&'static str, BTreeMap<&'static str, Figure>>,
    /// Responses per rung over all categories.
    pub responses_total: BTreeMap<&'static str, Figure>,
    /// Help funnel over all categories.
    pub help_funnel: Funnel,
    /// Help funnel per category.
    pub help_funnel_by_category: BTreeMap<&'static str, Funnel>,
    /// Referrals per category.
    pub referrals: BTreeMap<&'static str, Figure>,
    /// Review decisions and precision per category.
    pub reviews: BTreeMap<&'static str, Reviews>,
    /// Scoring latency over the whole period.
    pub latency: Latency,
    /// Seconds of degraded scoring, all servers.
    pub degraded_seconds: f64,
    /// Signals dropped because a queue was full.
    pub queue_drops: Figure,
    /// Telemetry records lost on the way.
    pub export_drops: u64,
    /// Suppressed cells merged in, in total.
    pub suppressed_cells: u64,
    /// Per window.
    pub windows: Vec<Window>,
}

impl Summary {
    /// Computes the summary of `rollup`.
    pub fn new(rollup: &Rollup, stats: &ReadStats) -> Summary {
        let k = rollup.max_k.max(1);
        let fig = |t: Tally| Figure::new(t, k);
        let total = rollup.total();
        let window_len = rollup.window_secs.iter().copied().max().unwrap_or(3600);
        let from = rollup.windows.keys().next().copied().unwrap_or(0);
        let to = rollup
            .windows
            .keys()
            .next_back()
            .map_or(0, |s| s + window_len);
        let mut responses = BTreeMap::new();
        let mut help_funnel_by_category = BTreeMap::new();
        let mut referrals = BTreeMap::new();
        let mut reviews = BTreeMap::new();
        for category in Category::ALL {
            let mut row = BTreeMap::new();
            for level in ResponseLevel::LADDER {
                row.insert(level.as_str(), fig(total.responses_for(level, category)));
            }
            responses.insert(category.as_str(), row);
            let shown = fig(total.responses_for(ResponseLevel::Help, category));
            let opened = fig(total.help_opened[category.index()].iter().sum::<Tally>());
            help_funnel_by_category.insert(category.as_str(), funnel(shown, opened));
            referrals.insert(category.as_str(), fig(total.referrals[category.index()]));
            reviews.insert(
                category.as_str(),
                Reviews::new(
                    fig(total.decisions(category, Decision::Upheld)),
                    fig(total.decisions(category, Decision::Dismissed)),
                ),
            );
        }
        let windows = rollup
            .windows
            .iter()
            .map(|(start, agg)| Window {
                start: *start,
                servers: rollup.servers_per_window.get(start).map_or(0, |s| s.len()),
                messages: fig(agg.total_messages()),
                responses: fig(all_responses(agg)),
                latency: Latency::of(agg),
            })
            .collect();
        Summary {
            schema: "waypoint-report",
            version: 1,
            sources: Sources {
                files: stats.files,
                records: stats.records,
                servers: rollup.servers.iter().cloned().collect(),
                windows: rollup.windows.len(),
                window_secs: rollup.window_secs.iter().copied().collect(),
                from,
                to,
                k,
                epsilons: rollup.epsilons.clone(),
            },
            messages: fig(total.total_messages()),
            messages_by_language: total
                .messages
                .iter()
                .map(|(l, t)| (l.as_str().to_owned(), fig(*t)))
                .collect(),
            signals: SIGNAL_KINDS
                .iter()
                .map(|s| (s.telemetry_name(), fig(total.signals[s.index()])))
                .collect(),
            responses,
            responses_total: ResponseLevel::LADDER
                .iter()
                .map(|r| (r.as_str(), fig(total.total_responses(*r))))
                .collect(),
            help_funnel: funnel(
                fig(total.total_responses(ResponseLevel::Help)),
                fig(total.total_help_opened()),
            ),
            help_funnel_by_category,
            referrals,
            reviews,
            latency: Latency::of(&total),
            degraded_seconds: total.degraded_ms as f64 / 1000.0,
            queue_drops: fig(total.queue_drops),
            export_drops: total.export_drops,
            suppressed_cells: suppressed_cells(&total),
            windows,
        }
    }
}

/// Responses of every rung added up.
fn all_responses(agg: &Aggregate) -> Tally {
    let mut total = Tally::default();
    for level in ResponseLevel::LADDER {
        total.merge(&agg.total_responses(level));
    }
    total
}

fn funnel(shown: Figure, opened: Figure) -> Funnel {
    let open_rate = (shown.count > 0).then(|| opened.count as f64 / shown.count as f64);
    Funnel {
        shown,
        opened,
        open_rate,
    }
}

/// Counts every suppressed cell merged into `agg`.
fn suppressed_cells(agg: &Aggregate) -> u64 {
    let mut n = 0u64;
    let mut add = |t: &Tally| n = n.saturating_add(t.suppressed);
    agg.messages.values().for_each(&mut add);
    agg.signals.iter().for_each(&mut add);
    agg.scores.iter().flatten().for_each(&mut add);
    agg.responses.iter().flatten().flatten().for_each(&mut add);
    agg.help_opened.iter().flatten().for_each(&mut add);
    agg.referrals.iter().for_each(&mut add);
    agg.outcomes.iter().flatten().for_each(&mut add);
    add(&agg.queue_drops);
    agg.latency.values().for_each(&mut add);
    n
}
