//! Squeezing letters repeated three or more times down to two: `loooool` → `lool`,
//! `fuuuuuck` → `fuuck`, `shhhhhiiiiter` → `shhiiter`.
//!
//! Two, not one: a run of two is ordinary spelling (`good`, `kill`, `lool`), so squeezing to
//! two never changes a word that has no long run, never turns a word into a one-letter word
//! (which would then be joined by a second pass), and squeezing again changes nothing.
//! Only ASCII letters are squeezed; digits (`1000`), punctuation and emoji (`⚡⚡⚡`) are kept.

/// Squeezes runs of three or more identical ASCII letters to two, in place. Returns how many
/// characters were removed.
pub(crate) fn squeeze(text: &mut String) -> usize {
    if !has_run(text.as_bytes()) {
        return 0;
    }
    let mut removed = 0;
    let mut prev: Option<char> = None;
    let mut run = 0;
    text.retain(|c| {
        if Some(c) == prev {
            run += 1;
        } else {
            prev = Some(c);
            run = 1;
        }
        let drop = run > 2 && c.is_ascii_alphabetic();
        removed += usize::from(drop);
        !drop
    });
    removed
}

/// Whether `bytes` has three identical ASCII letters in a row. Written without early exits, so
/// the check runs a vector of bytes at a time.
fn has_run(bytes: &[u8]) -> bool {
    let (next, after) = (
        bytes.get(1..).unwrap_or_default(),
        bytes.get(2..).unwrap_or_default(),
    );
    bytes
        .iter()
        .zip(next)
        .zip(after)
        .fold(false, |any, ((&a, &b), &c)| {
            any | ((a == b) & (b == c) & a.is_ascii_alphabetic())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeezes_to_two() {
        let squeezed = |s: &str| {
            let mut text = s.to_owned();
            let removed = squeeze(&mut text);
            (text, removed)
        };
        assert_eq!(squeezed("loooool").0, "lool");
        assert_eq!(squeezed("good").0, "good");
        assert_eq!(squeezed("1000 ⚡⚡⚡").0, "1000 ⚡⚡⚡");
        assert_eq!(squeezed("aaa"), ("aa".to_owned(), 1));
    }
}
