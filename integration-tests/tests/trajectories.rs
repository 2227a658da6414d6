//! Scripted player trajectories through the full engine with the default policy, the real
//! fast-tier model (lexicon-only when it is not installed) and a simulated clock.
//!
//! The scenarios drift from ordinary game chat to unmistakable extremist slogans, so they hold
//! with an imperfect model: the ladder's accumulated-risk rules do the escalation.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test set-up and helpers fail loudly"
)]

use std::path::PathBuf;
use std::time::Duration;

use waypoint::{
    ChatMessage, Engine, Health, Response, ResponseLevel, Signal, SimulatedClock, Timestamp,
};

fn engine(clock: &SimulatedClock) -> Engine {
    let engine = Engine::builder()
        .models_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
        .clock(clock.clone())
        .pseudonym_key(b"trajectory tests".to_vec())
        .build()
        .expect("engine");
    if let Health::Degraded { reasons } = engine.health() {
        eprintln!("note: running degraded: {reasons:?}");
    }
    engine
}

fn chat(player: &str, text: &str, locale: &str) -> Signal {
    Signal::Chat(ChatMessage::new(player, text).locale(locale))
}

/// Replays `(seconds, signal)` steps; returns every response.
fn replay(engine: &Engine, clock: &SimulatedClock, steps: Vec<(f64, Signal)>) -> Vec<Response> {
    let mut out = Vec::new();
    for (t, signal) in steps {
        clock.set(Timestamp::from_secs_f64(t));
        engine.submit(signal).expect("queued");
        assert!(engine.flush(Duration::from_secs(30)));
        out.extend(engine.drain_responses());
    }
    out
}

/// 50 messages, one a minute: 20 ordinary, 15 drifting, 15 unmistakable.
fn drift(
    player: &str,
    locale: &str,
    ordinary: &[&str],
    drifting: &[&str],
    extreme: &[&str],
) -> Vec<(f64, Signal)> {
    let pick = |list: &[&str], i: usize| list[i % list.len()].to_owned();
    (0..50)
        .map(|i| {
            let text = match i {
                0..20 => pick(ordinary, i),
                20..35 => pick(drifting, i),
                _ => pick(extreme, i),
            };
            (60.0 * i as f64, chat(player, &text, locale))
        })
        .collect()
}

fn assert_climbs_in_order(responses: &[Response]) {
    let levels: Vec<ResponseLevel> = responses.iter().map(Response::level).collect();
    let first = |level| levels.iter().position(|l| *l == level);
    let (Some(nudge), Some(help), Some(review)) = (
        first(ResponseLevel::Nudge),
        first(ResponseLevel::Help),
        first(ResponseLevel::Review),
    ) else {
        panic!("expected nudge, help and review, got {levels:?}");
    };
    assert!(nudge < help && help < review, "out of order: {levels:?}");
    // Never a weaker response after the referral.
    assert!(
        levels[review..].iter().all(|l| *l == ResponseLevel::Review),
        "{levels:?}"
    );
    let Response::ReviewReferral(referral) = &responses[review] else {
        unreachable!()
    };
    assert!(!referral.reasons.rule.is_empty());
    assert!(
        referral.reasons.trajectory.len() > 1,
        "the trajectory is reported"
    );
}

const EN_ORDINARY: &[&str] = &[
    "gg",
    "nice shot",
    "anyone up for ranked later?",
    "push mid",
    "who has the flag",
    "lag is terrible tonight",
    "good game everyone",
    "i need ammo",
    "rotate to B",
    "that was close",
];
const EN_DRIFT: &[&str] = &[
    "the media lies to you about everything",
    "nobody is allowed to talk about what is happening to our people",
    "they are replacing us and nobody cares",
    "our people are waking up",
    "look into the great replacement, it is real",
];
const EN_EXTREME: &[&str] = &[
    "we must secure the existence of our people and a future for white children",
    "14 words. 1488",
    "race war now. rahowa",
    "heil hitler, sieg heil brothers",
    "day of the rope is coming for the traitors",
];

#[test]
fn english_drift_gets_nudge_then_help_then_review() {
    let clock = SimulatedClock::new();
    let engine = engine(&clock);
    let responses = replay(
        &engine,
        &clock,
        drift("drifter", "en", EN_ORDINARY, EN_DRIFT, EN_EXTREME),
    );
    assert_climbs_in_order(&responses);
    let help = responses.iter().find_map(|r| match r {
        Response::HelpLink(h) => h.help.clone(),
        _ => None,
    });
    assert_eq!(help.map(|h| h.locale), Some("en".to_owned()));
}

