//! The lexicon file format (TOML) and its validation.
//!
//! Parsing turns one file into a [`FileSpec`]: every value that a later check may complain about
//! keeps its line and column, so errors found after all files are merged (duplicate ids, unknown
//! word lists) still point into the right file. The format is documented for data authors in
//! `models/lexicon/README.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::LexiconError;
use crate::Category;

/// Largest `window` / `cue_window` / `stance_window` a rule may ask for, in tokens.
pub(crate) const MAX_WINDOW: usize = 20;
/// Longest accepted pattern or context word, in characters.
const MAX_PATTERN_CHARS: usize = 200;
/// Longest accepted description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 400;

/// What kind of code an entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A number standing for letters or a slogan (`88` = HH, `14` = the 14 words).
    NumberCode,
    /// A slogan or motto of a movement.
    Slogan,
    /// A coded or euphemistic term for an extremist idea (`great replacement`, `omvolking`).
    Euphemism,
    /// A call to join, travel for, or fight for a violent group.
    Recruitment,
    /// Glorification of attackers or attacks (`saint tarrant`).
    Glorification,
    /// A call to violence against people for an ideology: an enemy named by its ideology
    /// (`stab the unbelievers`), a group called vermin with a call to wipe it out, or the state
    /// and its officials as targets.
    Incitement,
    /// An emoji or emoji sequence used as a code.
    Emoji,
    /// A non-emoji symbol or glyph (runes, hooked cross).
    Symbol,
    /// A statement that people of a group defined by a protected characteristic are not human
    /// (`moslims zijn geen mensen`, `they are not even human`): dehumanisation in the
    /// negated form a sentence model reads as a negated insult.
    Dehumanisation,
    /// A slur: a derogatory name for people of a group defined by a protected characteristic
    /// (origin, religion, sexual orientation, gender identity, disability).
    Slur,
    /// A threat of real-world harm: an anchor in the physical world (`i know where you live`,
    /// `morgen op school`) together with a harm word.
    Threat,
    /// An announcement or code for carrying out an attack (`do a columbine`, `shoot up the
    /// school`, livestreaming an attack).
    AttackAnnouncement,
    /// A name or term of a violent movement that is no evidence by itself (an attacker's name,
    /// a terrorist group): its hits carry weight 0 and never leave the scorer. They tell it the
    /// stance of a message that names the movement: a mention near a condemnation word
    /// (`breivik was a pathetic loser`) is condemned, and the category's exemplar evidence
    /// then counts by the policy's `exemplars.condemned_factor`. A mention in the hate category
    /// names a group of people defined by a protected characteristic instead
    /// ([`LexiconHit::names_protected_group`](super::LexiconHit::names_protected_group)).
    Mention,
    /// A phrase by which the speaker speaks against what the message names: debunks it
    /// (`is a conspiracy myth`, `is een complotmythe`), rejects it (`is never the answer`),
    /// or reports or warns about it (`i reported him`, `deel dat manifest niet`). No evidence
    /// by itself (weight 0). Counter-speech answers hate and violent extremism alike
    /// ([`Kind::COUNTERED`]; `white genocide is a conspiracy myth` answers both): the scorer
    /// multiplies the message's hate and extremism scores by the policy's
    /// `cascade.counter_speech_factor`, unless the category has a lexicon hit that is neither
    /// softened nor condemned where it stands. It condemns no other hit. The entry's own
    /// category (one of the two) says which it mostly answers.
    CounterSpeech,
}

impl Kind {
    /// The categories counter-speech ([`Kind::CounterSpeech`]) answers.
    pub const COUNTERED: [Category; 2] = [Category::Hate, Category::Extremism];

    /// Whether hits of this kind only tell the scorer the stance of a message (mentions and
    /// counter-speech): weight 0, never evidence, never reported.
    pub fn is_stance_only(self) -> bool {
        matches!(self, Kind::Mention | Kind::CounterSpeech)
    }

    /// The `match_on` used when an entry does not set one.
    pub(crate) fn default_target(self) -> MatchOn {
        match self {
            Kind::NumberCode | Kind::Emoji | Kind::Symbol => MatchOn::Folded,
            _ => MatchOn::Both,
        }
    }
}

/// Which normalised field of a message a pattern is matched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MatchOn {
    /// `Normalized::text` (leetspeak mapped, repeats squeezed, spaced letters joined).
    Text,
    /// `Normalized::folded` (digits, repeats and spacing as written).
    Folded,
    /// Both, one hit per entry.
    Both,
}

/// A line and column (both from 1) in a lexicon file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Loc {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Loc {
    /// The line and column of byte `offset` in `src` (columns count characters).
    pub(crate) fn at(src: &str, offset: usize) -> Loc {
        LineIndex::new(src).loc(offset)
    }
}

