//! Exporters: rotating JSONL files, HTTP batches to a real loopback server, including an outage
//! during which the caller is never blocked.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

#[macro_use]
mod transport_support;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use waypoint::telemetry::{
    Event, ExporterOptions, HttpSink, JsonlFileSink, Record, Sink, SyntheticTraffic, Telemetry,
    TelemetryConfig,
};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A loopback HTTP server that stores every request body's lines.
struct Server {
    received: Arc<Mutex<Vec<String>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(addr: &str) -> Server {
        let server = Arc::new(tiny_http::Server::http(addr).expect("bind loopback"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (srv, rec) = (Arc::clone(&server), Arc::clone(&received));
        let thread = std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                assert_eq!(request.method(), &tiny_http::Method::Post);
                rec.lock().unwrap().extend(body.lines().map(str::to_owned));
                let _ = request.respond(tiny_http::Response::empty(204));
            }
        });
        Server {
            received,
            server,
            thread: Some(thread),
        }
    }

    fn port(&self) -> u16 {
        self.server
            .server_addr()
            .to_ip()
            .expect("ip listener")
            .port()
    }

    fn records(&self) -> Vec<Record> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|l| Record::from_json(l).expect("valid record"))
            .collect()
    }

    fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn fast_retry() -> ExporterOptions {
    ExporterOptions {
        capacity: 256,
        batch_size: 8,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
    }
}

#[test]
fn file_exporter_rotates_and_writes_valid_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let config = TelemetryConfig {
        window_secs: 60,
        k: 1,
        server_id: "eu-3".into(),
        file_dir: Some(dir.path().to_owned()),
        file_max_bytes: 2_000,
        ..TelemetryConfig::default()
    };
    let t = Telemetry::builder(config).build().unwrap();
    let events = SyntheticTraffic {
        hours: 4,
        ..SyntheticTraffic::default()
    }
    .events();
    assert!(events.len() >= 3000);
    for (i, (_, e)) in events.into_iter().take(3000).enumerate() {
        t.record_at(e, at(i as u64 * 3));
    }
    t.flush(Duration::from_secs(5)).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files.len() > 1,
        "rotation should start new files: {files:?}"
    );
    let mut records = 0;
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("waypoint-telemetry-eu-3-") && name.ends_with(".jsonl"),
            "{name}"
        );
        for line in std::fs::read_to_string(file).unwrap().lines() {
            Record::from_json(line).unwrap();
            records += 1;
        }
    }
    assert_eq!(records, 150);
}

#[test]
fn file_sink_reports_unwritable_directories() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let mut sink = JsonlFileSink::new(blocker.join("sub"), "s", 1000);
    let err = sink.write_batch(&[]).unwrap_err();
    assert!(err.is_retryable());
    assert!(err.to_string().contains("not-a-dir"));
}

on_each_http_runtime! {
    fn http_exporter_delivers_batches_to_a_loopback_server() {
        let server = Server::start("127.0.0.1:0");
        let config = TelemetryConfig {
            window_secs: 60,
            k: 1,
            server_id: "eu-1".into(),
            http_url: Some(format!("http://127.0.0.1:{}/ingest", server.port())),
            ..TelemetryConfig::default()
        };
        let t = Telemetry::builder(config)
            .exporter_options(fast_retry())
            .build()
            .unwrap();
        for minute in 0..20u64 {
            t.record_at(Event::Drop, at(minute * 60));
        }
        t.flush(Duration::from_secs(10)).unwrap();
        let records = server.records();
        assert_eq!(records.len(), 20);
        assert!(
            records
                .iter()
                .all(|r| r.server == "eu-1" && r.queue_drops.and_then(|c| c.count) == Some(1))
        );
        assert_eq!(t.stats().exporters[0].exported, 20);
        drop(t);
        server.stop();
    }

    fn http_exporter_survives_an_outage_without_blocking_the_caller() {
        // Reserve a port, then free it: nothing listens there during the outage.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = TelemetryConfig {
            window_secs: 1,
            k: 1,
            server_id: "eu-2".into(),
            http_url: Some(format!("http://127.0.0.1:{port}/ingest")),
            ..TelemetryConfig::default()
        };
        let t = Telemetry::builder(config)
            .exporter_options(fast_retry())
            .build()
            .unwrap();
        let traffic = SyntheticTraffic {
            hours: 4,
            peak_messages_per_hour: 3000,
            ..SyntheticTraffic::default()
        }
        .events();
        assert!(traffic.len() >= 3000);
        let mut worst = Duration::ZERO;
        let outage = Instant::now();
        // One second-long window per 100 events: 30 closed windows while the endpoint is down.
        for (i, (_, event)) in traffic.iter().take(3000).enumerate() {
            let started = Instant::now();
            t.record_at(event.clone(), at(1_000 + i as u64 / 100));
            worst = worst.max(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(300)); // a few failed retries
        assert!(
            t.flush(Duration::from_millis(50)).is_err(),
            "nothing can be delivered while the server is down"
        );
        let during = t.stats().exporters[0];
        assert_eq!(during.exported, 0);
        assert!(during.failures >= 2, "retried with backoff: {during:?}");
        assert!(
            worst < Duration::from_millis(200),
            "record() blocked for {worst:?} during the outage"
        );
        assert!(outage.elapsed() < Duration::from_secs(5));

        // The server comes back on the same port: everything queued arrives.
        let server = Server::start(&format!("127.0.0.1:{port}"));
        t.flush(Duration::from_secs(10)).unwrap();
        let records = server.records();
        assert_eq!(
            records.len(),
            30,
            "every closed window and the last partial one arrive"
        );
        let total: u64 = records
            .iter()
            .map(|r| r.to_aggregate().unwrap().total_messages().count)
            .sum();
        let expected = traffic
            .iter()
            .take(3000)
            .filter(|(_, e)| matches!(e, Event::Scored { .. }))
            .count() as u64;
        assert_eq!(total, expected);
        let stats = t.stats().exporters[0];
        assert_eq!((stats.exported, stats.dropped), (30, 0));
        drop(t);
        server.stop();
    }

    fn http_exporter_counts_drops_when_its_queue_overflows() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = TelemetryConfig {
            window_secs: 1,
            k: 1,
            http_url: Some(format!("http://127.0.0.1:{port}/")),
            ..TelemetryConfig::default()
        };
        let options = ExporterOptions {
            capacity: 4,
            ..fast_retry()
        };
        let t = Telemetry::builder(config)
            .exporter_options(options)
            .build()
            .unwrap();
        for s in 0..40 {
            t.record_at(Event::Drop, at(s));
        }
        t.tick_at(at(41));
        std::thread::sleep(Duration::from_millis(100));
        let stats = t.stats().exporters[0];
        assert!(stats.dropped >= 30, "{stats:?}");
        // The next record reports the exporter's losses.
        let server = Server::start(&format!("127.0.0.1:{port}"));
        t.record_at(Event::Drop, at(50));
        t.flush(Duration::from_secs(10)).unwrap();
        assert!(server.records().iter().any(|r| r.export_drops > 0));
        drop(t);
        server.stop();
    }

    fn http_sink_rejects_non_success_statuses() {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let handle = std::thread::spawn(move || {
            if let Ok(request) = server.recv() {
                let _ = request.respond(tiny_http::Response::empty(400));
            }
        });
        let mut sink = HttpSink::new(format!("http://127.0.0.1:{port}/"), Duration::from_secs(5));
        let err = sink.write_batch(&[]).unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        handle.join().unwrap();
    }
}
