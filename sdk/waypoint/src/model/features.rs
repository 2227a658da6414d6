//! Hashed n-gram featuriser for the fast tier.
//!
//! The specification lives in `models/README.md` ("Featuriser specification"); the Python
//! training code in `models/train/featurize.py` implements the same function, and the golden
//! vectors in `models/fast/golden_features.jsonl` (checked by `tests/golden_features.rs`) prove
//! that both agree. In short, for the *normalised* text:
//!
//! 1. tokens are the pieces between U+0020 spaces, with [`STRIP_CHARS`] trimmed from both ends,
//!    empty tokens dropped;
//! 2. features are `w:<token>`, `b:<token> <next token>` and `c:<gram>` for every character
//!    n-gram (n in [`MIN_CHAR_NGRAM`]`..=`[`MAX_CHAR_NGRAM`], counted in Unicode scalar values)
//!    of `<token>` padded with `<` and `>`;
//! 3. each feature string is hashed with 32-bit FNV-1a over its UTF-8 bytes into
//!    [`FEATURE_DIM`] buckets;
//! 4. a bucket hit `n` times gets `1 + ln(n)`, and the vector is L2-normalised.
//!
//! The hot path allocates nothing once the output buffers have grown: feature strings are never
//! built, their hashes are extended byte by byte from the hash of the prefix.

/// Number of hashed feature buckets (2^18).
pub const FEATURE_DIM: usize = 1 << 18;

/// Version of the featuriser specification; bumped whenever any output could change.
#[cfg(any(test, feature = "internals"))]
pub const FEATURE_SPEC_VERSION: &str = "waypoint-fast-features/1";

/// Shortest character n-gram, in Unicode scalar values of the padded token.
pub const MIN_CHAR_NGRAM: usize = 2;

/// Longest character n-gram, in Unicode scalar values of the padded token.
pub const MAX_CHAR_NGRAM: usize = 4;

/// ASCII characters trimmed from both ends of every token.
#[cfg(any(test, feature = "internals"))]
pub const STRIP_CHARS: &str = ".,!?;:\"'()[]{}<>*_~`";

const FNV_OFFSET: u32 = 2_166_136_261;
const FNV_PRIME: u32 = 16_777_619;
/// `FEATURE_DIM` is a power of two, so `hash % FEATURE_DIM == hash & BUCKET_MASK`.
const BUCKET_MASK: u32 = (FEATURE_DIM as u32) - 1;

/// A sparse feature vector: sorted unique bucket indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseFeatures {
    /// Bucket indices in `0..FEATURE_DIM`, ascending, unique.
    pub indices: Vec<i64>,
    /// The value of each bucket, same length as `indices`.
    pub values: Vec<f32>,
}

impl SparseFeatures {
    /// Number of non-zero buckets.
    #[cfg(any(test, feature = "internals"))]
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the vector has no non-zero bucket (empty or punctuation-only text).
    #[cfg(any(test, feature = "internals"))]
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Empties both buffers, keeping their capacity.
    pub fn clear(&mut self) {
        self.indices.clear();
        self.values.clear();
    }
}

/// Featurises normalised text into a new vector. See [`featurize_into`] to reuse buffers.
#[cfg(any(test, feature = "internals"))]
pub fn featurize(normalized: &str) -> SparseFeatures {
    let mut out = SparseFeatures::default();
    featurize_into(normalized, &mut out);
    out
}

/// Featurises normalised text into `out`, replacing its contents and reusing its buffers.
pub fn featurize_into(normalized: &str, out: &mut SparseFeatures) {
    out.clear();
    let indices = &mut out.indices;
    for_each_occurrence(normalized, |bucket| indices.push(i64::from(bucket)));
    if out.indices.is_empty() {
        return;
    }
    out.indices.sort_unstable();
    count_runs(out);
    weight_and_normalise(&mut out.values);
}

/// Reusable buffers for [`for_each_feature`]: an open-addressing table that counts bucket hits
/// without sorting. It grows only for a message longer than any seen before.
#[derive(Debug, Clone, Default)]
pub struct FeatureCounts {
    /// The table; a slot's bucket is [`EMPTY_SLOT`] when unused.
    slots: Vec<Slot>,
    /// Occupied slots, in the order their bucket was first hit.
    used: Vec<u32>,
    /// Whether some bucket was hit more than once since the last [`FeatureCounts::clear`].
    repeats: bool,
}

