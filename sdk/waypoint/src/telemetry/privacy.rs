//! What protects the people behind the counts before a record leaves the process.
//!
//! **By construction.** Telemetry events ([`super::Event`]) have no field that can hold text, a
//! player id or a pseudonym; the only strings in a record are the configured server id and
//! language codes checked to be two or three letters.
//!
//! **k-suppression.** Every count cell about players (texts, signals, score and latency buckets,
//! responses, help links opened, referrals, review decisions, queue drops) whose value is below
//! `k` is exported as `"suppressed": true` instead of its value. Degraded milliseconds and
//! exporter drops are operational figures and are exported as they are.
//!
//! **Carry-over (default, without noise).** A cell below `k` is exported as `"held": true` and its
//! count is added to the same cell of the server's next window, until the cell reaches `k` and is
//! shown. Rare events (review decisions for one category on one server in one hour) are thus
//! reported a little later instead of being lost; no shown cell is below `k`. At shutdown what is
//! still held is exported as suppressed. Per-window attribution shifts; totals stay exact apart
//! from the final suppressed remainder.
//!
//! **Laplace noise (optional).** With `epsilon = ε`, every count cell of the fixed domain
//! (including cells that counted nothing, so that a shown cell does not reveal that something
//! happened) gets independent Laplace noise of scale `b = Δ / ε`, is rounded to an integer, and is
//! then suppressed if below `k`. `Δ = 6` is the most cells one event changes (a scored text
//! changes its language, one score bucket in each of 4 categories, and one latency bucket, each
//! by 1).
//!
//! What ε means:
//! - *Per window*: one record is ε-differentially private with respect to adding or removing one
//!   event: no single chat line, response or review decision changes the probability of any
//!   output by more than a factor `e^ε`.
//! - *Per player*: a player behind `m` events in a window is protected at `m·ε` (group privacy).
//! - *Across windows*: each event falls in exactly one window, so at event level the records of
//!   all windows together are still ε-private (parallel composition); a player active in `w`
//!   windows with `m_i` events in window `i` is protected at `ε · Σ m_i` (sequential composition).
//! - *Merging* records from several servers or windows is post-processing and costs nothing, but
//!   noise adds up: a sum of `n` cells has noise variance `n · 2b²`.
//!
//! Limits: the set of language codes is not a fixed domain, so which languages appear is
//! protected by `k` only, not by ε; the noise uses a fast non-cryptographic generator seeded from
//! the operating system's hash keys, which is fine against an evaluator reading aggregates but not
//! a defence against floating-point side channels.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use super::aggregate::Aggregate;
use super::record::{Count, Record, RecordHeader, build_record};

/// The most count cells one event changes (see the module docs).
pub const SENSITIVITY: f64 = 6.0;

/// A source of random 64-bit words for noise. Implement it to inject a deterministic generator
/// in tests.
pub trait NoiseSource: Send {
    /// The next random word.
    fn next_u64(&mut self) -> u64;
}

/// SplitMix64: a small, fast, seedable generator (not cryptographic).
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator that always yields the same sequence for `seed`.
    pub const fn new(seed: u64) -> SeededRng {
        SeededRng { state: seed }
    }

    /// A generator seeded from the operating system's randomly keyed hasher.
    pub fn from_entropy() -> SeededRng {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x5741_5950_4f49_4e54);
        SeededRng::new(hasher.finish())
    }
}

impl NoiseSource for SeededRng {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A sample of the Laplace distribution with mean 0 and scale `scale`.
pub fn laplace(rng: &mut dyn NoiseSource, scale: f64) -> f64 {
    // u in (0, 1), never 0 or 1, from 53 random bits.
    let u = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let v = u - 0.5; // (-0.5, 0.5)
    -scale * v.signum() * (1.0 - 2.0 * v.abs()).ln()
}

/// Applies suppression and optional noise to aggregates, turning them into records.
///
/// Every count cell about players below `k` is suppressed (or held for the next window); with
/// `epsilon`, every cell of the fixed domain first gets Laplace noise of scale `6 / ε`.
/// `docs/telemetry.md` ("Privacy") says what that protects and what ε means.
pub struct Privacy {
    k: u64,
    epsilon: Option<f64>,
    rng: Box<dyn NoiseSource>,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy")
            .field("k", &self.k)
            .field("epsilon", &self.epsilon)
            .finish_non_exhaustive()
    }
}

impl Privacy {
    /// Suppression below `k` (at least 1), noise with budget `epsilon` (ignored unless positive
    /// and finite), random numbers from `rng`.
    pub fn new(k: u64, epsilon: Option<f64>, rng: Box<dyn NoiseSource>) -> Privacy {
        Privacy {
            k: k.max(1),
            epsilon: epsilon.filter(|e| e.is_finite() && *e > 0.0),
            rng,
        }
    }

    /// The suppression threshold.
    pub fn k(&self) -> u64 {
        self.k
    }

    /// The noise budget in use.
    pub fn epsilon(&self) -> Option<f64> {
        self.epsilon
    }

    /// The protected record of `agg` for `server`'s window starting at `window_start`; cells
    /// below k are suppressed.
    pub fn protect(
        &mut self,
        agg: &Aggregate,
        server: &str,
        window_start: u64,
        window_secs: u64,
    ) -> Record {
        self.protect_holding(agg, server, window_start, window_secs, false)
    }

    /// Like [`Privacy::protect`], but with `hold` (and no noise) cells below k are marked held
    /// instead of suppressed: the caller carries them into the next window.
    pub fn protect_holding(
        &mut self,
        agg: &Aggregate,
        server: &str,
        window_start: u64,
        window_secs: u64,
        hold: bool,
    ) -> Record {
        let header = RecordHeader {
            server: server.to_owned(),
            window_start,
            window_secs,
            k: self.k,
            epsilon: self.epsilon,
        };
        let k = self.k;
        match self.epsilon {
            None => {
                let small = if hold { Count::HELD } else { Count::SUPPRESSED };
                build_record(agg, header, false, &mut |n| {
                    Some(if n < k { small } else { Count::shown(n) })
                })
            }
            Some(eps) => {
                let scale = SENSITIVITY / eps;
                let rng = &mut *self.rng;
                build_record(agg, header, true, &mut |n| {
                    let noisy = (n as f64 + laplace(rng, scale)).round();
                    Some(if noisy < k as f64 {
                        Count::SUPPRESSED
                    } else {
                        Count::shown(noisy as u64)
                    })
                })
            }
        }
    }
}

/// What `record` (made from `agg` without noise) did not show: the held and suppressed cells'
/// counts, to carry into the next window. Shown cells are exact without noise, so this is
/// `agg` minus the shown counts.
pub fn held_back(agg: &Aggregate, record: &Record) -> Aggregate {
    let shown = record.to_aggregate().unwrap_or_default();
    let mut rest = agg.clone();
    rest.subtract_known(&shown);
    rest.degraded_ms = 0;
    rest.export_drops = 0;
    rest
}
