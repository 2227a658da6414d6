//! The engine delivers a referral as a signed case packet to a real loopback webhook, under the
//! player's pseudonym and never the platform's player id.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test set-up fails loudly"
)]

#[path = "../../sdk/waypoint/tests/referral_support/mod.rs"]
mod referral_support;
#[path = "../../sdk/waypoint/tests/transport_support/mod.rs"]
#[macro_use]
mod transport_support;

use std::path::PathBuf;
use std::time::Duration;

use referral_support::{KEY_ID, SECRET, TestReceiver, free_port};
use waypoint::referral::verify_signature;
use waypoint::{
    Category, ChatMessage, Engine, Policy, Response, Signal, SimulatedClock, Timestamp,
};

const PLATFORM_ID: &str = "steam:canary-platform-7731";

fn policy(url: &str) -> Policy {
    let source = format!(
        "version = \"webhook-test\"\n\
         accumulated.extremism = {{ floor = 0.4, nudge = 1.0, help = 2.0, review = 3.0 }}\n\
         [referral]\nground = \"ToS 4.2\"\n\
         [referral.webhook]\nurl = \"{url}\"\nsecret_env = \"WAYPOINT_TEST_UNUSED_SECRET\"\nkey_id = \"{KEY_ID}\"\n\
         [referral.retry]\ninitial_backoff_ms = 20\nmax_backoff_ms = 200\n"
    );
    Policy::from_toml_str(&source, "webhook-test.toml").unwrap()
}

fn context_policy(url: &str) -> Policy {
    let source = format!(
        "version = \"context-test\"\n\
         accumulated.extremism = {{ floor = 0.3, nudge = 0.5, help = 1.0, review = 1.5 }}\n\
         [referral]\nground = \"ToS 4.2\"\ncontext_messages = 2\n\
         [referral.webhook]\nurl = \"{url}\"\nsecret_env = \"WAYPOINT_TEST_UNUSED_SECRET\"\nkey_id = \"{KEY_ID}\"\n\
         [referral.retry]\ninitial_backoff_ms = 20\nmax_backoff_ms = 200\n"
    );
    Policy::from_toml_str(&source, "context-test.toml").unwrap()
}

/// Chats until the player is referred; returns the referral packet the webhook received and
/// every line that was sent, in order.
fn referred_packet(redact_context: bool) -> (serde_json::Value, Vec<String>) {
    let receiver = TestReceiver::start(free_port(), Duration::from_secs(300));
    let spool = tempfile::tempdir().unwrap();
    let clock = SimulatedClock::new();
    let mut builder = Engine::builder()
        .models_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
        .policy(context_policy(&receiver.url()))
        .clock(clock.clone())
        .pseudonym_key(b"context test".to_vec())
        .webhook_secret(SECRET)
        .referral_spool_dir(spool.path());
    if redact_context {
        builder = builder.before_referral(|mut referral| {
            referral.context.clear();
            Some(referral)
        });
    }
    let engine = builder.build().unwrap();
    let lines = [
        "gg all",
        "push mid after the next wave",
        "join us brothers, the day of the rope is coming 1488",
        "the great replacement is real, white genocide is happening 14 words",
        "sieg heil 1488, the race war is coming, day of the rope",
        "heil hitler 1488, rahowa now, the day of the rope is near",
        "1488 sieg heil, white genocide, join the race war",
        "day of the rope 1488, rahowa, heil hitler",
    ];
    let mut sent = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        clock.set(Timestamp::from_secs_f64(i as f64 * 300.0));
        engine
            .submit(Signal::Chat(
                ChatMessage::new(PLATFORM_ID, *line).locale("en"),
            ))
            .unwrap();
        sent.push((*line).to_owned());
        assert!(engine.flush(Duration::from_secs(30)));
        if engine
            .drain_responses()
            .iter()
            .any(|r| matches!(r, Response::ReviewReferral(_)))
        {
            break;
        }
    }
    let status = engine
        .flush_referrals(Duration::from_secs(30))
        .expect("a webhook is configured");
    assert_eq!(status.pending, 0, "{status:?}");
    assert!(
        receiver.wait_for(1, Duration::from_secs(10)),
        "a referral arrives"
    );
    let body = receiver.captured()[0].body.clone();
    engine.shutdown(Duration::from_secs(10)).unwrap();
    (serde_json::from_slice(&body).unwrap(), sent)
}

