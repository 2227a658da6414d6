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

use std::sync::LazyLock;

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
    /// The table: where each bucket of the message being counted is in `hits`. A slot belongs
    /// to the message being counted only when its key carries the current generation, so the
    /// table needs no clearing between messages.
    slots: Vec<Slot>,
    /// The buckets of the message being counted and their hit counts, in the order they were
    /// first hit; as long as the table, so it has room for every bucket a message can hit.
    hits: Vec<Hit>,
    /// The generation of the message being counted, in the bits of a key above the bucket; 0
    /// before the first message.
    generation: u32,
}

/// One slot of [`FeatureCounts`]: which bucket of which message, and where it is counted.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// The message's generation above the bucket ([`BUCKET_BITS`] bits); 0 when never used.
    key: u32,
    /// The bucket's index in [`FeatureCounts::hits`].
    rank: u32,
}

/// A bucket of the message being counted and how often it was hit.
#[derive(Debug, Clone, Copy, Default)]
struct Hit {
    bucket: u32,
    hits: u32,
}

/// Bits of a bucket index in a slot's key.
const BUCKET_BITS: u32 = FEATURE_DIM.trailing_zeros();

/// The last generation a key can hold; the table is cleared when it has been used.
const LAST_GENERATION: u32 = u32::MAX >> BUCKET_BITS;

impl FeatureCounts {
    /// Buffers already sized for messages of up to `max_bytes` bytes of normalised text.
    pub fn with_capacity(max_bytes: usize) -> Self {
        let mut counts = FeatureCounts::default();
        counts.reserve_for(max_bytes);
        counts
    }

    /// Makes room for a text of `bytes` bytes; returns the slot mask to use for it. The table
    /// used is at most half full: a token of `n` bytes has at most `3n + 2` occurrences (`w:`,
    /// `b:` and the `3n` character n-grams of `<token>`), and `t` tokens need at least `t - 1`
    /// separating bytes, so a text has at most `3 * bytes + 2`. The smaller the part of the
    /// table a message uses, the more of it stays in cache from one message to the next.
    fn reserve_for(&mut self, bytes: usize) -> usize {
        let occurrences = 3 * bytes + 2;
        let slots = (2 * occurrences).next_power_of_two();
        if self.slots.len() < slots {
            self.slots.resize(slots, Slot::default());
            self.hits.resize(slots, Hit::default());
        }
        slots - 1
    }

    /// Starts counting a message of `bytes` bytes.
    fn start(&mut self, bytes: usize) -> Counting<'_> {
        let mask = self.reserve_for(bytes);
        if self.generation == LAST_GENERATION {
            self.slots.fill(Slot::default());
            self.generation = 0;
        }
        self.generation += 1;
        Counting {
            slots: &mut self.slots,
            mask,
            generation: self.generation << BUCKET_BITS,
            hits: &mut self.hits,
            distinct: 0,
            repeats: false,
        }
    }
}

/// One message being counted into a [`FeatureCounts`], held in locals while the text is
/// scanned.
struct Counting<'a> {
    slots: &'a mut [Slot],
    mask: usize,
    /// The message's generation, shifted into place: the smallest key of this message.
    generation: u32,
    hits: &'a mut [Hit],
    /// How many distinct buckets were hit: `hits[..distinct]`.
    distinct: usize,
    /// Whether some bucket was hit more than once.
    repeats: bool,
}

impl Counting<'_> {
    #[inline(always)]
    fn add(&mut self, bucket: u32) {
        let key = self.generation | bucket;
        // Fibonacci hashing spreads the FNV buckets over the slots in use.
        let mut slot = (bucket.wrapping_mul(0x9E37_79B9) as usize) & self.mask;
        // `mask` is below the table's length, so every probe finds its slot, and the table is
        // at most half full, so some slot is free.
        while let Some(entry) = self.slots.get_mut(slot) {
            if entry.key == key {
                if let Some(hit) = self.hits.get_mut(entry.rank as usize) {
                    hit.hits += 1;
                }
                self.repeats = true;
                return;
            }
            // Keys of earlier messages carry an earlier generation.
            if entry.key < self.generation {
                let rank = self.distinct;
                *entry = Slot {
                    key,
                    rank: rank as u32,
                };
                // `hits` is as long as the table, and each distinct bucket takes a slot.
                if let Some(hit) = self.hits.get_mut(rank) {
                    *hit = Hit { bucket, hits: 1 };
                }
                self.distinct = rank + 1;
                return;
            }
            slot = (slot + 1) & self.mask;
        }
    }
}

