//! Counts per window and server, and how they merge.
//!
//! Everything in an [`Aggregate`] is a [`Tally`] (or a plain sum), and merging adds tallies cell
//! by cell with saturating addition. Addition of non-negative integers is exact, associative and
//! commutative, so merging windows and servers in any grouping and any order gives the same
//! result as counting the whole stream at once. The two histograms (scores and latency) use
//! fixed bucket boundaries for the same reason: a bucket index means the same thing everywhere.

use std::collections::BTreeMap;
use std::time::Duration;

use super::event::{Decision, Event, Language};
use crate::policy::ResponseLevel;
use crate::signal::{AgeBand, SignalKind};
use crate::{Category, Scores};

/// Number of categories ([`Category::ALL`]).
pub const CATEGORIES: usize = Category::ALL.len();
/// Number of age bands ([`AgeBand::ALL`]).
pub const AGE_BANDS: usize = AgeBand::ALL.len();
/// Number of score buckets per category: bucket `b` holds scores in `[b/10, (b+1)/10)`, the last
/// one also holds `1.0`.
pub const SCORE_BUCKETS: usize = 10;
/// Number of latency buckets (see [`latency_bucket`]).
pub const LATENCY_BUCKETS: usize = 8 + (LATENCY_MAX_EXP - 2) * LATENCY_SUB_BUCKETS + 1;
const LATENCY_SUB_BUCKETS: usize = 4;
/// Highest power of two (in microseconds) with its own buckets: 2^26 µs ≈ 67 s.
const LATENCY_MAX_EXP: usize = 26;

/// A count, as far as it is known.
///
/// Inside a running [`Aggregate`] `suppressed` is always 0. An aggregate rebuilt from exported
/// records counts in `suppressed` the cells that were exported as suppressed: each hides a value
/// below the record's `k`, so the true total lies in `count ..= count + suppressed × (k − 1)`
/// (without noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// The sum of the known counts.
    pub count: u64,
    /// How many suppressed cells were merged into this one.
    pub suppressed: u64,
}

impl Tally {
    /// A known count.
    pub const fn known(count: u64) -> Tally {
        Tally {
            count,
            suppressed: 0,
        }
    }

    /// One suppressed cell.
    pub const SUPPRESSED: Tally = Tally {
        count: 0,
        suppressed: 1,
    };

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Tally) {
        self.count = self.count.saturating_add(other.count);
        self.suppressed = self.suppressed.saturating_add(other.suppressed);
    }

    /// Adds one to the known count.
    fn bump(&mut self) {
        self.count = self.count.saturating_add(1);
    }

    /// Whether nothing at all was counted.
    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.suppressed == 0
    }
}

/// The score bucket of probability `p` (NaN counts as 0).
pub fn score_bucket(p: f32) -> usize {
    if p.is_nan() || p <= 0.0 {
        return 0;
    }
    // Truncation is the point: bucket b holds [b/10, (b+1)/10).
    ((p * SCORE_BUCKETS as f32) as usize).min(SCORE_BUCKETS - 1)
}

/// The latency bucket of `micros`, HDR-style: values below 8 µs have a bucket each; above, every
/// power of two is split into 4 equal sub-buckets (at most 25 % wide); everything from 2^27 µs
/// (about 134 s) up shares the last bucket.
pub fn latency_bucket(micros: u64) -> usize {
    if micros < 8 {
        return micros as usize;
    }
    let exp = 63 - micros.leading_zeros() as usize; // floor(log2), >= 3
    if exp > LATENCY_MAX_EXP {
        return LATENCY_BUCKETS - 1;
    }
    let sub = ((micros >> (exp - 2)) & 3) as usize;
    8 + (exp - 3) * LATENCY_SUB_BUCKETS + sub
}

/// The half-open range `[low, high)` of microseconds that latency bucket `bucket` holds (the
/// last bucket's `high` is `u64::MAX`).
pub fn latency_bucket_bounds(bucket: usize) -> (u64, u64) {
    if bucket < 8 {
        return (bucket as u64, bucket as u64 + 1);
    }
    if bucket >= LATENCY_BUCKETS - 1 {
        return (1u64 << (LATENCY_MAX_EXP + 1), u64::MAX);
    }
    let exp = (bucket - 8) / LATENCY_SUB_BUCKETS + 3;
    let sub = ((bucket - 8) % LATENCY_SUB_BUCKETS) as u64;
    let step = 1u64 << (exp - 2);
    let low = (1u64 << exp) + sub * step;
    (low, low + step)
}

