//! Tests of `waypoint eval`: the metric arithmetic on hand-computed cases, the sweep's
//! monotonicity, label mapping and bad-row reporting, argument errors, and one end-to-end run
//! with the real model on clearly benign and clearly toxic lines.

// Helpers outside `#[test]` functions fail the test the same way.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The metric functions, compiled into this test directly (the module only needs std + serde).
#[allow(dead_code)]
#[path = "../src/cmd/eval/metrics.rs"]
mod metrics;

use metrics::{Confusion, Interval, ScoreCounts, sweep_thresholds};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn waypoint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waypoint"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run waypoint")
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write fixture");
    path.display().to_string()
}

/// Runs `waypoint eval` with `--json`, asserts success and returns the report.
fn eval_json(args: &[&str], dir: &Path) -> Value {
    let out_path = dir.join("report.json").display().to_string();
    let mut all = vec!["eval"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", &out_path]);
    let out = waypoint(&all);
    assert!(
        out.status.success(),
        "waypoint eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_path).expect("report written");
    serde_json::from_str(&text).expect("report is JSON")
}

fn category<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["category"] == name)
        .expect("category present")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// ---------------------------------------------------------------------------------------------
// Metric arithmetic.

#[test]
fn confusion_arithmetic_matches_hand_computation() {
    let c = Confusion {
        tp: 5,
        fp: 3,
        fn_: 2,
        tn: 10,
    };
    assert!(close(c.precision().expect("p"), 5.0 / 8.0));
    assert!(close(c.recall().expect("r"), 5.0 / 7.0));
    assert!(close(c.f1().expect("f1"), 10.0 / 15.0));
    assert!(close(c.fpr().expect("fpr"), 3.0 / 13.0));
    let empty = Confusion::default();
    assert_eq!(empty.precision(), None);
    assert_eq!(empty.recall(), None);
    assert_eq!(empty.f1(), None);
    assert_eq!(empty.fpr(), None);
    let mut counted = Confusion::default();
    for (positive, flagged) in [(true, true), (true, false), (false, true), (false, false)] {
        counted.add(positive, flagged);
    }
    assert_eq!(
        counted,
        Confusion {
            tp: 1,
            fp: 1,
            fn_: 1,
            tn: 1
        }
    );
}

#[test]
fn wilson_intervals_match_hand_computation() {
    let near = |got: Option<Interval>, low: f64, high: f64| {
        let got = got.expect("interval");
        assert!(
            (got.low - low).abs() < 1e-9 && (got.high - high).abs() < 1e-9,
            "{got:?} against {low}..{high}"
        );
    };
    // Hand-computed from the Wilson formula with z = 1.959964.
    near(
        Interval::wilson(11, 157),
        0.039_569_789_431_698_54,
        0.121_094_376_450_446_05,
    );
    near(
        Interval::wilson(6, 20),
        0.145_477_244_867_604_3,
        0.518_972_818_353_523_5,
    );
    // A share of 0 or 1 still has a width, and the bounds stay inside [0, 1].
    near(Interval::wilson(0, 18), 0.0, 0.175_879_223_646_657_65);
    let all = Interval::wilson(18, 18).expect("interval");
    assert!(
        (all.high - 1.0).abs() < 1e-12 && (all.low - (1.0 - 0.175_879_223_646_657_65)).abs() < 1e-9
    );
    assert_eq!(Interval::wilson(0, 0), None);
    // More hits than lines (never produced by a tally) is read as all lines.
    assert_eq!(Interval::wilson(5, 3), Interval::wilson(3, 3));
    // More lines, the same share: a narrower interval around it.
    let small = Interval::wilson(3, 10).expect("interval");
    let large = Interval::wilson(300, 1000).expect("interval");
    assert!(small.low < large.low && large.high < small.high);
    assert!(large.low < 0.3 && 0.3 < large.high);

    let c = Confusion {
        tp: 6,
        fp: 11,
        fn_: 14,
        tn: 146,
    };
    assert_eq!(c.recall_interval(), Interval::wilson(6, 20));
    assert_eq!(c.fpr_interval(), Interval::wilson(11, 157));
    assert_eq!(Confusion::default().recall_interval(), None);
}

fn counts(positives: &[f32], negatives: &[f32]) -> ScoreCounts {
    let mut c = ScoreCounts::default();
    for &s in positives {
        c.add(s, true);
    }
    for &s in negatives {
        c.add(s, false);
    }
    c
}

#[test]
fn roc_auc_is_exact_with_ties() {
    // Positives 0.9, 0.8, 0.4; negatives 0.8, 0.4, 0.3, 0.1. Pairs won: 0.9 → 4,
    // 0.8 → 3 + ½ (tie), 0.4 → 2 + ½ (tie): 10 of 12.
    let c = counts(&[0.9, 0.8, 0.4], &[0.8, 0.4, 0.3, 0.1]);
    assert!(close(c.roc_auc().expect("auc"), 10.0 / 12.0));
    assert!(close(
        counts(&[0.5, 0.5], &[0.5, 0.5, 0.5])
            .roc_auc()
            .expect("auc"),
        0.5
    ));
    assert!(close(
        counts(&[0.9, 0.7], &[0.1, 0.2]).roc_auc().expect("auc"),
        1.0
    ));
    assert!(close(
        counts(&[0.1, 0.2], &[0.9, 0.7]).roc_auc().expect("auc"),
        0.0
    ));
    // NaN and negative scores count as 0.
    assert!(close(
        counts(&[f32::NAN], &[0.0, -0.0]).roc_auc().expect("auc"),
        0.5
    ));
    assert_eq!(counts(&[0.3], &[]).roc_auc(), None);
    assert_eq!(counts(&[], &[0.3]).roc_auc(), None);
}

#[test]
fn thresholds_flag_scores_at_or_above() {
    let c = counts(&[0.9, 0.8, 0.4], &[0.8, 0.4, 0.3, 0.1]);
    let at_half = c.at_threshold(0.5);
    assert_eq!(
        at_half,
        Confusion {
            tp: 2,
            fp: 1,
            fn_: 1,
            tn: 3
        }
    );
    assert!(close(at_half.f1().expect("f1"), 4.0 / 6.0));
    let at_04 = c.at_threshold(0.4);
    assert_eq!((at_04.tp, at_04.fp), (3, 2));
    assert!(close(at_04.precision().expect("p"), 0.6));
    assert!(close(at_04.f1().expect("f1"), 0.75));
}

#[test]
fn sweep_thresholds_are_policy_values() {
    let t = sweep_thresholds(0.05).expect("valid step");
    assert_eq!(t.len(), 19);
    assert_eq!(t[0], 0.05_f32);
    assert_eq!(t[2], 0.15_f32);
    assert_eq!(t[18], 0.95_f32);
    assert_eq!(sweep_thresholds(0.1).expect("valid").len(), 9);
    assert!(sweep_thresholds(0.0).is_err());
    assert!(sweep_thresholds(-0.1).is_err());
    assert!(sweep_thresholds(f64::NAN).is_err());
    assert!(sweep_thresholds(0.7).is_err());
}

#[test]
fn sweep_flag_counts_never_increase_with_the_threshold() {
    // A fixed pseudo-random sample (LCG) with many ties and both classes.
    let mut state = 12345_u64;
    let mut c = ScoreCounts::default();
    for i in 0..5000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let score = ((state >> 40) % 1001) as f32 / 1000.0;
        c.add(score, i % 3 == 0);
    }
    let rows = c.sweep(&sweep_thresholds(0.01).expect("valid"));
    assert_eq!(rows.len(), 99);
    for pair in rows.windows(2) {
        assert!(pair[1].flagged_positives <= pair[0].flagged_positives);
        assert!(pair[1].flagged_benign <= pair[0].flagged_benign);
        assert!(pair[1].recall <= pair[0].recall);
    }
}

