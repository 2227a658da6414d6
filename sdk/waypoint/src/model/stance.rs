//! The stance model: the probability that a message about hate, violence or extremism endorses
//! it, rather than reporting, rejecting, explaining or quoting it.
//!
//! The fast tier, the deep head and the exemplars read a message's topic, not which side its
//! speaker is on: "can a mod ban the guy spamming 1488" and "1488 brothers, the day is coming"
//! share their strongest words. The stance model is a logistic regression on the fast tier's
//! hashed n-gram features, trained on lines that endorse an attacker, a code, a call, a threat or
//! hate next to lines with the same words that do not, and on hateful posts
//! (`models/train/train_stance.py`). The scorer
//! reads it only for a message whose hate or extremism score is high enough to matter, and only
//! to scale those scores (see `cascade.stance_threshold` in the policy); it never clears a
//! message on its own.
//!
//! Model contract: the linear graph of the fast tier with one output, `probabilities` float32
//! `[batch, 1]`, evaluated natively (see [`super::linear`]); its sha256 is checked against
//! `stance/manifest.json`.

use std::path::Path;

use super::fast::{FastScratch, ModelError};
use super::linear::LinearModel;
use super::manifest::{ModelManifest, read_verified};

/// File name of the stance model inside the models directory.
pub const STANCE_MODEL_FILE: &str = "stance/stance.onnx";
/// File name of the stance model's manifest inside the models directory.
pub const STANCE_MANIFEST_FILE: &str = "stance/manifest.json";

/// The loaded stance model. Thread-safe: its weights are shared read-only.
pub struct StanceModel {
    model: LinearModel<1>,
    manifest: ModelManifest,
}

impl std::fmt::Debug for StanceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StanceModel")
            .field("version", &self.manifest.version)
            .finish_non_exhaustive()
    }
}

impl StanceModel {
    /// Loads `stance/stance.onnx` from `models_dir`, checking it against its manifest. The
    /// graph must be the linear shape: it is evaluated natively, never by ONNX Runtime.
    pub fn load(models_dir: &Path) -> Result<StanceModel, ModelError> {
        let (path, bytes, manifest) =
            read_verified(models_dir, STANCE_MODEL_FILE, STANCE_MANIFEST_FILE)?;
        let model = LinearModel::from_onnx(&bytes)
            .map_err(|source| ModelError::NotLinear { path, source })?;
        Ok(StanceModel { model, manifest })
    }

    /// The model version from its manifest.
    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// The probability that one normalised text endorses the hate, violence or extremism it
    /// speaks of. Allocates nothing once `scratch` has grown to the text's length.
    pub fn endorsement(&self, normalized: &str, scratch: &mut FastScratch) -> f32 {
        let [p] = self.model.probabilities(normalized, &mut scratch.counts);
        p
    }
}
