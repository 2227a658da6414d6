//! Text handling: the obfuscation-proof normaliser and the extremist-code lexicon.
//!
//! Everything downstream (featuriser, lexicon, models) sees only normalised text, so the
//! same normaliser must be used at training time (`waypoint normalize`) and at run time.

mod lexicon;
mod normalize;

pub use lexicon::{
    EntryInfo, Field, Kind, Lexicon, LexiconBuilder, LexiconError, LexiconHit, LexiconScratch,
    MatchRule,
};
pub use normalize::{
    Change, NormalizeOptions, NormalizeScratch, Normalized, normalize, normalize_into,
};
