//! A 60 Hz game loop that refers players while the review endpoint hangs keeps its tick.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

#[path = "../../sdk/waypoint/tests/referral_support/mod.rs"]
mod referral_support;
#[path = "../../sdk/waypoint/tests/transport_support/mod.rs"]
#[macro_use]
mod transport_support;

use std::thread;
use std::time::{Duration, Instant};

use referral_support::{HangingServer, TestReceiver, fast_retry, packet, sender_builder};
use waypoint::referral::RetryConfig;

on_each_http_runtime! {
    fn tick_is_not_delayed_while_the_endpoint_hangs() {
        let spool = tempfile::tempdir().unwrap();
        let hanging = HangingServer::start();
        let retry = RetryConfig {
            request_timeout_ms: 30_000,
            ..fast_retry()
        };
        let sender = sender_builder(&hanging.url(), spool.path()).retry(retry);
        let sender = sender.start().unwrap();

        let tick = Duration::from_micros(16_667);
        let mut work = Vec::new();
        let mut sent = 0;
        let loop_start = Instant::now();
        for frame in 0..120 {
            let frame_start = Instant::now();
            // Two referrals per frame for the first second: far more than any real game makes.
            if frame < 60 {
                for _ in 0..2 {
                    sender.send(packet(sent)).unwrap();
                    sent += 1;
                }
            }
            work.push(frame_start.elapsed());
            thread::sleep(tick.saturating_sub(frame_start.elapsed()));
        }
        let elapsed = loop_start.elapsed();
        work.sort();
        let median = work[work.len() / 2];
        let worst = work[work.len() - 1];
        eprintln!(
            "game loop: 120 ticks in {elapsed:?}; referral work per tick median {median:?}, worst {worst:?}"
        );
        // The endpoint never answered during the whole loop.
        assert!(hanging.connections() >= 1);
        assert_eq!(sender.stats().delivered, 0);
        assert!(
            worst < Duration::from_millis(50),
            "a tick spent {worst:?} on referrals"
        );
        assert!(
            elapsed < Duration::from_secs(4),
            "120 ticks took {elapsed:?}"
        );
        assert!(sender.sync_spool(Duration::from_secs(20)));
        assert_eq!(sender.stats().spooled, sent as u64);
        let status = sender.shutdown(Duration::from_millis(200));
        assert_eq!(status.unspooled, 0);
        drop(sender);

        // And they all arrive once a working endpoint is configured.
        let receiver = TestReceiver::start(0, Duration::from_secs(300));
        let sender = sender_builder(&receiver.url(), spool.path())
            .start()
            .unwrap();
        assert_eq!(sender.flush(Duration::from_secs(30)).pending, 0);
        assert_eq!(receiver.accepted().len(), sent);
        sender.shutdown(Duration::from_secs(5));
    }
}
