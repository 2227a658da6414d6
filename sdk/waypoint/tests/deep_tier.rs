//! The deep tier (encoder + head) against the Python training pipeline, and the cascade in the
//! scorer: routing, combination, and degraded mode when the deep tier is missing.
//!
//! Golden cases: `models/deep/head_golden.jsonl`, written by `models/train/deep/train_head.py`
//! (the embedding Python computed for each normalised sentence, alone, and the probabilities
//! the exported head gives for it). Needs the set-up cache (`python3 models/fetch.py`).
#![expect(clippy::expect_used, reason = "test set-up fails loudly")]

use std::path::{Path, PathBuf};

use serde::Deserialize;
use waypoint::internals::{
    ENCODER_MANIFEST_FILE, ENCODER_MODEL_FILE, FAST_MANIFEST_FILE, FAST_MODEL_FILE,
    HEAD_MANIFEST_FILE, HEAD_MODEL_FILE, SENTENCEPIECE_FILE, sha256_hex,
};
use waypoint::model::{DeepHead, DeepTier, EMBEDDING_DIM, Runtime};
use waypoint::policy::{CascadeMode, CascadePolicy, CombineRule};
use waypoint::{Category, Health, Policy, Scorer};

#[derive(Deserialize)]
struct Golden {
    text: String,
    normalized: String,
    embedding: Vec<f32>,
    probabilities: Vec<f32>,
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn models_dir() -> PathBuf {
    root().join("models")
}

fn encoder_dir() -> PathBuf {
    root().join(".cache/waypoint/encoder")
}

fn golden() -> Result<Vec<Golden>, Box<dyn std::error::Error>> {
    let path = models_dir().join("deep/head_golden.jsonl");
    let text = std::fs::read_to_string(&path)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?)
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance,
            "{what}: value {i} is {g}, Python gave {w}"
        );
    }
}

#[test]
fn head_matches_python_on_the_same_embeddings() -> TestResult {
    let runtime = Runtime::init(None)?;
    let head = DeepHead::load(&runtime, &models_dir())?;
    let cases = golden()?;
    assert!(cases.len() >= 4);
    let embeddings: Vec<[f32; EMBEDDING_DIM]> = cases
        .iter()
        .map(|c| {
            let mut e = [0.0; EMBEDDING_DIM];
            e.copy_from_slice(&c.embedding);
            e
        })
        .collect();
    for (case, scores) in cases.iter().zip(head.score(&embeddings)?) {
        let got: Vec<f32> = Category::ALL.iter().map(|c| scores.get(*c)).collect();
        assert_close(&case.text, &got, &case.probabilities, 1e-4);
    }
    Ok(())
}

#[test]
fn deep_tier_matches_python_end_to_end() -> TestResult {
    let runtime = Runtime::init(None)?;
    let tier = DeepTier::load(&runtime, &encoder_dir(), &models_dir())?;
    let cases = golden()?;
    let texts: Vec<&str> = cases.iter().map(|c| c.normalized.as_str()).collect();
    // Scored together, but each message is embedded alone: same result as one at a time.
    let together = tier.score(&texts)?;
    for (case, scores) in cases.iter().zip(&together) {
        let got: Vec<f32> = Category::ALL.iter().map(|c| scores.get(*c)).collect();
        assert_close(&case.text, &got, &case.probabilities, 1e-4);
        let alone = tier.score(&[case.normalized.as_str()])?;
        assert_eq!(alone.first(), Some(scores), "{}", case.text);
    }
    // The normaliser gives what Python fed the encoder.
    let scorer = Scorer::builder().models_dir(models_dir()).build()?;
    for case in &cases {
        assert_eq!(scorer.score(&case.text).normalized.text, case.normalized);
    }
    Ok(())
}

fn scorer() -> Scorer {
    let scorer = Scorer::builder()
        .models_dir(models_dir())
        .encoder_dir(encoder_dir())
        .build()
        .expect("scorer builds");
    assert_eq!(
        scorer.health(),
        &Health::Ready,
        "run `python3 models/fetch.py` first"
    );
    assert!(scorer.has_deep_tier());
    scorer
}

