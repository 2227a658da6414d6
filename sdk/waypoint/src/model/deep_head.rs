//! The deep tier: the multilingual encoder ([`DeepEncoder`]) followed by a small calibrated head
//! (`models/deep/head.onnx`, committed) giving probabilities for the four categories.
//!
//! Head contract (see `models/train/deep/train_head.py`): input `embeddings` float32
//! `[batch, 512]`, output `probabilities` float32 `[batch, 4]` in
//! [`Category::ALL`](crate::Category::ALL) order. The head's file is checked against the sha256
//! in `models/deep/head_manifest.json` at load time.
//!
//! Every text is embedded ALONE (one encoder run per message): the int8 encoder quantises its
//! activations per batch, so a batched embedding would depend slightly on the other messages in
//! the batch. One run per message keeps a message's score reproducible, and it is how the head
//! was trained. The head then scores all embeddings of a batch in one run (it is a linear map,
//! exact per row).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::TensorRef;

use super::deep::{DeepEncoder, DeepError, EMBEDDING_DIM, Embedding};
use super::manifest::{ModelManifest, VerifyError, read_verified};
use super::runtime::{Runtime, SessionError, check_interface};
use crate::{Category, Scores};

/// File name of the deep-tier head inside the models directory.
pub const HEAD_MODEL_FILE: &str = "deep/head.onnx";
/// File name of the head's manifest inside the models directory.
pub const HEAD_MANIFEST_FILE: &str = "deep/head_manifest.json";

/// Errors loading or running the deep tier.
#[derive(Debug, thiserror::Error)]
pub enum DeepTierError {
    /// The encoder could not be found, loaded or run.
    #[error(transparent)]
    Encoder(#[from] DeepError),
    /// The head's file does not exist.
    #[error("deep-tier head {0} is missing; the models directory must contain {HEAD_MODEL_FILE}")]
    Missing(PathBuf),
    /// The head's manifest is unreadable or malformed, or the file does not match it.
    #[error("deep-tier head manifest {path}: {reason}")]
    Manifest {
        /// The manifest or model file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// ONNX Runtime refused the head.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The head's inputs or outputs are not the contract's.
    #[error("deep-tier head {path} does not follow its contract: {reason}")]
    Contract {
        /// The model file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Running the head failed.
    #[error("deep-tier head inference failed: {0}")]
    Inference(#[source] ort::Error),
    /// The head returned an output of the wrong size.
    #[error("deep-tier head returned {got} values for {rows} rows, expected {rows} × 4")]
    OutputShape {
        /// Values returned.
        got: usize,
        /// Rows given.
        rows: usize,
    },
}

impl From<VerifyError> for DeepTierError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Missing(path) => DeepTierError::Missing(path),
            VerifyError::Unreadable { path, reason }
            | VerifyError::DigestMismatch { path, reason } => {
                DeepTierError::Manifest { path, reason }
            }
        }
    }
}

/// The deep tier's head alone: embeddings in, calibrated probabilities out.
pub struct DeepHead {
    session: Mutex<Session>,
    manifest: ModelManifest,
}

impl std::fmt::Debug for DeepHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeepHead")
            .field("version", &self.manifest.version)
            .finish_non_exhaustive()
    }
}

impl DeepHead {
    /// Loads `deep/head.onnx` from `models_dir`, checking it against its manifest.
    pub fn load(runtime: &Runtime, models_dir: &Path) -> Result<DeepHead, DeepTierError> {
        let (model_path, bytes, manifest) =
            read_verified(models_dir, HEAD_MODEL_FILE, HEAD_MANIFEST_FILE)?;
        let session = runtime.session_from_bytes(&bytes, &model_path)?;
        check_interface(&session, &["embeddings"], "probabilities").map_err(|reason| {
            DeepTierError::Contract {
                path: model_path.clone(),
                reason,
            }
        })?;
        Ok(DeepHead {
            session: Mutex::new(session),
            manifest,
        })
    }

