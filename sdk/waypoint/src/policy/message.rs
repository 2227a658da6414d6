//! Message-level decisions: which response one message's scores earn on their own.

use serde::Serialize;

use super::{LevelThresholds, Policy};
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

    /// The level's place on the ladder, [`ResponseLevel::LADDER`] order (`None` has none).
    pub const fn ladder_index(self) -> Option<usize> {
        match self {
            ResponseLevel::None => None,
            ResponseLevel::Nudge => Some(0),
            ResponseLevel::Help => Some(1),
            ResponseLevel::Review => Some(2),
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

/// The scores one message's decision compares with the message-level thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct TierScores {
    /// Every tier's evidence combined (the `[cascade]` rule, then the lexicon): what
    /// `message.<category>.<level>` compares.
    pub combined: Scores,
    /// The deep tier's evidence combined with the lexicon's, when the deep tier scored the
    /// message (never on the inline `check_chat` path): what `message.<category>.deep.<level>`
    /// compares.
    pub deep: Option<Scores>,
}

impl TierScores {
    /// Scores from one tier only (no deep-tier evidence), such as the inline path's.
    pub fn combined_only(combined: Scores) -> TierScores {
        TierScores {
            combined,
            deep: None,
        }
    }
}

/// The message-level outcome for one set of scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageDecision {
    /// The highest response any category reached.
    pub level: ResponseLevel,
    /// One reason per category at its highest reached level, strongest first.
    pub reasons: Vec<Reason>,
}

pub(super) fn decide(policy: &Policy, scores: &TierScores, factor: f32) -> MessageDecision {
    let reasons = reasons_scaled(policy, scores, factor);
    MessageDecision {
        level: reasons
            .first()
            .map_or(ResponseLevel::None, |(level, _)| *level),
        reasons: reasons.into_iter().map(|(_, reason)| reason).collect(),
    }
}

/// One reason per category at its highest reached level (thresholds times `factor`, capped at
/// 1), strongest first. A category's deep-tier thresholds are compared with its deep-tier
/// score; when both rules reach the same level, the reason cites the combined-score rule.
pub(super) fn reasons_scaled(
    policy: &Policy,
    scores: &TierScores,
    factor: f32,
) -> Vec<(ResponseLevel, Reason)> {
    let mut reasons: Vec<(ResponseLevel, Reason)> = Vec::new();
    for category in Category::ALL {
        let combined = highest_reached(
            policy.thresholds(category),
            scores.combined.get(category),
            factor,
        )
        .map(|(level, threshold)| (level, "", scores.combined.get(category), threshold));
        let deep = scores.deep.and_then(|deep| {
            highest_reached(policy.deep_thresholds(category), deep.get(category), factor)
                .map(|(level, threshold)| (level, ".deep", deep.get(category), threshold))
        });
        let best = match (combined, deep) {
            (Some(c), Some(d)) => Some(if d.0 > c.0 { d } else { c }),
            (c, d) => c.or(d),
        };
        if let Some((level, tier, score, threshold)) = best {
            reasons.push((
                level,
                Reason {
                    rule: format!("message.{category}{tier}.{}", level.as_str()),
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

/// The highest level whose threshold (times `factor`, capped at 1) the score reaches, with
/// that threshold.
fn highest_reached(
    thresholds: &LevelThresholds,
    score: f32,
    factor: f32,
) -> Option<(ResponseLevel, f32)> {
    ResponseLevel::LADDER.into_iter().rev().find_map(|level| {
        thresholds
            .get(level)
            .map(|t| (t * factor).min(1.0))
            .filter(|t| score >= *t)
            .map(|t| (level, t))
    })
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

    fn scores(insult: f32, extremism: f32) -> TierScores {
        TierScores::combined_only(Scores([insult, 0.0, 0.0, extremism]))
    }

    fn tiered() -> Policy {
        Policy::from_toml_str(
            "version = \"t\"\n\
             [message.threat]\nnudge = 0.85\nreview = 0.97\n\
             deep = { nudge = 0.5, help = 0.6, review = 0.7 }\n\
             [age_band.minor]\nthreshold_factor = 0.7\n",
            "t",
        )
        .expect("valid")
    }

    fn threat(combined: f32, deep: Option<f32>) -> TierScores {
        TierScores {
            combined: Scores([0.0, 0.0, combined, 0.0]),
            deep: deep.map(|d| Scores([0.0, 0.0, d, 0.0])),
        }
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

    #[test]
    fn deep_tier_thresholds_apply_only_to_deep_tier_evidence() {
        let p = tiered();
        // A fast-tier score of 0.8 alone (the inline path, or game talk) stays below the
        // combined-score nudge.
        assert_eq!(
            p.message_decision(&threat(0.8, None)).level,
            ResponseLevel::None
        );
        // The same combined score with low deep-tier evidence: still nothing.
        assert_eq!(
            p.message_decision(&threat(0.8, Some(0.3))).level,
            ResponseLevel::None
        );
        // Deep-tier evidence reaches review on its own thresholds, and the reason says so.
        let d = p.message_decision(&threat(0.72, Some(0.72)));
        assert_eq!(d.level, ResponseLevel::Review);
        assert_eq!(d.reasons[0].rule, "message.threat.deep.review");
        assert_eq!(d.reasons[0].threshold, 0.7);
    }

    #[test]
    fn the_higher_of_the_two_tiers_rules_wins_and_ties_cite_the_combined_rule() {
        let p = tiered();
        let d = p.message_decision(&threat(0.98, Some(0.55)));
        assert_eq!(d.level, ResponseLevel::Review);
        assert_eq!(d.reasons[0].rule, "message.threat.review");
        let d = p.message_decision(&threat(0.9, Some(0.52)));
        assert_eq!(d.reasons[0].rule, "message.threat.nudge");
        assert_eq!(d.reasons.len(), 1, "one reason per category");
    }

    #[test]
    fn age_band_factor_scales_deep_tier_thresholds_too() {
        let p = tiered();
        let band = crate::signal::AgeBand::Minor;
        // Minor factor 0.7: the deep review threshold 0.7 becomes 0.49.
        let d = p.message_decision_for(&threat(0.5, Some(0.5)), band);
        assert_eq!(d.level, ResponseLevel::Review);
    }
}
