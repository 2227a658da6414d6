//! The Waypoint integration: the code a studio copies.
//!
//! 1. [`build_engine`]: the engine with the trust-and-safety team's policy, a review-queue hook,
//!    telemetry into the data directory and, when asked, the signed referral webhook.
//! 2. [`WaypointIntegration`]: the `waypoint-bevy` messages and systems, plus two of ours:
//!    [`forward_to_waypoint`] turns game events into Waypoint signals and [`route_responses`]
//!    shows each response to the right person — nudges and help cards to the player concerned
//!    only, referrals to the trust-and-safety panel.
//!
//! The pre-send "are you sure?" check lives in the game's chat system (`game::publish_chat`) and
//! in the UI's input box (`tui.rs`): both call `Engine::check_chat` before a line goes out.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bevy_app::{App, Plugin, Update};
use bevy_ecs::prelude::*;
use waypoint::referral::WebhookConfig;
use waypoint::telemetry::TelemetryConfig;
use waypoint::{
    ChatMessage, Engine, Health, Hooks, Policy, Referral, Response, Risk, Signal, SimulatedClock,
};
use waypoint_bevy::{BehaviourObserved, ChatSent, WaypointPlugin, WaypointResponse};

use crate::game::{
    ChatPublished, Feed, FeedEntry, FeedKind, GameSystems, HelpCard, Inbox, MatchState,
    NameChanged, Player, PlayerBlocked, PlayerReported, PrivateNote,
};

/// The variable holding the webhook signing secret.
pub const WEBHOOK_SECRET_ENV: &str = "WAYPOINT_WEBHOOK_SECRET";

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The models directory (default: found upwards from the working directory).
    pub models_dir: Option<PathBuf>,
    /// A policy file (default: the SDK's default policy).
    pub policy_file: Option<PathBuf>,
    /// Where the review queue, telemetry and referral spool go.
    pub data_dir: PathBuf,
    /// POST referrals to this URL, signed with `$WAYPOINT_WEBHOOK_SECRET`.
    pub webhook: Option<String>,
    /// Game time.
    pub clock: SimulatedClock,
}

