//! The compiled matcher: one Aho-Corasick automaton per normalised field, plus context rules.
//!
//! Patterns, context words and messages all go through the same normaliser and the same
//! tokeniser ([`super::tokens`]), so a pattern written in plain text matches whatever the
//! normaliser makes of an obfuscated message. `find` tokenises each field once, scans the
//! canonical token string once, and only looks at context for the rare candidate matches.

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::context::{
    ContextWords, Lists, TokenIds, Tokens, Vocab, WordSets, cue_near, followed_by, near,
    normalize_for,
};
use super::format::{EntrySpec, FileSpec, Kind, Located, MatchOn};
use super::tokens::{
    TokenKind, TokenStream, stretches, tokenize_into, tokenize_with, uncollapse_into,
};
use super::{EntryInfo, Field, LexiconError, LexiconHit, MatchRule};
use crate::text::Normalized;

/// Shortest compact form (`dayoftherope`) generated from a multi-word pattern, in characters.
const MIN_COMPACT_CHARS: usize = 6;

/// Context rules of one entry that do not depend on the field.
#[derive(Debug, Clone)]
struct Rules {
    window: usize,
    cue_window: usize,
    stance_window: usize,
    standalone: bool,
    embedded: bool,
    cue: bool,
    with_other_hit: bool,
    soften_factor: f32,
}

impl Rules {
    /// Whether any gate is configured (otherwise every non-vetoed occurrence counts).
    fn gated(&self) -> bool {
        self.standalone || self.embedded || self.cue || self.with_other_hit
    }
}

#[derive(Debug, Clone)]
struct CompiledEntry {
    rules: Rules,
    /// Indexed by [`Field::index`].
    words: [ContextWords; 2],
}

/// One (entry, pattern) behind an automaton pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PatternRef {
    entry: usize,
    left_wild: bool,
    right_wild: bool,
    /// Bit `k` set: pattern token `k` must be glued to token `k - 1` (as in `c18`).
    glue: u64,
    /// On the `text` field, the pattern's words before letter runs were collapsed, when any
    /// word had a repeated letter: a message word must stretch each of them.
    words: Option<Box<[Box<str>]>>,
}

/// One automaton over the patterns of both fields. A message whose two token streams are the
/// same string is searched once, and each match is checked against each field's references.
#[derive(Debug, Clone)]
struct Automaton {
    ac: AhoCorasick,
    /// Per automaton pattern, the references of each field (indexed by [`Field::index`]).
    refs: Vec<[Vec<PatternRef>; 2]>,
    /// Whether any entry matches on each field.
    fields: [bool; 2],
}

/// The compiled lexicon.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    pub(crate) infos: Vec<EntryInfo>,
    entries: Vec<CompiledEntry>,
    automaton: Option<Automaton>,
    vocab: Vocab,
}

/// Reusable buffers for [`Matcher::find`].
#[derive(Debug, Clone, Default)]
pub(crate) struct FindScratch {
    stream: TokenStream,
    /// A second stream, for [`uncollapse_into`].
    spare: TokenStream,
    ids: TokenIds,
    cands: Vec<Candidate>,
    /// The `folded` field's candidates while one search serves both fields.
    folded: Vec<Candidate>,
}

/// A candidate occurrence before overlap resolution.
#[derive(Debug, Clone)]
struct Candidate {
    entry: usize,
    field: Field,
    first: usize,
    last: usize,
    span: Range<usize>,
    weight: f32,
    rule: Option<MatchRule>,
    softened: bool,
    condemned: bool,
    discussed: bool,
}

impl Candidate {
    fn contains(&self, other: &Candidate) -> bool {
        self.field == other.field
            && self.first <= other.first
            && other.last <= self.last
            && (self.first, self.last) != (other.first, other.last)
    }

    fn overlaps(&self, other: &Candidate) -> bool {
        self.field == other.field && self.first <= other.last && other.first <= self.last
    }
}

impl Field {
    /// Whether letter runs are collapsed in this field's canonical string.
    pub(super) fn collapses(self) -> bool {
        self == Field::Text
    }
}

