//! Leetspeak: digits and symbols standing for letters inside words (`w0rthl3ss` →
//! `worthless`, `1d10t` → `idiot`, `@ss` → `ass`, `sh!t` → `shit`).
//!
//! A *unit* is a maximal run of ASCII letters, digits and `@ $ ! |`; `!` and `|` at either
//! end of it are punctuation, not letters. A unit is mapped when all of these hold:
//!
//! * it has a letter and a leet character (a digit or `@ $ ! |`);
//! * every digit is one of `0 1 3 4 5 7` (`o i e a s t`); `2 6 8 9` are rarely letters and
//!   usually numbers (`2v2`, `gr8`, `l8r`), so their presence keeps the unit as it is;
//! * it has no run of three or more digits (`1488`, `xx1488xx`, `100hp` keep their numbers);
//! * it has at least two letters, or a symbol (`@ $ ! |`): `1v1`, `m4`, `4u`, `a55` stay;
//! * it is not a number with a unit or ordinal (`1st`, `3rd`, `4th`, `10k`, `50hp`, `5min`,
//!   and anything starting with two digits and ending in letters, `10kn`);
//! * it is not a mention: `@` at the start of a token followed by more than two characters
//!   and no other leet character (`@slamco` stays; `@ss` and `@$$hole` map);
//! * it is not a short name followed by a number (`ak47`, `mp5`, `bo3`), unless that number
//!   is one digit doubled (`ki11`, `he11`);
//! * it does not touch a non-ASCII letter.
//!
//! Mapping: `0`→o, `1`→i (but `11`→ll), `3`→e, `4`→a, `5`→s, `7`→t, `@`→a, `$`→s, `!`→i,
//! `|`→l. Tokens with no letters at all — `88`, `1488`, `14/88`, `3:2` — never change.

fn is_symbol(b: u8) -> bool {
    matches!(b, b'@' | b'$' | b'!' | b'|')
}

fn is_unit_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || is_symbol(b)
}

fn is_leet_digit(b: u8) -> bool {
    matches!(b, b'0' | b'1' | b'3' | b'4' | b'5' | b'7')
}

/// Units and ordinals that follow a number.
const SUFFIXES: &[&[u8]] = &[
    b"st", b"nd", b"rd", b"th", b"hp", b"xp", b"ms", b"kb", b"mb", b"gb", b"km", b"kg", b"hz",
    b"fps", b"min", b"sec", b"lvl", b"hrs", b"pts",
];

/// Maps leetspeak in `text`, in place. Returns how many characters were mapped.
pub(crate) fn map_leet(text: &mut String) -> usize {
    // Only a unit with a digit or a leet symbol maps; most lines have neither.
    if !text.bytes().any(is_leet_byte) {
        return 0;
    }
    let mut bytes = std::mem::take(text).into_bytes();
    let mapped = map_leet_bytes(&mut bytes);
    *text = match String::from_utf8(bytes) {
        Ok(s) => s,
        // Only ASCII bytes are rewritten, with ASCII bytes, so this cannot happen.
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    };
    mapped
}

/// Maps every unit that passes the rules. A unit's decision reads its own bytes and the bytes
/// around it, which are never part of another unit, so mapping as the scan goes is the same as
/// deciding everything first. Only units with a digit or a leet symbol can map, so the scan
/// goes from one of those to the next and skips the units between.
fn map_leet_bytes(bytes: &mut [u8]) -> usize {
    let mut mapped = 0;
    // Everything before `i` is decided, and no unit has bytes on both sides of `i`.
    let mut i = 0;
    while let Some(leet) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| is_leet_byte(b)))
    {
        let leet = i + leet;
        let mut start = leet;
        while start > i && is_unit_byte(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = leet;
        while end < bytes.len() && is_unit_byte(bytes[end]) {
            end += 1;
        }
        let (mut s, mut e) = (start, end);
        while s < e && matches!(bytes[s], b'!' | b'|') {
            s += 1;
        }
        while e > s && matches!(bytes[e - 1], b'!' | b'|') {
            e -= 1;
        }
        let at_token_start = s == 0 || bytes[s - 1] == b' ';
        if s < e
            && should_map(&bytes[s..e])
            && !(at_token_start && is_mention(&bytes[s..e]))
            && !touches_foreign_letter(bytes, s, e)
        {
            mapped += map_unit(&mut bytes[s..e]);
        }
        i = end;
    }
    mapped
}

/// A digit or a leet symbol: what every unit that maps has.
fn is_leet_byte(b: u8) -> bool {
    b.is_ascii_digit() || is_symbol(b)
}

fn should_map(unit: &[u8]) -> bool {
    let letters = unit.iter().filter(|b| b.is_ascii_lowercase()).count();
    let symbols = unit.iter().filter(|&&b| is_symbol(b)).count();
    let digits = unit.len() - letters - symbols;
    if letters == 0 || digits + symbols == 0 {
        return false;
    }
    if unit
        .iter()
        .any(|&b| b.is_ascii_digit() && !is_leet_digit(b))
    {
        return false;
    }
    if unit.windows(3).any(|w| w.iter().all(u8::is_ascii_digit)) {
        return false;
    }
    if letters < 2 && symbols == 0 {
        return false;
    }
    if symbols == 0 && (is_number_with_suffix(unit) || is_name_with_number(unit)) {
        return false;
    }
    true
}

