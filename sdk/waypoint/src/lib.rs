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
//!
//! ## The API at a glance
//!
//! `use waypoint::prelude::*;` brings in what a game server needs day to day. At the crate root:
//!
//! | for | items |
//! |---|---|
//! | running it | [`Engine`], [`EngineBuilder`], [`ShutdownGuard`], [`Stats`], [`Verdict`], [`Outcome`], [`ReviewDecision`] (and `AsyncEngine`, `ResponseStream` with the `tokio` feature) |
//! | signals in | [`Signal`], [`ChatMessage`], [`PlayerId`], [`AgeBand`] |
//! | responses out | [`Response`], [`Nudge`], [`HelpLink`], [`Referral`], [`Reasons`], [`ContextMessage`], [`Hooks`], [`ClosureHooks`], [`BeforeReferral`], [`PlayerKey`] |
//! | scoring alone | [`Scorer`], [`ScorerBuilder`], [`MessageScore`], [`InlineScore`], [`Health`], [`Category`], [`Scores`] |
//! | policy | [`Policy`], [`ResponseLevel`], [`SourceLocation`] |
//! | time | [`Clock`], [`SystemClock`], [`SimulatedClock`], [`Timestamp`] |
//! | errors | [`EngineBuildError`], [`SubmitError`], [`ShutdownError`], [`ScorerBuildError`], [`PolicyError`]; every other one in [`error`] |
//!
//! The modules hold the rest, for integrations that go further: [`referral`] (case packets,
//! signed webhook delivery, verifying signatures), [`telemetry`] (aggregates and exporters),
//! [`store`] (player state shared between servers), [`policy`] (every section of the policy
//! file), [`text`] and [`model`] (the normaliser, lexicon and models on their own).

pub mod cascade;
pub mod category;
pub mod clock;
mod config;
pub mod digest;
pub mod engine;
pub mod error;
pub mod hooks;
pub mod http;
pub mod location;
pub mod model;
pub mod player;
pub mod policy;
pub mod prelude;
pub mod referral;
pub mod response;
pub mod risk;
pub mod scorer;
pub mod signal;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod trajectory;

pub use category::{Category, Scores};
pub use clock::{Clock, SimulatedClock, SystemClock, Timestamp};
#[cfg(feature = "tokio")]
pub use engine::{AsyncEngine, ResponseStream};
pub use engine::{
    Engine, EngineBuildError, EngineBuilder, Outcome, ReviewDecision, ShutdownError, ShutdownGuard,
    Stats, SubmitError, Verdict,
};
pub use hooks::{BeforeReferral, ClosureHooks, Hooks};
pub use location::SourceLocation;
pub use player::PlayerKey;
pub use policy::{Policy, PolicyError, ResponseLevel};
pub use response::{ContextMessage, HelpLink, Nudge, Reasons, Referral, Response};
pub use scorer::{Health, InlineScore, MessageScore, Scorer, ScorerBuildError, ScorerBuilder};
pub use signal::{AgeBand, ChatMessage, PlayerId, Signal};
pub use uuid::Uuid;

/// The README's code examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
