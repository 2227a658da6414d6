//! Engine behaviour: cooldowns, age bands, reports, outcomes, hooks, reloads, back-pressure.
//!
//! These use platform-defined custom signals with explicit weights (and lexicon slogans) so they
//! do not depend on the fast-tier model's exact scores.
#![expect(clippy::expect_used, reason = "test and benchmark set-up fails loudly")]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use waypoint::{
    AgeBand, Category, ChatMessage, Engine, Outcome, Policy, Response, ResponseLevel,
    ReviewDecision, Signal, SignalKind, SimulatedClock, Timestamp,
};

const WAIT: Duration = Duration::from_secs(30);

const POLICY: &str = r#"
version = "engine-test"
accumulated.extremism = { floor = 0.4, nudge = 1.0, help = 2.0, review = 3.0 }
cooldown = { nudge_secs = 300, help_secs = 600, review_secs = 3600 }
reports = { per_reporter = 0.5, per_block = 0.1, max_multiplier = 4.0 }
age_band.minor = { threshold_factor = 0.5, cooldown_factor = 2.0 }
"#;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn engine_with(policy: &str, clock: &SimulatedClock) -> Engine {
    Engine::builder()
        .models_dir(models_dir())
        .policy(Policy::from_toml_str(policy, "engine-test").expect("valid policy"))
        .clock(clock.clone())
        .pseudonym_key(b"test key".to_vec())
        .build()
        .expect("engine")
}

/// An engine whose first nudge blocks the worker until the test releases `gate`, so that
/// signals queue up behind it.
fn engine_held_at_first_nudge(
    policy: &str,
    gate: &Arc<Mutex<()>>,
    queue_capacity: usize,
) -> Engine {
    let worker_gate = Arc::clone(gate);
    Engine::builder()
        .models_dir(models_dir())
        .policy(Policy::from_toml_str(policy, "engine-test").expect("valid policy"))
        .clock(SimulatedClock::new())
        .queue_capacity(queue_capacity)
        .on_nudge(move |_| drop(worker_gate.lock()))
        .build()
        .expect("engine")
}

fn evidence(player: &str, weight: f32) -> Signal {
    Signal::Custom {
        player: player.into(),
        kind: "moderator_note".into(),
        category: Some(Category::Extremism),
        weight,
    }
}

/// Replays `(seconds, signal)` steps and returns `(seconds, level)` per response.
fn replay(
    engine: &Engine,
    clock: &SimulatedClock,
    steps: Vec<(f64, Signal)>,
) -> Vec<(f64, ResponseLevel, Response)> {
    let mut out = Vec::new();
    for (t, signal) in steps {
        clock.set(Timestamp::from_secs_f64(t));
        engine.submit(signal).expect("queued");
        assert!(engine.flush(WAIT), "flushed");
        out.extend(
            engine
                .drain_responses()
                .into_iter()
                .map(|r| (r.at().as_secs_f64(), r.level(), r)),
        );
    }
    out
}

fn levels(responses: &[(f64, ResponseLevel, Response)]) -> Vec<ResponseLevel> {
    responses.iter().map(|r| r.1).collect()
}

#[test]
fn ladder_climbs_in_order_with_reasons() {
    let clock = SimulatedClock::new();
    let engine = engine_with(POLICY, &clock);
    let steps = (0..8)
        .map(|i| (f64::from(i) * 60.0, evidence("p1", 0.6)))
        .collect();
    let got = replay(&engine, &clock, steps);
    assert_eq!(
        levels(&got),
        [
            ResponseLevel::Nudge,
            ResponseLevel::Help,
            ResponseLevel::Review
        ],
        "{got:#?}"
    );
    let Response::ReviewReferral(referral) = &got[2].2 else {
        panic!("a referral")
    };
    assert_eq!(referral.reasons.rule, "accumulated.extremism.review");
    assert_eq!(referral.reasons.categories, [Category::Extremism]);
    assert!(
        referral.reasons.trajectory.len() >= 3,
        "the trajectory that led here"
    );
    assert_eq!(referral.player.as_str(), "p1");
    assert_eq!(referral.case_id.get_version_num(), 4);
}

