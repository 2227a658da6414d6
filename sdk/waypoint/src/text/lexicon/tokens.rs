//! The tokeniser shared by lexicon patterns and messages.
//!
//! A haystack (a normalised message, or a pattern at load time) is cut into tokens:
//!
//! - **word**: a run of letters (any script);
//! - **number**: a run of ASCII digits; a `.` or `,` between two digits stays inside the number,
//!   so prices and decimals (`14.88`, `1,488`) are one token and never look like `14` + `88`
//!   (digits spelled out one by one, `1.4.8.8`, are separate numbers instead);
//! - **symbol**: one emoji or other non-letter symbol (`⚡`, `🐸`, `€`, `%`, `&`, `+`).
//!
//! Letters and digits that touch (`aryan88`, `xx1488xx`) become separate tokens marked *glued*,
//! so number codes inside name-like tokens can be found without substring matching.
//! Whitespace and most punctuation (`-`, `/`, `_`, `#`, `@`, quotes, brackets) separate tokens;
//! sentence punctuation (`.`, `,`, `;`, `:`, `!`, `?`, newlines) separates them with a *break*
//! that multi-word patterns never cross. Variation selectors, skin-tone modifiers, joiners,
//! zero-width characters and combining marks are skipped without splitting a token.
//!
//! The tokens are written into a canonical string (tokens joined by a space, or a newline at a
//! break) which the Aho-Corasick automaton scans in one pass. For the `text` field the canonical
//! string also collapses repeated letters inside words (`siieg` → `sieg`), because the normaliser
//! keeps two of a stretched letter; [`stretches`] then checks that a message word is the
//! pattern word with letters repeated, never with letters dropped (`hou ze` is not `hou zee`).

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// Letters.
    Word,
    /// ASCII digits (with inner `.`/`,` between digits).
    Num,
    /// One symbol or emoji character.
    Sym,
}

/// One token of a haystack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// What the token is made of.
    pub(crate) kind: TokenKind,
    /// Byte offset of the token's first character in the haystack.
    pub(crate) start: usize,
    /// Byte offset just after the token's last character in the haystack.
    pub(crate) end: usize,
    /// Byte offset of the token in [`TokenStream::canon`].
    pub(crate) cstart: usize,
    /// Byte offset just after the token in [`TokenStream::canon`].
    pub(crate) cend: usize,
    /// The token directly follows the previous one with no separator (`aryan|88`).
    pub(crate) glued: bool,
}

/// A tokenised haystack: the canonical string and its tokens, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenStream {
    /// Tokens joined by `' '`, or by `'\n'` where sentence punctuation separated them.
    pub(crate) canon: String,
    /// The tokens, in order.
    pub(crate) tokens: Vec<Token>,
}

impl TokenStream {
    /// The canonical text of token `i`.
    pub(crate) fn text(&self, i: usize) -> &str {
        self.tokens
            .get(i)
            .and_then(|t| self.canon.get(t.cstart..t.cend))
            .unwrap_or("")
    }

    /// Index of the token containing canonical byte offset `offset` (or the next one).
    pub(crate) fn token_at(&self, offset: usize) -> usize {
        self.tokens.partition_point(|t| t.cend <= offset)
    }

    /// Index of the last token starting before canonical byte offset `end`.
    pub(crate) fn token_before(&self, end: usize) -> Option<usize> {
        self.tokens
            .partition_point(|t| t.cstart < end)
            .checked_sub(1)
    }
}

/// How one character is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Symbol,
    Ignore,
    Space,
    Break,
}

/// Characters that are invisible or modify the previous character: skipped, never splitting.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{FEFF}'
        | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}')
}

fn classify(c: char) -> Class {
    if c.is_ascii() {
        return classify_ascii(c);
    }
    if c.is_ascii_digit() {
        Class::Digit
    } else if c == '\n' || c == '\r' {
        Class::Break
    } else if c.is_whitespace() {
        Class::Space
    } else if is_ignorable(c) {
        Class::Ignore
    } else if c == '卐' || c == '卍' {
        // CJK ideographs by category, but used as stand-alone symbols.
        Class::Symbol
    } else if c.is_alphanumeric() {
        Class::Letter
    } else if c.is_ascii() {
        match c {
            '.' | ',' | ';' | ':' | '!' | '?' => Class::Break,
            '%' | '$' | '&' | '+' => Class::Symbol,
            _ => Class::Space,
        }
    } else {
        match c {
            '…' | '¡' | '¿' | '‼' | '⁇' | '⁈' | '⁉' | '。' | '、' | '！' | '？' | '；' | '：' => {
                Class::Break
            }
            // Quotes, dashes, bullets and the rest of General Punctuation, Latin-1 marks.
            '\u{2000}'..='\u{206F}' | '«' | '»' | '·' | '¨' | '´' | '¯' | '¸' | '§' | '¶' | '¬' => {
                Class::Space
            }
            _ => Class::Symbol,
        }
    }
}

