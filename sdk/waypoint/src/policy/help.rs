//! The help directory: which counselling service a help link points to, per locale and age band.

use serde::Serialize;

use crate::signal::AgeBand;

/// Which age bands a help entry serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BandSelector {
    /// Every band.
    Any,
    /// Only this band.
    Only(AgeBand),
}

impl BandSelector {
    /// Whether this selector serves `band`.
    pub fn serves(self, band: AgeBand) -> bool {
        match self {
            BandSelector::Any => true,
            BandSelector::Only(b) => b == band,
        }
    }
}

/// One counselling service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HelpEntry {
    /// Locale it serves: a language (`nl`) or language-region (`nl-BE`).
    pub locale: String,
    /// Age bands it serves.
    #[serde(skip)]
    pub age_band: BandSelector,
    /// The organisation's name, shown to the player.
    pub organisation: String,
    /// Landing page.
    pub url: String,
    /// Anonymous chat, when the organisation has one.
    pub chat_url: Option<String>,
    /// Phone number, when the organisation has one.
    pub phone: Option<String>,
    /// One or two sentences shown with the link.
    pub text: String,
}

/// Help entries with a fallback locale.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HelpDirectory {
    /// Locale used when no entry serves the player's locale.
    pub default_locale: String,
    /// Entries in file order.
    pub entries: Vec<HelpEntry>,
}

impl HelpDirectory {
    /// The best entry for `locale` and `band`: exact locale, then its language (`nl-BE` → `nl`),
    /// then the default locale; within a locale an entry for the band beats an `any` entry.
    pub fn lookup(&self, locale: Option<&str>, band: AgeBand) -> Option<&HelpEntry> {
        let locale = locale.map(|l| l.trim().replace('_', "-").to_ascii_lowercase());
        let language = locale
            .as_deref()
            .and_then(|l| l.split('-').next())
            .map(str::to_owned);
        let candidates = [
            locale,
            language,
            Some(self.default_locale.to_ascii_lowercase()),
        ];
        candidates
            .iter()
            .flatten()
            .find_map(|wanted| self.best_for(wanted, band))
    }

    fn best_for(&self, locale: &str, band: AgeBand) -> Option<&HelpEntry> {
        let serving = || {
            self.entries
                .iter()
                .filter(move |e| e.locale.eq_ignore_ascii_case(locale) && e.age_band.serves(band))
        };
        serving()
            .find(|e| matches!(e.age_band, BandSelector::Only(_)))
            .or_else(|| serving().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(locale: &str, band: BandSelector, org: &str) -> HelpEntry {
        HelpEntry {
            locale: locale.into(),
            age_band: band,
            organisation: org.into(),
            url: "https://example.org".into(),
            chat_url: None,
            phone: None,
            text: String::new(),
        }
    }

    #[test]
    fn lookup_prefers_band_then_language_then_default() {
        let dir = HelpDirectory {
            default_locale: "en".into(),
            entries: vec![
                entry("en", BandSelector::Any, "en-any"),
                entry("nl", BandSelector::Any, "nl-any"),
                entry("nl", BandSelector::Only(AgeBand::Minor), "nl-minor"),
            ],
        };
        let org = |l: Option<&str>, b| dir.lookup(l, b).map(|e| e.organisation.as_str());
        assert_eq!(org(Some("nl"), AgeBand::Minor), Some("nl-minor"));
        assert_eq!(org(Some("nl_BE"), AgeBand::Adult), Some("nl-any"));
        assert_eq!(org(Some("de"), AgeBand::Minor), Some("en-any"));
        assert_eq!(org(None, AgeBand::Unknown), Some("en-any"));
        assert_eq!(
            HelpDirectory::default().lookup(Some("en"), AgeBand::Adult),
            None
        );
    }
}
