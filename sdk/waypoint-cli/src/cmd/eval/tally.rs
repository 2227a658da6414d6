//! Accumulating scored, labelled lines into per-category counts, and turning them into the
//! report.
//!
//! Definitions (also written into every report):
//!
//! - For a **category** `c`, the positives are lines whose label maps to `c` (alone or with
//!   others); the negatives are **benign** lines (label mapped to `none`). Lines positive only for
//!   other categories are left out of `c`'s figures: a threat is neither a hit nor a false alarm
//!   for `insult`.
//! - A line is **flagged for `c`** when the policy's message-level decision gives any response
//!   (nudge, help or review) with `c` among its reasons, i.e. `c`'s combined score reached the
//!   lowest message-level threshold the policy sets for `c`, or its deep-tier score the lowest
//!   `message.<c>.deep` threshold.
//! - **any**: positives are all non-benign lines, negatives the benign ones; a line is flagged
//!   when the policy gives it any response at all; its score is the highest of the four.
//! - ROC-AUC and the threshold sweep use the combined (model + lexicon) score, the same score
//!   the policy compares with its thresholds.

use std::collections::BTreeMap;

use serde::Serialize;
use waypoint::{Category, MessageScore, Policy, ResponseLevel};

use super::labels::Target;
use super::metrics::{Confusion, Interval, ScoreCounts, SweepRow};

/// Distinct raw labels tracked one by one; further labels are counted under [`OTHER_LABELS`].
const MAX_LABELS: usize = 1000;
/// The bucket for labels beyond [`MAX_LABELS`].
const OTHER_LABELS: &str = "(other labels)";
/// Name of the overall row.
pub const ANY: &str = "any";

/// How "flagged" is defined, for the report.
pub const FLAGGED_DEFINITION: &str = "a line is flagged for a category when the policy's \
message-level decision gives any response (nudge, help or review) naming that category among its \
reasons; 'any' = the policy gives any response at all. Category positives = lines whose label maps \
to that category; negatives = benign lines (label mapped to none); lines positive only for other \
categories are left out of that category. AUC and the sweep use the combined model + lexicon score \
(for 'any': the highest of the four).";

#[derive(Debug, Default)]
struct CategoryTally {
    confusion: Confusion,
    scores: ScoreCounts,
}

#[derive(Debug, Default)]
struct LabelTally {
    target: String,
    rows: u64,
    flagged_any: u64,
}

/// Running counts over every scored line.
#[derive(Debug, Default)]
pub struct Tally {
    /// One per [`Category::ALL`], then "any".
    categories: [CategoryTally; 5],
    /// Response levels given, `[benign, positive][level]`.
    levels: [[u64; 4]; 2],
    labels: BTreeMap<String, LabelTally>,
    /// Lines whose label maps to `skip`.
    pub skipped: u64,
}

fn level_index(level: ResponseLevel) -> usize {
    match level {
        ResponseLevel::None => 0,
        ResponseLevel::Nudge => 1,
        ResponseLevel::Help => 2,
        ResponseLevel::Review => 3,
    }
}

fn target_name(target: Target) -> String {
    match target {
        Target::Benign => "none".to_owned(),
        Target::Skip => "skip".to_owned(),
        Target::Positive(set) => Category::ALL
            .into_iter()
            .filter(|c| set.contains(*c))
            .map(Category::as_str)
            .collect::<Vec<_>>()
            .join("+"),
    }
}

impl Tally {
    /// Counts a line whose label maps to `skip` (never scored).
    pub fn add_skipped(&mut self, label: &str) {
        self.skipped += 1;
        self.label_entry(label, Target::Skip).rows += 1;
    }

    fn label_entry(&mut self, label: &str, target: Target) -> &mut LabelTally {
        let key = if self.labels.contains_key(label) || self.labels.len() < MAX_LABELS {
            label.to_owned()
        } else {
            OTHER_LABELS.to_owned()
        };
        self.labels.entry(key).or_insert_with(|| LabelTally {
            target: target_name(target),
            ..LabelTally::default()
        })
    }

    /// Counts one scored line with its label and target (`Benign` or `Positive`).
    pub fn add(&mut self, label: &str, target: Target, scored: &MessageScore) {
        let positives = match target {
            Target::Skip => {
                self.add_skipped(label);
                return;
            }
            Target::Benign => None,
            Target::Positive(set) => Some(set),
        };
        let flagged_any = scored.decision.level != ResponseLevel::None;
        let entry = self.label_entry(label, target);
        entry.rows += 1;
        entry.flagged_any += u64::from(flagged_any);
        self.levels[usize::from(positives.is_some())][level_index(scored.decision.level)] += 1;

        for category in Category::ALL {
            let positive = positives.is_some_and(|set| set.contains(category));
            if positives.is_some() && !positive {
                continue;
            }
            let flagged = scored
                .decision
                .reasons
                .iter()
                .any(|r| r.category == category);
            let tally = &mut self.categories[category.index()];
            tally.confusion.add(positive, flagged);
            tally.scores.add(scored.scores.get(category), positive);
        }
        let top = Category::ALL
            .into_iter()
            .map(|c| scored.scores.get(c))
            .fold(0.0_f32, f32::max);
        let any = &mut self.categories[4];
        any.confusion.add(positives.is_some(), flagged_any);
        any.scores.add(top, positives.is_some());
    }

