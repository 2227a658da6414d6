//! The plugin in an `App`, driven with `app.update()`.
#![expect(clippy::expect_used, reason = "test and benchmark set-up fails loudly")]

use std::path::PathBuf;
use std::time::Duration;

use bevy_app::App;
use bevy_ecs::message::Messages;
use waypoint::{Category, ChatMessage, Policy, Response, Signal};
use waypoint_bevy::{
    BehaviourObserved, ChatSent, WaypointEngine, WaypointPlugin, WaypointResponse, WaypointStatus,
};

fn plugin() -> WaypointPlugin {
    WaypointPlugin {
        models_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")),
        policy: Some(
            Policy::from_toml_str(
                "version = \"bevy\"\naccumulated.extremism = { floor = 0.4, nudge = 0.5 }\n",
                "bevy",
            )
            .expect("valid"),
        ),
        ..Default::default()
    }
}

#[test]
fn messages_in_responses_out() {
    let mut app = App::new();
    app.add_plugins(plugin());
    assert_eq!(
        app.world().resource::<WaypointStatus>(),
        &WaypointStatus::Running
    );
    app.world_mut()
        .write_message(ChatSent(ChatMessage::new("p1", "gg wp")));
    app.world_mut()
        .write_message(BehaviourObserved(Signal::Custom {
            player: "p1".into(),
            kind: "flagged_emote".into(),
            category: Some(Category::Extremism),
            weight: 1.0,
        }));
    app.update();
    let engine = app.world().resource::<WaypointEngine>().0.clone();
    assert!(engine.flush(Duration::from_secs(30)));
    assert_eq!(engine.stats().processed, 2);
    app.update();
    let responses: Vec<WaypointResponse> = app
        .world()
        .resource::<Messages<WaypointResponse>>()
        .iter_current_update_messages()
        .cloned()
        .collect();
    assert_eq!(responses.len(), 1, "{responses:?}");
    let WaypointResponse(Response::Nudge(nudge)) = &responses[0] else {
        panic!("a nudge")
    };
    assert_eq!(nudge.player.as_str(), "p1");
}

#[test]
fn a_setup_failure_is_logged_not_panicked() {
    let mut app = App::new();
    app.add_plugins(WaypointPlugin {
        policy_file: Some("/no/such/policy.toml".into()),
        ..plugin()
    });
    assert!(
        matches!(app.world().resource::<WaypointStatus>(), WaypointStatus::Failed(m) if m.contains("/no/such/policy.toml"))
    );
    app.world_mut()
        .write_message(ChatSent(ChatMessage::new("p", "hello")));
    app.update();
    app.update();
    assert!(app.world().get_resource::<WaypointEngine>().is_none());
}

#[test]
fn a_game_built_engine_is_used_as_it_is() {
    let engine = waypoint::Engine::builder()
        .models_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"))
        .policy(Policy::from_toml_str("version = \"game-built\"\n", "game").expect("valid"))
        .build()
        .expect("engine");
    let mut app = App::new();
    app.add_plugins(WaypointPlugin::with_engine(engine.clone()));
    assert_eq!(
        app.world().resource::<WaypointStatus>(),
        &WaypointStatus::Running
    );
    app.world_mut()
        .write_message(ChatSent(ChatMessage::new("p1", "gg wp")));
    app.update();
    // The plugin submitted into the very engine the game holds.
    assert!(engine.flush(Duration::from_secs(30)));
    assert_eq!(engine.stats().processed, 1);
    let in_app = app.world().resource::<WaypointEngine>().0.policy();
    assert_eq!(in_app.version, "game-built");
}
