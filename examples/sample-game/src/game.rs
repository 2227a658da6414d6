//! The game: a short team match on a fixed tick, bot players, chat, reports and blocks.
//!
//! Nothing here knows about Waypoint except the chat system, which asks it for a pre-send
//! verdict when the engine is running ([`publish_chat`]); `integration.rs` forwards what happens
//! here to Waypoint and shows its responses to players.

use std::collections::HashMap;
use std::time::Duration;

use bevy_app::{App, First, Plugin, Update};
use bevy_ecs::prelude::*;
use waypoint::{AgeBand, ChatMessage, PlayerId, SimulatedClock};
use waypoint_bevy::WaypointEngine;

use crate::personas::{Script, Team};
use crate::rng::GameRng;

/// One simulated tick: 16.6 ms, a 60 Hz server.
pub const TICK: Duration = Duration::from_micros(16_600);

/// Mean seconds between two eliminations on the server.
const KILL_EVERY_SECS: f64 = 4.0;
/// Chance per tick that the attacking team takes the objective.
const OBJECTIVE_PER_TICK: f64 = 0.000_15;

/// A player in the match.
#[derive(Component, Debug, Clone)]
pub struct Player {
    /// The platform's id (the persona id).
    pub id: PlayerId,
    /// Current display name (clan tag included).
    pub name: String,
    /// Team.
    pub team: Team,
    /// Index into the script's personas.
    pub persona: usize,
    /// Locale, for help cards.
    pub locale: String,
    /// Age band, as the platform knows it.
    pub age_band: AgeBand,
    /// Alive in the current round.
    pub alive: bool,
}

/// A scripted player.
#[derive(Component, Debug, Clone)]
pub struct Bot {
    /// The tick of its next chat line.
    pub next_chat_tick: u64,
}

/// The player at the keyboard (interactive mode).
#[derive(Component, Debug, Clone, Copy)]
pub struct Human;

/// What only this player sees: pre-send nudges, nudges, help cards.
#[derive(Component, Debug, Clone, Default)]
pub struct Inbox(pub Vec<PrivateNote>);

/// Players this player has blocked: their chat no longer reaches this player.
#[derive(Component, Debug, Clone, Default)]
pub struct Blocklist(pub Vec<PlayerId>);

/// A note shown to one player only.
#[derive(Debug, Clone, PartialEq)]
pub enum PrivateNote {
    /// "Are you sure?" before a line was sent.
    PreSend {
        /// The note.
        text: String,
        /// The line in question.
        line: String,
        /// Whether the player took the line back.
        retracted: bool,
    },
    /// A nudge after the line was sent.
    Nudge {
        /// The note.
        text: String,
    },
    /// A help card.
    Help(HelpCard),
}

/// A help card as the player sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpCard {
    /// The organisation's name.
    pub organisation: String,
    /// Text shown with the links.
    pub text: String,
    /// Landing page.
    pub url: String,
    /// Anonymous chat.
    pub chat_url: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

/// Time and score of the match.
#[derive(Resource, Debug, Clone)]
pub struct MatchState {
    /// Ticks since the start.
    pub tick: u64,
    /// Match number (1-based).
    pub game: u32,
    /// Round in the match (1-based).
    pub round: u32,
    /// Rounds per match.
    pub rounds: u32,
    /// Ticks per round.
    pub round_ticks: u64,
    /// Tick the current round started.
    pub round_start: u64,
    /// Rounds won in this match, red then blue.
    pub score: [u32; 2],
    /// Points in this round (eliminations, objectives), red then blue.
    pub kills: [u32; 2],
    /// The clock the engine reads: game time, so cooldowns and pacing follow the game even when
    /// a headless run goes faster than real time.
    pub clock: SimulatedClock,
}

/// The bot script.
#[derive(Resource, Debug, Clone)]
pub struct ScriptRes(pub Script);

/// Everything that happened, in order: the transcript and the UI's feed.
#[derive(Resource, Debug, Clone, Default)]
pub struct Feed(pub Vec<FeedEntry>);

/// One line of the feed.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    /// When.
    pub tick: u64,
    /// Round.
    pub round: u32,
    /// What.
    pub kind: FeedKind,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum FeedKind {
    /// A chat line everyone (but those who blocked the sender) sees.
    Chat {
        /// Sender.
        from: PlayerId,
        /// Sender's name then.
        name: String,
        /// Sender's team.
        team: Team,
        /// The line.
        text: String,
    },
    /// A game event (kills, objectives, rounds).
    Game(String),
    /// A note only `to` sees.
    Private {
        /// Recipient.
        to: PlayerId,
        /// Recipient's name.
        name: String,
        /// The note.
        note: PrivateNote,
    },
    /// Platform and trust-and-safety events (reports, blocks, name changes, referrals).
    Safety(String),
}