/// Where each line of a source starts, so that a file's many spans become lines and columns
/// without rescanning the text before each of them.
struct LineIndex<'a> {
    src: &'a str,
    /// Byte offset of each line's first character; the first is 0.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(src: &'a str) -> LineIndex<'a> {
        let starts = std::iter::once(0)
            .chain(src.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { src, starts }
    }

    /// The line and column of byte `offset` (moved back to a character boundary, at most the
    /// end of the text).
    fn loc(&self, offset: usize) -> Loc {
        let mut offset = offset.min(self.src.len());
        while !self.src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset);
        let line_start = line
            .checked_sub(1)
            .and_then(|i| self.starts.get(i))
            .copied()
            .unwrap_or(0);
        let column = self
            .src
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        Loc { line, column }
    }
}

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located<T> {
    pub(crate) value: T,
    pub(crate) loc: Loc,
}

/// One parsed lexicon file.
#[derive(Debug, Clone)]
pub(crate) struct FileSpec {
    /// Where the file came from (a path or a name given by the caller).
    pub(crate) origin: String,
    /// The file's data version.
    pub(crate) version: String,
    /// Named word lists: name → (where defined, words).
    pub(crate) lists: Vec<(Located<String>, Vec<Located<String>>)>,
    /// The entries, in file order.
    pub(crate) entries: Vec<EntrySpec>,
}

impl FileSpec {
    /// An error at `loc` in this file.
    pub(crate) fn error(&self, loc: Loc, message: impl fmt::Display) -> LexiconError {
        invalid(&self.origin, loc, message)
    }
}

/// One parsed entry.
#[derive(Debug, Clone)]
pub(crate) struct EntrySpec {
    pub(crate) id: Located<String>,
    pub(crate) category: Category,
    pub(crate) weight: f32,
    pub(crate) lang: String,
    pub(crate) kind: Kind,
    pub(crate) description: String,
    pub(crate) source: Option<String>,
    pub(crate) patterns: Vec<Located<String>>,
    pub(crate) match_on: MatchOn,
    pub(crate) compact: bool,
    pub(crate) context: ContextSpec,
}

/// The parsed context rules of one entry.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContextSpec {
    pub(crate) window: usize,
    pub(crate) cue_window: usize,
    /// How far `soften_near`, `condemn_near` and `discuss_near` look (default: `window`).
    pub(crate) stance_window: usize,
    pub(crate) forbid_near: Vec<Located<String>>,
    pub(crate) require_any: Vec<Located<String>>,
    pub(crate) require_all: Vec<Located<String>>,
    pub(crate) soften_near: Vec<Located<String>>,
    pub(crate) condemn_near: Vec<Located<String>>,
    pub(crate) discuss_near: Vec<Located<String>>,
    /// Words that, as the token (or tokens) right after the match, mark it discussed.
    pub(crate) discuss_next: Vec<Located<String>>,
    pub(crate) soften_factor: f32,
    pub(crate) standalone: bool,
    pub(crate) embedded: bool,
    pub(crate) with_other_hit: bool,
}

/// Builds the file:line:column error.
pub(crate) fn invalid(origin: &str, loc: Loc, message: impl fmt::Display) -> LexiconError {
    LexiconError::Invalid {
        origin: origin.to_owned(),
        line: loc.line,
        column: loc.column,
        message: message.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Raw serde shapes.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Spanned<String>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "free-text field for data authors, accepted and ignored"
    )]
    about: Option<String>,
    #[serde(default)]
    lists: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    #[serde(default, rename = "entry")]
    entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Spanned<String>,
    category: Category,
    weight: Spanned<Unit>,
    lang: Spanned<String>,
    kind: Kind,
    description: Spanned<String>,
    patterns: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    match_on: Option<MatchOn>,
    #[serde(default)]
    compact: Option<bool>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    context: RawContext,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawContext {
    #[serde(default)]
    window: Option<Window>,
    #[serde(default)]
    cue_window: Option<Window>,
    #[serde(default)]
    stance_window: Option<Window>,
    #[serde(default)]
    forbid_near: Vec<Spanned<String>>,
    #[serde(default)]
    require_any: Vec<Spanned<String>>,
    #[serde(default)]
    require_all: Vec<Spanned<String>>,
    #[serde(default)]
    soften_near: Vec<Spanned<String>>,
    #[serde(default)]
    condemn_near: Vec<Spanned<String>>,
    #[serde(default)]
    discuss_near: Vec<Spanned<String>>,
    #[serde(default)]
    discuss_next: Vec<Spanned<String>>,
    #[serde(default)]
    soften_factor: Option<Unit>,
    #[serde(default)]
    standalone: bool,
    #[serde(default)]
    embedded: bool,
    #[serde(default)]
    with_other_hit: bool,
}