/// Counts for one window of one server (or, after merging, of many).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Aggregate {
    /// Texts scored, per detected language.
    pub messages: BTreeMap<Language, Tally>,
    /// Signals processed, indexed by [`SignalKind::index`]; only the kinds in
    /// [`SIGNAL_KINDS`](super::SIGNAL_KINDS) are counted (the chat slot stays empty).
    pub signals: [Tally; SignalKind::ALL.len()],
    /// Score histograms: `[category][bucket]`; bucket `b` holds scores in `[b/10, (b+1)/10)`,
    /// the last one also holds `1.0`.
    pub scores: [[Tally; SCORE_BUCKETS]; CATEGORIES],
    /// Responses given: `[rung][category][age band]`, the rung indexed by
    /// [`ResponseLevel::ladder_index`].
    pub responses: [[[Tally; AGE_BANDS]; CATEGORIES]; ResponseLevel::LADDER.len()],
    /// Help links opened: `[category][age band]` (links shown are the [`ResponseLevel::Help`]
    /// rung of `responses`).
    pub help_opened: [[Tally; AGE_BANDS]; CATEGORIES],
    /// Referrals to human review: `[category]`.
    pub referrals: [Tally; CATEGORIES],
    /// Review decisions: `[category][decision]` (see [`Decision::index`]).
    pub outcomes: [[Tally; Decision::ALL.len()]; CATEGORIES],
    /// Signals dropped because a queue was full.
    pub queue_drops: Tally,
    /// Scoring latency histogram, sparse: bucket index → count (HDR-style buckets, see
    /// `docs/telemetry.md`).
    pub latency: BTreeMap<usize, Tally>,
    /// Milliseconds of degraded scoring (an operational figure, not about players: exported as is).
    pub degraded_ms: u64,
    /// Telemetry records lost by exporters before this window closed (operational, exported as is).
    pub export_drops: u64,
}

impl Aggregate {
    /// Counts one event.
    pub fn record(&mut self, event: &Event) {
        match event {
            Event::Scored {
                language,
                scores,
                latency,
            } => self.record_scored(*language, scores, *latency),
            Event::Signal { .. } if !event.is_counted() => {}
            Event::Signal { kind } => self.signals[kind.index()].bump(),
            Event::Response {
                level,
                category,
                age_band,
            } => {
                if let Some(rung) = level.ladder_index() {
                    self.responses[rung][category.index()][age_band.index()].bump();
                }
            }
            Event::HelpOpened { category, age_band } => {
                self.help_opened[category.index()][age_band.index()].bump()
            }
            Event::Referral { category } => self.referrals[category.index()].bump(),
            Event::Outcome { category, upheld } => {
                self.outcomes[category.index()][Decision::from_upheld(*upheld).index()].bump();
            }
            Event::Drop => self.queue_drops.bump(),
            Event::Degraded { duration } => {
                let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
                self.degraded_ms = self.degraded_ms.saturating_add(ms);
            }
        }
    }

    fn record_scored(&mut self, language: Language, scores: &Scores, latency: Duration) {
        self.messages.entry(language).or_default().bump();
        for (category, p) in scores.iter() {
            self.scores[category.index()][score_bucket(p)].bump();
        }
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency
            .entry(latency_bucket(micros))
            .or_default()
            .bump();
    }

    /// Adds every cell of `other` into `self`.
    pub fn merge(&mut self, other: &Aggregate) {
        for (lang, tally) in &other.messages {
            self.messages.entry(*lang).or_default().merge(tally);
        }
        merge_slice(&mut self.signals, &other.signals);
        for (mine, theirs) in self.scores.iter_mut().zip(&other.scores) {
            merge_slice(mine, theirs);
        }
        for (mine, theirs) in self.responses.iter_mut().zip(&other.responses) {
            for (mine, theirs) in mine.iter_mut().zip(theirs) {
                merge_slice(mine, theirs);
            }
        }
        for (mine, theirs) in self.help_opened.iter_mut().zip(&other.help_opened) {
            merge_slice(mine, theirs);
        }
        merge_slice(&mut self.referrals, &other.referrals);
        for (mine, theirs) in self.outcomes.iter_mut().zip(&other.outcomes) {
            merge_slice(mine, theirs);
        }
        self.queue_drops.merge(&other.queue_drops);
        for (bucket, tally) in &other.latency {
            self.latency.entry(*bucket).or_default().merge(tally);
        }
        self.degraded_ms = self.degraded_ms.saturating_add(other.degraded_ms);
        self.export_drops = self.export_drops.saturating_add(other.export_drops);
    }

