//! No exported telemetry byte contains chat text or a player id.
//!
//! Chat lines, player ids, channels, locales and report reasons full of canary strings are turned
//! into telemetry events the way an engine would (every string the telemetry API accepts is fed
//! from them), exported through the real file and HTTP exporters to a loopback server, and every
//! byte that left is scanned for the canaries.

#[path = "../../sdk/waypoint/tests/transport_support/mod.rs"]
#[macro_use]
mod transport_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use waypoint::telemetry::{Event, Language, Telemetry, TelemetryConfig, TelemetryConfigError};
use waypoint::{AgeBand, Category, ChatMessage, PlayerId, ResponseLevel, Scores, Signal};

const CANARIES: [&str; 6] = [
    "CANARYtext7f3a",
    "canary-player-91b2",
    "CANARYchannel55e",
    "CANARYreason0c4",
    "CANARYgroup88d",
    "canaryname-x1",
];

/// The events an engine would derive from `signal`: only codes, categories, scores and times.
fn events_for(signal: &Signal, i: u64) -> Vec<Event> {
    match signal {
        Signal::Chat(chat) => {
            let language = Language::new(chat.locale.as_deref().unwrap_or(&chat.text));
            let band = chat.age_band.unwrap_or_default();
            let category = Category::ALL[(i % 4) as usize];
            let mut out = vec![Event::Scored {
                language,
                scores: Scores([0.9, 0.1, 0.05, 0.0]),
                latency: Duration::from_micros(200 + i % 900),
            }];
            out.push(Event::Response {
                level: ResponseLevel::LADDER[(i % 3) as usize],
                category,
                age_band: band,
            });
            if i % 3 == 1 {
                out.push(Event::HelpOpened {
                    category,
                    age_band: band,
                });
            }
            if i % 3 == 2 {
                out.push(Event::Referral { category });
                out.push(Event::Outcome {
                    category,
                    upheld: i.is_multiple_of(2),
                });
            }
            out
        }
        Signal::NameChange { name, .. } => vec![
            Event::Signal {
                kind: signal.kind(),
            },
            Event::Scored {
                language: Language::new(name),
                scores: Scores::default(),
                latency: Duration::from_micros(90),
            },
        ],
        _ => vec![Event::Signal {
            kind: signal.kind(),
        }],
    }
}

fn signals(n: u64) -> Vec<Signal> {
    let mut out = Vec::new();
    for i in 0..n {
        let player = PlayerId::new(format!("{}-{i}", CANARIES[1]));
        let chat = ChatMessage::new(
            player.clone(),
            format!("{} you are {} #{i}", CANARIES[0], CANARIES[5]),
        )
        .channel(CANARIES[2])
        .locale(if i % 2 == 0 {
            "nl-BE".to_owned()
        } else {
            format!("{}-{i}", CANARIES[0])
        })
        .age_band(AgeBand::ALL[(i % 3) as usize]);
        out.push(Signal::Chat(chat));
        match i % 4 {
            0 => out.push(Signal::Report {
                reporter: PlayerId::new(CANARIES[1]),
                target: player,
                reason: CANARIES[3].to_owned(),
            }),
            1 => out.push(Signal::Block {
                by: PlayerId::new(CANARIES[1]),
                target: player,
            }),
            2 => out.push(Signal::NameChange {
                player,
                name: CANARIES[5].to_owned(),
            }),
            _ => out.push(Signal::GroupJoin {
                player,
                group: CANARIES[4].to_owned(),
                flagged: true,
            }),
        }
    }
    out
}

on_each_http_runtime! {
    fn no_exported_byte_contains_chat_text_or_player_ids() {
        // The loopback collector keeps every byte it receives.
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let received: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = Arc::clone(&received);
        let server = Arc::new(server);
        let srv = Arc::clone(&server);
        let collector = std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let mut body = Vec::new();
                let _ = request.as_reader().read_to_end(&mut body);
                sink.lock()
                    .unwrap()
                    .extend_from_slice(request.url().as_bytes());
                sink.lock().unwrap().extend_from_slice(&body);
                let _ = request.respond(tiny_http::Response::empty(200));
            }
        });

        // A canary cannot even be the server id.
        let bad = TelemetryConfig {
            server_id: CANARIES[1].replace('-', " "),
            ..TelemetryConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(TelemetryConfigError::ServerId(_))
        ));

        let dir = tempfile::tempdir().unwrap();
        for (k, epsilon) in [(1, None), (10, None), (10, Some(1.0))] {
            let config = TelemetryConfig {
                window_secs: 60,
                k,
                epsilon,
                server_id: format!("probe-k{k}"),
                file_dir: Some(dir.path().to_owned()),
                http_url: Some(format!("http://127.0.0.1:{port}/ingest")),
                ..TelemetryConfig::default()
            };
            let telemetry = Telemetry::builder(config).build().unwrap();
            for (i, signal) in signals(600).iter().enumerate() {
                for event in events_for(signal, i as u64) {
                    telemetry.record_at(
                        event,
                        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + i as u64),
                    );
                }
            }
            telemetry.shutdown(Duration::from_secs(10)).unwrap();
        }

        let mut exported: Vec<u8> = received.lock().unwrap().clone();
        let mut files = 0;
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            exported.extend_from_slice(path.file_name().unwrap().to_string_lossy().as_bytes());
            exported.extend(std::fs::read(&path).unwrap());
            files += 1;
        }
        assert!(
            files >= 3 && exported.len() > 10_000,
            "expected real exports, got {} bytes in {files} files",
            exported.len()
        );
        let text = String::from_utf8(exported).unwrap().to_lowercase();
        assert!(
            text.contains("\"language\":\"nl\""),
            "the locale's language code is kept"
        );
        assert!(
            text.contains("\"language\":\"und\""),
            "a free-form locale becomes und"
        );
        for canary in CANARIES {
            let needle = canary.to_lowercase();
            assert!(
                !text.contains(&needle),
                "exported telemetry contains {canary:?}"
            );
            // Not even a fragment long enough to identify it.
            for window in needle.as_bytes().windows(8) {
                let fragment = std::str::from_utf8(window).unwrap();
                assert!(
                    !text.contains(fragment),
                    "exported telemetry contains a fragment {fragment:?} of {canary:?}"
                );
            }
        }
        server.unblock();
        collector.join().unwrap();
    }
}
