//! The manifest of a model file (`models/fast/manifest.json`, `models/stance/manifest.json`,
//! `models/deep/head_manifest.json`): its version and the sha256 the file is checked against at
//! load time.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why a model file could not be verified against its manifest (converted into the loading
/// model's own error).
#[derive(Debug)]
pub(crate) enum VerifyError {
    /// The model file does not exist.
    Missing(PathBuf),
    /// The manifest or the model file cannot be read, or the manifest is malformed.
    Unreadable {
        /// The file that could not be read.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The model file's sha256 is not the manifest's.
    DigestMismatch {
        /// The model file.
        path: PathBuf,
        /// Both digests.
        reason: String,
    },
}

/// What a model's manifest says about its model file (other fields are ignored here).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ModelManifest {
    /// Model version, reported in responses and referral packets.
    pub version: String,
    /// sha256 of the model file, checked at load time.
    pub sha256: String,
}

/// Reads a model file and its manifest (both relative to `models_dir`) and checks the file's
/// sha256 against the manifest.
pub(crate) fn read_verified(
    models_dir: &Path,
    model_file: &str,
    manifest_file: &str,
) -> Result<(PathBuf, Vec<u8>, ModelManifest), VerifyError> {
    let model_path = models_dir.join(model_file);
    if !model_path.is_file() {
        return Err(VerifyError::Missing(model_path));
    }
    let manifest = read_manifest(&models_dir.join(manifest_file))?;
    let bytes = std::fs::read(&model_path).map_err(|e| VerifyError::Unreadable {
        path: model_path.clone(),
        reason: e.to_string(),
    })?;
    let digest = crate::digest::sha256_hex(&bytes);
    if digest != manifest.sha256 {
        return Err(VerifyError::DigestMismatch {
            path: model_path,
            reason: format!(
                "sha256 is {digest}, the manifest expects {}",
                manifest.sha256
            ),
        });
    }
    Ok((model_path, bytes, manifest))
}

fn read_manifest(path: &Path) -> Result<ModelManifest, VerifyError> {
    let manifest_error = |reason: String| VerifyError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| manifest_error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| manifest_error(e.to_string()))
}