#[test]
fn nudge_cooldown_prevents_a_storm() {
    let clock = SimulatedClock::new();
    let engine = engine_with(
        "version = \"c\"\naccumulated.extremism = { floor = 0.4, nudge = 0.5 }\ncooldown.nudge_secs = 300\n",
        &clock,
    );
    // One signal every 30 s for 20 minutes: nudges at 0, 300, 600, 900 s only.
    let steps = (0..40)
        .map(|i| (f64::from(i) * 30.0, evidence("p", 0.6)))
        .collect();
    let got = replay(&engine, &clock, steps);
    let times: Vec<f64> = got.iter().map(|r| r.0).collect();
    assert_eq!(times, [0.0, 300.0, 600.0, 900.0], "{times:?}");
    assert!(engine.stats().cooling_down > 0);
}

#[test]
fn minors_get_help_earlier_and_longer_cooldowns() {
    let clock = SimulatedClock::new();
    let engine = engine_with(POLICY, &clock);
    let minor = |t: f64| {
        (
            t,
            Signal::Chat(ChatMessage::new("kid", "hello").age_band(AgeBand::Minor)),
        )
    };
    // Register the age band, then identical evidence for a minor and an adult.
    let mut steps = vec![minor(0.0)];
    for i in 0..4 {
        let t = 10.0 + f64::from(i) * 400.0;
        steps.push((t, evidence("kid", 0.5)));
        steps.push((t + 1.0, evidence("adult", 0.5)));
    }
    let got = replay(&engine, &clock, steps);
    let first = |who: &str, level| {
        got.iter()
            .find(|r| r.2.player().as_str() == who && r.1 == level)
            .map(|r| r.0)
    };
    let kid_help = first("kid", ResponseLevel::Help).expect("the minor gets a help link");
    if let Some(adult_help) = first("adult", ResponseLevel::Help) {
        assert!(kid_help < adult_help);
    }
    let Some(Response::HelpLink(help)) = got
        .iter()
        .find(|r| r.1 == ResponseLevel::Help)
        .map(|r| &r.2)
    else {
        panic!("help")
    };
    assert_eq!(help.reasons.age_band, AgeBand::Minor);
    // Minor nudge cooldown is 600 s: a second nudge rule 400 s after the first is held back.
    assert_eq!(
        waypoint::internals::cooldown(&engine.policy(), ResponseLevel::Nudge, AgeBand::Minor),
        Duration::from_secs(600)
    );
}

#[test]
fn reports_by_many_escalate_faster_than_no_reports() {
    let clock = SimulatedClock::new();
    let engine = engine_with(POLICY, &clock);
    let mut steps: Vec<(f64, Signal)> = (0..6)
        .map(|i| {
            (
                0.0,
                Signal::Report {
                    reporter: format!("r{i}").into(),
                    target: "reported".into(),
                    reason: "hate".into(),
                },
            )
        })
        .collect();
    for i in 0..8 {
        let t = 60.0 * f64::from(i + 1);
        steps.push((t, evidence("reported", 0.4)));
        steps.push((t, evidence("quiet", 0.4)));
    }
    let got = replay(&engine, &clock, steps);
    let review_at = |who: &str| {
        got.iter()
            .find(|r| r.2.player().as_str() == who && r.1 == ResponseLevel::Review)
            .map(|r| r.0)
    };
    let reported = review_at("reported").expect("the reported player reaches review");
    assert!(
        review_at("quiet").is_none_or(|quiet| reported < quiet),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .find(|r| r.2.player().as_str() == "reported")
            .is_some_and(|r| r.2.reasons().amplification > 1.0)
    );
}

#[test]
fn reports_alone_never_respond() {
    let clock = SimulatedClock::new();
    let engine = engine_with(POLICY, &clock);
    let steps = (0..50)
        .map(|i| {
            (
                f64::from(i),
                Signal::Report {
                    reporter: format!("r{i}").into(),
                    target: "victim".into(),
                    reason: "hate".into(),
                },
            )
        })
        .collect();
    assert!(replay(&engine, &clock, steps).is_empty());
}

