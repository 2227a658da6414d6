//! Classification metrics for `waypoint eval`: confusion counts, exact rank-based ROC-AUC and
//! the threshold sweep.
//!
//! Self-contained on purpose (only `std` and `serde`): the integration tests include this file
//! directly to check the arithmetic against hand-computed cases.

use std::collections::BTreeMap;

use serde::Serialize;

/// Counts of one binary decision against binary labels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Positives flagged.
    pub tp: u64,
    /// Negatives flagged.
    pub fp: u64,
    /// Positives not flagged.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Negatives not flagged.
    pub tn: u64,
}

impl Confusion {
    /// Counts one line.
    pub fn add(&mut self, positive: bool, flagged: bool) {
        match (positive, flagged) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }

    /// Positive lines.
    pub fn positives(&self) -> u64 {
        self.tp + self.fn_
    }

    /// Negative lines.
    pub fn negatives(&self) -> u64 {
        self.fp + self.tn
    }

    /// `tp / (tp + fp)`; `None` when nothing was flagged.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    /// `tp / (tp + fn)`; `None` without positives.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// `2 tp / (2 tp + fp + fn)`; `None` when there are no positives and nothing was flagged.
    pub fn f1(&self) -> Option<f64> {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// `fp / (fp + tn)`, the share of negatives flagged; `None` without negatives.
    pub fn fpr(&self) -> Option<f64> {
        ratio(self.fp, self.fp + self.tn)
    }

    /// The 95 % [`Interval`] of [`Confusion::recall`]; `None` without positives.
    pub fn recall_interval(&self) -> Option<Interval> {
        Interval::wilson(self.tp, self.tp + self.fn_)
    }

    /// The 95 % [`Interval`] of [`Confusion::fpr`]; `None` without negatives.
    pub fn fpr_interval(&self) -> Option<Interval> {
        Interval::wilson(self.fp, self.fp + self.tn)
    }
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// The normal quantile for a two-sided 95 % interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// A 95 % confidence interval of a share: the range of true rates the counted lines are
/// consistent with. A share of 6 in 20 is anywhere from about 15 % to 52 %; reading the
/// interval tells a clear miss of a goal from one within a line or two of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound, in [0, 1].
    pub low: f64,
    /// Upper bound, in [0, 1].
    pub high: f64,
}

impl Interval {
    /// The Wilson score interval of `hits / lines`; `None` for no lines. Unlike the normal
    /// approximation it stays inside [0, 1] and holds for small counts and for shares of 0 or 1
    /// (0 of 18 gives 0 to 17.6 %).
    pub fn wilson(hits: u64, lines: u64) -> Option<Interval> {
        if lines == 0 {
            return None;
        }
        let hits = hits.min(lines);
        let n = lines as f64;
        let p = hits as f64 / n;
        let z2 = Z_95 * Z_95;
        let denominator = 1.0 + z2 / n;
        let centre = (p + z2 / (2.0 * n)) / denominator;
        let half = Z_95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
        // At a share of 0 or 1 the bound is exact; rounding would leave it a hair off.
        Some(Interval {
            low: if hits == 0 { 0.0 } else { centre - half },
            high: if hits == lines { 1.0 } else { centre + half },
        })
    }
}

/// The ordering key of a score: the bits of a non-negative `f32` order like the numbers.
/// NaN and negative values (including `-0.0`) count as 0.
fn key(score: f32) -> u32 {
    if score.is_nan() || score <= 0.0 {
        0
    } else {
        score.to_bits()
    }
}

/// Every distinct score seen, with how many positive and negative lines had it.
///
/// Memory grows with the number of distinct scores, not with the text read. Ties are exact:
/// equal `f32` scores share one entry.
#[derive(Debug, Clone, Default)]
pub struct ScoreCounts {
    by_score: BTreeMap<u32, [u64; 2]>,
    positives: u64,
    negatives: u64,
}

impl ScoreCounts {
    /// Counts one line's score.
    pub fn add(&mut self, score: f32, positive: bool) {
        let entry = self.by_score.entry(key(score)).or_default();
        if positive {
            entry[1] += 1;
            self.positives += 1;
        } else {
            entry[0] += 1;
            self.negatives += 1;
        }
    }

    /// Exact ROC-AUC: the probability that a random positive scores above a random negative,
    /// ties counting one half (the Mann–Whitney U statistic over `P × N`). `None` unless there
    /// are both positives and negatives.
    pub fn roc_auc(&self) -> Option<f64> {
        if self.positives == 0 || self.negatives == 0 {
            return None;
        }
        // Twice the U statistic, in integers: 2 · pos · neg_below + pos · neg_tied.
        let mut doubled: u128 = 0;
        let mut negatives_below: u128 = 0;
        for [neg, pos] in self.by_score.values() {
            let (neg, pos) = (u128::from(*neg), u128::from(*pos));
            doubled += 2 * pos * negatives_below + pos * neg;
            negatives_below += neg;
        }
        let pairs = u128::from(self.positives) * u128::from(self.negatives);
        Some(doubled as f64 / (2.0 * pairs as f64))
    }

    /// The lines a threshold flags (`score >= threshold`), as a confusion matrix.
    pub fn at_threshold(&self, threshold: f32) -> Confusion {
        let mut flagged = [0_u64; 2];
        for [neg, pos] in self.by_score.range(key(threshold)..).map(|(_, c)| c) {
            flagged[0] += neg;
            flagged[1] += pos;
        }
        Confusion {
            tp: flagged[1],
            fp: flagged[0],
            fn_: self.positives - flagged[1],
            tn: self.negatives - flagged[0],
        }
    }

    /// One [`SweepRow`] per threshold, in the order given.
    pub fn sweep(&self, thresholds: &[f32]) -> Vec<SweepRow> {
        thresholds
            .iter()
            .map(|&threshold| SweepRow::new(threshold, self.at_threshold(threshold)))
            .collect()
    }
}

/// What one threshold would flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// The threshold (`score >= threshold` flags).
    pub threshold: f32,
    /// Positive lines it flags.
    pub flagged_positives: u64,
    /// Benign (negative) lines it flags.
    pub flagged_benign: u64,
    /// Precision, when anything is flagged.
    pub precision: Option<f64>,
    /// Recall, when there are positives.
    pub recall: Option<f64>,
    /// F1, when defined.
    pub f1: Option<f64>,
    /// Share of benign lines flagged, when there are benign lines.
    pub fpr: Option<f64>,
}

impl SweepRow {
    fn new(threshold: f32, c: Confusion) -> SweepRow {
        SweepRow {
            threshold,
            flagged_positives: c.tp,
            flagged_benign: c.fp,
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
            fpr: c.fpr(),
        }
    }
}

/// Errors choosing sweep thresholds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// The step is not a number in `(0, 0.5]`.
    #[error("--sweep-step must be a number greater than 0 and at most 0.5, got {0}")]
    BadStep(f64),
}

/// The sweep thresholds `step, 2·step, …` strictly below 1, each rounded to 6 decimals and
/// converted to `f32` the way a policy file's value would be (so `0.15` here is the policy's
/// `0.15`).
pub fn sweep_thresholds(step: f64) -> Result<Vec<f32>, SweepError> {
    if !(step.is_finite() && step > 0.0 && step <= 0.5) {
        return Err(SweepError::BadStep(step));
    }
    let mut out = Vec::new();
    let mut k = 1_u32;
    loop {
        let t = (f64::from(k) * step * 1e6).round() / 1e6;
        if t >= 1.0 - 1e-9 {
            return Ok(out);
        }
        out.push(t as f32);
        k += 1;
    }
}
