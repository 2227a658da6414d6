//! The stance model against the Python training pipeline, its part in the scorer, and the
//! declared degraded mode without it.
//!
//! Golden cases: `models/stance/golden.jsonl`, written by `models/train/train_stance.py` (a
//! normalised text and the probability the exported ONNX graph gives it in ONNX Runtime).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use waypoint::internals::{STANCE_MANIFEST_FILE, STANCE_MODEL_FILE};
use waypoint::model::{FastScratch, StanceModel};
use waypoint::policy::{CascadeMode, CascadePolicy};
use waypoint::{Category, ChatMessage, Engine, Health, Policy, Scorer, Signal};

#[derive(Deserialize)]
struct Golden {
    text: String,
    endorsement: f32,
}

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

#[test]
fn probabilities_match_onnx_runtime_in_python() {
    let model = StanceModel::load(&models_dir()).expect("stance model loads");
    let golden =
        std::fs::read_to_string(models_dir().join("stance/golden.jsonl")).expect("golden file");
    let mut scratch = FastScratch::default();
    let mut cases = 0;
    for line in golden.lines() {
        let case: Golden = serde_json::from_str(line).expect("golden line");
        let got = model.endorsement(&case.text, &mut scratch);
        assert!(
            (got - case.endorsement).abs() < 1e-5,
            "{:?}: {got} vs {}",
            case.text,
            case.endorsement
        );
        cases += 1;
    }
    assert!(cases >= 50, "only {cases} golden cases");
}

/// The default policy with the cascade off, so the inline and batch paths read the same
/// evidence, and the given stance threshold.
fn policy(stance_threshold: f32) -> Policy {
    Policy {
        cascade: CascadePolicy {
            mode: CascadeMode::Off,
            stance_threshold,
            ..CascadePolicy::default()
        },
        ..Policy::default()
    }
}

#[test]
fn a_line_that_rejects_a_code_has_its_extremism_scaled_and_an_endorsing_line_keeps_it() {
    let scorer = Scorer::builder()
        .models_dir(models_dir())
        .deep_tier(false)
        .build()
        .expect("scorer builds");
    assert_eq!(scorer.health(), &Health::Ready);
    let (on, off) = (policy(0.15), policy(0.0));
    let factor = on.cascade.stance_factor;

    let rejecting = "1488 in a profile pic basically means nazi, pls report that account";
    let scored = scorer.score_batch_with(&on, &[rejecting]).remove(0);
    let unscaled = scorer.score_batch_with(&off, &[rejecting]).remove(0);
    let endorsement = scored
        .endorsement
        .expect("stance read for an extremism score");
    assert!(endorsement < 0.15, "{endorsement}");
    let (with, without) = (
        scored.scores.get(Category::Extremism),
        unscaled.scores.get(Category::Extremism),
    );
    assert!(without >= 0.1, "{without}");
    assert!(
        (with - without * factor).abs() < 1e-6,
        "{with} vs {without}"
    );
    // Hate is scaled the same way once the model is read; threat and insult never are.
    let hate = unscaled.scores.get(Category::Hate);
    let expected_hate = if hate >= 0.1 { hate * factor } else { hate };
    assert!((scored.scores.get(Category::Hate) - expected_hate).abs() < 1e-6);
    for category in [Category::Threat, Category::Insult] {
        assert_eq!(scored.scores.get(category), unscaled.scores.get(category));
    }
    // The inline path scales the same way.
    let inline = scorer.score_inline(&on, rejecting);
    assert!((inline.scores.get(Category::Extremism) - with).abs() < 1e-6);

    let endorsing = "1488 brothers, the day of the rope is coming";
    let scored = scorer.score_batch_with(&on, &[endorsing]).remove(0);
    let unscaled = scorer.score_batch_with(&off, &[endorsing]).remove(0);
    assert!(scored.endorsement.expect("read") >= 0.15);
    assert_eq!(
        scored.scores.get(Category::Extremism),
        unscaled.scores.get(Category::Extremism)
    );

    // Ordinary chat scores too low for the model to be read at all.
    let chat = scorer
        .score_batch_with(&on, &["gg wp, next round?"])
        .remove(0);
    assert_eq!(chat.endorsement, None);
}

#[test]
fn without_the_stance_model_the_scorer_is_declared_degraded_and_still_scores() {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["fast", "lexicon", "stance"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    for file in ["fast/fast.onnx", "fast/manifest.json"] {
        std::fs::copy(models_dir().join(file), dir.path().join(file)).expect("copy");
    }
    for entry in std::fs::read_dir(models_dir().join("lexicon")).expect("lexicon dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path.file_name().expect("file name");
            std::fs::copy(&path, dir.path().join("lexicon").join(name)).expect("copy");
        }
    }
    let build = || {
        Scorer::builder()
            .models_dir(dir.path())
            .deep_tier(false)
            .build()
            .expect("degraded, not an error")
    };
    let reasons = |scorer: &Scorer| match scorer.health() {
        Health::Degraded { reasons } => reasons.join("; "),
        Health::Ready => String::from("ready"),
    };

    let scorer = build();
    assert!(
        reasons(&scorer).contains("stance model unavailable"),
        "{}",
        reasons(&scorer)
    );
    assert!(scorer.stance_version().is_none());
    let scored =
        scorer.score("1488 in a profile pic basically means nazi, pls report that account");
    assert!(scored.model.is_some() && scored.endorsement.is_none());

    // A model that does not match its manifest is refused the same way.
    let real = std::fs::read(models_dir().join(STANCE_MODEL_FILE)).expect("real model");
    std::fs::write(dir.path().join(STANCE_MODEL_FILE), &real).expect("write");
    std::fs::write(
        dir.path().join(STANCE_MANIFEST_FILE),
        format!("{{\"version\":\"t\",\"sha256\":\"{}\"}}", "0".repeat(64)),
    )
    .expect("write manifest");
    let scorer = build();
    assert!(reasons(&scorer).contains("sha256"), "{}", reasons(&scorer));

    // With a manifest that matches, the copy loads and the scorer is ready.
    std::fs::copy(
        models_dir().join(STANCE_MANIFEST_FILE),
        dir.path().join(STANCE_MANIFEST_FILE),
    )
    .expect("copy manifest");
    let scorer = build();
    assert_eq!(scorer.health(), &Health::Ready, "{}", reasons(&scorer));
    assert!(
        scorer
            .stance_version()
            .is_some_and(|v| v.starts_with("stance-"))
    );
}

#[test]
fn a_response_names_the_stance_models_reading_and_version_when_it_was_read() {
    let scorer = Scorer::builder()
        .models_dir(models_dir())
        .deep_tier(false)
        .build()
        .expect("scorer builds");
    let engine = Engine::builder()
        .scorer(Arc::new(scorer))
        .pseudonym_key(b"stance test".to_vec())
        .build()
        .expect("engine builds");
    let endorsing = "1488 brothers, the day of the rope is coming";
    engine
        .submit(Signal::Chat(ChatMessage::new("p1", endorsing)))
        .expect("queued");
    assert!(engine.flush(Duration::from_secs(30)), "flushed");
    let responses = engine.drain_responses();
    let reasons = responses.first().expect("a response").reasons();
    let endorsement = reasons.endorsement.expect("the stance model was read");
    assert!(endorsement >= 0.15, "{endorsement}");
    assert!(
        reasons
            .stance_model_version
            .as_deref()
            .is_some_and(|v| v.starts_with("stance-")),
        "{reasons:?}"
    );
}
