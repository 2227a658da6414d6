//! Per-signal cost with the Valkey/Redis store as a ratio to the in-memory default (same run),
//! signals per second with two engines on one store, and `submit` on the calling thread (p99).
//!
//! `cargo bench -p waypoint-integration-tests --bench shared_store` (starts its own
//! redis-server on a loopback port; `WAYPOINT_BENCH_SIGNALS` sets the count, default 20000).
#![expect(clippy::expect_used, reason = "benchmark set-up fails loudly")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use waypoint::store::StoreConfig;
use waypoint::{Category, ChatMessage, Engine, PlayerId, Signal};
use waypoint_integration_tests::redis::RedisServer;

const CHAT: [&str; 4] = [
    "gg wp",
    "push mid, they are weak there",
    "rotate to B",
    "you guys are trash lol",
];

fn engine(store: Option<&RedisServer>) -> Engine {
    let mut builder = Engine::builder()
        .models_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
        .pseudonym_key(b"bench".to_vec())
        .clock_epoch_unix_ms(1_800_000_000_000)
        .queue_capacity(1 << 20);
    if let Some(server) = store {
        builder = builder.store_config(StoreConfig::with_url(server.url()));
    }
    builder.build().expect("engine")
}

fn signal(i: usize, chat: bool) -> Signal {
    let player = format!("player{}", i % 2_000);
    if chat {
        Signal::Chat(ChatMessage::new(player, CHAT[i % CHAT.len()]).locale("en"))
    } else {
        Signal::Custom {
            player: PlayerId::new(player),
            kind: "note".into(),
            category: Some(Category::Extremism),
            weight: 0.001,
        }
    }
}

/// Submits `n` signals to the engines in turn and waits until all are processed; returns the
/// elapsed time and every submit's duration.
fn run(engines: &[Engine], n: usize, chat: bool) -> (Duration, Vec<Duration>) {
    let signals: Vec<Signal> = (0..n).map(|i| signal(i, chat)).collect();
    let mut submits = Vec::with_capacity(n);
    let start = Instant::now();
    for (i, s) in signals.into_iter().enumerate() {
        let t = Instant::now();
        let _ = engines[i % engines.len()].submit(s);
        submits.push(t.elapsed());
    }
    for e in engines {
        assert!(e.flush(Duration::from_secs(600)));
    }
    (start.elapsed(), submits)
}

fn p99(mut d: Vec<Duration>) -> Duration {
    d.sort_unstable();
    d[(d.len() - 1) * 99 / 100]
}

fn main() {
    let n: usize = std::env::var("WAYPOINT_BENCH_SIGNALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let server = RedisServer::start().expect("redis-server");
    println!(
        "\nshared player store, {n} signals over 2000 players, {} each",
        server.url()
    );
    println!(
        "| signals | store | engines | µs per signal | ratio to in-memory | signals/s | submit p99 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for chat in [false, true] {
        let kind = if chat {
            "chat (scored)"
        } else {
            "custom (no model)"
        };
        let memory = engine(None);
        let (base, submits) = run(std::slice::from_ref(&memory), n, chat);
        let base_us = base.as_secs_f64() * 1e6 / n as f64;
        println!(
            "| {kind} | in-memory | 1 | {base_us:.2} | 1.00 | {:.0} | {:?} |",
            n as f64 / base.as_secs_f64(),
            p99(submits)
        );
        let redis = engine(Some(&server));
        let (one, submits) = run(std::slice::from_ref(&redis), n, chat);
        let us = one.as_secs_f64() * 1e6 / n as f64;
        println!(
            "| {kind} | redis | 1 | {us:.2} | {:.2} | {:.0} | {:?} |",
            us / base_us,
            n as f64 / one.as_secs_f64(),
            p99(submits)
        );
        let pair = [engine(Some(&server)), engine(Some(&server))];
        let (two, submits) = run(&pair, n, chat);
        let us = two.as_secs_f64() * 1e6 / n as f64;
        let conflicts: u64 = pair
            .iter()
            .map(|e| e.stats().store.map_or(0, |s| s.conflicts))
            .sum();
        println!(
            "| {kind} | redis | 2 | {us:.2} | {:.2} | {:.0} | {:?} (conflicts merged: {conflicts}) |",
            us / base_us,
            n as f64 / two.as_secs_f64(),
            p99(submits)
        );
    }
}
