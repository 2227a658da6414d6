//! Ladder rules with hand-made numbers.

use std::time::Duration;

use super::*;
use crate::risk::decay_factor;

const POLICY: &str = r#"
version = "ladder-test"
message.extremism = { nudge = 0.6, help = 0.8, review = 0.95 }
message.insult = { nudge = 0.8 }
accumulated.extremism = { floor = 0.5, nudge = 1.0, help = 2.0, review = 4.0 }
accumulated.insult = { floor = 0.5, nudge = 1.0 }
cooldown = { nudge_secs = 60, help_secs = 600, review_secs = 3600 }
reports = { per_reporter = 0.5, per_block = 0.1, max_multiplier = 3.0 }
age_band.minor = { threshold_factor = 0.5, cooldown_factor = 2.0 }
"#;

fn policy() -> Policy {
    Policy::from_toml_str(POLICY, "ladder-test").expect("valid")
}

fn risk(insult: f32, extremism: f32) -> Risk {
    Risk([insult, 0.0, 0.0, extremism])
}

fn input(added: Risk, total: Risk) -> LadderInput {
    LadderInput {
        now: Timestamp(1_000_000),
        age_band: AgeBand::Adult,
        message: None,
        added,
        risk: total,
        last_given: [None; 3],
    }
}

fn level(outcome: &LadderOutcome) -> ResponseLevel {
    match outcome {
        LadderOutcome::Respond(d) => d.level,
        _ => ResponseLevel::None,
    }
}

#[test]
fn contribution_starts_above_the_floor() {
    let p = policy();
    let c = contribution(&p, &Scores([0.4, 0.0, 0.0, 0.75]));
    assert_eq!(c.get(Category::Insult), 0.0);
    assert!((c.get(Category::Extremism) - 0.5).abs() < 1e-6);
}

#[test]
fn accumulated_risk_walks_the_ladder_one_rung_at_a_time() {
    let p = policy();
    let mut i = input(risk(0.0, 0.5), risk(0.0, 5.0));
    // The rules reach review, but a player who never got a response starts with a nudge.
    let LadderOutcome::Respond(d) = decide(&p, &i) else {
        panic!("due")
    };
    assert_eq!(
        (d.level, d.capped_from, d.rule.as_str()),
        (
            ResponseLevel::Nudge,
            Some(ResponseLevel::Review),
            "accumulated.extremism.review"
        )
    );
    i.last_given[0] = Some(i.now);
    i.now = i.now.plus(Duration::from_secs(1));
    assert_eq!(level(&decide(&p, &i)), ResponseLevel::Help);
    i.last_given[1] = Some(i.now);
    assert_eq!(level(&decide(&p, &i)), ResponseLevel::Review);
}

#[test]
fn reports_alone_never_respond() {
    let p = policy();
    assert_eq!(
        decide(&p, &input(Risk::default(), risk(0.0, 9.0))),
        LadderOutcome::Nothing
    );
}

#[test]
fn insult_only_ever_nudges() {
    let p = policy();
    let mut i = input(risk(1.0, 0.0), risk(50.0, 0.0));
    i.message = Some(TierScores::combined_only(Scores([1.0, 0.0, 0.0, 0.0])));
    i.last_given = [Some(Timestamp(0)), None, None];
    assert_eq!(level(&decide(&p, &i)), ResponseLevel::Nudge);
}

#[test]
fn cooldown_holds_back_the_same_response_but_not_a_stronger_one() {
    let p = policy();
    let mut i = input(risk(0.0, 0.1), risk(0.0, 1.1));
    i.last_given[0] = Some(i.now.plus(Duration::ZERO));
    i.now = i.now.plus(Duration::from_secs(30));
    assert!(matches!(
        decide(&p, &i),
        LadderOutcome::CoolingDown {
            level: ResponseLevel::Nudge,
            ..
        }
    ));
    i.now = i.now.plus(Duration::from_secs(31));
    assert_eq!(level(&decide(&p, &i)), ResponseLevel::Nudge);
    // A stronger rung is not blocked by the nudge cooldown.
    i.now = i.now.plus(Duration::from_secs(1));
    i.last_given[0] = Some(i.now);
    i.risk = risk(0.0, 2.5);
    assert_eq!(level(&decide(&p, &i)), ResponseLevel::Help);
}

#[test]
fn minors_get_help_earlier_and_longer_cooldowns() {
    let p = policy();
    let mut i = input(risk(0.0, 0.2), risk(0.0, 1.2));
    i.last_given[0] = Some(Timestamp(0));
    assert_eq!(
        level(&decide(&p, &i)),
        ResponseLevel::Nudge,
        "adult: 1.2 < help 2.0"
    );
    i.age_band = AgeBand::Minor;
    assert_eq!(
        level(&decide(&p, &i)),
        ResponseLevel::Help,
        "minor: 1.2 >= help 2.0 * 0.5"
    );
    assert_eq!(
        cooldown(&p, ResponseLevel::Nudge, AgeBand::Minor),
        Duration::from_secs(120)
    );
    assert_eq!(
        cooldown(&p, ResponseLevel::Nudge, AgeBand::Adult),
        Duration::from_secs(60)
    );
}

#[test]
fn message_rules_and_accumulated_rules_both_count() {
    let p = policy();
    let mut i = input(risk(0.0, 0.9), risk(0.0, 0.9));
    i.message = Some(TierScores::combined_only(Scores([0.0, 0.0, 0.0, 0.96])));
    i.last_given = [Some(Timestamp(0)), Some(Timestamp(0)), None];
    let LadderOutcome::Respond(d) = decide(&p, &i) else {
        panic!("due")
    };
    assert_eq!(d.level, ResponseLevel::Review);
    assert_eq!(d.rule, "message.extremism.review");
}

#[test]
fn graduated_off_lets_a_message_go_straight_to_review() {
    let mut p = policy();
    p.ladder.graduated = false;
    let mut i = input(risk(0.0, 0.9), risk(0.0, 0.9));
    i.message = Some(TierScores::combined_only(Scores([0.0, 0.0, 0.0, 0.99])));
    assert_eq!(level(&decide(&p, &i)), ResponseLevel::Review);
}

#[test]
fn amplification_grows_with_reporters_and_is_capped() {
    let p = policy();
    assert_eq!(amplification(&p, 0.0, 0.0), 1.0);
    assert_eq!(amplification(&p, 2.0, 0.0), 2.0);
    assert_eq!(amplification(&p, 20.0, 5.0), 3.0);
}

#[test]
fn decay_halves_per_half_life_and_pacing_damps_repeats_and_floods() {
    let h = Duration::from_secs(100);
    assert!((decay_factor(h, h) - 0.5).abs() < 1e-6);
    assert!((decay_factor(h * 3, h) - 0.125).abs() < 1e-6);
    let p = policy();
    assert_eq!(pacing_factor(&p, 0, 5.0), 1.0);
    assert_eq!(pacing_factor(&p, 2, 5.0), 0.25);
    assert_eq!(pacing_factor(&p, 0, 40.0), 0.5);
}
