//! Webhook delivery against real loopback HTTP servers: outages, retries, `Retry-After`,
//! permanent failures, replay from the spool, and loud refusals when full.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

mod referral_support;
#[macro_use]
mod transport_support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use referral_support::{
    HangingServer, Reply, TestReceiver, fast_retry, free_port, packet, sender_builder,
};
use waypoint::referral::{ReferralEvent, SendError};

fn collect_events() -> (
    Arc<Mutex<Vec<ReferralEvent>>>,
    waypoint::referral::EventCallback,
) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    (
        events,
        Arc::new(move |event: &ReferralEvent| sink.lock().unwrap().push(event.clone())),
    )
}

on_each_http_runtime! {
    fn endpoint_down_for_seconds_then_back_delivers_each_referral_exactly_once() {
        let spool = tempfile::tempdir().unwrap();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}/referrals");
        let sender = sender_builder(&url, spool.path()).start().unwrap();

        let mut ids = HashSet::new();
        for i in 0..25 {
            ids.insert(sender.send(packet(i)).unwrap().to_string());
        }
        assert!(sender.sync_spool(Duration::from_secs(10)));
        // Nothing listens for three seconds: every attempt is refused.
        thread::sleep(Duration::from_secs(3));
        let during = sender.stats();
        assert_eq!(during.delivered, 0);
        assert!(during.retries >= 3, "{during:?}");
        assert!(sender.health().endpoint_failing);
        assert_eq!(during.pending, 25);

        let receiver = TestReceiver::start(port, Duration::from_secs(300));
        let status = sender.flush(Duration::from_secs(20));
        assert_eq!(status.pending, 0, "{status:?}");

        let accepted = receiver.accepted();
        let seen: HashSet<String> = accepted.keys().cloned().collect();
        assert_eq!(seen, ids, "the receiver saw every id");
        assert!(accepted.values().all(|n| *n == 1));
        // Refused connections never reached the receiver: not even a deduplicated repeat.
        assert!(
            receiver.raw().values().all(|n| *n == 1),
            "{:?}",
            receiver.raw()
        );
        assert_eq!(receiver.rejected(), 0);
        let after = sender.stats();
        assert_eq!(after.delivered, 25);
        assert!(sender.health().is_healthy(), "{:?}", sender.health());
        // Delivered records are gone from the spool.
        let left = std::fs::read_dir(spool.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_file())
            .count();
        assert_eq!(left, 0);
        sender.shutdown(Duration::from_secs(5));
    }

    fn retry_after_and_server_errors_are_retried() {
        let spool = tempfile::tempdir().unwrap();
        let receiver = TestReceiver::start(0, Duration::from_secs(300));
        receiver.script([
            Reply::Status(429, Some("1".into())),
            Reply::Status(503, None),
            Reply::Status(408, None),
        ]);
        let (events, callback) = collect_events();
        let sender = sender_builder(&receiver.url(), spool.path())
            .on_event(callback)
            .start()
            .unwrap();
        let id = sender.send(packet(1)).unwrap().to_string();
        assert_eq!(sender.flush(Duration::from_secs(15)).pending, 0);

        let captured = receiver.captured();
        assert_eq!(captured.len(), 4);
        let waited = captured[1].at.duration_since(captured[0].at);
        assert!(
            waited >= Duration::from_millis(950),
            "Retry-After: 1 was not honoured ({waited:?})"
        );
        assert_eq!(receiver.accepted().get(&id), Some(&1));
        assert_eq!(receiver.raw().get(&id), Some(&4));
        let stats = sender.stats();
        assert_eq!((stats.attempts, stats.retries, stats.delivered), (4, 3, 1));
        let events = events.lock().unwrap();
        assert!(events.iter().any(|e| matches!(
            e,
            ReferralEvent::Delivered {
                attempts: 4,
                status: 200,
                ..
            }
        )));
        // Every retry carried a fresh, valid signature (the receiver verified all four).
        assert_eq!(receiver.rejected(), 0);
        sender.shutdown(Duration::from_secs(5));
    }

    fn client_errors_are_permanent_recorded_and_reported() {
        let spool = tempfile::tempdir().unwrap();
        let receiver = TestReceiver::start(0, Duration::from_secs(300));
        receiver.set_default_reply(Reply::Status(422, None));
        let (events, callback) = collect_events();
        let sender = sender_builder(&receiver.url(), spool.path())
            .on_event(callback)
            .start()
            .unwrap();
        let id = sender.send(packet(7)).unwrap();
        assert_eq!(sender.flush(Duration::from_secs(10)).pending, 0);

        let stats = sender.stats();
        assert_eq!(
            (
                stats.attempts,
                stats.retries,
                stats.permanent_failures,
                stats.delivered
            ),
            (1, 0, 1, 0)
        );
        let health = sender.health();
        assert_eq!(health.permanent_failures, 1);
        assert!(!health.is_healthy());
        assert!(
            spool
                .path()
                .join("failed")
                .join(format!("{id}.wpr"))
                .is_file()
        );
        let reason =
            std::fs::read_to_string(spool.path().join("failed").join(format!("{id}.reason"))).unwrap();
        assert!(reason.contains("422"), "{reason}");
        assert!(
            events
                .lock()
                .unwrap()
                .iter()
                .any(|e| matches!(e, ReferralEvent::PermanentFailure { status: 422, .. }))
        );
        sender.shutdown(Duration::from_secs(5));

        // Not replayed after a restart: a human has to look at failed/.
        let again = sender_builder(&receiver.url(), spool.path())
            .start()
            .unwrap();
        assert_eq!(again.stats().replayed, 0);
        again.shutdown(Duration::from_secs(5));
    }

    fn unsent_referrals_are_replayed_on_start() {
        let spool = tempfile::tempdir().unwrap();
        let down = format!("http://127.0.0.1:{}/referrals", free_port());
        let first = sender_builder(&down, spool.path()).start().unwrap();
        let ids: HashSet<String> = (0..5)
            .map(|i| first.send(packet(i)).unwrap().to_string())
            .collect();
        assert!(first.sync_spool(Duration::from_secs(10)));
        let status = first.shutdown(Duration::from_secs(5));
        assert_eq!((status.pending, status.unspooled), (5, 0));

        let receiver = TestReceiver::start(0, Duration::from_secs(300));
        let second = sender_builder(&receiver.url(), spool.path())
            .start()
            .unwrap();
        assert_eq!(second.stats().replayed, 5);
        assert_eq!(second.flush(Duration::from_secs(10)).pending, 0);
        let seen: HashSet<String> = receiver.accepted().keys().cloned().collect();
        assert_eq!(seen, ids);
        second.shutdown(Duration::from_secs(5));
    }

    fn full_spool_is_refused_loudly_and_hands_the_packet_back() {
        let spool = tempfile::tempdir().unwrap();
        let down = format!("http://127.0.0.1:{}/referrals", free_port());
        let (events, callback) = collect_events();
        let sender = sender_builder(&down, spool.path())
            .spool_limits(3, 1 << 20)
            .on_event(callback)
            .start()
            .unwrap();
        for i in 0..3 {
            sender.send(packet(i)).unwrap();
        }
        let refused = packet(99);
        let refused_id = refused.case_id;
        match sender.send(refused) {
            Err(SendError::SpoolFull(back)) => assert_eq!(back.case_id, refused_id),
            other => panic!("expected SpoolFull, got {other:?}"),
        }
        let health = sender.health();
        assert!(health.spool_full && !health.is_healthy(), "{health:?}");
        assert_eq!(sender.stats().spool_full_rejections, 1);
        assert!(events.lock().unwrap().contains(&ReferralEvent::SpoolFull {
            case_id: refused_id
        }));
        sender.shutdown(Duration::from_secs(5));
    }

    fn full_queue_refusals_are_counted_never_silent() {
        let spool = tempfile::tempdir().unwrap();
        let down = format!("http://127.0.0.1:{}/referrals", free_port());
        let sender = sender_builder(&down, spool.path())
            .queue_capacity(1)
            .start()
            .unwrap();
        let (mut accepted, mut refused) = (0_u64, 0_u64);
        for i in 0..200 {
            match sender.send(packet(i)) {
                Ok(_) => accepted += 1,
                Err(SendError::QueueFull(back)) => {
                    assert!(back.messages[0].text.ends_with(&i.to_string()));
                    refused += 1;
                }
                Err(other) => panic!("{other}"),
            }
        }
        assert!(sender.sync_spool(Duration::from_secs(20)));
        let stats = sender.stats();
        assert_eq!(stats.accepted, accepted);
        assert_eq!(stats.queue_full_rejections, refused);
        assert_eq!(stats.spooled, accepted);
        assert_eq!(accepted + refused, 200);
        sender.shutdown(Duration::from_secs(5));
    }

    fn send_does_not_wait_while_the_endpoint_hangs() {
        let spool = tempfile::tempdir().unwrap();
        let hanging = HangingServer::start();
        let retry = waypoint::referral::RetryConfig {
            request_timeout_ms: 60_000,
            ..fast_retry()
        };
        let sender = sender_builder(&hanging.url(), spool.path())
            .retry(retry)
            .start()
            .unwrap();
        sender.send(packet(0)).unwrap();
        // The delivery thread is now stuck inside a request that will not be answered for a minute.
        assert!(hanging.wait_for_connection(Duration::from_secs(10)));

        let mut slowest = Duration::ZERO;
        let started = Instant::now();
        for i in 1..=100 {
            let t = Instant::now();
            sender.send(packet(i)).unwrap();
            slowest = slowest.max(t.elapsed());
        }
        let total = started.elapsed();
        // Structural proof: while that request still hangs, all 100 later referrals reached the disk.
        assert!(sender.sync_spool(Duration::from_secs(20)));
        assert_eq!(sender.stats().spooled, 101);
        assert_eq!(sender.stats().delivered, 0);
        assert_eq!(hanging.connections(), 1);
        eprintln!("send while endpoint hangs: slowest {slowest:?}, 100 sends in {total:?}");
        assert!(
            slowest < Duration::from_millis(100),
            "slowest send took {slowest:?}"
        );
        // Shutdown does not wait for the hanging request beyond its bound.
        let status = sender.shutdown(Duration::from_millis(300));
        assert_eq!(status.unspooled, 0);
    }
}
