//! `[exemplars]`: example-based detection's parameters (see [`crate::model::exemplars`]), with
//! optional per-category overrides `[exemplars.<category>]`. Parsed strictly, with
//! file:line:column errors.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::PolicyError;
use super::error::{Ctx, Num};
use crate::Category;

/// The default exemplar file, relative to the models directory.
pub const DEFAULT_EXEMPLAR_FILE: &str = "exemplars/exemplars.toml";

/// The four per-category parameters of `[exemplars]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvidenceParams {
    /// Below this `pos`, no evidence.
    pub min_similarity: f32,
    /// Steepness of the sigmoid.
    pub slope: f32,
    /// Margin `pos - neg` at which the evidence is one half.
    pub offset: f32,
    /// How much the evidence counts when combined with the model probability, in `[0, 1]`.
    pub weight: f32,
}

/// The validated `[exemplars]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ExemplarPolicy {
    /// Whether the deep tier's messages are compared with the exemplars.
    pub enabled: bool,
    /// The exemplar file, relative to the models directory (or absolute).
    pub file: PathBuf,
    /// How many of the most similar exemplars are averaged (at least 1).
    pub top_k: usize,
    /// Parameters per category, in [`Category::ALL`] order.
    pub categories: [EvidenceParams; 4],
    /// Multiplies a category's exemplar weight when every lexicon hit of that category in the
    /// message is condemned (a code named to condemn, report or ban it; see
    /// [`LexiconHit::condemned`](crate::text::LexiconHit::condemned)), in `[0, 1]`. Similarity
    /// to the exemplars follows the topic of a message, not its stance.
    pub condemned_factor: f32,
}

/// `condemned_factor` when the section leaves it out: a condemned mention adds no exemplar
/// evidence.
pub const DEFAULT_CONDEMNED_FACTOR: f32 = 0.0;

/// Parameters used when the section leaves them out.
pub const DEFAULT_EVIDENCE: EvidenceParams = EvidenceParams {
    min_similarity: 0.45,
    slope: 12.0,
    offset: 0.12,
    weight: 0.9,
};

impl Default for ExemplarPolicy {
    fn default() -> Self {
        ExemplarPolicy {
            enabled: true,
            file: PathBuf::from(DEFAULT_EXEMPLAR_FILE),
            top_k: 3,
            categories: [DEFAULT_EVIDENCE; 4],
            condemned_factor: DEFAULT_CONDEMNED_FACTOR,
        }
    }
}

impl ExemplarPolicy {
    /// The parameters for `category`.
    pub fn category(&self, category: Category) -> &EvidenceParams {
        &self.categories[category.index()]
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawParams {
    min_similarity: Option<Spanned<f64>>,
    slope: Option<Spanned<f64>>,
    offset: Option<Spanned<f64>>,
    weight: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExemplars {
    enabled: Option<bool>,
    file: Option<String>,
    top_k: Option<Spanned<i64>>,
    min_similarity: Option<Spanned<f64>>,
    slope: Option<Spanned<f64>>,
    offset: Option<Spanned<f64>>,
    weight: Option<Spanned<f64>>,
    condemned_factor: Option<Spanned<f64>>,
    insult: Option<RawParams>,
    hate: Option<RawParams>,
    threat: Option<RawParams>,
    extremism: Option<RawParams>,
}

/// The largest accepted `top_k`.
const MAX_TOP_K: i64 = 1000;

pub(super) fn parse_exemplars(
    raw: &RawExemplars,
    source: &str,
    origin: &str,
) -> Result<ExemplarPolicy, PolicyError> {
    let ctx = Ctx { source, origin };
    let d = ExemplarPolicy::default();
    let top_k = match &raw.top_k {
        None => d.top_k,
        Some(v) => {
            let k = *v.get_ref();
            if !(1..=MAX_TOP_K).contains(&k) {
                return Err(ctx.invalid(
                    v.span(),
                    format!(
                        "exemplars.top_k = {k} is out of range: it must be in [1, {MAX_TOP_K}]"
                    ),
                ));
            }
            k as usize
        }
    };
    let own = RawParams {
        min_similarity: raw.min_similarity.clone(),
        slope: raw.slope.clone(),
        offset: raw.offset.clone(),
        weight: raw.weight.clone(),
    };
    let base = params(&own, DEFAULT_EVIDENCE, "exemplars", &ctx)?;
    let overrides = [&raw.insult, &raw.hate, &raw.threat, &raw.extremism];
    let mut categories = [base; 4];
    for (category, over) in Category::ALL.into_iter().zip(overrides) {
        if let Some(over) = over {
            let section = format!("exemplars.{category}");
            categories[category.index()] = params(over, base, &section, &ctx)?;
        }
    }
    let condemned_factor = ctx.in_range(
        &raw.condemned_factor,
        "exemplars.condemned_factor",
        d.condemned_factor,
        (0.0, 1.0),
    )?;
    Ok(ExemplarPolicy {
        enabled: raw.enabled.unwrap_or(d.enabled),
        file: raw.file.as_ref().map_or(d.file, PathBuf::from),
        top_k,
        categories,
        condemned_factor,
    })
}

fn params(
    raw: &RawParams,
    base: EvidenceParams,
    section: &str,
    ctx: &Ctx<'_>,
) -> Result<EvidenceParams, PolicyError> {
    let value = |v: &Num, name: &str, bounds: (f64, f64), default: f32| {
        ctx.in_range(v, &format!("{section}.{name}"), default, bounds)
    };
    Ok(EvidenceParams {
        min_similarity: value(
            &raw.min_similarity,
            "min_similarity",
            (-1.0, 1.0),
            base.min_similarity,
        )?,
        slope: value(&raw.slope, "slope", (0.0, 1000.0), base.slope)?,
        offset: value(&raw.offset, "offset", (-2.0, 2.0), base.offset)?,
        weight: value(&raw.weight, "weight", (0.0, 1.0), base.weight)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::policy::parse_section as parse;

    use super::*;

    #[test]
    fn condemned_factor_defaults_to_no_evidence_and_is_range_checked() {
        let policy = parse("").expect("valid");
        assert_eq!(policy.exemplars.condemned_factor, DEFAULT_CONDEMNED_FACTOR);
        let policy = parse("[exemplars]\ncondemned_factor = 0.5\n").expect("valid");
        assert_eq!(policy.exemplars.condemned_factor, 0.5);
        let err = parse("[exemplars]\ncondemned_factor = 1.5\n").expect_err("out of range");
        assert!(err.to_string().starts_with("p.toml:3:20"), "{err}");
        assert!(err.to_string().contains("[0, 1]"), "{err}");
    }
}
