//! Extremist-code lexicon (placeholder until the data files land).

use std::path::Path;

use serde::Serialize;

use crate::Category;

/// Errors loading a lexicon.
#[derive(Debug, thiserror::Error)]
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
}

/// A lexicon entry found in a normalised message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LexiconHit {
    /// Stable entry id, e.g. `en.numbers.1488`.
    pub id: String,
    /// Category the entry counts towards.
    pub category: Category,
    /// Evidence weight in `[0, 1]`.
    pub weight: f32,
    /// The matched normalised text.
    pub matched: String,
}

/// The extremist-code lexicon.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {}

impl Lexicon {
    /// Loads every `*.toml` file in `dir`.
    pub fn load_dir(_dir: &Path) -> Result<Lexicon, LexiconError> {
        Ok(Lexicon {})
    }

    /// Finds entries in normalised text.
    pub fn find(&self, _normalized: &crate::text::Normalized) -> Vec<LexiconHit> {
        Vec::new()
    }
}
