//! The fold: NFKC, lowercase, invisible removal, homoglyph folding, mark stripping and
//! whitespace collapsing. Produces [`Normalized::folded`](super::Normalized::folded).
//!
//! Stages (non-ASCII path):
//!
//! 1. NFKD, then lowercase (`char::to_lowercase`); negative circled/squared letters (`🅵`) become
//!    their letter, typographic quotes and dashes their ASCII form.
//! 2. Drop default-ignorable code points and control characters; map every space to `' '`.
//!    ZWJ, VS15/VS16 and tag characters survive only inside emoji sequences.
//! 3. If anything was dropped, NFKD again so combining marks are back in canonical order.
//! 4. Homoglyphs, word by word (see [`fold_word`]).
//! 5. Combining marks: all dropped after Latin, Greek, Cyrillic and Common bases; after
//!    letters of other scripts the first [`MAX_MARKS_PER_BASE`] are kept.
//! 6. NFC (recomposes kana voicing marks, Hangul syllables, Indic nuktas), collapse spaces, trim.
//!
//! Every stage maps its own output to itself, and each stage's output is in the form the
//! earlier stages leave it, which is what makes the whole fold idempotent.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::char::{decompose_canonical, decompose_compatible};
use unicode_script::{Script, UnicodeScript};

use super::chars::{
    MAX_MARKS_PER_BASE, VS15, VS16, ZWJ, ascii_punctuation, continues_emoji, is_default_ignorable,
    is_emoji, is_space, is_tag, is_word_break, strips_all_marks,
};
use super::confusables::{
    Strength, enclosed_letter, is_outside_main_alphabet, is_protected_script, lookup,
    never_folds_whole,
};

/// Counts the fold keeps for [`Change`](super::Change) entries.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FoldStats {
    /// Input characters that have a compatibility decomposition (fullwidth, math letters,
    /// ligatures, superscripts, circled letters…).
    pub compat: usize,
    /// Invisible characters removed.
    pub invisible: usize,
    /// Characters replaced by their ASCII look-alike.
    pub confusables: usize,
    /// Combining marks removed.
    pub marks: usize,
}

/// Reusable buffers for the non-ASCII fold stages.
#[derive(Debug, Default, Clone)]
pub(crate) struct FoldScratch {
    stage: [Vec<char>; 2],
}

/// Folds `input` (already truncated) into a new string.
pub(crate) fn fold(input: &str, stats: &mut FoldStats) -> String {
    let mut out = String::with_capacity(input.len());
    fold_into(input, &mut out, stats, &mut FoldScratch::default());
    out
}

/// Folds `input` (already truncated) into `out`, replacing its contents; reuses the buffers of
/// `out` and `scratch`.
pub(crate) fn fold_into(
    input: &str,
    out: &mut String,
    stats: &mut FoldStats,
    scratch: &mut FoldScratch,
) {
    out.clear();
    if input.is_ascii() {
        fold_ascii(input, out, stats);
    } else {
        fold_unicode(input, out, stats, scratch);
    }
}

/// ASCII fast path: lowercase, drop control characters, collapse spaces. Gives the same
/// result as [`fold_unicode`] would.
fn fold_ascii(input: &str, out: &mut String, stats: &mut FoldStats) {
    if folds_to_lowercase(input.as_bytes()) {
        out.push_str(input);
        out.make_ascii_lowercase();
        return;
    }
    let mut pending_space = false;
    for b in input.bytes() {
        let c = char::from(b);
        if is_space(c) {
            pending_space = !out.is_empty();
        } else if c.is_control() {
            stats.invisible += 1;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c.to_ascii_lowercase());
        }
    }
}

/// Whether ASCII `input` folds to its lowercase form: printable, single spaces and no space at
/// either end. Most chat lines are. Written without early exits, so the checks run a vector of
/// bytes at a time.
fn folds_to_lowercase(input: &[u8]) -> bool {
    let printable = input
        .iter()
        .fold(true, |all, &b| all & matches!(b, b' '..=b'~'));
    let double_space = input
        .iter()
        .zip(input.iter().skip(1))
        .fold(false, |any, (&a, &b)| any | ((a == b' ') & (b == b' ')));
    printable && !double_space && input.first() != Some(&b' ') && input.last() != Some(&b' ')
}

/// How a character decomposes.
#[derive(PartialEq, Eq)]
enum Decomposition {
    /// Not at all.
    None,
    /// Canonically only (`é` → `e` + U+0301).
    Canonical,
    /// With a compatibility mapping somewhere (`ｉ`, `𝐢`, `ﬀ`, `½`).
    Compatibility,
}

fn decomposition(c: char) -> Decomposition {
    let (mut compat, mut compat_len) = (['\0'; 4], 0);
    decompose_compatible(c, |d| {
        if let Some(slot) = compat.get_mut(compat_len) {
            *slot = d;
        }
        compat_len += 1;
    });
    if compat_len == 1 && compat[0] == c {
        return Decomposition::None;
    }
    let (mut canon, mut canon_len) = (['\0'; 4], 0);
    decompose_canonical(c, |d| {
        if let Some(slot) = canon.get_mut(canon_len) {
            *slot = d;
        }
        canon_len += 1;
    });
    if compat_len == canon_len && compat_len <= 4 && compat == canon {
        Decomposition::Canonical
    } else {
        Decomposition::Compatibility
    }
}

