//! The fast tier evaluated natively from the ONNX file's initializers gives ONNX Runtime's
//! probabilities (within 1e-6) on every golden feature vector's text and on a corpus of real
//! chat and held-out evaluation lines, and no line changes side at any policy threshold.
#![expect(
    clippy::expect_used,
    reason = "test set-up fails loudly when the models or runtime cannot load"
)]

use std::path::{Path, PathBuf};

use serde::Deserialize;
use waypoint::internals::sha256_hex;
use waypoint::model::{Backend, FastModel, FastScratch, Runtime};
use waypoint::text::{NormalizeOptions, normalize};
use waypoint::{Category, Scores};

const TOLERANCE: f32 = 1e-6;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn models() -> PathBuf {
    root().join("models")
}

fn both_models() -> (FastModel, FastModel) {
    let runtime = Runtime::init(None).expect("ONNX Runtime loads (run `python3 models/fetch.py`)");
    let native = FastModel::load_native(&models()).expect("the shipped graph is linear");
    let onnx = FastModel::load_onnx_runtime(&runtime, &models()).expect("ONNX Runtime session");
    assert_eq!(native.backend(), Backend::Native);
    assert!(matches!(onnx.backend(), Backend::OnnxRuntime { .. }));
    (native, onnx)
}

#[derive(Deserialize)]
struct Golden {
    text: String,
}

fn golden_texts() -> Vec<String> {
    let path = models().join("fast/golden_features.jsonl");
    let text = std::fs::read_to_string(&path).expect("golden vectors are committed");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Golden>(l)
                .expect("golden line parses")
                .text
        })
        .collect()
}

/// Real chat and evaluation text: CONDA and GameTox (game chat), the English HateCheck
/// functional tests and the example chat, normalised as the scorer does (whole CSV rows are
/// used where a column split would be unreliable; extra text only widens the test). A missing
/// dataset file is an error naming its path: the datasets live in `shared/data` next to the
/// checkout.
fn corpus() -> Result<Vec<String>, String> {
    let data = root().join("../shared/data");
    let mut raw: Vec<String> = std::fs::read_to_string(root().join("examples/chat.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    for (file, column, limit) in [
        ("conda_dota2/CONDA_valid.csv", 3, 4000),
        ("gametox/gametox.csv", usize::MAX, 4000),
        ("hatecheck_en/test_suite_cases.csv", 3, 4000),
    ] {
        let path = data.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: {e} (datasets in shared/data)", path.display()))?;
        raw.extend(
            text.lines()
                .skip(1)
                .filter_map(|row| {
                    if column == usize::MAX {
                        Some(row.to_owned())
                    } else {
                        row.split(',').nth(column).map(str::to_owned)
                    }
                })
                .take(limit),
        );
    }
    let options = NormalizeOptions::default();
    Ok(raw.iter().map(|l| normalize(l, &options).text).collect())
}

fn max_difference(a: &Scores, b: &Scores) -> f32 {
    Category::ALL
        .into_iter()
        .map(|c| (a.get(c) - b.get(c)).abs())
        .fold(0.0, f32::max)
}

/// Scores every text both ways (native one at a time with reused buffers, and batched; ONNX
/// Runtime in batches of 64 as the worker runs it) and checks they agree.
fn assert_agree(texts: &[String], what: &str) -> (f32, usize) {
    let (native, onnx) = both_models();
    let mut scratch = FastScratch::default();
    let mut worst = 0.0_f32;
    for chunk in texts.chunks(64) {
        let expected = onnx.score_batch(chunk).expect("ONNX Runtime scores");
        let batched = native.score_batch(chunk).expect("native batch scores");
        for ((text, e), b) in chunk.iter().zip(&expected).zip(&batched) {
            let one = native.score_one(text, &mut scratch).expect("native scores");
            let d = max_difference(&one, e);
            assert!(
                d <= TOLERANCE,
                "{what}: {text:?} differs by {d}: native {one:?}, ONNX Runtime {e:?}"
            );
            assert_eq!(
                &one, b,
                "{what}: one-at-a-time and batched differ for {text:?}"
            );
            worst = worst.max(d);
        }
    }
    (worst, texts.len())
}

#[test]
fn native_equals_onnx_runtime_on_every_golden_vector() {
    let texts = golden_texts();
    assert!(texts.len() >= 150, "found {} golden texts", texts.len());
    let (worst, n) = assert_agree(&texts, "golden");
    eprintln!("golden: {n} texts, largest difference {worst:e}");
}

#[test]
fn native_equals_onnx_runtime_on_a_corpus() {
    let texts = corpus().unwrap_or_else(|e| panic!("{e}"));
    assert!(texts.len() >= 1000, "corpus has only {} lines", texts.len());
    let (worst, n) = assert_agree(&texts, "corpus");
    eprintln!("corpus: {n} lines, largest difference {worst:e}");
}

/// Evaluation figures count lines on either side of thresholds (the policy's and the sweep's
/// 0.05 steps): none may move.
#[test]
fn no_corpus_line_changes_side_of_any_threshold() {
    let texts = corpus().unwrap_or_else(|e| panic!("{e}"));
    let (native, onnx) = both_models();
    let mut thresholds: Vec<f32> = (1..20).map(|i| i as f32 * 0.05).collect();
    thresholds.extend([0.1, 0.15, 0.3, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]);
    let mut moved = Vec::new();
    for chunk in texts.chunks(64) {
        let a = native.score_batch(chunk).expect("native");
        let b = onnx.score_batch(chunk).expect("ONNX Runtime");
        for ((text, a), b) in chunk.iter().zip(&a).zip(&b) {
            for c in Category::ALL {
                if thresholds
                    .iter()
                    .any(|&t| (a.get(c) >= t) != (b.get(c) >= t))
                {
                    moved.push((text.clone(), c, a.get(c), b.get(c)));
                }
            }
        }
    }
    assert!(moved.is_empty(), "lines changed side: {moved:?}");
}

#[test]
fn a_graph_of_another_shape_falls_back_to_onnx_runtime_with_the_reason() {
    // The deep tier's head is a real ONNX model that is not the fast tier's linear graph: placed
    // as the fast model (with a matching manifest), it must be refused natively and run by ONNX
    // Runtime only when one is offered.
    let dir = tempfile::tempdir().expect("temp dir");
    let fast_dir = dir.path().join("fast");
    std::fs::create_dir_all(&fast_dir).expect("fast dir");
    let head = std::fs::read(models().join("deep/head.onnx")).expect("deep head is committed");
    std::fs::write(fast_dir.join("fast.onnx"), &head).expect("write model");
    let manifest = serde_json::json!({
        "version": "other-shape",
        "sha256": sha256_hex(&head),
    });
    std::fs::write(fast_dir.join("manifest.json"), manifest.to_string()).expect("manifest");

    let refused = FastModel::load_native(dir.path()).expect_err("not the linear shape");
    let message = refused.to_string();
    assert!(
        message.contains("cannot be evaluated natively"),
        "unclear error: {message}"
    );
    let no_runtime = FastModel::load_with(dir.path(), || Err("no runtime here".to_owned()))
        .expect_err("needs a runtime");
    assert!(
        no_runtime.to_string().contains("no runtime here"),
        "{no_runtime}"
    );

    // With a runtime the loader falls back: the head's interface is not the fast tier's, so
    // the contract check refuses it there, naming the file.
    let runtime = Runtime::init(None).expect("ONNX Runtime loads");
    let fallback = FastModel::load(&runtime, dir.path()).expect_err("contract differs");
    assert!(
        fallback.to_string().contains("fast-tier contract"),
        "{fallback}"
    );
}
