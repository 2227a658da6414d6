//! The models on their own: the ONNX Runtime ([`Runtime`]), the fast tier ([`FastModel`],
//! evaluated natively from its ONNX file), the stance model ([`StanceModel`], evaluated the same
//! way), the deep tier ([`DeepTier`]: the multilingual
//! [`DeepEncoder`] with its [`SentencePiece`] tokenizer, and the [`DeepHead`]) and example-based
//! detection ([`ExemplarIndex`]). The [`Scorer`](crate::Scorer) runs them all together.

pub(crate) mod deep;
pub(crate) mod deep_head;
pub(crate) mod exemplars;
pub(crate) mod fast;
pub(crate) mod features;
pub(crate) mod linear;
pub(crate) mod manifest;
pub(crate) mod protobuf;
pub(crate) mod runtime;
pub(crate) mod sentencepiece;
pub(crate) mod stance;

pub use deep::{DeepEncoder, DeepError, EMBEDDING_DIM, Embedding, cosine};
pub use deep_head::{DeepHead, DeepTier, DeepTierError};
pub use exemplars::{
    CategoryEvidence, ExemplarClass, ExemplarFile, ExemplarIndex, ExemplarMatch, ExemplarSet,
    NearestExemplar,
};
pub use fast::{Backend, FastModel, FastScratch, ModelError};
pub use runtime::{Runtime, RuntimeError};
pub use sentencepiece::{Scratch as SentencePieceScratch, SentencePiece, SentencePieceError};
pub use stance::StanceModel;