fn fields(on: MatchOn) -> &'static [Field] {
    match on {
        MatchOn::Text => &[Field::Text],
        MatchOn::Folded => &[Field::Folded],
        MatchOn::Both => &[Field::Text, Field::Folded],
    }
}

/// Every word list of every file by name; a name defined twice is an error.
fn collect_lists(files: &[FileSpec]) -> Result<Lists<'_>, LexiconError> {
    let mut lists: Lists<'_> = HashMap::new();
    for file in files {
        for (name, words) in &file.lists {
            if let Some((first, _)) = lists.insert(&name.value, (&file.origin, words)) {
                return Err(file.error(
                    name.loc,
                    format!("word list {:?} is already defined in {first}", name.value),
                ));
            }
        }
    }
    Ok(lists)
}

/// The distinct canonical patterns of both fields, each with the entries that use it per field.
#[derive(Default)]
struct PatternTable {
    patterns: Vec<String>,
    refs: Vec<[Vec<PatternRef>; 2]>,
    index: HashMap<String, usize>,
    fields: [bool; 2],
}

impl PatternTable {
    /// Records that `pref` uses pattern `canon` on `field` (once per pattern and reference).
    fn add(&mut self, field: Field, canon: String, pref: PatternRef) {
        let slot = *self.index.entry(canon.clone()).or_insert_with(|| {
            self.patterns.push(canon);
            self.refs.push(Default::default());
            self.refs.len() - 1
        });
        if let Some(list) = self
            .refs
            .get_mut(slot)
            .and_then(|per_field| per_field.get_mut(field.index()))
            && !list.contains(&pref)
        {
            list.push(pref);
        }
        self.fields[field.index()] = true;
    }