#[test]
fn dutch_drift_gets_nudge_then_help_then_review() {
    let clock = SimulatedClock::new();
    let engine = engine(&clock);
    let ordinary: &[&str] = &[
        "gg",
        "mooi schot",
        "wie doet er mee met ranked?",
        "naar het midden",
        "wie heeft de vlag",
        "wat een lag vanavond",
        "goed gespeeld allemaal",
        "ik heb munitie nodig",
        "draai naar B",
        "dat was close",
    ];
    let drifting: &[&str] = &[
        "de media liegen over alles",
        "niemand mag zeggen wat er met ons volk gebeurt",
        "ze vervangen ons en niemand doet iets",
        "de omvolking is echt, zoek het op",
        "ons volk wordt wakker",
    ];
    let extreme: &[&str] = &[
        "we moeten het voortbestaan van ons volk en een toekomst voor blanke kinderen veiligstellen",
        "14 woorden. 1488",
        "de rassenoorlog komt eraan, bloed en bodem",
        "sieg heil broeders, heil hitler",
        "de dag van het touw komt voor de volksverraders",
    ];
    let responses = replay(
        &engine,
        &clock,
        drift("afdrijver", "nl", ordinary, drifting, extreme),
    );
    assert_climbs_in_order(&responses);
    let help = responses.iter().find_map(|r| match r {
        Response::HelpLink(h) => h.help.clone(),
        _ => None,
    });
    assert_eq!(
        help.map(|h| h.locale),
        Some("nl".to_owned()),
        "the Dutch help directory entry"
    );
}

#[test]
fn a_loud_trash_talker_gets_at_most_nudges() {
    let clock = SimulatedClock::new();
    let engine = engine(&clock);
    let lines = [
        "kill the healer",
        "camp B",
        "you guys are trash lol",
        "destroy them",
        "we are going to wreck you next round",
        "uninstall noob",
        "get rekt",
        "shoot the sniper first",
        "ez",
        "we're slaughtering them",
        "you suck at this game",
        "burn their base down",
        "headshot him",
        "your aim is garbage",
        "die die die",
        "noobs everywhere",
    ];
    // 200 lines, four a minute.
    let steps = (0..200)
        .map(|i| {
            (
                15.0 * f64::from(i),
                chat("loud", lines[i as usize % lines.len()], "en"),
            )
        })
        .collect();
    let responses = replay(&engine, &clock, steps);
    let stronger: Vec<_> = responses
        .iter()
        .filter(|r| r.level() > ResponseLevel::Nudge)
        .collect();
    assert!(
        stronger.is_empty(),
        "trash talk earned {:#?}",
        stronger.iter().map(|r| r.reasons()).collect::<Vec<_>>()
    );
}

#[test]
fn a_player_reported_by_many_for_hate_escalates_faster() {
    let clock = SimulatedClock::new();
    let engine = engine(&clock);
    let lines = [
        "they are replacing us",
        "look into the great replacement",
        "white genocide is real",
        "our people are waking up",
    ];
    let mut steps: Vec<(f64, Signal)> = (0..8)
        .map(|i| {
            (
                0.0,
                Signal::Report {
                    reporter: format!("witness{i}").into(),
                    target: "reported".into(),
                    reason: "hate".into(),
                },
            )
        })
        .collect();
    for i in 0..30 {
        let t = 60.0 * f64::from(i + 1);
        let text = lines[i as usize % lines.len()];
        steps.push((t, chat("reported", text, "en")));
        steps.push((t, chat("unreported", text, "en")));
    }
    let responses = replay(&engine, &clock, steps);
    let rank = |who: &str| {
        responses
            .iter()
            .filter(|r| r.player().as_str() == who)
            .map(Response::level)
            .max()
            .unwrap_or(ResponseLevel::None)
    };
    let first_at = |who: &str, level| {
        responses
            .iter()
            .find(|r| r.player().as_str() == who && r.level() == level)
            .map(Response::at)
    };
    let (reported, unreported) = (rank("reported"), rank("unreported"));
    assert!(
        reported >= ResponseLevel::Help,
        "reported player reached {reported:?}"
    );
    assert!(
        reported > unreported || first_at("reported", reported) < first_at("unreported", reported),
        "reported {reported:?} vs unreported {unreported:?}"
    );
}
