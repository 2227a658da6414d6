//! A SentencePiece tokenizer for the deep tier's encoder, reproducing the tokenizer op that the
//! shipped Universal Sentence Encoder model was exported with.
//!
//! The model file is SentencePiece's `ModelProto` (`sentencepiece.model`, written by
//! `models/deep/prepare_encoder.py` from the op's `model` attribute). Only what that model
//! uses is implemented, and anything else is refused at load time rather than tokenised
//! differently:
//!
//! - **unigram** model type (BPE, word and char models are refused), no byte fallback,
//!   whitespace as a prefix;
//! - the normaliser's **precompiled charsmap** (`nmt_nfkc`), applied as a longest-match
//!   rewrite over a Darts double-array trie, with SentencePiece's dummy prefix, extra-whitespace
//!   removal and `▁` escaping;
//! - **Viterbi** over the pieces with their scores, as SentencePiece's optimised unigram encoder
//!   does it: candidate path scores are summed in `f64` from `f32` scores and stored back as
//!   `f32`, ties keep the earlier candidate, user-defined pieces score
//!   `len × max_score − 0.1`, and a character no piece covers becomes `<unk>` with score
//!   `min_score − 10`; runs of `<unk>` are merged into one, as the processor does;
//! - text is cut at the first NUL character, as the op passes each string as a C string;
//! - [`SentencePiece::encode_for_encoder`] adds BOS and EOS around every text, as the op did
//!   (its options, checked by the prepare script: no sampling, BOS, EOS, no reversal).
//!
//! Identity with the original op is proven on the golden cases in
//! `models/deep/golden_tokens.jsonl` (test `tests/deep_tokenizer_golden.rs`).

mod charsmap;
mod proto;

use std::path::{Path, PathBuf};

use charsmap::{Normalizer, utf8_len};
use proto::{ModelType, PieceKind};

/// Score penalty SentencePiece gives an unknown character below the lowest piece score.
const UNK_PENALTY: f32 = 10.0;

/// Errors loading a SentencePiece model.
#[derive(Debug, thiserror::Error)]
pub enum SentencePieceError {
    /// The model file could not be read.
    #[error("cannot read SentencePiece model {path}: {source}")]
    Io {
        /// The model file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a valid `ModelProto`.
    #[error("malformed SentencePiece model: {0}")]
    Malformed(String),
    /// The model uses a feature this tokenizer does not implement.
    #[error("unsupported SentencePiece model: {0}")]
    Unsupported(String),
}

/// Sorted pieces for common-prefix search: each lookup narrows a range of the sorted keys one
/// byte at a time, so no per-node allocation is needed for the 128k-piece vocabulary.
#[derive(Debug, Clone, Default)]
struct PieceIndex {
    bytes: Vec<u8>,
    /// `(start in bytes, length, piece id)`, sorted by the piece's bytes.
    entries: Vec<(u32, u32, u32)>,
}

impl PieceIndex {
    /// The index of the pieces that can match text (normal, user-defined and unused ones);
    /// an empty or duplicated piece is an error.
    fn build(pieces: &[proto::Piece]) -> Result<PieceIndex, SentencePieceError> {
        let mut index = PieceIndex::default();
        for (id, piece) in pieces.iter().enumerate() {
            if matches!(
                piece.kind,
                PieceKind::Normal | PieceKind::UserDefined | PieceKind::Unused
            ) {
                if piece.piece.is_empty() {
                    return Err(SentencePieceError::Malformed(format!(
                        "piece {id} is empty"
                    )));
                }
                let too_big = || SentencePieceError::Malformed("model too large".into());
                let start = u32::try_from(index.bytes.len()).map_err(|_| too_big())?;
                let len = u32::try_from(piece.piece.len()).map_err(|_| too_big())?;
                index.bytes.extend_from_slice(piece.piece.as_bytes());
                index
                    .entries
                    .push((start, len, u32::try_from(id).map_err(|_| too_big())?));
            }
        }
        let PieceIndex { bytes, mut entries } = index;
        let key = |e: &(u32, u32, u32)| &bytes[e.0 as usize..(e.0 + e.1) as usize];
        entries.sort_by(|a, b| key(a).cmp(key(b)));
        if let Some(pair) = entries.windows(2).find(|w| key(&w[0]) == key(&w[1])) {
            return Err(SentencePieceError::Malformed(format!(
                "piece {:?} is defined twice",
                String::from_utf8_lossy(key(&pair[0]))
            )));
        }
        Ok(PieceIndex { bytes, entries })
    }

    fn key(&self, entry: (u32, u32, u32)) -> &[u8] {
        let (start, len, _) = entry;
        &self.bytes[start as usize..(start + len) as usize]
    }

