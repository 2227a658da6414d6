//! Squeezing letters repeated three or more times down to two: `loooool` → `lool`,
//! `fuuuuuck` → `fuuck`, `shhhhhiiiiter` → `shhiiter`.
//!
//! Two, not one: a run of two is ordinary spelling (`good`, `kill`, `lool`), so squeezing to
//! two never changes a word that has no long run, never turns a word into a one-letter word
//! (which would then be joined by a second pass), and squeezing again changes nothing.
//! Only ASCII letters are squeezed; digits (`1000`), punctuation and emoji (`⚡⚡⚡`) are kept.

/// Squeezes runs of three or more identical ASCII letters to two. Returns the new text and
/// how many characters were removed.
pub(crate) fn squeeze(text: String) -> (String, usize) {
    let bytes = text.as_bytes();
    let has_run = bytes
        .windows(3)
        .any(|w| w[0].is_ascii_alphabetic() && w[0] == w[1] && w[1] == w[2]);
    if !has_run {
        return (text, 0);
    }
    let mut out = String::with_capacity(text.len());
    let mut removed = 0;
    let mut prev: Option<char> = None;
    let mut run = 0;
    for c in text.chars() {
        if Some(c) == prev {
            run += 1;
        } else {
            prev = Some(c);
            run = 1;
        }
        if run > 2 && c.is_ascii_alphabetic() {
            removed += 1;
        } else {
            out.push(c);
        }
    }
    (out, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeezes_to_two() {
        assert_eq!(squeeze("loooool".to_owned()).0, "lool");
        assert_eq!(squeeze("good".to_owned()).0, "good");
        assert_eq!(squeeze("1000 ⚡⚡⚡".to_owned()).0, "1000 ⚡⚡⚡");
        assert_eq!(squeeze("aaa".to_owned()), ("aa".to_owned(), 1));
    }
}
