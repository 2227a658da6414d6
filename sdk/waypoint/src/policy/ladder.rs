//! The response ladder as pure functions: from scores, accumulated risk and a player's response
//! history to the response that is due (nudge → help link → review referral), with reasons.
//!
//! Nothing here reads a clock or touches state; the engine passes everything in, so every rule
//! can be tested with hand-made numbers.

use std::time::Duration;

use serde::Serialize;

use super::message::reasons_scaled;
use super::{Policy, Reason, ResponseLevel, TierScores};
use crate::clock::Timestamp;
use crate::risk::Risk;
use crate::signal::AgeBand;
use crate::{Category, Scores};

/// The risk one message's scores add before amplification: per category
/// `(score - floor) / (1 - floor)` above the category's floor, else nothing.
pub fn contribution(policy: &Policy, scores: &Scores) -> Risk {
    let mut risk = Risk::default();
    for (category, score) in scores.iter() {
        let floor = policy.accumulated(category).floor;
        if score > floor {
            risk.add(category, (score - floor) / (1.0 - floor).max(f32::EPSILON));
        }
    }
    risk
}

/// The multiplier reports and blocks by other players put on a player's own evidence:
/// `1 + per_reporter * reporters + per_block * blocks`, at most `max_multiplier`.
pub fn amplification(policy: &Policy, reporters: f32, blocks: f32) -> f32 {
    let r = &policy.reports;
    (1.0 + r.per_reporter * reporters.max(0.0) + r.per_block * blocks.max(0.0))
        .min(r.max_multiplier)
}

/// How much of a message's risk counts given repetition and message rate: the n-th identical
/// message in a row counts `repeat_damping^n`, and above the flood rate each message counts
/// `flood_rate / rate`.
pub fn pacing_factor(policy: &Policy, repeats: u32, messages_per_minute: f32) -> f32 {
    let b = &policy.behaviour;
    let repeat = b
        .repeat_damping
        .powi(i32::try_from(repeats).unwrap_or(i32::MAX));
    let flood = if messages_per_minute > b.flood_messages_per_minute {
        b.flood_messages_per_minute / messages_per_minute
    } else {
        1.0
    };
    repeat * flood
}

/// The cooldown for `level` in `band`.
pub fn cooldown(policy: &Policy, level: ResponseLevel, band: AgeBand) -> Duration {
    let factor = f64::from(policy.age_bands.get(band).cooldown_factor);
    Duration::try_from_secs_f64(policy.cooldowns.get(level).as_secs_f64() * factor)
        .unwrap_or(Duration::MAX)
}

/// The accumulated-risk rules reached, for categories this signal added risk to.
pub fn accumulated_reasons(
    policy: &Policy,
    risk: &Risk,
    added: &Risk,
    band: AgeBand,
) -> Vec<(ResponseLevel, Reason)> {
    let factor = policy.age_bands.get(band).threshold_factor;
    let mut reasons = Vec::new();
    for category in Category::ALL {
        if added.get(category) <= 0.0 {
            continue;
        }
        let value = risk.get(category);
        let levels = &policy.accumulated(category).levels;
        let reached = ResponseLevel::LADDER.into_iter().rev().find_map(|level| {
            levels
                .get(level)
                .map(|t| t * factor)
                .filter(|t| value >= *t)
                .map(|t| (level, t))
        });
        if let Some((level, threshold)) = reached {
            let rule = format!("accumulated.{category}.{}", level.as_str());
            reasons.push((
                level,
                Reason {
                    rule,
                    category,
                    score: value,
                    threshold,
                },
            ));
        }
    }
    reasons
}

/// Everything the ladder looks at for one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct LadderInput {
    /// When the signal happened.
    pub now: Timestamp,
    /// The player's age band.
    pub age_band: AgeBand,
    /// The scores of the message that triggered this, for chat and names.
    pub message: Option<TierScores>,
    /// The risk this signal added (after amplification); accumulated rules only fire for
    /// categories with new evidence, so reports alone never trigger a response.
    pub added: Risk,
    /// The player's accumulated risk after this signal.
    pub risk: Risk,
    /// When the player last received a nudge, a help link and a referral.
    pub last_given: [Option<Timestamp>; 3],
}

/// A response that is due, with the rules that made it due.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LadderDecision {
    /// The response to give.
    pub level: ResponseLevel,
    /// The rule that fired: the strongest reason's rule.
    pub rule: String,
    /// Every rule reached, strongest first.
    pub reasons: Vec<Reason>,
    /// When the graduated ladder held the response back one rung, the level the rules reached.
    pub capped_from: Option<ResponseLevel>,
}

/// What the ladder says about one signal.
#[derive(Debug, Clone, PartialEq)]
pub enum LadderOutcome {
    /// No rule reached a response.
    Nothing,
    /// A response was due but the same response was given too recently.
    CoolingDown {
        /// The response held back.
        level: ResponseLevel,
        /// When the cooldown ends.
        until: Timestamp,
    },
    /// A response is due.
    Respond(LadderDecision),
}

fn next(level: ResponseLevel) -> ResponseLevel {
    match level {
        ResponseLevel::None => ResponseLevel::Nudge,
        ResponseLevel::Nudge => ResponseLevel::Help,
        ResponseLevel::Help | ResponseLevel::Review => ResponseLevel::Review,
    }
}

/// The strongest response given within the policy's step memory.
pub fn highest_given(
    policy: &Policy,
    now: Timestamp,
    last_given: &[Option<Timestamp>; 3],
) -> ResponseLevel {
    ResponseLevel::LADDER
        .into_iter()
        .rev()
        .find(|level| {
            level
                .ladder_index()
                .and_then(|i| last_given[i])
                .is_some_and(|at| now.since(at) <= policy.ladder.step_memory)
        })
        .unwrap_or(ResponseLevel::None)
}

/// Walks the ladder for one signal.
pub fn decide(policy: &Policy, input: &LadderInput) -> LadderOutcome {
    let band = policy.age_bands.get(input.age_band);
    let mut reasons: Vec<(ResponseLevel, Reason)> = Vec::new();
    if let Some(scores) = &input.message {
        reasons.extend(reasons_scaled(policy, scores, band.threshold_factor));
    }
    reasons.extend(accumulated_reasons(
        policy,
        &input.risk,
        &input.added,
        input.age_band,
    ));
    reasons.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.score.total_cmp(&a.1.score)));
    let Some((reached, top)) = reasons.first() else {
        return LadderOutcome::Nothing;
    };
    let (reached, rule) = (*reached, top.rule.clone());

    let mut level = reached;
    let mut capped_from = None;
    if policy.ladder.graduated {
        let cap = next(highest_given(policy, input.now, &input.last_given));
        if level > cap {
            capped_from = Some(level);
            level = cap;
        }
    }
    if let Some(at) = level.ladder_index().and_then(|i| input.last_given[i]) {
        let until = at.plus(cooldown(policy, level, input.age_band));
        if input.now < until {
            return LadderOutcome::CoolingDown { level, until };
        }
    }
    LadderOutcome::Respond(LadderDecision {
        level,
        rule,
        reasons: reasons.into_iter().map(|(_, r)| r).collect(),
        capped_from,
    })
}

#[cfg(test)]
#[path = "ladder_tests.rs"]
mod tests;