    /// Calls `found(length, id)` for every piece that is a prefix of `text`, shortest first.
    fn prefixes(&self, text: &[u8], mut found: impl FnMut(usize, u32)) {
        let (mut lo, mut hi) = (0, self.entries.len());
        for (depth, &byte) in text.iter().enumerate() {
            // Within [lo, hi) every key starts with text[..depth]; a key of exactly that length
            // sorts first and was reported at the previous depth.
            if lo < hi && self.key(self.entries[lo]).len() == depth {
                lo += 1;
            }
            let range = &self.entries[lo..hi];
            let byte_at = |e: (u32, u32, u32)| self.key(e).get(depth).copied().unwrap_or(0);
            let start = range.partition_point(|&e| byte_at(e) < byte);
            let end = range.partition_point(|&e| byte_at(e) <= byte);
            if start == end {
                return;
            }
            (lo, hi) = (lo + start, lo + end);
            let first = self.entries[lo];
            if self.key(first).len() == depth + 1 {
                found(depth + 1, first.2);
            }
        }
    }
}

/// A loaded unigram SentencePiece model.
#[derive(Debug, Clone)]
pub struct SentencePiece {
    normalizer: Normalizer,
    index: PieceIndex,
    scores: Vec<f32>,
    kinds: Vec<PieceKind>,
    unk_id: u32,
    bos_id: u32,
    eos_id: u32,
    min_score: f32,
    max_score: f32,
    normalizer_name: String,
}

/// The best path found so far that ends at one byte position.
#[derive(Clone, Copy)]
struct BestPath {
    id: u32,
    score: f32,
    start: Option<usize>,
}

impl SentencePiece {
    /// Reads a `sentencepiece.model` file.
    pub fn from_file(path: &Path) -> Result<SentencePiece, SentencePieceError> {
        let bytes = std::fs::read(path).map_err(|source| SentencePieceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        SentencePiece::from_bytes(&bytes)
    }

    /// Parses a serialised `ModelProto`.
    pub fn from_bytes(bytes: &[u8]) -> Result<SentencePiece, SentencePieceError> {
        let model = proto::parse_model(bytes)?;
        let spec = &model.trainer_spec;
        if spec.model_type != ModelType::Unigram {
            return Err(SentencePieceError::Unsupported(format!(
                "model type {:?}; only unigram models are implemented",
                spec.model_type
            )));
        }
        if spec.byte_fallback || model.pieces.iter().any(|p| p.kind == PieceKind::Byte) {
            return Err(SentencePieceError::Unsupported("byte fallback".into()));
        }
        if spec.treat_whitespace_as_suffix {
            return Err(SentencePieceError::Unsupported(
                "whitespace as a suffix".into(),
            ));
        }
        let count = model.pieces.len();
        let id_of = |id: i64, kind: PieceKind, what: &str| -> Result<u32, SentencePieceError> {
            let index = usize::try_from(id).ok().filter(|&i| i < count);
            match index.map(|i| (i, model.pieces[i].kind)) {
                Some((i, k)) if k == kind => {
                    u32::try_from(i).map_err(|_| SentencePieceError::Malformed("id".into()))
                }
                _ => Err(SentencePieceError::Malformed(format!(
                    "{what} id {id} is not a {kind:?} piece"
                ))),
            }
        };
        let unk_id = id_of(spec.unk_id, PieceKind::Unknown, "unknown")?;
        let bos_id = id_of(spec.bos_id, PieceKind::Control, "BOS")?;
        let eos_id = id_of(spec.eos_id, PieceKind::Control, "EOS")?;

        let mut min_score = f32::MAX;
        // SentencePiece starts the maximum at FLT_MIN (the smallest positive float), so a
        // vocabulary of negative log-probabilities keeps it there.
        let mut max_score = f32::MIN_POSITIVE;
        for piece in model.pieces.iter().filter(|p| p.kind == PieceKind::Normal) {
            min_score = min_score.min(piece.score);
            max_score = max_score.max(piece.score);
        }

        let index = PieceIndex::build(&model.pieces)?;

        Ok(SentencePiece {
            normalizer: Normalizer::new(&model.normalizer_spec)?,
            index,
            scores: model.pieces.iter().map(|p| p.score).collect(),
            kinds: model.pieces.iter().map(|p| p.kind).collect(),
            unk_id,
            bos_id,
            eos_id,
            min_score,
            max_score,
            normalizer_name: model.normalizer_spec.name.clone(),
        })
    }

    /// Number of pieces in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.scores.len()
    }

    /// The beginning-of-sentence id.
    pub fn bos_id(&self) -> u32 {
        self.bos_id
    }

    /// The end-of-sentence id.
    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    /// The unknown-piece id.
    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    /// The normaliser's name from the model (`nmt_nfkc` for the deep-tier encoder).
    pub fn normalizer_name(&self) -> &str {
        &self.normalizer_name
    }

