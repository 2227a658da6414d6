//! End-to-end tests of `waypoint score` with the real model, runtime and default policy.
#![expect(clippy::expect_used, reason = "test set-up fails loudly")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn waypoint(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_waypoint"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn waypoint");
    // A command that fails early (bad arguments, bad policy) may exit before reading its input.
    if let Err(e) = child.stdin.take().expect("stdin").write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("wait")
}

fn score_lines(lines: &[&str]) -> Vec<Value> {
    let out = waypoint(&["score", "-"], lines.join("\n").as_bytes());
    assert!(
        out.status.success(),
        "waypoint score failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn flags_obfuscated_insult_and_coded_extremism_but_not_game_talk() {
    let lines = [
        "y0u r a w0rthl3ss 1d10t",
        "join us brothers, the day of the rope is coming 1488",
        "kill the healer first",
        "nice headshot lol",
        "camp B and wait for them",
        "my score was 88 this round",
    ];
    let out = score_lines(&lines);
    assert_eq!(out.len(), lines.len());
    let response = |i: usize| out[i]["response"].as_str().expect("response").to_owned();
    assert_ne!(response(0), "none", "obfuscated insult: {}", out[0]);
    assert_eq!(out[0]["normalized"], "you r a worthless idiot");
    assert_ne!(response(1), "none", "coded extremism: {}", out[1]);
    assert!(
        !out[1]["lexicon"].as_array().expect("lexicon").is_empty(),
        "{}",
        out[1]
    );
    for (i, line) in lines.iter().enumerate().skip(2) {
        assert_eq!(
            response(i),
            "none",
            "ordinary game talk flagged: {line}: {}",
            out[i]
        );
    }
    for o in &out {
        for key in [
            "text",
            "normalized",
            "scores",
            "lexicon",
            "response",
            "reasons",
        ] {
            assert!(o.get(key).is_some(), "missing {key} in {o}");
        }
        for category in ["insult", "hate", "threat", "extremism"] {
            let p = o["scores"][category].as_f64().expect("probability");
            assert!((0.0..=1.0).contains(&p), "{o}");
        }
    }
}

#[test]
fn example_chat_file_scores_every_line() {
    let out = waypoint(&["score", "examples/chat.txt"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read_to_string(repo().join("examples/chat.txt"))
        .expect("example")
        .lines()
        .count();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        expected
    );
}

#[test]
fn invalid_utf8_lines_are_reported_and_skipped() {
    let out = waypoint(&["score"], b"gg wp\n\xff\xfe broken\nnice shot\n");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-:2: skipped: not valid UTF-8"), "{stderr}");
}

#[test]
fn unreadable_input_and_bad_arguments_fail_clearly() {
    let out = waypoint(&["score", "/no/such/chat.txt"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/chat.txt"));

    let out = waypoint(&["score", "--no-such-flag"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}

#[test]
fn malformed_policy_is_rejected_with_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = \"x\"\n\n[message.threat]\nreview = 1.5\n",
    )
    .expect("write");
    let out = waypoint(
        &["score", "--policy", policy.to_str().expect("path")],
        b"gg\n",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("policy.toml:4:10:"), "{stderr}");
    assert!(stderr.contains("out of range"), "{stderr}");
}

#[test]
fn missing_models_fail_unless_degraded_is_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().to_str().expect("path");
    let out = waypoint(&["score", "--models", models], b"gg\n");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("degraded") && stderr.contains("--allow-degraded"),
        "{stderr}"
    );

    let out = waypoint(&["score", "--models", models, "--allow-degraded"], b"gg\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}
