//! Models: the featuriser, ONNX Runtime discovery and sessions, the fast tier (evaluated natively
//! from its ONNX file), the deep tier.

pub mod deep;
pub mod deep_head;
pub mod exemplars;
pub mod fast;
pub mod features;
pub mod linear;
pub(crate) mod protobuf;
pub mod runtime;
pub mod sentencepiece;

pub use deep::{DeepEncoder, DeepError, EMBEDDING_DIM, Embedding};
pub use deep_head::{DeepHead, DeepTier, DeepTierError};
pub use fast::{Backend, FastModel, FastScratch, ModelError};
pub use features::{
    FEATURE_DIM, FeatureCounts, SparseFeatures, featurize, featurize_into, for_each_feature,
};
pub use runtime::{Runtime, RuntimeError};
pub use sentencepiece::{SentencePiece, SentencePieceError};
