//! The obfuscation-proof normaliser. The rules are documented on [`normalize`]; each step
//! lives in its own submodule (`fold`, `confusables`, `join`, `leet`, `squeeze`).

mod chars;
mod confusables;
mod confusables_table;
mod fold;
mod join;
mod leet;
mod squeeze;

use serde::Serialize;

use fold::{FoldScratch, FoldStats, fold, fold_into};
pub(crate) use join::is_chat_letter;

/// Options for [`normalize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// Messages longer than this many characters are truncated and flagged with [`Change::Truncated`].
    /// Also the most characters [`Normalized::folded`] and [`Normalized::text`] may have.
    pub max_chars: usize,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        Self { max_chars: 1024 }
    }
}

/// One kind of change the normaliser made, kept for explanations.
///
/// Serialised with a `kind` tag, e.g. `{"kind":"leet_mapped","count":4}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The input was longer than [`NormalizeOptions::max_chars`] and was cut.
    Truncated {
        /// Characters in the input.
        original_chars: usize,
        /// Characters kept.
        kept_chars: usize,
    },
    /// Characters with a compatibility form (fullwidth, math alphanumerics, ligatures,
    /// circled or superscript letters) were replaced by their plain form.
    CompatibilityFolded {
        /// Input characters replaced.
        count: usize,
    },
    /// Invisible characters (zero-width, bidi controls, soft hyphens, control characters…)
    /// were removed.
    InvisibleRemoved {
        /// Characters removed.
        count: usize,
    },
    /// Look-alike characters from other scripts or symbol sets were replaced by the ASCII
    /// letters they imitate.
    ConfusablesFolded {
        /// Characters replaced.
        count: usize,
    },
    /// Combining marks (accents, zalgo stacks) were removed.
    MarksStripped {
        /// Marks removed.
        count: usize,
    },
    /// Folding made the text longer than [`NormalizeOptions::max_chars`] (one input character
    /// can expand to several, e.g. `ﷺ` to 18); the folded text was cut back, at a word
    /// boundary where there is one.
    ExpansionCapped {
        /// Characters the folded text had.
        expanded_chars: usize,
        /// Characters kept.
        kept_chars: usize,
    },
    /// Runs of spelled-out letters (`k i l l`, `s.t.u.p.i.d`) were joined into words.
    LettersJoined {
        /// Runs joined.
        count: usize,
    },
    /// Digits or symbols standing for letters inside words were mapped (`w0rthl3ss`).
    LeetMapped {
        /// Characters mapped.
        count: usize,
    },
    /// Letters repeated three or more times were squeezed to two (`loooool` → `lool`).
    RepeatsSqueezed {
        /// Characters removed.
        count: usize,
    },
}

/// The result of [`normalize`]: the original text, the normalised text and what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Normalized {
    /// The input, unchanged.
    pub original: String,
    /// The fully normalised text every scorer sees (leetspeak mapped, spelled-out letters
    /// joined, repeats squeezed).
    pub text: String,
    /// The text folded (NFKC, lowercase, confusables, invisible characters, zalgo) but with
    /// digits, letter repeats and spacing kept: number codes such as `1488` are matched here.
    pub folded: String,
    /// What the normaliser changed, in the order it happened.
    pub changes: Vec<Change>,
}

impl Normalized {
    /// Whether the input was cut at [`NormalizeOptions::max_chars`].
    pub fn truncated(&self) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c, Change::Truncated { .. }))
    }
}

