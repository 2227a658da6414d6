//! Context words of the lexicon's rules, numbered once at compile time.
//!
//! Every context word of every entry (`forbid_near`, `require_any`, `require_all`,
//! `soften_near`, `condemn_near`, words of multi-word items included) gets a number in one
//! [`Vocab`]. A message with a candidate match looks each of its tokens up once
//! ([`TokenIds`]); after that a word set answers "is token `i` one of mine?" with a bit test,
//! and a multi-word item compares numbers, however long the lists and however many candidates
//! a line has.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use super::format::{FileSpec, Located, invalid};
use super::tokens::{TokenStream, tokenize_with};
use super::{Field, LexiconError};
use crate::text::{NormalizeOptions, normalize};

/// The number of a token that is no context word.
const UNKNOWN: u32 = u32::MAX;

/// Every context word of the lexicon, canonical form → number.
#[derive(Debug, Clone, Default)]
pub(super) struct Vocab {
    ids: HashMap<Box<str>, u32, FxBuildHasher>,
}

impl Vocab {
    /// The number of `word`, giving it the next one when it is new.
    fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let next = u32::try_from(self.ids.len()).unwrap_or(UNKNOWN);
        *self.ids.entry(word.into()).or_insert(next)
    }

    /// Looks up every token of `stream`, into `ids` (one number per token, [`UNKNOWN`] for
    /// tokens that are no context word).
    pub(super) fn number(&self, stream: &TokenStream, ids: &mut TokenIds) {
        ids.0.clear();
        ids.0.extend(
            (0..stream.tokens.len())
                .map(|i| self.ids.get(stream.text(i)).copied().unwrap_or(UNKNOWN)),
        );
    }
}

/// The context-word numbers of one message's tokens, in token order.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenIds(Vec<u32>);

impl TokenIds {
    /// Forgets the numbers (the token stream changed).
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }

    /// Whether no token has been looked up since the last [`TokenIds::clear`].
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn get(&self, i: usize) -> u32 {
        self.0.get(i).copied().unwrap_or(UNKNOWN)
    }
}

/// A message's tokens with their context-word numbers.
#[derive(Clone, Copy)]
pub(super) struct Tokens<'a> {
    /// The token stream.
    pub(super) stream: &'a TokenStream,
    /// Its numbers, one per token.
    pub(super) ids: &'a TokenIds,
}

/// A bit per context-word number.
#[derive(Debug, Clone, Default)]
struct Bits(Vec<u64>);