/// The default policy with `cascade`, and without exemplar evidence: these tests check the tiers
/// and their combination (exemplars have their own tests in `tests/exemplars.rs`).
fn with_cascade(cascade: CascadePolicy) -> Policy {
    let mut policy = Policy {
        cascade,
        ..Policy::default()
    };
    policy.exemplars.enabled = false;
    policy
}

/// The default policy with every message sent to both tiers (exemplars off).
fn both_tiers_for_every_message() -> Policy {
    with_cascade(CascadePolicy {
        mode: CascadeMode::All,
        ..CascadePolicy::default()
    })
}

#[test]
fn inline_scoring_never_runs_the_deep_tier() {
    let scorer = scorer();
    for line in ["ik haat alle moslims", "you are a worthless idiot", "gg"] {
        assert!(scorer.score(line).deep.is_none(), "{line}");
    }
}

#[test]
fn selective_mode_routes_the_right_messages() {
    let scorer = scorer();
    let policy = with_cascade(CascadePolicy {
        mode: CascadeMode::Selective,
        fast_floor: 0.3,
        non_english: true,
        elevated_risk: Some(0.5),
        combine: CombineRule::Max,
        ..CascadePolicy::default()
    });
    let lines = [
        "gg wp everyone",            // English, low fast scores: fast tier only
        "ik haat alle moslims",      // Dutch: deep tier
        "you are a worthless idiot", // fast insult above the floor: deep tier
        "kill the healer first",     // English game talk: fast tier only
    ];
    let scored = scorer.score_batch_with(&policy, &lines);
    let ran: Vec<bool> = scored.iter().map(|s| s.deep.is_some()).collect();
    assert_eq!(ran, [false, true, true, false], "{scored:#?}");

    // A Dutch locale routes even English-looking text; elevated risk routes anything.
    let hints = [
        waypoint::RouteHints {
            locale: Some("nl"),
            elevated_risk: false,
            busy: false,
        },
        waypoint::RouteHints {
            locale: Some("en"),
            elevated_risk: true,
            busy: false,
        },
        waypoint::RouteHints {
            locale: Some("en"),
            elevated_risk: false,
            busy: false,
        },
    ];
    let lines = ["kill the healer first", "gg wp everyone", "gg wp everyone"];
    let scored = scorer.score_batch_routed(&policy, &lines, &hints);
    let ran: Vec<bool> = scored.iter().map(|s| s.deep.is_some()).collect();
    assert_eq!(ran, [true, true, false]);

    let off = with_cascade(CascadePolicy {
        mode: CascadeMode::Off,
        ..policy.cascade
    });
    assert!(
        scorer.score_batch_with(&off, &["ik haat alle moslims"])[0]
            .deep
            .is_none()
    );
    let all = with_cascade(CascadePolicy {
        mode: CascadeMode::All,
        ..policy.cascade
    });
    assert!(
        scorer.score_batch_with(&all, &["gg wp everyone"])[0]
            .deep
            .is_some()
    );

    // Auto: everything while the caller keeps up, the selective rules while it is behind.
    let auto = with_cascade(CascadePolicy {
        mode: CascadeMode::Auto,
        ..policy.cascade
    });
    let idle = waypoint::RouteHints::default();
    let busy = waypoint::RouteHints { busy: true, ..idle };
    let lines = ["gg wp everyone", "gg wp everyone", "ik haat alle moslims"];
    let scored = scorer.score_batch_routed(&auto, &lines, &[idle, busy, busy]);
    let ran: Vec<bool> = scored.iter().map(|s| s.deep.is_some()).collect();
    assert_eq!(ran, [true, false, true]);
}