/// One slot of [`FeatureCounts`]: a bucket and how often it was hit.
#[derive(Debug, Clone, Copy)]
struct Slot {
    bucket: u32,
    hits: u32,
}

/// Marks an unused slot of [`FeatureCounts`]; no bucket reaches it (`FEATURE_DIM` < 2^32).
const EMPTY_SLOT: u32 = u32::MAX;

const UNUSED: Slot = Slot {
    bucket: EMPTY_SLOT,
    hits: 0,
};

impl FeatureCounts {
    /// Buffers already sized for messages of up to `max_bytes` bytes of normalised text.
    pub fn with_capacity(max_bytes: usize) -> Self {
        let mut counts = FeatureCounts::default();
        counts.reserve_for(max_bytes);
        counts
    }

    /// Makes room for a text of `bytes` bytes; returns the slot mask to use for it. The table
    /// used is at most half full: a token of `n` bytes has at most `3n + 8` occurrences
    /// (`w:`, `b:` and `3 (n + 2)` character n-grams) and tokens are at least two bytes apart.
    fn reserve_for(&mut self, bytes: usize) -> usize {
        let occurrences = 7 * bytes + 8;
        let slots = (2 * occurrences).next_power_of_two();
        if self.slots.len() < slots {
            self.slots.resize(slots, UNUSED);
            self.used
                .reserve(occurrences.saturating_sub(self.used.capacity()));
        }
        slots - 1
    }