// ---------------------------------------------------------------------------------------------
// The command.

#[test]
fn maps_labels_and_reports_bad_rows_with_line_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write(
        dir.path(),
        "data.csv",
        "id,text,label\n\
         1,\"you are a worthless idiot\",E\n\
         2,nice shot mate,O\n\
         3,\"a quoted, multi\nline message\",O\n\
         4,report mid please,A\n\
         5,what is this,Q\n\
         6,missing the label\n\
         7,,O\n\
         \n\
         8,\"kill yourself\",cv\n",
    );
    let report = eval_json(
        &[
            "--data",
            &data,
            "--map",
            "E=insult,O=none",
            "--map",
            "A=skip,cv=threat+insult",
            "--allow-degraded",
        ],
        dir.path(),
    );
    let rows = &report["rows"];
    assert_eq!(rows["read"], 8);
    assert_eq!(rows["scored"], 4);
    assert_eq!(rows["benign"], 2);
    assert_eq!(rows["positive"], 2);
    assert_eq!(rows["skipped"], 1);
    assert_eq!(rows["bad"], 3);
    let bad: Vec<(u64, String)> = report["bad_rows"]
        .as_array()
        .expect("bad rows")
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().expect("line"),
                b["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect();
    let lines: Vec<u64> = bad.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![7, 8, 9], "{bad:?}");
    assert!(bad[0].1.contains("\"Q\""), "{bad:?}");
    assert!(bad[1].1.contains("missing label"), "{bad:?}");
    assert!(bad[2].1.contains("empty text"), "{bad:?}");
    // cv → threat + insult: a positive for both; insult has two positives.
    assert_eq!(category(&report, "insult")["positives"], 2);
    assert_eq!(category(&report, "threat")["positives"], 1);
    assert_eq!(category(&report, "hate")["positives"], 0);
    assert_eq!(category(&report, "hate")["negatives"], 2);
    assert_eq!(category(&report, "any")["positives"], 2);
    let labels: Vec<(String, String, u64)> = report["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| {
            (
                l["label"].as_str().expect("label").to_owned(),
                l["target"].as_str().expect("target").to_owned(),
                l["rows"].as_u64().expect("rows"),
            )
        })
        .collect();
    assert!(
        labels.contains(&("A".into(), "skip".into(), 1)),
        "{labels:?}"
    );
    assert!(
        labels.contains(&("cv".into(), "insult+threat".into(), 1)),
        "{labels:?}"
    );
    assert!(
        labels.contains(&("O".into(), "none".into(), 2)),
        "{labels:?}"
    );
}

