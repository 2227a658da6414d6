//! Example-based detection with the real deep tier: the SDK's pos/neg/evidence against the
//! Python reference (`models/deep/exemplar_golden.jsonl`, written by
//! `models/deep/make_exemplar_golden.py`), edits taking effect on reload, and bad files.
//! Needs the set-up cache (`python3 models/fetch.py`).
#![expect(clippy::expect_used, reason = "test set-up fails loudly")]

use std::path::{Path, PathBuf};

use serde_json::Value;
use waypoint::policy::{CascadeMode, CascadePolicy, EvidenceParams, ExemplarPolicy, ResponseLevel};
use waypoint::{Category, Health, Policy, Scorer};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scorer() -> Scorer {
    let scorer = Scorer::builder()
        .models_dir(root().join("models"))
        .encoder_dir(root().join(".cache/waypoint/encoder"))
        .build()
        .expect("scorer builds");
    assert!(
        scorer.has_deep_tier(),
        "run `python3 models/fetch.py` first"
    );
    scorer
}

fn policy(exemplars: ExemplarPolicy) -> Policy {
    Policy {
        cascade: CascadePolicy {
            mode: CascadeMode::All,
            // The exemplars' own evidence: the stance model, which scales hate and extremism
            // after it, is measured in tests/stance.rs.
            stance_threshold: 0.0,
            ..CascadePolicy::default()
        },
        exemplars,
        ..Policy::default()
    }
}

fn golden_policy(params: &Value) -> ExemplarPolicy {
    let mut p = ExemplarPolicy {
        file: root().join("models/deep/exemplar_golden.toml"),
        top_k: params["top_k"].as_u64().expect("top_k") as usize,
        ..ExemplarPolicy::default()
    };
    let t = &params["threat"];
    let f = |k: &str| t[k].as_f64().expect("threat override") as f32;
    p.categories[Category::Threat.index()] = EvidenceParams {
        min_similarity: f("min_similarity"),
        slope: f("slope"),
        offset: f("offset"),
        weight: f("weight"),
    };
    p
}

#[test]
fn evidence_matches_the_python_reference() {
    let text = std::fs::read_to_string(root().join("models/deep/exemplar_golden.jsonl"))
        .expect("golden file");
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"));
    let params = lines.next().expect("parameter line");
    let policy = policy(golden_policy(&params["params"]));
    let scorer = scorer();
    scorer
        .reload_exemplars(&policy.exemplars)
        .expect("fixture loads");
    let cases: Vec<Value> = lines.collect();
    assert!(cases.len() >= 5);
    let texts: Vec<&str> = cases
        .iter()
        .map(|c| c["text"].as_str().expect("text"))
        .collect();
    let scored = scorer.score_batch_with(&policy, &texts);
    let mut flagged = 0;
    for (case, s) in cases.iter().zip(&scored) {
        let m = s.exemplars.as_ref().expect("the deep tier ran");
        assert_eq!(m.version, "golden-1");
        let want = case["categories"].as_object().expect("categories");
        assert_eq!(m.categories.len(), want.len(), "{}", texts[0]);
        for (name, w) in want {
            let got = m
                .categories
                .iter()
                .find(|c| c.category.as_str() == name)
                .expect("same categories");
            for (what, value) in [
                ("pos", got.pos),
                ("neg", got.neg),
                ("evidence", got.evidence),
            ] {
                let w = w[what].as_f64().expect("number") as f32;
                assert!(
                    (value - w).abs() <= 1e-4,
                    "{}: {name}.{what} {value} vs {w}",
                    case["text"]
                );
            }
            assert_eq!(
                got.nearest.label,
                w["nearest"]["label"].as_str().expect("label")
            );
            assert_eq!(
                got.nearest.index as u64,
                w["nearest"]["index"].as_u64().expect("index")
            );
            if got.evidence > 0.5 {
                flagged += 1;
            }
        }
    }
    assert!(flagged >= 2, "the fixture's near-copies must gain evidence");
}

