//! Runs the headless game end to end and checks the responses a trust-and-safety team expects.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run_game(data_dir: &Path, seed: u64) -> Value {
    let summary = data_dir.join("summary.json");
    let output = Command::new(env!("CARGO_BIN_EXE_sample-game"))
        .args([
            "--headless",
            "--ticks",
            "14460",
            "--seed",
            &seed.to_string(),
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--summary-json")
        .arg(&summary)
        .arg("--no-baseline")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the game runs");
    assert!(
        output.status.success(),
        "sample-game failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let text = std::fs::read_to_string(&summary).expect("summary written");
    serde_json::from_str(&text).expect("summary is JSON")
}

fn count(summary: &Value, persona: &str, level: &str) -> u64 {
    summary["personas"][persona][level]
        .as_u64()
        .unwrap_or_else(|| panic!("no {level} count for {persona}"))
}

#[test]
fn every_persona_gets_what_trust_and_safety_expects() {
    for seed in [1, 7] {
        let dir = tempfile::tempdir().expect("temp dir");
        let summary = run_game(dir.path(), seed);
        assert_eq!(
            summary["engine"]["health"], "ready",
            "seed {seed}: {summary}"
        );

        for drift in ["drift-en", "drift-nl"] {
            assert!(
                count(&summary, drift, "nudge") >= 1,
                "seed {seed}: {drift} nudged"
            );
            assert!(
                count(&summary, drift, "help") >= 1,
                "seed {seed}: {drift} gets help"
            );
            assert!(
                count(&summary, drift, "review") >= 1,
                "seed {seed}: {drift} referred"
            );
        }

        assert!(
            count(&summary, "griefer", "presend_nudges") >= 1,
            "seed {seed}"
        );
        assert!(
            count(&summary, "griefer", "nudge") >= 1,
            "seed {seed}: griefer nudged"
        );
        assert!(
            count(&summary, "griefer", "reported") >= 1,
            "seed {seed}: griefer reported"
        );
        assert!(
            count(&summary, "griefer", "blocked") >= 1,
            "seed {seed}: griefer blocked"
        );
        assert!(
            count(&summary, "griefer", "review") >= 1,
            "seed {seed}: griefer referred"
        );
        let amplification = summary["personas"]["griefer"]["referral_amplification"]
            .as_f64()
            .expect("griefer's referral amplification");
        assert!(
            amplification > 1.0,
            "seed {seed}: the reports amplified the referral"
        );

        assert!(
            count(&summary, "clan-tag", "nudge") >= 1,
            "seed {seed}: tag nudged"
        );
        assert_eq!(
            count(&summary, "clan-tag", "review"),
            0,
            "seed {seed}: a tag alone is no case"
        );

        for quiet in [
            "trash-talker",
            "friendly-mila",
            "friendly-jonas",
            "friendly-sam",
        ] {
            assert!(
                count(&summary, quiet, "messages") > 0,
                "seed {seed}: {quiet} talks"
            );
            for level in ["presend_nudges", "nudge", "help", "review"] {
                assert_eq!(
                    count(&summary, quiet, level),
                    0,
                    "seed {seed}: {quiet} gets no {level}"
                );
            }
        }
        assert_eq!(summary["all_as_expected"], true, "seed {seed}");

        // The review queue holds one JSON line per referral, with the case and its reasons.
        let referrals = summary["referrals"].as_u64().expect("referrals");
        assert!(referrals >= 3);
        let queue = std::fs::read_to_string(dir.path().join("review-queue.jsonl"))
            .expect("review queue written");
        let cases: Vec<Value> = queue
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(cases.len() as u64, referrals);
        for player in ["drift-en", "drift-nl", "griefer"] {
            let case = cases
                .iter()
                .find(|c| c["player"] == player)
                .unwrap_or_else(|| panic!("seed {seed}: no case for {player}"));
            assert!(case["case_id"].as_str().is_some_and(|id| id.len() == 36));
            assert!(
                case["reasons"]["rule"]
                    .as_str()
                    .is_some_and(|r| r.ends_with(".review"))
            );
            assert!(case["evidence"].as_str().is_some_and(|e| !e.is_empty()));
        }

        // Aggregate telemetry for `waypoint report`.
        let telemetry = std::fs::read_dir(dir.path().join("telemetry"))
            .expect("telemetry dir")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
            .count();
        assert!(telemetry >= 1, "seed {seed}: telemetry written");
    }
}