#[test]
fn combination_rule_is_applied_before_the_lexicon() {
    let scorer = scorer();
    let line = ["you are all rats and should die"];
    // The line names no group: keep the deep head's hate reading as it is.
    let max = with_cascade(CascadePolicy {
        untargeted_deep_hate_factor: 1.0,
        ..both_tiers_for_every_message().cascade
    });
    let scored = &scorer.score_batch_with(&max, &line)[0];
    let (fast, deep) = (
        scored.model.expect("fast ran"),
        scored.deep.expect("deep ran"),
    );
    assert!(scored.lexicon.is_empty(), "{:?}", scored.lexicon);
    for c in Category::ALL {
        assert!(
            (scored.scores.get(c) - fast.get(c).max(deep.get(c))).abs() < 1e-6,
            "{c}"
        );
    }
    let blend = with_cascade(CascadePolicy {
        combine: CombineRule::Blend,
        deep_weight: 0.25,
        ..max.cascade
    });
    let scored = &scorer.score_batch_with(&blend, &line)[0];
    for c in Category::ALL {
        let want = 0.25 * deep.get(c) + 0.75 * fast.get(c);
        assert!((scored.scores.get(c) - want).abs() < 1e-5, "{c}");
    }
    // A message that does not look English is judged by the deep tier alone (the fast tier is
    // English-only), unless the policy keeps the fast tier for every language.
    let dutch = ["ik vind dat jullie gewoon slecht spelen"];
    let scored = &scorer.score_batch_with(&max, &dutch)[0];
    let deep = scored.deep.expect("deep ran");
    assert!(scored.lexicon.is_empty(), "{:?}", scored.lexicon);
    for c in Category::ALL {
        assert!((scored.scores.get(c) - deep.get(c)).abs() < 1e-6, "{c}");
    }
    let fast = scored
        .model
        .expect("the fast tier's scores are still reported");
    assert!(fast.get(Category::Insult) > deep.get(Category::Insult) + 0.1);
    let keep = with_cascade(CascadePolicy {
        fast_tier_english_only: false,
        ..max.cascade
    });
    let kept = &scorer.score_batch_with(&keep, &dutch)[0];
    let (fast, deep) = (kept.model.expect("fast"), kept.deep.expect("deep"));
    for c in Category::ALL {
        assert!(
            (kept.scores.get(c) - fast.get(c).max(deep.get(c))).abs() < 1e-6,
            "{c}"
        );
    }
    // With the cascade off, batch scores are the inline scores.
    let off = with_cascade(CascadePolicy {
        mode: CascadeMode::Off,
        ..max.cascade
    });
    let batch = &scorer.score_batch_with(&off, &line)[0];
    let inline = scorer.score_with(&off, line[0]);
    assert_eq!(batch.scores, inline.scores);
}

#[test]
fn a_message_that_condemns_what_it_names_is_judged_by_the_deep_tier() {
    let scorer = scorer();
    let max = both_tiers_for_every_message();
    // The lexicon reads the stance (a mention near a rejection word); the fast tier reads the
    // names, and alone would give the counter-speech a hate response.
    let counter_speech = ["islam forbids killing innocents, isis are criminals"];
    let scored = &scorer.score_batch_with(&max, &counter_speech)[0];
    let (fast, deep) = (
        scored
            .model
            .expect("the fast tier's scores are still reported"),
        scored.deep.expect("deep ran"),
    );
    assert!(
        fast.get(Category::Hate) > deep.get(Category::Hate) + 0.3,
        "the fixture must split the tiers: fast {fast:?}, deep {deep:?}"
    );
    assert!(scored.lexicon.is_empty(), "a mention is not reported");
    assert!(
        scored.scores.get(Category::Hate) < fast.get(Category::Hate) - 0.3,
        "{:?}",
        scored.scores
    );
    let keep = with_cascade(CascadePolicy {
        fast_tier_skips_condemnation: false,
        ..max.cascade
    });
    let kept = &scorer.score_batch_with(&keep, &counter_speech)[0];
    assert!((kept.scores.get(Category::Hate) - fast.get(Category::Hate)).abs() < 1e-6);

    // A hateful line next to the same condemnation keeps the deep tier's verdict, and a name
    // without a rejection word keeps both tiers.
    let hateful = &scorer.score_batch_with(&max, &["isis are criminals, like all muslims"])[0];
    assert!(hateful.decision.level > waypoint::policy::ResponseLevel::None);
    let named = &scorer.score_batch_with(&max, &["isis is in the news again, islam is peace"])[0];
    let (fast, deep) = (named.model.expect("fast"), named.deep.expect("deep"));
    assert!(
        (named.scores.get(Category::Hate) - fast.get(Category::Hate).max(deep.get(Category::Hate)))
            .abs()
            < 0.05,
        "{:?}",
        named.scores
    );
}

