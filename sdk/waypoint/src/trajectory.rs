//! The per-player trajectory statistic: a bounded window of recent per-message scores per
//! category and their sample skewness. A few high messages standing out of otherwise ordinary
//! chat (or scores rising) give a strongly positive skew; uniformly high or uniformly low scores
//! give a skew near zero. Pure and serialisable, kept in the player state.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::{Category, Scores};

/// The largest window the policy accepts.
pub const MAX_WINDOW: usize = 256;

/// Steps per unit of score: scores are kept as one byte each (resolution 1/255), so a window of
/// 20 messages costs 80 bytes per player.
const STEPS: f32 = 255.0;

/// Recent per-message scores (all four categories per message), a bounded ring buffer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScoreWindow {
    messages: VecDeque<[u8; 4]>,
}

impl ScoreWindow {
    /// Appends a message's scores, keeping the most recent `window` messages.
    pub fn push(&mut self, scores: &Scores, window: usize) {
        let window = window.clamp(1, MAX_WINDOW);
        let mut row = [0_u8; 4];
        for category in Category::ALL {
            row[category.index()] = (scores.get(category).clamp(0.0, 1.0) * STEPS).round() as u8;
        }
        self.messages.push_back(row);
        while self.messages.len() > window {
            self.messages.pop_front();
        }
    }

    /// Number of messages in the window.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The recent scores of `category`, oldest first (at 1/255 resolution).
    pub fn recent(&self, category: Category) -> impl Iterator<Item = f32> + Clone + '_ {
        self.messages
            .iter()
            .map(move |row| f32::from(row[category.index()]) / STEPS)
    }

    /// Sample skewness of `category`'s recent scores ([`skewness`]); `None` with fewer than
    /// `min_messages` (at least three) scores.
    pub fn skewness(&self, category: Category, min_messages: usize) -> Option<f32> {
        if self.messages.len() < min_messages.max(3) {
            return None;
        }
        Some(skewness(self.recent(category)))
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.messages.capacity() * std::mem::size_of::<[u8; 4]>()
    }
}

/// Sample skewness `g1 = m3 / m2^(3/2)` (the biased moment estimator, as `scipy.stats.skew`),
/// with `m_k` the k-th central moment. 0 for fewer than three values or no spread.
pub fn skewness(values: impl Iterator<Item = f32> + Clone) -> f32 {
    let n = values.clone().count();
    if n < 3 {
        return 0.0;
    }
    let n_f = n as f64;
    let mean = values.clone().map(f64::from).sum::<f64>() / n_f;
    let (m2, m3) = values.fold((0.0, 0.0), |(m2, m3), v| {
        let d = f64::from(v) - mean;
        (m2 + d * d / n_f, m3 + d * d * d / n_f)
    });
    if m2 <= 1e-12 {
        return 0.0;
    }
    (m3 / m2.powf(1.5)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skew(values: &[f32]) -> f32 {
        skewness(values.iter().copied())
    }

    #[test]
    fn one_outlier_among_equal_values_has_the_closed_form_skew() {
        // n - 1 zeros and a single 1: g1 = (n - 2) / sqrt(n - 1).
        for n in [3_usize, 4, 10, 32] {
            let mut values = vec![0.0_f32; n - 1];
            values.push(1.0);
            let expected = (n as f32 - 2.0) / (n as f32 - 1.0).sqrt();
            assert!(
                (skew(&values) - expected).abs() < 1e-5,
                "n = {n}: {}",
                skew(&values)
            );
            // Scale and shift do not change it; mirroring flips its sign.
            let moved: Vec<f32> = values.iter().map(|v| 0.1 + 0.5 * v).collect();
            assert!((skew(&moved) - expected).abs() < 1e-4, "n = {n}");
            let mirrored: Vec<f32> = values.iter().map(|v| 1.0 - v).collect();
            assert!((skew(&mirrored) + expected).abs() < 1e-5, "n = {n}");
        }
    }

    #[test]
    fn symmetric_and_constant_samples_have_no_skew() {
        assert!(skew(&[0.1, 0.2, 0.3, 0.4, 0.5]).abs() < 1e-6);
        assert_eq!(skew(&[0.7; 8]), 0.0);
        assert_eq!(skew(&[0.0, 1.0]), 0.0);
        // 1, 2, 3, 10: mean 4, m2 = (9 + 4 + 1 + 36) / 4 = 12.5, m3 = (-27 - 8 - 1 + 216) / 4 = 45.
        let expected = 45.0 / 12.5_f32.powf(1.5);
        assert!((skew(&[1.0, 2.0, 3.0, 10.0]) - expected).abs() < 1e-5);
    }

    #[test]
    fn the_window_is_bounded_and_needs_min_messages() {
        let mut window = ScoreWindow::default();
        let mut scores = Scores::default();
        for i in 0..10 {
            scores.set(Category::Threat, i as f32 / 10.0);
            window.push(&scores, 4);
        }
        let recent: Vec<f32> = window.recent(Category::Threat).collect();
        assert_eq!(recent.len(), 4);
        for (got, want) in recent.iter().zip([0.6, 0.7, 0.8, 0.9]) {
            assert!((got - want).abs() <= 1.0 / STEPS, "{recent:?}");
        }
        assert_eq!(window.skewness(Category::Threat, 5), None);
        assert!(
            window
                .skewness(Category::Threat, 4)
                .is_some_and(|s| s.abs() < 0.02)
        );
        // A drift: ten ordinary messages, then two high ones. A two-valued sample with a share p
        // of high values has skew (1 - 2p) / sqrt(p (1 - p)); p = 1/6 gives 4 / sqrt(5).
        let mut drift = ScoreWindow::default();
        for score in [0.02; 10].into_iter().chain([0.9, 0.9]) {
            scores.set(Category::Extremism, score);
            drift.push(&scores, 20);
        }
        let skew = drift
            .skewness(Category::Extremism, 6)
            .expect("twelve messages");
        assert!((skew - 4.0 / 5.0_f32.sqrt()).abs() < 1e-4, "{skew}");
    }

    #[test]
    fn the_window_round_trips_through_serde() {
        let mut window = ScoreWindow::default();
        let mut scores = Scores::default();
        scores.set(Category::Hate, 0.25);
        window.push(&scores, 8);
        let json = serde_json::to_string(&window).expect("serialisable");
        let back: ScoreWindow = serde_json::from_str(&json).expect("deserialisable");
        assert_eq!(back, window);
    }
}
