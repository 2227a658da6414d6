//! Per-signal cost with the Valkey/Redis store as a ratio to the in-memory default (same run),
//! signals per second with two engines on one store, and `submit` on the calling thread (p99).
//! The store runs twice: flushing its append-only file before answering any write (`fsync
//! always`, as the tests run it) and once a second (`everysec`, the usual production setting).
//! Besides wall time it reports CPU time per signal (this process plus the server), which
//! other work on shared cores disturbs less.
//!
//! `cargo bench -p waypoint-integration-tests --bench shared_store` (starts its own
//! redis-servers on loopback ports; `WAYPOINT_BENCH_SIGNALS` sets the count, default 20000).
#![expect(clippy::expect_used, reason = "benchmark set-up fails loudly")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use waypoint::store::StoreConfig;
use waypoint::{Category, ChatMessage, Engine, PlayerId, Signal};
use waypoint_integration_tests::redis::{Fsync, RedisServer};

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

/// CPU time this process has used (all threads, Linux; zero elsewhere).
fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th, in clock ticks of 1/100 s.
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|t| t.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// One measured run.
struct Measured {
    elapsed: Duration,
    cpu: Duration,
    submits: Vec<Duration>,
}

/// Submits `n` signals to the engines in turn and waits until all are processed, measuring
/// wall time, CPU time (this process and `server`'s) and every submit's duration.
fn run(engines: &[Engine], server: Option<&RedisServer>, n: usize, chat: bool) -> Measured {
    let server_cpu = || server.and_then(RedisServer::cpu_time).unwrap_or_default();
    let signals: Vec<Signal> = (0..n).map(|i| signal(i, chat)).collect();
    let mut submits = Vec::with_capacity(n);
    let (cpu_before, server_before) = (process_cpu(), server_cpu());
    let start = Instant::now();
    for (i, s) in signals.into_iter().enumerate() {
        let t = Instant::now();
        let _ = engines[i % engines.len()].submit(s);
        submits.push(t.elapsed());
    }
    for e in engines {
        assert!(e.flush(Duration::from_secs(600)));
    }
    let elapsed = start.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before) + server_cpu().saturating_sub(server_before);
    Measured {
        elapsed,
        cpu,
        submits,
    }
}

fn p99(mut d: Vec<Duration>) -> Duration {
    d.sort_unstable();
    d[(d.len() - 1) * 99 / 100]
}

/// Microseconds per signal.
fn per_signal(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let n: usize = std::env::var("WAYPOINT_BENCH_SIGNALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let always = RedisServer::start_with(Fsync::Always).expect("redis-server");
    let everysec = RedisServer::start_with(Fsync::EverySecond).expect("redis-server");
    println!("\nshared player store, {n} signals over 2000 players");
    println!(
        "| signals | store | engines | µs per signal | ratio to in-memory | CPU µs per signal | signals/s | submit p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for chat in [false, true] {
        let kind = if chat {
            "chat (scored)"
        } else {
            "custom (no model)"
        };
        let memory = run(std::slice::from_ref(&engine(None)), None, n, chat);
        let base_us = per_signal(memory.elapsed, n);
        let row = |store: &str, engines: usize, m: Measured| {
            let us = per_signal(m.elapsed, n);
            println!(
                "| {kind} | {store} | {engines} | {us:.2} | {:.2} | {:.2} | {:.0} | {:?} |",
                us / base_us,
                per_signal(m.cpu, n),
                n as f64 / m.elapsed.as_secs_f64(),
                p99(m.submits)
            );
        };
        row("in-memory", 1, memory);
        for (name, server) in [
            ("redis, fsync always", &always),
            ("redis, fsync everysec", &everysec),
        ] {
            let one = engine(Some(server));
            row(
                name,
                1,
                run(std::slice::from_ref(&one), Some(server), n, chat),
            );
        }
        let pair = [engine(Some(&everysec)), engine(Some(&everysec))];
        row(
            "redis, fsync everysec",
            2,
            run(&pair, Some(&everysec), n, chat),
        );
        let conflicts: u64 = pair
            .iter()
            .map(|e| e.stats().store.map_or(0, |s| s.conflicts))
            .sum();
        println!("(two engines: {conflicts} write conflicts merged)");
    }
}