    #[inline]
    fn add(&mut self, bucket: u32, mask: usize) {
        // Fibonacci hashing spreads the FNV buckets over the slots in use.
        let mut slot = (bucket.wrapping_mul(0x9E37_79B9) as usize) & mask;
        // `mask` is below the table's length, so every probe finds its slot.
        while let Some(entry) = self.slots.get_mut(slot) {
            if entry.bucket == bucket {
                entry.hits += 1;
                self.repeats = true;
                return;
            }
            if entry.bucket == EMPTY_SLOT {
                *entry = Slot { bucket, hits: 1 };
                self.used.push(slot as u32);
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The occupied slots, in first-hit order.
    fn hit(&self) -> impl Iterator<Item = Slot> + '_ {
        self.used
            .iter()
            .filter_map(|&slot| self.slots.get(slot as usize).copied())
    }

    /// Empties the used slots, keeping every buffer's capacity.
    fn clear(&mut self) {
        for &slot in &self.used {
            if let Some(entry) = self.slots.get_mut(slot as usize) {
                *entry = UNUSED;
            }
        }
        self.used.clear();
        self.repeats = false;
    }
}

/// Featurises normalised text and calls `visit(bucket, value)` once for every non-zero bucket,
/// with the same values [`featurize`] gives (within the rounding of the norm's sum, which runs
/// in first-hit order instead of bucket order), in no particular order. Allocates nothing once
/// `counts` has grown to the message length; this is what the fast tier scores with.
pub fn for_each_feature(
    normalized: &str,
    counts: &mut FeatureCounts,
    mut visit: impl FnMut(usize, f32),
) {
    let mask = counts.reserve_for(normalized.len());
    for_each_occurrence(normalized, |bucket| counts.add(bucket, mask));
    // Without repeats every weight is 1, and the sum of their squares is the count, exactly.
    let sum_of_squares: f64 = if counts.repeats {
        counts
            .hit()
            .map(|slot| {
                let weight = count_weight(slot.hits);
                weight * weight
            })
            .sum()
    } else {
        counts.used.len() as f64
    };
    let norm = sum_of_squares.sqrt();
    // The value of a bucket hit once, the usual case, computed once.
    let single = (count_weight(1) / norm) as f32;
    for slot in counts.hit() {
        let value = if slot.hits == 1 {
            single
        } else {
            (count_weight(slot.hits) / norm) as f32
        };
        visit(slot.bucket as usize, value);
    }
    counts.clear();
}

/// Calls `sink` with the bucket of every feature occurrence (with repeats), in one pass over
/// the text: tokens are found, trimmed and hashed in place, no feature string is built. A
/// token's `w:` feature, its `b:` feature with the previous token and the start of its `b:`
/// feature with the next one are hashed in the same pass over its bytes.
fn for_each_occurrence(text: &str, mut sink: impl FnMut(u32)) {
    let word_prefix = fnv_extend(FNV_OFFSET, b"w:");
    let bigram_prefix = fnv_extend(FNV_OFFSET, b"b:");
    let char_prefix = fnv_extend(FNV_OFFSET, b"c:");
    // The hash of `b:<previous token> `, once there is a previous token.
    let mut bigram_head: Option<u32> = None;
    for token in tokens(text) {
        let (mut word, mut bigram, mut head) = (
            word_prefix,
            bigram_head.unwrap_or(FNV_OFFSET),
            bigram_prefix,
        );
        for &b in token.as_bytes() {
            word = fnv_byte(word, b);
            bigram = fnv_byte(bigram, b);
            head = fnv_byte(head, b);
        }
        sink(bucket(word));
        if bigram_head.is_some() {
            sink(bucket(bigram));
        }
        if token.is_ascii() {
            ascii_char_ngrams(token.as_bytes(), char_prefix, &mut sink);
        } else {
            char_ngrams(token, char_prefix, &mut sink);
        }
        bigram_head = Some(fnv_byte(head, b' '));
    }
}

/// The tokens of normalised text: split on U+0020, trim [`STRIP_CHARS`], drop empties.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').map(trim).filter(|t| !t.is_empty())
}

/// `token` with [`STRIP_CHARS`] trimmed from both ends. They are all ASCII, and no byte of a
/// multi-byte character is, so trimming bytes trims the same characters.
fn trim(token: &str) -> &str {
    let bytes = token.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| !is_strip_byte(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_strip_byte(b))
        .map_or(start, |last| last + 1);
    token.get(start..end).unwrap_or_default()
}

fn is_strip_byte(b: u8) -> bool {
    matches!(
        b,
        b'.' | b','
            | b'!'
            | b'?'
            | b';'
            | b':'
            | b'"'
            | b'\''
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'<'
            | b'>'
            | b'*'
            | b'_'
            | b'~'
            | b'`'
    )
}

/// The buckets of all character n-grams of `<token>`.
fn char_ngrams(token: &str, prefix_hash: u32, sink: &mut impl FnMut(u32)) {
    let padded = std::iter::once('<')
        .chain(token.chars())
        .chain(std::iter::once('>'));
    let mut starts = padded;
    loop {
        let mut gram = starts.clone();
        let mut h = prefix_hash;
        for len in 1..=MAX_CHAR_NGRAM {
            let Some(c) = gram.next() else { break };
            h = fnv_char(h, c);
            if len >= MIN_CHAR_NGRAM {
                sink(bucket(h));
            }
        }
        if starts.next().is_none() {
            break;
        }
    }
}

/// [`char_ngrams`] for an ASCII token, where every character is one byte: a window of the
/// next [`MAX_CHAR_NGRAM`] bytes of `<token>` (the first in the low byte) slides along it, each
/// start giving its 2-, 3- and 4-grams.
fn ascii_char_ngrams(token: &[u8], prefix_hash: u32, sink: &mut impl FnMut(u32)) {
    let mut rest = token.iter().copied().chain(std::iter::once(b'>'));
    let mut window = u32::from(b'<');
    let mut len = 1;
    while len < MAX_CHAR_NGRAM {
        let Some(b) = rest.next() else { break };
        window |= u32::from(b) << (8 * len);
        len += 1;
    }
    while len >= MIN_CHAR_NGRAM {
        let mut h = fnv_byte(prefix_hash, window as u8);
        for k in 1..len {
            h = fnv_byte(h, (window >> (8 * k)) as u8);
            sink(bucket(h));
        }
        window >>= 8;
        len -= 1;
        if let Some(b) = rest.next() {
            window |= u32::from(b) << (8 * len);
            len += 1;
        }
    }
}

/// Collapses runs of equal sorted buckets: `indices` becomes unique, `values` holds run lengths.
fn count_runs(out: &mut SparseFeatures) {
    let SparseFeatures { indices, values } = out;
    let mut write = 0;
    let mut read = 0;
    while read < indices.len() {
        let index = indices[read];
        let mut run = 1_u32;
        read += 1;
        while read < indices.len() && indices[read] == index {
            run += 1;
            read += 1;
        }
        indices[write] = index;
        // Run lengths are far below 2^24, so the count is exact in an f32.
        values.push(run as f32);
        write += 1;
    }
    indices.truncate(write);
}

/// Turns run lengths into `1 + ln(count)` and L2-normalises, computing in f64.
fn weight_and_normalise(values: &mut [f32]) {
    let weight = |count: f32| count_weight(count as u32);
    let sum_of_squares: f64 = values.iter().map(|&c| weight(c) * weight(c)).sum();
    let norm = sum_of_squares.sqrt();
    for v in values.iter_mut() {
        *v = (weight(*v) / norm) as f32;
    }
}

/// The weight of a bucket hit `count` times, before normalisation: `1 + ln(count)`. Most
/// buckets are hit once, and `ln(1)` is exactly 0, so that case skips the logarithm.
#[inline]
fn count_weight(count: u32) -> f64 {
    if count == 1 {
        1.0
    } else {
        1.0 + f64::from(count).ln()
    }
}

#[inline]
fn bucket(hash: u32) -> u32 {
    hash & BUCKET_MASK
}

#[inline]
fn fnv_byte(hash: u32, byte: u8) -> u32 {
    (hash ^ u32::from(byte)).wrapping_mul(FNV_PRIME)
}

#[inline]
fn fnv_extend(mut hash: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        hash = fnv_byte(hash, b);
    }
    hash
}

