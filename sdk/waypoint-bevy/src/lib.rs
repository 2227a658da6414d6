//! # waypoint-bevy
//!
//! [Waypoint](waypoint) for Bevy: add [`WaypointPlugin`], write [`ChatSent`] and
//! [`BehaviourObserved`] messages from your game systems, and read [`WaypointResponse`]
//! messages (nudges, help links, review referrals) to show them to players.
//!
//! ```no_run
//! use bevy_app::{App, Update};
//! use bevy_ecs::prelude::*;
//! use waypoint::{ChatMessage, Response};
//! use waypoint_bevy::{ChatSent, WaypointPlugin, WaypointResponse};
//!
//! fn forward_chat(mut chat: MessageWriter<ChatSent>) {
//!     // In a real game this comes from the network layer.
//!     chat.write(ChatSent(ChatMessage::new("steam:42", "gg wp").locale("en")));
//! }
//!
//! fn show_responses(mut responses: MessageReader<WaypointResponse>) {
//!     for WaypointResponse(response) in responses.read() {
//!         match response {
//!             Response::Nudge(n) => println!("to {}: {}", n.player, n.text),
//!             Response::HelpLink(h) => println!("to {}: {}", h.player, h.text),
//!             Response::ReviewReferral(r) => println!("review case {}", r.case_id),
//!         }
//!     }
//! }
//!
//! App::new()
//!     .add_plugins(WaypointPlugin { models_dir: Some("models".into()), ..Default::default() })
//!     .add_systems(Update, (forward_chat, show_responses))
//!     .run();
//! ```
//!
//! Signals are submitted in `PostUpdate` ([`WaypointSystems::Submit`]), so every message
//! written during `Update` goes out the same frame; responses decided by the worker are written
//! in `PreUpdate` ([`WaypointSystems::Deliver`]) and can be read in `Update`. Submitting never
//! blocks the frame. If the engine cannot start, the plugin logs the error, inserts
//! [`WaypointStatus::Failed`] and the game runs on without it.

use std::path::PathBuf;

use bevy_app::{App, Plugin, PostUpdate, PreUpdate};
use bevy_ecs::prelude::*;
use waypoint::{ChatMessage, Engine, Policy, Response, Signal};

/// The plugin. Every field has a default; see [`waypoint::EngineBuilder`] for what they do.
#[derive(Debug, Clone, Default)]
pub struct WaypointPlugin {
    /// The models directory (default: `$WAYPOINT_MODELS_DIR`, else `models/` found upwards).
    pub models_dir: Option<PathBuf>,
    /// A policy file; takes precedence over [`WaypointPlugin::policy`].
    pub policy_file: Option<PathBuf>,
    /// A policy (default: the built-in default policy).
    pub policy: Option<Policy>,
    /// The secret key for player pseudonyms (default: `$WAYPOINT_PSEUDONYM_KEY`, else random).
    pub pseudonym_key: Option<Vec<u8>>,
    /// Capacity of the signal queue (default: the engine's default).
    pub queue_capacity: Option<usize>,
    /// An engine the game built itself (for a game clock, hooks, a webhook secret, …). When set,
    /// the plugin uses it as it is and ignores the fields above; see [`WaypointPlugin::with_engine`].
    pub engine: Option<Engine>,
}

/// The running engine, for systems that want to call it directly (for example
/// [`Engine::check_chat`] before a line is sent). When the app and every clone are dropped, the
/// worker finishes what is queued and stops.
#[derive(Resource, Clone, Debug)]
pub struct WaypointEngine(pub Engine);

/// Whether the plugin's engine is running.
#[derive(Resource, Clone, Debug, PartialEq, Eq)]
pub enum WaypointStatus {
    /// The engine started.
    Running,
    /// The engine could not start; the message says why. Signals are ignored.
    Failed(String),
}

/// A chat line a player sent.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct ChatSent(pub ChatMessage);

/// A behaviour event: a report, a block, a name change, a group join or a custom signal.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct BehaviourObserved(pub Signal);

/// A response Waypoint decided: show it to the player (nudge, help link) or queue it for review.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct WaypointResponse(pub Response);

/// The plugin's systems.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaypointSystems {
    /// Writes decided responses as [`WaypointResponse`] messages (in `PreUpdate`).
    Deliver,
    /// Submits [`ChatSent`] and [`BehaviourObserved`] messages to the engine (in `PostUpdate`).
    Submit,
}

impl WaypointPlugin {
    /// A plugin around an engine the game built with [`Engine::builder`], for options the plugin's
    /// fields do not cover (a game clock, hooks, `before_referral`, a webhook secret).
    pub fn with_engine(engine: Engine) -> WaypointPlugin {
        WaypointPlugin {
            engine: Some(engine),
            ..WaypointPlugin::default()
        }
    }

    fn engine(&self) -> Result<Engine, waypoint::EngineBuildError> {
        if let Some(engine) = &self.engine {
            return Ok(engine.clone());
        }
        let mut builder = Engine::builder();
        if let Some(dir) = &self.models_dir {
            builder = builder.models_dir(dir);
        }
        if let Some(policy) = &self.policy {
            builder = builder.policy(policy.clone());
        }
        if let Some(path) = &self.policy_file {
            builder = builder.policy_file(path);
        }
        if let Some(key) = &self.pseudonym_key {
            builder = builder.pseudonym_key(key.clone());
        }
        if let Some(capacity) = self.queue_capacity {
            builder = builder.queue_capacity(capacity);
        }
        builder.build()
    }
}

impl Plugin for WaypointPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<ChatSent>()
            .add_message::<BehaviourObserved>()
            .add_message::<WaypointResponse>()
            .configure_sets(PreUpdate, WaypointSystems::Deliver)
            .configure_sets(PostUpdate, WaypointSystems::Submit)
            .add_systems(
                PreUpdate,
                deliver_responses.in_set(WaypointSystems::Deliver),
            )
            .add_systems(PostUpdate, submit_signals.in_set(WaypointSystems::Submit));
        match self.engine() {
            Ok(engine) => {
                if let waypoint::Health::Degraded { reasons } = engine.health() {
                    log::warn!("waypoint: running degraded: {}", reasons.join("; "));
                }
                app.insert_resource(WaypointEngine(engine))
                    .insert_resource(WaypointStatus::Running);
            }
            Err(e) => {
                log::error!("waypoint: the engine could not start, signals will be ignored: {e}");
                app.insert_resource(WaypointStatus::Failed(e.to_string()));
            }
        }
    }
}

/// Submits this frame's chat and behaviour messages. Never blocks: a full queue drops (and the
/// engine counts) the signal.
pub fn submit_signals(
    engine: Option<Res<WaypointEngine>>,
    mut chat: MessageReader<ChatSent>,
    mut behaviour: MessageReader<BehaviourObserved>,
) {
    let Some(engine) = engine else {
        chat.clear();
        behaviour.clear();
        return;
    };
    for ChatSent(message) in chat.read() {
        let _ = engine.0.submit(message.clone());
    }
    for BehaviourObserved(signal) in behaviour.read() {
        let _ = engine.0.submit(signal.clone());
    }
}

/// Writes responses the engine decided since the last frame.
pub fn deliver_responses(
    engine: Option<Res<WaypointEngine>>,
    mut out: MessageWriter<WaypointResponse>,
) {
    let Some(engine) = engine else { return };
    for response in engine.0.drain_responses() {
        out.write(WaypointResponse(response));
    }
}
