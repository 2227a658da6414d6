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
//! | running it | [`Engine`], [`EngineBuilder`], [`ShutdownGuard`], [`Stats`], [`StoreStats`], [`Verdict`], [`Outcome`], [`ReviewDecision`], [`HttpRuntime`] (and `AsyncEngine`, `ResponseStream` with the `tokio` feature) |
//! | signals in | [`Signal`], [`SignalKind`], [`ChatMessage`], [`PlayerId`], [`AgeBand`] |
//! | responses out | [`Response`], [`Nudge`], [`HelpLink`], [`Referral`], [`Reasons`], [`Risk`], [`TrajectoryPoint`], [`DriftReading`], [`ContextMessage`], [`Hooks`], [`ClosureHooks`], [`BeforeReferral`], [`PlayerKey`] |
//! | scoring alone | [`Scorer`], [`ScorerBuilder`], [`MessageScore`], [`InlineScore`], [`RouteHints`], [`Health`], [`Category`], [`Scores`] |
//! | policy | [`Policy`], [`ResponseLevel`], [`SourceLocation`] |
//! | time | [`Clock`], [`SystemClock`], [`SimulatedClock`], [`Timestamp`] |
//! | errors | [`EngineBuildError`], [`SubmitError`], [`ShutdownError`], [`ScorerBuildError`], [`PolicyError`]; every other one in [`error`] |
//!
//! The modules hold the rest, for integrations that go further: [`referral`] (case packets,
//! signed webhook delivery, verifying signatures), [`telemetry`] (aggregates and exporters),
//! [`store`] (player state shared between servers), [`policy`] (every section of the policy
//! file), [`text`] and [`model`] (the normaliser, lexicon and models on their own). Nothing else
//! is public.

// Every type a public item mentions is re-exported somewhere users can name it.
#![warn(unnameable_types)]

mod cascade;
mod category;
mod clock;
mod config;
mod digest;
mod engine;
pub mod error;
mod hooks;
mod http;
mod location;
pub mod model;
mod player;
pub mod policy;
pub mod prelude;
pub mod referral;
mod response;
mod risk;
mod scorer;
mod signal;
pub mod store;
pub mod telemetry;
pub mod text;
mod trajectory;

pub use cascade::RouteHints;
pub use category::{Category, Scores};
pub use clock::{Clock, SimulatedClock, SystemClock, Timestamp};
#[cfg(feature = "tokio")]
pub use engine::{AsyncEngine, ResponseStream};
pub use engine::{
    Engine, EngineBuildError, EngineBuilder, Outcome, ReviewDecision, ShutdownError, ShutdownGuard,
    Stats, StoreStats, SubmitError, Verdict,
};
pub use hooks::{BeforeReferral, ClosureHooks, Hooks};
pub use http::HttpRuntime;
pub use location::SourceLocation;
pub use player::{PlayerKey, TrajectoryPoint};
pub use policy::{Policy, PolicyError, ResponseLevel};
pub use response::{ContextMessage, HelpLink, Nudge, Reasons, Referral, Response};
pub use risk::Risk;
pub use scorer::{Health, InlineScore, MessageScore, Scorer, ScorerBuildError, ScorerBuilder};
pub use signal::{AgeBand, ChatMessage, PlayerId, Signal, SignalKind};
pub use trajectory::DriftReading;
pub use uuid::Uuid;

/// Not a stable API (cargo feature `internals`): what the SDK's own golden tests and benches
/// check beyond the public API. It may change in any release.
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals {
    // Model file names and the setup command, as the manifests and caches name them.
    pub use crate::model::deep::{ENCODER_MANIFEST_FILE, ENCODER_MODEL_FILE, SENTENCEPIECE_FILE};
    pub use crate::model::deep_head::{HEAD_MANIFEST_FILE, HEAD_MODEL_FILE};
    pub use crate::model::fast::{FAST_MANIFEST_FILE, FAST_MODEL_FILE};
    pub use crate::model::runtime::SETUP_COMMAND;
    pub use crate::model::stance::{STANCE_MANIFEST_FILE, STANCE_MODEL_FILE};
    // The fast tier's featuriser, checked against the training code's golden vectors.
    pub use crate::model::features::{
        FEATURE_DIM, FEATURE_SPEC_VERSION, FeatureCounts, MAX_CHAR_NGRAM, MIN_CHAR_NGRAM,
        STRIP_CHARS, SparseFeatures, featurize, featurize_into, for_each_feature,
    };
    // Building blocks of the ladder, telemetry and model checks.
    pub use crate::digest::sha256_hex;
    pub use crate::policy::ladder::cooldown;
    pub use crate::telemetry::aggregate::{LATENCY_BUCKETS, latency_bucket, latency_bucket_bounds};
    pub use crate::telemetry::privacy::laplace;
}

/// The README's code examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
