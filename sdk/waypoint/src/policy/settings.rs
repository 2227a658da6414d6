//! Typed policy settings beyond the message thresholds: accumulated risk, decay, cooldowns,
//! reports, behaviour signals, age bands, outcomes. Defaults here are the conservative values
//! used when a section is left out of a policy file.

use std::time::Duration;

use super::{LevelThresholds, ResponseLevel};
use crate::signal::AgeBand;

/// Thresholds on a player's accumulated (decayed) risk in one category.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AccumulatedThresholds {
    /// Message scores at or below this add no risk; above it they add `(score - floor) / (1 - floor)`.
    pub floor: f32,
    /// Accumulated risk at or above which each response is due. Unset levels are never reached.
    pub levels: LevelThresholds,
}

/// How fast risk fades and when a player's state is forgotten.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskPolicy {
    /// Accumulated risk halves after this long without new evidence.
    pub half_life: Duration,
    /// A player's state is forgotten after this long without any signal.
    pub ttl: Duration,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy {
            half_life: Duration::from_secs(72 * 3600),
            ttl: Duration::from_secs(14 * 24 * 3600),
        }
    }
}

/// Minimum time between two responses of the same level to the same player.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cooldowns {
    /// Between two nudges.
    pub nudge: Duration,
    /// Between two help links.
    pub help: Duration,
    /// Between two review referrals.
    pub review: Duration,
}

impl Cooldowns {
    /// The cooldown for `level` (zero for [`ResponseLevel::None`]).
    pub fn get(&self, level: ResponseLevel) -> Duration {
        match level {
            ResponseLevel::None => Duration::ZERO,
            ResponseLevel::Nudge => self.nudge,
            ResponseLevel::Help => self.help,
            ResponseLevel::Review => self.review,
        }
    }
}

impl Default for Cooldowns {
    fn default() -> Self {
        Cooldowns {
            nudge: Duration::from_secs(300),
            help: Duration::from_secs(3600),
            review: Duration::from_secs(24 * 3600),
        }
    }
}

/// How reports and blocks by other players amplify a player's own evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportPolicy {
    /// Added to the risk multiplier per distinct recent reporter.
    pub per_reporter: f32,
    /// Added to the risk multiplier per recent block or mute.
    pub per_block: f32,
    /// The multiplier never exceeds this.
    pub max_multiplier: f32,
    /// Report and block counts halve after this long.
    pub half_life: Duration,
}

impl Default for ReportPolicy {
    fn default() -> Self {
        ReportPolicy {
            per_reporter: 0.25,
            per_block: 0.1,
            max_multiplier: 3.0,
            half_life: Duration::from_secs(72 * 3600),
        }
    }
}

/// Behaviour signals other than chat, and the derived signals (rate, repetition).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BehaviourPolicy {
    /// Extremism risk added when a player joins a group the platform has flagged.
    pub flagged_group_extremism: f32,
    /// The n-th identical message in a row adds `repeat_damping^n` of its risk.
    pub repeat_damping: f32,
    /// Above this many messages per minute, each message's risk is scaled by `flood_rate / rate`.
    pub flood_messages_per_minute: f32,
}

impl Default for BehaviourPolicy {
    fn default() -> Self {
        BehaviourPolicy {
            flagged_group_extremism: 0.4,
            repeat_damping: 0.5,
            flood_messages_per_minute: 20.0,
        }
    }
}

/// Adjustments for one age band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeBandPolicy {
    /// Multiplies every threshold (message and accumulated); below 1 responds earlier.
    pub threshold_factor: f32,
    /// Multiplies every cooldown; above 1 spaces responses further apart.
    pub cooldown_factor: f32,
}

impl Default for AgeBandPolicy {
    fn default() -> Self {
        AgeBandPolicy {
            threshold_factor: 1.0,
            cooldown_factor: 1.0,
        }
    }
}

/// How the ladder steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LadderPolicy {
    /// When true a player never skips a rung: each response is at most one level above the
    /// strongest response the player received within `step_memory`.
    pub graduated: bool,
    /// How long a given response counts as "received" for [`LadderPolicy::graduated`].
    pub step_memory: Duration,
}

impl Default for LadderPolicy {
    fn default() -> Self {
        LadderPolicy {
            graduated: true,
            step_memory: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What platform feedback does to a player's state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutcomePolicy {
    /// A dismissed review multiplies the player's accumulated risk by this (in `[0, 1]`).
    pub dismissed_risk_factor: f32,
}

impl Default for OutcomePolicy {
    fn default() -> Self {
        OutcomePolicy {
            dismissed_risk_factor: 0.5,
        }
    }
}

/// Per-band adjustments, indexed by [`AgeBand::index`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AgeBands(pub [AgeBandPolicy; 3]);

impl AgeBands {
    /// The adjustments for `band`.
    pub fn get(&self, band: AgeBand) -> &AgeBandPolicy {
        &self.0[band.index()]
    }
}
