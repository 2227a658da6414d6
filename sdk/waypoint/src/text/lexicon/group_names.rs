//! Loose matching of the names of groups of people (the single-word patterns of hate-category
//! mention entries, `any.mention.protected_group`): a name misspelt by one letter or run
//! together with other words still names the group ("wmoen", "ikhaatmoslims"). The matcher's
//! exact patterns miss these spellings; the scorer asks here before it reads a message as
//! naming no group (`cascade.untargeted_deep_hate_factor`).

use super::format::{FileSpec, Kind};
use crate::Category;

/// Names shorter than this (in characters) are matched exactly only: one changed letter of a
/// short word is another word ("homo" → "home", "turk" → "turn").
const MIN_LOOSE_LEN: usize = 5;

/// The group names of a lexicon, as character sequences.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupNames {
    names: Vec<Vec<char>>,
}

impl GroupNames {
    /// The single-word patterns of at least [`MIN_LOOSE_LEN`] characters of every hate-category
    /// mention entry in `files`.
    pub(crate) fn collect(files: &[FileSpec]) -> GroupNames {
        let mut names: Vec<Vec<char>> = files
            .iter()
            .flat_map(|f| &f.entries)
            .filter(|e| e.kind == Kind::Mention && e.category == Category::Hate)
            .flat_map(|e| &e.patterns)
            .map(|p| p.value.to_lowercase())
            .filter(|p| p.chars().all(char::is_alphabetic) && p.chars().count() >= MIN_LOOSE_LEN)
            .map(|p| p.chars().collect())
            .collect();
        names.sort();
        names.dedup();
        GroupNames { names }
    }

    /// Whether a word of `text` (already normalised) is one of the names with one letter
    /// dropped, added, changed or two neighbouring letters swapped, or holds a name inside a
    /// longer run of letters.
    pub(crate) fn loosely_in(&self, text: &str) -> bool {
        if self.names.is_empty() {
            return false;
        }
        let mut word: Vec<char> = Vec::new();
        for c in text.chars().chain(std::iter::once(' ')) {
            if c.is_alphabetic() {
                word.push(c);
                continue;
            }
            if word.len() >= MIN_LOOSE_LEN - 1 && self.names.iter().any(|n| loose_match(&word, n)) {
                return true;
            }
            word.clear();
        }
        false
    }
}

/// `word` is `name` at optimal-string-alignment distance at most 1, or holds `name` and is
/// longer.
fn loose_match(word: &[char], name: &[char]) -> bool {
    if word.len() > name.len() + 1 {
        return word.windows(name.len()).any(|w| w == name);
    }
    within_one_edit(word, name)
}

/// Optimal-string-alignment distance at most 1 (one deletion, insertion, substitution or swap
/// of neighbouring characters).
fn within_one_edit(a: &[char], b: &[char]) -> bool {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    match (a.len(), b.len()) {
        (0, 0) => true,
        (x, y) if x == y => {
            a[1..] == b[1..] || (x >= 2 && a[0] == b[1] && a[1] == b[0] && a[2..] == b[2..])
        }
        (x, y) if x + 1 == y => a == &b[1..],
        (x, y) if y + 1 == x => &a[1..] == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> GroupNames {
        GroupNames {
            names: list.iter().map(|n| n.chars().collect()).collect(),
        }
    }

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn one_edit_of_any_kind_matches() {
        let name = chars("women");
        for word in [
            "women", "wmoen", "womne", "wome", "womenn", "wamen", "owmen",
        ] {
            assert!(within_one_edit(&chars(word), &name), "{word}");
        }
        for word in ["wmone", "men", "woomenn", "nemow"] {
            assert!(!within_one_edit(&chars(word), &name), "{word}");
        }
    }

    #[test]
    fn misspelt_and_run_together_names_are_found() {
        let g = names(&["moslims", "vrouwen", "somaliërs"]);
        assert!(g.loosely_in("moslmis zijn tuig"));
        assert!(g.loosely_in("ik haat vrouwne"));
        assert!(g.loosely_in("ikhaatmoslims"));
        assert!(g.loosely_in("somalirs"));
        assert!(!g.loosely_in("ik ben er zo, even de hond uitlaten"));
        assert!(!g.loosely_in("wij zijn met z'n vieren"));
        assert!(!GroupNames::default().loosely_in("moslims"));
    }
}
