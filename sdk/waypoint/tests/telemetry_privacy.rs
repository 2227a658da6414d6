//! Privacy: no cell below k leaves the process, suppressed cells are marked, noise is seeded and
//! injectable, and nothing but codes and counts can be written.

use std::time::Duration;

use waypoint::telemetry::{
    Aggregate, Event, Language, NoiseSource, Privacy, Record, ResponseLevel, SeededRng, SignalKind,
    SyntheticTraffic, TelemetryConfig, TelemetryConfigError,
};
use waypoint::{AgeBand, Category, Scores};

/// Every count cell of a record, as (shown count, suppressed flag).
fn cells(record: &Record) -> Vec<(Option<u64>, bool)> {
    let value: serde_json::Value = serde_json::to_value(record).unwrap_or_default();
    let mut out = Vec::new();
    collect(&value, &mut out);
    out
}

fn collect(value: &serde_json::Value, out: &mut Vec<(Option<u64>, bool)>) {
    match value {
        serde_json::Value::Object(map) => {
            if map.contains_key("count") || map.contains_key("suppressed") {
                out.push((
                    map.get("count").and_then(serde_json::Value::as_u64),
                    map.get("suppressed") == Some(&true.into()),
                ));
            }
            map.values().for_each(|v| collect(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

fn synthetic_aggregate(hours: u64, peak_messages_per_hour: u64) -> Aggregate {
    let mut agg = Aggregate::default();
    let traffic = SyntheticTraffic {
        hours,
        peak_messages_per_hour,
        ..SyntheticTraffic::default()
    };
    for (_, e) in traffic.events() {
        agg.record(&e);
    }
    agg
}

#[test]
fn no_cell_below_k_is_exported_and_small_cells_are_marked() {
    let agg = synthetic_aggregate(1, 300);
    for k in [2, 10, 50] {
        let record = Privacy::new(k, None, Box::new(SeededRng::new(3))).protect(&agg, "s", 0, 3600);
        let cells = cells(&record);
        assert!(!cells.is_empty());
        for (count, suppressed) in &cells {
            match (count, suppressed) {
                (Some(n), false) => assert!(*n >= k, "cell {n} < k = {k} exported"),
                (None, true) => {}
                other => panic!("malformed cell {other:?}"),
            }
        }
        assert!(
            cells.iter().any(|(_, s)| *s),
            "k = {k}: expected some suppressed cells in one quiet hour"
        );
    }
}

#[test]
fn noise_is_seeded_and_still_respects_k() {
    let agg = synthetic_aggregate(2, 5000);
    let a = Privacy::new(10, Some(0.5), Box::new(SeededRng::new(42))).protect(&agg, "s", 0, 3600);
    let b = Privacy::new(10, Some(0.5), Box::new(SeededRng::new(42))).protect(&agg, "s", 0, 3600);
    let c = Privacy::new(10, Some(0.5), Box::new(SeededRng::new(43))).protect(&agg, "s", 0, 3600);
    assert_eq!(a, b, "same seed, same record");
    assert_ne!(a, c, "another seed, other noise");
    assert_eq!(a.epsilon, Some(0.5));
    for (count, suppressed) in cells(&a) {
        assert!(suppressed || count.is_some_and(|n| n >= 10));
    }
    // With noise the full fixed domain is offered: empty cells appear too (as suppressed).
    assert_eq!(a.responses.len(), 3 * 4 * 3);
    // Noise is unbiased enough: the shown total stays near the truth.
    let exact: u64 = agg.total_messages().count;
    let noisy: u64 = a.messages.iter().filter_map(|c| c.value.count).sum();
    let diff = exact.abs_diff(noisy) as f64 / exact as f64;
    assert!(diff < 0.05, "noisy total {noisy} too far from {exact}");
}

#[test]
fn laplace_noise_has_the_documented_scale() {
    struct Counter(SeededRng, u64);
    impl NoiseSource for Counter {
        fn next_u64(&mut self) -> u64 {
            self.1 += 1;
            self.0.next_u64()
        }
    }
    let mut rng = Counter(SeededRng::new(9), 0);
    let n = 20_000;
    let scale = 3.0;
    let samples: Vec<f64> = (0..n)
        .map(|_| waypoint::internals::laplace(&mut rng, scale))
        .collect();
    let mean_abs = samples.iter().map(|x| x.abs()).sum::<f64>() / n as f64;
    // E|X| = b for Laplace(0, b).
    assert!((mean_abs - scale).abs() < 0.1, "mean |x| = {mean_abs}");
    assert_eq!(rng.1, n as u64, "one random word per sample");
}

#[test]
fn language_codes_cannot_carry_text() {
    for text in [
        "kill yourself",
        "CANARY-9f2c",
        "http://x",
        "nl-BE-extra text",
        "ёж",
        "a",
    ] {
        let lang = Language::new(text);
        assert!(
            lang.as_str().len() <= 3 && lang.as_str().chars().all(|c| c.is_ascii_lowercase()),
            "{text:?} → {lang}"
        );
    }
    assert_eq!(Language::new("nl-BE").as_str(), "nl");
    assert_eq!(Language::new("PT_br").as_str(), "pt");
    assert_eq!(Language::new("CANARY-9f2c"), Language::UNDETERMINED);
    assert!(serde_json::from_str::<Language>("\"english\"").is_err());
}

#[test]
fn config_defaults_and_validation() {
    let config: TelemetryConfig = toml::from_str("").unwrap_or_default();
    assert_eq!(config, TelemetryConfig::default());
    assert_eq!(
        (config.window_secs, config.k, config.epsilon),
        (3600, 10, None)
    );
    assert!(config.validate().is_ok());
    let parsed: Result<TelemetryConfig, _> = toml::from_str(
        "window_secs = 60\nk = 5\nepsilon = 0.5\nserver_id = \"eu-1\"\nhttp_url = \"http://127.0.0.1:9/x\"",
    );
    assert!(parsed.is_ok_and(|c| c.validate().is_ok() && c.k == 5));
    assert!(
        toml::from_str::<TelemetryConfig>("bogus = 1").is_err(),
        "unknown fields are rejected"
    );
    let bad = |c: TelemetryConfig| c.validate().err();
    assert_eq!(
        bad(TelemetryConfig {
            k: 0,
            ..Default::default()
        }),
        Some(TelemetryConfigError::ZeroK)
    );
    assert_eq!(
        bad(TelemetryConfig {
            epsilon: Some(-1.0),
            ..Default::default()
        }),
        Some(TelemetryConfigError::Epsilon(-1.0))
    );
    assert!(matches!(
        bad(TelemetryConfig {
            server_id: "player 42".into(),
            ..Default::default()
        }),
        Some(TelemetryConfigError::ServerId(_))
    ));
    assert!(matches!(
        bad(TelemetryConfig {
            http_url: Some("ftp://x".into()),
            ..Default::default()
        }),
        Some(TelemetryConfigError::HttpUrl(_))
    ));
}

#[test]
fn record_schema_is_versioned_and_strict() {
    let mut agg = Aggregate::default();
    agg.record(&Event::Response {
        level: ResponseLevel::Help,
        category: Category::Hate,
        age_band: AgeBand::Minor,
    });
    agg.record(&Event::Scored {
        language: Language::new("en"),
        scores: Scores([0.95, 0.0, 0.0, 0.0]),
        latency: Duration::from_micros(300),
    });
    let before = agg.clone();
    agg.record(&Event::Response {
        level: ResponseLevel::None,
        category: Category::Hate,
        age_band: AgeBand::Minor,
    });
    assert_eq!(agg, before, "no response is not counted");
    let record = Privacy::new(1, None, Box::new(SeededRng::new(0))).protect(&agg, "s", 0, 60);
    let line = record.to_json().unwrap_or_default();
    assert!(
        line.contains("\"schema\":\"waypoint-telemetry\",\"version\":1"),
        "{line}"
    );
    assert!(
        line.contains(
            "{\"response\":\"help\",\"category\":\"hate\",\"age_band\":\"minor\",\"count\":1}"
        ),
        "{line}"
    );
    assert!(Record::from_json(&line.replace("\"version\":1", "\"version\":2")).is_err());
    assert!(
        Record::from_json(&line.replace("\"response\":\"help\"", "\"response\":\"none\"")).is_err()
    );
    assert!(
        Record::from_json(
            &line.replace("\"schema\":\"waypoint-telemetry\"", "\"schema\":\"other\"")
        )
        .is_err()
    );
    assert!(
        Record::from_json(&line.replace("\"degraded_ms\"", "\"player\":\"x\",\"degraded_ms\""))
            .is_err()
    );
}

#[test]
fn records_name_signal_kinds_by_their_telemetry_names_and_never_count_chat() {
    let mut agg = Aggregate::default();
    for kind in SignalKind::ALL {
        agg.record(&Event::Signal { kind });
    }
    assert_eq!(agg.signals[SignalKind::Chat.index()].count, 0);
    let record = Privacy::new(1, None, Box::new(SeededRng::new(0))).protect(&agg, "s", 0, 60);
    let line = record.to_json().unwrap_or_default();
    for name in ["report", "block", "name_change", "group_join", "custom"] {
        assert!(
            line.contains(&format!("{{\"kind\":\"{name}\",\"count\":1}}")),
            "{name}: {line}"
        );
    }
    assert!(!line.contains("\"chat\""), "{line}");
    let back = Record::from_json(&line)
        .ok()
        .and_then(|r| r.to_aggregate().ok());
    assert_eq!(back.map(|a| a.signals), Some(agg.signals));
    // A record names neither chat nor the short reason name of a name change.
    for other in ["chat", "name"] {
        let bad = line.replace("\"kind\":\"report\"", &format!("\"kind\":\"{other}\""));
        assert!(Record::from_json(&bad).is_err(), "{other} accepted");
    }
}

/// Carry-over: small cells wait for later windows instead of being lost; no shown cell is below
/// k, and over the whole run the shown counts plus the final suppressed remainder bound the truth.
#[test]
fn carry_over_releases_small_cells_later_without_showing_any_below_k() {
    use waypoint::telemetry::{MemorySink, Rollup, Telemetry};
    let k = 10;
    let sink = MemorySink::new();
    let config = TelemetryConfig {
        k,
        server_id: "quiet-1".into(),
        ..TelemetryConfig::default()
    };
    assert!(config.carry_over, "carry-over is the default");
    let telemetry = Telemetry::builder(config)
        .sink(sink.clone())
        .build()
        .unwrap();
    let traffic = SyntheticTraffic {
        hours: 24,
        peak_messages_per_hour: 2000,
        ..SyntheticTraffic::default()
    };
    let mut truth = Aggregate::default();
    for (at, event) in traffic.events() {
        truth.record(&event);
        telemetry.record_at(event, at);
    }
    telemetry.shutdown(Duration::from_secs(5)).unwrap();
    let records = sink.records();
    let mut rollup = Rollup::default();
    for record in &records {
        for (count, suppressed) in cells(record) {
            assert!(
                suppressed || count.is_none() || count.is_some_and(|n| n >= k),
                "cell {count:?} below k"
            );
        }
        rollup.add(record, &record.to_aggregate().unwrap());
    }
    let merged = rollup.total();
    let check = |name: &str, shown: waypoint::telemetry::Tally, truth: u64| {
        assert!(
            shown.count <= truth && truth <= shown.count + shown.suppressed * (k - 1),
            "{name}: {shown:?} vs {truth}"
        );
    };
    check(
        "messages",
        merged.total_messages(),
        truth.total_messages().count,
    );
    for category in Category::ALL {
        for upheld in [true, false] {
            let d = waypoint::telemetry::Decision::from_upheld(upheld);
            check(
                "outcomes",
                merged.decisions(category, d),
                truth.decisions(category, d).count,
            );
        }
        check(
            "referrals",
            merged.referrals[category.index()],
            truth.referrals[category.index()].count,
        );
    }
    // Rare review decisions are reported (later) rather than hidden.
    let decided: u64 = Category::ALL
        .iter()
        .map(|c| {
            merged
                .decisions(*c, waypoint::telemetry::Decision::Upheld)
                .count
        })
        .sum();
    let true_decided: u64 = Category::ALL
        .iter()
        .map(|c| {
            truth
                .decisions(*c, waypoint::telemetry::Decision::Upheld)
                .count
        })
        .sum();
    assert!(
        decided * 10 >= true_decided * 7,
        "only {decided} of {true_decided} upheld decisions shown"
    );
    assert!(
        records
            .iter()
            .any(|r| serde_json::to_string(r).unwrap().contains("\"held\":true"))
    );
}