/// [`classify`] for ASCII, most chat: the same classes without the Unicode property lookups.
fn classify_ascii(c: char) -> Class {
    match c {
        '0'..='9' => Class::Digit,
        'a'..='z' | 'A'..='Z' => Class::Letter,
        '\n' | '\r' | '.' | ',' | ';' | ':' | '!' | '?' => Class::Break,
        '%' | '$' | '&' | '+' => Class::Symbol,
        // Whitespace, other punctuation and control characters separate tokens.
        _ => Class::Space,
    }
}

/// Tokenises `haystack` without collapsing letter runs.
#[cfg(test)]
pub(crate) fn tokenize(haystack: &str) -> TokenStream {
    tokenize_with(haystack, false)
}

/// Tokenises `haystack`; with `collapse`, runs of one repeated letter inside a word are written
/// once into the canonical string (token spans in the haystack are unchanged).
pub(crate) fn tokenize_with(haystack: &str, collapse: bool) -> TokenStream {
    let mut out = TokenStream {
        canon: String::with_capacity(haystack.len() + 8),
        tokens: Vec::with_capacity(haystack.len() / 3 + 1),
    };
    tokenize_into(haystack, collapse, &mut out);
    out
}

/// [`tokenize_with`] into `out`, replacing its contents and reusing its buffers. Returns
/// whether a repeated letter was written once (so the stream differs from the one without
/// `collapse`).
pub(crate) fn tokenize_into(haystack: &str, collapse: bool, out: &mut TokenStream) -> bool {
    out.tokens.clear();
    let mut canon = Canon::new(std::mem::take(&mut out.canon), haystack.len());
    let collapsed = if haystack.is_ascii() {
        scan_ascii(haystack.as_bytes(), collapse, &mut canon, &mut out.tokens)
    } else {
        scan(haystack, collapse, &mut canon, &mut out.tokens)
    };
    out.canon = canon.finish();
    collapsed
}

/// Rewrites `collapsed`, the stream [`tokenize_into`] gave for ASCII `haystack` with
/// `collapse`, into `out` as the stream it gives without: the same tokens, each written whole
/// (an ASCII token is its haystack bytes), with the same separators. Returns `false`, writing
/// nothing, when `haystack` is not ASCII (where a token may skip ignorable characters).
pub(crate) fn uncollapse_into(
    haystack: &str,
    collapsed: &TokenStream,
    out: &mut TokenStream,
) -> bool {
    if !haystack.is_ascii() {
        return false;
    }
    out.tokens.clear();
    out.canon.clear();
    let separators = collapsed.canon.as_bytes();
    for (k, token) in collapsed.tokens.iter().enumerate() {
        if k > 0 {
            // The byte before a token in the canonical string is its separator.
            let separator = token
                .cstart
                .checked_sub(1)
                .and_then(|at| separators.get(at))
                .copied()
                .unwrap_or(b' ');
            out.canon.push(char::from(separator));
        }
        let cstart = out.canon.len();
        out.canon
            .push_str(haystack.get(token.start..token.end).unwrap_or_default());
        out.tokens.push(Token {
            cstart,
            cend: out.canon.len(),
            ..token.clone()
        });
    }
    true
}

