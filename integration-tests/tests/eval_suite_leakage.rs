//! The evaluation-only sets stay out of everything a model learns or is tuned from.
//!
//! Every line of the extremism suite's test, check and blind parts
//! (`models/eval/extremism_suite/test.jsonl`, `check.jsonl`, `blind.jsonl`), of the Dutch
//! game-chat test set (`models/eval/nl_game_chat/test.txt`) and of the rough game-chat sets
//! (`models/eval/rough_game_chat/en.txt`, `nl.txt`) is compared, after lowercasing and
//! collapsing whitespace and punctuation, with every line and every quoted string of the deep
//! head's training templates (`models/train/deep/templates/*.toml`), of the exemplars
//! (`models/exemplars/*`, when that folder exists), of the Dutch game-chat training lines, of the
//! stance model's lines (`models/train/stance/lines.tsv`) and of the suite's dev part. Any match
//! fails the test and names the test line and the file it was found in. The suite's dev part must also hold no near-duplicate of a test line:
//! every pair is compared by the Jaccard similarity of their character 4-grams.

// Test code: a missing or unreadable fixture fails the test, which is what expect() and panic!
// do here.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Lowercase, every run of non-alphanumeric characters as one space, trimmed.
fn normalise(text: &str) -> String {
    let spaced: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `text` field of every JSON Lines record.
fn jsonl_texts(path: &Path) -> Vec<String> {
    read(path)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let case: Value = serde_json::from_str(line).expect("suite lines are JSON");
            case["text"].as_str().expect("a text field").to_owned()
        })
        .collect()
}

fn plain_lines(path: &Path) -> Vec<String> {
    read(path).lines().map(str::to_owned).collect()
}

/// Every physical line and every single- or double-quoted string on a line: whatever shape the
/// file has (TOML arrays, JSON, plain text), each message it holds is one of these.
fn lines_and_quoted_strings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        out.push(line.to_owned());
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c != '"' && c != '\'' {
                continue;
            }
            let mut inner = String::new();
            let mut escaped = false;
            for d in chars.by_ref() {
                if d == c && !escaped {
                    break;
                }
                escaped = d == '\\' && !escaped;
                inner.push(d);
            }
            out.push(inner);
        }
    }
    out
}

/// Normalised evaluation-only lines → where they come from.
fn evaluation_only_lines(root: &Path) -> BTreeMap<String, String> {
    let mut lines = BTreeMap::new();
    let suite = root.join("models/eval/extremism_suite");
    let chat = root.join("models/eval/nl_game_chat/test.txt");
    let mut sources: Vec<(Vec<String>, String)> = ["test.jsonl", "check.jsonl", "blind.jsonl"]
        .into_iter()
        .map(|part| {
            (
                jsonl_texts(&suite.join(part)),
                format!("extremism_suite/{part}"),
            )
        })
        .collect();
    sources.push((plain_lines(&chat), "nl_game_chat/test.txt".to_owned()));
    for lang in ["en", "nl"] {
        let rough = root.join(format!("models/eval/rough_game_chat/{lang}.txt"));
        sources.push((plain_lines(&rough), format!("rough_game_chat/{lang}.txt")));
    }
    for (texts, name) in sources {
        for text in texts {
            let key = normalise(&text);
            if !key.is_empty() {
                lines.insert(key, format!("{name}: {text}"));
            }
        }
    }
    lines
}