#[test]
fn dismissed_review_lowers_risk_and_restarts_the_ladder_upheld_changes_nothing() {
    let clock = SimulatedClock::new();
    let engine = engine_with(POLICY, &clock);
    let got = replay(
        &engine,
        &clock,
        (0..8)
            .map(|i| (f64::from(i) * 60.0, evidence("p", 0.6)))
            .collect(),
    );
    let case_id = got.iter().find_map(|r| r.2.case_id()).expect("referral");
    engine
        .record_outcome(Outcome::Review {
            case_id,
            decision: ReviewDecision::Dismissed,
            corrected_category: None,
        })
        .expect("queued");
    engine
        .record_outcome(Outcome::Review {
            case_id,
            decision: ReviewDecision::Upheld,
            corrected_category: None,
        })
        .expect("queued");
    let after = replay(&engine, &clock, vec![(4000.0, evidence("p", 0.6))]);
    assert_eq!(
        levels(&after),
        [ResponseLevel::Nudge],
        "the ladder starts over: {after:#?}"
    );
    assert!(after[0].2.reasons().risk.get(Category::Extremism) < 3.0);
    assert_eq!(engine.stats().unknown_cases, 1, "a case is decided once");
}

#[test]
fn hooks_run_and_before_referral_redacts_or_drops() {
    let clock = SimulatedClock::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let nudges = Arc::new(AtomicUsize::new(0));
    let (s, n) = (Arc::clone(&seen), Arc::clone(&nudges));
    let engine = Engine::builder()
        .models_dir(models_dir())
        .policy(Policy::from_toml_str(POLICY, "t").expect("valid"))
        .clock(clock.clone())
        .on_nudge(move |_| {
            n.fetch_add(1, Ordering::SeqCst);
        })
        .on_help_link(|_| panic!("a broken platform hook"))
        .on_referral(move |r| s.lock().expect("lock").push(r.clone()))
        .before_referral(|mut r| {
            if r.player.as_str() == "dropped" {
                return None;
            }
            r.evidence = Some("<redacted>".into());
            Some(r)
        })
        .build()
        .expect("engine");
    for who in ["kept", "dropped"] {
        replay(
            &engine,
            &clock,
            (0..8)
                .map(|i| (f64::from(i) * 60.0, evidence(who, 0.6)))
                .collect(),
        );
    }
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].player.as_str(), "kept");
    assert_eq!(seen[0].evidence.as_deref(), Some("<redacted>"));
    assert_eq!(nudges.load(Ordering::SeqCst), 2);
    let stats = engine.stats();
    assert_eq!((stats.referrals, stats.referrals_dropped_by_hook), (2, 1));
    assert_eq!(
        stats.hook_panics, 2,
        "panicking hooks are caught and counted"
    );
    assert_eq!(
        engine.health(),
        *engine.scorer().health(),
        "the worker survived"
    );
}

#[test]
fn a_bad_policy_reload_keeps_the_old_policy() {
    let clock = SimulatedClock::new();
    let engine = engine_with(POLICY, &clock);
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = \"bad\"\n[cooldown]\nnudge_secs = -1\n").expect("write");
    let err = engine.reload_policy(&bad).expect_err("rejected");
    let location = err.location().expect("a location");
    assert_eq!((location.line, location.column), (3, 14), "{err}");
    assert_eq!(engine.policy().version, "engine-test");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "version = \"good\"\n").expect("write");
    assert_eq!(engine.reload_policy(&good).expect("valid").version, "good");
    assert_eq!(engine.policy().version, "good");
    let stats = engine.stats();
    assert_eq!((stats.policy_reloads, stats.policy_rejected), (1, 1));
}

