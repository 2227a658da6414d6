//! Every public error type in one place. Each operation has its own enum listing only the
//! failures it can really have; this module re-exports them all, grouped by the part of the
//! SDK they come from.

// Building and running the engine.
pub use crate::engine::{EngineBuildError, ShutdownError, SubmitError};
// Scoring: the scorer, its models and the runtime they run on.
pub use crate::model::deep::DeepError;
pub use crate::model::deep_head::DeepTierError;
pub use crate::model::exemplars::{ExemplarFileError, ExemplarIndexError};
pub use crate::model::fast::ModelError;
pub use crate::model::linear::LinearGraphError;
pub use crate::model::runtime::{RuntimeError, SessionError};
pub use crate::model::sentencepiece::SentencePieceError;
pub use crate::scorer::{ExemplarLoadError, ScorerBuildError};
pub use crate::text::LexiconError;
// The policy file and its sections.
pub use crate::policy::PolicyError;
pub use crate::referral::ReferralConfigError;
pub use crate::store::StoreConfigError;
pub use crate::telemetry::TelemetryConfigError;
// Referral delivery.
pub use crate::referral::{SendError, SignError, SpoolError, StartError, VerifyError};
// Telemetry.
pub use crate::telemetry::{
    ExporterSpawnError, FlushError, RecordError, SinkError, TelemetryBuildError,
};
// The shared player store and the HTTP client.
pub use crate::http::HttpError;
pub use crate::store::StoreError;
