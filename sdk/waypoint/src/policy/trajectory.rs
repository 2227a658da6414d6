//! `[trajectory]`: when the skewness of a player's recent per-message scores counts as a drift
//! (see [`crate::trajectory`]). Parsed strictly, with file:line:column errors.

use serde::Deserialize;
use toml::Spanned;

use super::PolicyError;
use super::error::Ctx;
use crate::Category;

/// The most per-message scores a window keeps per category (the policy's `window` is at most
/// this).
pub const MAX_WINDOW: usize = 24;

/// The validated `[trajectory]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryPolicy {
    /// Whether the drift statistic is used at all.
    pub enabled: bool,
    /// Recent chat messages per player the statistic looks at, 3 to [`MAX_WINDOW`].
    pub window: usize,
    /// Messages needed in the window before a skewness is computed, 3 to `window`.
    pub min_messages: usize,
    /// Sample skewness at or above which the window counts as skewed.
    pub skew_threshold: f32,
    /// A message scoring at or above this in a category is "high"; the current message must be
    /// high for its risk to be boosted. In (0, 1].
    pub min_peak: f32,
    /// High messages needed in the window (one outlier is not a drift), 1 to `window`.
    pub min_high: usize,
    /// A drifting message adds `1 + risk_boost` times its risk in that category. In [0, 10].
    pub risk_boost: f32,
    /// The categories watched.
    pub categories: Vec<Category>,
}

impl Default for TrajectoryPolicy {
    /// The values used when a policy has no `[trajectory]` section.
    fn default() -> Self {
        TrajectoryPolicy {
            enabled: true,
            window: 20,
            min_messages: 5,
            skew_threshold: 1.0,
            min_peak: 0.5,
            min_high: 2,
            risk_boost: 1.0,
            categories: vec![Category::Threat, Category::Extremism],
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrajectory {
    enabled: Option<bool>,
    window: Option<Spanned<i64>>,
    min_messages: Option<Spanned<i64>>,
    skew_threshold: Option<Spanned<f64>>,
    min_peak: Option<Spanned<f64>>,
    min_high: Option<Spanned<i64>>,
    risk_boost: Option<Spanned<f64>>,
    categories: Option<Spanned<Vec<Spanned<String>>>>,
}

/// An optional count, `default` when absent, checked to lie in `range`.
fn count(
    ctx: &Ctx<'_>,
    value: &Option<Spanned<i64>>,
    name: &str,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, PolicyError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let v = *value.get_ref();
    match usize::try_from(v) {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ctx.invalid(
            value.span(),
            format!(
                "trajectory.{name} = {v} is out of range: it must be from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// An optional number of the section, `default` when absent, checked with `ok`.
fn number(
    ctx: &Ctx<'_>,
    value: &Option<Spanned<f64>>,
    name: &str,
    default: f32,
    ok: impl Fn(f64) -> bool,
    allowed: &str,
) -> Result<f32, PolicyError> {
    let name = format!("trajectory.{name}");
    Ok(ctx.number(value, &name, f64::from(default), ok, allowed)? as f32)
}

pub(super) fn parse_trajectory(
    raw: &RawTrajectory,
    source: &str,
    origin: &str,
) -> Result<TrajectoryPolicy, PolicyError> {
    let ctx = Ctx { source, origin };
    let d = TrajectoryPolicy::default();
    let window = count(&ctx, &raw.window, "window", d.window, 3..=MAX_WINDOW)?;
    let min_messages = count(
        &ctx,
        &raw.min_messages,
        "min_messages",
        d.min_messages.min(window),
        3..=window,
    )?;
    let min_high = count(&ctx, &raw.min_high, "min_high", d.min_high, 1..=window)?;
    let skew_threshold = number(
        &ctx,
        &raw.skew_threshold,
        "skew_threshold",
        d.skew_threshold,
        |v| (-10.0..=10.0).contains(&v),
        "it must be in [-10, 10]",
    )?;
    let min_peak = number(
        &ctx,
        &raw.min_peak,
        "min_peak",
        d.min_peak,
        |v| v > 0.0 && v <= 1.0,
        "it must be in (0, 1]",
    )?;
    let risk_boost = number(
        &ctx,
        &raw.risk_boost,
        "risk_boost",
        d.risk_boost,
        |v| (0.0..=10.0).contains(&v),
        "it must be in [0, 10]",
    )?;
    let categories = match &raw.categories {
        None => d.categories,
        Some(list) => {
            let mut categories = Vec::new();
            for name in list.get_ref() {
                let category = Category::parse(name.get_ref()).ok_or_else(|| {
                    ctx.invalid(
                        name.span(),
                        format!(
                            "trajectory.categories: \"{}\" is not a category: use insult, hate, \
                             threat or extremism",
                            name.get_ref()
                        ),
                    )
                })?;
                if !categories.contains(&category) {
                    categories.push(category);
                }
            }
            categories
        }
    };
    Ok(TrajectoryPolicy {
        enabled: raw.enabled.unwrap_or(d.enabled),
        window,
        min_messages,
        skew_threshold,
        min_peak,
        min_high,
        risk_boost,
        categories,
    })
}

#[cfg(test)]
mod tests {
    use crate::Category;
    use crate::policy::parse_section as parse;

    #[test]
    fn absent_section_takes_the_defaults() {
        let p = parse("").expect("valid");
        assert_eq!(p.trajectory, super::TrajectoryPolicy::default());
    }

    #[test]
    fn the_default_policy_documents_the_section() {
        assert!(crate::policy::DEFAULT_POLICY_TOML.contains("[trajectory]"));
    }

    #[test]
    fn values_parse() {
        let p = parse(
            "[trajectory]\nenabled = false\nwindow = 12\nmin_messages = 4\nskew_threshold = 0.5\n\
             min_peak = 0.6\nmin_high = 3\nrisk_boost = 2.0\ncategories = [\"hate\", \"hate\"]\n",
        )
        .expect("valid");
        let t = &p.trajectory;
        assert!(!t.enabled);
        assert_eq!((t.window, t.min_messages, t.min_high), (12, 4, 3));
        assert_eq!(
            (t.skew_threshold, t.min_peak, t.risk_boost),
            (0.5, 0.6, 2.0)
        );
        assert_eq!(t.categories, vec![Category::Hate]);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let at = |section: &str| {
            let e = parse(section).expect_err("must be rejected");
            let l = e.location().map(|l| (l.line, l.column));
            (l, e.to_string())
        };
        let (l, e) = at("[trajectory]\nwindow = 99\n");
        assert_eq!(l, Some((3, 10)), "{e}");
        assert!(e.contains("from 3 to 24"), "{e}");
        let (l, e) = at("[trajectory]\nwindow = 6\nmin_messages = 7\n");
        assert_eq!(l, Some((4, 16)), "{e}");
        let (l, e) = at("[trajectory]\nmin_peak = 0\n");
        assert_eq!(l, Some((3, 12)), "{e}");
        let (l, e) = at("[trajectory]\ncategories = [\"threat\", \"spam\"]\n");
        assert_eq!(l, Some((3, 25)), "{e}");
        assert!(e.contains("\"spam\" is not a category"), "{e}");
        let (l, e) = at("[trajectory]\nwindw = 6\n");
        assert_eq!(l.map(|l| l.0), Some(3), "{e}");
    }
}