fn fold_unicode(input: &str, out: &mut String, stats: &mut FoldStats, scratch: &mut FoldScratch) {
    // Which characters decompose, and whether any mark needs canonical reordering.
    let mut needs_nfkd = false;
    for c in input.chars().filter(|c| !c.is_ascii()) {
        match decomposition(c) {
            Decomposition::None => needs_nfkd |= is_combining_mark(c),
            Decomposition::Canonical => needs_nfkd = true,
            Decomposition::Compatibility => {
                needs_nfkd = true;
                stats.compat += 1;
            }
        }
    }
    let [a, b] = &mut scratch.stage;

    // Stage 1: NFKD + lowercase. Text with nothing to decompose (most Cyrillic, CJK) skips
    // the decomposition.
    a.clear();
    if needs_nfkd {
        lower_into(input.chars().nfkd(), a, stats);
    } else {
        lower_into(input.chars(), a, stats);
    }

    // Stage 2: invisibles, controls, spaces.
    let before = stats.invisible;
    drop_invisible(a, b, stats);

    // Stage 3: removals may have left marks out of canonical order.
    if stats.invisible > before {
        a.clear();
        a.extend(b.iter().copied().nfkd());
        std::mem::swap(a, b);
    }

    // Stage 4: homoglyphs, word by word.
    a.clear();
    let visible = &*b;
    let mut i = 0;
    while i < visible.len() {
        let start = i;
        while i < visible.len() && !is_boundary(visible[i]) {
            i += 1;
        }
        if i > start {
            fold_word(&visible[start..i], a, stats);
        }
        if let Some(&c) = visible.get(i) {
            a.push(c);
            i += 1;
        }
    }

    // Stage 5: combining marks.
    let needs_nfc = strip_marks(a, b, stats);

    // Stage 6: NFC (skipped when nothing can compose), collapse spaces, trim.
    if needs_nfc {
        collapse_spaces(b.iter().copied().nfc(), out);
    } else {
        collapse_spaces(b.iter().copied(), out);
    }
}

/// Stage 1 after the optional decomposition: lowercase, enclosed letters and typographic
/// punctuation to ASCII.
fn lower_into(chars: impl Iterator<Item = char>, out: &mut Vec<char>, stats: &mut FoldStats) {
    for d in chars {
        match enclosed_letter(d).or_else(|| ascii_punctuation(d)) {
            Some(ascii) => {
                stats.confusables += 1;
                out.push(ascii);
            }
            None => out.extend(d.to_lowercase()),
        }
    }
}

/// Stage 2: drops invisible and control characters from `decomposed` into `visible`, maps
/// every space to `' '`.
fn drop_invisible(decomposed: &[char], visible: &mut Vec<char>, stats: &mut FoldStats) {
    visible.clear();
    for (i, &c) in decomposed.iter().enumerate() {
        let prev = visible.last().copied();
        let keep = if is_space(c) {
            visible.push(' ');
            continue;
        } else if c == ZWJ {
            prev.is_some_and(continues_emoji) && decomposed.get(i + 1).is_some_and(|&n| is_emoji(n))
        } else if c == VS16 || c == VS15 {
            prev.is_some_and(is_emoji)
        } else if is_tag(c) {
            prev.is_some_and(|p| is_emoji(p) || is_tag(p))
        } else {
            !(is_default_ignorable(c) || c.is_control())
        };
        if keep {
            visible.push(c);
        } else {
            stats.invisible += 1;
        }
    }
}

/// Stage 5: combining marks from `mapped` into `stripped`. Returns whether anything left can
/// compose (so NFC must run).
fn strip_marks(mapped: &[char], stripped: &mut Vec<char>, stats: &mut FoldStats) -> bool {
    stripped.clear();
    let mut base: Option<char> = None;
    let mut marks_on_base = 0;
    // Only combining marks and Hangul vowel/final jamo compose with what precedes them.
    let mut needs_nfc = false;
    for &c in mapped {
        needs_nfc |= matches!(c, '\u{1161}'..='\u{11C2}');
        if c == VS16 || c == VS15 {
            // Only emoji presentation selectors survive stage 2; they are not zalgo.
            stripped.push(c);
        } else if is_combining_mark(c) {
            match base {
                Some(b) if !strips_all_marks(b) && marks_on_base < MAX_MARKS_PER_BASE => {
                    marks_on_base += 1;
                    needs_nfc = true;
                    stripped.push(c);
                }
                _ => stats.marks += 1,
            }
        } else {
            base = Some(c);
            marks_on_base = 0;
            stripped.push(c);
        }
    }
    needs_nfc
}