#[test]
fn an_edited_exemplar_file_flags_a_message_after_reload_and_a_bad_edit_keeps_the_old_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("exemplars.toml");
    let write = |examples: &str| {
        std::fs::write(
            &file,
            format!(
                "version = \"v\"\n[[set]]\ncategory = \"threat\"\nlang = \"en\"\nlabel = \"plan\"\n\
                 examples = [{examples}]\n[[set]]\ncategory = \"common\"\nlang = \"en\"\n\
                 label = \"chat\"\nexamples = [\"gg wp\", \"kill the healer first\"]\n"
            ),
        )
        .expect("write exemplars");
    };
    write("\"nice weather for a picnic today\"");
    let policy = policy(ExemplarPolicy {
        file: file.clone(),
        ..ExemplarPolicy::default()
    });
    let scorer = scorer();
    scorer
        .reload_exemplars(&policy.exemplars)
        .expect("first file loads");
    let message = "the orange kite is stored in the garden shed behind the red gate";
    let before = &scorer.score_batch_with(&policy, &[message])[0];
    assert_eq!(
        before.decision.level,
        ResponseLevel::None,
        "{:?}",
        before.scores
    );

    write("\"the orange kite is stored in the garden shed behind the red gate today\"");
    scorer
        .reload_exemplars(&policy.exemplars)
        .expect("edited file loads");
    let after = &scorer.score_batch_with(&policy, &[message])[0];
    let threat = after
        .exemplars
        .as_ref()
        .and_then(|m| m.get(Category::Threat))
        .expect("threat evidence");
    assert!(threat.evidence > 0.9, "{threat:?}");
    assert_eq!(threat.nearest.label, "plan");
    assert!(after.scores.get(Category::Threat) > before.scores.get(Category::Threat) + 0.5);
    assert_ne!(
        after.decision.level,
        ResponseLevel::None,
        "{:?}",
        after.scores
    );

    std::fs::write(
        &file,
        "version = \"v\"\n[[set]]\ncategory = \"spam\"\nlang = \"en\"\nlabel = \"x\"\nexamples = [\"a\"]\n",
    )
    .expect("write");
    let err = scorer
        .reload_exemplars(&policy.exemplars)
        .expect_err("malformed");
    assert!(err.to_string().contains(":3:12:"), "{err}");
    let kept = &scorer.score_batch_with(&policy, &[message])[0];
    assert_eq!(kept.scores, after.scores, "the old set stays in force");
}

#[test]
fn a_missing_exemplar_file_is_a_declared_degraded_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = policy(ExemplarPolicy {
        file: dir.path().join("none.toml"),
        ..ExemplarPolicy::default()
    });
    let scorer = Scorer::builder()
        .models_dir(root().join("models"))
        .encoder_dir(root().join(".cache/waypoint/encoder"))
        .policy(policy.clone())
        .build()
        .expect("a missing file is not an error");
    match scorer.health() {
        Health::Degraded { reasons } => {
            assert!(
                reasons.iter().any(|r| r.contains("none.toml")),
                "{reasons:?}"
            )
        }
        Health::Ready => panic!("must be declared degraded"),
    }
    let scored = &scorer.score_batch_with(&policy, &["gg"])[0];
    assert!(scored.deep.is_some() && scored.exemplars.is_none());
}

#[test]
fn a_condemned_mention_gains_no_exemplar_evidence_unless_the_policy_says_so() {
    let scorer = scorer();
    let score = |message: &str, condemned_factor: f32| {
        let policy = policy(ExemplarPolicy {
            condemned_factor,
            ..ExemplarPolicy::default()
        });
        scorer.score_batch_with(&policy, &[message])[0].clone()
    };
    let extremism = |s: &waypoint::MessageScore| {
        s.deep_scores
            .expect("the deep tier ran")
            .get(Category::Extremism)
    };
    let extremism_evidence = |s: &waypoint::MessageScore| {
        s.exemplars
            .as_ref()
            .and_then(|m| m.get(Category::Extremism))
            .cloned()
            .expect("extremism evidence")
    };
    let assert_discounted = |counted: &waypoint::MessageScore,
                             discounted: &waypoint::MessageScore| {
        assert!(
            extremism(counted) > extremism(discounted) + 0.05,
            "{} vs {}",
            extremism(counted),
            extremism(discounted)
        );
    };

    // The lexicon sees the slogan named to condemn and ban it; the exemplars see the topic.
    let condemned = "race war memes are sick, ban them";
    let counted = score(condemned, 1.0);
    assert!(
        counted.lexicon.iter().any(|h| h.condemned) && counted.lexicon.iter().all(|h| h.condemned),
        "{:?}",
        counted.lexicon
    );
    let evidence = extremism_evidence(&counted).evidence;
    assert!(
        evidence > 0.1,
        "the fixture must draw exemplar evidence: {evidence}"
    );
    assert_discounted(&counted, &score(condemned, 0.0));

    // A mention the lexicon counts in full keeps its exemplar evidence whatever the factor.
    let endorsed = "the race war is coming, get ready";
    assert!(score(endorsed, 0.0).lexicon.iter().any(|h| !h.condemned));
    assert_eq!(
        extremism(&score(endorsed, 0.0)),
        extremism(&score(endorsed, 1.0))
    );

    // An attacker's name is no lexicon evidence, only a mention: rejected, it keeps the
    // exemplar evidence out, and it is not reported as a hit.
    let rejected = "breivik was a pathetic loser";
    let counted = score(rejected, 1.0);
    let discounted = score(rejected, 0.0);
    assert!(counted.lexicon.is_empty() && discounted.lexicon.is_empty());
    assert!(
        extremism_evidence(&discounted).condemned,
        "the output says why the evidence was discounted"
    );
    assert_discounted(&counted, &discounted);
    // Named without rejection, the same name keeps its exemplar evidence.
    let named = "breivik was in the news";
    assert_eq!(extremism(&score(named, 0.0)), extremism(&score(named, 1.0)));
    assert!(!extremism_evidence(&score(named, 0.0)).condemned);
}