/// Per-persona counters kept by the game.
#[derive(Resource, Debug, Clone, Default)]
pub struct GameStats {
    /// By persona id.
    pub by_persona: HashMap<String, PersonaCounts>,
    /// Time spent in `Engine::check_chat` on the game thread.
    pub presend_time: Duration,
    /// Number of `check_chat` calls.
    pub presend_calls: u64,
}

/// Counters for one persona.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PersonaCounts {
    /// Lines sent.
    pub messages: u64,
    /// Pre-send nudges shown.
    pub presend_nudges: u64,
    /// Lines taken back after a pre-send nudge.
    pub retracted: u64,
    /// Reports against this player.
    pub reported: u64,
    /// Blocks against this player.
    pub blocked: u64,
    /// Name changes.
    pub renames: u64,
}

/// A line a player typed, before the pre-send check.
#[derive(Message, Debug, Clone)]
pub struct ChatAttempt {
    /// Who.
    pub player: Entity,
    /// The line.
    pub text: String,
    /// How bystanders take it (a report reason), from the script.
    pub reported_as: Option<String>,
    /// The top category score of the UI's own pre-send check (the human's lines).
    pub top_score: Option<f32>,
}

/// A line that went out to the other players.
#[derive(Message, Debug, Clone)]
pub struct ChatPublished {
    /// Who.
    pub player: Entity,
    /// The line.
    pub text: String,
    /// The top category score of the pre-send check, when there was one.
    pub top_score: Option<f32>,
}

/// One player reported another.
#[derive(Message, Debug, Clone)]
pub struct PlayerReported {
    /// Who reported.
    pub reporter: Entity,
    /// Who was reported.
    pub target: Entity,
    /// The report form's reason.
    pub reason: String,
}

/// One player blocked another.
#[derive(Message, Debug, Clone)]
pub struct PlayerBlocked {
    /// Who blocked.
    pub by: Entity,
    /// Who was blocked.
    pub target: Entity,
}

/// A player changed name or clan tag.
#[derive(Message, Debug, Clone)]
pub struct NameChanged {
    /// Who.
    pub player: Entity,
    /// The new name.
    pub name: String,
}

/// What the person at the keyboard did (interactive mode), filled by the UI.
#[derive(Resource, Debug, Clone, Default)]
pub struct HumanActions(pub Vec<HumanAction>);

/// One action of the person at the keyboard.
#[derive(Debug, Clone)]
pub enum HumanAction {
    /// A line to send, already past the pre-send dialog, with that check's top score.
    Say(String, Option<f32>),
    /// A new name.
    Rename(String),
    /// Report a player by name.
    Report(String),
    /// Block a player by name.
    Block(String),
}

/// System sets of the game, in order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GameSystems {
    /// Rounds, eliminations, objectives.
    Simulate,
    /// Bots and the human decide what to say and do.
    Act,
    /// Chat goes out (after the pre-send check) and bystanders react.
    Publish,
}

/// The game, without any trust-and-safety code.
#[derive(Debug, Clone)]
pub struct GamePlugin {
    /// The bot script.
    pub script: Script,
    /// The RNG seed.
    pub seed: u64,
    /// The clock shared with the engine.
    pub clock: SimulatedClock,
    /// Which persona the human plays, if any.
    pub human: Option<usize>,
    /// The human's locale (replaces the persona's).
    pub human_locale: Option<String>,
}

