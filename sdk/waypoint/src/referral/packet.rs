//! The case packet a human reviewer receives (schema version 1, documented in
//! `docs/referral-packet.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ReferralConfig, now_unix_ms, rfc3339_utc};
use crate::trajectory::DriftReading;

/// Version of the [`CasePacket`] JSON schema. Additive changes keep the number; a removed or
/// re-typed field bumps it.
pub const CASE_PACKET_SCHEMA_VERSION: u32 = 1;

/// What a reviewer needs to decide on one referral — no more.
///
/// Build it with [`CasePacket::new`] from a [`CaseInput`] of plain values; the statement of
/// reasons is filled from the input and the policy's [`ReferralConfig`]. Receivers should
/// ignore unknown fields (new optional fields may appear without a version bump).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasePacket {
    /// Always [`CASE_PACKET_SCHEMA_VERSION`] for packets made by this version.
    pub schema_version: u32,
    /// Unique id of the case; also the `Idempotency-Key` of every delivery attempt.
    pub case_id: Uuid,
    /// When the referral was made, RFC 3339 UTC.
    pub created_at: String,
    /// The same instant in Unix milliseconds.
    pub created_at_unix_ms: u64,
    /// The player, pseudonymously.
    pub player: PlayerRef,
    /// The policy rule that asked for review (e.g. `hate.review`).
    pub rule: String,
    /// Category scores that led to the referral, highest first.
    pub categories: Vec<CategoryScore>,
    /// Flagged messages, with the configured number of context messages before each.
    pub messages: Vec<PacketMessage>,
    /// Extremist-code lexicon matches.
    pub lexicon_hits: Vec<PacketLexiconHit>,
    /// The player's decayed risk over time, oldest first.
    pub trajectory: Vec<PacketTrajectoryPoint>,
    /// The drift statistic per watched category at the referral: the skewness of the player's
    /// recent per-message scores and whether it counted as a drift. Empty when not computed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftReading>,
    /// Responses Waypoint gave this player before (nudges, help links, referrals), oldest first.
    pub earlier_responses: Vec<EarlierResponse>,
    /// Versions of the SDK, the policy and the models that produced the scores.
    pub versions: Versions,
    /// The fields a statement of reasons (DSA Art. 17) needs.
    pub statement_of_reasons: StatementOfReasons,
}

/// A player, as the reviewer sees them: no account name, no platform id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerRef {
    /// Keyed pseudonym (lowercase hex HMAC of the platform's player id).
    pub pseudonym: String,
    /// Age band from the policy's bands (e.g. `13-15`, `adult`), if known.
    pub age_band: Option<String>,
}

/// One category's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryScore {
    /// Lowercase category name (`insult`, `hate`, `threat`, `extremism`).
    pub category: String,
    /// Calibrated probability or decayed risk; non-finite inputs become `0`.
    pub score: f32,
    /// The policy threshold that was crossed, if any.
    pub threshold: Option<f32>,
}

impl CategoryScore {
    /// A score without a threshold.
    pub fn new(category: impl Into<String>, score: f32) -> Self {
        CategoryScore {
            category: category.into(),
            score: finite(score),
            threshold: None,
        }
    }
}

/// Whether a packet message was flagged or is context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    /// A message that contributed to the referral.
    Flagged,
    /// An earlier message included for context (see `context_messages`).
    Context,
}

/// A message as it appears in the packet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PacketMessage {
    /// Flagged or context.
    pub role: MessageRole,
    /// When it was sent, RFC 3339 UTC.
    pub sent_at: String,
    /// The same instant in Unix milliseconds.
    pub sent_at_unix_ms: u64,
    /// The channel (e.g. `team`, `global`), if known.
    pub channel: Option<String>,
    /// The text as the player wrote it.
    pub text: String,
    /// Per-category scores of this message (flagged messages), highest first.
    pub scores: Vec<CategoryScore>,
}

/// A lexicon match as the case packet reports it (see [`crate::text::LexiconHit`] for the
/// matcher's own, fuller hit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketLexiconHit {
    /// The matched code or term, as listed in the lexicon.
    pub term: String,
    /// The lexicon's family or meaning of the term, if any.
    pub family: Option<String>,
    /// Index into [`CasePacket::messages`] of the message it was found in, if included.
    pub message_index: Option<usize>,
}

/// One point of the player's decayed risk as the case packet reports it (see
/// [`crate::player::TrajectoryPoint`] for the engine's own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PacketTrajectoryPoint {
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The same instant in Unix milliseconds.
    pub at_unix_ms: u64,
    /// Decayed risk at that time; non-finite inputs become `0`.
    pub risk: f32,
    /// The category the risk refers to, if per-category.
    pub category: Option<String>,
}

