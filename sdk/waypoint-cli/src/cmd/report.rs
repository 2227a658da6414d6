//! `waypoint report`: merge telemetry JSONL from many servers into one HTML page and a JSON
//! summary for pilot evaluators.

mod charts;
mod html;
mod summary;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use waypoint::telemetry::{Record, RecordError, Rollup};

use super::CliError;

/// Arguments of `waypoint report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Telemetry JSONL files (or directories holding `*.jsonl` files), from any number of servers.
    #[arg(long, num_args = 1.., required = true, value_name = "FILES")]
    pub input: Vec<PathBuf>,
    /// Where to write the HTML report.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the JSON summary [default: the HTML path with the extension `.json`].
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// The report's title.
    #[arg(long, default_value = "Waypoint pilot report")]
    pub title: String,
    /// Do not show a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// An input file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a telemetry record.
    #[error("{path}:{line}: {source}")]
    Record {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        #[source]
        source: RecordError,
    },
    /// The inputs held no record at all.
    #[error("the inputs hold no telemetry records")]
    Empty,
    /// A chart could not be drawn.
    #[error("cannot draw the {chart} chart: {message}")]
    Chart {
        /// Which chart.
        chart: &'static str,
        /// The drawing error.
        message: String,
    },
    /// An output could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The summary could not be encoded.
    #[error("cannot encode the summary: {0}")]
    Encode(#[source] serde_json::Error),
}

/// Inputs at or above this many bytes get a progress bar.
const PROGRESS_BYTES: u64 = 1 << 20;

/// Runs `waypoint report`.
pub fn run(args: &ReportArgs) -> Result<(), CliError> {
    let files = expand_inputs(&args.input)?;
    let (rollup, stats) = read_all(&files, args.quiet)?;
    if stats.records == 0 {
        return Err(ReportError::Empty.into());
    }
    let summary = summary::Summary::new(&rollup, &stats);
    let summary_path = args
        .summary
        .clone()
        .unwrap_or_else(|| args.out.with_extension("json"));
    let json = serde_json::to_string_pretty(&summary).map_err(ReportError::Encode)?;
    write(&summary_path, json.as_bytes())?;
    let page = html::render(&args.title, &rollup, &summary)?;
    write(&args.out, page.as_bytes())?;
    eprintln!(
        "waypoint: {} records from {} servers in {} files → {} and {}",
        stats.records,
        rollup.servers.len(),
        files.len(),
        args.out.display(),
        summary_path.display()
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ReportError::Write {
            path: path.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| ReportError::Write {
        path: path.to_owned(),
        source,
    })
}

/// What was read.
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    /// Files read.
    pub files: usize,
    /// Records merged.
    pub records: u64,
}

/// Files as given, and the `*.jsonl` files of directories (sorted).
fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let entries = std::fs::read_dir(input).map_err(|source| ReportError::Read {
                path: input.clone(),
                source,
            })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

fn read_all(files: &[PathBuf], quiet: bool) -> Result<(Rollup, ReadStats), ReportError> {
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = if quiet || total < PROGRESS_BYTES {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("reading telemetry");
        bar
    };
    let mut rollup = Rollup::default();
    let mut stats = ReadStats::default();
    for path in files {
        let file = File::open(path).map_err(|source| read_err(path, source))?;
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| read_err(path, source))?;
            bar.inc(line.len() as u64 + 1);
            if line.trim().is_empty() {
                continue;
            }
            let record = Record::from_json(&line)
                .and_then(|r| r.to_aggregate().map(|agg| (r, agg)))
                .map_err(|source| ReportError::Record {
                    path: path.clone(),
                    line: index + 1,
                    source,
                })?;
            let (record, agg) = record;
            rollup.add(&record, &agg);
            stats.records += 1;
        }
        stats.files += 1;
    }
    bar.finish_and_clear();
    Ok((rollup, stats))
}

fn read_err(path: &Path, source: std::io::Error) -> ReportError {
    ReportError::Read {
        path: path.to_owned(),
        source,
    }
}
