//! Time as the engine sees it: milliseconds since the engine's clock started.
//!
//! The clock is injectable so that `waypoint simulate` and tests can replay days of play in
//! milliseconds with a [`SimulatedClock`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since the clock's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The clock's start.
    pub const ZERO: Timestamp = Timestamp(0);

    /// A timestamp `secs` seconds after the start (negative and NaN become zero).
    pub fn from_secs_f64(secs: f64) -> Timestamp {
        if secs.is_nan() || secs <= 0.0 {
            return Timestamp::ZERO;
        }
        Timestamp((secs * 1000.0).round().min(u64::MAX as f64) as u64)
    }

    /// Seconds since the start.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating.
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_secs_f64())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    /// Reads the seconds [`Timestamp`] serialises to (exact to the millisecond).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        <f64 as Deserialize>::deserialize(deserializer).map(Timestamp::from_secs_f64)
    }
}

/// A source of [`Timestamp`]s. Must be cheap: `submit` reads it on the caller's thread.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The real, monotonic clock, starting when it is created.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A clock starting now.
    pub fn new() -> SystemClock {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct SimulatedClock {
    millis: Arc<AtomicU64>,
}

impl SimulatedClock {
    /// A clock at [`Timestamp::ZERO`].
    pub fn new() -> SimulatedClock {
        SimulatedClock::default()
    }

    /// Sets the time.
    pub fn set(&self, at: Timestamp) {
        self.millis.store(at.0, Ordering::SeqCst);
    }

    /// Moves the time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(millis))
            });
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_clock_moves_only_when_told() {
        let clock = SimulatedClock::new();
        let shared = clock.clone();
        assert_eq!(clock.now(), Timestamp::ZERO);
        shared.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), Timestamp(90_000));
        clock.set(Timestamp::from_secs_f64(1.5));
        assert_eq!(shared.now().as_secs_f64(), 1.5);
    }

    #[test]
    fn timestamp_arithmetic_saturates() {
        assert_eq!(Timestamp(5).since(Timestamp(10)), Duration::ZERO);
        assert_eq!(
            Timestamp(u64::MAX).plus(Duration::from_secs(1)),
            Timestamp(u64::MAX)
        );
        assert_eq!(Timestamp::from_secs_f64(-3.0), Timestamp::ZERO);
    }
}
