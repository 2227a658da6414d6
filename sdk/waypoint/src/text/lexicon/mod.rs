//! The extremist-code lexicon: versioned TOML data (`models/lexicon/*.toml`) and a one-pass matcher.
//!
//! Entries describe number codes (`1488`), slogans (`day of the rope`), euphemisms (`omvolking`),
//! recruitment phrases, glorification of attackers, attack announcements, real-world threat
//! anchors (`i know where you live` with a harm word) and emoji/symbol codes, in English, Dutch
//! or any language. Each entry carries context rules, written as data, that keep innocent uses
//! (`88 kills`, `i'm 14`, `level 88`) from counting. The file format is documented in
//! `models/lexicon/README.md`.
//!
//! ```
//! use waypoint::text::{Lexicon, NormalizeOptions, normalize};
//!
//! let lexicon = Lexicon::from_toml_str(
//!     r#"
//!     version = "2026.11.1"
//!
//!     [[entry]]
//!     id = "any.num.1488"
//!     category = "extremism"
//!     weight = 0.85
//!     lang = "any"
//!     kind = "number_code"
//!     description = "14 words + 88 (HH): white-supremacist sign-off."
//!     patterns = ["1488", "14 88"]
//!     context = { forbid_near = ["points", "kills"] }
//!     "#,
//!     "example.toml",
//! )?;
//! let hits = lexicon.find(&normalize("xX1488Xx", &NormalizeOptions::default()));
//! assert_eq!(hits[0].id, "any.num.1488");
//! assert!(lexicon.find(&normalize("1488 points!", &NormalizeOptions::default())).is_empty());
//! # Ok::<(), waypoint::text::LexiconError>(())
//! ```

mod context;
mod format;
mod group_names;
mod matcher;
mod tokens;

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

pub use format::Kind;

use crate::Category;
use crate::text::Normalized;
use format::FileSpec;
use group_names::GroupNames;
use matcher::{FindScratch, Matcher};

/// Errors loading a lexicon.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LexiconError {
    /// A lexicon file could not be read.
    #[error("cannot read lexicon file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The lexicon directory could not be listed.
    #[error("cannot list lexicon directory {path}: {source}")]
    ReadDir {
        /// The directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The lexicon directory holds no `*.toml` file.
    #[error("no *.toml lexicon files in {path}")]
    NoFiles {
        /// The directory.
        path: String,
    },
    /// A file is not valid TOML, or a value in it is invalid (unknown field, weight out of
    /// range, duplicate id, unknown word list, pattern that normalises to nothing, …).
    #[error("{origin}:{line}:{column}: {message}")]
    Invalid {
        /// The file (path or name given to [`Lexicon::from_toml_str`]).
        origin: String,
        /// Line, from 1.
        line: usize,
        /// Column in characters, from 1.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The pattern automaton could not be built (far more patterns than a lexicon needs).
    #[error("cannot build the lexicon matcher: {message}")]
    Build {
        /// The automaton builder's message.
        message: String,
    },
}

/// Which normalised field of a message a hit was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// [`Normalized::text`]: leetspeak mapped, repeats squeezed, spaced letters joined.
    Text,
    /// [`Normalized::folded`]: digits and spacing as written (number codes, emoji).
    Folded,
}

impl Field {
    /// Position in per-field arrays.
    pub(crate) const fn index(self) -> usize {
        match self {
            Field::Text => 0,
            Field::Folded => 1,
        }
    }

    /// This field of a normalised message.
    pub(crate) fn of(self, n: &Normalized) -> &str {
        match self {
            Field::Text => &n.text,
            Field::Folded => &n.folded,
        }
    }
}

/// Which context rule let a hit count, for explanations and statements of reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// The entry has no gate: the pattern alone counts (unless a forbidden word is near).
    Pattern,
    /// The match was the whole message (emoji aside).
    Standalone,
    /// The match was glued to letters in a name- or tag-like token (`xx1488xx`).
    Embedded,
    /// A cue word from the entry's `require_any` list was near, or (for an entry with no gate)
    /// every item of its `require_all` list was.
    Cue,
    /// Another lexicon entry hit in the same message.
    OtherHit,
}

