//! Merging is exact: any split of the stream over windows, servers and files adds up to the
//! aggregate of the whole stream.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use waypoint::internals::{LATENCY_BUCKETS, latency_bucket, latency_bucket_bounds};
use waypoint::telemetry::{
    Aggregate, Event, Language, MemorySink, Privacy, Record, ResponseLevel, Rollup, SeededRng,
    SignalKind, SyntheticTraffic, Telemetry, TelemetryConfig,
};
use waypoint::{AgeBand, Category, Scores};

fn arb_event() -> impl Strategy<Value = Event> {
    let category = prop::sample::select(Category::ALL.to_vec());
    let band = prop::sample::select(AgeBand::ALL.to_vec());
    prop_oneof![
        (
            prop::sample::select(vec!["en", "nl", "de-DE", "xx-long-tag", "fr"]),
            prop::array::uniform4(0.0f32..=1.0),
            0u64..5_000_000
        )
            .prop_map(|(lang, s, us)| Event::Scored {
                language: Language::new(lang),
                scores: Scores(s),
                latency: Duration::from_micros(us)
            }),
        prop::sample::select(SignalKind::ALL.to_vec()).prop_map(|kind| Event::Signal { kind }),
        (
            prop::sample::select(ResponseLevel::LADDER.to_vec()),
            category.clone(),
            band.clone()
        )
            .prop_map(|(level, category, age_band)| Event::Response {
                level,
                category,
                age_band
            }),
        (category.clone(), band)
            .prop_map(|(category, age_band)| Event::HelpOpened { category, age_band }),
        category
            .clone()
            .prop_map(|category| Event::Referral { category }),
        (category, any::<bool>())
            .prop_map(|(category, upheld)| Event::Outcome { category, upheld }),
        Just(Event::Drop),
        (0u64..100_000).prop_map(|ms| Event::Degraded {
            duration: Duration::from_millis(ms)
        }),
    ]
}

fn aggregate(events: &[Event]) -> Aggregate {
    let mut agg = Aggregate::default();
    for e in events {
        agg.record(e);
    }
    agg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Splitting a stream into parts, aggregating each and merging in any grouping equals
    /// aggregating it whole.
    #[test]
    fn merge_is_exact_and_associative(events in prop::collection::vec(arb_event(), 0..300), cuts in prop::collection::vec(0usize..300, 0..6)) {
        let whole = aggregate(&events);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
        cuts.push(0);
        cuts.push(events.len());
        cuts.sort_unstable();
        let parts: Vec<Aggregate> = cuts.windows(2).map(|w| aggregate(&events[w[0]..w[1]])).collect();
        let mut left = Aggregate::default();
        for p in &parts {
            left.merge(p);
        }
        let mut right = Aggregate::default();
        for p in parts.iter().rev() {
            let mut acc = p.clone();
            acc.merge(&right);
            right = acc;
        }
        prop_assert_eq!(&left, &whole);
        prop_assert_eq!(&right, &whole);
    }

    /// With k = 1 and no noise, a record is a lossless encoding of its aggregate.
    #[test]
    fn record_round_trip_is_lossless(events in prop::collection::vec(arb_event(), 0..200)) {
        let agg = aggregate(&events);
        let mut privacy = Privacy::new(1, None, Box::new(SeededRng::new(1)));
        let record = privacy.protect(&agg, "s1", 3600, 3600);
        let line = record.to_json().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = Record::from_json(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.to_aggregate().map_err(|e| TestCaseError::fail(e.to_string()))?, agg);
    }

    /// Every latency falls in the bucket whose bounds contain it.
    #[test]
    fn latency_buckets_contain_their_values(us in 0u64..u64::MAX) {
        let b = latency_bucket(us);
        prop_assert!(b < LATENCY_BUCKETS);
        let (low, high) = latency_bucket_bounds(b);
        prop_assert!(low <= us && (us < high || high == u64::MAX), "{us} not in bucket {b} = [{low}, {high})");
    }
}

