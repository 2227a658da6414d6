//! The per-player drift statistic: the skewness of a player's recent per-message scores.
//!
//! One high message in a long run of ordinary chat says little; a player whose recent messages
//! are mostly ordinary but include a few that stand far out in one category (a right-skewed
//! distribution of per-message scores) is drifting. Following the example-based detection
//! approach of Roblox's open-source Sentinel, the engine keeps a short window of per-message
//! scores per category and computes their sample skewness; when it passes the policy's
//! `[trajectory]` threshold and enough of the recent messages are high, the current message's
//! risk in that category is boosted, so a drift climbs the (graduated) ladder sooner. A
//! uniformly loud player (every message similar) has no skew and gets no boost.
//!
//! Everything here is pure and allocation-free: scores are kept quantised to one byte each in a
//! fixed ring per category.

use serde::{Deserialize, Serialize};

pub use crate::policy::MAX_TRAJECTORY_WINDOW as MAX_WINDOW;
use crate::policy::TrajectoryPolicy;
use crate::{Category, Scores};

/// Recent per-message scores of one player, per category, oldest overwritten first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ScoreWindow {
    /// Scores quantised to `0..=255`, one ring per category in [`Category::ALL`] order.
    rings: [[u8; MAX_WINDOW]; 4],
    /// How many scores have been pushed in all (saturating); the ring holds the last
    /// `min(pushed, MAX_WINDOW)`.
    pushed: u32,
}

impl ScoreWindow {
    /// Remembers one message's scores.
    pub fn push(&mut self, scores: &Scores) {
        let slot = (self.pushed as usize) % MAX_WINDOW;
        for category in Category::ALL {
            self.rings[category.index()][slot] = quantise(scores.get(category));
        }
        self.pushed = self.pushed.saturating_add(1);
        if self.pushed == u32::MAX {
            // Keep the slot arithmetic consistent after saturation: restart at a multiple of
            // the ring size, which leaves the newest slot where it was.
            self.pushed = (u32::MAX / MAX_WINDOW as u32) * MAX_WINDOW as u32;
        }
    }

    /// The latest `count` scores of `category` (fewer when fewer were pushed), oldest first.
    fn latest(&self, category: Category, count: usize) -> impl Iterator<Item = f32> + '_ {
        let held = (self.pushed as usize).min(MAX_WINDOW);
        let count = count.min(held);
        let end = self.pushed as usize;
        (end - count..end).map(move |i| dequantise(self.rings[category.index()][i % MAX_WINDOW]))
    }

    /// The drift reading for `category` over the policy's window.
    pub fn reading(&self, category: Category, policy: &TrajectoryPolicy) -> DriftReading {
        let window = policy.window.min(MAX_WINDOW);
        let mut values = [0.0_f32; MAX_WINDOW];
        let mut n = 0;
        for value in self.latest(category, window) {
            values[n] = value;
            n += 1;
        }
        let values = &values[..n];
        let high = values.iter().filter(|v| **v >= policy.min_peak).count();
        let skewness = if n >= policy.min_messages {
            sample_skewness(values)
        } else {
            None
        };
        let latest = values.last().copied().unwrap_or(0.0);
        let drifting = skewness.is_some_and(|s| s >= policy.skew_threshold)
            && high >= policy.min_high
            && latest >= policy.min_peak;
        DriftReading {
            category,
            messages: n as u8,
            high: high as u8,
            skewness,
            drifting,
        }
    }
}

/// What the drift statistic says about one category of one player after a message.
///
/// The statistic is the sample skewness of the player's recent per-message scores in the
/// category. A player whose messages are mostly ordinary but include a few that stand far out is
/// drifting; when the skewness passes the policy's `[trajectory]` threshold and enough recent
/// messages are high, the message's risk in that category is boosted, so a drift climbs the
/// ladder sooner. A uniformly loud player has no skew and gets no boost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriftReading {
    /// The category.
    pub category: Category,
    /// Messages in the window.
    pub messages: u8,
    /// Messages in the window scoring at or above the policy's `min_peak`.
    pub high: u8,
    /// Sample skewness of the window's scores; `None` with too few messages or no spread.
    pub skewness: Option<f32>,
    /// Whether the reading passed the policy's rule, so this message's risk was boosted.
    pub drifting: bool,
}

/// The sample skewness `m3 / m2^(3/2)` (Fisher–Pearson, population moments) of `values`; `None`
/// for fewer than three values or (almost) no spread, where skewness says nothing.
pub fn sample_skewness(values: &[f32]) -> Option<f32> {
    if values.len() < 3 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
    let (m2, m3) = values.iter().fold((0.0, 0.0), |(m2, m3), v| {
        let d = f64::from(*v) - mean;
        (m2 + d * d, m3 + d * d * d)
    });
    let (m2, m3) = (m2 / n, m3 / n);
    // Below a standard deviation of 0.01 the scores are one value up to quantisation.
    if m2 < 1e-4 {
        return None;
    }
    Some((m3 / m2.powf(1.5)) as f32)
}

