//! Headless mode: play N ticks with bots only, print a transcript and a summary, then play the
//! same ticks again without Waypoint to measure what it costs the game thread.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy_app::App;
use serde::Serialize;
use waypoint::{Health, SimulatedClock};

use crate::app::build_app;
use crate::game::{Feed, FeedKind, GameStats, PersonaCounts, PrivateNote, TICK};
use crate::integration::{EngineSettings, SafetyBoard, build_engine, route_pending};
use crate::personas::Script;

/// Options of a headless run.
#[derive(Debug, Clone)]
pub struct HeadlessOptions {
    /// Ticks to play.
    pub ticks: u64,
    /// RNG seed.
    pub seed: u64,
    /// Engine settings (data directory, webhook, …).
    pub engine: EngineSettings,
    /// Print the transcript.
    pub transcript: bool,
    /// Also play without Waypoint to compare tick times.
    pub baseline: bool,
    /// Write the summary as JSON here.
    pub summary_json: Option<PathBuf>,
}

/// Tick-time figures of one pass.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TickTimes {
    /// Mean, microseconds.
    pub mean_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// Longest, microseconds.
    pub max_us: f64,
}

impl TickTimes {
    fn from(mut samples: Vec<Duration>) -> TickTimes {
        samples.sort_unstable();
        let n = samples.len().max(1);
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let total: Duration = samples.iter().sum();
        let p99 = samples
            .get((n * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or_default();
        TickTimes {
            mean_us: us(total) / n as f64,
            p99_us: us(p99),
            max_us: us(samples.last().copied().unwrap_or_default()),
        }
    }
}

/// The machine-readable summary (`--summary-json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Seed.
    pub seed: u64,
    /// Ticks played.
    pub ticks: u64,
    /// Game time played, seconds.
    pub game_secs: f64,
    /// Chat lines sent by everyone.
    pub messages: u64,
    /// Chat lines per minute of game time (the chat rate the timing is measured at).
    pub messages_per_minute: f64,
    /// Per persona id.
    pub personas: BTreeMap<String, PersonaSummary>,
    /// Responses by type.
    pub responses: BTreeMap<String, u64>,
    /// Referrals (= review queue entries written by this run).
    pub referrals: u64,
    /// The review queue file.
    pub review_queue: PathBuf,
    /// Lines in the review queue file after the run.
    pub review_queue_lines: u64,
    /// Telemetry directory (`waypoint report --input DIR`).
    pub telemetry_dir: PathBuf,
    /// Engine counters.
    pub engine: EngineSummary,
    /// Tick times.
    pub timing: Timing,
    /// Matches played (a match is the script's rounds); the script's expectations are for one.
    pub matches: f64,
    /// Whether every persona got what its script expects.
    pub all_as_expected: bool,
}

/// One persona's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct PersonaSummary {
    /// Display name at the end.
    pub name: String,
    /// Game counters.
    #[serde(flatten)]
    pub counts: PersonaCounts,
    /// Nudges after sending.
    pub nudge: u64,
    /// Help cards.
    pub help: u64,
    /// Referrals.
    pub review: u64,
    /// Report amplification at the first referral, if any.
    pub referral_amplification: Option<f32>,
    /// What the script expects.
    pub expect: Vec<String>,
    /// Whether it got it.
    pub as_expected: bool,
}

/// Engine counters at the end of the run.
#[derive(Debug, Clone, Serialize)]
pub struct EngineSummary {
    /// `ready` or the degradation reasons.
    pub health: String,
    /// Signals submitted.
    pub submitted: u64,
    /// Signals dropped (full queue).
    pub dropped: u64,
    /// Chat lines and names the deep tier scored.
    pub deep_scored: u64,
    /// Batches scored while the engine's worker was behind (the cascade then used its selective
    /// rules).
    pub batches_behind: u64,
    /// Referrals delivered to the webhook, when one is configured.
    pub webhook_delivered: Option<u64>,
}

