//! The Rust featuriser must reproduce the Python training featuriser exactly: same bucket
//! indices, values within 1e-6, on the shared golden vectors in `models/fast/`.

use std::path::PathBuf;

use serde::Deserialize;
use waypoint::internals::{FEATURE_DIM, SparseFeatures, featurize, featurize_into};

#[derive(Deserialize)]
struct Golden {
    text: String,
    indices: Vec<i64>,
    values: Vec<f32>,
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/fast/golden_features.jsonl")
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn load() -> Result<Vec<Golden>, Box<dyn std::error::Error>> {
    let path = golden_path();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut cases = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        cases.push(serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?);
    }
    Ok(cases)
}

fn assert_matches(case: &Golden, got: &SparseFeatures) {
    assert_eq!(
        got.indices, case.indices,
        "indices differ for {:?}",
        case.text
    );
    assert_eq!(
        got.values.len(),
        case.values.len(),
        "value count differs for {:?}",
        case.text
    );
    for (i, (g, e)) in got.values.iter().zip(&case.values).enumerate() {
        assert!(
            (g - e).abs() <= 1e-6,
            "value {i} differs for {:?}: rust {g} python {e}",
            case.text
        );
    }
}

#[test]
fn golden_vectors_match_python() -> TestResult {
    let cases = load()?;
    assert!(
        cases.len() >= 150,
        "expected about 200 golden vectors, found {}",
        cases.len()
    );
    for case in &cases {
        assert_matches(case, &featurize(&case.text));
    }
    Ok(())
}

#[test]
fn golden_vectors_match_with_reused_buffers() -> TestResult {
    let cases = load()?;
    let mut buffer = SparseFeatures::default();
    // Reverse order so each call starts from a buffer holding a different, often longer, vector.
    for case in cases.iter().rev() {
        featurize_into(&case.text, &mut buffer);
        assert_matches(case, &buffer);
    }
    Ok(())
}

#[test]
fn golden_vectors_cover_the_edge_cases() -> TestResult {
    let cases = load()?;
    assert!(
        cases
            .iter()
            .any(|c| c.text.is_empty() && c.indices.is_empty())
    );
    assert!(
        cases
            .iter()
            .any(|c| !c.text.is_empty() && c.indices.is_empty()),
        "punctuation-only"
    );
    assert!(
        cases.iter().any(|c| c.text.chars().count() >= 1000),
        "long text"
    );
    assert!(cases.iter().any(|c| !c.text.is_ascii()), "non-ASCII text");
    assert!(cases.iter().all(|c| {
        c.indices
            .iter()
            .all(|&i| (0..FEATURE_DIM as i64).contains(&i))
    }));
    Ok(())
}
