//! `tokio-server`: simulated matches on several Waypoint engines in one tokio process.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokio_server::{Config, DRIFTER, Delivered, run};

/// Simulated matches on several game servers, each with its own Waypoint engine.
#[derive(Debug, Parser)]
struct Args {
    /// Game servers (one engine each).
    #[arg(long, default_value_t = 2)]
    servers: usize,
    /// Concurrent matches, spread over the servers.
    #[arg(long, default_value_t = 4)]
    matches: usize,
    /// Rounds of chat, one game minute each.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Valkey/Redis URL of the shared player store (default: each engine keeps its own state).
    #[arg(long)]
    store: Option<String>,
    /// The models folder (default: `models/` found upwards).
    #[arg(long)]
    models: Option<PathBuf>,
}

fn print(delivered: &Delivered) {
    let minutes = delivered.at.0 / 60_000;
    println!(
        "[server {}] {:02}:{:02} {:?} for {} ({})",
        delivered.server,
        minutes / 60,
        minutes % 60,
        delivered.level,
        delivered.player,
        delivered.rule
    );
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = Config {
        servers: args.servers,
        matches: args.matches,
        rounds: args.rounds,
        store_url: args.store,
        models_dir: args.models,
        ..Config::default()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tokio-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&config, Arc::new(print))) {
        Ok(summary) => {
            let servers: std::collections::BTreeSet<usize> =
                summary.for_player(DRIFTER).map(|d| d.server).collect();
            println!(
                "{} signals submitted ({} dropped), {} responses; {DRIFTER} got {} from servers {servers:?}",
                summary.submitted,
                summary.dropped,
                summary.responses.len(),
                summary.for_player(DRIFTER).count(),
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tokio-server: {error}");
            ExitCode::FAILURE
        }
    }
}
