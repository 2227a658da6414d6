//! Several engines on one real Valkey/Redis store (started by the test on a loopback port):
//! a player moving between servers climbs one ladder, concurrent updates sum exactly, a store
//! killed mid-run and restarted leaves the games running and the state converged exactly, and a
//! write whose answer is lost is counted once however it is retried.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test set-up and helpers fail loudly"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use waypoint::store::{
    Loaded, MemoryStore, PlayerState, PlayerStateStore, Pseudonymizer, Read, RedisStore,
    StoreConfig, StoreError, Versioned, WRITER_MARKS, Write, WriteId, WriterId, Written,
};
use waypoint::{
    Category, Engine, PlayerId, PlayerKey, Policy, Response, ResponseLevel, Risk, Scorer, Signal,
    SimulatedClock, Timestamp,
};
use waypoint_integration_tests::redis::RedisServer;

const KEY: &[u8] = b"shared store tests";
const EPOCH_UNIX_MS: u64 = 1_800_000_000_000;
const POLICY: &str = "version = \"store-test\"\n\
    accumulated.extremism = { floor = 0.4, nudge = 1.0, help = 2.0, review = 3.0 }\n";

fn server() -> RedisServer {
    RedisServer::start().unwrap_or_else(|e| panic!("{e}"))
}

fn config(server: &RedisServer) -> StoreConfig {
    StoreConfig {
        retry_ms: 50,
        ..StoreConfig::with_url(server.url())
    }
}

/// One scorer for every engine of the tests (loading the models is the slow part of a build).
fn scorer() -> Arc<Scorer> {
    static SCORER: OnceLock<Arc<Scorer>> = OnceLock::new();
    Arc::clone(SCORER.get_or_init(|| {
        let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
        Arc::new(
            Scorer::builder()
                .models_dir(models)
                .build()
                .expect("scorer"),
        )
    }))
}

fn builder(server: &RedisServer, clock: &SimulatedClock) -> waypoint::EngineBuilder {
    Engine::builder()
        .scorer(scorer())
        .policy(Policy::from_toml_str(POLICY, "test").expect("valid policy"))
        .clock(clock.clone())
        .clock_epoch_unix_ms(EPOCH_UNIX_MS)
        .pseudonym_key(KEY.to_vec())
        .store_config(config(server))
}

fn engine(server: &RedisServer, clock: &SimulatedClock) -> Engine {
    builder(server, clock).build().expect("engine")
}

fn evidence(player: &str, weight: f32) -> Signal {
    Signal::Custom {
        player: PlayerId::new(player),
        kind: "moderator_note".into(),
        category: Some(Category::Extremism),
        weight,
    }
}

fn key(player: &str) -> PlayerKey {
    Pseudonymizer::new(KEY).key(&PlayerId::new(player))
}

/// What `store` holds for `key`, as `reader` sees it (holding no version of it).
fn row(store: &mut impl PlayerStateStore, key: PlayerKey, reader: WriterId) -> Option<Versioned> {
    let read = Read { key, known: None };
    match store.load(&[read], reader).expect("store answers").pop() {
        Some(Loaded::Stored(row)) => Some(*row),
        Some(Loaded::Absent) => None,
        other => panic!("{other:?} for a reader holding no version"),
    }
}

/// The extremism risk `store` holds for `player`.
fn risk_in(store: &mut impl PlayerStateStore, player: &str) -> f32 {
    row(store, key(player), WriterId(0))
        .map_or(0.0, |row| row.state.risk().get(Category::Extremism))
}

/// The extremism risk the store holds for `player`.
fn stored_risk(server: &RedisServer, player: &str) -> f32 {
    risk_in(
        &mut RedisStore::new(&config(server)).expect("store"),
        player,
    )
}

fn send(engine: &Engine, clock: &SimulatedClock, minute: u64, signal: Signal) -> Vec<Response> {
    clock.set(Timestamp(minute * 60_000));
    engine.submit(signal).expect("queued");
    assert!(engine.flush(Duration::from_secs(30)));
    engine.drain_responses()
}

#[test]
fn a_player_moving_between_servers_climbs_one_ladder() {
    let server = server();
    let clock = SimulatedClock::new();
    let (a, b) = (engine(&server, &clock), engine(&server, &clock));
    let mut levels = Vec::new();
    let mut minute = 0;
    // Two pieces of evidence on server A: a nudge there.
    for _ in 0..2 {
        minute += 1;
        levels.extend(
            send(&a, &clock, minute, evidence("mover", 0.6))
                .iter()
                .map(|r| ("a", r.level())),
        );
    }
    assert_eq!(levels, [("a", ResponseLevel::Nudge)]);
    // The player moves to server B: B knows the nudge and the risk, so the next rung is help.
    for _ in 0..2 {
        minute += 1;
        levels.extend(
            send(&b, &clock, minute, evidence("mover", 0.6))
                .iter()
                .map(|r| ("b", r.level())),
        );
    }
    assert_eq!(
        levels.last(),
        Some(&("b", ResponseLevel::Help)),
        "{levels:?}"
    );
    assert!(
        !levels.contains(&("b", ResponseLevel::Nudge)),
        "B restarted the ladder: {levels:?}"
    );
    // Back on A: the referral, with the trajectory from both servers.
    let mut referral = None;
    for _ in 0..3 {
        minute += 1;
        for response in send(&a, &clock, minute, evidence("mover", 0.6)) {
            if let Response::ReviewReferral(r) = response {
                referral = Some(r);
            }
        }
    }
    let referral = referral.expect("a referral on server A");
    assert!(
        referral.reasons.trajectory.len() >= 6,
        "{:?}",
        referral.reasons.trajectory
    );
    assert!(referral.reasons.risk.get(Category::Extremism) >= 3.0);
}