#[inline]
fn fnv_char(hash: u32, c: char) -> u32 {
    let mut utf8 = [0_u8; 4];
    fnv_extend(hash, c.encode_utf8(&mut utf8).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        // Published FNV-1a 32-bit test vectors.
        assert_eq!(fnv_extend(FNV_OFFSET, b""), 0x811c_9dc5);
        assert_eq!(fnv_extend(FNV_OFFSET, b"a"), 0xe40c_292c);
        assert_eq!(fnv_extend(FNV_OFFSET, b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn incremental_hash_equals_hash_of_the_whole_string() {
        let prefix = fnv_extend(FNV_OFFSET, b"c:");
        let h = "<né".chars().fold(prefix, fnv_char);
        assert_eq!(h, fnv_extend(FNV_OFFSET, "c:<né".as_bytes()));
    }

    #[test]
    fn empty_and_punctuation_only_text_have_no_features() {
        assert!(featurize("").is_empty());
        assert!(featurize("   ").is_empty());
        assert!(featurize("... !!! ()").is_empty());
    }

    #[test]
    fn output_is_sorted_unique_and_unit_length() {
        let f = featurize("gg ez gg ez noob team 🙂 日本語");
        assert_eq!(f.indices.len(), f.values.len());
        assert!(f.indices.windows(2).all(|w| w[0] < w[1]));
        assert!(
            f.indices
                .iter()
                .all(|&i| (0..FEATURE_DIM as i64).contains(&i))
        );
        let norm: f64 = f.values.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn stripping_and_repeated_spaces_do_not_change_features() {
        assert_eq!(featurize("nice shot"), featurize("  \"nice  shot!!\" "));
    }

    #[test]
    fn buffers_are_reused_and_fully_replaced() {
        let mut out = SparseFeatures::default();
        featurize_into("a much longer message with many words in it", &mut out);
        featurize_into("hi", &mut out);
        assert_eq!(out, featurize("hi"));
        featurize_into("", &mut out);
        assert!(out.is_empty() && out.values.is_empty());
    }

    fn counted(text: &str, counts: &mut FeatureCounts) -> SparseFeatures {
        let mut pairs = Vec::new();
        for_each_feature(text, counts, |bucket, value| {
            pairs.push((bucket as i64, value))
        });
        pairs.sort_by_key(|&(bucket, _)| bucket);
        SparseFeatures {
            indices: pairs.iter().map(|&(b, _)| b).collect(),
            values: pairs.iter().map(|&(_, v)| v).collect(),
        }
    }

    #[test]
    fn counting_table_gives_the_sorted_vector() {
        let mut counts = FeatureCounts::default();
        let long = "ha ".repeat(400) + &"x".repeat(900);
        for text in [
            "gg ez gg ez noob team 🙂 日本語",
            "",
            "...",
            "a",
            "kill kill kill the healer",
            long.as_str(),
            "hi",
        ] {
            let expected = featurize(text);
            let got = counted(text, &mut counts);
            assert_eq!(got.indices, expected.indices, "{text:?}");
            for (g, e) in got.values.iter().zip(&expected.values) {
                assert!((g - e).abs() <= 1e-7, "{text:?}: {g} vs {e}");
            }
        }
    }

    #[test]
    fn single_char_token_features() {
        // "a" → w:a, c:<a, c:a>, c:<a> : four distinct features.
        let f = featurize("a");
        assert_eq!(f.len(), 4);
    }
}
