//! Re-joining letters spelled out one at a time: `k i l l` → `kill`, `s.t.u.p.i.d` →
//! `stupid`, `f - u - c - k` → `fuck`.
//!
//! A run is joined when it has at least three single characters, at least two of them
//! letters, and at least one letter that is not a common one-letter chat word
//! (`a c i k n o r u x y`: "u r a noob", "i c u", "r u o k" stay as they are). Ordinary
//! sentences never have three one-letter words in a row that pass this test, so "i am a
//! noob" is untouched. A single character is an ASCII letter or digit, `@` or `$` (the
//! leetspeak mapping that runs next turns `k 1 l l` into `kill`).

/// Separator characters between spelled-out letters.
const fn is_separator(b: u8) -> bool {
    matches!(
        b,
        b'.' | b'-'
            | b'_'
            | b'*'
            | b'~'
            | b'+'
            | b'!'
            | b'|'
            | b'/'
            | b'\\'
            | b','
            | b'\''
            | b'`'
            | b':'
            | b';'
            | b'^'
            | b'='
            | b'#'
    )
}

const fn is_single_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'@' || b == b'$'
}

fn is_single(token: &str) -> bool {
    token.len() == 1 && token.bytes().all(is_single_char)
}

fn is_separator_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(is_separator)
}

/// Letters that are words of their own in chat.
pub(crate) fn is_chat_letter(b: u8) -> bool {
    matches!(
        b,
        b'a' | b'c' | b'i' | b'k' | b'n' | b'o' | b'r' | b'u' | b'x' | b'y'
    )
}

/// Tally of a candidate run.
#[derive(Default)]
struct Run {
    singles: usize,
    letters: usize,
    uncommon: bool,
}

impl Run {
    fn add(&mut self, b: u8) {
        self.singles += 1;
        if b.is_ascii_alphabetic() {
            self.letters += 1;
            self.uncommon |= !is_chat_letter(b);
        }
    }

    fn joins(&self) -> bool {
        self.singles >= 3 && self.letters >= 2 && self.uncommon
    }
}

/// Whether `folded` comes out of [`join`] unchanged without looking at its tokens: it is
/// single-spaced and trimmed, and has fewer than three characters that could each be spelled
/// out alone (a single character with a space, a separator or an end of the text on both
/// sides), which every run needs.
fn nothing_to_join(folded: &[u8]) -> bool {
    let class = |b: u8| BYTE_CLASSES[usize::from(b)];
    // One byte between its neighbours' classes (either end of the text counts as a space):
    // a space next to a space or an end (not single-spaced and trimmed), and whether it is a
    // single character between gaps.
    let look = |before: u8, current: u8, after: u8| {
        let spacing = current & (before | after) & SPACE;
        let single = (current & SINGLE) >> 2 & (before & after & GAP) >> 1;
        (spacing, u32::from(single))
    };
    let Some((&first, rest)) = folded.split_first() else {
        return true;
    };
    let (mut before, mut current) = (EDGE, class(first));
    let (mut spacing, mut singles) = (0, 0);
    for &b in rest {
        let after = class(b);
        let (s, single) = look(before, current, after);
        (spacing, singles) = (spacing | s, singles + single);
        (before, current) = (current, after);
    }
    let (s, single) = look(before, current, EDGE);
    (spacing | s) == 0 && singles + single < 3
}

/// [`BYTE_CLASSES`] bit: a space.
const SPACE: u8 = 1;
/// [`BYTE_CLASSES`] bit: a space or a separator.
const GAP: u8 = 2;
/// [`BYTE_CLASSES`] bit: a character that can be spelled out alone.
const SINGLE: u8 = 4;
/// What either end of the text counts as.
const EDGE: u8 = SPACE | GAP;

/// The class bits of every byte.
const BYTE_CLASSES: [u8; 256] = {
    let mut classes = [0_u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        classes[b] = if byte == b' ' {
            EDGE
        } else if is_separator(byte) {
            GAP
        } else if is_single_char(byte) {
            SINGLE
        } else {
            0
        };
        b += 1;
    }
    classes
};