#[test]
fn condemning_a_violent_group_without_naming_a_protected_group_is_not_hate() {
    let scorer = scorer();
    let all = both_tiers_for_every_message();
    // The deep head reads the group's name as hate against the faith it claims.
    let counter_speech = ["isis zijn gewoon criminelen"];
    let scored = &scorer.score_batch_with(&all, &counter_speech)[0];
    let deep = scored.deep.expect("deep ran");
    assert!(
        deep.get(Category::Hate) > 0.5,
        "the fixture must be read as hate by the head: {deep:?}"
    );
    assert_eq!(
        scored.scores.get(Category::Hate),
        0.0,
        "{:?}",
        scored.scores
    );
    let deep_scores = scored.deep_scores.expect("deep ran");
    assert_eq!(deep_scores.get(Category::Hate), 0.0, "{deep_scores:?}");
    assert_eq!(scored.decision.level, waypoint::policy::ResponseLevel::None);

    // A factor of 1 keeps the model's hate probability (the line names no group either, so the
    // deep tier's untargeted factor is set to 1 too).
    let keep = with_cascade(CascadePolicy {
        untargeted_condemnation_hate_factor: 1.0,
        untargeted_deep_hate_factor: 1.0,
        ..all.cascade
    });
    let kept = &scorer.score_batch_with(&keep, &counter_speech)[0];
    assert!(kept.scores.get(Category::Hate) > 0.5, "{:?}", kept.scores);
    assert!(kept.decision.level > waypoint::policy::ResponseLevel::None);

    // Naming a protected group next to the same condemnation keeps the hate score.
    let hateful =
        &scorer.score_batch_with(&all, &["isis zijn criminelen, net als alle moslims"])[0];
    assert!(
        hateful.scores.get(Category::Hate) > 0.5,
        "{:?}",
        hateful.scores
    );
    assert!(hateful.decision.level > waypoint::policy::ResponseLevel::None);
}

#[test]
fn deep_hate_needs_a_named_target() {
    let scorer = scorer();
    let all = both_tiers_for_every_message();
    let factor = all.cascade.untargeted_deep_hate_factor;
    assert!(factor < 1.0, "the default scales untargeted deep hate");
    let keep = with_cascade(CascadePolicy {
        untargeted_deep_hate_factor: 1.0,
        ..all.cascade
    });
    let deep_hate = |policy: &Policy, line: &str| {
        let scored = &scorer.score_batch_with(policy, &[line])[0];
        let raw = scored.deep.expect("deep ran").get(Category::Hate);
        let used = scored.deep_scores.expect("deep ran").get(Category::Hate);
        (raw, used, scored.decision.level)
    };

    // Dutch everyday talk the head reads as hate: no group is named.
    let (raw, used, level) = deep_hate(&all, "wie rijdt er mee in de volgende race");
    assert!(
        raw > 0.5,
        "the fixture must be read as hate by the head: {raw}"
    );
    assert!((used - raw * factor).abs() < 1e-6, "{raw} {used}");
    assert_eq!(level, waypoint::policy::ResponseLevel::None);
    let (_, kept, kept_level) = deep_hate(&keep, "wie rijdt er mee in de volgende race");
    assert!((kept - raw).abs() < 1e-6);
    assert!(kept_level > waypoint::policy::ResponseLevel::None);

    // A language whose group names the lexicon does not hold keeps the head's reading too.
    // A named group, a reference to one, a misspelt or run-together name: the head's reading.
    for hateful in [
        "alle moslims zijn tuig",
        "jullie soort hoort hier niet",
        "moslmis zijn tuig",
        "die vluchtelingenzijn parasieten",
        "ich hasse alle, die so reden",
    ] {
        let (raw, used, _) = deep_hate(&all, hateful);
        assert!(
            raw > 0.3,
            "the fixture must be read as hate by the head: {hateful}: {raw}"
        );
        assert!((used - raw).abs() < 1e-6, "{hateful}: {raw} {used}");
    }
}

