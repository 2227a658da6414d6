//! Shared by the benchmarks: the corpus they measure on and a best-of-N timer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Real in-game chat: up to `limit` CONDA validation utterances (held out from training), else
/// the example chat. Returns a description and the lines.
pub fn corpus(limit: usize) -> (String, Vec<String>) {
    let conda = workspace_root().join("../shared/data/conda_dota2/CONDA_valid.csv");
    if let Ok(text) = std::fs::read_to_string(&conda) {
        let lines: Vec<String> = text
            .lines()
            .skip(1)
            .filter_map(|row| csv_field(row, 3))
            .filter(|u| !u.trim().is_empty())
            .take(limit)
            .collect();
        if !lines.is_empty() {
            return (
                format!("{} CONDA validation utterances", lines.len()),
                lines,
            );
        }
    }
    let example =
        std::fs::read_to_string(workspace_root().join("examples/chat.txt")).unwrap_or_default();
    let lines: Vec<String> = example
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    (format!("{} example chat lines", lines.len()), lines)
}

/// Field `index` of a simple CSV row (quoted fields with doubled quotes supported).
fn csv_field(row: &str, index: usize) -> Option<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = row.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields.into_iter().nth(index)
}

/// Duration of one pass of `run`, best of five after a warm-up pass.
pub fn best_pass(mut run: impl FnMut()) -> Duration {
    run();
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        run();
        best = best.min(start.elapsed());
    }
    best
}

/// Runs `f` on every item, keeping each result opaque to the optimiser; returns the count.
pub fn each<T, R>(items: &[T], mut f: impl FnMut(&T) -> R) -> usize {
    for item in items {
        std::hint::black_box(f(item));
    }
    items.len()
}