impl Plugin for GamePlugin {
    fn build(&self, app: &mut App) {
        let round_ticks = (self.script.game.round_secs / TICK.as_secs_f64()).round() as u64;
        let mut rng = GameRng::new(self.seed);
        for (index, persona) in self.script.personas.iter().enumerate() {
            let mut locale = persona.locale.clone();
            if self.human == Some(index)
                && let Some(l) = &self.human_locale
            {
                locale = l.clone();
            }
            let player = Player {
                id: PlayerId::new(persona.id.clone()),
                name: persona.name.clone(),
                team: persona.team,
                persona: index,
                locale,
                age_band: persona.age_band,
                alive: true,
            };
            let first = rng.exponential(persona.chat_every_secs) / TICK.as_secs_f64();
            let mut entity =
                app.world_mut()
                    .spawn((player, Inbox::default(), Blocklist::default()));
            if self.human == Some(index) {
                entity.insert(Human);
            } else {
                entity.insert(Bot {
                    next_chat_tick: first as u64,
                });
            }
        }
        app.insert_resource(MatchState {
            tick: 0,
            game: 1,
            round: 1,
            rounds: self.script.game.rounds,
            round_ticks: round_ticks.max(1),
            round_start: 0,
            score: [0, 0],
            kills: [0, 0],
            clock: self.clock.clone(),
        })
        .insert_resource(ScriptRes(self.script.clone()))
        .insert_resource(rng)
        .init_resource::<Feed>()
        .init_resource::<GameStats>()
        .init_resource::<HumanActions>()
        .add_message::<ChatAttempt>()
        .add_message::<ChatPublished>()
        .add_message::<PlayerReported>()
        .add_message::<PlayerBlocked>()
        .add_message::<NameChanged>()
        .configure_sets(
            Update,
            (
                GameSystems::Simulate,
                GameSystems::Act,
                GameSystems::Publish,
            )
                .chain(),
        )
        .add_systems(First, advance_clock)
        .add_systems(Update, simulate_round.in_set(GameSystems::Simulate))
        .add_systems(
            Update,
            (bot_behaviour, human_actions)
                .chain()
                .in_set(GameSystems::Act),
        )
        .add_systems(
            Update,
            (publish_chat, apply_reports_and_blocks, apply_renames)
                .chain()
                .in_set(GameSystems::Publish),
        );
    }
}

/// Moves game time on by one tick.
pub fn advance_clock(mut state: ResMut<MatchState>) {
    state.tick += 1;
    state.clock.advance(TICK);
}

fn push(feed: &mut Feed, state: &MatchState, kind: FeedKind) {
    feed.0.push(FeedEntry {
        tick: state.tick,
        round: state.round,
        kind,
    });
}

/// Eliminations, objectives and the end of rounds and matches. Rounds last their full time so
/// every persona gets its say; a wiped team respawns.
pub fn simulate_round(
    mut state: ResMut<MatchState>,
    mut rng: ResMut<GameRng>,
    mut feed: ResMut<Feed>,
    mut players: Query<&mut Player>,
) {
    if rng.chance(TICK.as_secs_f64() / KILL_EVERY_SECS) {
        let attackers = if rng.chance(0.5) {
            Team::Red
        } else {
            Team::Blue
        };
        let alive = |team: Team| -> Vec<(PlayerId, String)> {
            players
                .iter()
                .filter(|p| p.alive && p.team == team)
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect()
        };
        let (killers, victims) = (alive(attackers), alive(attackers.other()));
        if !killers.is_empty() && !victims.is_empty() {
            let killer = &killers[rng.index(killers.len())];
            let victim = &victims[rng.index(victims.len())];
            for mut p in &mut players {
                if p.id == victim.0 {
                    p.alive = false;
                }
            }
            state.kills[usize::from(attackers == Team::Blue)] += 1;
            let msg = format!("{} eliminated {}", killer.1, victim.1);
            push(&mut feed, &state, FeedKind::Game(msg));
            if victims.len() == 1 {
                let msg = format!(
                    "{} wiped {}, everyone respawns",
                    attackers.as_str(),
                    attackers.other().as_str()
                );
                push(&mut feed, &state, FeedKind::Game(msg));
                for mut p in &mut players {
                    p.alive = true;
                }
            }
        }
    }
    if rng.chance(OBJECTIVE_PER_TICK) {
        let team = if state.round % 2 == 1 {
            Team::Red
        } else {
            Team::Blue
        };
        state.kills[usize::from(team == Team::Blue)] += 3;
        let msg = format!("{} took the objective", team.as_str());
        push(&mut feed, &state, FeedKind::Game(msg));
    }
    if state.tick - state.round_start < state.round_ticks {
        return;
    }
    let winner = if state.kills[0] >= state.kills[1] {
        Team::Red
    } else {
        Team::Blue
    };
    state.score[usize::from(winner == Team::Blue)] += 1;
    let msg = format!(
        "round {} to {} ({}-{})",
        state.round,
        winner.as_str(),
        state.score[0],
        state.score[1]
    );
    push(&mut feed, &state, FeedKind::Game(msg));
    for mut p in &mut players {
        p.alive = true;
    }
    state.round_start = state.tick;
    state.kills = [0, 0];
    if state.round >= state.rounds {
        let msg = format!(
            "match {} over: red {} - blue {}; a new match starts",
            state.game, state.score[0], state.score[1]
        );
        push(&mut feed, &state, FeedKind::Game(msg));
        state.game += 1;
        state.round = 1;
        state.score = [0, 0];
    } else {
        state.round += 1;
    }
}

