//! Message-level decisions: which response one message's scores earn on their own.

use serde::Serialize;

use super::Policy;
use crate::{Category, Scores};

/// The graduated responses, weakest first. There is deliberately no punitive level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseLevel {
    /// No response.
    None,
    /// A private nudge to the sender ("are you sure?").
    Nudge,
    /// A help link to a counselling service.
    Help,
    /// A referral to human review.
    Review,
}

impl ResponseLevel {
    /// The responses that have thresholds, weakest first.
    pub const LADDER: [ResponseLevel; 3] = [
        ResponseLevel::Nudge,
        ResponseLevel::Help,
        ResponseLevel::Review,
    ];

    /// The lowercase name used in policy files and JSON output.
    pub const fn as_str(self) -> &'static str {
        match self {
            ResponseLevel::None => "none",
            ResponseLevel::Nudge => "nudge",
            ResponseLevel::Help => "help",
            ResponseLevel::Review => "review",
        }
    }
}

/// Why a response was given: one threshold that a score reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The policy rule that fired, e.g. `message.extremism.help`.
    pub rule: String,
    /// The category whose score reached the threshold.
    pub category: Category,
    /// The combined score.
    pub score: f32,
    /// The threshold it reached.
    pub threshold: f32,
}

/// The message-level outcome for one set of scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageDecision {
    /// The highest response any category reached.
    pub level: ResponseLevel,
    /// One reason per category at its highest reached level, strongest first.
    pub reasons: Vec<Reason>,
}

pub(super) fn decide(policy: &Policy, scores: &Scores) -> MessageDecision {
    let reasons = reasons_scaled(policy, scores, 1.0);
    MessageDecision {
        level: reasons
            .first()
            .map_or(ResponseLevel::None, |(level, _)| *level),
        reasons: reasons.into_iter().map(|(_, reason)| reason).collect(),
    }
}

/// One reason per category at its highest reached level (thresholds times `factor`, capped at
/// 1), strongest first.
pub(super) fn reasons_scaled(
    policy: &Policy,
    scores: &Scores,
    factor: f32,
) -> Vec<(ResponseLevel, Reason)> {
    let mut reasons: Vec<(ResponseLevel, Reason)> = Vec::new();
    for (category, score) in scores.iter() {
        let thresholds = policy.thresholds(category);
        let reached = ResponseLevel::LADDER.into_iter().rev().find_map(|level| {
            thresholds
                .get(level)
                .map(|t| (t * factor).min(1.0))
                .filter(|t| score >= *t)
                .map(|t| (level, t))
        });
        if let Some((level, threshold)) = reached {
            let rule = format!("message.{category}.{}", level.as_str());
            reasons.push((
                level,
                Reason {
                    rule,
                    category,
                    score,
                    threshold,
                },
            ));
        }
    }
    reasons.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.score.total_cmp(&a.1.score)));
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::from_toml_str(
            "version = \"t\"\n\
             message.insult = { nudge = 0.7 }\n\
             message.extremism = { nudge = 0.5, help = 0.7, review = 0.9 }\n",
            "t",
        )
        .expect("valid")
    }

    fn scores(insult: f32, extremism: f32) -> Scores {
        Scores([insult, 0.0, 0.0, extremism])
    }

    #[test]
    fn below_every_threshold_is_none() {
        let d = policy().message_decision(&scores(0.69, 0.49));
        assert_eq!(d.level, ResponseLevel::None);
        assert!(d.reasons.is_empty());
    }

    #[test]
    fn highest_level_wins_and_reasons_cite_rules() {
        let d = policy().message_decision(&scores(0.95, 0.75));
        assert_eq!(d.level, ResponseLevel::Help);
        let rules: Vec<&str> = d.reasons.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(rules, ["message.extremism.help", "message.insult.nudge"]);
        assert_eq!(d.reasons[0].threshold, 0.7);
    }

    #[test]
    fn threshold_is_inclusive() {
        assert_eq!(
            policy().message_decision(&scores(0.0, 0.9)).level,
            ResponseLevel::Review
        );
    }

    #[test]
    fn category_without_a_level_never_reaches_it() {
        assert_eq!(
            policy().message_decision(&scores(1.0, 0.0)).level,
            ResponseLevel::Nudge
        );
    }
}