#[test]
fn counter_speech_scales_hate_and_extremism_unless_a_code_is_read_as_such() {
    let scorer = scorer();
    // Exemplars on: their evidence follows a message's topic, which counter-speech shares.
    let mut all = both_tiers_for_every_message();
    all.exemplars.enabled = true;
    let factor = all.cascade.counter_speech_factor;
    assert!(factor < 1.0, "the default scales counter-speech");
    let mut keep = all.clone();
    keep.cascade.counter_speech_factor = 1.0;
    let both = |line: &str| {
        (
            scorer.score_batch_with(&all, &[line])[0].clone(),
            scorer.score_batch_with(&keep, &[line])[0].clone(),
        )
    };

    let scaled_by_factor = |scaled: &waypoint::MessageScore, kept: &waypoint::MessageScore| {
        let close = |a: f32, b: f32| (a - b * factor).abs() < 1e-6;
        let (deep_scaled, deep_kept) = (
            scaled.deep_scores.expect("deep ran"),
            kept.deep_scores.expect("deep ran"),
        );
        [Category::Hate, Category::Extremism].into_iter().all(|c| {
            close(scaled.scores.get(c), kept.scores.get(c))
                && close(deep_scaled.get(c), deep_kept.get(c))
        })
    };

    // A warning about recruitment, close to the recruitment exemplars: both tiers' hate and
    // extremism scaled, and the nudge is gone.
    let line = "dont share that manifesto, thats how they recruit";
    let (scaled, kept) = both(line);
    assert!(
        kept.decision.level > waypoint::policy::ResponseLevel::None,
        "the fixture must draw a response without the factor: {:?}",
        kept.scores
    );
    assert!(
        scaled_by_factor(&scaled, &kept),
        "{:?} {:?}",
        scaled.scores,
        kept.scores
    );
    assert_eq!(scaled.decision.level, waypoint::policy::ResponseLevel::None);
    // The phrase is stance, not evidence: it is not reported.
    assert!(scaled.lexicon.is_empty(), "{:?}", scaled.lexicon);
    // The inline pre-send check reads the stance too.
    let inline = scorer.score_inline(&all, line).scores;
    let inline_kept = scorer.score_inline(&keep, line).scores;
    assert!(
        (inline.get(Category::Extremism) - inline_kept.get(Category::Extremism) * factor).abs()
            < 1e-6
    );

    // A code in a critical frame where it stands (softened) is scaled too.
    let (scaled, kept) = both("white genocide is a conspiracy myth");
    assert!(
        scaled.lexicon.iter().all(|h| h.softened),
        "{:?}",
        scaled.lexicon
    );
    assert!(scaled_by_factor(&scaled, &kept));

    // A phrase elsewhere does not outweigh a code read as such: the category keeps its score.
    let (scaled, kept) =
        both("dont share this, but the day of the rope is coming for the traitors");
    assert!(
        scaled
            .lexicon
            .iter()
            .any(|h| h.category == Category::Extremism && !h.softened),
        "{:?}",
        scaled.lexicon
    );
    assert_eq!(
        scaled.scores.get(Category::Extremism),
        kept.scores.get(Category::Extremism)
    );
    assert!(scaled.decision.level > waypoint::policy::ResponseLevel::Nudge);

    // A code explained, or someone else's use of it reported, is scaled without any phrase:
    // every extremism hit is discussed where it stands. (Hate has no hit here, so it is not.)
    for line in [
        "88 staat voor heil hitler, verander ff je naam",
        "the 14 words guy is back in our lobby",
    ] {
        let (scaled, kept) = both(line);
        assert!(
            scaled
                .lexicon
                .iter()
                .all(|h| h.category != Category::Extremism || h.discussed),
            "{line}: {:?}",
            scaled.lexicon
        );
        let extremism = |m: &waypoint::MessageScore| {
            (
                m.scores.get(Category::Extremism),
                m.deep_scores.expect("deep ran").get(Category::Extremism),
            )
        };
        let ((combined, deep), (combined_kept, deep_kept)) = (extremism(&scaled), extremism(&kept));
        assert!(
            (combined - combined_kept * factor).abs() < 1e-6
                && (deep - deep_kept * factor).abs() < 1e-6,
            "{line}: {combined} {combined_kept} {deep} {deep_kept}"
        );
    }
    // One discussed hit next to a code used as such: not scaled.
    let (scaled, kept) = both("the 14 words guy is right, day of the rope is coming");
    assert!(scaled.lexicon.iter().any(|h| h.discussed));
    assert_eq!(
        scaled.scores.get(Category::Extremism),
        kept.scores.get(Category::Extremism)
    );

    // A threat stays a threat next to a counter-speech phrase.
    let (scaled, kept) = both("i reported him lol, i know where you live and i will stab you");
    assert_eq!(
        scaled.scores.get(Category::Threat),
        kept.scores.get(Category::Threat)
    );
    assert_eq!(
        scaled.decision.level,
        waypoint::policy::ResponseLevel::Review
    );
}