    /// The automaton, `None` when no entry has a pattern.
    fn build(self) -> Result<Option<Automaton>, LexiconError> {
        if self.patterns.is_empty() {
            return Ok(None);
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(automaton_kind(self.patterns.len()))
            .build(&self.patterns)
            .map_err(|e| LexiconError::Build {
                message: e.to_string(),
            })?;
        Ok(Some(Automaton {
            ac,
            refs: self.refs,
            fields: self.fields,
        }))
    }
}

/// Largest number of patterns searched with a full DFA; above it the automaton's size would grow
/// past what a game server should spend on it (about 4 KB per pattern), and the crate picks.
const MAX_DFA_PATTERNS: usize = 10_000;

/// A full DFA up to [`MAX_DFA_PATTERNS`], instead of the default contiguous NFA: on chat it
/// halves the search (0.6 → 0.33 µs per CONDA line, 3.0 → 1.7 µs on lines over 90 bytes), for
/// about 8 MB instead of 0.3 MB and 14 ms more at load with the 2,200 or so patterns the
/// shipped lexicon had when this was measured (about 2,400 since 2026.12.9). The search runs on
/// the game thread for every line; the memory is spent once.
fn automaton_kind(patterns: usize) -> Option<AhoCorasickKind> {
    (patterns <= MAX_DFA_PATTERNS).then_some(AhoCorasickKind::DFA)
}

/// Compiles entry number `entry` of `file`: its patterns go into `tables`, its context rules
/// into the returned entry.
fn compile_entry(
    file: &FileSpec,
    spec: &EntrySpec,
    entry: usize,
    lists: &Lists<'_>,
    sets: &mut WordSets,
    table: &mut PatternTable,
) -> Result<(CompiledEntry, EntryInfo), LexiconError> {
    let ctx = &spec.context;
    let mut words: [ContextWords; 2] = Default::default();
    for &field in fields(spec.match_on) {
        let f = field.index();
        for p in &spec.patterns {
            for (canon, pref) in compile_pattern(file, entry, field, p, spec.compact)? {
                table.add(field, canon, pref);
            }
        }
        if let Some(slot) = words.get_mut(f) {
            *slot = ContextWords {
                forbid: sets.word_set(file, lists, field, &ctx.forbid_near)?,
                cues: sets.word_set(file, lists, field, &ctx.require_any)?,
                required: sets.required_sets(file, lists, field, &ctx.require_all)?,
                soften: sets.word_set(file, lists, field, &ctx.soften_near)?,
                condemn: sets.word_set(file, lists, field, &ctx.condemn_near)?,
                discuss: sets.word_set(file, lists, field, &ctx.discuss_near)?,
                discuss_next: sets.word_set(file, lists, field, &ctx.discuss_next)?,
            };
        }
    }
    let compiled = CompiledEntry {
        rules: Rules {
            window: ctx.window,
            cue_window: ctx.cue_window,
            stance_window: ctx.stance_window,
            standalone: ctx.standalone,
            embedded: ctx.embedded,
            cue: !ctx.require_any.is_empty(),
            with_other_hit: ctx.with_other_hit,
            soften_factor: ctx.soften_factor,
        },
        words,
    };
    let info = EntryInfo {
        id: spec.id.value.clone(),
        category: spec.category,
        weight: spec.weight,
        lang: spec.lang.clone(),
        kind: spec.kind,
        description: spec.description.clone(),
        source: spec.source.clone(),
    };
    Ok((compiled, info))
}

impl Matcher {
    /// Compiles parsed files; checks ids, list references and patterns across all files.
    pub(crate) fn compile(files: &[FileSpec]) -> Result<Matcher, LexiconError> {
        let lists = collect_lists(files)?;
        let mut ids: HashMap<&str, String> = HashMap::new();
        let mut infos = Vec::new();
        let mut entries = Vec::new();
        let mut table = PatternTable::default();
        let mut sets = WordSets::default();
        for file in files {
            for spec in &file.entries {
                let here = format!(
                    "{}:{}:{}",
                    file.origin, spec.id.loc.line, spec.id.loc.column
                );
                if let Some(first) = ids.insert(&spec.id.value, here) {
                    return Err(file.error(
                        spec.id.loc,
                        format!(
                            "duplicate id {:?} (first defined at {first})",
                            spec.id.value
                        ),
                    ));
                }
                let (compiled, info) =
                    compile_entry(file, spec, entries.len(), &lists, &mut sets, &mut table)?;
                entries.push(compiled);
                infos.push(info);
            }
        }
        Ok(Matcher {
            infos,
            entries,
            automaton: table.build()?,
            vocab: sets.into_vocab(),
        })
    }