/// Stage 6 after the optional composition: single spaces, trimmed.
fn collapse_spaces(chars: impl Iterator<Item = char>, out: &mut String) {
    let mut pending_space = false;
    for c in chars {
        if c == ' ' {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
}

/// `c.script()`, with the Cyrillic block answered without a table search.
fn script_of(c: char) -> Script {
    match c {
        '\u{0485}' | '\u{0486}' => Script::Inherited,
        '\u{0400}'..='\u{052F}' => Script::Cyrillic,
        _ => c.script(),
    }
}

fn is_boundary(c: char) -> bool {
    c == ' ' || is_word_break(c)
}

/// Whether `c` takes part in the homoglyph decision for its word.
fn is_candidate(c: char) -> bool {
    !c.is_ascii() && !is_combining_mark(c) && (c.is_alphabetic() || lookup(c).is_some())
}

/// Folds the homoglyphs of one word (no spaces or word-break punctuation inside).
///
/// * Latin letters (`ł`, `ø`, `ı`, `ß`, `ɑ`…) always fold: they are variants of the home script.
/// * A **mixed** word — it has Latin letters, or letters of two other scripts, as in
///   `іdіоt` (Cyrillic і, о with Latin d, t) — folds every character that has a look-alike.
/// * A word written **wholly** in one other script folds only if *every* letter and symbol
///   in it has a look-alike, so real Greek or Russian words are not half-rewritten. For
///   Cyrillic and Armenian the look-alikes must be strict and one letter must lie outside the
///   Russian/Armenian alphabet (see [`is_outside_main_alphabet`]).
fn fold_word(word: &[char], out: &mut Vec<char>, stats: &mut FoldStats) {
    let mut has_latin = false;
    let mut script: Option<Script> = None;
    let mut scripts = 0;
    for &c in word {
        if c.is_ascii() {
            has_latin |= c.is_ascii_alphabetic();
        } else if !is_combining_mark(c) {
            match script_of(c) {
                Script::Latin => has_latin |= c.is_alphabetic(),
                Script::Common | Script::Inherited | Script::Unknown => {}
                s => {
                    if script != Some(s) && is_candidate(c) {
                        scripts += 1;
                        script = Some(s);
                    }
                }
            }
        }
    }
    // Without Latin letters and with one script at most, only a whole-word fold can apply;
    // with them, every look-alike folds.
    let fold_all = has_latin || scripts >= 2 || whole_word_foldable(word, script);
    if !fold_all {
        out.extend_from_slice(word);
        return;
    }
    for &c in word {
        match lookup(c) {
            Some((ascii, _)) => {
                stats.confusables += 1;
                out.extend(ascii.chars());
            }
            None => out.push(c),
        }
    }
}

/// Whether a word in one foreign script (or only symbols, `script == None`) folds as a whole.
fn whole_word_foldable(word: &[char], script: Option<Script>) -> bool {
    if script.is_some_and(never_folds_whole) {
        return false;
    }
    let protected = script.is_some_and(is_protected_script);
    let mut any = false;
    let mut outside = false;
    for &c in word.iter().filter(|&&c| is_candidate(c)) {
        match lookup(c) {
            Some((_, Strength::Strict)) => {}
            Some((_, Strength::Loose)) if !protected => {}
            _ => return false,
        }
        any = true;
        outside |= is_outside_main_alphabet(c);
    }
    any && (!protected || outside)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn ascii_fast_path_matches_the_full_path(input in "[\\x00-\\x7f]{0,64}") {
            let (mut fast, mut full) = (FoldStats::default(), FoldStats::default());
            let (mut ascii, mut unicode) = (String::new(), String::new());
            fold_ascii(&input, &mut ascii, &mut fast);
            fold_unicode(&input, &mut unicode, &mut full, &mut FoldScratch::default());
            prop_assert_eq!(ascii, unicode);
            prop_assert_eq!(fast.invisible, full.invisible);
        }
    }

    /// The bound `normalize` documents: one character folds to at most 18 (U+FDFA).
    #[test]
    fn one_char_folds_to_at_most_18() {
        let ranges = [0u32..0x2_0000, 0x2_F800..0x2_FA20, 0xE_0000..0xE_1000];
        let mut widest = (0, ' ');
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            let n = fold(&c.to_string(), &mut FoldStats::default())
                .chars()
                .count();
            if n > widest.0 {
                widest = (n, c);
            }
        }
        assert_eq!(widest, (18, '\u{FDFA}'));
    }

    #[test]
    fn marks_of_other_scripts_are_kept_up_to_three() {
        let mut stats = FoldStats::default();
        // Devanagari: virama and vowel sign kept.
        assert_eq!(fold("नमस्ते", &mut stats), "नमस्ते");
        // Kana voicing mark recomposed.
        assert_eq!(fold("か\u{3099}", &mut stats), "が");
        // Zalgo on Thai: the first three marks stay.
        let zalgo = "ก\u{E48}\u{E49}\u{E4A}\u{E4B}\u{E4C}";
        assert_eq!(fold(zalgo, &mut stats), "ก\u{E48}\u{E49}\u{E4A}");
        assert_eq!(stats.marks, 2);
    }
}