#[test]
fn reads_jsonl_with_chosen_fields_and_reports_bad_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = write(
        dir.path(),
        "data.jsonl",
        "{\"msg\": \"good game everyone\", \"y\": 0}\n\
         {\"msg\": \"you are a pathetic moron\", \"y\": 1}\n\
         not json\n\
         [1, 2]\n\
         {\"msg\": \"no label\", \"y\": null}\n\
         \n\
         {\"msg\": \"well played\", \"y\": 0}\n",
    );
    let report = eval_json(
        &[
            "--data",
            &data,
            "--text-field",
            "msg",
            "--label-field",
            "y",
            "--map",
            "0=none,1=insult",
            "--allow-degraded",
        ],
        dir.path(),
    );
    assert_eq!(report["format"], "jsonl");
    assert_eq!(report["rows"]["scored"], 3);
    assert_eq!(report["rows"]["bad"], 3);
    let lines: Vec<u64> = report["bad_rows"]
        .as_array()
        .expect("bad rows")
        .iter()
        .map(|b| b["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, vec![3, 4, 5]);
    assert_eq!(category(&report, "insult")["positives"], 1);
    assert_eq!(category(&report, "insult")["negatives"], 2);
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = write(dir.path(), "d.csv", "text,label\nhello,none\n");
    let txt = write(dir.path(), "d.txt", "text,label\nhello,none\n");
    let cases: [(Vec<&str>, &str); 6] = [
        (vec!["--data", &txt], "--format"),
        (vec!["--data", &csv, "--map", "hateful"], "label=target"),
        (vec!["--data", &csv, "--map", "x=rude"], "rude"),
        (vec!["--data", &csv, "--text-field", "message"], "message"),
        (vec!["--data", &csv, "--sweep-step", "0"], "--sweep-step"),
        (
            vec!["--data", "/nonexistent/waypoint-eval.csv"],
            "cannot read",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["eval"];
        all.extend(args.iter().copied());
        let out = waypoint(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn separates_clear_game_chat_from_clear_insults_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let benign = [
        "good game everyone",
        "nice shot, well played",
        "camp B and wait for them",
        "kill the healer first",
        "i need a heal please",
        "lets push mid together",
        "thanks for the carry",
        "brb getting water",
        "who wants to queue again",
        "defend the base, they are coming",
        "great teamwork guys",
        "my internet is lagging sorry",
    ];
    let toxic = [
        "you are a worthless idiot",
        "shut up you stupid moron",
        "you are so fucking retarded",
        "uninstall the game you pathetic loser",
        "you are a disgusting piece of shit",
        "stfu you dumb bitch",
        "you are the dumbest idiot i have ever seen",
        "go die you useless trash",
        "y0u r a w0rthl3ss 1d10t",
        "shut the fuck up you moron",
    ];
    let mut csv = String::from("text,label\n");
    for line in benign {
        csv.push_str(&format!("\"{line}\",ok\n"));
    }
    for line in toxic {
        csv.push_str(&format!("\"{line}\",toxic\n"));
    }
    let data = write(dir.path(), "chat.csv", &csv);
    let report = eval_json(
        &["--data", &data, "--map", "ok=none,toxic=insult"],
        dir.path(),
    );
    assert_eq!(report["health"]["state"], "ready", "{}", report["health"]);
    let any = category(&report, "any");
    assert_eq!(any["positives"], 10);
    assert_eq!(any["negatives"], 12);
    let recall = any["recall"].as_f64().expect("recall");
    let fpr = any["fpr"].as_f64().expect("fpr");
    let auc = any["roc_auc"].as_f64().expect("auc");
    assert!(recall >= 0.5, "recall {recall}: {any}");
    assert!(fpr <= 1.0 / 6.0, "fpr {fpr}: {any}");
    assert!(auc >= 0.85, "auc {auc}: {any}");
    // Recall, the share of benign lines flagged and the benign rate each come with their
    // 95 % interval, computed from the report's own counts.
    let tp = any["flagged_positives"].as_u64().expect("tp");
    let fp = any["flagged_benign"].as_u64().expect("fp");
    for (key, hits, lines) in [
        (&any["recall_interval_95"], tp, 10),
        (&any["fpr_interval_95"], fp, 12),
        (&report["benign_flagged_interval_95"], fp, 12),
    ] {
        let expected = Interval::wilson(hits, lines).expect("lines");
        assert!(
            close(key["low"].as_f64().expect("low"), expected.low)
                && close(key["high"].as_f64().expect("high"), expected.high),
            "{key} against {expected:?}"
        );
    }
    let insult = category(&report, "insult");
    assert!(insult["roc_auc"].as_f64().expect("auc") >= 0.85, "{insult}");
    // The sweep in the report is monotone too.
    let sweep = insult["sweep"].as_array().expect("sweep");
    assert_eq!(sweep.len(), 19);
    for pair in sweep.windows(2) {
        for key in ["flagged_positives", "flagged_benign"] {
            assert!(pair[1][key].as_u64() <= pair[0][key].as_u64(), "{key}");
        }
    }
    // The human-readable table names every category.
    let out = waypoint(&["eval", "--data", &data, "--map", "ok=none,toxic=insult"]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    for name in [
        "insult",
        "hate",
        "threat",
        "extremism",
        "any",
        "sweep: insult",
    ] {
        assert!(table.contains(name), "{name} missing:\n{table}");
    }
}

/// One line of the grouping fixture: group (or none: the field is absent), label, text.
const GROUPED: [(Option<&str>, &str, &str); 15] = [
    (Some("insults"), "insult", "you are a worthless idiot"),
    (Some("insults"), "insult", "shut up you stupid moron"),
    (
        Some("insults"),
        "insult",
        "you are the dumbest idiot i have ever seen",
    ),
    // Insults labelled as threats: flagged (for insult), but not for their own category.
    (
        Some("insult_as_threat"),
        "threat",
        "you are a disgusting piece of shit",
    ),
    (Some("insult_as_threat"), "threat", "stfu you dumb bitch"),
    (
        Some("insult_as_threat"),
        "threat",
        "shut the fuck up you moron",
    ),
    (Some("game_chat"), "none", "good game everyone"),
    (Some("game_chat"), "none", "nice shot, well played"),
    (Some("game_chat"), "none", "lets push mid together"),
    (Some("game_chat"), "none", "you are a pathetic loser"),
    (Some("game_chat"), "skip", "brb getting water"),
    (Some("mixed"), "insult", "go die you useless trash"),
    // A real-world threat: referred to human review.
    (
        Some("mixed"),
        "threat",
        "i know where you live, tomorrow i will come to your house and stab you",
    ),
    (Some("mixed"), "none", "thanks for the carry"),
    (None, "none", "who wants to queue again"),
];

/// What `waypoint score` (the same scorer) says of one line: its response level, and the
/// categories its reasons name.
fn scored_line(text: &str) -> (String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_waypoint"))
        .arg("score")
        .current_dir(repo())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run waypoint score");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin piped");
        writeln!(stdin, "{text}").expect("write line");
    }
    let out = child.wait_with_output().expect("score finishes");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let categories = line["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["category"].as_str().expect("category").to_owned())
        .collect();
    let response = line["response"].as_str().expect("response").to_owned();
    (response, categories)
}

#[test]
fn groups_lines_by_a_field_with_own_category_recall_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut jsonl = String::new();
    for (group, label, text) in GROUPED {
        let mut object = serde_json::json!({"text": text, "label": label});
        if let Some(group) = group {
            object["kind"] = group.into();
        }
        jsonl.push_str(&format!("{object}\n"));
    }
    let data = write(dir.path(), "grouped.jsonl", &jsonl);
    let report = eval_json(&["--data", &data, "--group-field", "kind"], dir.path());
    assert_eq!(report["health"]["state"], "ready", "{}", report["health"]);
    assert_eq!(report["group_field"], "kind");

    // Expected figures, computed line by line from `waypoint score`.
    let mut expected: std::collections::BTreeMap<String, [u64; 6]> = Default::default();
    let mut referred_somewhere = false;
    let mut trap_exercised = false;
    for (group, label, text) in GROUPED {
        let e = expected
            .entry(group.unwrap_or("(missing)").to_owned())
            .or_default();
        if label == "skip" {
            e[2] += 1;
            continue;
        }
        let (response, categories) = scored_line(text);
        let any = response != "none";
        let own = categories.iter().any(|c| c == label);
        referred_somewhere |= response == "review";
        trap_exercised |= label == "threat" && any && !own;
        e[if label == "none" { 1 } else { 0 }] += 1;
        e[3] += u64::from(label != "none" && own);
        e[4] += u64::from(any);
        e[5] += u64::from(response == "review");
    }
    assert!(
        referred_somewhere,
        "a line of the fixture should be referred"
    );
    assert!(
        trap_exercised,
        "an insult labelled as a threat should be flagged for insult only"
    );

    let groups = report["groups"].as_array().expect("groups");
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["group"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        expected.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for g in groups {
        let name = g["group"].as_str().expect("name");
        let [pos, benign, skipped, own, any, referred] = expected[name];
        let n = |key: &str| g[key].as_u64().expect(key);
        assert_eq!(
            [
                n("positive"),
                n("benign"),
                n("skipped"),
                n("flagged_own_category"),
                n("flagged_any"),
                n("referred")
            ],
            [pos, benign, skipped, own, any, referred],
            "{name}: {g}"
        );
        assert_eq!(n("rows"), pos + benign, "{name}");
        let recall = g["own_category_recall"].as_f64();
        assert_eq!(recall, (pos > 0).then(|| own as f64 / pos as f64), "{name}");
        let rate = g["flagged_any_rate"].as_f64();
        assert_eq!(
            rate,
            (pos + benign > 0).then(|| any as f64 / (pos + benign) as f64),
            "{name}"
        );
        // Each share comes with its 95 % interval, around it.
        for (share, key, hits, lines) in [
            (recall, "own_category_recall_interval_95", own, pos),
            (rate, "flagged_any_interval_95", any, pos + benign),
        ] {
            let bounds = &g[key];
            let Some(share) = share else {
                assert!(bounds.is_null(), "{name} {key}: {bounds}");
                continue;
            };
            let expected = Interval::wilson(hits, lines).expect("lines");
            let (low, high) = (
                bounds["low"].as_f64().expect("low"),
                bounds["high"].as_f64().expect("high"),
            );
            assert!(
                close(low, expected.low) && close(high, expected.high),
                "{name} {key}: {bounds}"
            );
            assert!(
                low <= share && share <= high,
                "{name} {key}: {share} outside {bounds}"
            );
        }
    }

    // The table shows the same groups.
    let out = waypoint(&["eval", "--data", &data, "--group-field", "kind"]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("by kind"), "{table}");
    assert!(table.contains("any 95%"), "{table}");
    for name in expected.keys() {
        assert!(table.contains(name.as_str()), "{name} missing:\n{table}");
    }
}

#[test]
fn group_field_missing_from_a_csv_header_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = write(dir.path(), "d.csv", "text,label\nhello,none\n");
    let out = waypoint(&["eval", "--data", &csv, "--group-field", "functionality"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("functionality"), "{stderr}");
}