fn models_without_head() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("fast")).expect("mkdir");
    for file in [FAST_MODEL_FILE, FAST_MANIFEST_FILE] {
        std::fs::copy(models_dir().join(file), dir.path().join(file)).expect("copy");
    }
    dir
}

/// Builds a scorer on `models` and `encoder`, expects it degraded, and returns its reasons.
fn degraded_reasons(models: &Path, encoder: &Path) -> (Scorer, String) {
    let scorer = Scorer::builder()
        .models_dir(models)
        .encoder_dir(encoder)
        .build()
        .expect("degraded, not an error");
    let reasons = match scorer.health() {
        Health::Degraded { reasons } => Some(reasons.join("; ")),
        _ => None,
    }
    .expect("expected degraded health");
    (scorer, reasons)
}

/// Writes the deep head's manifest in `models` with `sha256`.
fn write_head_manifest(models: &Path, sha256: &str) {
    std::fs::write(
        models.join(HEAD_MANIFEST_FILE),
        format!("{{\"version\":\"t\",\"sha256\":\"{sha256}\"}}"),
    )
    .expect("write");
}

#[test]
fn missing_deep_tier_degrades_and_the_fast_tier_keeps_scoring() {
    let dir = models_without_head();
    let (scorer, reasons) = degraded_reasons(dir.path(), &encoder_dir());
    assert!(reasons.contains("deep tier unavailable"), "{reasons}");
    assert!(reasons.contains("head.onnx"), "{reasons}");
    assert!(!reasons.contains("fast-tier"), "{reasons}");
    let scored = scorer.score_batch(&["ik haat alle moslims", "you are a worthless idiot"]);
    assert!(scored.iter().all(|s| s.model.is_some() && s.deep.is_none()));
    assert!(scored[1].scores.get(Category::Insult) > 0.5);

    // A head that does not match its manifest is refused the same way.
    std::fs::create_dir_all(dir.path().join("deep")).expect("mkdir");
    std::fs::copy(
        models_dir().join(HEAD_MODEL_FILE),
        dir.path().join(HEAD_MODEL_FILE),
    )
    .expect("copy");
    write_head_manifest(dir.path(), &"0".repeat(64));
    let (_, reasons) = degraded_reasons(dir.path(), &encoder_dir());
    assert!(reasons.contains("sha256"), "{reasons}");

    // A head whose bytes match their manifest but are not a model: the runtime refuses the
    // verified bytes and the reason names the file.
    let not_a_model = b"this is not an onnx file";
    std::fs::write(dir.path().join(HEAD_MODEL_FILE), not_a_model).expect("write");
    write_head_manifest(dir.path(), &sha256_hex(not_a_model));
    let (scorer, reasons) = degraded_reasons(dir.path(), &encoder_dir());
    assert!(reasons.contains("cannot load ONNX model"), "{reasons}");
    assert!(reasons.contains("head.onnx"), "{reasons}");
    assert!(!reasons.contains("sha256"), "{reasons}");
    assert!(
        scorer.score_batch(&["you are a worthless idiot"])[0]
            .deep
            .is_none()
    );

    // An encoder that is not there degrades too; asking for no deep tier is not degraded.
    let empty = tempfile::tempdir().expect("tempdir");
    let scorer = Scorer::builder()
        .models_dir(models_dir())
        .encoder_dir(empty.path())
        .build()
        .expect("degraded");
    assert!(
        matches!(scorer.health(), Health::Degraded { reasons } if reasons.iter().any(|r| r.starts_with("deep tier unavailable")))
    );
    let scorer = Scorer::builder()
        .models_dir(models_dir())
        .deep_tier(false)
        .build()
        .expect("builds");
    assert_eq!(scorer.health(), &Health::Ready);
    assert!(
        scorer.score_batch(&["ik haat alle moslims"])[0]
            .deep
            .is_none()
    );
}