/// Tick times with and without Waypoint.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// With Waypoint.
    pub with_sdk: TickTimes,
    /// The same run (same seed) without it.
    pub without_sdk: Option<TickTimes>,
    /// `with.mean / without.mean`.
    pub ratio_mean: Option<f64>,
    /// `with.p99 / without.p99`.
    pub ratio_p99: Option<f64>,
    /// `(with.mean − without.mean)` as a percentage of a 16.6 ms tick.
    pub sdk_share_of_tick_percent: Option<f64>,
    /// Time in `Engine::check_chat` on the game thread per tick, microseconds.
    pub presend_check_per_tick_us: f64,
    /// Mean time of one `Engine::check_chat`, microseconds.
    pub presend_check_mean_us: f64,
}

fn play(app: &mut App, ticks: u64) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(usize::try_from(ticks).unwrap_or(0));
    for _ in 0..ticks {
        let started = Instant::now();
        app.update();
        samples.push(started.elapsed());
    }
    samples
}

/// Runs the headless game; returns the summary (also printed).
pub fn run(
    script: &Script,
    options: &HeadlessOptions,
) -> Result<Summary, Box<dyn std::error::Error>> {
    let clock = options.engine.clock.clone();
    let (engine, queue) = build_engine(&options.engine)?;
    let queue_lines_before = count_lines(queue.path());
    let mut app = build_app(script, options.seed, clock, Some(engine.clone()), None);
    let with_sdk = TickTimes::from(play(&mut app, options.ticks));

    // Let the worker finish what is queued, then show what is left.
    if !engine.flush(Duration::from_secs(30)) {
        eprintln!("waypoint: the engine did not finish its queue within 30 s");
    }
    route_pending(app.world_mut(), &engine);
    let webhook_delivered = engine
        .flush_referrals(Duration::from_secs(30))
        .map(|_| engine.stats().referral.map_or(0, |r| r.delivered));
    let stats = engine.stats();
    let health = match engine.health() {
        Health::Ready => "ready".to_owned(),
        Health::Degraded { reasons } => format!("degraded: {}", reasons.join("; ")),
    };
    if let Err(e) = engine.shutdown(Duration::from_secs(10)) {
        eprintln!("waypoint: {e}");
    }

    let without_sdk = options.baseline.then(|| {
        let mut plain = build_app(script, options.seed, SimulatedClock::new(), None, None);
        TickTimes::from(play(&mut plain, options.ticks))
    });

    let world = app.world();
    let feed = world.resource::<Feed>();
    let board = world.resource::<SafetyBoard>();
    let game = world.resource::<GameStats>();
    if options.transcript {
        print!("{}", transcript(feed, script));
    }

    let mut personas = BTreeMap::new();
    let mut messages = 0;
    for persona in &script.personas {
        let counts = game
            .by_persona
            .get(&persona.id)
            .cloned()
            .unwrap_or_default();
        messages += counts.messages;
        let count = |level: &str| {
            board
                .responses
                .iter()
                .filter(|r| r.player == persona.id && r.level == level)
                .count() as u64
        };
        let (nudge, help, review) = (count("nudge"), count("help"), count("review"));
        let got = [("nudge", nudge), ("help", help), ("review", review)];
        let rank = |l: &str| ["nudge", "help", "review"].iter().position(|x| *x == l);
        let highest_expected = persona.expect.iter().filter_map(|l| rank(l)).max();
        let as_expected = persona
            .expect
            .iter()
            .all(|l| got.iter().any(|(g, n)| g == l && *n > 0))
            && got
                .iter()
                .filter(|(_, n)| *n > 0)
                .all(|(l, _)| rank(l) <= highest_expected);
        let name = world
            .iter_entities()
            .filter_map(|e| e.get::<crate::game::Player>())
            .find(|p| p.id.as_str() == persona.id)
            .map_or_else(|| persona.name.clone(), |p| p.name.clone());
        personas.insert(
            persona.id.clone(),
            PersonaSummary {
                name,
                counts,
                nudge,
                help,
                review,
                referral_amplification: board
                    .responses
                    .iter()
                    .find(|r| r.player == persona.id && r.level == "review")
                    .map(|r| r.amplification),
                expect: persona.expect.clone(),
                as_expected,
            },
        );
    }
    let mut responses = BTreeMap::new();
    for r in &board.responses {
        *responses.entry(r.level.to_owned()).or_insert(0) += 1;
    }
    let tick_us = TICK.as_secs_f64() * 1e6;
    let game_secs = options.ticks as f64 * TICK.as_secs_f64();
    let summary = Summary {
        seed: options.seed,
        ticks: options.ticks,
        game_secs,
        messages,
        messages_per_minute: messages as f64 / (game_secs / 60.0).max(f64::EPSILON),
        matches: game_secs / script.game.match_secs().max(f64::EPSILON),
        all_as_expected: personas.values().all(|p| p.as_expected),
        personas,
        referrals: responses.get("review").copied().unwrap_or(0),
        responses,
        review_queue: queue.path().to_owned(),
        review_queue_lines: count_lines(queue.path()).saturating_sub(queue_lines_before),
        telemetry_dir: options.engine.data_dir.join("telemetry"),
        engine: EngineSummary {
            health,
            submitted: stats.submitted,
            dropped: stats.dropped,
            deep_scored: stats.deep_scored,
            batches_behind: stats.batches_behind,
            webhook_delivered,
        },
        timing: Timing {
            with_sdk,
            without_sdk,
            ratio_mean: without_sdk.map(|w| with_sdk.mean_us / w.mean_us),
            ratio_p99: without_sdk.map(|w| with_sdk.p99_us / w.p99_us),
            sdk_share_of_tick_percent: without_sdk
                .map(|w| (with_sdk.mean_us - w.mean_us) / tick_us * 100.0),
            presend_check_per_tick_us: game.presend_time.as_secs_f64() * 1e6
                / options.ticks.max(1) as f64,
            presend_check_mean_us: game.presend_time.as_secs_f64() * 1e6
                / game.presend_calls.max(1) as f64,
        },
    };
    print!("{}", render_summary(&summary));
    if let Some(path) = &options.summary_json {
        let json = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(summary)
}

fn count_lines(path: &std::path::Path) -> u64 {
    std::fs::read_to_string(path)
        .map(|s| s.lines().filter(|l| !l.trim().is_empty()).count() as u64)
        .unwrap_or(0)
}

/// Game time of a tick as `m:ss.s`.
pub fn clock_text(tick: u64) -> String {
    let secs = tick as f64 * TICK.as_secs_f64();
    format!("{}:{:04.1}", (secs / 60.0) as u64, secs % 60.0)
}

/// The transcript: public chat, game events, private notes (marked with who sees them) and
/// trust-and-safety events.
pub fn transcript(feed: &Feed, script: &Script) -> String {
    let mut out = String::new();
    let persona = |id: &str| {
        script
            .personas
            .iter()
            .find(|p| p.id == id)
            .map_or("", |p| p.id.as_str())
            .to_owned()
    };
    for entry in &feed.0 {
        let at = format!("r{} {:>7}", entry.round, clock_text(entry.tick));
        let _ = match &entry.kind {
            FeedKind::Chat {
                name, team, text, ..
            } => {
                writeln!(out, "{at}  [{}] {name}: {text}", team.as_str())
            }
            FeedKind::Game(text) => writeln!(out, "{at}  * {text}"),
            FeedKind::Safety(text) => writeln!(out, "{at}  ! {text}"),
            FeedKind::Private { to, name, note } => {
                let who = format!("{name} ({})", persona(to.as_str()));
                match note {
                    PrivateNote::PreSend {
                        text,
                        line,
                        retracted,
                    } => writeln!(
                        out,
                        "{at}  > to {who} only, before sending {line:?}: \"{text}\" -> {}",
                        if *retracted {
                            "taken back"
                        } else {
                            "sent anyway"
                        }
                    ),
                    PrivateNote::Nudge { text } => {
                        writeln!(out, "{at}  > to {who} only, nudge: \"{text}\"")
                    }
                    PrivateNote::Help(card) => writeln!(
                        out,
                        "{at}  > to {who} only, help card: {} {} {}",
                        card.organisation,
                        card.url,
                        card.chat_url.as_deref().unwrap_or("")
                    ),
                }
            }
        };
    }
    out
}

/// The human-readable summary.
pub fn render_summary(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n== summary: seed {}, {} ticks ({:.0} s of game time), {} chat lines ({:.1}/min) ==",
        s.seed, s.ticks, s.game_secs, s.messages, s.messages_per_minute
    );
    let _ = writeln!(
        out,
        "{:<15} {:<13} {:>5} {:>8} {:>5} {:>4} {:>6} {:>7} {:>6}  {:<20} ok",
        "persona",
        "name",
        "lines",
        "pre-send",
        "nudge",
        "help",
        "review",
        "reports",
        "blocks",
        "expected"
    );
    for (id, p) in &s.personas {
        let expected = if p.expect.is_empty() {
            "nothing".to_owned()
        } else {
            p.expect.join("+")
        };
        let _ = writeln!(
            out,
            "{:<15} {:<13} {:>5} {:>8} {:>5} {:>4} {:>6} {:>7} {:>6}  {:<20} {}",
            id,
            p.name,
            p.counts.messages,
            p.counts.presend_nudges,
            p.nudge,
            p.help,
            p.review,
            p.counts.reported,
            p.counts.blocked,
            expected,
            if p.as_expected { "yes" } else { "NO" }
        );
    }
    let by_type: Vec<String> = s
        .responses
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        out,
        "responses: {}",
        if by_type.is_empty() {
            "none".into()
        } else {
            by_type.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "referrals: {} (review queue: {}, {} new line(s))",
        s.referrals,
        s.review_queue.display(),
        s.review_queue_lines
    );
    if let Some(n) = s.engine.webhook_delivered {
        let _ = writeln!(out, "webhook: {n} referral(s) delivered");
    }
    let _ = writeln!(
        out,
        "engine: {}, {} signals submitted, {} dropped, {} scored by the deep tier ({} batches behind)",
        s.engine.health,
        s.engine.submitted,
        s.engine.dropped,
        s.engine.deep_scored,
        s.engine.batches_behind
    );
    let t = &s.timing;
    let _ = writeln!(
        out,
        "tick time with Waypoint:    mean {:>8.2} µs, p99 {:>8.2} µs",
        t.with_sdk.mean_us, t.with_sdk.p99_us
    );
    if let Some(w) = t.without_sdk {
        let _ = writeln!(
            out,
            "tick time without Waypoint: mean {:>8.2} µs, p99 {:>8.2} µs",
            w.mean_us, w.p99_us
        );
        let _ = writeln!(
            out,
            "ratio with/without: mean {:.2}x, p99 {:.2}x; Waypoint's share of a 16.6 ms tick: {:.3} %",
            t.ratio_mean.unwrap_or(f64::NAN),
            t.ratio_p99.unwrap_or(f64::NAN),
            t.sdk_share_of_tick_percent.unwrap_or(f64::NAN)
        );
    }
    let _ = writeln!(
        out,
        "pre-send check on the game thread: {:.1} µs per line, {:.3} µs per tick ({:.4} % of a tick)",
        t.presend_check_mean_us,
        t.presend_check_per_tick_us,
        t.presend_check_per_tick_us / (TICK.as_secs_f64() * 1e6) * 100.0
    );
    let _ = writeln!(
        out,
        "telemetry: {} (waypoint report --input {} --out report.html)",
        s.telemetry_dir.display(),
        s.telemetry_dir.display()
    );
    // A default run ends one tick past the match.
    let longer = if s.matches > 1.01 {
        format!(
            " (the script's expectations are for one match; this run played {:.1})",
            s.matches
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "every persona as expected: {}{longer}",
        if s.all_as_expected { "yes" } else { "NO" }
    );
    out
}