    /// Finds entries in a normalised message, tokenising into `scratch`'s buffers.
    #[expect(
        clippy::drain_collect,
        reason = "draining keeps the scratch buffer's capacity for the next message"
    )]
    pub(crate) fn find(&self, n: &Normalized, scratch: &mut FindScratch) -> Vec<LexiconHit> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let FindScratch {
            stream,
            spare,
            ids,
            cands,
            folded,
        } = scratch;
        cands.clear();
        folded.clear();
        // Whether `stream` holds this line's `text` field.
        let mut text_stream = false;
        for field in [Field::Text, Field::Folded] {
            if !automaton.fields[field.index()] {
                continue;
            }
            // The `folded` field of a line that folds and normalises to the same string has the
            // `text` field's tokens; on ASCII they are rewritten without collapsing, not found
            // again.
            let same_haystack = field == Field::Folded && text_stream && n.folded == n.text;
            text_stream = field == Field::Text;
            let uncollapsed = same_haystack && uncollapse_into(&n.folded, stream, spare);
            let collapsed = !uncollapsed && tokenize_into(field.of(n), field.collapses(), stream);
            // `spare` only ever receives rewritten tokens and `stream` tokenised ones, so each
            // buffer grows to what its own use needs once, whatever order lines come in.
            let stream: &TokenStream = if uncollapsed { spare } else { stream };
            ids.clear();
            // Most lines fold and normalise to the same string; when no letter run was
            // collapsed in the `text` field either, its token stream is the `folded` field's as
            // well, and one search serves both.
            let both = field == Field::Text
                && automaton.fields[Field::Folded.index()]
                && !collapsed
                && n.folded == n.text;
            if !stream.tokens.is_empty() {
                for m in automaton.ac.find_overlapping_iter(&stream.canon) {
                    let Some([text_refs, folded_refs]) = automaton.refs.get(m.pattern().as_usize())
                    else {
                        continue;
                    };
                    let (own, also_folded): (&[PatternRef], &[PatternRef]) = match field {
                        Field::Text if both => (text_refs, folded_refs),
                        Field::Text => (text_refs, &[]),
                        Field::Folded => (folded_refs, &[]),
                    };
                    if own.is_empty() && also_folded.is_empty() {
                        continue;
                    }
                    // Context words are looked up once per token stream, at its first match.
                    if ids.is_empty() {
                        self.vocab.number(stream, ids);
                    }
                    let tokens = Tokens { stream, ids };
                    let span = m.start()..m.end();
                    self.push_candidates(field, n, tokens, &span, own, cands);
                    self.push_candidates(Field::Folded, n, tokens, &span, also_folded, folded);
                }
            }
            if both {
                break;
            }
        }
        // The `text` field's candidates first, as when each field is searched on its own.
        cands.append(folded);
        // Deferred candidates only count next to an accepted one.
        if !cands.iter().any(|c| c.rule.is_some()) {
            return Vec::new();
        }
        self.resolve(cands.drain(..).collect(), n)
    }

    /// Adds the candidates of one automaton match at `span` for `field`'s references `prefs`.
    fn push_candidates(
        &self,
        field: Field,
        n: &Normalized,
        tokens: Tokens<'_>,
        span: &Range<usize>,
        prefs: &[PatternRef],
        out: &mut Vec<Candidate>,
    ) {
        for pref in prefs {
            if let Some(c) = self.candidate(field, field.of(n), tokens, span.start, span.end, pref)
            {
                out.push(c);
            }
        }
    }

    /// Checks boundaries, glue and context for one automaton match.
    fn candidate(
        &self,
        field: Field,
        haystack: &str,
        t: Tokens<'_>,
        start: usize,
        end: usize,
        pref: &PatternRef,
    ) -> Option<Candidate> {
        let s = t.stream;
        let (first, last) = token_range(s, haystack, start, end, pref)?;
        let entry = self.entries.get(pref.entry)?;
        let words = &entry.words[field.index()];
        let r = &entry.rules;
        if !words.forbid.is_empty() && near(t, first, last, r.window, &words.forbid) {
            return None;
        }
        if !words.requirements_hold(t, first, last, r.cue_window) {
            return None;
        }
        let rule = if !r.gated() {
            Some(if words.required.is_empty() {
                MatchRule::Pattern
            } else {
                MatchRule::Cue
            })
        } else if r.standalone && standalone(s, first, last) {
            Some(MatchRule::Standalone)
        } else if r.embedded && embedded(s, first, last) {
            Some(MatchRule::Embedded)
        } else if !words.cues.is_empty() && cue_near(t, first, last, r.cue_window, &words.cues) {
            Some(MatchRule::Cue)
        } else if r.with_other_hit {
            None
        } else {
            return None;
        };
        let stance = r.stance_window;
        let condemned = !words.condemn.is_empty() && near(t, first, last, stance, &words.condemn);
        let discussed = !words.discuss.is_empty() && near(t, first, last, stance, &words.discuss)
            || !words.discuss_next.is_empty() && followed_by(t, last, &words.discuss_next);
        let softened = condemned
            || discussed
            || !words.soften.is_empty() && near(t, first, last, stance, &words.soften);
        let weight =
            self.infos.get(pref.entry)?.weight * if softened { r.soften_factor } else { 1.0 };
        let span = s.tokens.get(first)?.start..s.tokens.get(last)?.end;
        Some(Candidate {
            entry: pref.entry,
            field,
            first,
            last,
            span,
            weight,
            rule,
            softened,
            condemned,
            discussed,
        })
    }

    /// Applies the other-hit gate, drops occurrences inside longer ones, keeps one hit per entry.
    /// Mentions and counter-speech ([`Kind::is_stance_only`]) neither open the other-hit gate
    /// nor drop other hits; one inside another hit is dropped.
    fn resolve(&self, cands: Vec<Candidate>, n: &Normalized) -> Vec<LexiconHit> {
        let is_stance_only = |c: &Candidate| self.kind(c).is_some_and(Kind::is_stance_only);
        let (stance_only, cands): (Vec<_>, Vec<_>) = cands.into_iter().partition(is_stance_only);
        let (accepted, deferred): (Vec<_>, Vec<_>) =
            cands.into_iter().partition(|c| c.rule.is_some());
        let mut accepted = drop_contained(accepted);
        let mut extra = Vec::new();
        for mut d in deferred {
            let blocked = accepted.iter().any(|a| a.overlaps(&d));
            if !blocked && accepted.iter().any(|a| a.entry != d.entry) {
                d.rule = Some(MatchRule::OtherHit);
                extra.push(d);
            }
        }
        if !extra.is_empty() {
            accepted.extend(extra);
            accepted = drop_contained(accepted);
        }
        let stance_only: Vec<Candidate> = stance_only
            .into_iter()
            .filter(|m| m.rule.is_some() && !accepted.iter().any(|a| a.contains(m)))
            .collect();
        accepted.extend(stance_only);

        let mut best: Vec<Candidate> = Vec::with_capacity(accepted.len());
        for c in accepted {
            match best.iter_mut().find(|b| b.entry == c.entry) {
                Some(b) if c.weight > b.weight => *b = c,
                Some(_) => {}
                None => best.push(c),
            }
        }
        best.sort_by_key(|c| (c.field.index(), c.span.start));
        best.into_iter()
            .filter_map(|c| {
                let info = self.infos.get(c.entry)?;
                let haystack = c.field.of(n);
                Some(LexiconHit {
                    id: info.id.clone(),
                    category: info.category,
                    weight: c.weight,
                    matched: haystack.get(c.span.clone()).unwrap_or_default().to_owned(),
                    lang: info.lang.clone(),
                    kind: info.kind,
                    description: info.description.clone(),
                    field: c.field,
                    span: c.span,
                    rule: c.rule.unwrap_or(MatchRule::Pattern),
                    softened: c.softened,
                    condemned: c.condemned,
                    discussed: c.discussed,
                })
            })
            .collect()
    }

    fn kind(&self, c: &Candidate) -> Option<Kind> {
        self.infos.get(c.entry).map(|i| i.kind)
    }
}