#[test]
fn concurrent_updates_from_threads_on_both_engines_sum_exactly() {
    const THREADS: usize = 4;
    const SIGNALS: usize = 150;
    const WEIGHT: f32 = 0.01;
    let server = server();
    let clock = SimulatedClock::new();
    clock.set(Timestamp(60_000));
    let engines = [engine(&server, &clock), engine(&server, &clock)];
    std::thread::scope(|scope| {
        for engine in &engines {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    for _ in 0..SIGNALS {
                        engine.submit(evidence("shared", WEIGHT)).expect("queued");
                    }
                });
            }
        }
    });
    for engine in &engines {
        assert!(engine.flush(Duration::from_secs(60)));
        let stats = engine.stats().store.expect("store stats");
        assert_eq!((stats.pending, stats.errors), (0, 0), "{stats:?}");
    }
    let expected = (2 * THREADS * SIGNALS) as f32 * WEIGHT;
    let stored = stored_risk(&server, "shared");
    assert!(
        (stored - expected).abs() < 1e-3,
        "stored {stored}, expected {expected}"
    );
    let conflicts: u64 = engines
        .iter()
        .map(|e| e.stats().store.map_or(0, |s| s.conflicts))
        .sum();
    eprintln!("write conflicts merged: {conflicts}");
}

#[test]
fn a_store_killed_mid_run_and_restarted_converges() {
    const WEIGHT: f32 = 0.01;
    let mut server = server();
    let clock = SimulatedClock::new();
    clock.set(Timestamp(60_000));
    let engines = [engine(&server, &clock), engine(&server, &clock)];
    let submit = |count: usize| {
        for i in 0..count {
            engines[i % 2]
                .submit(evidence("survivor", WEIGHT))
                .expect("the game keeps running");
        }
    };
    let round = |count: usize| {
        submit(count);
        for engine in &engines {
            assert!(engine.flush(Duration::from_secs(30)), "the worker keeps up");
        }
    };
    round(100);
    // Killed while the workers are busy: a write may be applied and its answer lost.
    submit(100);
    std::thread::sleep(Duration::from_millis(1));
    server.kill();
    round(100);
    for engine in &engines {
        let stats = engine.stats().store.expect("store stats");
        assert!(stats.degraded && stats.pending > 0, "{stats:?}");
        assert!(
            matches!(engine.health(), waypoint::Health::Degraded { reasons } if reasons.iter().any(|r| r.contains("player store"))),
            "health names the store"
        );
    }
    server.restart().expect("restart");
    // Signals after the restart bring each engine back (after its retry interval) and merge
    // what it changed meanwhile.
    let mut rounds = 0;
    let mut sent = 300;
    while engines
        .iter()
        .any(|e| e.stats().store.is_some_and(|s| s.degraded || s.pending > 0))
    {
        rounds += 1;
        assert!(
            rounds <= 200,
            "never reconciled: {:?}",
            engines.each_ref().map(|e| e.stats().store)
        );
        std::thread::sleep(Duration::from_millis(60));
        round(2);
        sent += 2;
    }
    let expected = sent as f32 * WEIGHT;
    let stored = stored_risk(&server, "survivor");
    assert!(
        (stored - expected).abs() < 1e-3,
        "stored {stored}, expected {expected}"
    );
}

/// How [`Faulty`] fails its next writes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// The store applies the writes, then the answer is lost.
    AnswerLost,
    /// The store fails before applying anything.
    Refused,
}

/// A store whose next `failures` write calls fail as `fault` says.
#[derive(Debug)]
struct Faulty<S> {
    inner: S,
    fault: Fault,
    failures: Arc<AtomicUsize>,
}

impl<S: PlayerStateStore> PlayerStateStore for Faulty<S> {
    fn load(&mut self, reads: &[Read], reader: WriterId) -> Result<Vec<Loaded>, StoreError> {
        self.inner.load(reads, reader)
    }