impl PacketTrajectoryPoint {
    /// A point at `at_unix_ms`.
    pub fn new(at_unix_ms: u64, risk: f32, category: Option<String>) -> Self {
        PacketTrajectoryPoint {
            at: rfc3339_utc(at_unix_ms),
            at_unix_ms,
            risk: finite(risk),
            category,
        }
    }
}

/// A response Waypoint gave earlier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierResponse {
    /// When, RFC 3339 UTC.
    pub at: String,
    /// The same instant in Unix milliseconds.
    pub at_unix_ms: u64,
    /// `nudge`, `help_link` or `review_referral`.
    pub level: String,
    /// The category it was about, if any.
    pub category: Option<String>,
    /// The policy rule that fired, if known.
    pub rule: Option<String>,
}

impl EarlierResponse {
    /// A response at `at_unix_ms`.
    pub fn new(
        at_unix_ms: u64,
        level: impl Into<String>,
        category: Option<String>,
        rule: Option<String>,
    ) -> Self {
        EarlierResponse {
            at: rfc3339_utc(at_unix_ms),
            at_unix_ms,
            level: level.into(),
            category,
            rule,
        }
    }
}

/// Versions that produced the packet, so a reviewer or auditor can reproduce the scores.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Versions {
    /// Version of this SDK (filled in by [`CasePacket::new`] when empty).
    pub sdk: String,
    /// Version or digest of the policy file.
    pub policy: String,
    /// Model name → version or digest (e.g. `fast` → `sha256:…`).
    pub models: BTreeMap<String, String>,
}

/// Statement-of-reasons fields (DSA Art. 17(3)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementOfReasons {
    /// Facts and circumstances relied on, in plain language.
    pub facts_and_circumstances: String,
    /// Always `true`: automated means were used to detect and refer the content.
    pub automated_detection: bool,
    /// Always `false`: no decision about the player was taken by automated means.
    pub automated_decision: bool,
    /// What the automated means were.
    pub automated_means: String,
    /// The contractual ground: the terms-of-service clause from the policy.
    pub ground: String,
    /// How the player can seek redress.
    pub redress: Redress,
}

/// Redress information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redress {
    /// Text from the policy.
    pub text: String,
    /// Link from the policy, if any.
    pub url: Option<String>,
}

/// A message offered to [`CasePacket::new`], in chronological order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InputMessage {
    /// When it was sent, Unix milliseconds.
    pub sent_at_unix_ms: u64,
    /// Channel, if known.
    pub channel: Option<String>,
    /// The original text.
    pub text: String,
    /// Whether it contributed to the referral. Unflagged messages are kept only as context.
    pub flagged: bool,
    /// Its per-category scores, if known.
    pub scores: Vec<CategoryScore>,
}

/// A lexicon hit offered to [`CasePacket::new`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputLexiconHit {
    /// The matched code or term.
    pub term: String,
    /// The lexicon's family or meaning, if any.
    pub family: Option<String>,
    /// Index into [`CaseInput::messages`], if known.
    pub message_index: Option<usize>,
}

/// Plain inputs for a [`CasePacket`], independent of the engine's own types.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseInput {
    /// Case id to use; a random (v4) id when `None`.
    pub case_id: Option<Uuid>,
    /// When the referral was made, Unix milliseconds; now when `None`.
    pub created_at_unix_ms: Option<u64>,
    /// Pseudonymous player id (lowercase hex HMAC).
    pub player_pseudonym: String,
    /// Age band, if known.
    pub age_band: Option<String>,
    /// The policy rule that asked for review.
    pub rule: String,
    /// Category scores behind the referral.
    pub categories: Vec<CategoryScore>,
    /// Recent messages, oldest first: the flagged ones and any candidates for context.
    pub messages: Vec<InputMessage>,
    /// Lexicon matches.
    pub lexicon_hits: Vec<InputLexiconHit>,
    /// Decayed risk over time.
    pub trajectory: Vec<PacketTrajectoryPoint>,
    /// The drift statistic per watched category.
    pub drift: Vec<DriftReading>,
    /// Earlier responses to this player.
    pub earlier_responses: Vec<EarlierResponse>,
    /// Versions of policy and models (the SDK version is filled in).
    pub versions: Versions,
    /// Facts and circumstances written by the caller; generated from the other fields when
    /// `None`.
    pub facts_and_circumstances: Option<String>,
}

/// What the packet says about the automated means, in every packet.
const AUTOMATED_MEANS: &str = "Messages were scored by local machine-learning classifiers (versions in \
    `versions.models`) and matched against an extremist-code lexicon. Automated means were used only to \
    detect the content and to refer the case to human review; no decision about the player was taken by \
    automated means.";