/// Files a model may learn or be tuned from, with the strings each holds (normalised).
fn training_material(root: &Path) -> Vec<(PathBuf, BTreeSet<String>)> {
    let templates = root.join("models/train/deep/templates");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&templates)
        .expect("the training templates folder exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    assert!(!files.is_empty(), "no templates in {}", templates.display());
    let exemplars = root.join("models/exemplars");
    if exemplars.is_dir() {
        for entry in std::fs::read_dir(&exemplars).expect("readable exemplars folder") {
            let path = entry.expect("readable entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.push(root.join("models/eval/nl_game_chat/train.txt"));
    files.push(root.join("models/train/stance/lines.tsv"));
    let mut material: Vec<(PathBuf, BTreeSet<String>)> = files
        .into_iter()
        .map(|path| {
            let strings = lines_and_quoted_strings(&read(&path));
            (path, strings.iter().map(|s| normalise(s)).collect())
        })
        .collect();
    let dev = root.join("models/eval/extremism_suite/dev.jsonl");
    let dev_texts = jsonl_texts(&dev).iter().map(|t| normalise(t)).collect();
    material.push((dev, dev_texts));
    material
}

#[test]
fn no_evaluation_only_line_occurs_in_training_or_tuning_material() {
    let root = repo();
    let protected = evaluation_only_lines(&root);
    assert!(
        protected.len() >= 1000,
        "expected the suite's test, check and blind parts, the Dutch game-chat test set and the rough game-chat sets, found {} lines",
        protected.len()
    );
    let mut leaks = Vec::new();
    for (path, strings) in training_material(&root) {
        for (key, origin) in &protected {
            if strings.contains(key) {
                leaks.push(format!("{origin}  (found in {})", path.display()));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} evaluation-only line(s) occur in training or tuning material:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

/// The sorted, distinct character 4-grams of a normalised text.
fn four_grams(normalised: &str) -> Vec<[char; 4]> {
    let chars: Vec<char> = normalised.chars().collect();
    let mut grams: Vec<[char; 4]> = chars.windows(4).map(|w| [w[0], w[1], w[2], w[3]]).collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// Jaccard similarity of two sorted, distinct 4-gram lists (0 when both are empty).
fn jaccard(a: &[[char; 4]], b: &[[char; 4]]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0_usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// Above this 4-gram similarity a dev line counts as a near-duplicate of a test line. The two
/// parts were written apart: their closest pair is under 0.4.
const NEAR_DUPLICATE: f64 = 0.5;

#[test]
fn no_dev_line_is_a_near_duplicate_of_a_test_line() {
    let suite = repo().join("models/eval/extremism_suite");
    let grams_of = |file: &str| -> Vec<(String, Vec<[char; 4]>)> {
        jsonl_texts(&suite.join(file))
            .into_iter()
            .map(|text| {
                let grams = four_grams(&normalise(&text));
                (text, grams)
            })
            .collect()
    };
    let (test, dev) = (grams_of("test.jsonl"), grams_of("dev.jsonl"));
    assert!(test.len() >= 600 && dev.len() >= 300, "suite parts missing");
    let mut near = Vec::new();
    for (dev_text, dev_grams) in &dev {
        for (test_text, test_grams) in &test {
            let similarity = jaccard(dev_grams, test_grams);
            if similarity > NEAR_DUPLICATE {
                near.push(format!(
                    "{similarity:.2}: dev {dev_text:?} ~ test {test_text:?}"
                ));
            }
        }
    }
    assert!(
        near.is_empty(),
        "{} dev line(s) nearly duplicate a test line:\n{}",
        near.len(),
        near.join("\n")
    );
}

#[test]
fn near_duplicates_score_high_and_unrelated_lines_low() {
    let grams = |t: &str| four_grams(&normalise(t));
    let a = grams("see you at school tomorrow");
    assert!((jaccard(&a, &a) - 1.0).abs() < 1e-12);
    assert!(jaccard(&a, &grams("see u at school tomorrow!!")) > NEAR_DUPLICATE);
    assert!(jaccard(&a, &grams("wie wil er mee raiden")) < 0.1);
    assert_eq!(jaccard(&[], &[]), 0.0);
}

#[test]
fn normalisation_ignores_case_spacing_and_punctuation() {
    assert_eq!(normalise("  GG,  ez!! "), "gg ez");
    assert_eq!(
        normalise("ze komen van achteren!!"),
        "ze komen van achteren"
    );
    let strings = lines_and_quoted_strings("texts = [\"Die baas, slopen\", 'we gaan']");
    let keys: BTreeSet<String> = strings.iter().map(|s| normalise(s)).collect();
    assert!(
        keys.contains("die baas slopen") && keys.contains("we gaan"),
        "{keys:?}"
    );
}
