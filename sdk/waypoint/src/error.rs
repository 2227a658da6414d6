//! Every public error type in one place. Each operation has its own enum listing only the
//! failures it can really have.

pub use crate::engine::{EngineBuildError, ShutdownError, SubmitError};
pub use crate::model::fast::ModelError;
pub use crate::model::runtime::{RuntimeError, SessionError};
pub use crate::policy::PolicyError;
pub use crate::scorer::ScorerBuildError;
pub use crate::text::LexiconError;
