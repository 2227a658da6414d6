//! A tokio game server with Waypoint: several simulated game servers, one engine each, host
//! concurrent matches. A drifting player hops from match to match and so from server to server,
//! while the other players only play their own match. Match tasks submit chat from the runtime's
//! worker threads (`submit` never blocks); each server's responder task reads its engine's
//! response stream.
//!
//! With a store URL the engines keep player state in one Valkey/Redis store, so the drifter
//! climbs one ladder across servers; without one each engine keeps its own in memory.
//!
//! The match clock is game time (one round is one minute), shared by every server, as a real
//! platform's servers share wall-clock time.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Barrier, watch};
use tokio::task::JoinHandle;
use waypoint::store::StoreConfig;
use waypoint::{
    AsyncEngine, ChatMessage, Engine, EngineBuildError, EngineBuilder, ResponseLevel,
    ShutdownError, SimulatedClock, Timestamp,
};

/// The player who drifts toward extremism and hops between servers.
pub const DRIFTER: &str = "steam:drifter";

/// How long a flush or shutdown may take.
const WAIT: Duration = Duration::from_secs(60);

/// Rounds the drifter stays in one match before moving to the next.
const ROUNDS_PER_MATCH: usize = 5;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Game servers, one engine each.
    pub servers: usize,
    /// Concurrent matches, spread over the servers in turn.
    pub matches: usize,
    /// Rounds of chat (one game minute each).
    pub rounds: usize,
    /// A `redis://` URL of the shared player store; `None` keeps state in each engine.
    pub store_url: Option<String>,
    /// The models folder (default: found upwards from the working directory).
    pub models_dir: Option<PathBuf>,
    /// The pseudonym key; every server sharing a store must use the same one.
    pub pseudonym_key: Vec<u8>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            servers: 2,
            matches: 4,
            rounds: 50,
            store_url: None,
            models_dir: None,
            pseudonym_key: b"tokio-server demo key: use a secret from your config".to_vec(),
        }
    }
}

/// One response as the game received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// The server whose engine decided it.
    pub server: usize,
    /// Game time.
    pub at: Timestamp,
    /// Nudge, help link or referral.
    pub level: ResponseLevel,
    /// The platform's player id.
    pub player: String,
    /// The rule that decided it.
    pub rule: String,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Every response, in game-time order.
    pub responses: Vec<Delivered>,
    /// Signals submitted, over all servers.
    pub submitted: u64,
    /// Signals dropped because a queue was full.
    pub dropped: u64,
}