    /// The head's version from its manifest.
    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// Probabilities for each embedding, in order. An empty slice gives an empty vector.
    pub fn score(&self, embeddings: &[Embedding]) -> Result<Vec<Scores>, DeepTierError> {
        if embeddings.is_empty() {
            return Ok(Vec::new());
        }
        let flat: Vec<f32> = embeddings.iter().flatten().copied().collect();
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let inputs = ort::inputs![
            "embeddings" => TensorRef::from_array_view(([embeddings.len(), EMBEDDING_DIM], flat.as_slice()))
                .map_err(DeepTierError::Inference)?,
        ];
        let outputs = session.run(inputs).map_err(DeepTierError::Inference)?;
        let (_, values) = outputs["probabilities"]
            .try_extract_tensor::<f32>()
            .map_err(DeepTierError::Inference)?;
        if values.len() != embeddings.len() * Category::ALL.len() {
            return Err(DeepTierError::OutputShape {
                got: values.len(),
                rows: embeddings.len(),
            });
        }
        Ok(values
            .chunks_exact(Category::ALL.len())
            .map(|row| {
                let mut scores = Scores::default();
                for (category, p) in Category::ALL.into_iter().zip(row) {
                    scores.set(category, *p);
                }
                scores
            })
            .collect())
    }
}

/// The whole deep tier: encoder plus head. Thread-safe; callers take turns.
#[derive(Debug)]
pub struct DeepTier {
    encoder: DeepEncoder,
    head: DeepHead,
}

impl DeepTier {
    /// Loads the encoder from `encoder_dir` and the head from `models_dir`.
    pub fn load(
        runtime: &Runtime,
        encoder_dir: &Path,
        models_dir: &Path,
    ) -> Result<DeepTier, DeepTierError> {
        let head = DeepHead::load(runtime, models_dir)?;
        let encoder = DeepEncoder::load(runtime, encoder_dir)?;
        Ok(DeepTier { encoder, head })
    }

    /// Loads the encoder from the set-up cache ([`DeepEncoder::locate`]) and the head from
    /// `models_dir`.
    pub fn load_default(runtime: &Runtime, models_dir: &Path) -> Result<DeepTier, DeepTierError> {
        let head = DeepHead::load(runtime, models_dir)?;
        let encoder = DeepEncoder::load_default(runtime)?;
        Ok(DeepTier { encoder, head })
    }

    /// The head's version (the deep tier's model version).
    pub fn version(&self) -> &str {
        self.head.version()
    }

    /// The encoder, for inspection and benchmarks.
    pub fn encoder(&self) -> &DeepEncoder {
        &self.encoder
    }

    /// The head, for inspection and tests.
    pub fn head(&self) -> &DeepHead {
        &self.head
    }

    /// Embeddings of `texts`, each text embedded alone (see the module documentation).
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>, DeepTierError> {
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            let mut one = self.encoder.embed_batch(std::slice::from_ref(text))?;
            match one.pop() {
                Some(embedding) if one.is_empty() => out.push(embedding),
                _ => {
                    return Err(DeepTierError::Encoder(DeepError::OutputShape {
                        got: (one.len() + 1) * EMBEDDING_DIM,
                        texts: 1,
                    }));
                }
            }
        }
        Ok(out)
    }

    /// Scores texts (the SDK passes normalised text); one [`Scores`] per text, in order.
    pub fn score(&self, texts: &[&str]) -> Result<Vec<Scores>, DeepTierError> {
        let embeddings = self.embed(texts)?;
        self.head.score(&embeddings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_head_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Ok(runtime) = Runtime::init(None) else {
            return; // no runtime in this environment: nothing to check beyond the path logic
        };
        let err = DeepHead::load(&runtime, dir.path()).expect_err("nothing there");
        assert!(err.to_string().contains(HEAD_MODEL_FILE), "{err}");
    }
}
