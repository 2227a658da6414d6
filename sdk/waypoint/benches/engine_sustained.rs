//! Sustained load: 2,000 chat messages per second for 60 seconds through the full engine
//! (default policy: fast tier, the deep tier through the `auto` cascade, player state, ladder),
//! paced in 10 ms ticks. Prints submitted, dropped, processed, peak queue depth, submit latency,
//! and how many messages the deep tier scored and how many batches were taken while behind;
//! asserts nothing.
//!
//! `cargo bench -p waypoint --bench engine_sustained`; `WAYPOINT_BENCH_SECS` and
//! `WAYPOINT_BENCH_RATE` change the duration and the rate.
#![expect(clippy::expect_used, reason = "test and benchmark set-up fails loudly")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use waypoint::{ChatMessage, Engine, Health};

const MESSAGES: [&str; 10] = [
    "gg wp",
    "push mid, they are weak there",
    "anyone up for ranked later?",
    "you guys are trash lol",
    "rotate to B",
    "nice shot!",
    "kill the healer",
    "camp B",
    "the media lies about everything",
    "14 words",
];

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs = env_or("WAYPOINT_BENCH_SECS", 60);
    let rate = env_or("WAYPOINT_BENCH_RATE", 2_000);
    let engine = Engine::builder()
        .models_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"))
        .build()
        .expect("engine");
    if let Health::Degraded { reasons } = engine.health() {
        println!("note: degraded scoring: {reasons:?}");
    }
    let per_tick = (rate / 100).max(1);
    let start = Instant::now();
    let mut sent = 0_u64;
    let mut peak_queue = 0;
    let mut worst_submit = Duration::ZERO;
    let mut submit_total = Duration::ZERO;
    for tick in 0..secs * 100 {
        for _ in 0..per_tick {
            let i = sent as usize;
            let chat = ChatMessage::new(
                format!("player{}", i % 20_000),
                MESSAGES[i % MESSAGES.len()],
            )
            .locale("en");
            let t = Instant::now();
            let _ = engine.submit(chat);
            let took = t.elapsed();
            worst_submit = worst_submit.max(took);
            submit_total += took;
            sent += 1;
        }
        peak_queue = peak_queue.max(engine.stats().queued);
        let next = start + Duration::from_millis(10 * (tick + 1));
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let offered = start.elapsed();
    let flush_start = Instant::now();
    let flushed = engine.flush(Duration::from_secs(120));
    let drain = flush_start.elapsed();
    let stats = engine.stats();
    println!();
    println!("Sustained load ({rate} messages/s offered for {secs} s)");
    println!("| figure | value |");
    println!("|---|---|");
    println!("| submitted | {} |", stats.submitted);
    println!("| dropped | {} |", stats.dropped);
    println!("| processed | {} |", stats.processed);
    println!(
        "| achieved offer rate | {:.0} msg/s |",
        sent as f64 / offered.as_secs_f64()
    );
    println!("| peak queue depth (sampled every 10 ms) | {peak_queue} |");
    println!("| backlog drained after the run in | {drain:?} (flushed: {flushed}) |");
    println!(
        "| mean submit | {:?} |",
        submit_total / u32::try_from(sent.max(1)).unwrap_or(u32::MAX)
    );
    println!("| worst submit | {worst_submit:?} |");
    println!(
        "| model batches | {} ({:.1} msgs/batch) |",
        stats.batches,
        stats.processed as f64 / stats.batches.max(1) as f64
    );
    println!(
        "| responses (nudge/help/review) | {}/{}/{} |",
        stats.nudges, stats.help_links, stats.referrals
    );
    println!(
        "| scored by the deep tier | {} ({:.1} %) |",
        stats.deep_scored,
        100.0 * stats.deep_scored as f64 / stats.processed.max(1) as f64
    );
    println!(
        "| batches taken while behind (auto: selective rules) | {} of {} |",
        stats.batches_behind, stats.batches
    );
    println!("| players with state | {} |", stats.players);
    let _ = engine.shutdown(Duration::from_secs(10));
}
