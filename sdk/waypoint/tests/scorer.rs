//! The scorer with the real fast-tier model and ONNX Runtime, and its degraded mode.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test set-up fails loudly"
)]

use std::path::{Path, PathBuf};

use waypoint::internals::{FAST_MANIFEST_FILE, FAST_MODEL_FILE};
use waypoint::{Category, Health, ResponseLevel, Scorer};

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn ready_scorer() -> Scorer {
    let scorer = Scorer::builder()
        .models_dir(models_dir())
        .build()
        .expect("scorer builds");
    assert_eq!(
        scorer.health(),
        &Health::Ready,
        "the real model and runtime must load (run `python3 models/fetch.py` first)"
    );
    scorer
}

#[test]
fn batch_and_single_scoring_agree() {
    let scorer = ready_scorer();
    let lines = [
        "gg wp",
        "y0u r a w0rthl3ss 1d10t",
        "",
        "kill the healer first",
        "omvolking 1488",
    ];
    // The batch path runs the cascade; with it off, batch and inline scoring must agree.
    let policy = waypoint::Policy {
        cascade: waypoint::policy::CascadePolicy {
            mode: waypoint::policy::CascadeMode::Off,
            ..waypoint::policy::CascadePolicy::default()
        },
        ..waypoint::Policy::default()
    };
    let batch = scorer.score_batch_with(&policy, &lines);
    assert_eq!(batch.len(), lines.len());
    for (line, scored) in lines.iter().zip(&batch) {
        let single = scorer.score(line);
        assert_eq!(single.normalized, scored.normalized);
        for category in Category::ALL {
            let (a, b) = (single.scores.get(category), scored.scores.get(category));
            assert!((a - b).abs() < 1e-5, "{line}: {category} {a} vs {b}");
        }
    }
}

#[test]
fn model_scores_are_probabilities_and_insults_score_higher_than_greetings() {
    let scorer = ready_scorer();
    let insult = scorer.score("you are a worthless idiot");
    let greeting = scorer.score("good game everyone, well played");
    let model = |s: &waypoint::MessageScore| s.model.expect("model ran");
    assert!(model(&insult).get(Category::Insult) > model(&greeting).get(Category::Insult) + 0.3);
    assert!(model(&insult).iter().all(|(_, p)| (0.0..=1.0).contains(&p)));
}

#[test]
fn huge_and_odd_inputs_are_scored_not_rejected() {
    let scorer = ready_scorer();
    let huge = "spam ".repeat(100_000);
    let scored = scorer.score(&huge);
    assert!(scored.normalized.truncated());
    assert!(scorer.score("\u{202e}\u{200b}\u{0}").model.is_some());
}

fn copy_models_with(fast_onnx: &[u8], manifest_sha: Option<String>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("fast")).expect("mkdir");
    std::fs::write(dir.path().join(FAST_MODEL_FILE), fast_onnx).expect("write model");
    let sha = manifest_sha.unwrap_or_else(|| waypoint::internals::sha256_hex(fast_onnx));
    std::fs::write(
        dir.path().join(FAST_MANIFEST_FILE),
        format!("{{\"version\":\"t\",\"sha256\":\"{sha}\"}}"),
    )
    .expect("write manifest");
    dir
}

fn degraded_reasons(scorer: &Scorer) -> String {
    match scorer.health() {
        Health::Degraded { reasons } => reasons.join("; "),
        Health::Ready => panic!("expected a degraded scorer"),
    }
}

#[test]
fn corrupt_model_gives_a_degraded_scorer_that_still_scores_with_the_lexicon() {
    let dir = copy_models_with(b"this is not an onnx file", None);
    let scorer = Scorer::builder()
        .models_dir(dir.path())
        .build()
        .expect("degraded, not an error");
    let reasons = degraded_reasons(&scorer);
    assert!(reasons.contains("fast-tier model unavailable"), "{reasons}");
    assert!(reasons.contains("fast.onnx"), "{reasons}");
    let scored = scorer.score("hello there");
    assert!(scored.model.is_none());
    assert_eq!(scored.decision.level, ResponseLevel::None);
}

#[test]
fn model_not_matching_its_manifest_is_refused() {
    let real = std::fs::read(models_dir().join(FAST_MODEL_FILE)).expect("real model");
    let dir = copy_models_with(&real, Some("0".repeat(64)));
    let scorer = Scorer::builder()
        .models_dir(dir.path())
        .build()
        .expect("degraded, not an error");
    assert!(degraded_reasons(&scorer).contains("sha256"));
}

#[test]
fn missing_model_gives_a_degraded_scorer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scorer = Scorer::builder()
        .models_dir(dir.path())
        .build()
        .expect("degraded, not an error");
    let reasons = degraded_reasons(&scorer);
    assert!(reasons.contains("missing"), "{reasons}");
}
