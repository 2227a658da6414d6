//! The trust-and-safety policy: a TOML file with thresholds that decide responses.
//!
//! The documented default lives in `sdk/waypoint/policy.toml` and is compiled in as
//! [`Policy::default`]. Files are parsed strictly: unknown fields, out-of-range values and
//! inconsistent thresholds are rejected with the file, line and column.

mod cascade_policy;
mod error;
mod exemplars;
mod help;
pub(crate) mod ladder;
mod message;
mod parse;
mod parse_sections;
mod settings;
mod trajectory;

use std::path::Path;

pub use cascade_policy::{CascadeMode, CascadePolicy, CombineRule};
pub use error::PolicyError;
pub use exemplars::{EvidenceParams, ExemplarPolicy};
pub use help::{BandSelector, HelpDirectory, HelpEntry};
pub use message::{MessageDecision, Reason, ResponseLevel, TierScores};
pub use settings::{
    AccumulatedThresholds, AgeBandPolicy, AgeBands, BehaviourPolicy, Cooldowns, LadderPolicy,
    OutcomePolicy, ReportPolicy, RiskPolicy,
};
pub use trajectory::{MAX_WINDOW as MAX_TRAJECTORY_WINDOW, TrajectoryPolicy};

use crate::Category;
use crate::config::referral::ReferralConfig;
use crate::config::store::StoreConfig;
use crate::config::telemetry::TelemetryConfig;
use crate::signal::AgeBand;

/// The default policy's source text.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../policy.toml");

/// Thresholds for one category: the score at which one message earns each response.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LevelThresholds {
    /// Score at or above which the sender gets a nudge.
    pub nudge: Option<f32>,
    /// Score at or above which the sender gets a help link.
    pub help: Option<f32>,
    /// Score at or above which the message is referred to human review.
    pub review: Option<f32>,
}

impl LevelThresholds {
    /// The threshold for `level` (`None` for [`ResponseLevel::None`] or an unset level).
    pub fn get(&self, level: ResponseLevel) -> Option<f32> {
        match level {
            ResponseLevel::None => None,
            ResponseLevel::Nudge => self.nudge,
            ResponseLevel::Help => self.help,
            ResponseLevel::Review => self.review,
        }
    }
}

/// How lexicon hits and model scores combine into one score per category.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexiconPolicy {
    /// Multiplier applied to every lexicon entry's weight before combining (0 disables the lexicon).
    pub weight_scale: f32,
}

impl Default for LexiconPolicy {
    /// Every entry at its own weight (`weight_scale = 1`), as when `[lexicon]` is absent.
    fn default() -> Self {
        LexiconPolicy { weight_scale: 1.0 }
    }
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Free-form version string, reported in responses and referral packets.
    pub version: String,
    /// Where the policy came from (a path, or `<default policy>`).
    pub origin: String,
    /// Per-category message-level thresholds on the combined score, in [`Category::ALL`] order.
    pub message: [LevelThresholds; 4],
    /// Per-category message-level thresholds on the deep tier's evidence alone
    /// (`message.<category>.deep`), in [`Category::ALL`] order; unset levels never fire.
    pub message_deep: [LevelThresholds; 4],
    /// Lexicon combination settings.
    pub lexicon: LexiconPolicy,
    /// `[cascade]`: which messages the deep tier scores and how the tiers combine.
    pub cascade: CascadePolicy,
    /// `[exemplars]`: example-based detection on the deep tier's embeddings.
    pub exemplars: ExemplarPolicy,
    /// `[trajectory]`: when a player's recent scores count as a drift.
    pub trajectory: TrajectoryPolicy,
    /// Per-category thresholds on accumulated risk, in [`Category::ALL`] order.
    pub accumulated: [AccumulatedThresholds; 4],
    /// Risk decay and state expiry.
    pub risk: RiskPolicy,
    /// Minimum time between two responses of the same level to one player.
    pub cooldowns: Cooldowns,
    /// How reports and blocks by others amplify a player's own evidence.
    pub reports: ReportPolicy,
    /// Behaviour and derived signals (group joins, repetition, message rate).
    pub behaviour: BehaviourPolicy,
    /// How the ladder steps.
    pub ladder: LadderPolicy,
    /// Adjustments per age band.
    pub age_bands: AgeBands,
    /// What platform feedback does.
    pub outcomes: OutcomePolicy,
    /// Counselling services per locale and age band.
    pub help: HelpDirectory,
    /// `[referral]`: statement-of-reasons texts, context size, and the optional signed webhook
    /// with its durable spool.
    pub referral: ReferralConfig,
    /// `[telemetry]`: aggregate pilot telemetry; `None` when the section is absent (no telemetry).
    pub telemetry: Option<TelemetryConfig>,
    /// `[store]`: the shared player-state store; `None` keeps player state in the engine's
    /// memory.
    pub store: Option<StoreConfig>,
}

