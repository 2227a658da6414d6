//! # Waypoint
//!
//! Graduated, non-punitive player-safety responses for game servers. Waypoint scores chat and
//! behaviour signals with a local ONNX model and an extremist-code lexicon, and answers with a
//! nudge, a help link, or a referral to human review — never a punishment.
//!
//! ```no_run
//! use waypoint::Scorer;
//!
//! # fn main() -> Result<(), waypoint::ScorerBuildError> {
//! let scorer = Scorer::builder().models_dir("models").build()?;
//! let scored = scorer.score("y0u r a w0rthl3ss 1d10t");
//! println!("{:?} because {:?}", scored.decision.level, scored.decision.reasons);
//! # Ok(())
//! # }
//! ```

pub mod category;
pub mod digest;
pub mod error;
pub mod location;
pub mod model;
pub mod policy;
pub mod scorer;
pub mod text;

pub use category::{Category, Scores};
pub use location::SourceLocation;
pub use policy::{Policy, PolicyError, ResponseLevel};
pub use scorer::{Health, MessageScore, Scorer, ScorerBuildError, ScorerBuilder};