impl Summary {
    /// The responses to `player`, in game-time order.
    pub fn for_player<'a>(&'a self, player: &'a str) -> impl Iterator<Item = &'a Delivered> {
        self.responses.iter().filter(move |d| d.player == player)
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// An engine could not be built.
    #[error("cannot start an engine: {0}")]
    Engine(#[from] EngineBuildError),
    /// An engine did not shut down in time.
    #[error("an engine did not shut down: {0}")]
    Shutdown(#[from] ShutdownError),
    /// A match or responder task panicked.
    #[error("a server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The configuration asks for no server or no match.
    #[error("at least one server and one match are needed")]
    Empty,
}

/// Called for each response as it arrives.
pub type OnResponse = Arc<dyn Fn(&Delivered) + Send + Sync>;

/// Runs the simulation on the current tokio runtime.
pub async fn run(config: &Config, on_response: OnResponse) -> Result<Summary, ServerError> {
    if config.servers == 0 || config.matches == 0 {
        return Err(ServerError::Empty);
    }
    let clock = SimulatedClock::new();
    let engines = (0..config.servers)
        .map(|_| engine(config, &clock).map(|engine| engine.async_handle()))
        .collect::<Result<Vec<_>, _>>()?;
    let responders: Vec<_> = engines
        .iter()
        .enumerate()
        .map(|(server, engine)| respond(server, engine, Arc::clone(&on_response)))
        .collect();

    let (round_tx, round_rx) = watch::channel(None);
    let barrier = Arc::new(Barrier::new(config.matches + 1));
    let matches: Vec<_> = (0..config.matches)
        .map(|m| {
            let engine = engines[m % config.servers].clone();
            let game = Match {
                index: m,
                matches: config.matches,
            };
            tokio::spawn(game.play(engine, round_rx.clone(), Arc::clone(&barrier)))
        })
        .collect();
    for round in 0..config.rounds {
        clock.set(Timestamp::from_secs_f64(round as f64 * 60.0));
        let _ = round_tx.send(Some(round));
        barrier.wait().await;
        // Each round is decided before the next starts, as minutes apart in a real game.
        for engine in &engines {
            engine.flush(WAIT).await;
        }
    }
    drop(round_tx);
    for game in matches {
        game.await?;
    }
    let mut summary = Summary::default();
    for engine in &engines {
        let stats = engine.engine().stats();
        summary.submitted += stats.submitted;
        summary.dropped += stats.dropped;
        engine.shutdown(WAIT).await?;
    }
    for responder in responders {
        summary.responses.extend(responder.await?);
    }
    summary.responses.sort_by_key(|d| (d.at, d.server));
    Ok(summary)
}

/// One server's engine: the default policy, game time, and the shared store when configured.
fn engine(config: &Config, clock: &SimulatedClock) -> Result<Engine, EngineBuildError> {
    let mut builder = Engine::builder()
        .clock(clock.clone())
        .pseudonym_key(config.pseudonym_key.clone());
    if let Some(dir) = &config.models_dir {
        builder = builder.models_dir(dir);
    }
    with_store(builder, config.store_url.as_deref()).build()
}

/// Unix milliseconds at game time zero, the same for every server so the times they write to a
/// shared store agree.
const GAME_EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

/// The player store: in memory unless a URL is given, then the shared Valkey/Redis store.
fn with_store(builder: EngineBuilder, url: Option<&str>) -> EngineBuilder {
    match url {
        None => builder,
        Some(url) => builder
            .store_config(StoreConfig::with_url(url))
            .clock_epoch_unix_ms(GAME_EPOCH_UNIX_MS),
    }
}

/// The server's responder: reads the engine's response stream until the engine shuts down.
fn respond(
    server: usize,
    engine: &AsyncEngine,
    on_response: OnResponse,
) -> JoinHandle<Vec<Delivered>> {
    let mut responses = engine.responses();
    tokio::spawn(async move {
        let mut delivered = Vec::new();
        while let Some(response) = responses.recv().await {
            let item = Delivered {
                server,
                at: response.at(),
                level: response.level(),
                player: response.player().to_string(),
                rule: response.reasons().rule.clone(),
            };
            // A real server shows the nudge or the help card to that player only, and leaves
            // referrals to its review tooling (the webhook or the `on_referral` hook).
            on_response(&item);
            delivered.push(item);
        }
        delivered
    })
}

/// One match: three regulars of its own, and the drifter while it is his match.
struct Match {
    index: usize,
    matches: usize,
}

impl Match {
    async fn play(
        self,
        engine: AsyncEngine,
        mut rounds: watch::Receiver<Option<usize>>,
        barrier: Arc<Barrier>,
    ) {
        while rounds.changed().await.is_ok() {
            let round = *rounds.borrow_and_update();
            if let Some(round) = round {
                for (player, text) in self.lines(round) {
                    // Never blocks: a full queue drops the line and counts it.
                    let _ = engine.submit(ChatMessage::new(player, text).locale("en"));
                }
            }
            barrier.wait().await;
        }
    }

    /// Who says what in `round`.
    fn lines(&self, round: usize) -> Vec<(String, &'static str)> {
        let pick = |list: &[&'static str], offset: usize| list[(round + offset) % list.len()];
        let mut lines = vec![
            (self.player("ana"), pick(ORDINARY, self.index)),
            (self.player("bo"), pick(CALLOUTS, self.index)),
        ];
        if round % 7 == 3 {
            lines.push((self.player("cy"), pick(TRASH_TALK, self.index)));
        }
        if (round / ROUNDS_PER_MATCH) % self.matches == self.index {
            lines.push((DRIFTER.to_owned(), drifter_line(round)));
        }
        lines
    }

    fn player(&self, name: &str) -> String {
        format!("steam:match{}-{name}", self.index)
    }
}

/// The drifter's line in `round`: ordinary chat, then drifting talk, then slogans.
fn drifter_line(round: usize) -> &'static str {
    let list = match round {
        0..20 => ORDINARY,
        20..35 => DRIFTING,
        _ => EXTREME,
    };
    list[round % list.len()]
}

const ORDINARY: &[&str] = &[
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
const CALLOUTS: &[&str] = &[
    "kill the healer first",
    "camp B and wait for them",
    "they are flanking left",
    "sniper on the roof",
    "fall back, regroup at spawn",
];
const TRASH_TALK: &[&str] = &[
    "you absolute potato",
    "get rekt noob",
    "uninstall the game you braindead moron",
];
const DRIFTING: &[&str] = &[
    "the media lies to you about everything",
    "nobody is allowed to talk about what is happening to our people",
    "they are replacing us and nobody cares",
    "our people are waking up",
    "look into the great replacement, it is real",
];
const EXTREME: &[&str] = &[
    "we must secure the existence of our people and a future for white children",
    "14 words. 1488",
    "race war now. rahowa",
    "heil hitler, sieg heil brothers",
    "day of the rope is coming for the traitors",
];