impl Policy {
    /// Reads and validates a policy file.
    pub fn from_file(path: &Path) -> Result<Policy, PolicyError> {
        let source = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Policy::from_toml_str(&source, &path.display().to_string())
    }

    /// Parses and validates policy text; `origin` names it in errors.
    pub fn from_toml_str(source: &str, origin: &str) -> Result<Policy, PolicyError> {
        parse::parse(source, origin)
    }

    /// The thresholds for one category.
    pub fn thresholds(&self, category: Category) -> &LevelThresholds {
        &self.message[category.index()]
    }

    /// The thresholds for one category on the deep tier's evidence (`message.<category>.deep`).
    pub fn deep_thresholds(&self, category: Category) -> &LevelThresholds {
        &self.message_deep[category.index()]
    }

    /// The accumulated-risk thresholds for one category.
    pub fn accumulated(&self, category: Category) -> &AccumulatedThresholds {
        &self.accumulated[category.index()]
    }

    /// The highest response the message-level thresholds give these scores, with reasons.
    pub fn message_decision(&self, scores: &TierScores) -> MessageDecision {
        message::decide(self, scores, 1.0)
    }

    /// Like [`Policy::message_decision`] with the thresholds of `band` (see `[age_band]`).
    pub fn message_decision_for(&self, scores: &TierScores, band: AgeBand) -> MessageDecision {
        message::decide(self, scores, self.age_bands.get(band).threshold_factor)
    }
}

impl Default for Policy {
    /// The documented default policy (`sdk/waypoint/policy.toml`).
    fn default() -> Self {
        // The embedded file is validated by a unit test; if it were ever invalid, fall back to the
        // most conservative policy (no responses) instead of panicking.
        Policy::from_toml_str(DEFAULT_POLICY_TOML, "<default policy>").unwrap_or_else(|_| Policy {
            version: "invalid-default".to_owned(),
            origin: "<default policy>".to_owned(),
            message: [LevelThresholds::default(); 4],
            message_deep: [LevelThresholds::default(); 4],
            lexicon: LexiconPolicy::default(),
            cascade: CascadePolicy::default(),
            exemplars: ExemplarPolicy::default(),
            trajectory: TrajectoryPolicy::default(),
            accumulated: [AccumulatedThresholds::default(); 4],
            risk: RiskPolicy::default(),
            cooldowns: Cooldowns::default(),
            reports: ReportPolicy::default(),
            behaviour: BehaviourPolicy::default(),
            ladder: LadderPolicy::default(),
            age_bands: AgeBands::default(),
            outcomes: OutcomePolicy::default(),
            help: HelpDirectory::default(),
            referral: ReferralConfig::default(),
            telemetry: None,
            store: None,
        })
    }
}

/// Parses a policy made of `section` after a version line, as `p.toml` (for the sections'
/// tests, whose errors then point into `section` from line 2).
#[cfg(test)]
pub(crate) fn parse_section(section: &str) -> Result<Policy, PolicyError> {
    Policy::from_toml_str(&format!("version = \"t\"\n{section}"), "p.toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_parses() {
        let policy =
            Policy::from_toml_str(DEFAULT_POLICY_TOML, "<default policy>").expect("valid default");
        assert_eq!(policy, Policy::default());
        assert!(policy.thresholds(Category::Extremism).review.is_some());
    }
}
