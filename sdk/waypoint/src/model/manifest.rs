//! The manifest of a model file (`models/fast/manifest.json`, `models/stance/manifest.json`,
//! `models/deep/head_manifest.json`): its version and the sha256 the file is checked against at
//! load time; and the check itself, which the encoder's files share.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

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
    let manifest: ModelManifest = read_manifest(&models_dir.join(manifest_file))?;
    let bytes = read_file_checked(&model_path, &manifest.sha256)?;
    Ok((model_path, bytes, manifest))
}

/// Reads a file and checks its sha256 against `expected` (lowercase hex), returning its bytes:
/// the caller loads these bytes, never the file again, so what runs is what was checked.
pub(crate) fn read_file_checked(path: &Path, expected: &str) -> Result<Vec<u8>, VerifyError> {
    if !path.is_file() {
        return Err(VerifyError::Missing(path.to_path_buf()));
    }
    let bytes = std::fs::read(path).map_err(|e| VerifyError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let digest = crate::digest::sha256_hex(&bytes);
    if digest != expected {
        return Err(VerifyError::DigestMismatch {
            path: path.to_path_buf(),
            reason: format!("sha256 is {digest}, the manifest expects {expected}"),
        });
    }
    Ok(bytes)
}

/// Reads and parses a JSON manifest (any shape the caller deserialises).
pub(crate) fn read_manifest<T: DeserializeOwned>(path: &Path) -> Result<T, VerifyError> {
    let manifest_error = |reason: String| VerifyError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| manifest_error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| manifest_error(e.to_string()))
}
