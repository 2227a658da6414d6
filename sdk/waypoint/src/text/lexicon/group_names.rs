//! Loose matching of the names of groups of people (the single-word patterns of hate-category
//! mention entries, `any.mention.protected_group`): a name misspelt by one letter or run
//! together with other words still names the group ("wmoen", "ikhaatmoslims"). The matcher's
//! exact patterns miss these spellings; the scorer asks here before it reads a message as
//! naming no group (`cascade.untargeted_deep_hate_factor`).

use aho_corasick::AhoCorasick;

use super::format::{FileSpec, Kind};
use crate::Category;
use crate::text::normalize::is_chat_letter;

/// Names shorter than this (in characters) are matched exactly only: one changed letter of a
/// short word is another word ("homo" → "home", "turk" → "turn").
const MIN_LOOSE_LEN: usize = 5;

/// Names shorter than this are never joined from two words: "he r" is no name.
const MIN_SPLIT_LEN: usize = 4;

/// Two words joined may be one edit from a name of at least this many characters ("vluchte
/// lnigen"); shorter names must be matched exactly ("who are" is not "whore").
const MIN_SPLIT_EDIT_LEN: usize = 6;

/// The group names of a lexicon: by length in characters, for the one-edit check, and in one
/// automaton, for names inside a longer run of letters.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupNames {
    /// `by_len[n]`: the names of `n` characters.
    by_len: Vec<Vec<Vec<char>>>,
    /// Every name of at least [`MIN_LOOSE_LEN`] characters, found anywhere in a text (`None`
    /// without names, or if it could not be built: the run-together rule is then off).
    anywhere: Option<AhoCorasick>,
}

impl GroupNames {
    /// The single-word patterns of at least [`MIN_SPLIT_LEN`] characters of every hate-category
    /// mention entry in `files` (those shorter than [`MIN_LOOSE_LEN`] are only matched exactly,
    /// as names split by a space).
    pub(crate) fn collect(files: &[FileSpec]) -> GroupNames {
        let mut names: Vec<String> = files
            .iter()
            .flat_map(|f| &f.entries)
            .filter(|e| e.kind == Kind::Mention && e.category == Category::Hate)
            .flat_map(|e| &e.patterns)
            .map(|p| p.value.to_lowercase())
            .filter(|p| p.chars().all(char::is_alphabetic) && p.chars().count() >= MIN_SPLIT_LEN)
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
        let loose: Vec<&String> = names
            .iter()
            .filter(|n| n.chars().count() >= MIN_LOOSE_LEN)
            .collect();
        let anywhere = (!loose.is_empty())
            .then(|| AhoCorasick::new(&loose).ok())
            .flatten();
        GroupNames { by_len, anywhere }
    }

    /// Whether `text` (already normalised) holds one of the names anywhere (a name run together
    /// with other words: "ikhaatmoslims"), has a word that is a name with one letter dropped,
    /// added, changed or two neighbouring letters swapped ("moslmis"), or has two neighbouring
    /// words that are a name split by a space ([`Self::split_name`]: "immi granten").
    pub(crate) fn loosely_in(&self, text: &str) -> bool {
        if self.anywhere.as_ref().is_some_and(|ac| ac.is_match(text)) {
            return true;
        }
        // `previous`: the word before `word` when only one space separates them.
        let mut previous: Vec<char> = Vec::new();
        let mut word: Vec<char> = Vec::new();
        for c in text.chars().chain(std::iter::once('\n')) {
            if c.is_alphabetic() {
                word.push(c);
                continue;
            }
            if word.len() + 1 >= MIN_LOOSE_LEN && self.one_edit_from_a_name(&word) {
                return true;
            }
            if !previous.is_empty() && !word.is_empty() && self.split_name(&previous, &word) {
                return true;
            }
            previous = if c == ' ' {
                std::mem::take(&mut word)
            } else {
                Vec::new()
            };
            word.clear();
        }
        false
    }

    /// Whether two neighbouring words are one name with a space typed into it ("immi
    /// granten", "mosl ims", "j ews"): joined, they are a name, or one edit from a name of
    /// [`MIN_SPLIT_EDIT_LEN`] characters or more ("vluchte lnigen"). A word that
    /// stands on its own in chat ([`is_standalone_word`]) is never half of a split name:
    /// "pot en pan" and "zwart en wit" name no group.
    fn split_name(&self, first: &[char], second: &[char]) -> bool {
        if is_standalone_word(first) || is_standalone_word(second) {
            return false;
        }
        let joined: Vec<char> = first.iter().chain(second).copied().collect();
        let mut same_length = self.by_len.get(joined.len()).into_iter().flatten();
        same_length.any(|name| *name == joined)
            || self.one_edit_from_a_name_of(&joined, MIN_SPLIT_EDIT_LEN)
    }

    /// Whether `word` is one edit away from a name (names one character shorter, as long or
    /// one longer are the only candidates).
    fn one_edit_from_a_name(&self, word: &[char]) -> bool {
        self.one_edit_from_a_name_of(word, MIN_LOOSE_LEN)
    }

    /// [`Self::one_edit_from_a_name`], among the names of at least `min_len` characters.
    fn one_edit_from_a_name_of(&self, word: &[char], min_len: usize) -> bool {
        let lengths = word.len().saturating_sub(1).max(min_len)..=word.len() + 1;
        lengths
            .filter_map(|n| self.by_len.get(n))
            .flatten()
            .any(|name| within_one_edit(word, name))
    }
}

/// Short words that stand on their own in English or Dutch chat: the one-letter chat words
/// (those the normaliser never joins as spelled-out letters), and "s", "e" and the function
/// words an ending such as "-en" or "-s" could be mistaken for.
fn is_standalone_word(word: &[char]) -> bool {
    const WORDS: [&str; 27] = [
        "s", "e", "en", "and", "an", "the", "of", "to", "in", "on", "at", "is", "it", "or", "de",
        "het", "een", "te", "er", "op", "ik", "je", "we", "ze", "me", "om", "ja",
    ];
    let word: String = word.iter().flat_map(|c| c.to_lowercase()).collect();
    match word.as_bytes() {
        [letter] => is_chat_letter(*letter) || WORDS.contains(&word.as_str()),
        _ => word.len() <= 3 && WORDS.contains(&word.as_str()),
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
    fn names_split_by_a_space_are_found() {
        let g = names(&[
            "jews",
            "joden",
            "women",
            "immigranten",
            "vluchtelingen",
            "whore",
            "poten",
        ]);
        assert!(g.loosely_in("i loathe j ews"));
        assert!(g.loosely_in("w omen are not capable"));
        assert!(g.loosely_in("imm igranten zijn te stom"));
        assert!(g.loosely_in("al die vluchte lnigen zijn uitvreters"));
        assert!(!g.loosely_in("hey who are you"));
        assert!(!g.loosely_in("ik heb een pot en een pan"));
        assert!(!g.loosely_in("imm, igranten"), "a comma keeps words apart");
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