/// Why the engine could not be set up.
#[derive(Debug)]
pub enum SetupError {
    /// The data directory or the review queue file cannot be created.
    Io(PathBuf, std::io::Error),
    /// The policy file is invalid.
    Policy(waypoint::PolicyError),
    /// `--webhook` was given without a secret.
    MissingSecret,
    /// The engine did not start.
    Engine(waypoint::EngineBuildError),
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::Io(path, e) => write!(f, "cannot write to {}: {e}", path.display()),
            SetupError::Policy(e) => write!(f, "{e}"),
            SetupError::MissingSecret => write!(
                f,
                "--webhook needs the signing secret in ${WEBHOOK_SECRET_ENV} (any string the receiver also knows)"
            ),
            SetupError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// The review queue: every referral, one JSON object per line, appended to a file a human
/// review tool reads. Runs as a [`Hooks`] on the scoring thread, never on the game thread.
#[derive(Debug, Clone)]
pub struct ReviewQueue {
    path: PathBuf,
    file: Arc<Mutex<BufWriter<File>>>,
}

impl ReviewQueue {
    /// Opens (appends to) the queue file.
    pub fn open(path: &Path) -> Result<ReviewQueue, SetupError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| SetupError::Io(path.to_owned(), e))?;
        Ok(ReviewQueue {
            path: path.to_owned(),
            file: Arc::new(Mutex::new(BufWriter::new(file))),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Hooks for ReviewQueue {
    fn on_referral(&self, referral: &Referral) {
        // The whole referral: case id, player, evidence and every reason, for the reviewer.
        let line = match serde_json::to_string(referral) {
            Ok(line) => line,
            Err(e) => {
                eprintln!("review queue: cannot encode case {}: {e}", referral.case_id);
                return;
            }
        };
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = writeln!(file, "{line}").and_then(|()| file.flush()) {
            eprintln!("review queue: cannot write {}: {e}", self.path.display());
        }
    }
}

/// Builds the engine for the game.
pub fn build_engine(settings: &EngineSettings) -> Result<(Engine, ReviewQueue), SetupError> {
    let data = &settings.data_dir;
    std::fs::create_dir_all(data).map_err(|e| SetupError::Io(data.clone(), e))?;
    let mut policy = match &settings.policy_file {
        Some(path) => Policy::from_file(path).map_err(SetupError::Policy)?,
        None => Policy::default(),
    };
    // Aggregate telemetry (no text, no ids) as JSONL files for `waypoint report`.
    let mut telemetry = policy
        .telemetry
        .take()
        .unwrap_or_else(TelemetryConfig::default);
    telemetry.file_dir = Some(data.join("telemetry"));
    telemetry.server_id = "sample-game".to_owned();
    policy.telemetry = Some(telemetry);

    let queue = ReviewQueue::open(&data.join("review-queue.jsonl"))?;
    let mut builder = Engine::builder()
        .clock(settings.clock.clone())
        .hooks(queue.clone());
    if let Some(url) = &settings.webhook {
        let secret = std::env::var(WEBHOOK_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .ok_or(SetupError::MissingSecret)?;
        policy.referral.webhook = Some(WebhookConfig {
            url: url.clone(),
            secret_env: WEBHOOK_SECRET_ENV.to_owned(),
            key_id: "sample-game".to_owned(),
        });
        builder = builder
            .webhook_secret(secret.into_bytes())
            .referral_spool_dir(data.join("referral-spool"));
    }
    if let Some(dir) = &settings.models_dir {
        builder = builder.models_dir(dir);
    }
    let engine = builder.policy(policy).build().map_err(SetupError::Engine)?;
    if let Health::Degraded { reasons } = engine.health() {
        eprintln!("waypoint: running degraded: {}", reasons.join("; "));
    }
    Ok((engine, queue))
}

/// What the trust-and-safety panel shows: the latest risk per player and the review queue.
#[derive(Resource, Debug, Clone, Default)]
pub struct SafetyBoard {
    /// By player id: the accumulated risk the engine reported with its latest response.
    pub risk: HashMap<String, Risk>,
    /// By player id: the highest category score of the player's latest line (pre-send check).
    pub last_line: HashMap<String, f32>,
    /// Every response, in order.
    pub responses: Vec<LoggedResponse>,
}

/// One response as the panel and the summary see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoggedResponse {
    /// Game tick it was shown at.
    pub tick: u64,
    /// Player id.
    pub player: String,
    /// `nudge`, `help` or `review`.
    pub level: &'static str,
    /// The rule that fired.
    pub rule: String,
    /// Case id, for referrals.
    pub case_id: Option<String>,
    /// Report amplification at the time.
    pub amplification: f32,
}

/// Wires a running engine into the app: the `waypoint-bevy` messages, sets and systems (the same
/// ones `WaypointPlugin` adds), plus forwarding and routing.
///
/// The game's side of the integration: Waypoint's plugin around the engine built by
/// [`build_engine`] (with the game clock, the review-queue hook and the webhook secret), plus
/// the systems that forward chat and route responses. A game that needs none of those options
/// can use `app.add_plugins(WaypointPlugin::default())` with the same two systems.
#[derive(Debug, Clone)]
pub struct WaypointIntegration {
    /// The engine.
    pub engine: Engine,
}

impl Plugin for WaypointIntegration {
    fn build(&self, app: &mut App) {
        app.add_plugins(WaypointPlugin::with_engine(self.engine.clone()))
            .init_resource::<SafetyBoard>()
            .add_systems(
                Update,
                (
                    forward_to_waypoint.after(GameSystems::Publish),
                    route_responses,
                ),
            );
    }
}

/// Game events in, Waypoint signals out: chat lines, name changes, reports and blocks.
#[allow(clippy::too_many_arguments)]
pub fn forward_to_waypoint(
    mut board: ResMut<SafetyBoard>,
    players: Query<&Player>,
    mut chat: MessageReader<ChatPublished>,
    mut names: MessageReader<NameChanged>,
    mut reports: MessageReader<PlayerReported>,
    mut blocks: MessageReader<PlayerBlocked>,
    mut chat_out: MessageWriter<ChatSent>,
    mut behaviour: MessageWriter<BehaviourObserved>,
) {
    for line in chat.read() {
        let Ok(player) = players.get(line.player) else {
            continue;
        };
        let message = ChatMessage::new(player.id.clone(), line.text.clone())
            .locale(player.locale.clone())
            .age_band(player.age_band);
        if let Some(score) = line.top_score {
            board.last_line.insert(player.id.as_str().to_owned(), score);
        }
        chat_out.write(ChatSent(message));
    }
    for change in names.read() {
        let Ok(player) = players.get(change.player) else {
            continue;
        };
        behaviour.write(BehaviourObserved(Signal::NameChange {
            player: player.id.clone(),
            name: change.name.clone(),
        }));
    }
    for report in reports.read() {
        let (Ok(reporter), Ok(target)) = (players.get(report.reporter), players.get(report.target))
        else {
            continue;
        };
        behaviour.write(BehaviourObserved(Signal::Report {
            reporter: reporter.id.clone(),
            target: target.id.clone(),
            reason: report.reason.clone(),
        }));
    }
    for block in blocks.read() {
        let (Ok(by), Ok(target)) = (players.get(block.by), players.get(block.target)) else {
            continue;
        };
        behaviour.write(BehaviourObserved(Signal::Block {
            by: by.id.clone(),
            target: target.id.clone(),
        }));
    }
}

/// Shows each response to the right person: a nudge or a help card to that player only (their
/// [`Inbox`]), a referral to the trust-and-safety panel. The review queue file is written by the
/// [`ReviewQueue`] hook.
pub fn route_responses(
    state: Res<MatchState>,
    mut board: ResMut<SafetyBoard>,
    mut feed: ResMut<Feed>,
    mut responses: MessageReader<WaypointResponse>,
    mut players: Query<(&Player, &mut Inbox)>,
) {
    for WaypointResponse(response) in responses.read() {
        show_response(response, &state, &mut board, &mut feed, players.iter_mut());
    }
}

/// Routes responses still in the engine's outbox (after `Engine::flush` at the end of a run).
pub fn route_pending(world: &mut World, engine: &Engine) {
    let responses = engine.drain_responses();
    if responses.is_empty() {
        return;
    }
    let Some(state) = world.get_resource::<MatchState>().cloned() else {
        return;
    };
    world.resource_scope(|world, mut board: Mut<SafetyBoard>| {
        world.resource_scope(|world, mut feed: Mut<Feed>| {
            let mut players = world.query::<(&Player, &mut Inbox)>();
            for response in &responses {
                show_response(
                    response,
                    &state,
                    &mut board,
                    &mut feed,
                    players.iter_mut(world),
                );
            }
        });
    });
}

/// Shows one response; see [`route_responses`].
pub fn show_response<'a>(
    response: &Response,
    state: &MatchState,
    board: &mut SafetyBoard,
    feed: &mut Feed,
    players: impl Iterator<Item = (&'a Player, Mut<'a, Inbox>)>,
) {
    let id = response.player().as_str().to_owned();
    let reasons = response.reasons();
    board.risk.insert(id.clone(), reasons.risk);
    board.responses.push(LoggedResponse {
        tick: state.tick,
        player: id.clone(),
        level: response.level().as_str(),
        rule: reasons.rule.clone(),
        case_id: response.case_id().map(|c| c.to_string()),
        amplification: reasons.amplification,
    });
    let mut players = players;
    let Some((player, mut inbox)) = players.find(|(p, _)| p.id.as_str() == id) else {
        return;
    };
    let note = match response {
        Response::Nudge(nudge) => PrivateNote::Nudge {
            text: nudge.text.clone(),
        },
        Response::HelpLink(help) => PrivateNote::Help(match &help.help {
            Some(entry) => HelpCard {
                organisation: entry.organisation.clone(),
                text: entry.text.clone(),
                url: entry.url.clone(),
                chat_url: entry.chat_url.clone(),
                phone: entry.phone.clone(),
            },
            None => HelpCard {
                organisation: String::new(),
                text: help.text.clone(),
                url: String::new(),
                chat_url: None,
                phone: None,
            },
        }),
        Response::ReviewReferral(referral) => {
            let msg = format!(
                "review case {} for {} ({}, {:.0} reporter(s))",
                short_case(&referral.case_id.to_string()),
                player.name,
                reasons.rule,
                reasons.reporters.max(0.0)
            );
            feed.0.push(FeedEntry {
                tick: state.tick,
                round: state.round,
                kind: FeedKind::Safety(msg),
            });
            return;
        }
    };
    inbox.0.push(note.clone());
    feed.0.push(FeedEntry {
        tick: state.tick,
        round: state.round,
        kind: FeedKind::Private {
            to: player.id.clone(),
            name: player.name.clone(),
            note,
        },
    });
}

/// The first block of a case id, for display.
pub fn short_case(case: &str) -> &str {
    case.split('-').next().unwrap_or(case)
}
