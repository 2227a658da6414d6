//! The evaluation-only sets stay out of everything a model learns or is tuned from.
//!
//! Every line of the extremism suite's test part (`models/eval/extremism_suite/test.jsonl`) and
//! of the Dutch game-chat test set (`models/eval/nl_game_chat/test.txt`) is compared, after
//! lowercasing and collapsing whitespace and punctuation, with every line and every quoted
//! string of the deep head's training templates (`models/train/deep/templates/*.toml`), of the
//! exemplars (`models/exemplars/*`, when that folder exists), of the Dutch game-chat training
//! lines and of the suite's dev part. Any match fails the test and names the test line and the
//! file it was found in.

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
    let suite = root.join("models/eval/extremism_suite/test.jsonl");
    let chat = root.join("models/eval/nl_game_chat/test.txt");
    let sources = [
        (jsonl_texts(&suite), "extremism_suite/test.jsonl"),
        (plain_lines(&chat), "nl_game_chat/test.txt"),
    ];
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
        "expected the suite's test part and the Dutch game-chat test set, found {} lines",
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
