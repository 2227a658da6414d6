//! `waypoint simulate` end to end: a script in, one JSON line per response out.
#![expect(clippy::expect_used, reason = "test and benchmark set-up fails loudly")]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn simulate(script: &str, policy: Option<&str>) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let script_path = dir.path().join("scenario.jsonl");
    std::fs::File::create(&script_path)
        .and_then(|mut f| f.write_all(script.as_bytes()))
        .expect("write");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_waypoint"));
    cmd.arg("simulate")
        .arg("--models")
        .arg(models())
        .arg("--allow-degraded");
    if let Some(policy) = policy {
        let policy_path = dir.path().join("policy.toml");
        std::fs::write(&policy_path, policy).expect("write");
        cmd.arg("--policy").arg(policy_path);
    }
    cmd.arg(&script_path).output().expect("run waypoint")
}

const POLICY: &str = "version = \"sim\"\naccumulated.extremism = { floor = 0.4, nudge = 1.0, help = 2.0, review = 3.0 }\n\
                      [[help_directory.entry]]\nlocale = \"en\"\norganisation = \"Org\"\nurl = \"https://org.example.org\"\ntext = \"Talk.\"\n";

#[test]
fn responses_are_json_lines_with_reasons_help_and_case_ids() {
    let mut script = String::from(
        "# a drifting player\n{\"t\": 0, \"type\": \"chat\", \"player\": \"ana\", \"text\": \"gg\", \"locale\": \"en\"}\n",
    );
    for i in 1..=6 {
        script.push_str(&format!(
            "{{\"t\": {}, \"type\": \"custom\", \"player\": \"ana\", \"kind\": \"note\", \"weight\": 0.6, \"category\": \"extremism\"}}\n",
            i * 60
        ));
    }
    script.push_str(
        "{\"t\": 9000, \"type\": \"outcome\", \"player\": \"ana\", \"outcome\": \"dismissed\"}\n",
    );
    script.push_str("{\"t\": 9001, \"type\": \"report\", \"reporter\": \"bo\", \"target\": \"ana\", \"reason\": \"hate\"}\n");
    let out = simulate(&script, Some(POLICY));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l["response"].as_str().expect("response"))
        .collect();
    assert_eq!(kinds, ["nudge", "help", "review"], "{lines:#?}");
    assert_eq!(lines[0]["player"], "ana");
    assert_eq!(lines[0]["categories"][0], "extremism");
    assert_eq!(lines[0]["reasons"]["rule"], "accumulated.extremism.nudge");
    assert_eq!(lines[1]["help"]["organisation"], "Org");
    assert!(
        lines[2]["case_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
    assert!(
        lines[2]["t"].as_f64() > lines[1]["t"].as_f64(),
        "times are the simulated clock"
    );
}

#[test]
fn a_bad_line_is_an_error_with_its_line_number() {
    let out = simulate(
        "{\"t\": 0, \"type\": \"chat\", \"player\": \"a\", \"text\": \"hi\"}\n{\"t\": 1, \"type\": \"chat\", \"player\": \"a\", \"txt\": \"hi\"}\n",
        None,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scenario.jsonl:2:"), "{stderr}");
    let out = simulate(
        "{\"t\": 5, \"type\": \"block\", \"by\": \"a\", \"target\": \"b\"}\n{\"t\": 1, \"type\": \"block\", \"by\": \"a\", \"target\": \"b\"}\n",
        None,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(":2: t = 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn telemetry_dir_gets_jsonl_that_report_renders_without_any_name_or_text() {
    const CANARIES: [&str; 4] = [
        "canaryplayer9d1",
        "CANARYchatline4e2",
        "canarychannel77",
        "canaryreporter31",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let telemetry = dir.path().join("telemetry");
    let mut script = String::new();
    for i in 0..15 {
        script.push_str(&format!(
            "{{\"t\": {i}, \"type\": \"chat\", \"player\": \"canaryplayer9d1\", \"text\": \"CANARYchatline4e2 number {i}\", \"locale\": \"en\", \"channel\": \"canarychannel77\"}}\n"
        ));
    }
    for i in 0..4 {
        script.push_str(&format!(
            "{{\"t\": {}, \"type\": \"report\", \"reporter\": \"canaryreporter31\", \"target\": \"canaryplayer9d1\", \"reason\": \"CANARYchatline4e2\"}}\n",
            20 + i
        ));
    }
    let script_path = dir.path().join("scenario.jsonl");
    std::fs::write(&script_path, script).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_waypoint"))
        .arg("simulate")
        .arg("--models")
        .arg(models())
        .arg("--allow-degraded")
        .arg("--telemetry-dir")
        .arg(&telemetry)
        .arg(&script_path)
        .output()
        .expect("run waypoint");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let files: Vec<PathBuf> = std::fs::read_dir(&telemetry)
        .expect("telemetry dir exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert!(!files.is_empty(), "no JSONL written");
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&telemetry).expect("dir") {
        bytes.extend(std::fs::read(entry.expect("entry").path()).expect("read"));
    }
    assert!(!bytes.is_empty());
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    for canary in CANARIES {
        assert!(
            !text.contains(&canary.to_lowercase()),
            "{canary} reached telemetry: {text}"
        );
    }
    for line in String::from_utf8_lossy(&bytes).lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
    }

    let html = dir.path().join("report.html");
    let report = Command::new(env!("CARGO_BIN_EXE_waypoint"))
        .arg("report")
        .arg("--input")
        .args(&files)
        .arg("--out")
        .arg(&html)
        .output()
        .expect("run waypoint report");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let html = std::fs::read_to_string(&html).expect("report written");
    assert!(
        html.contains("<html") || html.contains("<!DOCTYPE") || html.contains("<!doctype"),
        "not HTML"
    );
    for canary in CANARIES {
        assert!(
            !html.to_lowercase().contains(&canary.to_lowercase()),
            "{canary} reached the report"
        );
    }
}

#[test]
fn an_unreachable_webhook_leaves_the_referral_in_the_spool_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = dir.path().join("spool");
    let script_path = dir.path().join("scenario.jsonl");
    let mut script = String::new();
    for i in 1..=6 {
        script.push_str(&format!(
            "{{\"t\": {}, \"type\": \"custom\", \"player\": \"ana\", \"kind\": \"note\", \"weight\": 0.6, \"category\": \"extremism\"}}\n",
            i * 60
        ));
    }
    std::fs::write(&script_path, script).expect("write");
    let policy_path = dir.path().join("policy.toml");
    std::fs::write(&policy_path, POLICY).expect("write");
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_waypoint"))
        .env("WAYPOINT_WEBHOOK_SECRET", "cli-test-secret")
        .args([
            "simulate",
            "--allow-degraded",
            "--delivery-timeout",
            "1",
            "--webhook",
            "http://127.0.0.1:9/hook",
        ])
        .arg("--models")
        .arg(models())
        .arg("--policy")
        .arg(&policy_path)
        .arg("--spool-dir")
        .arg(&spool)
        .arg(&script_path)
        .output()
        .expect("run waypoint");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"review\""));
    assert!(stderr.contains("1 referral(s) not delivered"), "{stderr}");
    let spooled: Vec<_> = std::fs::read_dir(&spool).expect("spool exists").collect();
    assert!(!spooled.is_empty(), "the referral is kept in the spool");
}