/// The readings of every category the policy watches, and `added` boosted where one drifts.
pub fn apply_drift(
    window: &ScoreWindow,
    policy: &TrajectoryPolicy,
    added: &mut crate::risk::Risk,
) -> Vec<DriftReading> {
    if !policy.enabled {
        return Vec::new();
    }
    policy
        .categories
        .iter()
        .map(|&category| {
            let reading = window.reading(category, policy);
            if reading.drifting {
                let boosted = added.get(category) * policy.risk_boost;
                added.add(category, boosted);
            }
            reading
        })
        .collect()
}

fn quantise(score: f32) -> u8 {
    (score.clamp(0.0, 1.0) * 255.0).round() as u8
}

fn dequantise(value: u8) -> f32 {
    f32::from(value) / 255.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> TrajectoryPolicy {
        TrajectoryPolicy::default()
    }

    fn scores(extremism: f32) -> Scores {
        let mut s = Scores::default();
        s.set(Category::Extremism, extremism);
        s
    }

    #[test]
    fn skewness_matches_the_closed_form() {
        // 0, 0, 0, 1: mean 1/4, m2 = 3/16, m3 = 3/32 → m3 / m2^1.5 = 2/√3.
        let s = sample_skewness(&[0.0, 0.0, 0.0, 1.0]).expect("spread");
        assert!((s - 2.0 / 3.0_f32.sqrt()).abs() < 1e-5, "{s}");
        // Mirrored: the same magnitude, negative.
        let s = sample_skewness(&[1.0, 1.0, 1.0, 0.0]).expect("spread");
        assert!((s + 2.0 / 3.0_f32.sqrt()).abs() < 1e-5, "{s}");
        // Symmetric: zero.
        let s = sample_skewness(&[0.1, 0.5, 0.9]).expect("spread");
        assert!(s.abs() < 1e-5, "{s}");
    }

    #[test]
    fn no_spread_or_too_few_values_say_nothing() {
        assert_eq!(sample_skewness(&[0.3; 10]), None);
        assert_eq!(sample_skewness(&[0.0, 1.0]), None);
        assert_eq!(sample_skewness(&[]), None);
    }

    #[test]
    fn the_window_keeps_only_the_latest_scores() {
        let mut window = ScoreWindow::default();
        for i in 0..(MAX_WINDOW + 5) {
            window.push(&scores(if i < 5 { 1.0 } else { 0.0 }));
        }
        // The five 1.0 scores were pushed first and have been overwritten.
        let all: Vec<f32> = window.latest(Category::Extremism, MAX_WINDOW).collect();
        assert_eq!(all.len(), MAX_WINDOW);
        assert!(all.iter().all(|v| *v == 0.0), "{all:?}");
        let latest: Vec<f32> = window.latest(Category::Extremism, 3).collect();
        assert_eq!(latest, vec![0.0; 3]);
    }

    #[test]
    fn a_few_high_messages_in_ordinary_chat_drift_and_constant_ones_do_not() {
        let policy = policy();
        let mut drifting = ScoreWindow::default();
        for score in [0.02, 0.05, 0.03, 0.6, 0.04, 0.02, 0.01, 0.03, 0.9] {
            drifting.push(&scores(score));
        }
        let reading = drifting.reading(Category::Extremism, &policy);
        assert!(reading.drifting, "{reading:?}");
        assert_eq!(reading.high, 2);

        let mut constant = ScoreWindow::default();
        for _ in 0..12 {
            constant.push(&scores(0.7));
        }
        let reading = constant.reading(Category::Extremism, &policy);
        assert!(!reading.drifting, "{reading:?}");
        assert_eq!(reading.skewness, None);

        // One outlier alone is not a drift (min_high), however skewed.
        let mut single = ScoreWindow::default();
        for score in [0.02, 0.05, 0.03, 0.04, 0.02, 0.01, 0.03, 0.9] {
            single.push(&scores(score));
        }
        let reading = single.reading(Category::Extremism, &policy);
        assert!(reading.skewness.is_some_and(|s| s > 2.0), "{reading:?}");
        assert!(!reading.drifting, "{reading:?}");
    }

    #[test]
    fn drift_boosts_only_the_drifting_category() {
        let policy = policy();
        let mut window = ScoreWindow::default();
        for score in [0.02, 0.05, 0.03, 0.6, 0.04, 0.02, 0.01, 0.03, 0.9] {
            window.push(&scores(score));
        }
        let mut added = crate::risk::Risk::default();
        added.add(Category::Extremism, 0.5);
        added.add(Category::Insult, 0.5);
        let readings = apply_drift(&window, &policy, &mut added);
        assert!(readings.iter().any(|r| r.drifting));
        let expected = 0.5 * (1.0 + policy.risk_boost);
        assert!((added.get(Category::Extremism) - expected).abs() < 1e-6);
        assert_eq!(added.get(Category::Insult), 0.5);

        let off = TrajectoryPolicy {
            enabled: false,
            ..policy
        };
        let mut added = crate::risk::Risk::default();
        added.add(Category::Extremism, 0.5);
        assert!(apply_drift(&window, &off, &mut added).is_empty());
        assert_eq!(added.get(Category::Extremism), 0.5);
    }
}
