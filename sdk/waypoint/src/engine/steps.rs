//! The engine's per-signal work as three steps, each a plain function of its inputs:
//!
//! 1. [`absorb`]: the signal's evidence goes into the player's state (decayed risk, repeats,
//!    reports, blocks, profile, score window, trajectory) and comes back as an [`Absorbed`].
//! 2. [`decide`]: the ladder's decision on that state, reading nothing else.
//! 3. [`reasons`] and [`response`]: the response the decision earns, with its reasons.
//!
//! [`super::process::State::process`] runs them in order and keeps the bookkeeping around them
//! (pseudonyms, earlier responses, open cases).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use uuid::Uuid;

use super::history::History;
use crate::clock::Timestamp;
use crate::player::{PlayerKey, PlayerState, TrajectoryPoint};
use crate::policy::Policy;
use crate::policy::ladder::{self, LadderDecision, LadderInput, LadderOutcome};
use crate::response::{
    ContextMessage, HelpLink, Nudge, Reasons, Referral, Response, default_help_text,
    default_name_nudge_text, default_nudge_text,
};
use crate::risk::Risk;
use crate::scorer::MessageScore;
use crate::signal::Signal;
use crate::trajectory::{DriftReading, apply_drift};
use crate::{Category, Scores};

/// Longest context line kept, in characters (the normaliser's default limit).
const MAX_CONTEXT_CHARS: usize = 1024;

/// A stable hash of a text (repeat detection, custom signal kinds).
pub(super) fn text_hash(text: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The signal being processed, as every step sees it.
pub(super) struct Step<'a> {
    /// The policy in force.
    pub policy: &'a Policy,
    /// The signal.
    pub signal: &'a Signal,
    /// The pseudonym of the player it is about.
    pub key: PlayerKey,
    /// When it happened.
    pub at: Timestamp,
}

/// What absorbing one signal gave: the evidence it added and what the reasons record about it.
#[derive(Debug, Default)]
pub(super) struct Absorbed {
    /// Risk the signal added, after amplification, pacing and drift.
    pub added: Risk,
    /// The amplification from reports and blocks applied to it.
    pub amplification: f32,
    /// How often the same line was repeated.
    pub repeats: u32,
    /// The player's chat rate, in messages per minute.
    pub rate: f32,
    /// The chat channel, for chat lines.
    pub channel: Option<String>,
    /// The chat lines before this one, oldest first, for referral context.
    pub context: Vec<ContextMessage>,
    /// The drift statistic's readings, when it changed the evidence.
    pub drift: Vec<DriftReading>,
}

/// Step 1: adds the signal's evidence to the player's state. `other_tag` is the tag of the
/// other player involved (a reporter) or the hash of an uncategorised custom kind.
pub(super) fn absorb(
    step: &Step<'_>,
    state: &mut PlayerState,
    history: &mut HashMap<PlayerKey, History>,
    other_tag: Option<u64>,
    scored: Option<&MessageScore>,
) -> Absorbed {
    let (policy, at) = (step.policy, step.at);
    state.advance(at, policy);
    let mut absorbed = Absorbed {
        amplification: ladder::amplification(policy, state.reporters(at, policy), state.blocks()),
        ..Absorbed::default()
    };
    let amplification = absorbed.amplification;
    match step.signal {
        Signal::Chat(chat) => {
            state.note_profile(chat.age_band, chat.locale.as_deref());
            absorbed.channel = Some(chat.channel.clone());
            if let Some(scored) = scored {
                absorb_chat(step, state, history, scored, &mut absorbed);
            }
        }
        Signal::NameChange { .. } => {
            if let Some(scored) = scored {
                absorbed.added = ladder::contribution(policy, &scored.scores);
                absorbed.added.scale(amplification);
            }
        }
        Signal::Report { .. } | Signal::Custom { category: None, .. } => {
            if let Some(tag) = other_tag {
                state.note_report(tag, at);
            }
        }
        Signal::Block { .. } => state.note_block(),
        Signal::GroupJoin { flagged, .. } => {
            if *flagged {
                absorbed.added.add(
                    Category::Extremism,
                    policy.behaviour.flagged_group_extremism * amplification,
                );
            }
        }
        Signal::Custom {
            category: Some(category),
            weight,
            ..
        } => {
            absorbed
                .added
                .add(*category, weight.clamp(0.0, 1.0) * amplification);
        }
    }
    state.add_risk(&absorbed.added);
    state.push_trajectory(TrajectoryPoint {
        at,
        signal: step.signal.kind(),
        added: absorbed.added.0.iter().sum(),
        risk: state.risk(),
    });
    absorbed
}

