//! SentencePiece's precompiled character map (`NormalizerSpec.precompiled_charsmap`, e.g. the
//! `nmt_nfkc` rules) and the normaliser that applies it.
//!
//! The blob is `<u32 LE: trie size in bytes><Darts-clone double-array trie><NUL-separated
//! replacement strings>`. Each trie key is a UTF-8 sequence; its value is the offset of the
//! replacement in the string pool. Normalisation repeatedly takes the longest key that
//! prefixes the remaining input (among the first 32 prefix matches, as SentencePiece does).

use super::SentencePieceError;
use super::proto::NormalizerSpec;

/// The meta symbol SentencePiece writes for a space: U+2581 LOWER ONE EIGHTH BLOCK.
pub(crate) const SPACE_SYMBOL: &str = "\u{2581}";

/// SentencePiece keeps at most this many prefix matches when normalising.
const MAX_TRIE_RESULTS: usize = 32;

/// A Darts-clone double array with its replacement strings.
#[derive(Debug, Clone, Default)]
pub(crate) struct CharsMap {
    units: Vec<u32>,
    pool: Vec<u8>,
}

impl CharsMap {
    /// Splits and checks a `precompiled_charsmap` blob. An empty blob means "no rules".
    pub(crate) fn parse(blob: &[u8]) -> Result<CharsMap, SentencePieceError> {
        if blob.is_empty() {
            return Ok(CharsMap::default());
        }
        let malformed =
            |reason: &str| SentencePieceError::Malformed(format!("precompiled charsmap: {reason}"));
        let header: [u8; 4] = blob
            .get(..4)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| malformed("no header"))?;
        let trie_size = u32::from_le_bytes(header) as usize;
        let trie = blob
            .get(4..4 + trie_size)
            .ok_or_else(|| malformed("trie runs past the end"))?;
        if !trie_size.is_multiple_of(4) || trie.is_empty() {
            return Err(malformed("trie size is not a positive multiple of 4"));
        }
        let units = trie
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(CharsMap {
            units,
            pool: blob[4 + trie_size..].to_vec(),
        })
    }

    /// The longest rule prefixing `input`: `(bytes consumed, replacement)`.
    fn longest_prefix(&self, input: &[u8]) -> Option<(usize, &[u8])> {
        let mut node = offset(*self.units.first()?) as usize;
        let mut found: Option<(usize, u32)> = None;
        let mut matches = 0;
        for (i, &byte) in input.iter().enumerate() {
            if byte == 0 {
                break;
            }
            node ^= usize::from(byte);
            let Some(&unit) = self.units.get(node) else {
                break;
            };
            if label(unit) != u32::from(byte) {
                break;
            }
            node ^= offset(unit) as usize;
            if has_leaf(unit) {
                if matches < MAX_TRIE_RESULTS {
                    let value = self.units.get(node).map_or(0, |&leaf| leaf & 0x7fff_ffff);
                    found = Some((i + 1, value));
                }
                matches += 1;
            }
        }
        let (len, value) = found?;
        let rest = self.pool.get(value as usize..)?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Some((len, &rest[..end]))
    }
}

fn has_leaf(unit: u32) -> bool {
    (unit >> 8) & 1 == 1
}

fn label(unit: u32) -> u32 {
    unit & ((1 << 31) | 0xff)
}

fn offset(unit: u32) -> u32 {
    (unit >> 10) << ((unit & (1 << 9)) >> 6)
}

/// SentencePiece's `Normalizer` for the options this crate supports (whitespace as prefix).
#[derive(Debug, Clone)]
pub(crate) struct Normalizer {
    charsmap: CharsMap,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

impl Normalizer {
    pub(crate) fn new(spec: &NormalizerSpec) -> Result<Normalizer, SentencePieceError> {
        if !spec.normalization_rule_tsv.is_empty() {
            return Err(SentencePieceError::Unsupported(
                "normalizer rules given as TSV instead of a precompiled charsmap".into(),
            ));
        }
        Ok(Normalizer {
            charsmap: CharsMap::parse(&spec.precompiled_charsmap)?,
            add_dummy_prefix: spec.add_dummy_prefix,
            remove_extra_whitespaces: spec.remove_extra_whitespaces,
            escape_whitespaces: spec.escape_whitespaces,
        })
    }

    /// One normalisation step: `(replacement, bytes consumed)` for the start of `input`.
    fn prefix<'a>(&'a self, input: &'a [u8]) -> (&'a [u8], usize) {
        if let Some((consumed, replacement)) = self.charsmap.longest_prefix(input) {
            return (replacement, consumed);
        }
        // No rule: copy one UTF-8 character (the input is valid UTF-8).
        let len = input
            .first()
            .map_or(0, |&lead| utf8_len(lead))
            .min(input.len());
        (&input[..len], len)
    }

    /// Normalises `input` into `out` (cleared first), exactly as SentencePiece's
    /// `Normalizer::Normalize` does for a whitespace-prefix model.
    pub(crate) fn normalize_into(&self, input: &str, out: &mut Vec<u8>) {
        out.clear();
        let mut input = input.as_bytes();
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (piece, consumed) = self.prefix(input);
                if piece != b" " {
                    break;
                }
                input = &input[consumed..];
            }
        }
        if input.is_empty() {
            return;
        }
        let space: &[u8] = if self.escape_whitespaces {
            SPACE_SYMBOL.as_bytes()
        } else {
            b" "
        };
        if self.add_dummy_prefix {
            out.extend_from_slice(space);
        }
        let mut is_prev_space = self.remove_extra_whitespaces;
        while !input.is_empty() {
            let (mut piece, consumed) = self.prefix(input);
            while is_prev_space && piece.first() == Some(&b' ') {
                piece = &piece[1..];
            }
            if !piece.is_empty() {
                for &byte in piece {
                    if self.escape_whitespaces && byte == b' ' {
                        out.extend_from_slice(SPACE_SYMBOL.as_bytes());
                    } else {
                        out.push(byte);
                    }
                }
                is_prev_space = piece.last() == Some(&b' ');
            }
            input = &input[consumed..];
            if !self.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            while out.ends_with(space) {
                out.truncate(out.len() - space.len());
            }
        }
    }
}

/// SentencePiece's `OneCharLen`: the UTF-8 sequence length announced by a leading byte
/// (continuation and invalid bytes count as 1).
pub(crate) fn utf8_len(lead: u8) -> usize {
    const LENGTHS: [usize; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    LENGTHS[usize::from(lead >> 4)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(add_dummy_prefix: bool, remove_extra_whitespaces: bool) -> Normalizer {
        Normalizer {
            charsmap: CharsMap::default(),
            add_dummy_prefix,
            remove_extra_whitespaces,
            escape_whitespaces: true,
        }
    }

    fn run(normalizer: &Normalizer, text: &str) -> String {
        let mut out = Vec::new();
        normalizer.normalize_into(text, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn whitespace_is_trimmed_collapsed_and_escaped() {
        let n = plain(true, true);
        assert_eq!(run(&n, "  hello   world  "), "▁hello▁world");
        assert_eq!(run(&n, "   "), "");
        assert_eq!(run(&n, ""), "");
        let keep = plain(false, false);
        assert_eq!(run(&keep, " a  b "), "▁a▁▁b▁");
    }

    #[test]
    fn malformed_charsmaps_are_rejected() {
        assert!(CharsMap::parse(&[1, 0]).is_err());
        assert!(CharsMap::parse(&[8, 0, 0, 0, 1, 2, 3, 4]).is_err());
        assert!(CharsMap::parse(&[3, 0, 0, 0, 1, 2, 3]).is_err());
    }
}
