//! An engine built inside a tokio game server: its referral webhook and telemetry exporter post
//! with async reqwest on the server's runtime to real loopback servers, the responses come from
//! the async handle's stream, and async shutdown delivers what is pending.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test set-up fails loudly"
)]

#[path = "../../sdk/waypoint/tests/referral_support/mod.rs"]
mod referral_support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use referral_support::{KEY_ID, SECRET, TestReceiver, free_port};
use waypoint::{
    Category, ChatMessage, Engine, Policy, Response, Signal, SimulatedClock, Timestamp,
};

const WAIT: Duration = Duration::from_secs(60);

fn policy(webhook: &str, telemetry: &str) -> Policy {
    let source = format!(
        "version = \"tokio-test\"\n\
         accumulated.extremism = {{ floor = 0.4, nudge = 1.0, help = 2.0, review = 3.0 }}\n\
         [referral]\nground = \"ToS 4.2\"\n\
         [referral.webhook]\nurl = \"{webhook}\"\nsecret_env = \"WAYPOINT_TEST_UNUSED_SECRET\"\nkey_id = \"{KEY_ID}\"\n\
         [referral.retry]\ninitial_backoff_ms = 20\nmax_backoff_ms = 200\n\
         [telemetry]\nwindow_secs = 60\nk = 1\nserver_id = \"tokio-1\"\nhttp_url = \"{telemetry}\"\n"
    );
    Policy::from_toml_str(&source, "tokio-test.toml").unwrap()
}

/// A loopback server keeping every request body.
fn telemetry_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ingest", server.server_addr().to_ip().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            kept.lock().unwrap().push(body);
            let _ = request.respond(tiny_http::Response::empty(204));
        }
    });
    (url, bodies)
}

#[test]
fn a_tokio_server_refers_a_drifting_player_over_async_http_and_shuts_down_cleanly() {
    let receiver = TestReceiver::start(free_port(), Duration::from_secs(300));
    let (telemetry_url, telemetry_bodies) = telemetry_server();
    let spool = tempfile::tempdir().unwrap();
    let clock = SimulatedClock::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (responses, on_tokio) = runtime.block_on(async {
        let engine = Engine::builder()
            .models_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
            .policy(policy(&receiver.url(), &telemetry_url))
            .clock(clock.clone())
            .pseudonym_key(b"tokio test".to_vec())
            .webhook_secret(SECRET)
            .referral_spool_dir(spool.path())
            .build()
            .unwrap()
            .async_handle();
        let on_tokio = engine
            .engine()
            .referral_sender()
            .expect("a webhook is configured")
            .http_runtime()
            .is_tokio();
        let mut stream = engine.responses();
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(response) = stream.recv().await {
                seen.push(response);
            }
            seen
        });
        clock.set(Timestamp::from_secs_f64(0.0));
        engine
            .submit(ChatMessage::new("steam:drifter", "gg").locale("en"))
            .unwrap();
        for i in 1..=8 {
            clock.set(Timestamp::from_secs_f64(f64::from(i) * 60.0));
            engine
                .submit(Signal::Custom {
                    player: "steam:drifter".into(),
                    kind: "flagged-group-post".into(),
                    category: Some(Category::Extremism),
                    weight: 0.6,
                })
                .unwrap();
        }
        assert!(engine.flush(WAIT).await);
        let status = engine
            .flush_referrals(WAIT)
            .await
            .expect("a webhook is configured");
        assert_eq!(status.pending, 0, "{status:?}");
        engine.shutdown(WAIT).await.unwrap();
        (
            tokio::time::timeout(WAIT, reader).await.unwrap().unwrap(),
            on_tokio,
        )
    });
    assert!(on_tokio, "an engine built inside a runtime posts on it");
    let referral = responses
        .iter()
        .find_map(|r| match r {
            Response::ReviewReferral(referral) => Some(referral),
            _ => None,
        })
        .expect("the drifting player reaches review");
    assert_eq!(
        receiver.accepted().get(&referral.case_id.to_string()),
        Some(&1),
        "the webhook got the referral once"
    );
    assert_eq!(receiver.rejected(), 0);
    // Shutdown closed the telemetry window and posted it.
    let bodies = telemetry_bodies.lock().unwrap();
    assert!(
        bodies.iter().any(|b| b.contains("\"tokio-1\"")),
        "telemetry arrived: {bodies:?}"
    );
}