/// The first and last token an automaton match at `start..end` of the canonical string covers,
/// if the pattern's shape holds there: word boundaries (unless wild), glued tokens where the
/// pattern has glue, and each word stretched from the pattern's word when it lists words.
fn token_range(
    s: &TokenStream,
    haystack: &str,
    start: usize,
    end: usize,
    pref: &PatternRef,
) -> Option<(usize, usize)> {
    let canon = s.canon.as_bytes();
    let boundary = |i: usize| matches!(canon.get(i), None | Some(b' ' | b'\n'));
    let left_ok = pref.left_wild || start == 0 || boundary(start - 1);
    if !left_ok || !(pref.right_wild || boundary(end)) {
        return None;
    }
    let first = s.token_at(start);
    let last = s.token_before(end)?;
    if last < first {
        return None;
    }
    for k in 1..=(last - first).min(63) {
        if pref.glue & (1u64 << k) != 0 && !s.tokens.get(first + k).is_some_and(|t| t.glued) {
            return None;
        }
    }
    if let Some(words) = &pref.words {
        let n = last - first;
        if words.len() != n + 1 {
            return None;
        }
        for (k, word) in words.iter().enumerate() {
            let t = s.tokens.get(first + k)?;
            let (lw, rw) = (pref.left_wild && k == 0, pref.right_wild && k == n);
            if !stretches(haystack.get(t.start..t.end)?, word, lw, rw) {
                return None;
            }
        }
    }
    Some((first, last))
}