/// Bots speak from their script and change names at the start of rounds.
pub fn bot_behaviour(
    state: Res<MatchState>,
    script: Res<ScriptRes>,
    mut rng: ResMut<GameRng>,
    mut bots: Query<(Entity, &Player, &mut Bot)>,
    mut attempts: MessageWriter<ChatAttempt>,
    mut renames: MessageWriter<NameChanged>,
) {
    let round_started = state.tick == state.round_start + 1;
    for (entity, player, mut bot) in &mut bots {
        let Some(persona) = script.0.personas.get(player.persona) else {
            continue;
        };
        if round_started {
            for rename in persona.renames.iter().filter(|r| r.round == state.round) {
                renames.write(NameChanged {
                    player: entity,
                    name: rename.name.clone(),
                });
            }
        }
        if state.tick < bot.next_chat_tick {
            continue;
        }
        let wait = rng.exponential(persona.chat_every_secs) / TICK.as_secs_f64();
        bot.next_chat_tick = state.tick + 1 + wait as u64;
        let Some(stage) = persona.stage(state.round) else {
            continue;
        };
        let line = &stage.lines[rng.index(stage.lines.len())];
        attempts.write(ChatAttempt {
            player: entity,
            text: line.clone(),
            reported_as: stage.reported_as.clone(),
            top_score: None,
        });
    }
}

/// The human's actions, queued by the UI.
pub fn human_actions(
    mut actions: ResMut<HumanActions>,
    humans: Query<Entity, With<Human>>,
    players: Query<(Entity, &Player)>,
    mut attempts: MessageWriter<ChatAttempt>,
    mut renames: MessageWriter<NameChanged>,
    mut reports: MessageWriter<PlayerReported>,
    mut blocks: MessageWriter<PlayerBlocked>,
) {
    let Ok(me) = humans.single() else {
        actions.0.clear();
        return;
    };
    let find = |name: &str| {
        players
            .iter()
            .find(|(_, p)| p.name.eq_ignore_ascii_case(name) || p.id.as_str() == name)
            .map(|(e, _)| e)
    };
    for action in actions.0.drain(..) {
        match action {
            HumanAction::Say(text, top_score) => {
                attempts.write(ChatAttempt {
                    player: me,
                    text,
                    reported_as: None,
                    top_score,
                });
            }
            HumanAction::Rename(name) => {
                renames.write(NameChanged { player: me, name });
            }
            HumanAction::Report(name) => {
                if let Some(target) = find(&name) {
                    reports.write(PlayerReported {
                        reporter: me,
                        target,
                        reason: "other".to_owned(),
                    });
                }
            }
            HumanAction::Block(name) => {
                if let Some(target) = find(&name) {
                    blocks.write(PlayerBlocked { by: me, target });
                }
            }
        }
    }
}