/// A lexicon entry found in a normalised message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LexiconHit {
    /// Stable entry id, e.g. `any.num.1488`.
    pub id: String,
    /// Category the entry counts towards.
    pub category: Category,
    /// Evidence weight in `[0, 1]`: the entry's weight, lowered if `softened`.
    pub weight: f32,
    /// The matched text, as it appears in the normalised `field`.
    pub matched: String,
    /// Language of the entry: an ISO 639 code such as `en` or `nl`, or `any`.
    pub lang: String,
    /// What kind of code the entry is.
    pub kind: Kind,
    /// Reviewer-facing explanation of what the code means.
    pub description: String,
    /// The normalised field the match was found in.
    pub field: Field,
    /// Byte span of `matched` in that field.
    pub span: Range<usize>,
    /// The context rule that let the hit count.
    pub rule: MatchRule,
    /// A critical or reporting frame (`conspiracy theory`, `complottheorie`) was near, so the
    /// weight was multiplied by the entry's `soften_factor`.
    pub softened: bool,
    /// A word of the entry's `condemn_near` was near (`sick`, `banned`, `gerapporteerd`): the
    /// speaker condemns, reports or bans what was matched. Implies `softened`; the scorer then
    /// discounts the category's exemplar evidence too (`exemplars.condemned_factor`).
    pub condemned: bool,
    /// A word of the entry's `discuss_near` was near (`is a nazi code`, `staat voor`, `keeps
    /// typing`), or one of its `discuss_next` came right after the match (`the 14 words guy`):
    /// the speaker explains what was matched or reports someone else's use of it.
    /// Implies `softened`. When every hit of hate or extremism in a message is discussed, the
    /// scorer scales that category as it does for counter-speech
    /// (`cascade.counter_speech_factor`).
    pub discussed: bool,
}

impl LexiconHit {
    /// Whether the hit is a [`Kind::Mention`]: weight 0, no evidence, only the stance of a
    /// message that names a movement. The scorer reads it and leaves it out of what it reports.
    pub fn is_mention(&self) -> bool {
        self.kind == Kind::Mention
    }

    /// Whether the hit is a [`Kind::CounterSpeech`] phrase: weight 0, no evidence; the speaker
    /// speaks against what the message names.
    pub fn is_counter_speech(&self) -> bool {
        self.kind == Kind::CounterSpeech
    }

    /// Whether the hit is a mention of a group of people defined by a protected characteristic
    /// (a [`Kind::Mention`] in the hate category, `any.mention.protected_group`): it tells the
    /// scorer that a message names a group that hate speech could target.
    pub fn names_protected_group(&self) -> bool {
        self.is_mention() && self.category == Category::Hate
    }
}

/// Public description of one entry (for listings and tools).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryInfo {
    /// Stable entry id.
    pub id: String,
    /// Category the entry counts towards.
    pub category: Category,
    /// Evidence weight in `[0, 1]`.
    pub weight: f32,
    /// ISO 639 language code, or `any`.
    pub lang: String,
    /// What kind of code the entry is.
    pub kind: Kind,
    /// Reviewer-facing explanation.
    pub description: String,
    /// Where the knowledge comes from, if the data names it.
    pub source: Option<String>,
}

/// Reusable working buffers for [`Lexicon::find_with`] (one per thread that matches).
#[derive(Debug, Clone, Default)]
pub struct LexiconScratch(FindScratch);

/// Collects lexicon files and builds a [`Lexicon`] from all of them at once, so word lists
/// defined in one file can be used by entries in another and ids are unique across files.
#[derive(Debug, Clone, Default)]
pub struct LexiconBuilder {
    files: Vec<FileSpec>,
}

impl LexiconBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one file's text; `origin` names it in error messages.
    pub fn add_toml_str(&mut self, src: &str, origin: &str) -> Result<&mut Self, LexiconError> {
        self.files.push(format::parse_file(src, origin)?);
        Ok(self)
    }

    /// Reads and parses one file.
    pub fn add_file(&mut self, path: &Path) -> Result<&mut Self, LexiconError> {
        let src = std::fs::read_to_string(path).map_err(|source| LexiconError::Read {
            path: path.display().to_string(),
            source,
        })?;
        self.add_toml_str(&src, &path.display().to_string())
    }

    /// Builds the lexicon: checks ids, list references and patterns across all files.
    pub fn build(&self) -> Result<Lexicon, LexiconError> {
        let matcher = Matcher::compile(&self.files)?;
        Ok(Lexicon {
            inner: Arc::new(Inner {
                version: combined_version(&self.files),
                files: self.files.clone(),
                matcher,
                group_names: GroupNames::collect(&self.files),
            }),
        })
    }
}

