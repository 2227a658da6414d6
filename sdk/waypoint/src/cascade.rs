//! The cascade's two decisions, as pure functions: which messages the deep tier scores
//! ([`wants_deep`]) and how the tiers' probabilities combine ([`combine_tiers`]). The policy's
//! `[cascade]` section ([`CascadePolicy`]) sets both; the scorer applies them.

use crate::policy::{CascadeMode, CascadePolicy, CombineRule};
use crate::{Category, Scores};

/// What the caller knows about a message beyond its text, for routing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteHints<'a> {
    /// The chat locale the platform reported (`"en"`, `"nl-BE"`, …), when known.
    pub locale: Option<&'a str>,
    /// Whether the sender's accumulated risk is elevated (the engine decides, with
    /// `[cascade] elevated_risk`).
    pub elevated_risk: bool,
    /// Whether the caller is behind: `[cascade] busy_backlog` or more signals wait for the
    /// engine's worker (`mode = "auto"` then falls back to the selective rules).
    pub busy: bool,
}

/// What the scorer can tell about a message that the fast tier cannot judge (see
/// [`combine_tiers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageTraits {
    /// The message looks English ([`looks_english`]); the fast tier was trained on English only.
    pub english: bool,
    /// The message names an attacker or a violent group only to condemn it: a lexicon mention is
    /// marked condemned and so is every other hit. The fast tier's n-grams read the names, not
    /// the stance ("isis are criminals" scores fast-tier hate 0.77).
    pub condemns_what_it_names: bool,
}

impl MessageTraits {
    /// An English message with no stance the fast tier would misread: the fast tier counts.
    pub const PLAIN_ENGLISH: MessageTraits = MessageTraits {
        english: true,
        condemns_what_it_names: false,
    };
}

/// Why a message was (or was not) sent to the deep tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Fast tier only.
    FastOnly,
    /// `mode = "all"`, or `mode = "auto"` while the caller keeps up.
    All,
    /// The fast tier is unavailable, so everything goes to the deep tier.
    NoFastTier,
    /// A fast-tier score reached `fast_floor`.
    FastFloor,
    /// The message does not look English.
    NonEnglish,
    /// The sender's risk is elevated.
    ElevatedRisk,
}

/// Whether `[cascade]` sends this message to the deep tier, and why. `normalized` is the
/// normaliser's output; `fast` the fast tier's scores (`None` when it is unavailable).
pub fn wants_deep(
    policy: &CascadePolicy,
    fast: Option<&Scores>,
    normalized: &str,
    hints: RouteHints<'_>,
) -> Route {
    match policy.mode {
        CascadeMode::Off => Route::FastOnly,
        CascadeMode::All => Route::All,
        CascadeMode::Auto if !hints.busy => Route::All,
        CascadeMode::Auto | CascadeMode::Selective => selective(policy, fast, normalized, hints),
    }
}

/// The selective rules: the first of fast floor, elevated risk and language that applies.
fn selective(
    policy: &CascadePolicy,
    fast: Option<&Scores>,
    normalized: &str,
    hints: RouteHints<'_>,
) -> Route {
    let Some(fast) = fast else {
        return Route::NoFastTier;
    };
    if Category::ALL
        .iter()
        .any(|c| fast.get(*c) >= policy.fast_floor)
    {
        Route::FastFloor
    } else if hints.elevated_risk {
        Route::ElevatedRisk
    } else if policy.non_english && !looks_english(normalized, hints.locale) {
        Route::NonEnglish
    } else {
        Route::FastOnly
    }
}

/// The model evidence for one message: the tiers combined by `rule`, or whichever tier ran.
/// Whenever the deep tier scored the message, it alone judges a message the fast tier cannot
/// read (`traits`): one that does not look English, with `fast_tier_english_only`, and one that
/// names an attacker or a violent group to condemn it, with `fast_tier_skips_condemnation`.
pub fn combine_tiers(
    policy: &CascadePolicy,
    fast: Option<Scores>,
    deep: Option<Scores>,
    traits: MessageTraits,
) -> Option<Scores> {
    let fast_can_read = (traits.english || !policy.fast_tier_english_only)
        && (!traits.condemns_what_it_names || !policy.fast_tier_skips_condemnation);
    let fast = fast.filter(|_| fast_can_read || deep.is_none());
    match (fast, deep) {
        (Some(fast), Some(deep)) => {
            let mut out = Scores::default();
            for category in Category::ALL {
                let (f, d) = (fast.get(category), deep.get(category));
                out.set(
                    category,
                    match policy.combine {
                        CombineRule::Max => f.max(d),
                        CombineRule::Blend => {
                            policy.deep_weight * d + (1.0 - policy.deep_weight) * f
                        }
                    },
                );
            }
            Some(out)
        }
        (fast, None) => fast,
        (None, deep) => deep,
    }
}

