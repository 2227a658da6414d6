//! Realistic synthetic telemetry events, for tests, demos and trying the report.
//!
//! The traffic imitates a pilot: a daily rhythm of chat, a handful of languages, mostly harmless
//! scores with a tail of harmful ones, responses that follow the scores up the ladder, help links
//! opened a fraction of the time, and review decisions that uphold most referrals. It is
//! deterministic for a given seed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::event::{Event, Language, SIGNAL_KINDS};
use super::privacy::{NoiseSource, SeededRng};
use crate::policy::ResponseLevel;
use crate::signal::AgeBand;
use crate::{Category, Scores};

/// Shape of the synthetic traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticTraffic {
    /// Seed; the same seed gives the same events.
    pub seed: u64,
    /// Start of the first hour, Unix seconds.
    pub start: u64,
    /// Number of hours.
    pub hours: u64,
    /// Average chat lines per hour at the daily peak.
    pub peak_messages_per_hour: u64,
}

impl Default for SyntheticTraffic {
    fn default() -> Self {
        SyntheticTraffic {
            seed: 7,
            start: 1_767_225_600,
            hours: 48,
            peak_messages_per_hour: 1500,
        }
    }
}

const LANGUAGES: [(&str, f64); 6] = [
    ("en", 0.55),
    ("nl", 0.17),
    ("de", 0.12),
    ("fr", 0.09),
    ("pl", 0.05),
    ("tr", 0.02),
];

impl SyntheticTraffic {
    /// Every event with its time, in time order.
    pub fn events(&self) -> Vec<(SystemTime, Event)> {
        let mut rng = SeededRng::new(self.seed);
        let mut out = Vec::new();
        for hour in 0..self.hours {
            let hour_start = self.start + hour * 3600;
            let hour_of_day = (hour_start / 3600) % 24;
            // Quiet at night, busy in the evening.
            let rhythm = 0.25
                + 0.75
                    * (((hour_of_day as f64 - 20.0) / 24.0 * std::f64::consts::TAU).cos() * 0.5
                        + 0.5);
            let jitter = 0.85 + 0.3 * unit(&mut rng);
            let messages = (self.peak_messages_per_hour as f64 * rhythm * jitter) as u64;
            for i in 0..messages {
                let at = UNIX_EPOCH + Duration::from_secs(hour_start + i * 3600 / messages.max(1));
                self.message(&mut rng, at, &mut out);
            }
            let degraded = unit(&mut rng) < 0.08;
            if degraded {
                let secs = 30 + (unit(&mut rng) * 600.0) as u64;
                out.push((
                    at_secs(hour_start + 3599),
                    Event::Degraded {
                        duration: Duration::from_secs(secs),
                    },
                ));
            }
            if unit(&mut rng) < 0.1 {
                for _ in 0..(1 + (unit(&mut rng) * 20.0) as u64) {
                    out.push((at_secs(hour_start + 1800), Event::Drop));
                }
            }
        }
        out.sort_by_key(|(at, _)| *at);
        out
    }

    fn message(&self, rng: &mut SeededRng, at: SystemTime, out: &mut Vec<(SystemTime, Event)>) {
        let language = pick_language(unit(rng));
        let mut scores = Scores::default();
        // Most chat is harmless; a small tail is not.
        let harmful = unit(rng) < 0.06;
        let focus = Category::ALL[weighted(unit(rng), &[0.62, 0.2, 0.1, 0.08])];
        for category in Category::ALL {
            let base = unit(rng).powi(6) * 0.4;
            let p = if harmful && category == focus {
                0.45 + 0.55 * unit(rng).sqrt()
            } else {
                base
            };
            scores.set(category, p as f32);
        }
        let fast = 150.0 + 300.0 * unit(rng);
        let latency_us = if unit(rng) < 0.2 {
            fast + 600.0 + 2500.0 * unit(rng).powi(3)
        } else {
            fast
        };
        out.push((
            at,
            Event::Scored {
                language,
                scores,
                latency: Duration::from_micros(latency_us as u64),
            },
        ));
        if unit(rng) < 0.03 {
            let kind = SIGNAL_KINDS[weighted(unit(rng), &[0.5, 0.3, 0.05, 0.1, 0.05])];
            out.push((at, Event::Signal { kind }));
        }
        let (category, p) = scores.max();
        let level = match p {
            p if p >= 0.93 => Some(ResponseLevel::Review),
            p if p >= 0.8 => Some(ResponseLevel::Help),
            p if p >= 0.6 => Some(ResponseLevel::Nudge),
            _ => None,
        };
        let Some(level) = level else { return };
        let age_band = AgeBand::ALL[weighted(unit(rng), &[0.3, 0.55, 0.15])];
        out.push((
            at,
            Event::Response {
                level,
                category,
                age_band,
            },
        ));
        match level {
            ResponseLevel::Help if unit(rng) < 0.28 => {
                out.push((at, Event::HelpOpened { category, age_band }))
            }
            ResponseLevel::Review => {
                out.push((at, Event::Referral { category }));
                let upheld_rate = [0.72, 0.83, 0.64, 0.9][category.index()];
                if unit(rng) < 0.9 {
                    out.push((
                        at,
                        Event::Outcome {
                            category,
                            upheld: unit(rng) < upheld_rate,
                        },
                    ));
                }
            }
            _ => {}
        }
    }
}

fn at_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A uniform number in `[0, 1)`.
fn unit(rng: &mut SeededRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn weighted(u: f64, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w / total;
        if u < acc {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

fn pick_language(u: f64) -> Language {
    let weights: Vec<f64> = LANGUAGES.iter().map(|(_, w)| *w).collect();
    Language::new(LANGUAGES[weighted(u, &weights)].0)
}