on_each_http_runtime! {
    fn a_drifting_player_reaches_review_and_the_webhook_gets_a_signed_pseudonymous_packet() {
        let receiver = TestReceiver::start(free_port(), Duration::from_secs(300));
        let spool = tempfile::tempdir().unwrap();
        let clock = SimulatedClock::new();
        let engine = Engine::builder()
            .models_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
            .policy(policy(&receiver.url()))
            .clock(clock.clone())
            .pseudonym_key(b"webhook test".to_vec())
            .webhook_secret(SECRET)
            .referral_spool_dir(spool.path())
            .build()
            .unwrap();

        clock.set(Timestamp::from_secs_f64(0.0));
        engine
            .submit(Signal::Chat(
                ChatMessage::new(PLATFORM_ID, "gg").locale("en"),
            ))
            .unwrap();
        for i in 1..=8 {
            clock.set(Timestamp::from_secs_f64(f64::from(i) * 60.0));
            engine
                .submit(Signal::Custom {
                    player: PLATFORM_ID.into(),
                    kind: "flagged-group-post".into(),
                    category: Some(Category::Extremism),
                    weight: 0.6,
                })
                .unwrap();
        }
        assert!(engine.flush(Duration::from_secs(30)));
        let responses = engine.drain_responses();
        let referral = responses
            .iter()
            .find_map(|r| match r {
                Response::ReviewReferral(referral) => Some(referral.clone()),
                _ => None,
            })
            .expect("the drifting player reaches review");
        let status = engine
            .flush_referrals(Duration::from_secs(30))
            .expect("a webhook is configured");
        assert_eq!(status.pending, 0, "{status:?}");
        assert!(receiver.wait_for(1, Duration::from_secs(10)));

        let captured = receiver.captured();
        assert_eq!(captured.len(), 1, "one referral, one request");
        let request = &captured[0];
        let verified = verify_signature(
            request.headers.iter().map(|(k, v)| (k, v)),
            &request.body,
            SECRET,
            Duration::from_secs(300),
        );
        assert!(verified.is_ok(), "{verified:?}");
        let body = String::from_utf8(request.body.clone()).unwrap();
        let packet: serde_json::Value = serde_json::from_str(&body).unwrap();
        let pseudonym = referral.pseudonym.to_string();
        assert_eq!(packet["player"]["pseudonym"], pseudonym.as_str());
        assert_eq!(packet["case_id"], referral.case_id.to_string().as_str());
        assert_eq!(packet["categories"][0]["category"], "extremism");
        assert_eq!(packet["statement_of_reasons"]["ground"], "ToS 4.2");
        assert_eq!(packet["versions"]["policy"], "webhook-test");
        assert!(
            packet["trajectory"]
                .as_array()
                .is_some_and(|t| !t.is_empty()),
            "{body}"
        );
        assert!(
            packet["earlier_responses"]
                .as_array()
                .is_some_and(|e| e.len() >= 2),
            "nudge and help came first: {body}"
        );
        assert!(
            !body.contains(PLATFORM_ID) && !body.contains("canary-platform"),
            "platform id leaked: {body}"
        );

        let stats = engine.stats();
        assert_eq!(stats.referral.map(|s| s.delivered), Some(1), "{stats:?}");
        assert_eq!(stats.referrals_unsent, 0);
        assert!(
            engine
                .referral_health()
                .is_some_and(|h| h.running && !h.endpoint_failing)
        );
        engine.shutdown(Duration::from_secs(10)).unwrap();
    }

    fn referral_packets_carry_the_configured_number_of_context_messages() {
        let (packet, sent) = referred_packet(false);
        assert!(sent.len() >= 3, "review needs a few messages: {sent:?}");
        let messages = packet["messages"].as_array().unwrap();
        let roles: Vec<&str> = messages
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["context", "context", "flagged"], "{packet}");
        let texts: Vec<&str> = messages
            .iter()
            .map(|m| m["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            texts,
            sent[sent.len() - 3..],
            "the two lines before the flagged one, oldest first"
        );
    }

    fn before_referral_can_redact_the_context() {
        let (packet, sent) = referred_packet(true);
        let messages = packet["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1, "{packet}");
        assert_eq!(messages[0]["role"], "flagged");
        assert_eq!(messages[0]["text"], sent.last().unwrap().as_str());
    }
}
