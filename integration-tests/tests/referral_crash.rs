//! A process killed with SIGKILL while a delivery hangs loses no referral: a new sender on the
//! same spool delivers them all.
//!
//! The test re-executes its own binary as the child (`referral_crash_child`, active only when
//! `WAYPOINT_REFERRAL_CHILD_SPOOL` is set).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions fail loudly on purpose"
)]

#[path = "../../sdk/waypoint/tests/referral_support/mod.rs"]
mod referral_support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use referral_support::{HangingServer, TestReceiver, fast_retry, packet, sender_builder};
use waypoint::referral::RetryConfig;

const CHILD_SPOOL: &str = "WAYPOINT_REFERRAL_CHILD_SPOOL";
const CHILD_URL: &str = "WAYPOINT_REFERRAL_CHILD_URL";
const REFERRALS: usize = 12;

/// Kills the child if the test fails before it does.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child: spools referrals towards a hanging endpoint, says so, then waits to be killed.
#[test]
fn referral_crash_child() {
    let (Ok(spool), Ok(url)) = (std::env::var(CHILD_SPOOL), std::env::var(CHILD_URL)) else {
        return; // An ordinary test run: nothing to do.
    };
    let retry = RetryConfig {
        request_timeout_ms: 120_000,
        ..fast_retry()
    };
    let sender = sender_builder(&url, std::path::Path::new(&spool))
        .retry(retry)
        .start()
        .unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0..REFERRALS {
        let id = sender.send(packet(i)).unwrap();
        writeln!(out, "CHILD-ID {id}").unwrap();
    }
    assert!(sender.sync_spool(Duration::from_secs(30)));
    writeln!(out, "CHILD-SPOOLED").unwrap();
    out.flush().unwrap();
    drop(out);
    thread::sleep(Duration::from_secs(300));
}

#[test]
fn sigkill_mid_delivery_loses_nothing() {
    let spool = tempfile::tempdir().unwrap();
    let hanging = HangingServer::start();
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "referral_crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_SPOOL, spool.path())
            .env(CHILD_URL, hanging.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut ids = HashSet::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("child did not report its referrals");
        // libtest may print "test referral_crash_child ... " on the same line first.
        if let Some((_, id)) = line.split_once("CHILD-ID ") {
            ids.insert(id.trim().to_owned());
        } else if line.ends_with("CHILD-SPOOLED") {
            break;
        }
    }
    assert_eq!(ids.len(), REFERRALS);
    // The child is mid-delivery: its request sits unanswered on the hanging server.
    assert!(hanging.wait_for_connection(Duration::from_secs(10)));
    child.0.kill().unwrap(); // SIGKILL
    let status = child.0.wait().unwrap();
    assert!(!status.success());

    let on_disk = std::fs::read_dir(spool.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "wpr"))
        .count();
    assert_eq!(on_disk, REFERRALS);

    let receiver = TestReceiver::start(0, Duration::from_secs(300));
    let sender = sender_builder(&receiver.url(), spool.path())
        .start()
        .unwrap();
    assert_eq!(sender.stats().replayed, REFERRALS as u64);
    assert_eq!(sender.flush(Duration::from_secs(20)).pending, 0);
    let accepted = receiver.accepted();
    let seen: HashSet<String> = accepted.keys().cloned().collect();
    assert_eq!(seen, ids);
    assert!(accepted.values().all(|n| *n == 1));
    sender.shutdown(Duration::from_secs(5));
}