/// Many servers write records through the real pipeline; reading them back and merging per
/// window equals aggregating each window of the whole stream at once.
#[test]
fn merging_exported_records_equals_whole_stream() -> Result<(), Box<dyn std::error::Error>> {
    let traffic = SyntheticTraffic {
        hours: 6,
        peak_messages_per_hour: 400,
        ..SyntheticTraffic::default()
    };
    let events = traffic.events();
    let servers = ["eu-1", "eu-2", "us-1"];
    let mut whole: BTreeMap<u64, Aggregate> = BTreeMap::new();
    let mut sinks = Vec::new();
    let mut handles = Vec::new();
    for server in servers {
        let sink = MemorySink::new();
        let config = TelemetryConfig {
            window_secs: 3600,
            k: 1,
            server_id: server.to_owned(),
            ..TelemetryConfig::default()
        };
        handles.push(Telemetry::builder(config).sink(sink.clone()).build()?);
        sinks.push(sink);
    }
    for (i, (at, event)) in events.iter().enumerate() {
        let secs = at.duration_since(UNIX_EPOCH)?.as_secs();
        whole.entry(secs - secs % 3600).or_default().record(event);
        handles[i % servers.len()].record_at(event.clone(), *at);
    }
    for handle in &handles {
        handle.flush(Duration::from_secs(5))?;
    }
    let mut rollup = Rollup::default();
    for sink in &sinks {
        for record in sink.records() {
            let line = record.to_json()?;
            let record = Record::from_json(&line)?;
            rollup.add(&record, &record.to_aggregate()?);
        }
    }
    assert_eq!(rollup.windows.len(), 6);
    assert_eq!(rollup.windows, whole);
    assert_eq!(rollup.servers.len(), 3);
    Ok(())
}

/// Events of an earlier window after a later one count in the current window; a restart within
/// a window produces a second record that merges with the first.
#[test]
fn late_events_and_restarts_still_add_up() -> Result<(), Box<dyn std::error::Error>> {
    let sink = MemorySink::new();
    let config = TelemetryConfig {
        window_secs: 60,
        k: 1,
        ..TelemetryConfig::default()
    };
    let t = Telemetry::builder(config).sink(sink.clone()).build()?;
    let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
    t.record_at(Event::Drop, at(120));
    t.record_at(Event::Drop, at(100)); // late: counted in window 120
    t.flush(Duration::from_secs(2))?; // partial window 120 exported
    t.record_at(Event::Drop, at(150)); // same window again
    t.tick_at(at(185));
    t.flush(Duration::from_secs(2))?;
    let records = sink.records();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r.window_start == 120));
    let mut rollup = Rollup::default();
    for r in &records {
        rollup.add(r, &r.to_aggregate()?);
    }
    assert_eq!(rollup.total().queue_drops.count, 3);
    Ok(())
}

/// Bucket edges: every power of two starts a bucket, and the overflow bucket is separate.
#[test]
fn latency_bucket_edges() {
    assert_eq!(latency_bucket(7), 7);
    assert_eq!(latency_bucket(8), 8);
    assert_eq!(latency_bucket(255), latency_bucket(224));
    assert_ne!(latency_bucket(256), latency_bucket(255));
    let top = latency_bucket((1 << 27) - 1);
    let overflow = latency_bucket(1 << 27);
    assert_eq!(overflow, LATENCY_BUCKETS - 1);
    assert_eq!(top, LATENCY_BUCKETS - 2);
    assert_eq!(latency_bucket_bounds(top).1, 1 << 27);
    assert_eq!(latency_bucket(u64::MAX), overflow);
    for b in 0..LATENCY_BUCKETS - 1 {
        let (low, high) = latency_bucket_bounds(b);
        assert_eq!(latency_bucket(low), b);
        assert_eq!(latency_bucket(high - 1), b);
        assert_eq!(
            latency_bucket_bounds(b + 1).0,
            high,
            "buckets {b} and {} touch",
            b + 1
        );
    }
}

/// The handle can be shared with worker threads.
#[test]
fn telemetry_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Telemetry>();
}