/// A scored chat line: context, repeats and pacing, the line's risk and the drift statistic.
fn absorb_chat(
    step: &Step<'_>,
    state: &mut PlayerState,
    history: &mut HashMap<PlayerKey, History>,
    scored: &MessageScore,
    absorbed: &mut Absorbed,
) {
    let policy = step.policy;
    let capacity = policy.referral.context_messages;
    if capacity > 0
        && let Signal::Chat(chat) = step.signal
    {
        let line = ContextMessage {
            at: step.at,
            channel: chat.channel.clone(),
            text: chat.text.chars().take(MAX_CONTEXT_CHARS).collect(),
            scores: scored.scores,
        };
        absorbed.context = history
            .entry(step.key)
            .or_default()
            .remember_chat(line, capacity);
    }
    (absorbed.repeats, absorbed.rate) = state.note_message(text_hash(&scored.normalized.text));
    let mut added = ladder::contribution(policy, &scored.scores);
    added.scale(
        absorbed.amplification * ladder::pacing_factor(policy, absorbed.repeats, absorbed.rate),
    );
    state.note_scores(&scored.scores);
    absorbed.drift = apply_drift(state.score_window(), &policy.trajectory, &mut added);
    absorbed.added = added;
}

/// Step 2: the ladder's decision on the player's state after [`absorb`].
pub(super) fn decide(
    step: &Step<'_>,
    state: &PlayerState,
    absorbed: &Absorbed,
    scored: Option<&MessageScore>,
) -> LadderOutcome {
    let input = LadderInput {
        now: step.at,
        age_band: state.age_band(),
        message: scored.map(MessageScore::tier_scores),
        added: absorbed.added,
        risk: state.risk(),
        last_given: state.last_given(),
    };
    ladder::decide(step.policy, &input)
}

/// The model versions the scorer has loaded, for reasons and referral packets.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelVersions<'a> {
    /// The fast tier's version.
    pub fast: Option<&'a str>,
    /// The deep tier's version (reported only for messages the deep tier scored).
    pub deep: Option<&'a str>,
    /// The stance model's version (reported only for messages it read).
    pub stance: Option<&'a str>,
}

/// Step 3a: the reasons of a response — the ladder's rules, the evidence and the player's
/// state. The message's lexicon hits and the absorbed channel and drift readings move into
/// them.
pub(super) fn reasons(
    step: &Step<'_>,
    state: &PlayerState,
    absorbed: &mut Absorbed,
    decision: LadderDecision,
    scored: Option<&mut MessageScore>,
    versions: ModelVersions<'_>,
) -> Reasons {
    let mut categories: Vec<Category> = decision.reasons.iter().map(|r| r.category).collect();
    categories.dedup();
    let deep_ran = scored.as_ref().is_some_and(|s| s.deep.is_some());
    let endorsement = scored.as_ref().and_then(|s| s.endorsement);
    let (scores, lexicon) = match scored {
        Some(s) => (Some(s.scores), std::mem::take(&mut s.lexicon)),
        None => (None::<Scores>, Vec::new()),
    };
    Reasons {
        rule: decision.rule,
        rules: decision.reasons,
        capped_from: decision.capped_from,
        categories,
        scores,
        lexicon,
        signal: step.signal.kind(),
        channel: absorbed.channel.take(),
        added: absorbed.added,
        risk: state.risk(),
        amplification: absorbed.amplification,
        reporters: state.reporters(step.at, step.policy),
        blocks: state.blocks(),
        repeats: absorbed.repeats,
        messages_per_minute: absorbed.rate,
        age_band: state.age_band(),
        trajectory: state.trajectory(),
        drift: std::mem::take(&mut absorbed.drift),
        policy_version: step.policy.version.clone(),
        model_version: versions.fast.map(str::to_owned),
        deep_model_version: versions.deep.filter(|_| deep_ran).map(str::to_owned),
        endorsement,
        stance_model_version: versions
            .stance
            .filter(|_| endorsement.is_some())
            .map(str::to_owned),
    }
}

/// The response a decision earns, with what a review referral carries beyond its reasons.
pub(super) enum Due {
    /// A nudge (also for a decision at level none, which the ladder does not give).
    Nudge,
    /// A help link.
    Help,
    /// A referral to human review.
    Review {
        /// The new case's id.
        case_id: Uuid,
        /// The flagged message's original text, when there was one.
        evidence: Option<String>,
        /// The chat lines before it, oldest first.
        context: Vec<ContextMessage>,
    },
}

/// Step 3b: the response that is due, with its reasons, in the player's locale.
pub(super) fn response(
    step: &Step<'_>,
    locale: Option<&str>,
    due: Due,
    reasons: Reasons,
) -> Response {
    let player = step.signal.subject().clone();
    let (pseudonym, at) = (step.key, step.at);
    match due {
        Due::Nudge => Response::Nudge(Nudge {
            player,
            pseudonym,
            at,
            text: if matches!(step.signal, Signal::NameChange { .. }) {
                default_name_nudge_text(locale)
            } else {
                default_nudge_text(locale)
            }
            .to_owned(),
            reasons,
        }),
        Due::Help => {
            let help = step.policy.help.lookup(locale, reasons.age_band).cloned();
            let text = help
                .as_ref()
                .map_or_else(|| default_help_text(locale).to_owned(), |h| h.text.clone());
            Response::HelpLink(HelpLink {
                player,
                pseudonym,
                at,
                help,
                text,
                reasons,
            })
        }
        Due::Review {
            case_id,
            evidence,
            context,
        } => Response::ReviewReferral(Referral {
            case_id,
            player,
            pseudonym,
            at,
            evidence,
            context,
            reasons,
        }),
    }
}