/// The tokeniser's pass over the characters of `haystack`; see [`tokenize_into`].
fn scan(haystack: &str, collapse: bool, canon: &mut Canon, tokens: &mut Vec<Token>) -> bool {
    // The token being built: (kind, haystack start).
    let mut current: Option<(TokenKind, usize)> = None;
    let mut last_end = 0usize;
    let mut last_char: Option<char> = None;
    // Digits since the start of the number or its last inner separator.
    let mut run = 0usize;
    let mut separated = true;
    let mut broken = false;
    let mut collapsed = false;

    for (i, c) in haystack.char_indices() {
        let class = classify(c);
        let kind = match class {
            Class::Letter => TokenKind::Word,
            Class::Digit => TokenKind::Num,
            Class::Symbol => TokenKind::Sym,
            Class::Ignore => continue,
            Class::Space | Class::Break => {
                let mut class = class;
                if matches!(current, Some((TokenKind::Num, _))) && (c == '.' || c == ',') {
                    let rest = haystack.get(i + 1..).unwrap_or("");
                    let next_run = rest.bytes().take_while(u8::is_ascii_digit).count();
                    if stays_in_number(run, next_run) {
                        canon.push(c);
                        last_end = i + c.len_utf8();
                        run = 0;
                        continue;
                    }
                    if next_run > 0 {
                        // Digits spelled out one by one ("1.4.8.8"): separate, no break.
                        class = Class::Space;
                    }
                }
                finish(tokens, &mut current, last_end, canon.len());
                separated = true;
                broken |= class == Class::Break;
                continue;
            }
        };
        match current {
            Some((k, _)) if k == kind && kind != TokenKind::Sym => {}
            _ => {
                finish(tokens, &mut current, last_end, canon.len());
                if canon.len() > 0 {
                    canon.push(if broken { '\n' } else { ' ' });
                }
                let glued = !separated && !tokens.is_empty();
                tokens.push(Token {
                    kind,
                    start: i,
                    end: i,
                    cstart: canon.len(),
                    cend: canon.len(),
                    glued,
                });
                current = Some((kind, i));
                last_char = None;
                run = 0;
                separated = false;
                broken = false;
            }
        }
        if collapse && kind == TokenKind::Word && last_char == Some(c) {
            collapsed = true;
        } else {
            canon.push(c);
        }
        last_char = Some(c);
        run += 1;
        last_end = i + c.len_utf8();
    }
    finish(tokens, &mut current, last_end, canon.len());
    collapsed
}

/// [`scan`] for an ASCII haystack, where every byte is a character and no character is
/// ignorable: a token at a time, a word's or number's bytes in a loop of their own. Gives the
/// same stream as [`scan`] (property-tested).
fn scan_ascii(haystack: &[u8], collapse: bool, canon: &mut Canon, tokens: &mut Vec<Token>) -> bool {
    let class_at = |i: usize| haystack.get(i).map(|&b| classify_ascii(char::from(b)));
    let (mut separated, mut broken, mut collapsed) = (true, false, false);
    let mut i = 0;
    while let Some(class) = class_at(i) {
        let kind = match class {
            Class::Letter => TokenKind::Word,
            Class::Digit => TokenKind::Num,
            Class::Symbol => TokenKind::Sym,
            Class::Space | Class::Break | Class::Ignore => {
                separated = true;
                broken |= class == Class::Break;
                i += 1;
                continue;
            }
        };
        if canon.len() > 0 {
            canon.push(if broken { '\n' } else { ' ' });
        }
        let (start, cstart) = (i, canon.len());
        let glued = !separated && !tokens.is_empty();
        // A separator after a number that separates without a break, taken with the number.
        let mut spacer = 0;
        match kind {
            TokenKind::Word => {
                let word = haystack.get(i..).unwrap_or_default();
                let word = word
                    .get(..word.iter().take_while(|b| b.is_ascii_alphabetic()).count())
                    .unwrap_or_default();
                i += word.len();
                collapsed |= ascii_word(word, collapse, canon);
            }
            TokenKind::Num => (i, spacer) = ascii_number(haystack, i, canon),
            TokenKind::Sym => {
                canon.push_ascii(haystack.get(i..=i).unwrap_or_default());
                i += 1;
            }
        }
        tokens.push(Token {
            kind,
            start,
            end: i,
            cstart,
            cend: canon.len(),
            glued,
        });
        i += spacer;
        separated = spacer > 0;
        broken = false;
    }
    collapsed
}

/// Writes an ASCII word, with each run of a repeated letter once when `collapse`; returns
/// whether a run was.
#[inline(always)]
fn ascii_word(word: &[u8], collapse: bool, canon: &mut Canon) -> bool {
    if !(collapse && word.windows(2).any(|pair| pair[0] == pair[1])) {
        canon.push_ascii(word);
        return false;
    }
    let mut last = None;
    for &b in word {
        if last != Some(b) {
            canon.push_ascii(&[b]);
        }
        last = Some(b);
    }
    true
}