/// Drops candidates lying strictly inside a candidate of another entry in the same field.
fn drop_contained(cands: Vec<Candidate>) -> Vec<Candidate> {
    let keep: Vec<bool> = cands
        .iter()
        .map(|c| !cands.iter().any(|o| o.entry != c.entry && o.contains(c)))
        .collect();
    cands
        .into_iter()
        .zip(keep)
        .filter_map(|(c, k)| k.then_some(c))
        .collect()
}

/// Whether nothing but symbols/emoji surrounds `first..=last`.
fn standalone(s: &TokenStream, first: usize, last: usize) -> bool {
    s.tokens
        .iter()
        .enumerate()
        .all(|(i, t)| (first..=last).contains(&i) || t.kind == TokenKind::Sym)
}

/// Whether the occurrence is glued to letters (`xx1488xx`, `aryan88`).
fn embedded(s: &TokenStream, first: usize, last: usize) -> bool {
    let before = first.checked_sub(1).and_then(|i| s.tokens.get(i));
    let starts_glued = s.tokens.get(first).is_some_and(|t| t.glued);
    let after = s.tokens.get(last + 1);
    (starts_glued && before.is_some_and(|t| t.kind == TokenKind::Word))
        || after.is_some_and(|t| t.glued && t.kind == TokenKind::Word)
}

/// Normalises and tokenises one pattern for `field`; returns its automaton forms.
fn compile_pattern(
    file: &FileSpec,
    entry: usize,
    field: Field,
    p: &Located<String>,
    compact: bool,
) -> Result<Vec<(String, PatternRef)>, LexiconError> {
    let raw = p.value.as_str();
    let left_wild = raw.starts_with('*');
    let right_wild = raw.len() > 1 && raw.ends_with('*');
    let inner = raw.strip_prefix('*').unwrap_or(raw);
    let inner = inner.strip_suffix('*').unwrap_or(inner);
    let normalized = normalize_for(field, inner);
    let s = tokenize_with(&normalized, false);
    if s.tokens.is_empty() {
        return Err(file.error(
            p.loc,
            format!("pattern {raw:?} is empty after normalisation ({field:?} field)"),
        ));
    }
    let mut glue = 0u64;
    for (k, t) in s.tokens.iter().enumerate().skip(1).take(63) {
        if t.glued {
            glue |= 1u64 << k;
        }
    }
    let texts: Vec<&str> = (0..s.tokens.len()).map(|i| s.text(i)).collect();
    let (canon, words) = if field.collapses() {
        let collapsed = tokenize_with(&normalized, true).canon;
        let words = (collapsed != s.canon).then(|| texts.iter().map(|&t| Box::from(t)).collect());
        (collapsed, words)
    } else {
        (s.canon.clone(), None)
    };
    if canon.chars().count() == 1 && canon.chars().all(char::is_alphabetic) && words.is_some() {
        return Err(file.error(
            p.loc,
            format!(
                "pattern {raw:?} squeezes to the single letter {canon:?} on the text field, so every lone letter would be a candidate; set match_on = \"folded\""
            ),
        ));
    }
    let mut out = vec![(
        canon,
        PatternRef {
            entry,
            left_wild,
            right_wild,
            glue,
            words,
        },
    )];
    let all_words = s.tokens.iter().all(|t| t.kind == TokenKind::Word);
    if compact && s.tokens.len() > 1 && all_words && !left_wild && !right_wild {
        let joined: String = texts.concat();
        if joined.chars().count() >= MIN_COMPACT_CHARS {
            let collapsed = tokenize_with(&joined, field.collapses()).canon;
            let words =
                (collapsed != joined).then(|| vec![Box::from(joined.as_str())].into_boxed_slice());
            out.push((
                collapsed,
                PatternRef {
                    entry,
                    left_wild: false,
                    right_wild: false,
                    glue: 0,
                    words,
                },
            ));
        }
    }
    Ok(out)
}