impl CasePacket {
    /// Builds a packet from plain inputs and the policy's referral settings.
    ///
    /// Keeps every flagged message plus up to `config.context_messages` unflagged messages
    /// right before each; other messages are left out. Lexicon hits are re-indexed to the kept
    /// messages. Categories are sorted by score, highest first.
    pub fn new(input: CaseInput, config: &ReferralConfig) -> CasePacket {
        let created_at_unix_ms = input.created_at_unix_ms.unwrap_or_else(now_unix_ms);
        let keep = kept_messages(&input.messages, config.context_messages);
        let mut new_index = vec![None; input.messages.len()];
        let mut messages = Vec::with_capacity(keep.iter().filter(|k| **k).count());
        for (i, message) in input.messages.iter().enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                new_index[i] = Some(messages.len());
                messages.push(PacketMessage {
                    role: if message.flagged {
                        MessageRole::Flagged
                    } else {
                        MessageRole::Context
                    },
                    sent_at: rfc3339_utc(message.sent_at_unix_ms),
                    sent_at_unix_ms: message.sent_at_unix_ms,
                    channel: message.channel.clone(),
                    text: message.text.clone(),
                    scores: sorted_scores(message.scores.clone()),
                });
            }
        }
        let lexicon_hits = input
            .lexicon_hits
            .iter()
            .map(|hit| PacketLexiconHit {
                term: hit.term.clone(),
                family: hit.family.clone(),
                message_index: hit
                    .message_index
                    .and_then(|i| new_index.get(i).copied().flatten()),
            })
            .collect();
        let mut versions = input.versions.clone();
        if versions.sdk.is_empty() {
            versions.sdk = env!("CARGO_PKG_VERSION").to_owned();
        }
        let categories = sorted_scores(input.categories.clone());
        let trajectory: Vec<PacketTrajectoryPoint> = input
            .trajectory
            .iter()
            .map(|p| PacketTrajectoryPoint {
                risk: finite(p.risk),
                ..p.clone()
            })
            .collect();
        let facts = match &input.facts_and_circumstances {
            Some(text) => text.clone(),
            None => facts_and_circumstances(&input, &categories, &messages, &trajectory),
        };
        CasePacket {
            schema_version: CASE_PACKET_SCHEMA_VERSION,
            case_id: input.case_id.unwrap_or_else(Uuid::new_v4),
            created_at: rfc3339_utc(created_at_unix_ms),
            created_at_unix_ms,
            player: PlayerRef {
                pseudonym: input.player_pseudonym,
                age_band: input.age_band,
            },
            rule: input.rule,
            categories,
            messages,
            lexicon_hits,
            trajectory,
            drift: input.drift,
            earlier_responses: input.earlier_responses,
            versions,
            statement_of_reasons: StatementOfReasons {
                facts_and_circumstances: facts,
                automated_detection: true,
                automated_decision: false,
                automated_means: AUTOMATED_MEANS.to_owned(),
                ground: config.ground.clone(),
                redress: Redress {
                    text: config.redress_text.clone(),
                    url: config.redress_url.clone(),
                },
            },
        }
    }

    /// The packet as the exact JSON bytes that are signed and sent.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

/// Which input messages to keep: flagged ones and up to `context` unflagged ones before each.
fn kept_messages(messages: &[InputMessage], context: usize) -> Vec<bool> {
    let mut keep: Vec<bool> = messages.iter().map(|m| m.flagged).collect();
    for (i, message) in messages.iter().enumerate() {
        if !message.flagged {
            continue;
        }
        let mut taken = 0;
        let mut j = i;
        while taken < context && j > 0 {
            j -= 1;
            if !messages[j].flagged {
                keep[j] = true;
                taken += 1;
            }
        }
    }
    keep
}

fn finite(value: f32) -> f32 {
    if value.is_finite() { value } else { 0.0 }
}

fn sorted_scores(mut scores: Vec<CategoryScore>) -> Vec<CategoryScore> {
    for score in &mut scores {
        score.score = finite(score.score);
        score.threshold = score.threshold.filter(|t| t.is_finite());
    }
    scores.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.category.cmp(&b.category))
    });
    scores
}

/// Plain-language facts and circumstances generated from the inputs.
fn facts_and_circumstances(
    input: &CaseInput,
    categories: &[CategoryScore],
    messages: &[PacketMessage],
    trajectory: &[PacketTrajectoryPoint],
) -> String {
    let mut text = String::new();
    let rule = if input.rule.is_empty() {
        "unnamed"
    } else {
        input.rule.as_str()
    };
    let _ = write!(
        text,
        "Automated detection referred this case to human review under policy rule '{rule}'."
    );
    if !categories.is_empty() {
        let list: Vec<String> = categories
            .iter()
            .map(|c| match c.threshold {
                Some(t) => format!("{} {:.2} (threshold {:.2})", c.category, c.score, t),
                None => format!("{} {:.2}", c.category, c.score),
            })
            .collect();
        let _ = write!(text, " Scores: {}.", list.join(", "));
    }
    let flagged: Vec<&PacketMessage> = messages
        .iter()
        .filter(|m| m.role == MessageRole::Flagged)
        .collect();
    if let (Some(first), Some(last)) = (flagged.first(), flagged.last()) {
        let _ = write!(
            text,
            " {} flagged message(s) between {} and {}, quoted in this packet.",
            flagged.len(),
            first.sent_at,
            last.sent_at
        );
    }
    history_facts(&mut text, input, trajectory);
    text.push_str(" No action has been taken against the player; a human reviewer decides.");
    text
}

