//! The mapping from a review referral to the case packet's input: categories, messages with
//! their context, lexicon hits, the risk trajectory, earlier responses and versions, with
//! engine timestamps turned into Unix milliseconds.

use std::collections::BTreeMap;

use super::history::Earlier;
use crate::clock::Timestamp;
use crate::referral::{
    CaseInput, CategoryScore, EarlierResponse, InputLexiconHit, InputMessage,
    PacketTrajectoryPoint, Versions,
};
use crate::response::{Reasons, Referral};
use crate::{Category, Scores};

/// Engine timestamps as Unix milliseconds: the clock's start is `base_unix_ms`.
#[derive(Debug, Clone, Copy)]
pub(super) struct UnixClock {
    /// The clock's start in Unix milliseconds.
    pub base_unix_ms: u64,
}

impl UnixClock {
    fn ms(self, at: Timestamp) -> u64 {
        self.base_unix_ms.saturating_add(at.0)
    }
}

/// The case input for `referral`, given the responses the player had before it.
pub(super) fn case_input(referral: &Referral, earlier: &[Earlier], clock: UnixClock) -> CaseInput {
    let reasons = &referral.reasons;
    let at_ms = clock.ms(referral.at);
    let messages = messages(referral, clock);
    let has_message = messages.len() > referral.context.len();
    CaseInput {
        case_id: Some(referral.case_id),
        created_at_unix_ms: Some(at_ms),
        player_pseudonym: referral.pseudonym.to_string(),
        age_band: Some(reasons.age_band.to_string()),
        rule: reasons.rule.clone(),
        categories: categories(reasons),
        messages,
        lexicon_hits: lexicon_hits(reasons, has_message.then_some(referral.context.len())),
        trajectory: trajectory(reasons, clock),
        drift: reasons.drift.clone(),
        earlier_responses: earlier_responses(earlier, clock),
        versions: Versions {
            sdk: String::new(),
            policy: reasons.policy_version.clone(),
            models: models(reasons),
        },
        facts_and_circumstances: None,
    }
}

/// The categories the ladder's rules named, first rule first, each once.
fn categories(reasons: &Reasons) -> Vec<CategoryScore> {
    let mut categories: Vec<CategoryScore> = Vec::new();
    for rule in &reasons.rules {
        let name = rule.category.to_string();
        if !categories.iter().any(|c| c.category == name) {
            categories.push(CategoryScore {
                category: name,
                score: rule.score,
                threshold: Some(rule.threshold),
            });
        }
    }
    categories
}

fn category_scores(scores: &Scores) -> Vec<CategoryScore> {
    Category::ALL
        .iter()
        .map(|c| CategoryScore::new(c.to_string(), scores.0[c.index()]))
        .collect()
}

/// Context lines first (oldest first), then the flagged message; the packet keeps at most
/// `referral.context_messages` of them before each flagged one.
fn messages(referral: &Referral, clock: UnixClock) -> Vec<InputMessage> {
    let reasons = &referral.reasons;
    let context = referral.context.iter().map(|line| InputMessage {
        sent_at_unix_ms: clock.ms(line.at),
        channel: Some(line.channel.clone()),
        text: line.text.clone(),
        flagged: false,
        scores: category_scores(&line.scores),
    });
    let flagged = referral.evidence.iter().map(|text| InputMessage {
        sent_at_unix_ms: clock.ms(referral.at),
        channel: reasons.channel.clone(),
        text: text.clone(),
        flagged: true,
        scores: reasons
            .scores
            .as_ref()
            .map(category_scores)
            .unwrap_or_default(),
    });
    context.chain(flagged).collect()
}

/// The lexicon hits, pointing at the flagged message when the packet has one.
fn lexicon_hits(reasons: &Reasons, message_index: Option<usize>) -> Vec<InputLexiconHit> {
    reasons
        .lexicon
        .iter()
        .map(|hit| InputLexiconHit {
            term: hit.id.clone(),
            family: (!hit.description.is_empty()).then(|| hit.description.clone()),
            message_index,
        })
        .collect()
}

/// The risk trajectory: total risk and the leading category at each point.
fn trajectory(reasons: &Reasons, clock: UnixClock) -> Vec<PacketTrajectoryPoint> {
    reasons
        .trajectory
        .iter()
        .map(|p| {
            let top = Category::ALL
                .iter()
                .copied()
                .max_by(|a, b| p.risk.0[a.index()].total_cmp(&p.risk.0[b.index()]))
                .filter(|c| p.risk.0[c.index()] > 0.0)
                .map(|c| c.to_string());
            PacketTrajectoryPoint::new(clock.ms(p.at), p.risk.0.iter().sum(), top)
        })
        .collect()
}

fn earlier_responses(earlier: &[Earlier], clock: UnixClock) -> Vec<EarlierResponse> {
    earlier
        .iter()
        .map(|e| {
            EarlierResponse::new(
                clock.ms(e.at),
                e.level.as_str(),
                e.category.map(|c| c.to_string()),
                Some(e.rule.clone()),
            )
        })
        .collect()
}

/// The model versions by tier (`fast`, `deep`, `stance`), for the tiers that scored or read
/// the message.
fn models(reasons: &Reasons) -> BTreeMap<String, String> {
    let mut models = BTreeMap::new();
    if let Some(version) = &reasons.model_version {
        models.insert("fast".to_owned(), version.clone());
    }
    if let Some(version) = &reasons.deep_model_version {
        models.insert("deep".to_owned(), version.clone());
    }
    if let Some(version) = &reasons.stance_model_version {
        models.insert("stance".to_owned(), version.clone());
    }
    models
}