#[test]
fn submit_never_blocks_when_the_queue_is_full() {
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().expect("lock");
    let engine = engine_held_at_first_nudge(
        "version = \"q\"\naccumulated.extremism = { nudge = 0.1 }\n",
        &gate,
        8,
    );
    engine.submit(evidence("p", 1.0)).expect("queued");
    let started = Instant::now();
    let mut full = 0;
    for i in 0..10_000 {
        if engine.submit(evidence(&format!("p{i}"), 0.0)).is_err() {
            full += 1;
        }
    }
    let elapsed = started.elapsed();
    let stats = engine.stats();
    assert!(full > 9_000, "{full} dropped");
    assert_eq!(stats.dropped, full);
    assert_eq!(stats.submitted + stats.dropped, 10_001);
    eprintln!("10,000 submits against a full queue took {elapsed:?}");
    drop(held);
    assert!(engine.flush(WAIT));
}

#[test]
fn auto_cascade_scores_everything_when_idle_and_falls_back_when_behind() {
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().expect("lock");
    let engine = engine_held_at_first_nudge(
        "version = \"auto\"\naccumulated.extremism = { nudge = 0.1 }\n\
         [cascade]\nmode = \"auto\"\nbusy_backlog = 8\nfast_floor = 0.5\n",
        &gate,
        1024,
    );
    assert!(
        engine.scorer().deep_version().is_some(),
        "the deep tier is loaded"
    );

    // Idle: a lone English chat line the fast tier finds harmless still gets the deep tier.
    engine
        .submit(Signal::Chat(ChatMessage::new("idle", "gg wp everyone")))
        .expect("queued");
    assert!(engine.flush(WAIT));
    let idle = engine.stats();
    assert_eq!((idle.deep_scored, idle.batches_behind), (1, 0), "{idle:?}");

    // Behind: 200 such lines wait while the worker is blocked; batches taken with 8 or more
    // still waiting use the selective rules, which leave harmless English to the fast tier.
    engine.submit(evidence("p", 1.0)).expect("queued");
    for i in 0..200 {
        engine
            .submit(Signal::Chat(ChatMessage::new(
                format!("player{i}"),
                "gg wp everyone",
            )))
            .expect("queued");
    }
    drop(held);
    assert!(engine.flush(WAIT));
    let behind = engine.stats();
    assert!(behind.batches_behind >= 1, "{behind:?}");
    assert!(
        behind.deep_scored - idle.deep_scored < 200,
        "{} of 200 lines went to the deep tier while behind",
        behind.deep_scored - idle.deep_scored
    );
}

#[test]
fn shutdown_processes_what_is_queued_and_later_submits_fail() {
    let clock = SimulatedClock::new();
    let engine = engine_with(POLICY, &clock);
    {
        let _guard = engine.shutdown_guard(WAIT);
        for i in 0..100 {
            engine
                .submit(evidence(&format!("p{i}"), 0.1))
                .expect("queued");
        }
    }
    assert_eq!(engine.stats().processed, 100);
    assert!(engine.submit(evidence("late", 0.1)).is_err());
    assert!(
        engine.shutdown(WAIT).is_ok(),
        "a second shutdown is a no-op"
    );
    assert!(matches!(engine.health(), waypoint::Health::Degraded { .. }));
}

#[test]
fn check_chat_gives_a_pre_send_verdict_inline() {
    let engine = Engine::builder()
        .models_dir(models_dir())
        .build()
        .expect("engine");
    let verdict = engine.check_chat(
        &ChatMessage::new(
            "p",
            "we must secure the existence of our people and a future for white children",
        )
        .locale("nl"),
    );
    assert!(verdict.should_nudge(), "{verdict:?}");
    assert!(verdict.nudge_text.is_some_and(|t| t.starts_with("Dat")));
    assert!(
        !engine
            .check_chat(&ChatMessage::new("p", "gg wp, nice flank"))
            .should_nudge()
    );
}