/// Sends chat: asks Waypoint for a pre-send verdict when it runs (bots may take a line back,
/// as people do), publishes the line, and lets bystanders react to abusive lines.
#[allow(clippy::too_many_arguments)]
pub fn publish_chat(
    engine: Option<Res<WaypointEngine>>,
    state: Res<MatchState>,
    script: Res<ScriptRes>,
    mut rng: ResMut<GameRng>,
    mut feed: ResMut<Feed>,
    mut stats: ResMut<GameStats>,
    mut attempts: MessageReader<ChatAttempt>,
    mut published: MessageWriter<ChatPublished>,
    mut reports: MessageWriter<PlayerReported>,
    mut blocks: MessageWriter<PlayerBlocked>,
    mut players: Query<(Entity, &Player, &mut Inbox, &Blocklist, Option<&Bot>)>,
) {
    for attempt in attempts.read() {
        let Ok((_, player, mut inbox, _, bot)) = players.get_mut(attempt.player) else {
            continue;
        };
        let persona = script.0.personas.get(player.persona);
        let counts = stats
            .by_persona
            .entry(player.id.as_str().to_owned())
            .or_default();
        // Drawn whether or not the engine runs, so runs with and without it stay in step.
        let retract_roll = rng.unit();
        let mut retracted = false;
        let mut top_score = attempt.top_score;
        if let (Some(engine), Some(_)) = (&engine, bot) {
            // The pre-send check: the fast tier inline, no player history, microseconds.
            let chat = ChatMessage::new(player.id.clone(), attempt.text.clone())
                .locale(player.locale.clone())
                .age_band(player.age_band);
            let started = std::time::Instant::now();
            let verdict = engine.0.check_chat(&chat);
            let spent = started.elapsed();
            top_score = Some(verdict.scores.max().1);
            if verdict.should_nudge() {
                counts.presend_nudges += 1;
                retracted = retract_roll < persona.map_or(0.0, |p| p.retract_chance);
                if retracted {
                    counts.retracted += 1;
                }
                let note = PrivateNote::PreSend {
                    text: verdict.nudge_text.unwrap_or_default().to_owned(),
                    line: attempt.text.clone(),
                    retracted,
                };
                inbox.0.push(note.clone());
                let (to, name) = (player.id.clone(), player.name.clone());
                push(&mut feed, &state, FeedKind::Private { to, name, note });
            }
            stats.presend_time += spent;
            stats.presend_calls += 1;
        }
        if retracted {
            continue;
        }
        let counts = stats
            .by_persona
            .entry(player.id.as_str().to_owned())
            .or_default();
        counts.messages += 1;
        let from = player.id.clone();
        let (name, team) = (player.name.clone(), player.team);
        push(
            &mut feed,
            &state,
            FeedKind::Chat {
                from: from.clone(),
                name,
                team,
                text: attempt.text.clone(),
            },
        );
        published.write(ChatPublished {
            player: attempt.player,
            text: attempt.text.clone(),
            top_score,
        });
        // Bystanders react to abusive lines the way the script says players do.
        let Some(reason) = &attempt.reported_as else {
            continue;
        };
        for (other, bystander, _, blocklist, is_bot) in &players {
            if other == attempt.player || is_bot.is_none() {
                continue;
            }
            let Some(p) = script.0.personas.get(bystander.persona) else {
                continue;
            };
            if rng.chance(p.report_chance) {
                reports.write(PlayerReported {
                    reporter: other,
                    target: attempt.player,
                    reason: reason.clone(),
                });
            }
            if rng.chance(p.block_chance) && !blocklist.0.contains(&from) {
                blocks.write(PlayerBlocked {
                    by: other,
                    target: attempt.player,
                });
            }
        }
    }
}

/// Records reports and blocks (a block hides the target's chat from the blocker).
pub fn apply_reports_and_blocks(
    state: Res<MatchState>,
    mut feed: ResMut<Feed>,
    mut stats: ResMut<GameStats>,
    mut reports: MessageReader<PlayerReported>,
    mut blocks: MessageReader<PlayerBlocked>,
    mut players: Query<(&Player, &mut Blocklist)>,
) {
    for report in reports.read() {
        let Ok([(reporter, _), (target, _)]) = players.get_many([report.reporter, report.target])
        else {
            continue;
        };
        let msg = format!(
            "{} reported {} ({})",
            reporter.name, target.name, report.reason
        );
        stats
            .by_persona
            .entry(target.id.as_str().to_owned())
            .or_default()
            .reported += 1;
        push(&mut feed, &state, FeedKind::Safety(msg));
    }
    for block in blocks.read() {
        let Ok([(by, _), (target, _)]) = players.get_many([block.by, block.target]) else {
            continue;
        };
        let msg = format!("{} blocked {}", by.name, target.name);
        let target_id = target.id.clone();
        stats
            .by_persona
            .entry(target_id.as_str().to_owned())
            .or_default()
            .blocked += 1;
        push(&mut feed, &state, FeedKind::Safety(msg));
        if let Ok((_, mut list)) = players.get_mut(block.by)
            && !list.0.contains(&target_id)
        {
            list.0.push(target_id);
        }
    }
}

/// Applies name changes.
pub fn apply_renames(
    state: Res<MatchState>,
    mut feed: ResMut<Feed>,
    mut stats: ResMut<GameStats>,
    mut renames: MessageReader<NameChanged>,
    mut players: Query<&mut Player>,
) {
    for rename in renames.read() {
        let Ok(mut player) = players.get_mut(rename.player) else {
            continue;
        };
        let msg = format!("{} is now called {}", player.name, rename.name);
        player.name = rename.name.clone();
        stats
            .by_persona
            .entry(player.id.as_str().to_owned())
            .or_default()
            .renames += 1;
        push(&mut feed, &state, FeedKind::Safety(msg));
    }
}
