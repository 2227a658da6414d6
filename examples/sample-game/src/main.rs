//! `sample-game`: a small team match on `bevy_ecs` with Waypoint integrated, in a terminal.
//!
//! Interactive when standard input is a terminal (you play one player and chat), otherwise (or
//! with `--headless`) bots play alone and the game prints a transcript and a summary.

mod app;
mod game;
mod headless;
mod integration;
mod personas;
mod rng;
mod tui;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use waypoint::SimulatedClock;

use crate::integration::EngineSettings;
use crate::personas::Script;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "sample-game",
    about = "A team match with Waypoint integrated, in a terminal."
)]
struct Args {
    /// No UI: bots play alone; print a transcript and a summary.
    #[arg(long)]
    headless: bool,
    /// Ticks to play in headless mode (16.6 ms of game time each) [default: one match].
    #[arg(long)]
    ticks: Option<u64>,
    /// Seed of the bots' random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where the review queue, telemetry and referral spool go.
    #[arg(long, default_value = "target/sample-game")]
    data_dir: PathBuf,
    /// POST referrals as signed case packets to this URL (secret in $WAYPOINT_WEBHOOK_SECRET).
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// The trust-and-safety policy [default: the SDK's default policy].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The models directory [default: $WAYPOINT_MODELS_DIR, else models/ found upwards].
    #[arg(long, value_name = "DIR")]
    models: Option<PathBuf>,
    /// The bot script [default: the built-in examples/sample-game/personas.toml].
    #[arg(long, value_name = "FILE")]
    personas: Option<PathBuf>,
    /// Headless: write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,
    /// Headless: do not print the transcript.
    #[arg(long)]
    no_transcript: bool,
    /// Headless: skip the second pass without Waypoint.
    #[arg(long)]
    no_baseline: bool,
    /// Interactive: your locale (picks the help card's organisation), e.g. `nl-BE`.
    #[arg(long, default_value = "en")]
    locale: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sample-game: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let script = Script::load(args.personas.as_deref())?;
    let settings = EngineSettings {
        models_dir: args.models.clone(),
        policy_file: args.policy.clone(),
        data_dir: args.data_dir.clone(),
        webhook: args.webhook.clone(),
        clock: SimulatedClock::new(),
    };
    if args.headless || !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        let match_ticks = (script.game.match_secs() / game::TICK.as_secs_f64()).ceil() as u64;
        let options = headless::HeadlessOptions {
            ticks: args.ticks.unwrap_or(match_ticks + 1),
            seed: args.seed,
            engine: settings,
            transcript: !args.no_transcript,
            baseline: !args.no_baseline,
            summary_json: args.summary_json,
        };
        let summary = headless::run(&script, &options)?;
        return Ok(if summary.all_as_expected || args.ticks.is_some() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        });
    }
    tui::run(&script, settings, args.seed, &args.locale)?;
    Ok(ExitCode::SUCCESS)
}
