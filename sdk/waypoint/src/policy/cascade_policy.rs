//! `[cascade]`: which messages the deep tier scores, and how its evidence combines with the
//! fast tier's. Parsed strictly, with file:line:column errors.

use serde::Deserialize;
use toml::Spanned;

use super::PolicyError;
use super::error::Ctx;

/// Which messages get the deep tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CascadeMode {
    /// The deep tier never runs; scores come from the fast tier and the lexicon.
    Off,
    /// Every message in a batch gets the deep tier.
    All,
    /// Only messages that need it: see [`CascadePolicy`]'s `fast_floor`, `non_english` and
    /// `elevated_risk`.
    Selective,
    /// Every message while the deep tier keeps up; the [`CascadeMode::Selective`] rules while
    /// [`CascadePolicy::busy_backlog`] or more signals wait for the engine's worker. Batches
    /// scored outside the engine (`waypoint score`, `waypoint eval`) are never behind.
    Auto,
}

/// How the fast tier's and the deep tier's probabilities become one model score per category
/// (the lexicon is then combined with that score by noisy-OR, as without the deep tier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CombineRule {
    /// `max(fast, deep)`.
    Max,
    /// `deep_weight * deep + (1 - deep_weight) * fast`.
    Blend,
}

/// The validated `[cascade]` section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CascadePolicy {
    /// Which messages get the deep tier.
    pub mode: CascadeMode,
    /// Selective: a message with any fast-tier score at or above this gets the deep tier.
    pub fast_floor: f32,
    /// Selective: messages not detected as English get the deep tier (the fast tier is
    /// English-only).
    pub non_english: bool,
    /// Selective: messages from players whose accumulated risk in any category is at or above
    /// this get the deep tier; `None` turns the rule off.
    pub elevated_risk: Option<f32>,
    /// How the two tiers' probabilities combine.
    pub combine: CombineRule,
    /// The fast tier is English-only: a message that does not look English and that the deep
    /// tier scored is judged by the deep tier alone.
    pub fast_tier_english_only: bool,
    /// The fast tier cannot read stance: a message that names an attacker or a violent group
    /// only to condemn it (a condemned lexicon mention, and every other hit condemned too) and
    /// that the deep tier scored is judged by the deep tier alone.
    pub fast_tier_skips_condemnation: bool,
    /// Hate attacks people for a protected characteristic: the model's hate probability of a
    /// message that condemns what it names (as for `fast_tier_skips_condemnation`) and names no
    /// protected group (no `any.mention.protected_group` hit) is multiplied by this, in
    /// `[0, 1]`; 1 keeps it. Applies in batches and in the inline pre-send check alike.
    pub untargeted_condemnation_hate_factor: f32,
    /// Hate speech has a target: the deep tier's hate probability of a message that names no
    /// group of people hate speech could target (no hate-category lexicon hit: no protected
    /// group or reference to a group of people, no slur, no hate code) is multiplied by this,
    /// in `[0, 1]`; 1 keeps it. The fast tier's reading is left as it is, and so is the deep
    /// tier's for a message not known to be English or Dutch (by the chat locale, or by frequent
    /// words of those languages): the lexicon's group names are English and Dutch.
    pub untargeted_deep_hate_factor: f32,
    /// Counter-speech is no hate or extremism: the hate and extremism scores (models and lexicon
    /// combined, per tier too) of a message with a counter-speech lexicon hit (`is a conspiracy
    /// myth`, `i reported him`, `deel dat manifest niet`) are multiplied by this, in `[0, 1]`; 1
    /// keeps them. A category with a lexicon hit that is neither softened nor condemned keeps
    /// its score, and threat and insult scores are never scaled.
    pub counter_speech_factor: f32,
    /// Stance: the hate and extremism scores of a message the stance model reads as not
    /// endorsing what it speaks of (probability of endorsement below this, in `[0, 1]`) are
    /// multiplied by `stance_factor`, as for a counter-speech phrase, but even when a lexicon
    /// hit stands plain: the model weighs every word of the message. Threat scores are never
    /// scaled. 0 turns the stance model off. The model is read only for a hate or extremism
    /// score of 0.1 or more.
    pub stance_threshold: f32,
    /// The factor on the hate and extremism scores of a message below `stance_threshold`, in
    /// `[0, 1]`; 1 keeps them.
    pub stance_factor: f32,
    /// The deep tier's weight for [`CombineRule::Blend`], in `[0, 1]`.
    pub deep_weight: f32,
    /// Auto: the worker counts as behind, and falls back to the selective rules, while at least
    /// this many signals wait in its queue. At least 1.
    pub busy_backlog: u32,
}

