//! The scripted drift scenarios of `examples/scenarios/` through `waypoint simulate` with the
//! default policy and the shipped models (both tiers): the drifting player climbs the ladder in
//! order (nudge, then help, then review), the trash-talker gets at most nudges and the friendly
//! players nothing, in English and in Dutch (minor age band).
#![expect(clippy::expect_used, reason = "test set-up fails loudly")]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every response of `waypoint simulate` on one scenario file, default policy.
fn responses(scenario: &str) -> Vec<Value> {
    let spool = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_waypoint"))
        .arg("simulate")
        .arg("--models")
        .arg(repo().join("models"))
        .arg("--spool-dir")
        .arg(spool.path())
        .arg(repo().join("examples/scenarios").join(scenario))
        .output()
        .expect("run waypoint simulate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// The responses given to `player`, in order, with the rule that decided each.
fn ladder_of<'a>(responses: &'a [Value], player: &str) -> Vec<(&'a str, &'a str)> {
    responses
        .iter()
        .filter(|r| r["player"] == player)
        .map(|r| {
            (
                r["response"].as_str().expect("response"),
                r["reasons"]["rule"].as_str().expect("rule"),
            )
        })
        .collect()
}

/// The drifting player's first nudge comes before the first help link, which comes before the
/// first referral, and all three are reached; the others stay at or below `trash_talker_max`.
fn assert_drift(scenario: &str, drifter: &str, trash_talker: &str, friendly: &[&str]) {
    let all = responses(scenario);
    assert!(
        all.iter().all(|r| r["reasons"]["deep_model_version"]
            .as_str()
            .is_some_and(|v| v.contains("deep-head"))),
        "the deep tier must score the scenario: {all:#?}"
    );
    let drift = ladder_of(&all, drifter);
    let first = |level: &str| drift.iter().position(|(r, _)| *r == level);
    let (nudge, help, review) = (first("nudge"), first("help"), first("review"));
    assert!(
        matches!((nudge, help, review), (Some(n), Some(h), Some(r)) if n < h && h < r),
        "{drifter} must reach nudge, then help, then review: {drift:?}"
    );
    let trash = ladder_of(&all, trash_talker);
    assert!(
        trash.iter().all(|(r, _)| *r == "nudge"),
        "{trash_talker} gets at most nudges: {trash:?}"
    );
    for player in friendly {
        let got = ladder_of(&all, player);
        assert!(got.is_empty(), "{player} gets nothing: {got:?}");
    }
}

#[test]
fn english_drift_reaches_nudge_then_help_then_review() {
    assert_drift("drift-en.jsonl", "rook", "vex", &["mia", "sol"]);
}

#[test]
fn dutch_minor_drift_reaches_nudge_then_help_then_review() {
    assert_drift("drift-nl-minor.jsonl", "jesse", "bram", &["noor", "daan"]);
}
