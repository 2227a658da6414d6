//! What Waypoint answers with: a nudge, a help link, or a referral to human review. Never a
//! punishment. Every response carries its reasons so a person can see why it was given.

use serde::Serialize;
use uuid::Uuid;

use crate::clock::Timestamp;
use crate::player::{PlayerKey, TrajectoryPoint};
use crate::policy::{HelpEntry, Reason, ResponseLevel};
use crate::risk::Risk;
use crate::signal::{AgeBand, PlayerId, SignalKind};
use crate::text::LexiconHit;
use crate::trajectory::DriftReading;
use crate::{Category, Scores};

/// Default nudge text per language; platforms usually show their own.
pub fn default_nudge_text(locale: Option<&str>) -> &'static str {
    match language(locale) {
        "nl" => "Dat bericht kan anderen kwetsen. Denk even na voordat je verder gaat.",
        _ => "That message could hurt people. Take a moment before you carry on.",
    }
}

/// Default nudge text for a name or clan tag, in the player's language (English fallback).
pub fn default_name_nudge_text(locale: Option<&str>) -> &'static str {
    match language(locale) {
        "nl" => "Die naam kan anderen kwetsen. Kies je een andere?",
        _ => "That name could hurt people. Would you pick another one?",
    }
}

/// Default text shown with a help link when the directory entry has none to add.
pub fn default_help_text(locale: Option<&str>) -> &'static str {
    match language(locale) {
        "nl" => "Loop je ergens mee rond? Je kunt anoniem praten met iemand die luistert.",
        _ => "Got something on your mind? You can talk to someone who listens, anonymously.",
    }
}

fn language(locale: Option<&str>) -> &str {
    locale
        .and_then(|l| l.split(['-', '_']).next())
        .unwrap_or("en")
}

/// Why a response was given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reasons {
    /// The rule that fired, e.g. `accumulated.extremism.help`.
    pub rule: String,
    /// Every rule reached, strongest first, with scores and thresholds.
    pub rules: Vec<Reason>,
    /// When the graduated ladder held the response back a rung, the level the rules reached.
    pub capped_from: Option<ResponseLevel>,
    /// The categories the reached rules are about.
    pub categories: Vec<Category>,
    /// The combined scores of the message or name that triggered the response.
    pub scores: Option<Scores>,
    /// Lexicon entries found in that message or name.
    pub lexicon: Vec<LexiconHit>,
    /// The kind of signal that triggered the response (in JSON its short name: `chat`, `name`,
    /// `group_join`, `custom`).
    pub signal: SignalKind,
    /// The chat channel, for chat.
    pub channel: Option<String>,
    /// The risk this signal added, after amplification and pacing.
    pub added: Risk,
    /// The player's accumulated risk after the signal.
    pub risk: Risk,
    /// The multiplier reports and blocks by others put on the player's evidence.
    pub amplification: f32,
    /// Distinct recent reporters (decayed).
    pub reporters: f32,
    /// Recent blocks and mutes (decayed).
    pub blocks: f32,
    /// Identical messages directly before this one.
    pub repeats: u32,
    /// The player's recent message rate.
    pub messages_per_minute: f32,
    /// The player's age band.
    pub age_band: AgeBand,
    /// The recent risk history that led here, oldest first.
    pub trajectory: Vec<TrajectoryPoint>,
    /// The drift statistic per watched category after this signal (chat only; see
    /// [`DriftReading`]): whether the player's recent scores are skewed by a few high
    /// messages, and whether that boosted this message's risk.
    pub drift: Vec<DriftReading>,
    /// The policy version that decided.
    pub policy_version: String,
    /// The fast-tier model version, when loaded.
    pub model_version: Option<String>,
    /// The deep tier's version, when the deep tier scored the message.
    pub deep_model_version: Option<String>,
    /// The stance model's probability that the message endorses the hate, violence or
    /// extremism it speaks of, when the model read it (see `MessageScore::endorsement`).
    pub endorsement: Option<f32>,
    /// The stance model's version, when it read the message.
    pub stance_model_version: Option<String>,
}

