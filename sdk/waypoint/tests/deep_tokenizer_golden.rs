//! The Rust SentencePiece tokenizer must give exactly the ids the encoder's original tokenizer op
//! gave, and the Rust deep-tier pipeline must give the original model's embeddings.
//!
//! Golden cases: `models/deep/golden_tokens.jsonl`, written by `models/deep/make_golden.py`
//! from the unmodified op (run under ONNX Runtime with onnxruntime-extensions) and cross-checked
//! against the `sentencepiece` package. `WAYPOINT_TOKENIZER_GOLDEN=FILE` adds the cases of
//! another file written by `make_golden.py --extra` (for large differential checks).
//!
//! These tests need the set-up cache (`python3 models/fetch.py`); they fail, naming that
//! command, when it is missing.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use waypoint::internals::SETUP_COMMAND;
use waypoint::model::{DeepEncoder, Runtime, SentencePiece, cosine};

#[derive(Deserialize)]
struct Golden {
    text: String,
    ids: Vec<u32>,
    embedding_head: Option<Vec<f32>>,
    norm: Option<f32>,
    batch_embedding_head: Option<Vec<f32>>,
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_golden(path: &Path) -> Result<Vec<Golden>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut cases = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        cases.push(
            serde_json::from_str(line)
                .map_err(|e| format!("{} line {}: {e}", path.display(), n + 1))?,
        );
    }
    Ok(cases)
}

fn encoder_dir() -> Result<PathBuf, Box<dyn std::error::Error>> {
    // Tests run in the crate directory; the cache lives at the workspace root.
    let root_cache = workspace_root().join(".cache/waypoint/encoder");
    if root_cache.join("sentencepiece.model").is_file() {
        return Ok(root_cache);
    }
    DeepEncoder::locate().map_err(|e| {
        format!("the deep-tier encoder is not set up ({e}); run `{SETUP_COMMAND}` from the repository root").into()
    })
}

fn tokenizer() -> Result<SentencePiece, Box<dyn std::error::Error>> {
    Ok(SentencePiece::from_file(
        &encoder_dir()?.join("sentencepiece.model"),
    )?)
}

fn check_ids(tokenizer: &SentencePiece, cases: &[Golden]) -> usize {
    let mut failures = 0;
    let mut scratch = Default::default();
    for case in cases {
        let mut got = Vec::new();
        tokenizer.encode_for_encoder(&case.text, &mut scratch, &mut got);
        if got != case.ids {
            failures += 1;
            if failures <= 20 {
                eprintln!(
                    "ids differ for {:?} (normalised {:?}):\n  rust {:?}\n  op   {:?}",
                    case.text,
                    tokenizer.normalize(&case.text),
                    got,
                    case.ids
                );
            }
        }
    }
    failures
}

#[test]
fn model_is_the_expected_unigram_model() -> TestResult {
    let tokenizer = tokenizer()?;
    assert_eq!(tokenizer.vocab_size(), 128_000);
    assert_eq!(tokenizer.normalizer_name(), "nmt_nfkc");
    assert_eq!(
        (tokenizer.unk_id(), tokenizer.bos_id(), tokenizer.eos_id()),
        (0, 1, 2)
    );
    // The user-defined symbols are left alone by the normaliser, so the normaliser needs no
    // special prefix matcher for them.
    for symbol in ["extra_token_id_1", "extra_token_id_2", "extra_token_id_3"] {
        assert_eq!(tokenizer.normalize(symbol), format!("▁{symbol}"));
    }
    Ok(())
}

#[test]
fn token_ids_match_the_original_op_on_every_golden_case() -> TestResult {
    let tokenizer = tokenizer()?;
    let cases = read_golden(&workspace_root().join("models/deep/golden_tokens.jsonl"))?;
    assert!(
        cases.len() >= 300,
        "expected about 350 golden cases, found {}",
        cases.len()
    );
    let failures = check_ids(&tokenizer, &cases);
    assert_eq!(
        failures,
        0,
        "{failures} of {} golden cases differ",
        cases.len()
    );
    Ok(())
}

