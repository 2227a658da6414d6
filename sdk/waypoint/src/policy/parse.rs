//! Strict TOML parsing and validation of policy files, with line/column errors.

use serde::Deserialize;
use toml::Spanned;

use super::cascade_policy::{RawCascade, parse_cascade};
use super::error::{Ctx, Num, PolicyError};
use super::exemplars::{RawExemplars, parse_exemplars};
use super::parse_sections::{
    self as sections, RawAccumulated, RawAgeBands, RawBehaviour, RawCooldown, RawHelpDirectory,
    RawLadder, RawOutcomes, RawReports, RawRisk,
};
use super::trajectory::{RawTrajectory, parse_trajectory};
use super::{LevelThresholds, LexiconPolicy, Policy};
use crate::Category;
use crate::config::referral::ReferralConfig;
use crate::config::store::StoreConfig;
use crate::config::telemetry::TelemetryConfig;
use crate::location::SourceLocation;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: String,
    #[serde(default)]
    message: RawMessage,
    #[serde(default)]
    lexicon: RawLexicon,
    #[serde(default)]
    cascade: RawCascade,
    #[serde(default)]
    exemplars: RawExemplars,
    #[serde(default)]
    trajectory: RawTrajectory,
    #[serde(default)]
    accumulated: RawAccumulated,
    #[serde(default)]
    risk: RawRisk,
    #[serde(default)]
    cooldown: RawCooldown,
    #[serde(default)]
    reports: RawReports,
    #[serde(default)]
    behaviour: RawBehaviour,
    #[serde(default)]
    ladder: RawLadder,
    #[serde(default)]
    age_band: RawAgeBands,
    #[serde(default)]
    outcomes: RawOutcomes,
    #[serde(default)]
    help_directory: RawHelpDirectory,
    #[serde(default)]
    referral: Option<Spanned<ReferralConfig>>,
    #[serde(default)]
    telemetry: Option<Spanned<TelemetryConfig>>,
    #[serde(default)]
    store: Option<Spanned<StoreConfig>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMessage {
    #[serde(default)]
    insult: RawThresholds,
    #[serde(default)]
    hate: RawThresholds,
    #[serde(default)]
    threat: RawThresholds,
    #[serde(default)]
    extremism: RawThresholds,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    nudge: Option<Spanned<f64>>,
    help: Option<Spanned<f64>>,
    review: Option<Spanned<f64>>,
    /// Thresholds on the deep tier's evidence alone.
    #[serde(default)]
    deep: RawLevels,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLevels {
    nudge: Option<Spanned<f64>>,
    help: Option<Spanned<f64>>,
    review: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    weight_scale: Num,
}

pub(super) fn parse(source: &str, origin: &str) -> Result<Policy, PolicyError> {
    let raw: RawPolicy = toml::from_str(source).map_err(|e| PolicyError::Syntax {
        location: SourceLocation::of_span(origin, source, e.span()),
        message: e.message().trim_end().to_owned(),
    })?;
    let ctx = Ctx { source, origin };
    let (message, message_deep) = message_thresholds(&raw.message, &ctx)?;

    let weight_scale = ctx.in_range(
        &raw.lexicon.weight_scale,
        "lexicon.weight_scale",
        LexiconPolicy::default().weight_scale,
        (0.0, 1.0),
    )?;

    let cascade = parse_cascade(&raw.cascade, source, origin)?;
    let exemplars = parse_exemplars(&raw.exemplars, source, origin)?;
    let trajectory = parse_trajectory(&raw.trajectory, source, origin)?;

    Ok(Policy {
        version: raw.version,
        origin: origin.to_owned(),
        message,
        message_deep,
        lexicon: LexiconPolicy { weight_scale },
        cascade,
        exemplars,
        trajectory,
        // Field by field in file order, so the first invalid section is the one reported.
        accumulated: sections::accumulated(&ctx, &raw.accumulated)?,
        risk: sections::risk(&ctx, &raw.risk)?,
        cooldowns: sections::cooldowns(&ctx, &raw.cooldown)?,
        reports: sections::reports(&ctx, &raw.reports)?,
        behaviour: sections::behaviour(&ctx, &raw.behaviour)?,
        ladder: sections::ladder(&ctx, &raw.ladder)?,
        age_bands: sections::age_bands(&ctx, &raw.age_band)?,
        outcomes: sections::outcomes(&ctx, &raw.outcomes)?,
        help: sections::help_directory(&ctx, &raw.help_directory)?,
        referral: sections::validated(&ctx, raw.referral.as_ref(), ReferralConfig::validate)?
            .unwrap_or_default(),
        telemetry: sections::validated(&ctx, raw.telemetry.as_ref(), TelemetryConfig::validate)?,
        store: sections::validated(&ctx, raw.store.as_ref(), StoreConfig::validate)?,
    })
}

/// The message-level thresholds per category: the combined score's and the deep tier's.
fn message_thresholds(
    raw: &RawMessage,
    ctx: &Ctx<'_>,
) -> Result<([LevelThresholds; 4], [LevelThresholds; 4]), PolicyError> {
    let mut message = [LevelThresholds::default(); 4];
    let mut message_deep = [LevelThresholds::default(); 4];
    let raw_message = [&raw.insult, &raw.hate, &raw.threat, &raw.extremism];
    for (category, raw_thresholds) in Category::ALL.into_iter().zip(raw_message) {
        let levels = [
            &raw_thresholds.nudge,
            &raw_thresholds.help,
            &raw_thresholds.review,
        ];
        message[category.index()] = level_thresholds(&format!("message.{category}"), levels)
            .map_err(|(span, message)| ctx.invalid(span, message))?;
        let deep = &raw_thresholds.deep;
        message_deep[category.index()] = level_thresholds(
            &format!("message.{category}.deep"),
            [&deep.nudge, &deep.help, &deep.review],
        )
        .map_err(|(span, message)| ctx.invalid(span, message))?;
    }
    Ok((message, message_deep))
}

/// Validates one set of nudge / help / review thresholds named `prefix.<level>`: each in
/// (0, 1], none below a weaker level's. The error is the offending value's span and the message.
fn level_thresholds(
    prefix: &str,
    [nudge, help, review]: [&Option<Spanned<f64>>; 3],
) -> Result<LevelThresholds, (std::ops::Range<usize>, String)> {
    let mut previous: Option<(&str, f64)> = None;
    for (level, value) in [("nudge", nudge), ("help", help), ("review", review)] {
        let Some(value) = value else { continue };
        let v = *value.get_ref();
        if !(v > 0.0 && v <= 1.0) {
            return Err((
                value.span(),
                format!("{prefix}.{level} = {v} is out of range: a threshold must be in (0, 1]"),
            ));
        }
        if let Some((lower_level, lower)) = previous
            && v < lower
        {
            return Err((
                value.span(),
                format!(
                    "{prefix}.{level} = {v} is below {prefix}.{lower_level} = {lower}: \
                     a stronger response needs a threshold at least as high"
                ),
            ));
        }
        previous = Some((level, v));
    }
    let as_f32 = |value: &Option<Spanned<f64>>| value.as_ref().map(|s| *s.get_ref() as f32);
    Ok(LevelThresholds {
        nudge: as_f32(nudge),
        help: as_f32(help),
        review: as_f32(review),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> PolicyError {
        parse(src, "p.toml").expect_err("must be rejected")
    }

    #[test]
    fn unknown_field_is_rejected_with_its_position() {
        let e = err("version = \"1\"\n[message.hate]\nnudge = 0.5\nnuge = 0.6\n");
        assert_eq!(
            e.location().map(|l| (l.line, l.column)),
            Some((4, 1)),
            "{e}"
        );
        assert!(e.to_string().starts_with("p.toml:4:1: "), "{e}");
        assert!(e.to_string().contains("nuge"), "{e}");
    }

    #[test]
    fn out_of_range_threshold_is_rejected_at_the_value() {
        let e = err("version = \"1\"\n[message.threat]\nreview = 1.5\n");
        assert!(matches!(e, PolicyError::Invalid { .. }));
        assert_eq!(
            e.location().map(|l| (l.line, l.column)),
            Some((3, 10)),
            "{e}"
        );
        assert!(e.to_string().contains("(0, 1]"), "{e}");
    }

    #[test]
    fn lexicon_weight_scale_is_checked_and_optional() {
        let e = err("version = \"1\"\n[lexicon]\nweight_scale = 1.5\n");
        assert_eq!(
            e.to_string(),
            "p.toml:3:16: lexicon.weight_scale = 1.5 is out of range: it must be in [0, 1]"
        );
        let scale = |src: &str| parse(src, "p.toml").map(|p| p.lexicon.weight_scale);
        assert_eq!(
            scale("version = \"1\"\n[lexicon]\nweight_scale = 0.5\n").ok(),
            Some(0.5)
        );
        assert_eq!(scale("version = \"1\"\n[lexicon]\n").ok(), Some(1.0));
        assert_eq!(scale("version = \"1\"\n").ok(), Some(1.0));
    }

    #[test]
    fn zero_and_negative_thresholds_are_rejected() {
        assert!(matches!(
            err("version = \"1\"\nmessage.insult.nudge = 0.0\n"),
            PolicyError::Invalid { .. }
        ));
        assert!(matches!(
            err("version = \"1\"\nmessage.insult.nudge = -0.2\n"),
            PolicyError::Invalid { .. }
        ));
        assert!(matches!(
            err("version = \"1\"\nmessage.insult.nudge = nan\n"),
            PolicyError::Invalid { .. }
        ));
    }

    #[test]
    fn stronger_response_below_weaker_is_rejected() {
        let e = err("version = \"1\"\n[message.hate]\nnudge = 0.8\nhelp = 0.6\n");
        assert_eq!(e.location().map(|l| l.line), Some(4), "{e}");
        assert!(e.to_string().contains("below message.hate.nudge"), "{e}");
    }

    #[test]
    fn wrong_type_and_bad_syntax_name_line_and_column() {
        let e = err("version = \"1\"\n[message.hate]\nnudge = \"high\"\n");
        assert_eq!(e.location().map(|l| l.line), Some(3), "{e}");
        let e = err("version = \"1\"\n[message.hate\n");
        assert!(matches!(e, PolicyError::Syntax { .. }));
        assert_eq!(e.location().map(|l| l.line), Some(2), "{e}");
    }

    #[test]
    fn missing_version_is_an_error() {
        assert!(matches!(
            err("[message.hate]\nnudge = 0.5\n"),
            PolicyError::Syntax { .. }
        ));
    }

    #[test]
    fn unset_levels_stay_unset() {
        let p = parse("version = \"1\"\nmessage.hate.review = 0.9\n", "p").expect("valid");
        assert_eq!(p.thresholds(Category::Hate).review, Some(0.9));
        assert_eq!(p.thresholds(Category::Hate).nudge, None);
        assert_eq!(p.thresholds(Category::Insult), &LevelThresholds::default());
    }

    #[test]
    fn deep_tier_thresholds_parse_apart_from_the_combined_ones() {
        let p = parse(
            "version = \"1\"\n[message.threat]\nnudge = 0.85\n[message.threat.deep]\nnudge = 0.5\nreview = 0.7\n",
            "p",
        )
        .expect("valid");
        assert_eq!(p.thresholds(Category::Threat).nudge, Some(0.85));
        assert_eq!(p.thresholds(Category::Threat).review, None);
        assert_eq!(p.deep_thresholds(Category::Threat).nudge, Some(0.5));
        assert_eq!(p.deep_thresholds(Category::Threat).review, Some(0.7));
        assert_eq!(
            p.deep_thresholds(Category::Hate),
            &LevelThresholds::default()
        );
    }

    #[test]
    fn bad_deep_tier_thresholds_are_rejected_at_the_value() {
        let e = err("version = \"1\"\n[message.threat.deep]\nnudge = 0.5\nhelp = 1.2\n");
        assert_eq!(
            e.location().map(|l| (l.line, l.column)),
            Some((4, 8)),
            "{e}"
        );
        assert!(e.to_string().contains("message.threat.deep.help"), "{e}");
        let e = err("version = \"1\"\n[message.threat.deep]\nnudge = 0.5\nreview = 0.4\n");
        assert!(
            e.to_string()
                .contains("below message.threat.deep.nudge = 0.5"),
            "{e}"
        );
        let e = err("version = \"1\"\n[message.threat.deep]\nnuge = 0.5\n");
        assert_eq!(e.location().map(|l| l.line), Some(3), "{e}");
    }

    #[test]
    fn read_error_names_the_file() {
        let e =
            Policy::from_file(std::path::Path::new("/no/such/policy.toml")).expect_err("missing");
        assert!(e.to_string().contains("/no/such/policy.toml"), "{e}");
    }
}
