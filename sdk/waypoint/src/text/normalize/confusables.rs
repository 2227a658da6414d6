//! Homoglyph folding: which non-ASCII characters look like which ASCII letters.
//!
//! The table in `confusables_table.rs` is derived from the UTS #39 confusables data that the
//! `unicode-security` crate ships (its `skeleton`); the test
//! `table_matches_unicode_security` re-derives it and prints the new table when the data
//! changes. A short hand list adds look-alikes that UTS #39 does not cover but chat
//! obfuscation uses (`μ` for `u`, `⊂` for `c`, faux-Cyrillic `я` for `r`…).
//!
//! The derivation, for every code point below U+20000 that survives the normaliser's earlier
//! steps unchanged (NFKD- and lowercase-stable, not a mark, space, emoji or invisible):
//!
//! 1. `Strict`: the skeleton of the character itself, with combining marks removed, is one to
//!    three ASCII letters (lowercased; the prototype `rn` stands for `m`).
//! 2. `Loose`: otherwise, the same holds for the skeleton of its uppercase form (Cyrillic `в`
//!    → `В` → `b`, Greek `κ` → `Κ` → `k`).
//!
//! Runes (hate symbols such as `ᛋᛋ` must stay runes), Hangul jamo and a few punctuation marks that carry
//! meaning (`¡`, `।`) are left out. Negative circled and squared letters (`🅕`, `🅵`), which
//! sit among the emoji, are handled by [`enclosed_letter`].

use unicode_script::Script;

use super::confusables_table::TABLE;

/// How sure a look-alike mapping is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strength {
    /// UTS #39 lists the character itself as confusable with the ASCII text.
    Strict,
    /// Only the character's capital is confusable, or the hand list says so.
    Loose,
}

use Strength::Loose;

/// Look-alikes UTS #39 lacks (Latin small capitals and turned letters, faux-Cyrillic,
/// symbols used as letters), sorted by character. Checked before the generated table.
const HAND: &[(char, &str)] = &[
    ('§', "s"),
    ('ĸ', "k"),
    ('ƈ', "c"),
    ('ǝ', "e"),
    ('ɐ', "a"),
    ('ɔ', "c"),
    ('ɢ', "g"),
    ('ɥ', "h"),
    ('ɴ', "n"),
    ('ɹ', "r"),
    ('ʇ', "t"),
    ('ʍ', "w"),
    ('ʎ', "y"),
    ('ʏ', "y"),
    ('ʙ', "b"),
    ('ʜ', "h"),
    ('ʞ', "k"),
    ('ʟ', "l"),
    ('δ', "d"),
    ('μ', "u"),
    ('π', "n"),
    ('ς', "c"),
    ('ω', "w"),
    ('и', "n"),
    ('п', "n"),
    ('ц', "u"),
    ('э', "e"),
    ('я', "r"),
    ('ғ', "f"),
    ('ᑕ', "c"),
    ('ᴀ', "a"),
    ('ᴅ', "d"),
    ('ᴇ', "e"),
    ('ᴊ', "j"),
    ('ᴋ', "k"),
    ('ᴍ', "m"),
    ('ᴘ', "p"),
    ('ᴛ', "t"),
    ('†', "t"),
    ('€', "e"),
    ('∂', "d"),
    ('∩', "n"),
    ('⊂', "c"),
    ('ꜰ', "f"),
];

/// The ASCII look-alike of `c` (lowercase letters) and how sure it is.
pub(crate) fn lookup(c: char) -> Option<(&'static str, Strength)> {
    if c.is_ascii() {
        return None;
    }
    if let Ok(i) = HAND.binary_search_by(|(k, _)| k.cmp(&c)) {
        return HAND.get(i).map(|&(_, s)| (s, Loose));
    }
    TABLE
        .binary_search_by(|(k, _, _)| k.cmp(&c))
        .ok()
        .and_then(|i| TABLE.get(i))
        .map(|&(_, s, st)| (s, st))
}

/// Negative circled and negative squared Latin capitals (`🅕`, `🅵`, `🅰`), which have no
/// compatibility decomposition: the letter they show. Applied together with NFKD, before
/// emoji sequences are looked at.
pub(crate) fn enclosed_letter(c: char) -> Option<char> {
    let offset = match u32::from(c) {
        u @ 0x1F150..=0x1F169 => u - 0x1F150,
        u @ 0x1F170..=0x1F189 => u - 0x1F170,
        _ => return None,
    };
    char::from_u32(u32::from('a') + offset)
}

/// Scripts whose homoglyph-only words are folded only on `Strict` evidence, and only when the
/// word also has a letter outside that language's own alphabet (see [`whole_word_foldable`]).
pub(crate) fn is_protected_script(s: Script) -> bool {
    matches!(s, Script::Cyrillic | Script::Armenian)
}

/// Whether a word written wholly in the protected script `s` should be folded: every letter
/// must have a strict look-alike (checked by the caller), and at least one letter must be
/// foreign to the main language written in that script, so that Russian «сор» or «горе» stay
/// Russian while «аѕѕ» (with Macedonian `ѕ`) folds to `ass`.
pub(crate) fn is_outside_main_alphabet(c: char) -> bool {
    match c {
        // Russian alphabet (ё decomposes to е under NFKD).
        'а'..='я' => false,
        // Armenian lowercase alphabet.
        'ա'..='ֆ' => false,
        _ => true,
    }
}

