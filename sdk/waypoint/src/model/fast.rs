//! The fast tier: hashed n-gram features → a small calibrated ONNX model, inline on the caller's thread.
//!
//! Model contract (see `models/README.md`): inputs `indices` int64 `[batch, L]` and `values`
//! float32 `[batch, L]`, rows padded with index 0 / value 0; output `probabilities` float32
//! `[batch, 4]` in [`Category::ALL`](crate::Category::ALL) order.
//!
//! The shipped graph is a linear model, so it is evaluated in Rust from the file's own
//! initializers (see [`super::linear`]): a sparse sum of a few hundred weights per message, no
//! padding, no runtime call. A file whose graph has another shape is run by ONNX Runtime
//! instead, and [`FastModel::backend`] says which one scores.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::TensorRef;

use super::features::{FeatureCounts, SparseFeatures, featurize_into};
use super::linear::{CategoryModel, LinearGraphError};
use super::manifest::{ModelManifest, VerifyError, read_verified};
use super::runtime::{Runtime, SessionError, check_interface};
use crate::Scores;

/// File name of the fast-tier model inside the models directory.
pub const FAST_MODEL_FILE: &str = "fast/fast.onnx";
/// File name of the fast-tier manifest inside the models directory.
pub const FAST_MANIFEST_FILE: &str = "fast/manifest.json";

/// Errors loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file does not exist.
    #[error("model file {0} is missing")]
    Missing(PathBuf),
    /// The manifest next to the model is unreadable or malformed.
    #[error("model manifest {path} is unreadable: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// ONNX Runtime refused the file (corrupt, wrong format).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The model's inputs or outputs do not follow the fast-tier contract.
    #[error("model {path} does not follow the fast-tier contract: {reason}")]
    Contract {
        /// The model file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Running the model failed.
    #[error("fast-tier inference failed: {0}")]
    Inference(#[source] ort::Error),
    /// The graph cannot be evaluated natively (only from [`FastModel::load_native`]; the other
    /// loaders fall back to ONNX Runtime).
    #[error("model {path} cannot be evaluated natively: {source}")]
    NotLinear {
        /// The model file.
        path: PathBuf,
        /// What the graph check found.
        #[source]
        source: LinearGraphError,
    },
    /// The model needs ONNX Runtime, which was not given.
    #[error("model {path} needs ONNX Runtime ({reason}), and none is available: {runtime}")]
    NoRuntime {
        /// The model file.
        path: PathBuf,
        /// Why the graph cannot be evaluated natively.
        reason: LinearGraphError,
        /// Why the runtime is unavailable.
        runtime: String,
    },
}

impl From<VerifyError> for ModelError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Missing(path) => ModelError::Missing(path),
            VerifyError::Unreadable { path, reason } => ModelError::Manifest { path, reason },
            VerifyError::DigestMismatch { path, reason } => ModelError::Contract { path, reason },
        }
    }
}

/// Which engine evaluates the fast-tier model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The linear graph's initializers, evaluated in Rust.
    Native,
    /// ONNX Runtime, because the graph is not the linear shape (the reason is kept).
    OnnxRuntime {
        /// Why the native evaluation refused the graph; `None` when ONNX Runtime was asked for.
        native_refused: Option<LinearGraphError>,
    },
}

/// Reusable per-caller buffers for [`FastModel::score_one`].
#[derive(Debug, Clone, Default)]
pub struct FastScratch {
    pub(super) counts: FeatureCounts,
}

impl FastScratch {
    /// Buffers already sized for normalised texts of up to `max_bytes` bytes.
    pub fn with_capacity(max_bytes: usize) -> Self {
        FastScratch {
            counts: FeatureCounts::with_capacity(max_bytes),
        }
    }
}

struct Buffers {
    features: SparseFeatures,
    indices: Vec<i64>,
    values: Vec<f32>,
}

/// An ONNX Runtime session and its input buffers.
struct RuntimeSession {
    session: Mutex<Session>,
    buffers: Mutex<Buffers>,
}

enum Evaluator {
    Native(CategoryModel),
    Runtime {
        session: RuntimeSession,
        native_refused: Option<LinearGraphError>,
    },
}

