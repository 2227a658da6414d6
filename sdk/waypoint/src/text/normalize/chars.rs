//! Character classes the normaliser needs: invisible characters, emoji, separators, scripts.
//!
//! The tables here are small hand-kept range lists taken from the Unicode data files
//! (`DerivedCoreProperties.txt` for default-ignorable code points, `emoji-data.txt` for
//! `Extended_Pictographic`, coarsened to whole blocks where the gaps are unassigned).

use unicode_script::{Script, UnicodeScript};

/// ZERO WIDTH JOINER: kept only between two emoji.
pub(crate) const ZWJ: char = '\u{200D}';
/// VARIATION SELECTOR-16 (emoji presentation): kept only right after an emoji.
pub(crate) const VS16: char = '\u{FE0F}';
/// VARIATION SELECTOR-15 (text presentation): kept only right after an emoji.
pub(crate) const VS15: char = '\u{FE0E}';

/// Default-ignorable code points (UAX #44 `Default_Ignorable_Code_Point`): zero-width
/// characters, bidi controls, soft hyphen, variation selectors, Hangul fillers, tags.
pub(crate) fn is_default_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Tag characters (used after 🏴 in subdivision flags such as England's).
pub(crate) fn is_tag(c: char) -> bool {
    matches!(c, '\u{E0020}'..='\u{E007F}')
}

/// Characters treated as a word space: Unicode `White_Space` plus U+2800 BRAILLE PATTERN BLANK,
/// which renders as a blank and is a favourite "invisible" in chat.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{2800}'
}

/// An approximation of `Extended_Pictographic`: the emoji and pictograph blocks, plus
/// regional indicators and skin-tone modifiers (which live in those blocks).
pub(crate) fn is_emoji(c: char) -> bool {
    matches!(
        c,
        '\u{00A9}'
            | '\u{00AE}'
            | '\u{203C}'
            | '\u{2049}'
            | '\u{2122}'
            | '\u{2139}'
            | '\u{2194}'..='\u{21AA}'
            | '\u{231A}'..='\u{23FF}'
            | '\u{24C2}'
            | '\u{25AA}'..='\u{25FE}'
            | '\u{2600}'..='\u{27BF}'
            | '\u{2934}'..='\u{2935}'
            | '\u{2B05}'..='\u{2B55}'
            | '\u{3030}'
            | '\u{303D}'
            | '\u{3297}'
            | '\u{3299}'
            | '\u{1F000}'..='\u{1FAFF}'
            | '\u{1FC00}'..='\u{1FFFD}'
    )
}

/// Whether a ZWJ after `c` may continue an emoji sequence (`c` is an emoji, its
/// presentation selector, or the tail of a tag sequence).
pub(crate) fn continues_emoji(c: char) -> bool {
    is_emoji(c) || c == VS16 || c == VS15 || is_tag(c)
}

/// Typographic quotes and dashes, folded to their ASCII form so `it’s` reads as `it's`.
pub(crate) fn ascii_punctuation(c: char) -> Option<char> {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' => Some('\''),
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' => Some('"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' => Some('-'),
        _ => None,
    }
}

/// Characters that end a word for script decisions (besides spaces). Characters used inside
/// obfuscated words (`.`, `*`, `-`, `_`, `!`, `@`, `$`, `|`, `'`) are deliberately not here.
pub(crate) fn is_word_break(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | ':' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '/' | '<' | '>'
    )
}

/// Scripts whose combining marks are all stripped (accents, zalgo). Marks on other scripts
/// (Devanagari vowel signs, Thai tone marks, kana voicing marks, Hebrew points…) carry
/// meaning there, so only an excess beyond [`MAX_MARKS_PER_BASE`] is dropped.
pub(crate) fn strips_all_marks(base: char) -> bool {
    base.is_ascii()
        || matches!(
            base.script(),
            Script::Latin
                | Script::Greek
                | Script::Cyrillic
                | Script::Common
                | Script::Inherited
                | Script::Unknown
        )
}

/// How many combining marks a base letter of a script that keeps its marks may carry; the
/// rest are zalgo.
pub(crate) const MAX_MARKS_PER_BASE: usize = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is_default_ignorable('\u{200B}'));
        assert!(is_default_ignorable('\u{202E}'));
        assert!(is_default_ignorable('\u{00AD}'));
        assert!(!is_default_ignorable('a'));
        assert!(is_emoji('🐸'));
        assert!(is_emoji('⚡'));
        assert!(is_emoji('🔪'));
        assert!(!is_emoji('a'));
        assert!(is_space('\u{2800}'));
        assert_eq!(ascii_punctuation('’'), Some('\''));
        assert_eq!(ascii_punctuation('—'), Some('-'));
        assert!(strips_all_marks('e'));
        assert!(strips_all_marks('и'));
        assert!(!strips_all_marks('क'));
    }
}