/// A number in `[0, 1]`, checked while parsing so the error carries the value's position.
struct Unit(f32);

impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(deserializer)?;
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Ok(Unit(v as f32))
        } else {
            Err(de::Error::custom(format!(
                "{v} is out of range: expected a number from 0 to 1"
            )))
        }
    }
}

/// A token count in `0..=MAX_WINDOW`, checked while parsing.
struct Window(usize);

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(deserializer)?;
        match usize::try_from(v) {
            Ok(w) if w <= MAX_WINDOW => Ok(Window(w)),
            _ => Err(de::Error::custom(format!(
                "{v} is out of range: expected a token count from 0 to {MAX_WINDOW}"
            ))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing and per-file checks.

/// Parses and checks one lexicon file. Checks that need every file (duplicate ids, word list
/// references, patterns) happen when the lexicon is built.
pub(crate) fn parse_file(src: &str, origin: &str) -> Result<FileSpec, LexiconError> {
    let raw: RawFile = toml::from_str(src).map_err(|e| {
        let loc = e
            .span()
            .map_or(Loc { line: 1, column: 1 }, |s| Loc::at(src, s.start));
        invalid(origin, loc, e.message().trim_end())
    })?;
    let file = SourceFile {
        lines: LineIndex::new(src),
        origin,
    };
    let version = file.version(&raw.version)?;
    let lists = raw
        .lists
        .iter()
        .map(|(name, words)| file.list(name, words))
        .collect::<Result<_, _>>()?;
    let entries = raw
        .entries
        .into_iter()
        .map(|e| file.entry(e))
        .collect::<Result<_, _>>()?;
    Ok(FileSpec {
        origin: origin.to_owned(),
        version,
        lists,
        entries,
    })
}

/// One file's text and name, for turning spans into located values and errors.
struct SourceFile<'a> {
    lines: LineIndex<'a>,
    origin: &'a str,
}

impl SourceFile<'_> {
    fn err(&self, span: Range<usize>, message: impl fmt::Display) -> LexiconError {
        invalid(self.origin, self.lines.loc(span.start), message)
    }

    fn located(&self, s: &Spanned<String>) -> Located<String> {
        Located {
            value: s.get_ref().clone(),
            loc: self.lines.loc(s.span().start),
        }
    }

    fn located_all(&self, words: &[Spanned<String>]) -> Vec<Located<String>> {
        words.iter().map(|w| self.located(w)).collect()
    }

    /// Every word of a rule or list must be a valid word or `@list` reference.
    fn check_words<'w>(
        &self,
        words: impl IntoIterator<Item = &'w Spanned<String>>,
    ) -> Result<(), LexiconError> {
        for w in words {
            check_word(w.get_ref()).map_err(|m| self.err(w.span(), m))?;
        }
        Ok(())
    }

    fn version(&self, version: &Spanned<String>) -> Result<String, LexiconError> {
        let value = version.get_ref().trim().to_owned();
        let valid = !value.is_empty()
            && value.len() <= 40
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c));
        if valid {
            Ok(value)
        } else {
            Err(self.err(
                version.span(),
                format!(
                    "invalid version {value:?}: use letters, digits and . _ - + (e.g. \"2026.11.1\")"
                ),
            ))
        }
    }

    fn list(
        &self,
        name: &Spanned<String>,
        words: &[Spanned<String>],
    ) -> Result<(Located<String>, Vec<Located<String>>), LexiconError> {
        if !is_identifier(name.get_ref()) {
            return Err(self.err(
                name.span(),
                format!("invalid list name {:?}: use a-z, 0-9 and _", name.get_ref()),
            ));
        }
        self.check_words(words)?;
        if let Some(w) = words.iter().find(|w| w.get_ref().starts_with('@')) {
            return Err(self.err(w.span(), "a word list cannot refer to another list"));
        }
        Ok((self.located(name), self.located_all(words)))
    }

    fn entry(&self, e: RawEntry) -> Result<EntrySpec, LexiconError> {
        let id = e.id.get_ref();
        let id_ok = !id.is_empty()
            && id.len() <= 80
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !id_ok {
            return Err(self.err(
                e.id.span(),
                format!("invalid id {id:?}: use a-z, 0-9, '.', '_' and '-'"),
            ));
        }
        let lang = e.lang.get_ref();
        let lang_ok = lang == "any"
            || ((2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase()));
        if !lang_ok {
            return Err(self.err(
                e.lang.span(),
                format!(
                    "invalid lang {lang:?}: use an ISO 639 code such as \"en\" or \"nl\", or \"any\""
                ),
            ));
        }
        let description = e.description.get_ref().trim();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(self.err(
                e.description.span(),
                format!("description must be 1 to {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if e.patterns.get_ref().is_empty() {
            return Err(self.err(e.patterns.span(), format!("entry {id:?} has no patterns")));
        }
        let weight = e.weight.get_ref().0;
        if e.kind.is_stance_only() && weight != 0.0 {
            let kind = if e.kind == Kind::Mention {
                "a mention"
            } else {
                "counter-speech"
            };
            return Err(self.err(
                e.weight.span(),
                format!(
                    "entry {id:?} is {kind}, which is no evidence by itself: its weight must be 0"
                ),
            ));
        }
        if e.kind == Kind::CounterSpeech && !Kind::COUNTERED.contains(&e.category) {
            return Err(self.err(
                e.id.span(),
                format!("entry {id:?} is counter-speech, which answers hate and extremism: its category must be one of them"),
            ));
        }
        for p in e.patterns.get_ref() {
            check_pattern(p.get_ref()).map_err(|m| self.err(p.span(), m))?;
        }
        Ok(EntrySpec {
            id: self.located(&e.id),
            category: e.category,
            weight,
            lang: lang.clone(),
            kind: e.kind,
            description: description.to_owned(),
            source: e.source,
            patterns: self.located_all(e.patterns.get_ref()),
            match_on: e.match_on.unwrap_or_else(|| e.kind.default_target()),
            compact: e.compact.unwrap_or(true),
            context: self.context(&e.context)?,
        })
    }

    fn context(&self, c: &RawContext) -> Result<ContextSpec, LexiconError> {
        self.check_words(
            c.forbid_near
                .iter()
                .chain(&c.require_any)
                .chain(&c.require_all)
                .chain(&c.soften_near)
                .chain(&c.condemn_near)
                .chain(&c.discuss_near)
                .chain(&c.discuss_next),
        )?;
        let window = c.window.as_ref().map_or(3, |w| w.0);
        Ok(ContextSpec {
            window,
            cue_window: c.cue_window.as_ref().map_or(0, |w| w.0),
            stance_window: c.stance_window.as_ref().map_or(window, |w| w.0),
            forbid_near: self.located_all(&c.forbid_near),
            require_any: self.located_all(&c.require_any),
            require_all: self.located_all(&c.require_all),
            soften_near: self.located_all(&c.soften_near),
            condemn_near: self.located_all(&c.condemn_near),
            discuss_near: self.located_all(&c.discuss_near),
            discuss_next: self.located_all(&c.discuss_next),
            soften_factor: c.soften_factor.as_ref().map_or(0.5, |f| f.0),
            standalone: c.standalone,
            embedded: c.embedded,
            with_other_hit: c.with_other_hit,
        })
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks a pattern's shape: length, wildcards only at the ends.
fn check_pattern(p: &str) -> Result<(), String> {
    let n = p.chars().count();
    if n == 0 || n > MAX_PATTERN_CHARS {
        return Err(format!(
            "pattern must be 1 to {MAX_PATTERN_CHARS} characters"
        ));
    }
    let inner = p.strip_prefix('*').unwrap_or(p);
    let inner = inner.strip_suffix('*').unwrap_or(inner);
    if inner.contains('*') {
        return Err(format!(
            "invalid pattern {p:?}: '*' is only allowed at the start or the end"
        ));
    }
    if inner.trim().is_empty() {
        return Err(format!("invalid pattern {p:?}: nothing to match"));
    }
    Ok(())
}

/// Checks a context word (or an `@list` reference).
fn check_word(w: &str) -> Result<(), String> {
    if let Some(name) = w.strip_prefix('@') {
        return if is_identifier(name) {
            Ok(())
        } else {
            Err(format!("invalid list reference {w:?}"))
        };
    }
    let inner = w.strip_suffix('*').unwrap_or(w);
    if inner.trim().is_empty() || inner.contains('*') || inner.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!(
            "invalid context word {w:?}: one word, optionally ending in '*'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loc_counts_lines_and_chars() {
        let src = "a = 1\nbé = x\n";
        assert_eq!(Loc::at(src, 0), Loc { line: 1, column: 1 });
        assert_eq!(Loc::at(src, 5), Loc { line: 1, column: 6 });
        assert_eq!(Loc::at(src, 6), Loc { line: 2, column: 1 });
        // 'é' is two bytes but one column.
        assert_eq!(Loc::at(src, 11), Loc { line: 2, column: 5 });
        assert_eq!(Loc::at(src, 999), Loc { line: 3, column: 1 });
    }

    #[test]
    fn pattern_shapes() {
        assert!(check_pattern("volksverrader*").is_ok());
        assert!(check_pattern("*").is_err());
        assert!(check_pattern("a*b").is_err());
        assert!(check_pattern("").is_err());
        assert!(check_word("@quantity").is_ok());
        assert!(check_word("@Bad").is_err());
    }
}
