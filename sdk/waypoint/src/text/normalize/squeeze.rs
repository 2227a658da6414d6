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
    let has_run = text
        .as_bytes()
        .windows(3)
        .any(|w| w[0].is_ascii_alphabetic() && w[0] == w[1] && w[1] == w[2]);
    if !has_run {
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