/// Frequent English function words.
const ENGLISH: &[&str] = &[
    "the", "a", "an", "and", "or", "is", "are", "was", "you", "i", "im", "i'm", "it", "to", "of",
    "in", "on", "for", "with", "this", "that", "we", "they", "he", "she", "my", "your", "ur", "u",
    "me", "be", "not", "no", "do", "dont", "don't", "have", "just", "so", "what", "all", "go",
    "get", "at", "if", "but", "lol", "gg", "wp", "pls", "plz", "ok", "yes", "can", "will",
];

/// Frequent function words of other languages Waypoint's users write (Dutch first: see
/// [`LanguageGuess::english_or_dutch`]), chosen not to be English words too, one list per language.
const OTHER: &[&[&str]] = &[DUTCH, GERMAN, FRENCH, SPANISH_ITALIAN_PORTUGUESE];

/// Dutch function words (see [`OTHER`]).
const DUTCH: &[&str] = &[
    "de", "het", "een", "en", "ik", "je", "jij", "jullie", "wij", "zij", "niet", "wat", "zijn",
    "ben", "bent", "is", "dat", "die", "deze", "naar", "voor", "met", "maar", "ook", "nog", "wel",
    "geen", "heb", "hebt", "heeft", "moet", "moeten", "gaan", "ga", "kan", "mijn", "jouw", "ze",
    "hou", "jou", "alle", "allemaal", "omdat", "waar", "hier", "daar", "echt", "gewoon", "dood",
    "kanker", "kut", "tyfus", "haat", "zo", "als", "bij", "uit", "van", "om", "te", "hij", "zit",
    "gij", "zijt", "mee", "dit", "nu", "toch", "doe", "doen", "kom", "komt", "weet", "wie",
    "waarom", "zal", "zou", "wordt", "nee", "ja", "heel", "veel", "zie", "gaat", "hebben", "wil",
    "wilt", "jongens",
];

/// German function words (see [`OTHER`]).
const GERMAN: &[&str] = &[
    "der", "die", "das", "und", "ich", "du", "nicht", "ist", "ein", "eine", "mit", "sie", "wir",
];

/// French function words (see [`OTHER`]).
const FRENCH: &[&str] = &[
    "le", "la", "les", "et", "je", "tu", "vous", "nous", "est", "une", "pas", "des", "du", "sont",
];

/// Spanish, Italian, Portuguese function words (see [`OTHER`]).
const SPANISH_ITALIAN_PORTUGUESE: &[&str] = &[
    "el", "los", "las", "y", "que", "es", "un", "una", "por", "para", "yo", "il", "di", "che",
    "sono", "non", "per", "os", "em", "não", "eu", "você",
];

/// A cheap language guess: is this message English? `locale` wins when given (`en…` is English,
/// anything else is not). Otherwise: text whose letters are mostly outside ASCII is not English;
/// text with more frequent words of other languages than English ones is not English; anything
/// else (including short game slang with neither) counts as English.
pub fn looks_english(text: &str, locale: Option<&str>) -> bool {
    guess_language(text, locale).english
}

/// What the cheap language guess says of one message, from one count of its frequent words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LanguageGuess {
    /// The message looks English ([`looks_english`]).
    pub(crate) english: bool,
    /// The message is known to be English or Dutch (Flemish included), on positive evidence:
    /// `locale` wins when given (`en…` or `nl…`); otherwise the text has frequent words of
    /// English or Dutch, and more of them than of any other language Waypoint's lists know.
    /// Unlike `english`, a message with no known words (game slang, Polish, Hindi) is neither.
    pub(crate) english_or_dutch: bool,
}

/// Guesses the language of `text` (see [`LanguageGuess`]), counting its words once.
pub(crate) fn guess_language(text: &str, locale: Option<&str>) -> LanguageGuess {
    if let Some(prefix) = locale_prefix(locale) {
        let english = prefix.eq_ignore_ascii_case("en");
        return LanguageGuess {
            english,
            english_or_dutch: english || prefix.eq_ignore_ascii_case("nl"),
        };
    }
    let Some(counts) = function_words(text) else {
        return LanguageGuess {
            english: false,
            english_or_dutch: false,
        };
    };
    let dutch = counts.other[0];
    let rest = counts.other[1..].iter().copied().max().unwrap_or(0);
    let best = counts.english.max(dutch);
    LanguageGuess {
        english: counts.other_any <= counts.english,
        english_or_dutch: best > 0 && best > rest,
    }
}