/// Writes the ASCII number starting at byte `i` of `haystack`, with the `.` and `,` inside it;
/// returns where it ends and whether the byte there is a separator that separates without a
/// break (1) or not (0).
#[inline(always)]
fn ascii_number(haystack: &[u8], mut i: usize, canon: &mut Canon) -> (usize, usize) {
    let digits_from = |i: usize| {
        haystack
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    loop {
        let run = digits_from(i);
        canon.push_ascii(haystack.get(i..i + run).unwrap_or_default());
        i += run;
        let Some(&sep @ (b'.' | b',')) = haystack.get(i) else {
            return (i, 0);
        };
        let next_run = digits_from(i + 1);
        if stays_in_number(run, next_run) {
            canon.push_ascii(&[sep]);
            i += 1;
        } else {
            // Digits spelled out one by one ("1.4.8.8"): separate, no break.
            return (i, usize::from(next_run > 0));
        }
    }
}

/// Whether a '.' or ',' between a run of `run` digits and one of `next_run` digits stays inside
/// the number ("14.88", "1,488") rather than separating digits spelled out one by one
/// ("1.4.8.8").
#[inline(always)]
fn stays_in_number(run: usize, next_run: usize) -> bool {
    next_run > 0 && (run > 1 || next_run > 1)
}

/// The canonical string being written: bytes in a buffer sized for the longest it can grow
/// to, so that writing a character never reallocates and its length stays in a register.
struct Canon {
    bytes: Vec<u8>,
    len: usize,
}

impl Canon {
    /// A canonical string for a haystack of `haystack_bytes` bytes, in `buffer`'s memory. Each
    /// character of the haystack is written at most once, with at most one separator before
    /// it, and a separator is one byte, never longer than the character it precedes.
    fn new(buffer: String, haystack_bytes: usize) -> Canon {
        let mut bytes = buffer.into_bytes();
        bytes.clear();
        bytes.resize(2 * haystack_bytes, 0);
        Canon { bytes, len: 0 }
    }

    fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn push(&mut self, c: char) {
        let end = self.len + c.len_utf8();
        if let Some(slot) = self.bytes.get_mut(self.len..end) {
            c.encode_utf8(slot);
            self.len = end;
        }
    }

    /// Writes ASCII bytes (the caller's haystack is ASCII).
    #[inline(always)]
    fn push_ascii(&mut self, ascii: &[u8]) {
        let end = self.len + ascii.len();
        if let Some(slot) = self.bytes.get_mut(self.len..end) {
            slot.copy_from_slice(ascii);
            self.len = end;
        }
    }

    /// The string written.
    fn finish(mut self) -> String {
        self.bytes.truncate(self.len);
        // Only whole characters were written, so this is UTF-8.
        String::from_utf8(self.bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// Runs of one repeated character, ignorable characters skipped: `siieg` → s1 i2 e1 g1.
fn runs(word: &str) -> Vec<(char, usize)> {
    let mut out: Vec<(char, usize)> = Vec::with_capacity(word.len());
    for c in word.chars().filter(|&c| !is_ignorable(c)) {
        match out.last_mut() {
            Some((p, n)) if *p == c => *n += 1,
            _ => out.push((c, 1)),
        }
    }
    out
}

/// Whether message word `word` is pattern word `pattern` with letters repeated (each run at
/// least as long, none missing). With a wildcard on a side, `pattern` may be a prefix
/// (`right_wild`), a suffix (`left_wild`) or any part (both) of `word`.
pub(crate) fn stretches(word: &str, pattern: &str, left_wild: bool, right_wild: bool) -> bool {
    let (m, p) = (runs(word), runs(pattern));
    if p.len() > m.len() || (!left_wild && !right_wild && p.len() != m.len()) {
        return false;
    }
    let fits = |o: usize| p.iter().zip(&m[o..]).all(|(a, b)| a.0 == b.0 && b.1 >= a.1);
    match (left_wild, right_wild) {
        (false, _) => fits(0),
        (true, false) => fits(m.len() - p.len()),
        (true, true) => (0..=m.len() - p.len()).any(fits),
    }
}

/// Closes the token being built, if any, where the canonical string is `cend` bytes long.
fn finish(
    tokens: &mut [Token],
    current: &mut Option<(TokenKind, usize)>,
    last_end: usize,
    cend: usize,
) {
    if current.take().is_some()
        && let Some(t) = tokens.last_mut()
    {
        t.end = last_end;
        t.cend = cend;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn ascii_scan_matches_the_general_one(
            haystack in "[a-cA0-2 .,;:!?%$&+/#@'~\t\r\n-]{0,40}",
            collapse: bool,
        ) {
            let ascii = {
                let mut canon = Canon::new(String::new(), haystack.len());
                let mut tokens = Vec::new();
                let collapsed = scan_ascii(haystack.as_bytes(), collapse, &mut canon, &mut tokens);
                (canon.finish(), tokens, collapsed)
            };
            let general = {
                let mut canon = Canon::new(String::new(), haystack.len());
                let mut tokens = Vec::new();
                let collapsed = scan(&haystack, collapse, &mut canon, &mut tokens);
                (canon.finish(), tokens, collapsed)
            };
            proptest::prop_assert_eq!(ascii, general);
        }
    }

    proptest::proptest! {
        #[test]
        fn an_uncollapsed_stream_is_the_stream_without_collapsing(
            haystack in "[a-cA0-2 .,;:!?%$&+/#@'~\t\r\n-]{0,40}",
        ) {
            let mut out = TokenStream::default();
            proptest::prop_assert!(uncollapse_into(&haystack, &tokenize_with(&haystack, true), &mut out));
            proptest::prop_assert_eq!(out, tokenize(&haystack));
        }
    }

    #[test]
    fn ascii_classes_match_the_general_rules() {
        for c in (0_u8..128).map(char::from) {
            let general = if c.is_ascii_digit() {
                Class::Digit
            } else if c == '\n' || c == '\r' {
                Class::Break
            } else if c.is_whitespace() {
                Class::Space
            } else if c.is_alphanumeric() {
                Class::Letter
            } else {
                match c {
                    '.' | ',' | ';' | ':' | '!' | '?' => Class::Break,
                    '%' | '$' | '&' | '+' => Class::Symbol,
                    _ => Class::Space,
                }
            };
            assert_eq!(classify(c), general, "{c:?}");
        }
    }

    fn texts(s: &str) -> Vec<String> {
        let ts = tokenize(s);
        (0..ts.tokens.len())
            .map(|i| ts.text(i).to_owned())
            .collect()
    }

    #[test]
    fn splits_letters_digits_and_symbols() {
        assert_eq!(texts("xx1488xx"), ["xx", "1488", "xx"]);
        assert_eq!(texts("14/88"), ["14", "88"]);
        assert_eq!(texts("gg 14-0"), ["gg", "14", "0"]);
        assert_eq!(
            texts("costs 14.88 or 1,488"),
            ["costs", "14.88", "or", "1,488"]
        );
        assert_eq!(texts("1.4.8.8 v1.2"), ["1", "4", "8", "8", "v", "1", "2"]);
        assert_eq!(tokenize("1.4.8.8").canon, "1 4 8 8");
        assert_eq!(tokenize("1,488.50").canon, "1,488.50");
        assert_eq!(texts("⚡️⚡️ ok"), ["⚡", "⚡", "ok"]);
        assert_eq!(texts("👌🏽"), ["👌"]);
        assert_eq!(texts("it's #dayoftherope"), ["it", "s", "dayoftherope"]);
        assert_eq!(texts("88%"), ["88", "%"]);
        assert_eq!(texts("z\u{200B}og"), ["zog"]);
    }

    #[test]
    fn marks_glue_and_breaks() {
        let ts = tokenize("aryan88 sieg. heil");
        assert_eq!(ts.canon, "aryan 88 sieg\nheil");
        let glued: Vec<bool> = ts.tokens.iter().map(|t| t.glued).collect();
        assert_eq!(glued, [false, true, false, false]);
        assert_eq!(
            &"aryan88 sieg. heil"[ts.tokens[1].start..ts.tokens[1].end],
            "88"
        );
        assert_eq!(
            &"aryan88 sieg. heil"[ts.tokens[3].start..ts.tokens[3].end],
            "heil"
        );
    }

    #[test]
    fn collapse_and_stretch() {
        let ts = tokenize_with("siieg heiil 88 boogaloo", true);
        assert_eq!(ts.canon, "sieg heil 88 bogalo");
        assert_eq!(ts.tokens[3].end, "siieg heiil 88 boogaloo".len());
        assert!(stretches("siieg", "sieg", false, false));
        assert!(stretches("boogaloo", "boogaloo", false, false));
        assert!(!stretches("bogalo", "boogaloo", false, false));
        assert!(!stretches("ze", "zee", false, false));
        assert!(stretches("volksverraders", "volksverrad", false, true));
        assert!(!stretches("volksverraders", "volksverrad", false, false));
        assert!(stretches("xxheil", "heil", true, false));
        assert!(stretches("xxheilxx", "heil", true, true));
    }

    #[test]
    fn spans_are_char_boundaries() {
        let s = "ä⚡️b 12,5 ,x 🐸🐸";
        let ts = tokenize(s);
        for t in &ts.tokens {
            assert!(s.get(t.start..t.end).is_some());
            assert!(ts.canon.get(t.cstart..t.cend).is_some());
        }
        assert_eq!(texts(s), ["ä", "⚡", "b", "12,5", "x", "🐸", "🐸"]);
    }
}