/// A private "are you sure?" note to the player.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Nudge {
    /// The platform's id of the player to show it to (from the triggering signal).
    pub player: PlayerId,
    /// The player's pseudonym.
    pub pseudonym: PlayerKey,
    /// When it was decided.
    pub at: Timestamp,
    /// Default text in the player's language.
    pub text: String,
    /// Why.
    pub reasons: Reasons,
}

/// A link to a counselling service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HelpLink {
    /// The platform's id of the player to show it to.
    pub player: PlayerId,
    /// The player's pseudonym.
    pub pseudonym: PlayerKey,
    /// When it was decided.
    pub at: Timestamp,
    /// The service from the policy's help directory; `None` when the directory is empty.
    pub help: Option<HelpEntry>,
    /// Text to show with the link.
    pub text: String,
    /// Why.
    pub reasons: Reasons,
}

/// A referral to a human reviewer. The platform decides what happens; the decision comes back
/// through `Engine::record_outcome`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Referral {
    /// The case id (UUID v4), to report the review decision against.
    pub case_id: Uuid,
    /// The platform's id of the player.
    pub player: PlayerId,
    /// The player's pseudonym.
    pub pseudonym: PlayerKey,
    /// When it was decided.
    pub at: Timestamp,
    /// The message or name that triggered the referral, for the reviewer; a `before_referral`
    /// hook may redact it.
    pub evidence: Option<String>,
    /// The player's chat lines just before the flagged one, oldest first — at most the policy's
    /// `referral.context_messages` (none by default). A `before_referral` hook may redact them.
    pub context: Vec<ContextMessage>,
    /// Why.
    pub reasons: Reasons,
}

/// A chat line sent before a referred message, included for the reviewer's context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextMessage {
    /// When it was sent.
    pub at: Timestamp,
    /// The channel it was sent on.
    pub channel: String,
    /// The text as typed (at most 1,024 characters are kept).
    pub text: String,
    /// Its combined scores.
    pub scores: Scores,
}

/// A response to a player's behaviour.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "response", rename_all = "snake_case")]
pub enum Response {
    /// A nudge.
    Nudge(Nudge),
    /// A help link.
    HelpLink(HelpLink),
    /// A referral to human review.
    ReviewReferral(Referral),
}

impl Response {
    /// The ladder level of this response.
    pub fn level(&self) -> ResponseLevel {
        match self {
            Response::Nudge(_) => ResponseLevel::Nudge,
            Response::HelpLink(_) => ResponseLevel::Help,
            Response::ReviewReferral(_) => ResponseLevel::Review,
        }
    }

    /// The platform id of the player it is about.
    pub fn player(&self) -> &PlayerId {
        match self {
            Response::Nudge(r) => &r.player,
            Response::HelpLink(r) => &r.player,
            Response::ReviewReferral(r) => &r.player,
        }
    }

    /// When it was decided.
    pub fn at(&self) -> Timestamp {
        match self {
            Response::Nudge(r) => r.at,
            Response::HelpLink(r) => r.at,
            Response::ReviewReferral(r) => r.at,
        }
    }

    /// Why it was given.
    pub fn reasons(&self) -> &Reasons {
        match self {
            Response::Nudge(r) => &r.reasons,
            Response::HelpLink(r) => &r.reasons,
            Response::ReviewReferral(r) => &r.reasons,
        }
    }

    /// The case id, for referrals.
    pub fn case_id(&self) -> Option<Uuid> {
        match self {
            Response::ReviewReferral(r) => Some(r.case_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_texts_follow_the_language() {
        assert!(default_nudge_text(Some("nl-BE")).starts_with("Dat"));
        assert!(default_nudge_text(Some("fr")).starts_with("That"));
        assert!(default_help_text(None).contains("anonymously"));
    }
}