#[test]
fn token_ids_match_on_extra_cases_when_given() -> TestResult {
    let Some(path) = std::env::var_os("WAYPOINT_TOKENIZER_GOLDEN") else {
        return Ok(());
    };
    let tokenizer = tokenizer()?;
    let cases = read_golden(Path::new(&path))?;
    let failures = check_ids(&tokenizer, &cases);
    eprintln!(
        "extra golden cases: {} checked, {failures} differ",
        cases.len()
    );
    assert_eq!(
        failures,
        0,
        "{failures} of {} extra cases differ",
        cases.len()
    );
    Ok(())
}

#[test]
fn embeddings_match_python_and_paraphrases_align_across_languages() -> TestResult {
    let dir = encoder_dir()?;
    let runtime = Runtime::init(None).map_err(|e| format!("{e}"))?;
    let encoder = DeepEncoder::load(&runtime, &dir)?;
    let cases: Vec<Golden> =
        read_golden(&workspace_root().join("models/deep/golden_tokens.jsonl"))?
            .into_iter()
            .filter(|c| c.embedding_head.is_some())
            .collect();
    assert!(
        cases.len() >= 6,
        "expected golden embeddings, found {}",
        cases.len()
    );
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();

    // The int8 model quantises activations per batch, so a text's embedding depends slightly on
    // its batch: compare alone (batch of 1) and within the batch of all embedding cases.
    let batch = encoder.embed_batch(&texts)?;
    let mut max_diff = 0.0_f32;
    for (case, in_batch) in cases.iter().zip(&batch) {
        let alone = encoder.embed_batch(&[case.text.as_str()])?;
        let checks = [
            (&alone[0], &case.embedding_head, "alone"),
            (in_batch, &case.batch_embedding_head, "in batch"),
        ];
        for (embedding, expected, how) in checks {
            let expected = expected.as_deref().ok_or("golden case without embedding")?;
            for (i, want) in expected.iter().enumerate() {
                let got = embedding[i];
                max_diff = max_diff.max((got - want).abs());
                assert!(
                    (got - want).abs() <= 1e-4,
                    "dim {i} of {:?} {how}: rust {got} python {want}",
                    case.text
                );
            }
        }
        let norm = alone[0]
            .iter()
            .map(|x| f64::from(*x).powi(2))
            .sum::<f64>()
            .sqrt() as f32;
        let expected_norm = case.norm.unwrap_or_default();
        assert!(
            (norm - expected_norm).abs() <= 1e-4,
            "norm of {:?}: rust {norm} python {expected_norm}",
            case.text
        );
        assert!(
            cosine(&alone[0], in_batch) > 0.99,
            "batching moved {:?} too far",
            case.text
        );
    }

    eprintln!(
        "embeddings: largest difference from Python over {} cases: {max_diff:e}",
        cases.len()
    );
    let by_text = |t: &str| texts.iter().position(|x| *x == t).map(|i| &batch[i]);
    let pairs = [
        (
            "You played really well today, thanks for the carry!",
            "Je hebt vandaag echt goed gespeeld, bedankt voor het dragen!",
        ),
        (
            "I will find where you live and hurt you.",
            "Ik ga uitzoeken waar je woont en je pijn doen.",
        ),
    ];
    let unrelated =
        by_text("The weather is sunny and the market sells fresh bread.").ok_or("missing case")?;
    for (en, nl) in pairs {
        let (en, nl) = (
            by_text(en).ok_or("missing case")?,
            by_text(nl).ok_or("missing case")?,
        );
        let paraphrase = cosine(en, nl);
        let (other_en, other_nl) = (cosine(en, unrelated), cosine(nl, unrelated));
        eprintln!("paraphrase cosine {paraphrase:.3}, unrelated {other_en:.3} / {other_nl:.3}");
        assert!(paraphrase > 0.5, "EN/NL paraphrase cosine {paraphrase}");
        assert!(paraphrase > other_en + 0.2 && paraphrase > other_nl + 0.2);
    }
    assert!(encoder.embed_batch(&[])?.is_empty());
    Ok(())
}
