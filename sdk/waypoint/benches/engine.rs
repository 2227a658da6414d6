//! `Engine::submit` cost on the calling thread.
//!
//! Prints a p50/p90/p99/max table from a manual loop timed with `Instant` (each call timed on
//! its own), then runs a criterion benchmark of the same call. The sustained-rate run lives in
//! `engine_sustained.rs`.
#![expect(clippy::expect_used, reason = "test and benchmark set-up fails loudly")]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use waypoint::{ChatMessage, Engine, Signal};

const MESSAGES: [&str; 6] = [
    "gg wp",
    "push mid, they are weak there",
    "anyone up for ranked later?",
    "you guys are trash lol",
    "rotate to B",
    "nice shot!",
];

fn engine(capacity: usize) -> Engine {
    Engine::builder()
        .models_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"))
        .queue_capacity(capacity)
        .build()
        .expect("engine")
}

fn signals(n: usize) -> Vec<Signal> {
    (0..n)
        .map(|i| {
            Signal::Chat(
                ChatMessage::new(format!("player{}", i % 5_000), MESSAGES[i % MESSAGES.len()])
                    .locale("en"),
            )
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn manual_table() {
    const N: usize = 200_000;
    let engine = engine(N + 1);
    let mut timings = Vec::with_capacity(N);
    // Warm up the allocator and the channel.
    for signal in signals(1_000) {
        let _ = engine.submit(signal);
    }
    engine.flush(Duration::from_secs(60));
    for signal in signals(N) {
        let start = Instant::now();
        let result = engine.submit(signal);
        timings.push(start.elapsed());
        black_box(result).ok();
    }
    let stats = engine.stats();
    timings.sort_unstable();
    let clock_cost = {
        let start = Instant::now();
        for _ in 0..10_000 {
            black_box(Instant::now());
        }
        start.elapsed() / 10_000
    };
    println!();
    println!("Engine::submit on the calling thread ({N} calls, worker scoring concurrently)");
    println!("| statistic | time |");
    println!("|---|---|");
    for (name, p) in [
        ("p50", 0.50),
        ("p90", 0.90),
        ("p99", 0.99),
        ("p99.9", 0.999),
    ] {
        println!("| {name} | {:?} |", percentile(&timings, p));
    }
    println!("| max | {:?} |", timings[timings.len() - 1]);
    println!("| Instant::now overhead (included above) | {clock_cost:?} |");
    println!("| dropped | {} |", stats.dropped);
    engine.flush(Duration::from_secs(120));
    let _ = engine.shutdown(Duration::from_secs(10));
}

fn bench(c: &mut Criterion) {
    manual_table();
    let engine = engine(1 << 16);
    let template = signals(1).remove(0);
    c.bench_function("engine_submit", |b| {
        b.iter_batched(
            || template.clone(),
            |signal| black_box(engine.submit(signal)),
            BatchSize::SmallInput,
        )
    });
    println!("criterion run: {:?}", engine.stats());
}

criterion_group!(benches, bench);
criterion_main!(benches);
