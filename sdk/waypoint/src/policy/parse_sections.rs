//! Strict parsing of the trajectory sections of a policy file: accumulated risk, decay, reports,
//! behaviour, cooldowns, ladder, age bands, outcomes and the help directory.

use serde::Deserialize;
use toml::Spanned;

use super::LevelThresholds;
use super::PolicyError;
use super::help::{BandSelector, HelpDirectory, HelpEntry};
use super::settings::{
    AccumulatedThresholds, AgeBandPolicy, AgeBands, BehaviourPolicy, Cooldowns, LadderPolicy,
    OutcomePolicy, ReportPolicy, RiskPolicy,
};
use crate::Category;
use crate::signal::AgeBand;

use super::error::{Ctx, Num};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccumulated {
    #[serde(default)]
    insult: RawAccThresholds,
    #[serde(default)]
    hate: RawAccThresholds,
    #[serde(default)]
    threat: RawAccThresholds,
    #[serde(default)]
    extremism: RawAccThresholds,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAccThresholds {
    floor: Num,
    nudge: Num,
    help: Num,
    review: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRisk {
    half_life_secs: Num,
    ttl_secs: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCooldown {
    nudge_secs: Num,
    help_secs: Num,
    review_secs: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReports {
    per_reporter: Num,
    per_block: Num,
    max_multiplier: Num,
    half_life_secs: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBehaviour {
    flagged_group_extremism: Num,
    repeat_damping: Num,
    flood_messages_per_minute: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLadder {
    graduated: Option<bool>,
    step_memory_secs: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAgeBands {
    #[serde(default)]
    minor: RawAgeBand,
    #[serde(default)]
    adult: RawAgeBand,
    #[serde(default)]
    unknown: RawAgeBand,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAgeBand {
    threshold_factor: Num,
    cooldown_factor: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutcomes {
    dismissed_risk_factor: Num,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHelpDirectory {
    default_locale: Option<Spanned<String>>,
    #[serde(default)]
    entry: Vec<RawHelpEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHelpEntry {
    locale: Spanned<String>,
    age_band: Option<Spanned<String>>,
    organisation: Spanned<String>,
    url: Spanned<String>,
    chat_url: Option<Spanned<String>>,
    phone: Option<String>,
    text: Spanned<String>,
}

/// The accumulated-risk thresholds per category, in [`Category::ALL`] order.
pub(super) fn accumulated(
    ctx: &Ctx<'_>,
    acc: &RawAccumulated,
) -> Result<[AccumulatedThresholds; 4], PolicyError> {
    let mut accumulated = [AccumulatedThresholds::default(); 4];
    for (category, raw_acc) in
        Category::ALL
            .into_iter()
            .zip([&acc.insult, &acc.hate, &acc.threat, &acc.extremism])
    {
        accumulated[category.index()] = accumulated_thresholds(ctx, category, raw_acc)?;
    }
    Ok(accumulated)
}

pub(super) fn outcomes(ctx: &Ctx<'_>, raw: &RawOutcomes) -> Result<OutcomePolicy, PolicyError> {
    Ok(OutcomePolicy {
        dismissed_risk_factor: ctx.number(
            &raw.dismissed_risk_factor,
            "outcomes.dismissed_risk_factor",
            OutcomePolicy::default().dismissed_risk_factor.into(),
            unit,
            "it must be in [0, 1]",
        )? as f32,
    })
}

/// Whether a value lies in [0, 1].
fn unit(v: f64) -> bool {
    (0.0..=1.0).contains(&v)
}

/// A section that validates itself, cloned once valid; its error points at the section.
pub(super) fn validated<T: Clone, E: std::fmt::Display>(
    ctx: &Ctx<'_>,
    section: Option<&Spanned<T>>,
    validate: impl Fn(&T) -> Result<(), E>,
) -> Result<Option<T>, PolicyError> {
    let Some(spanned) = section else {
        return Ok(None);
    };
    validate(spanned.get_ref()).map_err(|e| ctx.invalid(spanned.span(), e.to_string()))?;
    Ok(Some(spanned.get_ref().clone()))
}

pub(super) fn risk(ctx: &Ctx<'_>, raw: &RawRisk) -> Result<RiskPolicy, PolicyError> {
    let d = RiskPolicy::default();
    Ok(RiskPolicy {
        half_life: ctx.secs(
            &raw.half_life_secs,
            "risk.half_life_secs",
            d.half_life,
            true,
        )?,
        ttl: ctx.secs(&raw.ttl_secs, "risk.ttl_secs", d.ttl, true)?,
    })
}

pub(super) fn cooldowns(ctx: &Ctx<'_>, c: &RawCooldown) -> Result<Cooldowns, PolicyError> {
    let d = Cooldowns::default();
    Ok(Cooldowns {
        nudge: ctx.secs(&c.nudge_secs, "cooldown.nudge_secs", d.nudge, false)?,
        help: ctx.secs(&c.help_secs, "cooldown.help_secs", d.help, false)?,
        review: ctx.secs(&c.review_secs, "cooldown.review_secs", d.review, false)?,
    })
}

pub(super) fn reports(ctx: &Ctx<'_>, r: &RawReports) -> Result<ReportPolicy, PolicyError> {
    let d = ReportPolicy::default();
    let weight = |v: f64| (0.0..=10.0).contains(&v);
    Ok(ReportPolicy {
        per_reporter: ctx.number(
            &r.per_reporter,
            "reports.per_reporter",
            d.per_reporter.into(),
            weight,
            "it must be in [0, 10]",
        )? as f32,
        per_block: ctx.number(
            &r.per_block,
            "reports.per_block",
            d.per_block.into(),
            weight,
            "it must be in [0, 10]",
        )? as f32,
        max_multiplier: ctx.number(
            &r.max_multiplier,
            "reports.max_multiplier",
            d.max_multiplier.into(),
            |v| (1.0..=100.0).contains(&v),
            "it must be in [1, 100]",
        )? as f32,
        half_life: ctx.secs(
            &r.half_life_secs,
            "reports.half_life_secs",
            d.half_life,
            true,
        )?,
    })
}

pub(super) fn behaviour(ctx: &Ctx<'_>, b: &RawBehaviour) -> Result<BehaviourPolicy, PolicyError> {
    let d = BehaviourPolicy::default();
    Ok(BehaviourPolicy {
        flagged_group_extremism: ctx.number(
            &b.flagged_group_extremism,
            "behaviour.flagged_group_extremism",
            d.flagged_group_extremism.into(),
            |v| (0.0..=100.0).contains(&v),
            "it must be in [0, 100]",
        )? as f32,
        repeat_damping: ctx.number(
            &b.repeat_damping,
            "behaviour.repeat_damping",
            d.repeat_damping.into(),
            unit,
            "it must be in [0, 1]",
        )? as f32,
        flood_messages_per_minute: ctx.number(
            &b.flood_messages_per_minute,
            "behaviour.flood_messages_per_minute",
            d.flood_messages_per_minute.into(),
            |v| v > 0.0 && v <= 100_000.0,
            "it must be above 0",
        )? as f32,
    })
}

pub(super) fn ladder(ctx: &Ctx<'_>, raw: &RawLadder) -> Result<LadderPolicy, PolicyError> {
    let d = LadderPolicy::default();
    Ok(LadderPolicy {
        graduated: raw.graduated.unwrap_or(d.graduated),
        step_memory: ctx.secs(
            &raw.step_memory_secs,
            "ladder.step_memory_secs",
            d.step_memory,
            false,
        )?,
    })
}

pub(super) fn age_bands(ctx: &Ctx<'_>, bands: &RawAgeBands) -> Result<AgeBands, PolicyError> {
    let mut age_bands = AgeBands::default();
    for (band, raw_band) in
        AgeBand::ALL
            .into_iter()
            .zip([&bands.minor, &bands.adult, &bands.unknown])
    {
        let factor = |v: f64| v > 0.0 && v <= 10.0;
        age_bands.0[band.index()] = AgeBandPolicy {
            threshold_factor: ctx.number(
                &raw_band.threshold_factor,
                &format!("age_band.{band}.threshold_factor"),
                1.0,
                factor,
                "it must be in (0, 10]",
            )? as f32,
            cooldown_factor: ctx.number(
                &raw_band.cooldown_factor,
                &format!("age_band.{band}.cooldown_factor"),
                1.0,
                factor,
                "it must be in (0, 10]",
            )? as f32,
        };
    }
    Ok(age_bands)
}

fn accumulated_thresholds(
    ctx: &Ctx<'_>,
    category: Category,
    raw: &RawAccThresholds,
) -> Result<AccumulatedThresholds, PolicyError> {
    let floor = ctx.number(
        &raw.floor,
        &format!("accumulated.{category}.floor"),
        0.5,
        |v| (0.0..1.0).contains(&v),
        "a floor must be in [0, 1)",
    )?;
    let mut previous: Option<(&str, f64)> = None;
    let mut levels = LevelThresholds::default();
    for (level, value) in [
        ("nudge", &raw.nudge),
        ("help", &raw.help),
        ("review", &raw.review),
    ] {
        let Some(spanned) = value else { continue };
        let name = format!("accumulated.{category}.{level}");
        let v = ctx.number(
            value,
            &name,
            0.0,
            |v| v > 0.0 && v <= 1000.0,
            "accumulated risk thresholds must be in (0, 1000]",
        )?;
        if let Some((lower_level, lower)) = previous
            && v < lower
        {
            return Err(ctx.invalid(
                spanned.span(),
                format!(
                    "{name} = {v} is below accumulated.{category}.{lower_level} = {lower}: \
                     a stronger response needs a threshold at least as high"
                ),
            ));
        }
        previous = Some((level, v));
        match level {
            "nudge" => levels.nudge = Some(v as f32),
            "help" => levels.help = Some(v as f32),
            _ => levels.review = Some(v as f32),
        }
    }
    Ok(AccumulatedThresholds {
        floor: floor as f32,
        levels,
    })
}

pub(super) fn help_directory(
    ctx: &Ctx<'_>,
    raw: &RawHelpDirectory,
) -> Result<HelpDirectory, PolicyError> {
    let mut entries: Vec<HelpEntry> = Vec::with_capacity(raw.entry.len());
    for e in &raw.entry {
        let entry = help_entry(ctx, e)?;
        if entries
            .iter()
            .any(|x| x.locale == entry.locale && x.age_band == entry.age_band)
        {
            return Err(ctx.invalid(
                e.locale.span(),
                format!(
                    "a help_directory entry for locale {:?} and this age band is already defined above",
                    entry.locale
                ),
            ));
        }
        entries.push(entry);
    }
    let default_locale = match &raw.default_locale {
        Some(l) => {
            let wanted = l.get_ref().trim().to_ascii_lowercase();
            if !entries.is_empty() && !entries.iter().any(|e| e.locale == wanted) {
                return Err(ctx.invalid(
                    l.span(),
                    format!("help_directory.default_locale = {:?} has no entry; add one with locale = {wanted:?}", l.get_ref()),
                ));
            }
            wanted
        }
        None => entries
            .first()
            .map_or_else(|| "en".to_owned(), |e| e.locale.clone()),
    };
    Ok(HelpDirectory {
        default_locale,
        entries,
    })
}

/// One help directory entry, checked on its own (duplicates are checked by the caller).
fn help_entry(ctx: &Ctx<'_>, e: &RawHelpEntry) -> Result<HelpEntry, PolicyError> {
    let locale = e.locale.get_ref().trim().to_ascii_lowercase();
    if locale.is_empty()
        || !locale
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ctx.invalid(
            e.locale.span(),
            format!("help_directory.entry.locale = {:?}: a locale is a language code like \"en\" or \"nl-be\"", e.locale.get_ref()),
        ));
    }
    let age_band = match &e.age_band {
        None => BandSelector::Any,
        Some(b) if b.get_ref() == "any" => BandSelector::Any,
        Some(b) => BandSelector::Only(AgeBand::parse(b.get_ref()).ok_or_else(|| {
            ctx.invalid(
                b.span(),
                format!("help_directory.entry.age_band = {:?}: expected \"any\", \"minor\", \"adult\" or \"unknown\"", b.get_ref()),
            )
        })?),
    };
    for (name, value) in [("url", Some(&e.url)), ("chat_url", e.chat_url.as_ref())] {
        if let Some(url) = value
            && !(url.get_ref().starts_with("https://") || url.get_ref().starts_with("http://"))
        {
            return Err(ctx.invalid(
                url.span(),
                format!(
                    "help_directory.entry.{name} = {:?}: must be an http(s) URL",
                    url.get_ref()
                ),
            ));
        }
    }
    for (name, value) in [("organisation", &e.organisation), ("text", &e.text)] {
        if value.get_ref().trim().is_empty() {
            return Err(ctx.invalid(
                value.span(),
                format!("help_directory.entry.{name} must not be empty"),
            ));
        }
    }
    Ok(HelpEntry {
        locale,
        age_band,
        organisation: e.organisation.get_ref().trim().to_owned(),
        url: e.url.get_ref().clone(),
        chat_url: e.chat_url.as_ref().map(|u| u.get_ref().clone()),
        phone: e.phone.clone(),
        text: e.text.get_ref().trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use crate::policy::{Policy, PolicyError};
    use crate::signal::AgeBand;
    use crate::{Category, ResponseLevel};

    fn err(src: &str) -> PolicyError {
        Policy::from_toml_str(src, "p.toml").expect_err("must be rejected")
    }

    fn at(e: &PolicyError) -> Option<(usize, usize)> {
        e.location().map(|l| (l.line, l.column))
    }

    #[test]
    fn default_policy_has_trajectory_rules_and_placeholder_help() {
        let p = Policy::default();
        assert_eq!(
            p.accumulated(Category::Insult).levels.help,
            None,
            "insults only ever nudge"
        );
        assert!(p.accumulated(Category::Extremism).levels.review.is_some());
        assert!(p.ladder.graduated);
        assert!(p.age_bands.get(AgeBand::Minor).threshold_factor < 1.0);
        for (locale, band) in [
            ("en", AgeBand::Adult),
            ("nl", AgeBand::Minor),
            ("nl-BE", AgeBand::Unknown),
        ] {
            let entry = p.help.lookup(Some(locale), band).expect("an entry");
            assert!(
                entry.url.contains("example.org"),
                "placeholders until filled in"
            );
            assert!(entry.locale.starts_with(&locale[..2]));
        }
        assert!(p.cooldowns.get(ResponseLevel::Nudge) < p.cooldowns.get(ResponseLevel::Review));
    }

    #[test]
    fn accumulated_thresholds_out_of_order_are_rejected_with_position() {
        let e = err("version = \"1\"\n[accumulated.hate]\nnudge = 2.0\nhelp = 1.0\n");
        assert_eq!(at(&e), Some((4, 8)), "{e}");
        assert!(e.to_string().contains("accumulated.hate.help"), "{e}");
    }

    #[test]
    fn bad_values_in_new_sections_name_line_and_column() {
        let e = err("version = \"1\"\n[risk]\nhalf_life_secs = -5\n");
        assert_eq!(at(&e), Some((3, 18)), "{e}");
        let e = err("version = \"1\"\n[age_band.minor]\nthreshold_factor = 0\n");
        assert_eq!(at(&e).map(|p| p.0), Some(3), "{e}");
        let e = err("version = \"1\"\n[cooldown]\nnudge_mins = 5\n");
        assert!(matches!(e, PolicyError::Syntax { .. }), "{e}");
        assert_eq!(at(&e).map(|p| p.0), Some(3), "{e}");
        let e = err("version = \"1\"\n[accumulated.extremism]\nfloor = 1.0\n");
        assert!(e.to_string().contains("[0, 1)"), "{e}");
    }

    #[test]
    fn help_directory_is_validated() {
        let entry = |locale: &str, url: &str| {
            format!(
                "[[help_directory.entry]]\nlocale = \"{locale}\"\norganisation = \"Org\"\nurl = \"{url}\"\ntext = \"Talk to us.\"\n"
            )
        };
        let ok = format!("version = \"1\"\n{}", entry("en", "https://example.org"));
        assert!(Policy::from_toml_str(&ok, "p").is_ok());
        let e = err(&format!(
            "version = \"1\"\n{}",
            entry("en", "ftp://example.org")
        ));
        assert_eq!(at(&e), Some((5, 7)), "{e}");
        let e = err(&format!(
            "version = \"1\"\n{}{}",
            entry("en", "https://a.org"),
            entry("en", "https://b.org")
        ));
        assert_eq!(at(&e).map(|p| p.0), Some(8), "duplicate locale: {e}");
        let e = err(&format!(
            "version = \"1\"\n[help_directory]\ndefault_locale = \"de\"\n{}",
            entry("en", "https://a.org")
        ));
        assert!(e.to_string().contains("\"de\""), "{e}");
        let e = err(
            "version = \"1\"\n[[help_directory.entry]]\nlocale = \"en\"\nage_band = \"teen\"\norganisation = \"O\"\nurl = \"https://o.org\"\ntext = \"t\"\n",
        );
        assert_eq!(at(&e).map(|p| p.0), Some(4), "{e}");
    }

    #[test]
    fn referral_and_telemetry_sections_parse_strictly() {
        let p = Policy::from_toml_str(
            "version = \"1\"\n[referral]\nground = \"ToS 4.2\"\n[referral.webhook]\nurl = \"http://127.0.0.1:9/h\"\nsecret_env = \"S\"\nkey_id = \"k1\"\n[telemetry]\nk = 3\n",
            "p.toml",
        )
        .expect("valid");
        assert_eq!(p.referral.ground, "ToS 4.2");
        assert_eq!(
            p.referral.webhook.as_ref().map(|w| w.key_id.as_str()),
            Some("k1")
        );
        assert_eq!(p.telemetry.as_ref().map(|t| t.k), Some(3));
        let d = Policy::default();
        assert!(d.referral.webhook.is_none(), "no webhook by default");
        assert!(
            d.telemetry.as_ref().is_none_or(|t| t.file_dir.is_none()),
            "no telemetry file by default"
        );

        let e = err("version = \"1\"\n[referral]\ngrounds = \"x\"\n");
        assert!(matches!(e, PolicyError::Syntax { .. }), "{e}");
        assert_eq!(at(&e).map(|p| p.0), Some(3), "{e}");
        let e = err(
            "version = \"1\"\n\n[referral.webhook]\nurl = \"ftp://x\"\nsecret_env = \"S\"\nkey_id = \"k\"\n",
        );
        assert!(matches!(e, PolicyError::Invalid { .. }), "{e}");
        assert!(e.to_string().starts_with("p.toml:"), "{e}");
        assert!(e.to_string().contains("referral.webhook.url"), "{e}");
        let e = err("version = \"1\"\n[telemetry]\nk = 0\n");
        assert!(matches!(e, PolicyError::Invalid { .. }), "{e}");
        assert!(at(&e).is_some(), "{e}");
        let e = err("version = \"1\"\n[telemetry]\nwindow = 5\n");
        assert_eq!(at(&e).map(|p| p.0), Some(3), "{e}");
    }

    #[test]
    fn store_section_parses_strictly_and_hides_the_password() {
        let p = Policy::from_toml_str(
            "version = \"1\"\n[store]\nurl = \"redis://:pw@127.0.0.1:6379/0\"\nkey_prefix = \"g1\"\ncache_players = 500\n",
            "p.toml",
        )
        .expect("valid");
        let store = p.store.as_ref().expect("configured");
        assert_eq!(
            (store.key_prefix.as_str(), store.cache_players),
            ("g1", 500)
        );
        assert!(Policy::default().store.is_none(), "local state by default");
        let e = err("version = \"1\"\n[store]\nurl = \"redis://h\"\nurl_envv = \"X\"\n");
        assert_eq!(at(&e), Some((4, 1)), "{e}");
        let e = err("version = \"1\"\n\n[store]\nurl = \"http://:pw@h\"\n");
        assert!(matches!(e, PolicyError::Invalid { .. }), "{e}");
        assert_eq!(at(&e).map(|p| p.0), Some(3), "{e}");
        assert!(!e.to_string().contains("pw"), "{e}");
        let e = err("version = \"1\"\n[store]\nurl = \"redis://h\"\nio_timeout_ms = 0\n");
        assert!(e.to_string().contains("store.io_timeout_ms"), "{e}");
    }
}
