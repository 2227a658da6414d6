//! `[trajectory]`: the per-player skewness of recent message scores (see [`crate::trajectory`])
//! and the risk boost it gives. Parsed strictly, with file:line:column errors.

use serde::Deserialize;
use toml::Spanned;

use super::PolicyError;
use crate::Category;
use crate::location::SourceLocation;
use crate::trajectory::MAX_WINDOW;

/// The validated `[trajectory]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryPolicy {
    /// Recent message scores kept per player and category.
    pub window: usize,
    /// Fewest scores in the window before the skewness counts (at least 3).
    pub min_messages: usize,
    /// Skewness at or above which the risk a message adds in that category is boosted.
    pub skew_threshold: f32,
    /// The boost: the added risk is multiplied by `1 + risk_boost`.
    pub risk_boost: f32,
    /// The categories the statistic applies to (none: off).
    pub categories: Vec<Category>,
}

impl Default for TrajectoryPolicy {
    /// The values used when a policy has no `[trajectory]` section: the statistic is off.
    fn default() -> Self {
        TrajectoryPolicy {
            window: 20,
            min_messages: 6,
            skew_threshold: 1.5,
            risk_boost: 1.0,
            categories: Vec::new(),
        }
    }
}

impl TrajectoryPolicy {
    /// Whether the statistic applies to `category`.
    pub fn applies_to(&self, category: Category) -> bool {
        self.categories.contains(&category)
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrajectory {
    window: Option<Spanned<i64>>,
    min_messages: Option<Spanned<i64>>,
    skew_threshold: Option<Spanned<f64>>,
    risk_boost: Option<Spanned<f64>>,
    categories: Option<Vec<Spanned<String>>>,
}

pub(super) fn parse_trajectory(
    raw: &RawTrajectory,
    source: &str,
    origin: &str,
) -> Result<TrajectoryPolicy, PolicyError> {
    let invalid = |span: std::ops::Range<usize>, message: String| PolicyError::Invalid {
        location: SourceLocation::at(origin, source, span.start),
        message,
    };
    let d = TrajectoryPolicy::default();
    let int = |v: &Option<Spanned<i64>>, name: &str, lo: i64, hi: i64, default: usize| match v {
        None => Ok(default),
        Some(s) if (lo..=hi).contains(s.get_ref()) => Ok(*s.get_ref() as usize),
        Some(s) => Err(invalid(
            s.span(),
            format!(
                "trajectory.{name} = {} is out of range: it must be in [{lo}, {hi}]",
                s.get_ref()
            ),
        )),
    };
    let float = |v: &Option<Spanned<f64>>, name: &str, lo: f64, hi: f64, default: f32| match v {
        None => Ok(default),
        Some(s) if (lo..=hi).contains(s.get_ref()) => Ok(*s.get_ref() as f32),
        Some(s) => Err(invalid(
            s.span(),
            format!(
                "trajectory.{name} = {} is out of range: it must be in [{lo}, {hi}]",
                s.get_ref()
            ),
        )),
    };
    let window = int(&raw.window, "window", 3, MAX_WINDOW as i64, d.window)?;
    let min_messages = int(
        &raw.min_messages,
        "min_messages",
        3,
        window as i64,
        d.min_messages.min(window),
    )?;
    let mut categories = Vec::new();
    for name in raw.categories.iter().flatten() {
        match Category::ALL
            .into_iter()
            .find(|c| c.as_str() == name.get_ref())
        {
            Some(c) if !categories.contains(&c) => categories.push(c),
            Some(_) => {}
            None => {
                return Err(invalid(
                    name.span(),
                    format!(
                        "trajectory.categories: \"{}\" is not a category: use insult, hate, threat or extremism",
                        name.get_ref()
                    ),
                ));
            }
        }
    }
    Ok(TrajectoryPolicy {
        window,
        min_messages,
        skew_threshold: float(
            &raw.skew_threshold,
            "skew_threshold",
            0.0,
            20.0,
            d.skew_threshold,
        )?,
        risk_boost: float(&raw.risk_boost, "risk_boost", 0.0, 10.0, d.risk_boost)?,
        categories,
    })
}