#[test]
fn an_encoder_file_that_does_not_match_its_manifest_degrades() {
    let prepared = encoder_dir();
    let manifest_text =
        std::fs::read_to_string(prepared.join(ENCODER_MANIFEST_FILE)).expect("encoder.json");
    let manifest: serde_json::Value = serde_json::from_str(&manifest_text).expect("json");
    let dir = tempfile::tempdir().expect("tempdir");
    for file in [
        ENCODER_MODEL_FILE,
        SENTENCEPIECE_FILE,
        ENCODER_MANIFEST_FILE,
    ] {
        std::fs::copy(prepared.join(file), dir.path().join(file)).expect("copy");
    }
    let with_digest = |file: &str, sha256: &str| {
        let mut changed = manifest.clone();
        changed["files"][file] = sha256.into();
        std::fs::write(dir.path().join(ENCODER_MANIFEST_FILE), changed.to_string()).expect("write");
    };

    // The prepared files load.
    let scorer = Scorer::builder()
        .models_dir(models_dir())
        .encoder_dir(dir.path())
        .build()
        .expect("builds");
    assert_eq!(scorer.health(), &Health::Ready);

    // A model whose sha256 is not the manifest's is refused, with the way to mend it.
    with_digest(ENCODER_MODEL_FILE, &"0".repeat(64));
    let (scorer, reasons) = degraded_reasons(&models_dir(), dir.path());
    assert!(reasons.contains("deep tier unavailable"), "{reasons}");
    assert!(reasons.contains(ENCODER_MODEL_FILE), "{reasons}");
    assert!(reasons.contains("sha256"), "{reasons}");
    assert!(reasons.contains("python3 models/fetch.py"), "{reasons}");
    let scored = scorer.score_batch(&["you are a worthless idiot"]);
    assert!(scored[0].deep.is_none() && scored[0].model.is_some());

    // So is a tokenizer replaced by other bytes, and a manifest without its entry.
    std::fs::write(dir.path().join(ENCODER_MANIFEST_FILE), &manifest_text).expect("write");
    std::fs::write(
        dir.path().join(SENTENCEPIECE_FILE),
        b"not a sentencepiece model",
    )
    .expect("write");
    let (_, reasons) = degraded_reasons(&models_dir(), dir.path());
    assert!(reasons.contains(SENTENCEPIECE_FILE), "{reasons}");
    assert!(reasons.contains("sha256"), "{reasons}");
    let mut without = manifest.clone();
    without["files"]
        .as_object_mut()
        .expect("files")
        .remove(SENTENCEPIECE_FILE);
    std::fs::write(dir.path().join(ENCODER_MANIFEST_FILE), without.to_string()).expect("write");
    let (_, reasons) = degraded_reasons(&models_dir(), dir.path());
    assert!(
        reasons.contains("no sha256 for sentencepiece.model"),
        "{reasons}"
    );

    // And a directory without the manifest, or with one that is not JSON.
    std::fs::write(dir.path().join(ENCODER_MANIFEST_FILE), "{ not json").expect("write");
    let (_, reasons) = degraded_reasons(&models_dir(), dir.path());
    assert!(reasons.contains(ENCODER_MANIFEST_FILE), "{reasons}");
    std::fs::remove_file(dir.path().join(ENCODER_MANIFEST_FILE)).expect("remove");
    let (_, reasons) = degraded_reasons(&models_dir(), dir.path());
    assert!(reasons.contains("encoder.json is missing"), "{reasons}");
}

#[test]
fn the_inline_check_reads_an_untargeted_condemnation_the_same_way() {
    let scorer = scorer();
    let keep = Policy {
        cascade: CascadePolicy {
            untargeted_condemnation_hate_factor: 1.0,
            ..CascadePolicy::default()
        },
        ..Policy::default()
    };
    // The fast tier reads the name as hate; the condemnation names no protected group.
    let line = "isis are criminals, nothing more";
    let kept = scorer.score_inline(&keep, line);
    assert!(kept.scores.get(Category::Hate) > 0.3, "{:?}", kept.scores);
    let scored = scorer.score_inline(&Policy::default(), line);
    assert_eq!(
        scored.scores.get(Category::Hate),
        0.0,
        "{:?}",
        scored.scores
    );
    assert!(scored.lexicon.is_empty(), "mentions are not reported");
    // Naming a protected group keeps the fast tier's reading.
    let hateful = "isis are criminals, like all muslims";
    assert_eq!(
        scorer.score_inline(&Policy::default(), hateful).scores,
        scorer.score_inline(&keep, hateful).scores
    );
}