#[test]
fn names_are_scored_like_chat() {
    let clock = SimulatedClock::new();
    let engine = engine_with(
        "version = \"n\"\nmessage.extremism = { nudge = 0.5 }\n",
        &clock,
    );
    let got = replay(
        &engine,
        &clock,
        vec![(
            0.0,
            Signal::NameChange {
                player: "p".into(),
                name: "xX1488Xx".into(),
            },
        )],
    );
    assert_eq!(levels(&got), [ResponseLevel::Nudge], "{got:#?}");
    assert_eq!(got[0].2.reasons().signal, SignalKind::NameChange);
    assert!(!got[0].2.reasons().lexicon.is_empty());
    let Response::Nudge(nudge) = &got[0].2 else {
        panic!("a nudge")
    };
    assert!(
        nudge.text.contains("name"),
        "a name gets a name nudge: {}",
        nudge.text
    );
}

/// Polls `done` for up to 10 s.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_watched_policy_file_is_swapped_in_and_a_broken_edit_keeps_the_old_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, "version = \"first\"\n").expect("write");
    let engine = Engine::builder()
        .models_dir(models_dir())
        .policy_file(&path)
        .watch_policy_file(Duration::from_millis(25))
        .build()
        .expect("engine");
    assert_eq!(engine.policy().version, "first");

    std::fs::write(&path, "version = \"second, edited\"\n").expect("write");
    assert!(
        eventually(|| engine.policy().version == "second, edited"),
        "the edit is picked up"
    );

    std::fs::write(&path, "version = \"third\"\n[message.hate]\nnudge = 7.5\n").expect("write");
    assert!(
        eventually(|| engine.stats().policy_rejected == 1),
        "the broken edit is rejected"
    );
    assert_eq!(
        engine.policy().version,
        "second, edited",
        "the old policy stays"
    );
    engine.shutdown(WAIT).expect("shutdown");
}

const SLOGAN: &str = "we must secure the existence of our people and a future for white children";

/// Ten ordinary lines, then the same extremist slogan `high` times, one a minute.
fn drift_steps(player: &str, high: usize) -> Vec<(f64, Signal)> {
    let ordinary = [
        "gg",
        "nice flank",
        "who has the flag",
        "rematch?",
        "lag again",
        "ty",
    ];
    (0..10)
        .map(|i| ordinary[i % ordinary.len()])
        .chain(std::iter::repeat_n(SLOGAN, high))
        .enumerate()
        .map(|(i, text)| {
            (
                i as f64 * 60.0,
                Signal::Chat(ChatMessage::new(player, text)),
            )
        })
        .collect()
}

const DRIFT_POLICY: &str = r#"
version = "drift-test"
accumulated.extremism = { floor = 0.4, nudge = 1.0, help = 2.0, review = 3.0 }
cooldown = { nudge_secs = 1, help_secs = 1, review_secs = 1 }
"#;

#[test]
fn a_drift_reaches_review_through_the_skewness_boost_and_uniform_scores_get_none() {
    let with = format!(
        "{DRIFT_POLICY}trajectory = {{ window = 20, min_messages = 6, skew_threshold = 1.5, \
         min_high = 1, risk_boost = 1.0, categories = [\"extremism\"] }}\n"
    );
    let without = format!("{DRIFT_POLICY}trajectory = {{ enabled = false }}\n");
    let run = |policy: &str, steps: Vec<(f64, Signal)>| {
        let clock = SimulatedClock::new();
        let engine = engine_with(policy, &clock);
        levels(&replay(&engine, &clock, steps))
    };
    let boosted = run(&with, drift_steps("drift", 3));
    let plain = run(&without, drift_steps("drift", 3));
    assert_eq!(boosted.last(), Some(&ResponseLevel::Review), "{boosted:?}");
    assert!(
        !plain.contains(&ResponseLevel::Review),
        "without the statistic three lines stay below review: {plain:?}"
    );
    assert!(
        boosted.windows(2).all(|w| w[0] <= w[1]),
        "graduated: {boosted:?}"
    );
    // The same slogan on every line: past min_messages but no skew, so exactly the plain ladder.
    let uniform = |policy: &str| {
        let steps = (0..8)
            .map(|i| {
                (
                    f64::from(i) * 60.0,
                    Signal::Chat(ChatMessage::new("u", SLOGAN)),
                )
            })
            .collect();
        run(policy, steps)
    };
    assert_eq!(uniform(&with), uniform(&without));
}