/// The first two characters of a non-blank locale.
fn locale_prefix(locale: Option<&str>) -> Option<&str> {
    locale
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.get(..2).unwrap_or(""))
}

/// Frequent-word counts of one message. A word English shares with another language counts
/// for neither.
#[derive(Default)]
struct FunctionWords {
    /// English words.
    english: usize,
    /// Words of at least one list of [`OTHER`].
    other_any: usize,
    /// Words of each list of [`OTHER`], in its order.
    other: [usize; OTHER.len()],
}

/// Counts the frequent words of `text`; `None` when its letters are mostly outside ASCII (no
/// language of the lists, which are all Latin-script).
fn function_words(text: &str) -> Option<FunctionWords> {
    let (mut letters, mut ascii) = (0_usize, 0_usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        ascii += usize::from(c.is_ascii());
    }
    if ascii * 10 < letters * 7 {
        return None;
    }
    let mut counts = FunctionWords::default();
    for word in text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        let in_english = ENGLISH.contains(&word.as_str());
        let mut in_other = false;
        for (count, words) in counts.other.iter_mut().zip(OTHER) {
            let hit = words.contains(&word.as_str());
            in_other |= hit;
            *count += usize::from(hit && !in_english);
        }
        counts.english += usize::from(in_english && !in_other);
        counts.other_any += usize::from(in_other && !in_english);
    }
    Some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: MessageTraits = MessageTraits::PLAIN_ENGLISH;
    const DUTCH: MessageTraits = MessageTraits {
        english: false,
        ..PLAIN
    };

    fn scores(values: [f32; 4]) -> Scores {
        let mut s = Scores::default();
        for (c, v) in Category::ALL.into_iter().zip(values) {
            s.set(c, v);
        }
        s
    }

    #[test]
    fn language_guess() {
        assert!(looks_english("kill the healer first", None));
        assert!(looks_english("camp b", None));
        assert!(looks_english("gg", None));
        assert!(!looks_english("ik haat jou, je bent een sukkel", None));
        assert!(!looks_english("dood eerst de healer", None));
        // Short Dutch lines with one word English shares ("in") and one Dutch function word
        // each way used to tie, and a tie counts as English.
        assert!(!looks_english("hij zit in de hoek", None));
        assert!(!looks_english("gij zijt ook vlaming", None));
        assert!(!looks_english("wie wil er mee raiden", None));
        assert!(looks_english("he is in the corner, go help", None));
        assert!(!looks_english("ты идиот", None));
        assert!(!looks_english("kill the healer", Some("nl-BE")));
        assert!(looks_english("ik haat jou", Some("en-GB")));
        assert!(looks_english("", None));
    }

    #[test]
    fn english_or_dutch_guess() {
        let known =
            |text: &str, locale: Option<&str>| guess_language(text, locale).english_or_dutch;
        assert!(known("ik haat jou, je bent een sukkel", None));
        assert!(known("wie heeft er een paard", None));
        assert!(known("gij zijt ook vlaming", None));
        assert!(known("kill the healer first", None));
        // German shares "die" with Dutch; more German words than Dutch ones is German.
        assert!(!known("ich hasse die muslime", None));
        assert!(!known("je déteste les musulmans", None));
        // No known word is no evidence, unlike for looks_english.
        assert!(!known("nienawidzę muzułmanów", None));
        assert!(looks_english("nienawidzę muzułmanów", None));
        assert!(!known("ты идиот", None));
        assert!(!known("", None));
        assert!(known("xyz", Some("nl-BE")));
        assert!(!known("ik haat jou", Some("de-DE")));
    }

    #[test]
    fn selective_routing() {
        let policy = CascadePolicy {
            mode: CascadeMode::Selective,
            ..CascadePolicy::default()
        };
        let low = scores([0.05, 0.01, 0.01, 0.01]);
        let high = scores([0.05, 0.4, 0.01, 0.01]);
        let none = RouteHints::default();
        let en = "kill the healer first";
        assert_eq!(wants_deep(&policy, Some(&low), en, none), Route::FastOnly);
        assert_eq!(wants_deep(&policy, Some(&high), en, none), Route::FastFloor);
        assert_eq!(wants_deep(&policy, None, en, none), Route::NoFastTier);
        let nl = "ik haat jou, je bent een sukkel";
        assert_eq!(wants_deep(&policy, Some(&low), nl, none), Route::NonEnglish);
        let elevated = RouteHints {
            elevated_risk: true,
            ..none
        };
        assert_eq!(
            wants_deep(&policy, Some(&low), en, elevated),
            Route::ElevatedRisk
        );
        let localized = RouteHints {
            locale: Some("nl"),
            ..none
        };
        assert_eq!(
            wants_deep(&policy, Some(&low), en, localized),
            Route::NonEnglish
        );
        let no_lang = CascadePolicy {
            non_english: false,
            ..policy
        };
        assert_eq!(wants_deep(&no_lang, Some(&low), nl, none), Route::FastOnly);
        let all = CascadePolicy {
            mode: CascadeMode::All,
            ..policy
        };
        assert_eq!(wants_deep(&all, Some(&low), en, none), Route::All);
        let off = CascadePolicy {
            mode: CascadeMode::Off,
            ..policy
        };
        assert_eq!(wants_deep(&off, None, nl, elevated), Route::FastOnly);
    }

    #[test]
    fn auto_routing_falls_back_to_the_selective_rules_when_busy() {
        let auto = CascadePolicy::default();
        assert_eq!(auto.mode, CascadeMode::Auto);
        let low = scores([0.05, 0.01, 0.01, 0.01]);
        let high = scores([0.05, 0.4, 0.01, 0.01]);
        let en = "kill the healer first";
        let idle = RouteHints::default();
        let busy = RouteHints { busy: true, ..idle };
        assert_eq!(wants_deep(&auto, Some(&low), en, idle), Route::All);
        assert_eq!(wants_deep(&auto, Some(&low), en, busy), Route::FastOnly);
        assert_eq!(wants_deep(&auto, Some(&high), en, busy), Route::FastFloor);
        let nl = "ik haat jou, je bent een sukkel";
        assert_eq!(wants_deep(&auto, Some(&low), nl, busy), Route::NonEnglish);
    }

    #[test]
    fn combination_rules() {
        let fast = scores([0.8, 0.1, 0.2, 0.0]);
        let deep = scores([0.4, 0.9, 0.2, 0.5]);
        let max = CascadePolicy {
            combine: CombineRule::Max,
            ..CascadePolicy::default()
        };
        assert_eq!(
            combine_tiers(&max, Some(fast), Some(deep), PLAIN),
            Some(scores([0.8, 0.9, 0.2, 0.5]))
        );
        let blend = CascadePolicy {
            combine: CombineRule::Blend,
            deep_weight: 0.75,
            ..CascadePolicy::default()
        };
        let got = combine_tiers(&blend, Some(fast), Some(deep), PLAIN).expect("both");
        for (c, want) in Category::ALL.into_iter().zip([0.5, 0.7, 0.2, 0.375]) {
            assert!((got.get(c) - want).abs() < 1e-6, "{c}: {}", got.get(c));
        }
        assert_eq!(combine_tiers(&max, Some(fast), None, PLAIN), Some(fast));
        assert_eq!(combine_tiers(&max, None, Some(deep), PLAIN), Some(deep));
        assert_eq!(combine_tiers(&max, None, None, PLAIN), None);
    }

    /// With `traits`, the default policy lets the deep tier judge alone whenever it ran, and
    /// `keep` (the default policy with that rule off) combines the tiers as usual.
    fn assert_fast_tier_set_aside(traits: MessageTraits, keep: &CascadePolicy) {
        let fast = scores([0.8, 0.1, 0.2, 0.0]);
        let deep = scores([0.4, 0.9, 0.2, 0.5]);
        let policy = CascadePolicy::default();
        assert_eq!(
            combine_tiers(&policy, Some(fast), Some(deep), traits),
            Some(deep)
        );
        // Without a deep-tier score the fast tier is all there is.
        assert_eq!(combine_tiers(&policy, Some(fast), None, traits), Some(fast));
        assert_eq!(
            combine_tiers(keep, Some(fast), Some(deep), traits),
            Some(scores([0.8, 0.9, 0.2, 0.5]))
        );
    }

    #[test]
    fn non_english_messages_are_judged_by_the_deep_tier_when_it_ran() {
        assert!(CascadePolicy::default().fast_tier_english_only);
        let keep = CascadePolicy {
            fast_tier_english_only: false,
            ..CascadePolicy::default()
        };
        assert_fast_tier_set_aside(DUTCH, &keep);
    }

    #[test]
    fn condemning_messages_are_judged_by_the_deep_tier_when_it_ran() {
        assert!(CascadePolicy::default().fast_tier_skips_condemnation);
        let keep = CascadePolicy {
            fast_tier_skips_condemnation: false,
            ..CascadePolicy::default()
        };
        let condemning = MessageTraits {
            condemns_what_it_names: true,
            ..PLAIN
        };
        assert_fast_tier_set_aside(condemning, &keep);
    }
}
