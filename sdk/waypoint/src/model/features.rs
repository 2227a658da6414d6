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
pub const FEATURE_SPEC_VERSION: &str = "waypoint-fast-features/1";

/// Shortest character n-gram, in Unicode scalar values of the padded token.
pub const MIN_CHAR_NGRAM: usize = 2;

/// Longest character n-gram, in Unicode scalar values of the padded token.
pub const MAX_CHAR_NGRAM: usize = 4;

/// ASCII characters trimmed from both ends of every token.
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
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the vector has no non-zero bucket (empty or punctuation-only text).
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
    /// Bucket of each slot, [`EMPTY_SLOT`] when unused.
    keys: Vec<u32>,
    /// Hits of each slot's bucket.
    counts: Vec<u32>,
    /// Occupied slots, in the order their bucket was first hit.
    used: Vec<u32>,
}

/// Marks an unused slot of [`FeatureCounts`]; no bucket reaches it (`FEATURE_DIM` < 2^32).
const EMPTY_SLOT: u32 = u32::MAX;

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
        if self.keys.len() < slots {
            self.keys.resize(slots, EMPTY_SLOT);
            self.counts.resize(slots, 0);
            self.used
                .reserve(occurrences.saturating_sub(self.used.capacity()));
        }
        slots - 1
    }

    fn add(&mut self, bucket: u32, mask: usize) {
        // Fibonacci hashing spreads the FNV buckets over the slots in use.
        let mut slot = (bucket.wrapping_mul(0x9E37_79B9) as usize) & mask;
        loop {
            let key = self.keys[slot];
            if key == bucket {
                self.counts[slot] += 1;
                return;
            }
            if key == EMPTY_SLOT {
                self.keys[slot] = bucket;
                self.counts[slot] = 1;
                self.used.push(slot as u32);
                return;
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Empties the used slots, keeping every buffer's capacity.
    fn clear(&mut self) {
        for &slot in &self.used {
            self.keys[slot as usize] = EMPTY_SLOT;
        }
        self.used.clear();
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
    let sum_of_squares: f64 = counts
        .used
        .iter()
        .map(|&slot| {
            let weight = count_weight(counts.counts[slot as usize]);
            weight * weight
        })
        .sum();
    let norm = sum_of_squares.sqrt();
    for &slot in &counts.used {
        let slot = slot as usize;
        let value = (count_weight(counts.counts[slot]) / norm) as f32;
        visit(counts.keys[slot] as usize, value);
    }
    counts.clear();
}

/// Calls `sink` with the bucket of every feature occurrence (with repeats), in one pass over
/// the text: tokens are found, trimmed and hashed in place, no feature string is built.
fn for_each_occurrence(text: &str, mut sink: impl FnMut(u32)) {
    let word_prefix = fnv_extend(FNV_OFFSET, b"w:");
    let bigram_prefix = fnv_extend(FNV_OFFSET, b"b:");
    let char_prefix = fnv_extend(FNV_OFFSET, b"c:");
    let mut previous: Option<&str> = None;
    for token in tokens(text) {
        sink(bucket(fnv_extend(word_prefix, token.as_bytes())));
        if let Some(prev) = previous {
            let h = fnv_extend(bigram_prefix, prev.as_bytes());
            let h = fnv_extend(h, b" ");
            sink(bucket(fnv_extend(h, token.as_bytes())));
        }
        if token.is_ascii() {
            ascii_char_ngrams(token.as_bytes(), char_prefix, &mut sink);
        } else {
            char_ngrams(token, char_prefix, &mut sink);
        }
        previous = Some(token);
    }
}

/// The tokens of normalised text: split on U+0020, trim [`STRIP_CHARS`], drop empties.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ')
        .map(|t| t.trim_matches(is_strip_char))
        .filter(|t| !t.is_empty())
}

fn is_strip_char(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | '!'
            | '?'
            | ';'
            | ':'
            | '"'
            | '\''
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
            | '*'
            | '_'
            | '~'
            | '`'
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

/// [`char_ngrams`] for an ASCII token, where every character is one byte.
fn ascii_char_ngrams(token: &[u8], prefix_hash: u32, sink: &mut impl FnMut(u32)) {
    let padded_len = token.len() + 2;
    let at = |i: usize| match i {
        0 => b'<',
        i if i == padded_len - 1 => b'>',
        i => token[i - 1],
    };
    for start in 0..padded_len {
        let mut h = fnv_byte(prefix_hash, at(start));
        for end in start + MIN_CHAR_NGRAM..=(start + MAX_CHAR_NGRAM).min(padded_len) {
            h = fnv_byte(h, at(end - 1));
            sink(bucket(h));
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