/// `10k`, `1st`, `50hp`, `10kn`: digits then a unit or ordinal.
fn is_number_with_suffix(unit: &[u8]) -> bool {
    let split = unit
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(unit.len());
    let (number, rest) = unit.split_at(split);
    let letters_only = rest.iter().all(u8::is_ascii_lowercase);
    !number.is_empty()
        && (rest.len() == 1 || SUFFIXES.contains(&rest) || (number.len() >= 2 && letters_only))
}

/// `@slamco`: a player mention rather than `a` spelled with `@`.
fn is_mention(unit: &[u8]) -> bool {
    match unit.split_first() {
        Some((b'@', rest)) => {
            rest.len() > 2 && !rest.iter().any(|&b| is_symbol(b) || b.is_ascii_digit())
        }
        _ => false,
    }
}

/// `ak47`, `mp5`: one to three letters then a number that is not one digit doubled.
fn is_name_with_number(unit: &[u8]) -> bool {
    let split = unit
        .iter()
        .position(|b| !b.is_ascii_lowercase())
        .unwrap_or(unit.len());
    let (name, number) = unit.split_at(split);
    let doubled = number.len() >= 2 && number.iter().all(|&b| b == number[0]);
    (1..=3).contains(&name.len())
        && !number.is_empty()
        && number.iter().all(u8::is_ascii_digit)
        && !doubled
}

fn touches_foreign_letter(text: &[u8], start: usize, end: usize) -> bool {
    [char_before(text, start), char_after(text, end)]
        .into_iter()
        .flatten()
        .any(|c| !c.is_ascii() && c.is_alphabetic())
}

/// The character ending just before byte `at` of UTF-8 `text`.
fn char_before(text: &[u8], at: usize) -> Option<char> {
    let head = text.get(..at)?;
    // A character is at most four bytes; its first byte is not a continuation byte.
    let start = (at.saturating_sub(4)..at)
        .rev()
        .find(|&i| head[i] & 0xC0 != 0x80)?;
    std::str::from_utf8(&head[start..])
        .ok()?
        .chars()
        .next_back()
}

/// The character starting at byte `at` of UTF-8 `text`.
fn char_after(text: &[u8], at: usize) -> Option<char> {
    let tail = text.get(at..)?;
    let len = match tail.first()? {
        b if *b < 0x80 => 1,
        b if *b >= 0xF0 => 4,
        b if *b >= 0xE0 => 3,
        _ => 2,
    };
    std::str::from_utf8(tail.get(..len)?).ok()?.chars().next()
}

fn map_unit(unit: &mut [u8]) -> usize {
    let mut mapped = 0;
    let mut i = 0;
    while i < unit.len() {
        let b = unit[i];
        if b == b'1' {
            let run = unit[i..].iter().take_while(|&&x| x == b'1').count();
            let letter = if run == 2 { b'l' } else { b'i' };
            unit[i..i + run].iter_mut().for_each(|x| *x = letter);
            mapped += run;
            i += run;
            continue;
        }
        let letter = match b {
            b'0' => b'o',
            b'3' => b'e',
            b'4' => b'a',
            b'5' | b'$' => b's',
            b'7' => b't',
            b'@' => b'a',
            b'!' => b'i',
            b'|' => b'l',
            _ => b,
        };
        if letter != b {
            unit[i] = letter;
            mapped += 1;
        }
        i += 1;
    }
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> String {
        let mut text = s.to_owned();
        map_leet(&mut text);
        text
    }

    #[test]
    fn maps_words() {
        assert_eq!(l("y0u r a w0rthl3ss 1d10t"), "you r a worthless idiot");
        assert_eq!(l("@ss"), "ass");
        assert_eq!(l("a$$"), "ass");
        assert_eq!(l("@$$hole"), "asshole");
        assert_eq!(l("you @ss"), "you ass");
        assert_eq!(l("sh!t!"), "shit!");
        assert_eq!(l("k1ll"), "kill");
        assert_eq!(l("ki11"), "kill");
        assert_eq!(l("he||o"), "hello");
        assert_eq!(l("5hit"), "shit");
        assert_eq!(l("n00b"), "noob");
    }

    #[test]
    fn keeps_numbers_and_names() {
        for s in [
            "88",
            "1488",
            "xx1488xx",
            "my score was 88",
            "2v2",
            "1v1",
            "gr8",
            "l8r",
            "ak47",
            "mp5",
            "1st",
            "3rd",
            "4th",
            "10k",
            "50hp",
            "10kn",
            "a55",
            "m4",
            "14/88",
            "3:2",
            "wow!",
            "!help",
            "hi @slamco",
            "@bla",
        ] {
            assert_eq!(l(s), s);
        }
    }

    #[test]
    fn leaves_foreign_words() {
        assert_eq!(l("п0ка"), "п0ка");
        assert_eq!(l("жh1t"), "жh1t");
    }
}