/// Featurises normalised text and calls `visit(bucket, value)` once for every non-zero bucket,
/// with the same values [`featurize`] gives (within the rounding of the norm's sum, which runs
/// in first-hit order instead of bucket order), in no particular order. Allocates nothing once
/// `counts` has grown to the message length; this is what the fast tier scores with. Inlined
/// so that what `visit` accumulates stays in registers.
#[inline]
pub fn for_each_feature(
    normalized: &str,
    counts: &mut FeatureCounts,
    visit: impl FnMut(usize, f32),
) {
    let mut counting = counts.start(normalized.len());
    for_each_occurrence(normalized, |bucket| counting.add(bucket));
    let Counting {
        hits,
        distinct,
        repeats,
        ..
    } = counting;
    let hits = hits.get(..distinct).unwrap_or_default();
    // Without repeats every weight is 1, and the sum of their squares is the count, exactly.
    // The norm, and the largest count, in one pass over the counts.
    let (norm, most) = if repeats {
        let squares = &*COUNT_WEIGHT_SQUARES;
        let (sum_of_squares, most) = hits.iter().fold((0.0_f64, 1_u32), |(sum, most), hit| {
            let square = match squares.get(hit.hits as usize) {
                Some(&square) => square,
                None => count_weight_square(hit.hits),
            };
            (sum + square, most.max(hit.hits))
        });
        (sum_of_squares.sqrt(), most)
    } else {
        ((distinct as f64).sqrt(), 1)
    };
    // The value of every count up to the largest, each divided once; the rare message with a
    // bucket hit that often computes each value where it is needed instead.
    if most < TABULATED_COUNTS as u32 {
        let mut values = [0_f32; TABULATED_COUNTS];
        for (count, value) in (1..=most).zip(values.iter_mut().skip(1)) {
            *value = (count_weight(count) / norm) as f32;
        }
        // Every count is at most `most`, below the table's length.
        let value = |count: u32| values[count as usize % TABULATED_COUNTS];
        visit_all(hits, value, visit);
    } else {
        let value = |count: u32| (count_weight(count) / norm) as f32;
        visit_all(hits, value, visit);
    }
}

/// Calls `visit(bucket, value(hits))` for every counted bucket, in order.
#[inline(always)]
fn visit_all(hits: &[Hit], value: impl Fn(u32) -> f32, mut visit: impl FnMut(usize, f32)) {
    for hit in hits {
        visit(hit.bucket as usize, value(hit.hits));
    }
}

/// Calls `sink` with the bucket of every feature occurrence (with repeats), in one pass over
/// the text: tokens are found, trimmed and hashed in place, no feature string is built. For
/// each token, in this order: its `w:` feature, its `b:` feature with the previous token, its
/// character n-grams by start and then length. Inlined, so that the counting `sink` keeps its
/// state in registers.
#[inline(always)]
fn for_each_occurrence(text: &str, mut sink: impl FnMut(u32)) {
    let mut words = WordHashes::default();
    if text.is_ascii() {
        // One check for the whole text, and tokens cut from bytes.
        for token in text.as_bytes().split(|&b| b == b' ') {
            let token = trim_bytes(token);
            if !token.is_empty() {
                words.token(token, &mut sink);
                ascii_char_ngrams(token, CHAR_PREFIX, &mut sink);
            }
        }
    } else {
        for token in tokens(text) {
            words.token(token.as_bytes(), &mut sink);
            if token.is_ascii() {
                ascii_char_ngrams(token.as_bytes(), CHAR_PREFIX, &mut sink);
            } else {
                char_ngrams(token, CHAR_PREFIX, &mut sink);
            }
        }
    }
}

/// The FNV-1a hash of `w:`.
const WORD_PREFIX: u32 = fnv_extend(FNV_OFFSET, b"w:");
/// The FNV-1a hash of `b:`.
const BIGRAM_PREFIX: u32 = fnv_extend(FNV_OFFSET, b"b:");
/// The FNV-1a hash of `c:`.
const CHAR_PREFIX: u32 = fnv_extend(FNV_OFFSET, b"c:");

/// The word features of consecutive tokens: a token's `w:` feature, its `b:` feature with the
/// previous token and the start of its `b:` feature with the next one are hashed in one pass
/// over its bytes.
#[derive(Default)]
struct WordHashes {
    /// The hash of `b:<previous token> `, once there is a previous token.
    bigram_head: Option<u32>,
}

impl WordHashes {
    /// Gives `sink` the `w:` and `b:` buckets of the next token (trimmed, not empty).
    #[inline(always)]
    fn token(&mut self, token: &[u8], sink: &mut impl FnMut(u32)) {
        let (mut word, mut bigram, mut head) = (
            WORD_PREFIX,
            self.bigram_head.unwrap_or(FNV_OFFSET),
            BIGRAM_PREFIX,
        );
        for &b in token {
            word = fnv_byte(word, b);
            bigram = fnv_byte(bigram, b);
            head = fnv_byte(head, b);
        }
        sink(bucket(word));
        if self.bigram_head.is_some() {
            sink(bucket(bigram));
        }
        self.bigram_head = Some(fnv_byte(head, b' '));
    }
}

/// The tokens of normalised text: split on U+0020, trim [`STRIP_CHARS`], drop empties.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').map(trim).filter(|t| !t.is_empty())
}