    /// Subtracts the known counts of `other` cell by cell (saturating at zero); suppressed
    /// marks are left alone.
    pub fn subtract_known(&mut self, other: &Aggregate) {
        fn sub(mine: &mut Tally, theirs: &Tally) {
            mine.count = mine.count.saturating_sub(theirs.count);
        }
        for (lang, tally) in &other.messages {
            if let Some(mine) = self.messages.get_mut(lang) {
                sub(mine, tally);
            }
        }
        self.messages.retain(|_, t| !t.is_empty());
        for (mine, theirs) in self.signals.iter_mut().zip(&other.signals) {
            sub(mine, theirs);
        }
        for (mine, theirs) in self
            .scores
            .iter_mut()
            .flatten()
            .zip(other.scores.iter().flatten())
        {
            sub(mine, theirs);
        }
        for (mine, theirs) in self
            .responses
            .iter_mut()
            .flatten()
            .flatten()
            .zip(other.responses.iter().flatten().flatten())
        {
            sub(mine, theirs);
        }
        for (mine, theirs) in self
            .help_opened
            .iter_mut()
            .flatten()
            .zip(other.help_opened.iter().flatten())
        {
            sub(mine, theirs);
        }
        for (mine, theirs) in self.referrals.iter_mut().zip(&other.referrals) {
            sub(mine, theirs);
        }
        for (mine, theirs) in self
            .outcomes
            .iter_mut()
            .flatten()
            .zip(other.outcomes.iter().flatten())
        {
            sub(mine, theirs);
        }
        sub(&mut self.queue_drops, &other.queue_drops);
        for (bucket, tally) in &other.latency {
            if let Some(mine) = self.latency.get_mut(bucket) {
                sub(mine, tally);
            }
        }
        self.latency.retain(|_, t| !t.is_empty());
        self.degraded_ms = self.degraded_ms.saturating_sub(other.degraded_ms);
        self.export_drops = self.export_drops.saturating_sub(other.export_drops);
    }

    /// Whether no event was counted.
    pub fn is_empty(&self) -> bool {
        *self == Aggregate::default()
    }

    /// Total texts scored.
    pub fn total_messages(&self) -> Tally {
        self.messages.values().sum()
    }

    /// Total responses at `level`, over categories and age bands (none for
    /// [`ResponseLevel::None`]).
    pub fn total_responses(&self, level: ResponseLevel) -> Tally {
        level
            .ladder_index()
            .map(|rung| self.responses[rung].iter().flatten().sum())
            .unwrap_or_default()
    }

    /// Total responses at `level` for `category`, over age bands (none for
    /// [`ResponseLevel::None`]).
    pub fn responses_for(&self, level: ResponseLevel, category: Category) -> Tally {
        level
            .ladder_index()
            .map(|rung| self.responses[rung][category.index()].iter().sum())
            .unwrap_or_default()
    }

    /// Total help links opened.
    pub fn total_help_opened(&self) -> Tally {
        self.help_opened.iter().flatten().sum()
    }

    /// Review decisions for `category`.
    pub fn decisions(&self, category: Category, decision: Decision) -> Tally {
        self.outcomes[category.index()][decision.index()]
    }

    /// The latency below which `quantile` (in `[0, 1]`) of the known latency counts fall, as the
    /// upper bound of that bucket in microseconds; `None` without known latencies. Suppressed
    /// buckets are left out, so with suppression this is an estimate.
    pub fn latency_quantile_micros(&self, quantile: f64) -> Option<u64> {
        let total: u64 = self.latency.values().map(|t| t.count).sum();
        if total == 0 {
            return None;
        }
        let target = (quantile.clamp(0.0, 1.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (bucket, tally) in &self.latency {
            seen = seen.saturating_add(tally.count);
            if tally.count > 0 && seen >= target {
                let (low, high) = latency_bucket_bounds(*bucket);
                return Some(if high == u64::MAX { low } else { high });
            }
        }
        None
    }
}

fn merge_slice(mine: &mut [Tally], theirs: &[Tally]) {
    for (m, t) in mine.iter_mut().zip(theirs) {
        m.merge(t);
    }
}

/// Sums tallies: `tallies.iter().sum::<Tally>()` merges them all (see [`Tally::merge`]).
impl<'a> std::iter::Sum<&'a Tally> for Tally {
    fn sum<I: Iterator<Item = &'a Tally>>(tallies: I) -> Tally {
        let mut total = Tally::default();
        for t in tallies {
            total.merge(t);
        }
        total
    }
}
