//! Models: the featuriser, ONNX Runtime discovery and sessions, the fast tier, the deep tier.

pub mod deep;
pub mod deep_head;
pub mod exemplars;
pub mod fast;
pub mod features;
pub mod runtime;
pub mod sentencepiece;

pub use deep::{DeepEncoder, DeepError, EMBEDDING_DIM, Embedding};
pub use deep_head::{DeepHead, DeepTier, DeepTierError};
pub use fast::{FastModel, ModelError};
pub use features::{FEATURE_DIM, SparseFeatures, featurize, featurize_into};
pub use runtime::{Runtime, RuntimeError};
pub use sentencepiece::{SentencePiece, SentencePieceError};