/// `token` with [`STRIP_CHARS`] trimmed from both ends. They are all ASCII, and no byte of a
/// multi-byte character is, so trimming bytes trims the same characters.
fn trim(token: &str) -> &str {
    token.get(untrimmed(token.as_bytes())).unwrap_or_default()
}

/// [`trim`] on the bytes of an ASCII token.
#[inline(always)]
fn trim_bytes(token: &[u8]) -> &[u8] {
    token.get(untrimmed(token)).unwrap_or_default()
}

/// The part of `token` that [`STRIP_CHARS`] do not begin or end.
#[inline(always)]
fn untrimmed(token: &[u8]) -> std::ops::Range<usize> {
    let start = token
        .iter()
        .position(|&b| !is_strip_byte(b))
        .unwrap_or(token.len());
    let end = token
        .iter()
        .rposition(|&b| !is_strip_byte(b))
        .map_or(start, |last| last + 1);
    start..end
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

/// [`char_ngrams`] for an ASCII token, where every character is one byte: four bytes of
/// `<token>` slide along it in locals, each start giving its 2-, 3- and 4-grams.
#[inline(always)]
fn ascii_char_ngrams(token: &[u8], prefix_hash: u32, sink: &mut impl FnMut(u32)) {
    // The n-gram lengths this is written for.
    const _: () = assert!(MIN_CHAR_NGRAM == 2 && MAX_CHAR_NGRAM == 4);
    let mut rest = token.iter().copied().chain(std::iter::once(b'>'));
    // The window `a b c d` at the current start; `c` and `d` are missing near the end.
    let (mut a, mut b) = (b'<', rest.next().unwrap_or(b'>'));
    let (mut c, mut d) = (rest.next(), rest.next());
    loop {
        let two = fnv_byte(fnv_byte(prefix_hash, a), b);
        sink(bucket(two));
        let Some(third) = c else { break };
        let three = fnv_byte(two, third);
        sink(bucket(three));
        if let Some(fourth) = d {
            sink(bucket(fnv_byte(three, fourth)));
        }
        (a, b, c, d) = (b, third, d, rest.next());
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
/// buckets are hit once, and `ln(1)` is exactly 0, so that case skips the logarithm; counts
/// below [`TABULATED_COUNTS`] read the value the same expression gave once, in
/// [`COUNT_WEIGHTS`].
#[inline]
fn count_weight(count: u32) -> f64 {
    if count == 1 {
        return 1.0;
    }
    match COUNT_WEIGHTS.get(count as usize) {
        Some(&weight) => weight,
        None => ln_weight(count),
    }
}

/// The square of [`count_weight`].
#[inline]
fn count_weight_square(count: u32) -> f64 {
    let weight = count_weight(count);
    weight * weight
}

/// Counts whose weight [`COUNT_WEIGHTS`] holds: a word or n-gram repeated more often than
/// this in one message is rare.
const TABULATED_COUNTS: usize = 64;

/// `ln_weight(count)` for every count below [`TABULATED_COUNTS`] (0 unused), computed on first
/// use with the same function, so a table value and a computed one are the same bits.
static COUNT_WEIGHTS: LazyLock<[f64; TABULATED_COUNTS]> =
    LazyLock::new(|| std::array::from_fn(|count| ln_weight(count as u32)));

/// [`count_weight_square`] for every count below [`TABULATED_COUNTS`] (0 unused), computed on
/// first use.
static COUNT_WEIGHT_SQUARES: LazyLock<[f64; TABULATED_COUNTS]> =
    LazyLock::new(|| std::array::from_fn(|count| count_weight_square(count as u32)));

/// `1 + ln(count)`, computed.
fn ln_weight(count: u32) -> f64 {
    1.0 + f64::from(count).ln()
}

#[inline]
fn bucket(hash: u32) -> u32 {
    hash & BUCKET_MASK
}

#[inline]
const fn fnv_byte(hash: u32, byte: u8) -> u32 {
    (hash ^ byte as u32).wrapping_mul(FNV_PRIME)
}

#[inline]
const fn fnv_extend(mut hash: u32, bytes: &[u8]) -> u32 {
    let mut i = 0;
    while i < bytes.len() {
        hash = fnv_byte(hash, bytes[i]);
        i += 1;
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
    fn counts_stay_right_when_the_generations_run_out() {
        let mut counts = FeatureCounts::default();
        let text = "kill kill kill the healer";
        let expected = (counted(text, &mut counts), counted("gg ez", &mut counts));
        counts.generation = LAST_GENERATION - 1;
        for _ in 0..3 {
            assert_eq!(counted(text, &mut counts), expected.0);
            assert_eq!(counted("gg ez", &mut counts), expected.1);
        }
        assert!(counts.generation < LAST_GENERATION);
    }

    #[test]
    fn single_char_token_features() {
        // "a" → w:a, c:<a, c:a>, c:<a> : four distinct features.
        let f = featurize("a");
        assert_eq!(f.len(), 4);
    }
}
