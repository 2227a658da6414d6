//! `waypoint`: the command-line tool for trust-and-safety teams and evaluators.

mod cmd;
mod input;
mod logger;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Score chat, try policies on data, replay scenarios.
#[derive(Debug, Parser)]
#[command(name = "waypoint", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score chat messages, one per line, and print one JSON object per line.
    Score(cmd::score::ScoreArgs),
    /// Print the normalised form of each input line (what the models see).
    Normalize(cmd::normalize::NormalizeArgs),
    /// Merge telemetry JSONL from many servers into one HTML report and a JSON summary.
    Report(cmd::report::ReportArgs),
    /// Replay a scripted scenario (JSON lines) through the full engine with a simulated clock.
    Simulate(cmd::simulate::SimulateArgs),
    /// Score labelled data with a policy: precision, recall, F1, ROC-AUC, false positives, threshold sweep.
    Eval(cmd::eval::EvalArgs),
}

fn main() -> ExitCode {
    logger::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Score(args) => cmd::score::run(&args),
        Command::Normalize(args) => cmd::normalize::run(&args),
        Command::Report(args) => cmd::report::run(&args),
        Command::Simulate(args) => cmd::simulate::run(&args),
        Command::Eval(args) => cmd::eval::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("waypoint: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
