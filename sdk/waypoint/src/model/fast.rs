//! The fast tier: hashed n-gram features → a small calibrated ONNX model, inline on the caller's thread.
//!
//! Model contract (see `models/README.md`): inputs `indices` int64 `[batch, L]` and `values`
//! float32 `[batch, L]`, rows padded with index 0 / value 0; output `probabilities` float32
//! `[batch, 4]` in [`Category::ALL`](crate::Category::ALL) order.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;

use super::features::{SparseFeatures, featurize_into};
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
    #[error("model file {0} is missing; the models directory must contain {FAST_MODEL_FILE}")]
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
}

/// What `models/fast/manifest.json` says about the model.
#[derive(Debug, Clone, Deserialize)]
pub struct FastManifest {
    /// Model version, reported in responses and referral packets.
    pub version: String,
    /// sha256 of `fast.onnx`, checked at load time.
    pub sha256: String,
}

struct Buffers {
    features: SparseFeatures,
    indices: Vec<i64>,
    values: Vec<f32>,
}

/// The loaded fast-tier model. Thread-safe; callers on several threads take turns.
pub struct FastModel {
    session: Mutex<Session>,
    buffers: Mutex<Buffers>,
    manifest: FastManifest,
}

impl std::fmt::Debug for FastModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastModel")
            .field("version", &self.manifest.version)
            .finish_non_exhaustive()
    }
}

impl FastModel {
    /// Loads `fast/fast.onnx` from `models_dir`, checking it against its manifest.
    pub fn load(runtime: &Runtime, models_dir: &Path) -> Result<FastModel, ModelError> {
        let model_path = models_dir.join(FAST_MODEL_FILE);
        if !model_path.is_file() {
            return Err(ModelError::Missing(model_path));
        }
        let manifest = read_manifest(&models_dir.join(FAST_MANIFEST_FILE))?;
        let bytes = std::fs::read(&model_path).map_err(|e| ModelError::Manifest {
            path: model_path.clone(),
            reason: e.to_string(),
        })?;
        let digest = crate::digest::sha256_hex(&bytes);
        if digest != manifest.sha256 {
            return Err(ModelError::Contract {
                path: model_path,
                reason: format!(
                    "sha256 is {digest}, the manifest expects {}",
                    manifest.sha256
                ),
            });
        }
        let session = runtime.session(&model_path)?;
        check_interface(&session, &["indices", "values"], "probabilities").map_err(|reason| {
            ModelError::Contract {
                path: model_path.clone(),
                reason,
            }
        })?;
        Ok(FastModel {
            session: Mutex::new(session),
            buffers: Mutex::new(Buffers {
                features: SparseFeatures::default(),
                indices: Vec::new(),
                values: Vec::new(),
            }),
            manifest,
        })
    }

    /// The model version from its manifest.
    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// Scores a batch of normalised texts; one [`Scores`] per text, in order.
    pub fn score_batch<S: AsRef<str>>(&self, normalized: &[S]) -> Result<Vec<Scores>, ModelError> {
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

fn read_manifest(path: &Path) -> Result<FastManifest, ModelError> {
    let manifest_error = |reason: String| ModelError::Manifest {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| manifest_error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| manifest_error(e.to_string()))
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