    fn store(&mut self, writes: &[Write<'_>], ttl: Duration) -> Result<Vec<Written>, StoreError> {
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !failing {
            return self.inner.store(writes, ttl);
        }
        if self.fault == Fault::AnswerLost {
            self.inner.store(writes, ttl)?;
        }
        Err(StoreError::Unavailable {
            endpoint: self.inner.endpoint(),
            reason: format!("{:?} (injected)", self.fault),
        })
    }

    fn endpoint(&self) -> String {
        self.inner.endpoint()
    }
}

/// Engine A's first write fails as `fault` says while engine B adds to the same player; A
/// retries after its retry interval. Returns the risk the store holds then.
fn one_failed_write<S: PlayerStateStore>(
    fault: Fault,
    server: &RedisServer,
    inner: impl Fn() -> S,
) -> f32 {
    let clock = SimulatedClock::new();
    clock.set(Timestamp(60_000));
    let failures = Arc::new(AtomicUsize::new(1));
    let a = builder(server, &clock)
        .player_store(Faulty {
            inner: inner(),
            fault,
            failures: Arc::clone(&failures),
        })
        .build()
        .expect("engine a");
    let b = builder(server, &clock)
        .player_store(inner())
        .build()
        .expect("engine b");
    for (engine, weight) in [(&a, 0.5), (&b, 0.125)] {
        engine.submit(evidence("unsure", weight)).expect("queued");
        assert!(engine.flush(Duration::from_secs(30)));
    }
    let stats = a.stats().store.expect("store stats");
    assert!(stats.degraded && stats.pending == 1, "{stats:?}");
    assert_eq!(failures.load(Ordering::SeqCst), 0, "the fault was injected");
    // After its retry interval A reads the player (settling its unanswered write) and writes.
    std::thread::sleep(Duration::from_millis(80));
    a.submit(evidence("unsure", 0.25)).expect("queued");
    assert!(a.flush(Duration::from_secs(30)));
    let stats = a.stats().store.expect("store stats");
    assert!(!stats.degraded && stats.pending == 0, "{stats:?}");
    risk_in(&mut inner(), "unsure")
}

#[test]
fn a_write_whose_answer_was_lost_is_counted_once() {
    for fault in [Fault::AnswerLost, Fault::Refused] {
        let server = server();
        let stored = one_failed_write(fault, &server, || {
            RedisStore::new(&config(&server)).expect("store")
        });
        assert!(
            (stored - 0.875).abs() < 1e-4,
            "redis, {fault:?}: stored {stored}, expected 0.875 (0.5 + 0.125 + 0.25)"
        );
        let memory = MemoryStore::new();
        let stored = one_failed_write(fault, &server, || memory.clone());
        assert!(
            (stored - 0.875).abs() < 1e-4,
            "memory, {fault:?}: stored {stored}, expected 0.875"
        );
    }
}

fn risky(weight: f32) -> PlayerState {
    let mut state = PlayerState::new(Timestamp(EPOCH_UNIX_MS));
    state.add_risk(&Risk([0.0, 0.0, 0.0, weight]));
    state
}

#[test]
fn a_replayed_write_is_applied_once_and_marks_stay_bounded() {
    let server = server();
    let mut store = RedisStore::new(&config(&server)).expect("store");
    let ttl = Duration::from_secs(60);
    let player = key("replayed");
    let me = WriterId(0x00ab_cdef_0123_4567);
    let state = risky(0.5);
    let write = Write {
        key: player,
        expected: None,
        state: &state,
        id: WriteId { writer: me, seq: 7 },
    };
    let [Written::Stored(first)] = store.store(&[write], ttl).expect("answers")[..] else {
        panic!("the first write is stored");
    };
    // The same write again (a retry after a lost answer): not applied a second time.
    assert_eq!(
        store.store(&[write], ttl).expect("answers"),
        [Written::Conflict]
    );
    let mine = row(&mut store, player, me).expect("stored");
    assert_eq!((mine.version, mine.applied), (first, Some(7)));
    assert!((mine.state.risk().get(Category::Extremism) - 0.5).abs() < 1e-6);
    let stranger = row(&mut store, player, WriterId(1)).expect("stored");
    assert_eq!(stranger.applied, None, "marks are per writer");
    // A reader holding the current version is told it is unchanged, without the state.
    let held = Read {
        key: player,
        known: Some(first),
    };
    assert_eq!(
        store.load(&[held], me).expect("answers"),
        [Loaded::Unchanged]
    );
    // More writers than marks kept: the least recent writer's mark is forgotten, nobody else's.
    for (version, writer) in (first..).zip(1..=WRITER_MARKS as u64) {
        let id = WriteId {
            writer: WriterId(writer),
            seq: 1,
        };
        let write = Write {
            expected: Some(version),
            id,
            ..write
        };
        assert_eq!(
            store.store(&[write], ttl).expect("answers"),
            [Written::Stored(version + 1)]
        );
    }
    let mut applied = |writer| row(&mut store, player, writer).and_then(|row| row.applied);
    assert_eq!(applied(me), None, "the least recent writer's mark went");
    assert_eq!(applied(WriterId(1)), Some(1));
    assert_eq!(applied(WriterId(WRITER_MARKS as u64)), Some(1));
}