/// The extremist-code lexicon. Cheap to clone (shared, immutable) and `Send + Sync`.
#[derive(Clone, Default)]
pub struct Lexicon {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    version: String,
    files: Vec<FileSpec>,
    matcher: Matcher,
    group_names: GroupNames,
}

impl fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lexicon")
            .field("version", &self.inner.version)
            .field("files", &self.inner.files.len())
            .field("entries", &self.len())
            .finish()
    }
}

impl Lexicon {
    /// Loads every `*.toml` file in `dir`, in file-name order.
    pub fn load_dir(dir: &Path) -> Result<Lexicon, LexiconError> {
        let read_dir = |source| LexiconError::ReadDir {
            path: dir.display().to_string(),
            source,
        };
        let mut paths = Vec::new();
        for item in std::fs::read_dir(dir).map_err(read_dir)? {
            let path = item.map_err(read_dir)?.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            return Err(LexiconError::NoFiles {
                path: dir.display().to_string(),
            });
        }
        paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        let mut builder = LexiconBuilder::new();
        for path in &paths {
            builder.add_file(path)?;
        }
        builder.build()
    }

    /// Builds a lexicon from one file's text; `origin` names it in error messages. The file must
    /// be self-contained (use [`LexiconBuilder`] when entries use word lists from another file).
    pub fn from_toml_str(src: &str, origin: &str) -> Result<Lexicon, LexiconError> {
        LexiconBuilder::new().add_toml_str(src, origin)?.build()
    }

    /// A lexicon holding the files of `self` and then `other`; fails like a load would
    /// (for example on an id present in both).
    pub fn merge(&self, other: &Lexicon) -> Result<Lexicon, LexiconError> {
        let files = self
            .inner
            .files
            .iter()
            .chain(&other.inner.files)
            .cloned()
            .collect();
        LexiconBuilder { files }.build()
    }

    /// The data version: the files' common `version`, or `file=version` pairs joined by `;`
    /// when they differ. Empty for an empty lexicon.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.inner.matcher.infos.len()
    }

    /// Whether the lexicon has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries, in load order.
    pub fn entries(&self) -> &[EntryInfo] {
        &self.inner.matcher.infos
    }

    /// Finds entries in a normalised message: at most one hit per entry, ordered by field
    /// (`text` first) and position. Number codes and emoji are matched on `folded`, words on
    /// `text` and `folded` unless an entry says otherwise. Never panics; allocation-light, one
    /// automaton pass per field. Mentions ([`LexiconHit::is_mention`]) are included.
    pub fn find(&self, normalized: &Normalized) -> Vec<LexiconHit> {
        self.find_with(normalized, &mut LexiconScratch::default())
    }

    /// [`Lexicon::find`] with reusable buffers: allocates nothing when nothing is found, once
    /// `scratch` has grown to the message length.
    pub fn find_with(
        &self,
        normalized: &Normalized,
        scratch: &mut LexiconScratch,
    ) -> Vec<LexiconHit> {
        self.inner.matcher.find(normalized, &mut scratch.0)
    }

    /// Whether the message names a group of people loosely: it holds a group name (a
    /// single-word pattern of five letters or more of a hate-category mention entry) anywhere,
    /// run together with other words included (`ikhaatmoslims`), or has a word that is such a
    /// name with one letter dropped, added or changed, or two neighbouring letters swapped
    /// (`wmoen`), or two neighbouring words that are such a name with a space typed into it
    /// (`immi granten`, `j ews`; names of four letters included, and never joined with a
    /// word that stands on its own, `pot en pan`): spellings [`Lexicon::find`] does not
    /// match. Looks at the `text` and `folded` fields; never panics.
    pub fn names_group_loosely(&self, normalized: &Normalized) -> bool {
        let names = &self.inner.group_names;
        names.loosely_in(&normalized.text)
            || (normalized.folded != normalized.text && names.loosely_in(&normalized.folded))
    }
}

/// One version if all files agree, else `stem=version;…` in load order.
fn combined_version(files: &[FileSpec]) -> String {
    let Some(first) = files.first() else {
        return String::new();
    };
    if files.iter().all(|f| f.version == first.version) {
        return first.version.clone();
    }
    files
        .iter()
        .map(|f| {
            let stem = Path::new(&f.origin)
                .file_stem()
                .map_or_else(|| f.origin.clone(), |s| s.to_string_lossy().into_owned());
            format!("{stem}={}", f.version)
        })
        .collect::<Vec<_>>()
        .join(";")
}