impl Bits {
    fn insert(&mut self, id: u32) {
        let (word, bit) = ((id / 64) as usize, id % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        if let Some(w) = self.0.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    fn contains(&self, id: u32) -> bool {
        self.0
            .get((id / 64) as usize)
            .is_some_and(|w| (w >> (id % 64)) & 1 == 1)
    }
}

/// A set of canonical context words; a word ending in `*` matches any token it starts, and a
/// word or phrase of several tokens (`ww2`, `so called`) matches that token sequence.
#[derive(Debug, Clone, Default)]
pub(super) struct WordSet {
    words: Bits,
    prefixes: Vec<Box<str>>,
    sequences: Vec<Box<[u32]>>,
    /// The first word of each sequence.
    starts: Bits,
    /// Whether any word, prefix or sequence was added.
    any: bool,
}

impl WordSet {
    pub(super) fn is_empty(&self) -> bool {
        !self.any
    }

    /// Whether token `i` is one of the set's words.
    fn contains(&self, t: Tokens<'_>, i: usize) -> bool {
        self.words.contains(t.ids.get(i))
            || (!self.prefixes.is_empty() && {
                let text = t.stream.text(i);
                self.prefixes.iter().any(|p| text.starts_with(&**p))
            })
    }

    /// Whether a listed token sequence starts at token `i` and ends before token `end`.
    fn sequence_at(&self, t: Tokens<'_>, i: usize, end: usize) -> bool {
        let first = t.ids.get(i);
        self.starts.contains(first)
            && self.sequences.iter().any(|seq| {
                i + seq.len() <= end
                    && seq
                        .iter()
                        .enumerate()
                        .all(|(k, &word)| t.ids.get(i + k) == word)
            })
    }
}

/// Context words of one entry, normalised for one field.
#[derive(Debug, Clone, Default)]
pub(super) struct ContextWords {
    pub(super) forbid: WordSet,
    pub(super) cues: WordSet,
    /// One set per `require_all` item: each must have a word near.
    pub(super) required: Vec<WordSet>,
    pub(super) soften: WordSet,
    /// Words that show the match is condemned, reported or banned (softens too).
    pub(super) condemn: WordSet,
    /// Words that show the match is explained or someone else's use of it reported (softens
    /// too).
    pub(super) discuss: WordSet,
    /// Words that do so as the token right after the match (`the 14 words guy`).
    pub(super) discuss_next: WordSet,
}

impl ContextWords {
    /// Whether every `require_all` item has a word within `window` tokens (vacuously true).
    pub(super) fn requirements_hold(
        &self,
        t: Tokens<'_>,
        first: usize,
        last: usize,
        window: usize,
    ) -> bool {
        self.required
            .iter()
            .all(|set| cue_near(t, first, last, window, set))
    }
}

/// Whether a token within `window` tokens of `first..=last` (anywhere if 0) is in `set`.
pub(super) fn near(t: Tokens<'_>, first: usize, last: usize, window: usize, set: &WordSet) -> bool {
    near_where(t, first, last, window, set, |_| true)
}

/// Whether a word or sequence of `set` starts right after token `last`.
pub(super) fn followed_by(t: Tokens<'_>, last: usize, set: &WordSet) -> bool {
    let next = last + 1;
    let n = t.stream.tokens.len();
    next < n && (set.contains(t, next) || set.sequence_at(t, next, n))
}

/// Whether a cue word is near; a repetition of the matched words is no cue (`zog zog`).
pub(super) fn cue_near(
    t: Tokens<'_>,
    first: usize,
    last: usize,
    window: usize,
    set: &WordSet,
) -> bool {
    near_where(t, first, last, window, set, |i| {
        let word = t.stream.text(i);
        !(first..=last).any(|j| t.stream.text(j) == word)
    })
}

/// Whether a word of `set` accepted by `keep` (given its token index) lies within `window`
/// tokens either side of `first..=last` (anywhere else in the message if `window` is 0).
fn near_where(
    t: Tokens<'_>,
    first: usize,
    last: usize,
    window: usize,
    set: &WordSet,
    keep: impl Fn(usize) -> bool,
) -> bool {
    let n = t.stream.tokens.len();
    let (lo, hi) = if window == 0 {
        (0, n)
    } else {
        (first.saturating_sub(window), (last + 1 + window).min(n))
    };
    let hit = |i: usize, end: usize| (set.contains(t, i) && keep(i)) || set.sequence_at(t, i, end);
    (lo..first).any(|i| hit(i, first)) || (last + 1..hi).any(|i| hit(i, hi))
}

/// Word lists by name: (defining file's origin, words).
pub(super) type Lists<'a> = HashMap<&'a str, (&'a str, &'a [Located<String>])>;

/// Normalises `s` as messages are, and returns `field`'s form.
pub(super) fn normalize_for(field: Field, s: &str) -> String {
    field
        .of(&normalize(s, &NormalizeOptions::default()))
        .to_owned()
}

/// A word as written (without a trailing `*`) → its canonical tokens on one field.
type CanonicalTokens = HashMap<Box<str>, Box<[Box<str>]>, FxBuildHasher>;

/// Builds the entries' word sets at compile time: numbers every context word in one
/// [`Vocab`], and normalises each distinct word once per field, however many entries name the
/// list it is in (lists such as `@condemn` are named by dozens of entries).
#[derive(Debug, Default)]
pub(super) struct WordSets {
    vocab: Vocab,
    /// Per field ([`Field::index`]).
    tokens: [CanonicalTokens; 2],
}

impl WordSets {
    /// The numbers given so far, for the compiled matcher.
    pub(super) fn into_vocab(self) -> Vocab {
        self.vocab
    }

    /// One word set per `require_all` item (a word, or an `@list` standing for any of its
    /// words). An item with no word left on `field` could never hold, so it is an error.
    pub(super) fn required_sets(
        &mut self,
        file: &FileSpec,
        lists: &Lists<'_>,
        field: Field,
        items: &[Located<String>],
    ) -> Result<Vec<WordSet>, LexiconError> {
        items
            .iter()
            .map(|item| {
                let set = self.word_set(file, lists, field, std::slice::from_ref(item))?;
                if set.is_empty() {
                    return Err(file.error(
                        item.loc,
                        format!(
                            "require_all item {:?} has no word left after normalisation ({field:?} field), so it could never hold",
                            item.value
                        ),
                    ));
                }
                Ok(set)
            })
            .collect()
    }

    /// Expands `@list` references, normalises context words for `field` and numbers them.
    pub(super) fn word_set(
        &mut self,
        file: &FileSpec,
        lists: &Lists<'_>,
        field: Field,
        words: &[Located<String>],
    ) -> Result<WordSet, LexiconError> {
        let mut set = WordSet::default();
        for w in words {
            let (origin, expanded): (&str, &[Located<String>]) = match w.value.strip_prefix('@') {
                Some(name) => match lists.get(name) {
                    Some(&(origin, list)) => (origin, list),
                    None => {
                        return Err(file.error(w.loc, format!("unknown word list {:?}", w.value)));
                    }
                },
                None => (&file.origin, std::slice::from_ref(w)),
            };
            for word in expanded {
                let (inner, prefix) = match word.value.strip_suffix('*') {
                    Some(inner) => (inner, true),
                    None => (word.value.as_str(), false),
                };
                let tokens = canonical_tokens(&mut self.tokens[field.index()], field, inner);
                match tokens {
                    // The normaliser removes it from messages too: it can never be near anything.
                    [] => continue,
                    [only] if prefix => set.prefixes.push(only.clone()),
                    [only] => set.words.insert(self.vocab.intern(only)),
                    _ if prefix => {
                        return Err(invalid(
                            origin,
                            word.loc,
                            format!(
                                "context word {:?}: a trailing '*' needs a single word",
                                word.value
                            ),
                        ));
                    }
                    several => {
                        let seq: Box<[u32]> =
                            several.iter().map(|t| self.vocab.intern(t)).collect();
                        if let Some(&start) = seq.first() {
                            set.starts.insert(start);
                        }
                        set.sequences.push(seq);
                    }
                }
                set.any = true;
            }
        }
        Ok(set)
    }
}

/// The canonical tokens of `word` on `field`, normalised and tokenised on first use only.
fn canonical_tokens<'c>(
    cache: &'c mut CanonicalTokens,
    field: Field,
    word: &str,
) -> &'c [Box<str>] {
    if !cache.contains_key(word) {
        let s = tokenize_with(&normalize_for(field, word), field.collapses());
        let tokens = (0..s.tokens.len()).map(|i| s.text(i).into()).collect();
        cache.insert(word.into(), tokens);
    }
    cache.get(word).map_or(&[], |t| t)
}
