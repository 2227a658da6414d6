//! `waypoint report`: merges telemetry from several servers into an HTML page and a JSON summary,
//! and the page renders in headless Chromium.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use waypoint::telemetry::{Record, Rollup, SyntheticTraffic, Telemetry, TelemetryConfig};

const SERVERS: [&str; 3] = ["eu-west-1", "eu-central-2", "us-east-1"];

/// Writes realistic telemetry for three servers (two days, hourly windows, k = 10) into `dir`
/// through the real file exporter, one traffic pattern per server.
fn generate(dir: &Path, hours: u64, epsilon: Option<f64>) -> Vec<PathBuf> {
    for (i, server) in SERVERS.iter().enumerate() {
        let config = TelemetryConfig {
            server_id: (*server).to_owned(),
            file_dir: Some(dir.to_owned()),
            epsilon,
            ..TelemetryConfig::default()
        };
        let telemetry = Telemetry::builder(config).build().unwrap();
        let traffic = SyntheticTraffic {
            seed: 11 + i as u64,
            hours,
            peak_messages_per_hour: [1500, 700, 300][i],
            ..SyntheticTraffic::default()
        };
        for (at, event) in traffic.events() {
            telemetry.record_at(event, at);
        }
        telemetry.shutdown(Duration::from_secs(10)).unwrap();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn waypoint() -> Command {
    Command::new(env!("CARGO_BIN_EXE_waypoint"))
}

fn run_report(files: &[PathBuf], out: &Path) -> serde_json::Value {
    let output = waypoint()
        .arg("report")
        .arg("--input")
        .args(files)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = std::fs::read_to_string(out.with_extension("json")).unwrap();
    serde_json::from_str(&summary).unwrap()
}

#[test]
fn report_merges_servers_into_html_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let files = generate(&dir.path().join("telemetry"), 48, None);
    assert!(files.len() >= 3);
    let out = dir.path().join("out/report.html");
    let summary = run_report(&files, &out);

    // The summary equals merging the same files with the library.
    let mut rollup = Rollup::default();
    let mut records = 0;
    for file in &files {
        for line in std::fs::read_to_string(file).unwrap().lines() {
            let r = Record::from_json(line).unwrap();
            rollup.add(&r, &r.to_aggregate().unwrap());
            records += 1;
        }
    }
    let total = rollup.total();
    assert_eq!(summary["sources"]["records"], records);
    assert_eq!(summary["sources"]["servers"].as_array().unwrap().len(), 3);
    assert_eq!(summary["sources"]["windows"], 48);
    assert_eq!(summary["messages"]["count"], total.total_messages().count);
    assert_eq!(summary["sources"]["k"], 10);
    assert!(
        summary["suppressed_cells"].as_u64().unwrap() > 0,
        "a quiet server has small cells"
    );
    for category in ["insult", "hate", "threat", "extremism"] {
        assert!(
            summary["reviews"][category]["precision"].as_f64().is_some(),
            "{category}: no precision"
        );
    }
    assert!(summary["latency"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(summary["windows"].as_array().unwrap().len(), 48);

    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 5, "five charts");
    for heading in [
        "How much chat was checked",
        "The response ladder",
        "The help funnel",
        "Review precision",
        "Scoring latency",
        "Transparency table",
    ] {
        assert!(html.contains(heading), "missing section {heading}");
    }
    assert!(
        html.contains("class=\"hidden\""),
        "suppressed cells are marked in tables"
    );
    assert!(
        html.contains("hidden for privacy"),
        "suppressed ranges are marked in charts"
    );
    assert!(!html.contains("<script"), "no scripts");
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(external), "self-contained: found {external}");
    }
}

#[test]
fn report_reads_directories_and_reports_bad_lines_with_their_location() {
    let dir = tempfile::tempdir().unwrap();
    let tdir = dir.path().join("t");
    generate(&tdir, 2, Some(1.0));
    let out = dir.path().join("r.html");
    let summary_path = dir.path().join("summary.json");
    let status = waypoint()
        .args(["report", "--quiet", "--input"])
        .arg(&tdir)
        .arg("--out")
        .arg(&out)
        .arg("--summary")
        .arg(&summary_path)
        .status()
        .unwrap();
    assert!(status.success());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    assert_eq!(summary["sources"]["epsilons"][0], 1.0);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("random noise")
    );

    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"schema\":\"waypoint-telemetry\",\"version\":1}\n").unwrap();
    let output = waypoint()
        .arg("report")
        .arg("--input")
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("x.html"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.jsonl:1"), "{stderr}");

    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let output = waypoint()
        .arg("report")
        .arg("--input")
        .arg(&empty)
        .arg("--out")
        .arg(dir.path().join("y.html"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no telemetry records"));
}

/// Runs a command, killing it after `limit`.
fn run_with_limit(mut command: Command, limit: Duration) -> std::process::ExitStatus {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn report_renders_in_headless_chromium() {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "/usr/bin/chromium is missing: run `scripts/install-test-deps.sh` (installs Debian's chromium package) before the tests"
    );
    let dir = tempfile::tempdir().unwrap();
    let files = generate(&dir.path().join("telemetry"), 48, None);
    let out = dir.path().join("report.html");
    run_report(&files, &out);
    let png_path = std::env::var_os("WAYPOINT_REPORT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("report.png"));
    if std::env::var_os("WAYPOINT_REPORT_SCREENSHOT").is_some() {
        // Keep the page next to the screenshot for a person to look at.
        std::fs::copy(&out, png_path.with_extension("html")).unwrap();
    }
    let profile = dir.path().join("chromium-profile");
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("file://{}", out.display()));
    let status = run_with_limit(command, Duration::from_secs(120));
    assert!(status.success(), "chromium exited with {status}");

    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 2000));
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut non_white = 0usize;
    for px in pixels.chunks(channels) {
        let rgb = [px[0], px[1], px[2]];
        colours.insert(rgb);
        if rgb != [255, 255, 255] {
            non_white += 1;
        }
    }
    let total = (info.width * info.height) as usize;
    assert!(
        colours.len() > 50,
        "only {} distinct colours: the page looks blank",
        colours.len()
    );
    assert!(
        non_white * 10 > total,
        "only {non_white} of {total} pixels are not white"
    );
}