/// The lexicon matches, earlier responses, risk trajectory and drift, as sentences.
fn history_facts(text: &mut String, input: &CaseInput, trajectory: &[PacketTrajectoryPoint]) {
    if !input.lexicon_hits.is_empty() {
        let terms: Vec<String> = input
            .lexicon_hits
            .iter()
            .map(|h| match &h.family {
                Some(family) => format!("'{}' ({family})", h.term),
                None => format!("'{}'", h.term),
            })
            .collect();
        let _ = write!(
            text,
            " Extremist-code lexicon matches: {}.",
            terms.join(", ")
        );
    }
    if !input.earlier_responses.is_empty() {
        let earlier: Vec<String> = input
            .earlier_responses
            .iter()
            .map(|r| format!("{} at {}", r.level, r.at))
            .collect();
        let _ = write!(text, " Earlier responses: {}.", earlier.join(", "));
    }
    if let (Some(first), Some(last)) = (trajectory.first(), trajectory.last()) {
        let _ = write!(
            text,
            " Risk went from {:.2} to {:.2} over {} observation(s).",
            first.risk,
            last.risk,
            trajectory.len()
        );
    }
    let drifting: Vec<String> = input
        .drift
        .iter()
        .filter(|d| d.drifting)
        .map(|d| {
            format!(
                "{} (skewness {:.2} over the last {} messages, {} of them high)",
                d.category,
                d.skewness.unwrap_or(0.0),
                d.messages,
                d.high
            )
        })
        .collect();
    if !drifting.is_empty() {
        let _ = write!(
            text,
            " The player's recent messages drift towards: {}.",
            drifting.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(at: u64, text: &str, flagged: bool) -> InputMessage {
        InputMessage {
            sent_at_unix_ms: at,
            text: text.into(),
            flagged,
            ..InputMessage::default()
        }
    }

    fn input() -> CaseInput {
        CaseInput {
            player_pseudonym: "ab12".into(),
            rule: "hate.review".into(),
            categories: vec![
                CategoryScore::new("insult", 0.4),
                CategoryScore::new("hate", 0.93),
            ],
            messages: vec![
                msg(1, "a", false),
                msg(2, "b", false),
                msg(3, "bad", true),
                msg(4, "c", false),
            ],
            lexicon_hits: vec![InputLexiconHit {
                term: "88".into(),
                family: Some("numeric code".into()),
                message_index: Some(2),
            }],
            ..CaseInput::default()
        }
    }

    #[test]
    fn only_flagged_messages_by_default() {
        let packet = CasePacket::new(input(), &ReferralConfig::default());
        assert_eq!(packet.messages.len(), 1);
        assert_eq!(packet.messages[0].text, "bad");
        assert_eq!(packet.lexicon_hits[0].message_index, Some(0));
        assert_eq!(packet.categories[0].category, "hate");
        assert!(packet.statement_of_reasons.automated_detection);
        assert!(!packet.statement_of_reasons.automated_decision);
        assert_eq!(packet.schema_version, CASE_PACKET_SCHEMA_VERSION);
        assert!(!packet.versions.sdk.is_empty());
    }

    #[test]
    fn context_messages_come_before_flagged_ones() {
        let config = ReferralConfig {
            context_messages: 1,
            ..ReferralConfig::default()
        };
        let packet = CasePacket::new(input(), &config);
        let texts: Vec<&str> = packet.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["b", "bad"]);
        assert_eq!(packet.messages[0].role, MessageRole::Context);
        assert_eq!(packet.lexicon_hits[0].message_index, Some(1));
    }

    #[test]
    fn json_round_trip_and_facts() {
        let mut case = input();
        case.categories.push(CategoryScore::new("threat", f32::NAN));
        let packet = CasePacket::new(case, &ReferralConfig::default());
        let json = packet.to_json().unwrap();
        let back: CasePacket = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, packet);
        let facts = &packet.statement_of_reasons.facts_and_circumstances;
        assert!(facts.contains("hate 0.93"), "{facts}");
        assert!(facts.contains("'88'"), "{facts}");
    }
}