/// Joins spelled-out runs in `folded` (single-spaced, trimmed) into `out`, replacing its
/// contents. Returns how many runs were joined.
pub(crate) fn join(folded: &str, out: &mut String) -> usize {
    out.clear();
    if nothing_to_join(folded.as_bytes()) {
        out.push_str(folded);
        return 0;
    }
    let mut joined = 0;
    let mut tokens = folded.split(' ').filter(|t| !t.is_empty());
    while let Some(token) = tokens.next() {
        if !out.is_empty() {
            out.push(' ');
        }
        if !is_single(token) {
            if push_dotted(token, out) {
                joined += 1;
            } else {
                out.push_str(token);
            }
            continue;
        }
        // A run of single characters, possibly with separator-only tokens between them: look
        // ahead for how many of the following tokens it spans (up to its last single).
        let mut run = Run::default();
        run.add(token.as_bytes()[0]);
        let mut spans = 0;
        for (k, t) in tokens.clone().enumerate() {
            if is_single(t) {
                run.add(t.as_bytes()[0]);
                spans = k + 1;
            } else if !is_separator_token(t) {
                break;
            }
        }
        out.push_str(token);
        let rest = tokens.by_ref().take(spans);
        if run.joins() {
            joined += 1;
            rest.filter(|t| is_single(t)).for_each(|t| out.push_str(t));
        } else {
            rest.for_each(|t| {
                out.push(' ');
                out.push_str(t);
            });
        }
    }
    joined
}

/// `s.t.u.p.i.d` → `stupid`: single characters separated inside one token, pushed onto `out`
/// joined. Leading and trailing separators are kept (`u.s.a.` → `usa.`). Returns whether the
/// token was such a run; pushes nothing otherwise.
fn push_dotted(token: &str, out: &mut String) -> bool {
    let bytes = token.as_bytes();
    let (Some(start), Some(last)) = (
        bytes.iter().position(|&b| !is_separator(b)),
        bytes.iter().rposition(|&b| !is_separator(b)),
    ) else {
        return false;
    };
    let core = &bytes[start..=last];
    let pieces = || core.split(|&b| is_separator(b)).filter(|p| !p.is_empty());
    let mut run = Run::default();
    for piece in pieces() {
        match piece {
            [b] if is_single_char(*b) => run.add(*b),
            _ => return false,
        }
    }
    if !run.joins() {
        return false;
    }
    // Separators are ASCII, so `start` and `last + 1` are character boundaries.
    out.push_str(token.get(..start).unwrap_or_default());
    pieces().for_each(|piece| out.extend(piece.iter().map(|&b| char::from(b))));
    out.push_str(token.get(last + 1..).unwrap_or_default());
    true
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn text_with_nothing_to_join_comes_out_unchanged(
            words in proptest::collection::vec("[a-z0-9@$.!*-]{1,3}", 0..8),
        ) {
            let folded = words.join(" ");
            if nothing_to_join(folded.as_bytes()) {
                prop_assert_eq!(j(&folded), folded);
            }
        }
    }

    fn j(s: &str) -> String {
        let mut out = String::from("stale contents");
        join(s, &mut out);
        out
    }

    #[test]
    fn spaced() {
        assert_eq!(j("k i l l"), "kill");
        assert_eq!(j("k i l l yourself"), "kill yourself");
        assert_eq!(j("f - u - c - k off"), "fuck off");
        assert_eq!(j("i am a noob"), "i am a noob");
        assert_eq!(j("u r a noob"), "u r a noob");
        assert_eq!(j("r u o k"), "r u o k");
        assert_eq!(j("a b c"), "abc");
        assert_eq!(j("2 v 2"), "2 v 2");
        assert_eq!(j("1 4 8 8"), "1 4 8 8");
        assert_eq!(j("k 1 l l"), "k1ll");
        assert_eq!(j("plan b"), "plan b");
        assert_eq!(j("- k i l l -"), "- kill -");
    }

    #[test]
    fn dotted() {
        assert_eq!(j("s.t.u.p.i.d"), "stupid");
        assert_eq!(j("n-i-c-e"), "nice");
        assert_eq!(j("f!u!c!k!"), "fuck!");
        assert_eq!(j("f*u*c*k"), "fuck");
        assert_eq!(j("e.g."), "e.g.");
        assert_eq!(j("1.4.8.8"), "1.4.8.8");
        assert_eq!(j("3.14"), "3.14");
        assert_eq!(j("b-day"), "b-day");
        assert_eq!(j("..."), "...");
    }
}
