//! Loose matching of the names of groups of people (the single-word patterns of hate-category
//! mention entries, `any.mention.protected_group`): a name misspelt by one letter or run
//! together with other words still names the group ("wmoen", "ikhaatmoslims"). The matcher's
//! exact patterns miss these spellings; the scorer asks here before it reads a message as
//! naming no group (`cascade.untargeted_deep_hate_factor`).

use aho_corasick::AhoCorasick;

use super::format::{FileSpec, Kind};
use crate::Category;

/// Names shorter than this (in characters) are matched exactly only: one changed letter of a
/// short word is another word ("homo" → "home", "turk" → "turn").
const MIN_LOOSE_LEN: usize = 5;

/// The group names of a lexicon: by length in characters, for the one-edit check, and in one
/// automaton, for names inside a longer run of letters.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupNames {
    /// `by_len[n]`: the names of `n` characters.
    by_len: Vec<Vec<Vec<char>>>,
    /// Every name, found anywhere in a text (`None` without names, or if it could not be
    /// built: the run-together rule is then off).
    anywhere: Option<AhoCorasick>,
}

impl GroupNames {
    /// The single-word patterns of at least [`MIN_LOOSE_LEN`] characters of every hate-category
    /// mention entry in `files`.
    pub(crate) fn collect(files: &[FileSpec]) -> GroupNames {
        let mut names: Vec<String> = files
            .iter()
            .flat_map(|f| &f.entries)
            .filter(|e| e.kind == Kind::Mention && e.category == Category::Hate)
            .flat_map(|e| &e.patterns)
            .map(|p| p.value.to_lowercase())
            .filter(|p| p.chars().all(char::is_alphabetic) && p.chars().count() >= MIN_LOOSE_LEN)
            .collect();
        names.sort();
        names.dedup();
        let mut by_len: Vec<Vec<Vec<char>>> = Vec::new();
        for name in &names {
            let chars: Vec<char> = name.chars().collect();
            if by_len.len() <= chars.len() {
                by_len.resize(chars.len() + 1, Vec::new());
            }
            by_len[chars.len()].push(chars);
        }
        let anywhere = (!names.is_empty())
            .then(|| AhoCorasick::new(&names).ok())
            .flatten();
        GroupNames { by_len, anywhere }
    }

    /// Whether `text` (already normalised) holds one of the names anywhere (a name run together
    /// with other words: "ikhaatmoslims"), or has a word that is a name with one letter dropped,
    /// added, changed or two neighbouring letters swapped ("moslmis").
    pub(crate) fn loosely_in(&self, text: &str) -> bool {
        if self.anywhere.as_ref().is_some_and(|ac| ac.is_match(text)) {
            return true;
        }
        let mut word: Vec<char> = Vec::new();
        for c in text.chars().chain(std::iter::once(' ')) {
            if c.is_alphabetic() {
                word.push(c);
                continue;
            }
            if word.len() + 1 >= MIN_LOOSE_LEN && self.one_edit_from_a_name(&word) {
                return true;
            }
            word.clear();
        }
        false
    }

    /// Whether `word` is one edit away from a name (names one character shorter, as long or
    /// one longer are the only candidates).
    fn one_edit_from_a_name(&self, word: &[char]) -> bool {
        let lengths = word.len().saturating_sub(1)..=word.len() + 1;
        lengths
            .filter_map(|n| self.by_len.get(n))
            .flatten()
            .any(|name| within_one_edit(word, name))
    }
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
        let patterns = list
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let src = format!(
            "version = \"t\"\n[[entry]]\nid = \"any.mention.protected_group\"\n\
             category = \"hate\"\nweight = 0.0\nlang = \"any\"\nkind = \"mention\"\n\
             description = \"d\"\npatterns = [{patterns}]\n"
        );
        let file = super::super::format::parse_file(&src, "t.toml").expect("valid");
        GroupNames::collect(&[file])
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

    #[test]
    fn short_names_are_left_to_the_exact_patterns() {
        let g = names(&["turk", "homo", "women"]);
        assert!(!g.loosely_in("turn left at the bridge"));
        assert!(!g.loosely_in("going home now"));
        assert!(!g.loosely_in("turks"));
        assert!(g.loosely_in("wmoen"));
    }
}