/// The loaded fast-tier model. Thread-safe: the native model is shared read-only; with ONNX
/// Runtime, callers on several threads take turns.
pub struct FastModel {
    engine: Evaluator,
    manifest: ModelManifest,
}

impl std::fmt::Debug for FastModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastModel")
            .field("version", &self.manifest.version)
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl FastModel {
    /// Loads `fast/fast.onnx` from `models_dir`, checking it against its manifest. The linear
    /// graph is evaluated natively; any other graph runs in `runtime`.
    pub fn load(runtime: &Runtime, models_dir: &Path) -> Result<FastModel, ModelError> {
        FastModel::load_with(models_dir, || Ok(runtime.clone()))
    }

    /// Like [`FastModel::load`], initialising ONNX Runtime only when the graph needs it.
    pub fn load_with(
        models_dir: &Path,
        runtime: impl FnOnce() -> Result<Runtime, String>,
    ) -> Result<FastModel, ModelError> {
        let (model_path, bytes, manifest) = read_checked(models_dir)?;
        let native_refused = match CategoryModel::from_onnx(&bytes) {
            Ok(model) => {
                return Ok(FastModel {
                    engine: Evaluator::Native(model),
                    manifest,
                });
            }
            Err(reason) => reason,
        };
        log::warn!(
            "fast-tier model {} is scored by ONNX Runtime: {native_refused}",
            model_path.display()
        );
        let runtime = runtime().map_err(|runtime| ModelError::NoRuntime {
            path: model_path.clone(),
            reason: native_refused.clone(),
            runtime,
        })?;
        let session = open_session(&runtime, &bytes, &model_path)?;
        Ok(FastModel {
            engine: Evaluator::Runtime {
                session,
                native_refused: Some(native_refused),
            },
            manifest,
        })
    }

    /// Loads the model for native evaluation only: an error when the graph is not linear.
    pub fn load_native(models_dir: &Path) -> Result<FastModel, ModelError> {
        let (path, bytes, manifest) = read_checked(models_dir)?;
        let model = CategoryModel::from_onnx(&bytes)
            .map_err(|source| ModelError::NotLinear { path, source })?;
        Ok(FastModel {
            engine: Evaluator::Native(model),
            manifest,
        })
    }

    /// Loads the model into ONNX Runtime even when it could be evaluated natively (to compare
    /// the two, or to rule the native evaluation out).
    pub fn load_onnx_runtime(
        runtime: &Runtime,
        models_dir: &Path,
    ) -> Result<FastModel, ModelError> {
        let (model_path, bytes, manifest) = read_checked(models_dir)?;
        Ok(FastModel {
            engine: Evaluator::Runtime {
                session: open_session(runtime, &bytes, &model_path)?,
                native_refused: None,
            },
            manifest,
        })
    }

    /// The model version from its manifest.
    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// Which engine evaluates the model.
    pub fn backend(&self) -> Backend {
        match &self.engine {
            Evaluator::Native(_) => Backend::Native,
            Evaluator::Runtime { native_refused, .. } => Backend::OnnxRuntime {
                native_refused: native_refused.clone(),
            },
        }
    }

    /// Scores one normalised text. Natively this allocates nothing once `scratch` has grown
    /// to the text's length.
    pub fn score_one(
        &self,
        normalized: &str,
        scratch: &mut FastScratch,
    ) -> Result<Scores, ModelError> {
        match &self.engine {
            Evaluator::Native(model) => Ok(model.score(normalized, &mut scratch.counts)),
            Evaluator::Runtime { session, .. } => {
                let mut all = session.score_batch(&[normalized])?;
                Ok(all.pop().unwrap_or_default())
            }
        }
    }

    /// Scores a batch of normalised texts; one [`Scores`] per text, in order.
    pub fn score_batch<S: AsRef<str>>(&self, normalized: &[S]) -> Result<Vec<Scores>, ModelError> {
        match &self.engine {
            Evaluator::Native(model) => {
                let mut counts = FeatureCounts::default();
                Ok(normalized
                    .iter()
                    .map(|text| model.score(text.as_ref(), &mut counts))
                    .collect())
            }
            Evaluator::Runtime { session, .. } => session.score_batch(normalized),
        }
    }
}