/// Normalises `input`. Never panics.
///
/// The input is first cut to `options.max_chars` characters ([`Change::Truncated`]). It then
/// comes out in two forms.
///
/// **[`Normalized::folded`]** — what the text *looks like*, spelled plainly:
///
/// * Unicode NFKC: fullwidth `ｉｄｉｏｔ`, math `𝐢𝐝𝐢𝐨𝐭`, circled `ⓘ`, superscripts, ligatures;
///   negative circled/squared letters (`🅵🆄🅲🅺`) and typographic quotes and dashes (`’` → `'`)
///   too.
/// * Lowercase (`char::to_lowercase`: lowercasing rather than full case folding; the
///   differences, `ß` → `ss` and final sigma, are covered by the homoglyph step).
/// * Invisible characters removed: zero-width (U+200B–U+200F), bidi controls (U+202A–U+202E,
///   U+2066–U+2069; the reordering they would display is not undone), word joiners
///   (U+2060–U+2064), BOM, soft hyphen, variation selectors, Hangul fillers, tags, control
///   characters — every default-ignorable code point. Emoji sequences stay intact: a ZWJ
///   between two emoji, VS16 after an emoji and tags after 🏴 are kept (`👨‍👩‍👧`, `❤️`);
///   keycaps fold to their character (`1️⃣4️⃣8️⃣8️⃣` → `1488`).
/// * Homoglyphs folded to ASCII letters, from the UTS #39 confusables data plus a short hand
///   list: `іdіоt` (Cyrillic і, о) → `idiot`, `fμ¢κ` → `fuck`, `ł` → `l`. A word mixing
///   scripts folds every look-alike; a word wholly in one other script folds only when every
///   letter has one, and for Cyrillic only when a letter is also outside the Russian alphabet,
///   so «привет», «горе» and «сор» stay Russian while `аѕѕ` (Macedonian `ѕ`) becomes `ass`.
///   Runes (`ᛋᛋ`), swastikas and CJK are never folded.
/// * Combining marks stripped after Latin, Greek, Cyrillic and Common characters: zalgo
///   (`i̸̢͓d̷̨i̴o̵t` → `idiot`) and accents alike — Dutch `één` → `een`, `geërgerd` →
///   `geergerd`, Russian `й` → `и`. Scripts whose marks carry meaning (Devanagari, Thai, kana
///   voicing, Hebrew points…) keep up to three marks per letter.
/// * Whitespace (any Unicode space, and U+2800 BRAILLE PATTERN BLANK) collapsed to single
///   spaces and trimmed.
///
/// Digits, punctuation, repeated letters and emoji (`🐸`, `⚡⚡`, `🔪`) are kept, so number codes
/// such as `1488`, `88` or `xX1488Xx` (→ `xx1488xx`) can be matched in `folded`.
///
/// **[`Normalized::text`]** — what the text *means*, for the models: `folded`, then
///
/// 1. letters spelled out one at a time re-joined: `k i l l` → `kill`, `s.t.u.p.i.d` →
///    `stupid`, `f - u - c - k` → `fuck`. A run needs three or more single characters, two
///    letters, and a letter that is not a one-letter chat word (`a c i k n o r u x y`), so
///    "i am a noob", "u r a noob" and "r u o k" stay as written;
/// 2. letters repeated three or more times squeezed to two (`loooool` → `lool`; two keeps
///    `good` and `kill` intact and makes the step idempotent);
/// 3. leetspeak mapped inside words: `0 1 3 4 5 7 @ $ ! |` → `o i e a s t a s i l` (`11` →
///    `ll`), so `w0rthl3ss` → `worthless`, `1d10t` → `idiot`, `@ss` → `ass`, `sh!t` → `shit`.
///    Numbers stay numbers: a word is left alone when it has no letter (`88`, `14/88`), a run
///    of three digits (`1488`, `xx1488xx`), a `2 6 8 9` (`2v2`, `gr8`), a single letter and
///    no symbol (`1v1`, `a55`), or the shape of an ordinal, unit or name (`1st`, `10k`,
///    `ak47`), or is a mention (`@slamco`);
/// 4. squeezing once more (`l00ool` → `lool`).
///
/// [`Normalized::changes`] says, as counts and never as copies of the chat text, what each
/// step changed, so explanations can cite it without carrying player text into telemetry.
///
/// # Guarantees
///
/// * Idempotent: normalising `folded` gives `folded` again, and normalising `text` gives
///   `text` (and `folded` equal to it) again — property-tested and fuzzed.
/// * Bounded: `folded` has at most `options.max_chars` characters and at most 18 per kept
///   input character (the largest NFKC expansion, `ﷺ`); when folding expands past the limit
///   it is cut back at a word boundary ([`Change::ExpansionCapped`]). `text` never has more
///   characters than `folded`.
/// * Typical chat lines take well under a microsecond (ASCII) to a few microseconds (mixed
///   scripts): ASCII input takes a fast path.
pub fn normalize(input: &str, options: &NormalizeOptions) -> Normalized {
    // Folding rarely lengthens a line, so this is usually the only allocation of each string.
    let mut out = Normalized {
        original: String::with_capacity(input.len()),
        text: String::with_capacity(input.len()),
        folded: String::with_capacity(input.len()),
        changes: Vec::new(),
    };
    normalize_into(input, options, &mut out, &mut NormalizeScratch::default());
    out
}