impl Default for CascadePolicy {
    /// The values used when a policy has no `[cascade]` section.
    fn default() -> Self {
        CascadePolicy {
            mode: CascadeMode::Auto,
            fast_floor: 0.1,
            non_english: true,
            elevated_risk: Some(0.5),
            combine: CombineRule::Max,
            fast_tier_english_only: true,
            fast_tier_skips_condemnation: true,
            untargeted_condemnation_hate_factor: 0.0,
            untargeted_deep_hate_factor: UNTARGETED_DEEP_HATE_FACTOR,
            counter_speech_factor: COUNTER_SPEECH_FACTOR,
            stance_threshold: STANCE_THRESHOLD,
            stance_factor: STANCE_FACTOR,
            deep_weight: 0.5,
            busy_backlog: 64,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCascade {
    mode: Option<Spanned<String>>,
    fast_floor: Option<Spanned<f64>>,
    non_english: Option<bool>,
    elevated_risk: Option<Spanned<f64>>,
    combine: Option<Spanned<String>>,
    fast_tier_english_only: Option<bool>,
    fast_tier_skips_condemnation: Option<bool>,
    untargeted_condemnation_hate_factor: Option<Spanned<f64>>,
    untargeted_deep_hate_factor: Option<Spanned<f64>>,
    counter_speech_factor: Option<Spanned<f64>>,
    stance_threshold: Option<Spanned<f64>>,
    stance_factor: Option<Spanned<f64>>,
    deep_weight: Option<Spanned<f64>>,
    busy_backlog: Option<Spanned<i64>>,
}

/// `untargeted_deep_hate_factor` when a policy does not set it.
const UNTARGETED_DEEP_HATE_FACTOR: f32 = 0.3;

/// `counter_speech_factor` when a policy does not set it.
const COUNTER_SPEECH_FACTOR: f32 = 0.3;

/// `stance_threshold` when a policy does not set it.
const STANCE_THRESHOLD: f32 = 0.15;

/// `stance_factor` when a policy does not set it.
const STANCE_FACTOR: f32 = 0.3;

/// The largest accepted `busy_backlog`.
const MAX_BUSY_BACKLOG: u32 = 1_000_000;

pub(super) fn parse_cascade(
    raw: &RawCascade,
    source: &str,
    origin: &str,
) -> Result<CascadePolicy, PolicyError> {
    let ctx = Ctx { source, origin };
    let d = CascadePolicy::default();
    let (mode, combine) = mode_and_rule(&ctx, raw, &d)?;
    // Floors, weights and factors: all in [0, 1].
    let unit = |value, name, default| ctx.in_range(value, name, default, (0.0, 1.0));
    let fast_floor = unit(&raw.fast_floor, "cascade.fast_floor", d.fast_floor)?;
    let deep_weight = unit(&raw.deep_weight, "cascade.deep_weight", d.deep_weight)?;
    let untargeted_condemnation_hate_factor = unit(
        &raw.untargeted_condemnation_hate_factor,
        "cascade.untargeted_condemnation_hate_factor",
        d.untargeted_condemnation_hate_factor,
    )?;
    let untargeted_deep_hate_factor = unit(
        &raw.untargeted_deep_hate_factor,
        "cascade.untargeted_deep_hate_factor",
        d.untargeted_deep_hate_factor,
    )?;
    let counter_speech_factor = unit(
        &raw.counter_speech_factor,
        "cascade.counter_speech_factor",
        d.counter_speech_factor,
    )?;
    let stance_threshold = unit(
        &raw.stance_threshold,
        "cascade.stance_threshold",
        d.stance_threshold,
    )?;
    let stance_factor = unit(&raw.stance_factor, "cascade.stance_factor", d.stance_factor)?;
    let elevated_risk = match &raw.elevated_risk {
        None => d.elevated_risk,
        Some(v) => elevated_risk(&ctx, v)?,
    };
    if combine == CombineRule::Max
        && let Some(v) = &raw.deep_weight
    {
        return Err(ctx.invalid(
            v.span(),
            "cascade.deep_weight is only used with combine = \"blend\"".to_owned(),
        ));
    }
    let busy_backlog = match &raw.busy_backlog {
        None => d.busy_backlog,
        Some(v) => busy_backlog(&ctx, v, mode)?,
    };
    Ok(CascadePolicy {
        mode,
        fast_floor,
        non_english: raw.non_english.unwrap_or(d.non_english),
        elevated_risk,
        combine,
        fast_tier_english_only: raw
            .fast_tier_english_only
            .unwrap_or(d.fast_tier_english_only),
        fast_tier_skips_condemnation: raw
            .fast_tier_skips_condemnation
            .unwrap_or(d.fast_tier_skips_condemnation),
        untargeted_condemnation_hate_factor,
        untargeted_deep_hate_factor,
        counter_speech_factor,
        stance_threshold,
        stance_factor,
        deep_weight,
        busy_backlog,
    })
}

/// `mode` and `combine`, each one of a few names.
fn mode_and_rule(
    ctx: &Ctx<'_>,
    raw: &RawCascade,
    d: &CascadePolicy,
) -> Result<(CascadeMode, CombineRule), PolicyError> {
    let mode = ctx
        .choice(
            raw.mode.as_ref(),
            "cascade.mode",
            "a mode",
            &[
                ("auto", CascadeMode::Auto),
                ("all", CascadeMode::All),
                ("selective", CascadeMode::Selective),
                ("off", CascadeMode::Off),
            ],
        )?
        .unwrap_or(d.mode);
    let combine = ctx
        .choice(
            raw.combine.as_ref(),
            "cascade.combine",
            "a rule",
            &[("max", CombineRule::Max), ("blend", CombineRule::Blend)],
        )?
        .unwrap_or(d.combine);
    Ok((mode, combine))
}

/// `elevated_risk`: 0 turns the rule off.
fn elevated_risk(ctx: &Ctx<'_>, v: &Spanned<f64>) -> Result<Option<f32>, PolicyError> {
    let x = *v.get_ref();
    if !(0.0..=1000.0).contains(&x) {
        return Err(ctx.invalid(
            v.span(),
            format!(
                "cascade.elevated_risk = {x} is out of range: it must be in [0, 1000] \
                 (0 turns the rule off)"
            ),
        ));
    }
    Ok((x > 0.0).then_some(x as f32))
}

/// `busy_backlog`, which only `mode = "auto"` uses.
fn busy_backlog(ctx: &Ctx<'_>, v: &Spanned<i64>, mode: CascadeMode) -> Result<u32, PolicyError> {
    if mode != CascadeMode::Auto {
        return Err(ctx.invalid(
            v.span(),
            "cascade.busy_backlog is only used with mode = \"auto\"".to_owned(),
        ));
    }
    match u32::try_from(*v.get_ref()) {
        Ok(n) if (1..=MAX_BUSY_BACKLOG).contains(&n) => Ok(n),
        _ => Err(ctx.invalid(
            v.span(),
            format!(
                "cascade.busy_backlog = {} is out of range: it must be in [1, {MAX_BUSY_BACKLOG}]",
                v.get_ref()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::{DEFAULT_POLICY_TOML, parse_section as parse};

    use super::*;

    #[test]
    fn absent_section_takes_the_defaults() {
        let policy = parse("").expect("valid");
        assert_eq!(policy.cascade, CascadePolicy::default());
    }

    #[test]
    fn the_default_policy_documents_the_section() {
        assert!(DEFAULT_POLICY_TOML.contains("[cascade]"));
    }

    #[test]
    fn values_parse() {
        let policy = parse(
            "[cascade]\nmode = \"all\"\nfast_floor = 0.2\nnon_english = false\nelevated_risk = 0\n\
             combine = \"blend\"\nfast_tier_english_only = false\n\
             fast_tier_skips_condemnation = false\nuntargeted_condemnation_hate_factor = 0.5\n\
             untargeted_deep_hate_factor = 0.8\ncounter_speech_factor = 0.6\nstance_threshold = 0.2\n\
             stance_factor = 0.4\n\
             deep_weight = 0.7\n",
        )
        .expect("valid");
        assert_eq!(
            policy.cascade,
            CascadePolicy {
                mode: CascadeMode::All,
                fast_floor: 0.2,
                non_english: false,
                elevated_risk: None,
                combine: CombineRule::Blend,
                fast_tier_english_only: false,
                fast_tier_skips_condemnation: false,
                untargeted_condemnation_hate_factor: 0.5,
                untargeted_deep_hate_factor: 0.8,
                counter_speech_factor: 0.6,
                stance_threshold: 0.2,
                stance_factor: 0.4,
                deep_weight: 0.7,
                busy_backlog: 64,
            }
        );
        let policy = parse("[cascade]\nmode = \"auto\"\nbusy_backlog = 8\n").expect("valid");
        assert_eq!(
            (policy.cascade.mode, policy.cascade.busy_backlog),
            (CascadeMode::Auto, 8)
        );
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse("[cascade]\nmode = \"sometimes\"\n").expect_err("bad mode");
        assert_eq!(err.to_string().split(": ").next(), Some("p.toml:3:8"));
        assert!(err.to_string().contains("\"selective\""), "{err}");
        let err = parse("[cascade]\nfast_floor = 1.5\n").expect_err("out of range");
        assert!(err.to_string().starts_with("p.toml:3:14"), "{err}");
        let err = parse("[cascade]\ncombine = \"max\"\ndeep_weight = 0.5\n").expect_err("unused");
        assert!(err.to_string().starts_with("p.toml:4:15"), "{err}");
        let err = parse("[cascade]\nmode = \"all\"\nbusy_backlog = 8\n").expect_err("unused");
        assert!(err.to_string().starts_with("p.toml:4:16"), "{err}");
        let err = parse("[cascade]\nbusy_backlog = 0\n").expect_err("out of range");
        assert!(err.to_string().starts_with("p.toml:3:16"), "{err}");
        let err = parse("[cascade]\nuntargeted_condemnation_hate_factor = -0.1\n")
            .expect_err("out of range");
        assert!(err.to_string().starts_with("p.toml:3:39"), "{err}");
        let err =
            parse("[cascade]\nuntargeted_deep_hate_factor = 1.5\n").expect_err("out of range");
        assert!(err.to_string().starts_with("p.toml:3:31"), "{err}");
        let err = parse("[cascade]\ncounter_speech_factor = 2\n").expect_err("out of range");
        assert!(err.to_string().starts_with("p.toml:3:25"), "{err}");
        let err = parse("[cascade]\nfloor = 0.5\n").expect_err("unknown key");
        assert!(err.to_string().starts_with("p.toml:3:"), "{err}");
    }
}
