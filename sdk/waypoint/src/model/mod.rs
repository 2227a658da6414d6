//! Models: the featuriser, ONNX Runtime discovery and sessions, the fast tier.

pub mod fast;
pub mod features;
pub mod runtime;

pub use fast::{FastModel, ModelError};
pub use features::{FEATURE_DIM, SparseFeatures, featurize, featurize_into};
pub use runtime::{Runtime, RuntimeError};