/// Reusable working buffers for [`normalize_into`].
#[derive(Debug, Clone, Default)]
pub struct NormalizeScratch {
    fold: FoldScratch,
}

/// [`normalize`] into `out`, replacing its contents and reusing its strings and the buffers of
/// `scratch`: once they have grown to the longest message seen, a typical chat line is
/// normalised without allocating (long zalgo stacks and folds that expand past
/// [`NormalizeOptions::max_chars`] may still allocate).
pub fn normalize_into(
    input: &str,
    options: &NormalizeOptions,
    out: &mut Normalized,
    scratch: &mut NormalizeScratch,
) {
    out.original.clear();
    out.original.push_str(input);
    let changes = &mut out.changes;
    changes.clear();
    let max = options.max_chars;
    // A text of at most `max` bytes has at most `max` characters.
    let cut = if input.len() <= max {
        None
    } else {
        input.char_indices().nth(max)
    };
    let kept = match cut {
        Some((cut, _)) => {
            changes.push(Change::Truncated {
                original_chars: input.chars().count(),
                kept_chars: max,
            });
            input.get(..cut).unwrap_or_default()
        }
        None => input,
    };

    let mut stats = FoldStats::default();
    fold_into(kept, &mut out.folded, &mut stats, &mut scratch.fold);
    push_count(changes, stats.compat, |count| Change::CompatibilityFolded {
        count,
    });
    push_count(changes, stats.invisible, |count| Change::InvisibleRemoved {
        count,
    });
    push_count(changes, stats.confusables, |count| {
        Change::ConfusablesFolded { count }
    });
    push_count(changes, stats.marks, |count| Change::MarksStripped {
        count,
    });
    if out.folded.len() > max {
        let expanded_chars = out.folded.chars().count();
        if expanded_chars > max {
            out.folded = cap(std::mem::take(&mut out.folded), max);
            changes.push(Change::ExpansionCapped {
                expanded_chars,
                kept_chars: out.folded.chars().count(),
            });
        }
    }

    let joins = join::join(&out.folded, &mut out.text);
    push_count(changes, joins, |count| Change::LettersJoined { count });
    // Squeeze before the leet decisions (they look at word lengths) and again after them
    // (`l00ol` → `loool`); squeezing twice changes nothing, so without a leet mapping there is
    // no second time.
    let before = squeeze::squeeze(&mut out.text);
    let leets = leet::map_leet(&mut out.text);
    push_count(changes, leets, |count| Change::LeetMapped { count });
    let after = if leets > 0 {
        squeeze::squeeze(&mut out.text)
    } else {
        0
    };
    push_count(changes, before + after, |count| Change::RepeatsSqueezed {
        count,
    });
}

fn push_count(changes: &mut Vec<Change>, count: usize, change: impl FnOnce(usize) -> Change) {
    if count > 0 {
        changes.push(change(count));
    }
}

/// Cuts folded text that expanded past `max` characters back to at most `max`, keeping the
/// result a fixed point of the fold: whole words when there is a space to cut at, otherwise
/// the first `max` characters folded again (a cut word may fold differently from the whole
/// one, e.g. when the letters without a look-alike were all at its end).
fn cap(mut folded: String, max: usize) -> String {
    for _ in 0..4 {
        let Some((cut, _)) = folded.char_indices().nth(max) else {
            return folded;
        };
        let (head, tail) = folded.split_at(cut);
        if tail.starts_with(' ') {
            return head.trim_end().to_owned();
        }
        if let Some(space) = head.rfind(' ') {
            return head[..space].trim_end().to_owned();
        }
        folded = fold(head, &mut FoldStats::default());
    }
    match folded.char_indices().nth(max) {
        Some((cut, _)) => folded[..cut].to_owned(),
        None => folded,
    }
}