/// The fast-tier model's file, its bytes and its manifest, the file's sha256 checked.
fn read_checked(models_dir: &Path) -> Result<(PathBuf, Vec<u8>, ModelManifest), ModelError> {
    Ok(read_verified(
        models_dir,
        FAST_MODEL_FILE,
        FAST_MANIFEST_FILE,
    )?)
}

/// A runtime session over the verified bytes; `model_path` names the file in errors.
fn open_session(
    runtime: &Runtime,
    bytes: &[u8],
    model_path: &Path,
) -> Result<RuntimeSession, ModelError> {
    let session = runtime.session_from_bytes(bytes, model_path)?;
    check_interface(&session, &["indices", "values"], "probabilities").map_err(|reason| {
        ModelError::Contract {
            path: model_path.to_path_buf(),
            reason,
        }
    })?;
    Ok(RuntimeSession {
        session: Mutex::new(session),
        buffers: Mutex::new(Buffers {
            features: SparseFeatures::default(),
            indices: Vec::new(),
            values: Vec::new(),
        }),
    })
}

impl RuntimeSession {
    /// Featurises, pads and runs a batch through ONNX Runtime.
    fn score_batch<S: AsRef<str>>(&self, normalized: &[S]) -> Result<Vec<Scores>, ModelError> {
        if normalized.is_empty() {
            return Ok(Vec::new());
        }
        let mut buffers = self
            .buffers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Buffers {
            features,
            indices,
            values,
        } = &mut *buffers;
        let rows = normalized.len();
        // Featurise every row once, remembering where each starts, then pad to the longest.
        let mut row_lengths = Vec::with_capacity(rows);
        indices.clear();
        values.clear();
        for text in normalized {
            featurize_into(text.as_ref(), features);
            row_lengths.push(features.indices.len());
            indices.extend_from_slice(&features.indices);
            values.extend_from_slice(&features.values);
        }
        let width = row_lengths.iter().copied().max().unwrap_or(0).max(1);
        let (padded_indices, padded_values) = pad_rows(indices, values, &row_lengths, width);
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let shape = [rows, width];
        let inputs = ort::inputs![
            "indices" => TensorRef::from_array_view((shape, padded_indices.as_slice())).map_err(ModelError::Inference)?,
            "values" => TensorRef::from_array_view((shape, padded_values.as_slice())).map_err(ModelError::Inference)?,
        ];
        let outputs = session.run(inputs).map_err(ModelError::Inference)?;
        let (_, probabilities) = outputs["probabilities"]
            .try_extract_tensor::<f32>()
            .map_err(ModelError::Inference)?;
        Ok(probabilities
            .chunks_exact(4)
            .map(|row| {
                let mut scores = Scores::default();
                for (category, p) in crate::Category::ALL.into_iter().zip(row) {
                    scores.set(category, *p);
                }
                scores
            })
            .collect())
    }
}

fn pad_rows(
    indices: &[i64],
    values: &[f32],
    row_lengths: &[usize],
    width: usize,
) -> (Vec<i64>, Vec<f32>) {
    let mut padded_indices = vec![0_i64; row_lengths.len() * width];
    let mut padded_values = vec![0_f32; row_lengths.len() * width];
    let mut start = 0;
    for (row, &len) in row_lengths.iter().enumerate() {
        let out = row * width;
        padded_indices[out..out + len].copy_from_slice(&indices[start..start + len]);
        padded_values[out..out + len].copy_from_slice(&values[start..start + len]);
        start += len;
    }
    (padded_indices, padded_values)
}

#[cfg(test)]
mod tests {
    use super::pad_rows;

    #[test]
    fn rows_are_padded_with_zeros() {
        let (i, v) = pad_rows(&[5, 7, 9], &[0.5, 0.25, 1.0], &[2, 1], 3);
        assert_eq!(i, vec![5, 7, 0, 9, 0, 0]);
        assert_eq!(v, vec![0.5, 0.25, 0.0, 1.0, 0.0, 0.0]);
    }
}