    /// Benign lines scored.
    pub fn benign_lines(&self) -> u64 {
        self.levels[0].iter().sum()
    }

    /// Non-benign lines scored.
    pub fn positive_lines(&self) -> u64 {
        self.levels[1].iter().sum()
    }

    /// The per-category results, "any" last.
    pub fn categories(&self, policy: &Policy, thresholds: &[f32]) -> Vec<CategoryReport> {
        let names = Category::ALL.map(Category::as_str);
        self.categories
            .iter()
            .enumerate()
            .map(|(i, tally)| {
                let c = tally.confusion;
                let (name, policy_threshold) = match Category::ALL.get(i) {
                    Some(category) => {
                        let t = policy.thresholds(*category);
                        let lowest = ResponseLevel::LADDER
                            .into_iter()
                            .filter_map(|level| t.get(level))
                            .reduce(f32::min);
                        (names[i], lowest)
                    }
                    None => (ANY, None),
                };
                CategoryReport {
                    category: name.to_owned(),
                    policy_threshold,
                    positives: c.positives(),
                    negatives: c.negatives(),
                    flagged_positives: c.tp,
                    flagged_benign: c.fp,
                    precision: c.precision(),
                    recall: c.recall(),
                    recall_interval_95: c.recall_interval(),
                    f1: c.f1(),
                    fpr: c.fpr(),
                    fpr_interval_95: c.fpr_interval(),
                    roc_auc: tally.scores.roc_auc(),
                    sweep: tally.scores.sweep(thresholds),
                }
            })
            .collect()
    }

    /// Response levels given to benign and to non-benign lines.
    pub fn levels(&self) -> LevelReport {
        let row = |counts: &[u64; 4]| LevelCounts {
            none: counts[0],
            nudge: counts[1],
            help: counts[2],
            review: counts[3],
        };
        LevelReport {
            benign: row(&self.levels[0]),
            positive: row(&self.levels[1]),
        }
    }

    /// Per raw label: rows, what it maps to, and how many got any response.
    pub fn labels(&self) -> Vec<LabelReport> {
        self.labels
            .iter()
            .map(|(label, t)| LabelReport {
                label: label.clone(),
                target: t.target.clone(),
                rows: t.rows,
                flagged_any: t.flagged_any,
                flagged_any_rate: (t.target != "skip" && t.rows > 0)
                    .then(|| t.flagged_any as f64 / t.rows as f64),
                flagged_any_interval_95: (t.target != "skip")
                    .then(|| Interval::wilson(t.flagged_any, t.rows))
                    .flatten(),
            })
            .collect()
    }
}

/// One category's results.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryReport {
    /// Category name, or `any`.
    pub category: String,
    /// The lowest message-level threshold the policy sets for it (`None` for `any`, or when the
    /// policy sets none: then nothing is ever flagged for it).
    pub policy_threshold: Option<f32>,
    /// Positive lines.
    pub positives: u64,
    /// Benign lines.
    pub negatives: u64,
    /// Positive lines flagged by the policy.
    pub flagged_positives: u64,
    /// Benign lines flagged by the policy.
    pub flagged_benign: u64,
    /// Precision at the policy.
    pub precision: Option<f64>,
    /// Recall at the policy.
    pub recall: Option<f64>,
    /// The 95 % interval of `recall`.
    pub recall_interval_95: Option<Interval>,
    /// F1 at the policy.
    pub f1: Option<f64>,
    /// Share of benign lines flagged at the policy.
    pub fpr: Option<f64>,
    /// The 95 % interval of `fpr`.
    pub fpr_interval_95: Option<Interval>,
    /// Exact rank-based ROC-AUC of the combined score.
    pub roc_auc: Option<f64>,
    /// What each sweep threshold would flag.
    pub sweep: Vec<SweepRow>,
}

/// Counts per response level.
#[derive(Debug, Clone, Serialize)]
pub struct LevelCounts {
    /// No response.
    pub none: u64,
    /// Nudge.
    pub nudge: u64,
    /// Help link.
    pub help: u64,
    /// Referral to human review.
    pub review: u64,
}

/// Response levels for benign and non-benign lines.
#[derive(Debug, Clone, Serialize)]
pub struct LevelReport {
    /// Benign lines.
    pub benign: LevelCounts,
    /// Lines labelled with a category.
    pub positive: LevelCounts,
}

/// One raw label's counts.
#[derive(Debug, Clone, Serialize)]
pub struct LabelReport {
    /// The label as found in the data.
    pub label: String,
    /// What it maps to (`none`, `skip`, or categories joined by `+`).
    pub target: String,
    /// Lines with this label.
    pub rows: u64,
    /// Of those, lines the policy gave any response.
    pub flagged_any: u64,
    /// `flagged_any / rows` (not for skipped labels).
    pub flagged_any_rate: Option<f64>,
    /// The 95 % interval of `flagged_any_rate`.
    pub flagged_any_interval_95: Option<Interval>,
}