/// Scripts whose words are never folded as a whole: living writing systems whose letters
/// only resemble Latin ones in isolation (Arabic `ه`, Hebrew `ו`, Han `丫`, Georgian `ი`…). Their
/// look-alikes are still folded inside mixed-script words (`იiუუer`).
pub(crate) fn never_folds_whole(s: Script) -> bool {
    matches!(
        s,
        Script::Arabic
            | Script::Hebrew
            | Script::Syriac
            | Script::Thaana
            | Script::Han
            | Script::Hangul
            | Script::Hiragana
            | Script::Katakana
            | Script::Bopomofo
            | Script::Devanagari
            | Script::Bengali
            | Script::Gurmukhi
            | Script::Gujarati
            | Script::Oriya
            | Script::Tamil
            | Script::Telugu
            | Script::Kannada
            | Script::Malayalam
            | Script::Sinhala
            | Script::Thai
            | Script::Lao
            | Script::Tibetan
            | Script::Myanmar
            | Script::Khmer
            | Script::Georgian
            | Script::Ethiopic
            | Script::Mongolian
    )
}

/// Scripts left out of the table: runes carry hate symbols (`ᛋᛋ`, `ᛟ`, `ᛉ`) that the lexicon
/// must see as they are.
/// Hangul is left out too: NFKD splits its syllables into jamo, and a jamo is not a letter
/// to fold on its own.
#[cfg(test)]
pub(crate) fn is_excluded_script(s: Script) -> bool {
    matches!(s, Script::Runic | Script::Hangul)
}

/// Punctuation left out of the table although UTS #39 likens it to a letter.
#[cfg(test)]
pub(crate) fn is_excluded_char(c: char) -> bool {
    matches!(c, '¡' | '।' | '॥' | '꠰' | '‖' | '∥')
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    use unicode_script::UnicodeScript;

    use super::super::chars::{is_default_ignorable, is_emoji, is_space};
    use super::*;
    use Strength::Strict;

    fn ascii_skeleton(s: &str) -> Option<String> {
        let sk: String = unicode_security::skeleton(s)
            .filter(|c| !is_combining_mark(*c))
            .collect();
        if sk.is_empty() || !sk.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let lower = sk.to_ascii_lowercase();
        let mapped = if lower == "rn" { "m".to_owned() } else { lower };
        (mapped.len() <= 3).then_some(mapped)
    }

    fn derive() -> Vec<(char, String, Strength)> {
        let mut out = Vec::new();
        for u in 0x80u32..0x20000 {
            let Some(c) = char::from_u32(u) else { continue };
            let s = c.to_string();
            if s.nfkd().ne(s.chars()) || c.to_lowercase().ne(s.chars()) {
                continue;
            }
            if is_combining_mark(c)
                || is_space(c)
                || is_emoji(c)
                || is_default_ignorable(c)
                || c.is_control()
                || is_excluded_script(c.script())
                || is_excluded_char(c)
            {
                continue;
            }
            if let Some(m) = ascii_skeleton(&s) {
                out.push((c, m, Strict));
                continue;
            }
            let upper: String = c.to_uppercase().collect();
            if upper != s
                && let Some(m) = ascii_skeleton(&upper)
            {
                out.push((c, m, Loose));
            }
        }
        out
    }

    fn render(entries: &[(char, String, Strength)]) -> String {
        let mut src = String::new();
        for chunk in entries.chunks(5) {
            src.push_str("    ");
            for (i, (c, m, st)) in chunk.iter().enumerate() {
                let st = if *st == Strict { "S" } else { "L" };
                let sep = if i + 1 == chunk.len() { "" } else { " " };
                let _ = write!(src, "('\\u{{{:x}}}', {m:?}, {st}),{sep}", *c as u32);
            }
            src.push('\n');
        }
        src
    }

    #[test]
    fn table_matches_unicode_security() {
        let derived = derive();
        let current: Vec<(char, String, Strength)> = TABLE
            .iter()
            .map(|&(c, s, st)| (c, s.to_owned(), st))
            .collect();
        assert!(
            derived == current,
            "confusables_table.rs is out of date; paste this body:\n\
             --- regenerated confusables table body ---\n{}--- end ---",
            render(&derived)
        );
    }

    #[test]
    fn table_is_sorted_and_ascii() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            TABLE
                .iter()
                .all(|(_, s, _)| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase()))
        );
        assert!(HAND.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            HAND.iter()
                .all(|(c, s)| !c.is_ascii() && s.bytes().all(|b| b.is_ascii_lowercase()))
        );
        assert_eq!(enclosed_letter('🅕'), Some('f'));
        assert_eq!(enclosed_letter('🅰'), Some('a'));
        assert_eq!(enclosed_letter('🐸'), None);
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup('і'), Some(("i", Strict)));
        assert_eq!(lookup('о'), Some(("o", Strict)));
        assert_eq!(lookup('в'), Some(("b", Loose)));
        assert_eq!(lookup('μ'), Some(("u", Loose)));
        assert_eq!(lookup('ł'), Some(("l", Strict)));
        assert_eq!(lookup('ж'), None);
        assert_eq!(lookup('a'), None);
        assert_eq!(lookup('ᛋ'), None);
        assert_eq!(lookup('ᚷ'), None);
    }
}
