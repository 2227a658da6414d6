//! The async handle on real tokio runtimes: its response stream yields what the synchronous
//! drain would, async flush and shutdown leave the runtime's only thread free for other tasks,
//! and shutdown flushes every queued signal before the stream ends.
#![cfg(feature = "tokio")]
#![expect(clippy::expect_used, reason = "test set-up fails loudly")]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use waypoint::{
    Category, ChatMessage, Engine, Policy, Response, ResponseLevel, Signal, SimulatedClock,
    SubmitError, Timestamp,
};

const WAIT: Duration = Duration::from_secs(60);

/// The fast tier only (no load-dependent routing), so two runs decide exactly alike.
const POLICY: &str = r#"
version = "async-test"
accumulated.extremism = { floor = 0.4, nudge = 1.0, help = 2.0, review = 3.0 }
cooldown = { nudge_secs = 300, help_secs = 600, review_secs = 3600 }
[cascade]
mode = "off"
"#;

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine(clock: &SimulatedClock) -> Engine {
    Engine::builder()
        .models_dir(repo_dir().join("models"))
        .policy(Policy::from_toml_str(POLICY, "async-test.toml").expect("valid policy"))
        .clock(clock.clone())
        .pseudonym_key(b"async test key".to_vec())
        .build()
        .expect("engine")
}

/// The example chat spread over three players, with a drifting fourth player's evidence in
/// between, one step a minute: every response level occurs.
fn steps() -> Vec<(Timestamp, Signal)> {
    let chat = std::fs::read_to_string(repo_dir().join("examples/chat.txt")).expect("chat.txt");
    let mut steps = Vec::new();
    for (i, line) in chat.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let player = format!("steam:{}", i % 3);
        steps.push(Signal::Chat(ChatMessage::new(player, line).locale("en")));
        steps.push(Signal::Custom {
            player: "steam:drifter".into(),
            kind: "flagged-group-post".into(),
            category: Some(Category::Extremism),
            weight: 0.6,
        });
    }
    steps
        .into_iter()
        .enumerate()
        .map(|(i, signal)| (Timestamp::from_secs_f64(i as f64 * 60.0), signal))
        .collect()
}

/// What identifies a response across runs (referral case ids are random).
fn summary(response: &Response) -> (ResponseLevel, String, Timestamp, String) {
    (
        response.level(),
        response.player().to_string(),
        response.at(),
        response.reasons().rule.clone(),
    )
}

fn submit_all(engine: &Engine, clock: &SimulatedClock, steps: &[(Timestamp, Signal)]) {
    for (at, signal) in steps {
        clock.set(*at);
        engine.submit(signal.clone()).expect("queued");
    }
}

fn runtime_multi() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn runtime_single() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Counts how often it gets the runtime's thread until `done` is set.
async fn ticker(done: &AtomicBool, ticks: &AtomicU64) {
    while !done.load(Ordering::SeqCst) {
        ticks.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
    }
}

/// Polls both futures on the current task until both are done.
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let std::task::Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let std::task::Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (
        ra.expect("polled to the end"),
        rb.expect("polled to the end"),
    )
}

#[test]
fn the_stream_yields_the_responses_the_sync_drain_would() {
    let steps = steps();
    let clock = SimulatedClock::new();
    let sync_engine = engine(&clock);
    submit_all(&sync_engine, &clock, &steps);
    assert!(sync_engine.flush(WAIT));
    let expected: Vec<_> = sync_engine.drain_responses().iter().map(summary).collect();
    let levels: Vec<_> = expected.iter().map(|s| s.0).collect();
    for level in [
        ResponseLevel::Nudge,
        ResponseLevel::Help,
        ResponseLevel::Review,
    ] {
        assert!(
            levels.contains(&level),
            "{level:?} missing from {expected:?}"
        );
    }

    let clock = SimulatedClock::new();
    let streamed = runtime_multi().block_on(async {
        let engine = engine(&clock).async_handle();
        let mut responses = engine.responses();
        // Reads while the signals are submitted, until the stream ends at shutdown.
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(response) = responses.recv().await {
                seen.push(summary(&response));
            }
            seen
        });
        submit_all(engine.engine(), &clock, &steps);
        engine.shutdown(WAIT).await.expect("shut down in time");
        tokio::time::timeout(WAIT, reader)
            .await
            .expect("the stream ends after shutdown")
            .expect("reader task")
    });
    assert_eq!(streamed, expected);
}

#[test]
fn async_flush_leaves_the_runtime_thread_to_other_tasks() {
    let steps = steps();
    let clock = SimulatedClock::new();
    let engine = engine(&clock).async_handle();
    let (done, ticks) = (AtomicBool::new(false), AtomicU64::new(0));
    let flushed = runtime_single().block_on(async {
        submit_all(engine.engine(), &clock, &steps);
        let flush = async {
            let flushed = engine.flush(WAIT).await;
            done.store(true, Ordering::SeqCst);
            flushed
        };
        both(flush, ticker(&done, &ticks)).await.0
    });
    assert!(flushed);
    assert_eq!(engine.engine().stats().processed, steps.len() as u64);
    assert!(
        ticks.load(Ordering::SeqCst) > 0,
        "the only runtime thread was held by flush"
    );
}

#[test]
fn async_shutdown_processes_the_queue_ends_the_stream_and_frees_the_thread() {
    let steps = steps();
    let clock = SimulatedClock::new();
    let engine = engine(&clock).async_handle();
    let (done, ticks) = (AtomicBool::new(false), AtomicU64::new(0));
    let streamed = runtime_single().block_on(async {
        let mut responses = engine.responses();
        submit_all(engine.engine(), &clock, &steps);
        let shutdown = async {
            let result = engine.shutdown(WAIT).await;
            done.store(true, Ordering::SeqCst);
            result
        };
        both(shutdown, ticker(&done, &ticks))
            .await
            .0
            .expect("shut down in time");
        let mut streamed = 0_u64;
        while tokio::time::timeout(WAIT, responses.recv())
            .await
            .expect("the stream ends after shutdown")
            .is_some()
        {
            streamed += 1;
        }
        streamed
    });
    let stats = engine.engine().stats();
    assert_eq!(
        stats.processed,
        steps.len() as u64,
        "shutdown flushed the queue"
    );
    assert_eq!(streamed, stats.nudges + stats.help_links + stats.referrals);
    assert!(streamed > 0);
    assert!(
        ticks.load(Ordering::SeqCst) > 0,
        "shutdown held the only thread"
    );
    assert_eq!(
        engine.submit(ChatMessage::new("steam:0", "gg")),
        Err(SubmitError::ShutDown)
    );
}

#[test]
fn several_streams_share_the_outbox_and_each_response_is_read_once() {
    let steps = steps();
    let clock = SimulatedClock::new();
    let total = Arc::new(AtomicU64::new(0));
    let engine = engine(&clock).async_handle();
    runtime_multi().block_on(async {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let mut responses = engine.responses();
                let total = Arc::clone(&total);
                tokio::spawn(async move {
                    while responses.recv().await.is_some() {
                        total.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        submit_all(engine.engine(), &clock, &steps);
        engine.shutdown(WAIT).await.expect("shut down in time");
        for reader in readers {
            tokio::time::timeout(WAIT, reader)
                .await
                .expect("every stream ends after shutdown")
                .expect("reader task");
        }
    });
    let stats = engine.engine().stats();
    assert_eq!(
        total.load(Ordering::SeqCst),
        stats.nudges + stats.help_links + stats.referrals
    );
    assert_eq!(stats.outbox_overflow, 0);
}