    /// The normalised form the pieces are matched against (`▁` for spaces).
    pub fn normalize(&self, text: &str) -> String {
        let mut out = Vec::new();
        self.normalizer.normalize_into(until_nul(text), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The piece ids of `text`, without BOS or EOS.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut scratch = Scratch::default();
        self.encode_into(text, &mut scratch, &mut ids);
        ids
    }

    /// The ids the encoder model expects for `text`: BOS, the pieces, EOS (as the original op
    /// produced them), appended to `out`.
    pub fn encode_for_encoder(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<u32>) {
        out.push(self.bos_id);
        self.encode_into(text, scratch, out);
        out.push(self.eos_id);
    }

    fn encode_into(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<u32>) {
        let Scratch {
            normalized,
            best,
            path,
        } = scratch;
        self.normalizer.normalize_into(until_nul(text), normalized);
        let size = normalized.len();
        if size == 0 {
            return;
        }
        let unk_score = self.min_score - UNK_PENALTY;
        best.clear();
        best.resize(
            size + 1,
            BestPath {
                id: self.unk_id,
                score: 0.0,
                start: None,
            },
        );
        let mut start = 0;
        while start < size {
            let till_here = best[start].score;
            let char_len = utf8_len(normalized[start]).min(size - start);
            let mut has_single_char_piece = false;
            self.index.prefixes(&normalized[start..], |len, id| {
                let kind = self.kinds[id as usize];
                if kind == PieceKind::Unused {
                    return;
                }
                // SentencePiece computes these in double precision and stores a float.
                let score = if kind == PieceKind::UserDefined {
                    f64::from(len as f32 * self.max_score) - 0.1
                } else {
                    f64::from(self.scores[id as usize])
                };
                let candidate = score + f64::from(till_here);
                let target = &mut best[start + len];
                if target.start.is_none() || candidate > f64::from(target.score) {
                    *target = BestPath {
                        id,
                        score: candidate as f32,
                        start: Some(start),
                    };
                }
                if len == char_len {
                    has_single_char_piece = true;
                }
            });
            if !has_single_char_piece {
                let candidate = unk_score + till_here;
                let target = &mut best[start + char_len];
                if target.start.is_none() || candidate > target.score {
                    *target = BestPath {
                        id: self.unk_id,
                        score: candidate,
                        start: Some(start),
                    };
                }
            }
            start += char_len;
        }
        self.emit_best_path(best, path, out);
    }

    /// Follows the best path back from the end of the text and appends its piece ids to `out`
    /// in text order, merging runs of unknown pieces into one.
    #[inline]
    fn emit_best_path(&self, best: &[BestPath], path: &mut Vec<u32>, out: &mut Vec<u32>) {
        let size = best.len().saturating_sub(1);
        path.clear();
        let mut end = size;
        while end > 0 {
            let Some(node) = best.get(end).copied() else {
                break;
            };
            let Some(node_start) = node.start else { break };
            path.push(node.id);
            end = node_start;
        }
        let mut previous_unknown = false;
        for &id in path.iter().rev() {
            let unknown = id == self.unk_id;
            if !(unknown && previous_unknown) {
                out.push(id);
            }
            previous_unknown = unknown;
        }
    }
}

/// Reusable buffers for [`SentencePiece::encode_for_encoder`], so batches allocate once.
#[derive(Default)]
pub struct Scratch {
    normalized: Vec<u8>,
    best: Vec<BestPath>,
    path: Vec<u32>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

/// The op receives each text as a C string, so everything from the first NUL on is ignored.
fn until_nul(text: &str) -> &str {
    text.split('\0').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(pieces: &[&str]) -> PieceIndex {
        let mut index = PieceIndex::default();
        let mut sorted: Vec<(usize, &str)> = pieces.iter().copied().enumerate().collect();
        sorted.sort_by(|a, b| a.1.cmp(b.1));
        for (id, piece) in sorted {
            let start = index.bytes.len() as u32;
            index.bytes.extend_from_slice(piece.as_bytes());
            index.entries.push((start, piece.len() as u32, id as u32));
        }
        index
    }

    #[test]
    fn prefix_search_reports_every_piece_prefix_shortest_first() {
        let index = index(&["a", "ab", "abc", "abd", "b", "bc", "abcde"]);
        let mut found = Vec::new();
        index.prefixes(b"abcdx", |len, id| found.push((len, id)));
        assert_eq!(found, vec![(1, 0), (2, 1), (3, 2)]);
        found.clear();
        index.prefixes(b"abcde", |len, id| found.push((len, id)));
        assert_eq!(found, vec![(1, 0), (2, 1), (3, 2), (5, 6)]);
        found.clear();
        index.prefixes(b"zzz", |len, id| found.push((len, id)));
        assert!(found.is_empty());
    }

    #[test]
    fn text_after_a_nul_is_ignored() {
        assert_eq!(until_nul("ab\0cd"), "ab");
        assert_eq!(until_nul("\0"), "");
        assert_eq!(until_nul("abc"), "abc");
    }
}
