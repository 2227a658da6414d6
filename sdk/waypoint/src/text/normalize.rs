//! Normaliser (placeholder: lowercase, whitespace squeeze, truncation).

use serde::Serialize;

/// Options for [`normalize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// Messages longer than this many characters are truncated and flagged with [`Change::Truncated`].
    pub max_chars: usize,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        Self { max_chars: 1024 }
    }
}

/// One kind of change the normaliser made, kept for explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The input was longer than [`NormalizeOptions::max_chars`] and was cut.
    Truncated {
        /// Characters in the input.
        original_chars: usize,
        /// Characters kept.
        kept_chars: usize,
    },
}

/// The result of [`normalize`]: the original text, the normalised text and what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Normalized {
    /// The input, unchanged.
    pub original: String,
    /// The fully normalised text every scorer sees (leetspeak mapped, repeats squeezed).
    pub text: String,
    /// The text folded (NFKC, case, confusables, invisible characters, zalgo) but with digits,
    /// letter repeats and spacing kept: number codes such as `1488` are matched here.
    pub folded: String,
    /// What the normaliser changed, in the order it happened.
    pub changes: Vec<Change>,
}

impl Normalized {
    /// Whether the input was cut at [`NormalizeOptions::max_chars`].
    pub fn truncated(&self) -> bool {
        self.changes.iter().any(|c| matches!(c, Change::Truncated { .. }))
    }
}

/// Normalises `input`. Never panics; the output is never longer than the input's first
/// `options.max_chars` characters allow.
pub fn normalize(input: &str, options: &NormalizeOptions) -> Normalized {
    let mut changes = Vec::new();
    let total = input.chars().count();
    let kept: String = input.chars().take(options.max_chars).collect();
    if total > options.max_chars {
        changes.push(Change::Truncated { original_chars: total, kept_chars: options.max_chars });
    }
    let folded = kept.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
    Normalized { original: input.to_owned(), text: folded.clone(), folded, changes }
}
