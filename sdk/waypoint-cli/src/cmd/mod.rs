//! One module per subcommand.

pub mod eval;
pub mod normalize;
pub mod report;
pub mod score;
pub mod simulate;

use std::path::PathBuf;

/// The flags `score`, `eval` and `simulate` share: which policy and models to use and whether a
/// degraded scorer is accepted.
#[derive(Debug, clap::Args)]
pub struct Setup {
    /// Policy file (default: the built-in default policy).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Models directory (default: $WAYPOINT_MODELS_DIR, else `models/` found from the current directory up).
    #[arg(long)]
    pub models: Option<PathBuf>,
    /// Go on even when a model cannot be loaded (lexicon-only scores; `eval` records the
    /// degraded state in its report).
    #[arg(long)]
    pub allow_degraded: bool,
}

/// Errors any subcommand can end with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Input {
        /// The file (`-` for standard input).
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the output failed (other than the reader going away).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
    /// The policy file is unreadable or invalid.
    #[error(transparent)]
    Policy(#[from] waypoint::PolicyError),
    /// The scorer could not be built.
    #[error(transparent)]
    Scorer(#[from] waypoint::ScorerBuildError),
    /// A scenario script line is malformed.
    #[error("{path}:{line}: {message}")]
    Script {
        /// The script file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The engine could not be built.
    #[error(transparent)]
    Engine(#[from] waypoint::EngineBuildError),
    /// The models could not be loaded and degraded scoring was not allowed.
    #[error(
        "the scorer is degraded ({0}); fix the set-up or pass --allow-degraded to score with what is left"
    )]
    Degraded(String),
    /// `waypoint report` failed.
    #[error(transparent)]
    Report(#[from] report::ReportError),
    /// A command-line option has an unusable value.
    #[error("{0}")]
    Usage(String),
}
