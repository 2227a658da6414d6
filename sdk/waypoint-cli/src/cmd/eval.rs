//! `waypoint eval`: score labelled data with a policy and report precision, recall, F1, ROC-AUC,
//! benign false-positive rates and a threshold sweep per category.
//!
//! The data is streamed: rows are read one at a time and scored in batches through
//! [`Scorer::score_batch`] (the same path as `waypoint score`, so every model tier the scorer has
//! takes part). No text is kept; memory grows only with the number of distinct scores (for the
//! exact ROC-AUC), the number of distinct labels (capped) and the bad-row list (capped).

mod groups;
mod labels;
mod metrics;
mod records;
mod render;
mod tally;

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;
use waypoint::{Health, Scorer};

use self::groups::{GroupReport, GroupTallies};
use self::labels::{LabelMap, Target};
use self::metrics::{Interval, sweep_thresholds};
use self::records::{BadRow, Fields, Format, Row, RowReader};
use self::tally::{CategoryReport, FLAGGED_DEFINITION, LabelReport, LevelReport, Tally};
use super::score::build_scorer;
use super::{CliError, Setup};
use crate::input::Input;

/// Messages scored per call to the scorer.
const BATCH: usize = 64;
/// Bad rows printed on standard error and listed in the JSON report; all are counted.
const MAX_BAD_ROWS_LISTED: usize = 1000;
/// Bad rows printed on standard error one by one.
const MAX_BAD_ROWS_PRINTED: u64 = 20;

/// Arguments of `waypoint eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Labelled data: CSV or TSV with a header row, or JSON Lines (`-` reads standard input; then
    /// give --format).
    #[arg(long)]
    data: PathBuf,
    /// Input format (default: from the file extension: .csv, .tsv, .jsonl).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Column or JSON field holding the message text.
    #[arg(long, default_value = "text")]
    text_field: String,
    /// Column or JSON field holding the label.
    #[arg(long, default_value = "label")]
    label_field: String,
    /// Column or JSON field to group lines by (e.g. `functionality`): per value, the lines, the
    /// share flagged for the line's own category and the share given any response. Rows without
    /// it are grouped as `(missing)`.
    #[arg(long, value_name = "FIELD")]
    group_field: Option<String>,
    /// Label mapping, `label=target,...`; a target is `none` (benign), `skip` (left out), or
    /// categories joined by `+` (`cv=threat+hate`). May be repeated. Without it, labels must be
    /// targets themselves. Rows with an unmapped label are reported and counted as bad.
    #[arg(long = "map", value_name = "LABEL=TARGET,...")]
    map: Vec<String>,
    /// The policy, the models and whether a degraded scorer is accepted.
    #[command(flatten)]
    setup: Setup,
    /// Step of the threshold sweep (thresholds step, 2·step, … below 1).
    #[arg(long, default_value_t = 0.05)]
    sweep_step: f64,
    /// Also write the full report as JSON to this file (`-`: JSON on standard output instead of
    /// the tables).
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The policy a report was made with.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    /// The policy's `version`.
    pub version: String,
    /// Where it came from (file path or `<default policy>`).
    pub origin: String,
}

/// Row counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RowCounts {
    /// Rows read (usable or not; blank lines are not rows).
    pub read: u64,
    /// Rows scored (benign + positive).
    pub scored: u64,
    /// Scored rows labelled benign.
    pub benign: u64,
    /// Scored rows labelled with a category.
    pub positive: u64,
    /// Rows whose label maps to `skip`.
    pub skipped: u64,
    /// Rows that could not be used (see `bad_rows`).
    pub bad: u64,
}

/// The full result of one `waypoint eval` run (the `--json` output).
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// The data file.
    pub data: String,
    /// Its format.
    pub format: Format,
    /// The policy used.
    pub policy: PolicyInfo,
    /// The fast-tier model version, when loaded.
    pub model_version: Option<String>,
    /// Whether every model component loaded.
    pub health: Health,
    /// What "flagged" means in this report.
    pub flagged_definition: &'static str,
    /// Row counts.
    pub rows: RowCounts,
    /// Share of benign rows given any response.
    pub benign_flagged_rate: Option<f64>,
    /// The 95 % interval of `benign_flagged_rate`.
    pub benign_flagged_interval_95: Option<Interval>,
    /// Response levels given to benign and to positive rows.
    pub levels: LevelReport,
    /// Per category, then `any`.
    pub categories: Vec<CategoryReport>,
    /// Per raw label.
    pub labels: Vec<LabelReport>,
    /// The field given by `--group-field`, if any.
    pub group_field: Option<String>,
    /// Per value of the grouping field (empty without `--group-field`).
    pub groups: Vec<GroupReport>,
    /// The sweep step.
    pub sweep_step: f64,
    /// The first bad rows (all are counted in `rows.bad`).
    pub bad_rows: Vec<BadRow>,
    /// Wall-clock seconds spent reading and scoring.
    pub elapsed_seconds: f64,
}

impl EvalReport {
    /// `ready`, or `degraded: reasons`.
    pub fn health_summary(&self) -> String {
        match &self.health {
            Health::Ready => "ready".to_owned(),
            Health::Degraded { reasons } => format!("degraded: {}", reasons.join("; ")),
        }
    }
}

/// Runs `waypoint eval`.
pub fn run(args: &EvalArgs) -> Result<(), CliError> {
    let thresholds =
        sweep_thresholds(args.sweep_step).map_err(|e| CliError::Usage(e.to_string()))?;
    let labels = LabelMap::parse(&args.map).map_err(|e| CliError::Usage(e.to_string()))?;
    let format = match args.format.or_else(|| Format::from_path(&args.data)) {
        Some(format) => format,
        None => {
            return Err(CliError::Usage(format!(
                "cannot tell the format of {} from its name: pass --format csv|tsv|jsonl",
                args.data.display()
            )));
        }
    };
    let input = Input::open(Some(&args.data))?;
    let fields = Fields {
        text: &args.text_field,
        label: &args.label_field,
        group: args.group_field.as_deref(),
    };
    let mut reader = RowReader::new(input, format, fields)?;
    let scorer = build_scorer(
        args.setup.policy.as_ref(),
        args.setup.models.as_ref(),
        args.setup.allow_degraded,
        "evaluating a degraded scorer",
    )?;

    let started = Instant::now();
    let mut state = State::default();
    let mut batch: Vec<(Row, Target)> = Vec::with_capacity(BATCH);
    while let Some(row) = reader.next_row()? {
        state.rows.read += 1;
        let row = match row {
            Ok(row) => row,
            Err(bad) => {
                state.bad(reader.name(), bad);
                continue;
            }
        };
        match labels.resolve(&row.label) {
            None => {
                let reason = if labels.is_identity() {
                    format!(
                        "label {:?} is not a target (none, skip, or categories joined by +); \
                         pass --map",
                        row.label
                    )
                } else {
                    format!("label {:?} is not in --map", row.label)
                };
                state.bad(
                    reader.name(),
                    BadRow {
                        line: row.line,
                        reason,
                    },
                );
            }
            Some(Target::Skip) => state.skipped(&row),
            Some(target) => {
                batch.push((row, target));
                if batch.len() == BATCH {
                    state.score(&scorer, &mut batch);
                }
            }
        }
    }
    state.score(&scorer, &mut batch);
    if state.rows.bad > MAX_BAD_ROWS_PRINTED {
        eprintln!(
            "waypoint: {}: {} bad row(s) in all (first {} printed)",
            reader.name(),
            state.rows.bad,
            MAX_BAD_ROWS_PRINTED
        );
    }

    let report = state.report(args, format, &scorer, &thresholds, started);
    write_outputs(args, &report)
}

#[derive(Default)]
struct State {
    rows: RowCounts,
    tally: Tally,
    groups: GroupTallies,
    bad_rows: Vec<BadRow>,
}

impl State {
    fn bad(&mut self, name: &str, bad: BadRow) {
        self.rows.bad += 1;
        if self.rows.bad <= MAX_BAD_ROWS_PRINTED {
            eprintln!("waypoint: {name}:{}: skipped: {}", bad.line, bad.reason);
        }
        if self.bad_rows.len() < MAX_BAD_ROWS_LISTED {
            self.bad_rows.push(bad);
        }
    }

    fn skipped(&mut self, row: &Row) {
        self.tally.add_skipped(&row.label);
        if let Some(group) = &row.group {
            self.groups.add_skipped(group);
        }
    }

    fn score(&mut self, scorer: &Scorer, batch: &mut Vec<(Row, Target)>) {
        if batch.is_empty() {
            return;
        }
        let texts: Vec<&str> = batch.iter().map(|(row, _)| row.text.as_str()).collect();
        let scored = scorer.score_batch(&texts);
        for ((row, target), message) in batch.iter().zip(&scored) {
            self.tally.add(&row.label, *target, message);
            if let Some(group) = &row.group {
                self.groups.add(group, *target, message);
            }
        }
        batch.clear();
    }

    fn report(
        self,
        args: &EvalArgs,
        format: Format,
        scorer: &Scorer,
        thresholds: &[f32],
        started: Instant,
    ) -> EvalReport {
        let mut rows = self.rows;
        rows.benign = self.tally.benign_lines();
        rows.positive = self.tally.positive_lines();
        rows.scored = rows.benign + rows.positive;
        rows.skipped = self.tally.skipped;
        let levels = self.tally.levels();
        let benign_flagged = levels.benign.nudge + levels.benign.help + levels.benign.review;
        EvalReport {
            data: args.data.display().to_string(),
            format,
            policy: PolicyInfo {
                version: scorer.policy().version.clone(),
                origin: scorer.policy().origin.clone(),
            },
            model_version: scorer.model_version().map(str::to_owned),
            health: scorer.health().clone(),
            flagged_definition: FLAGGED_DEFINITION,
            benign_flagged_rate: (rows.benign > 0)
                .then(|| benign_flagged as f64 / rows.benign as f64),
            benign_flagged_interval_95: Interval::wilson(benign_flagged, rows.benign),
            levels,
            categories: self.tally.categories(scorer.policy(), thresholds),
            labels: self.tally.labels(),
            group_field: args.group_field.clone(),
            groups: self.groups.report(),
            sweep_step: args.sweep_step,
            bad_rows: self.bad_rows,
            elapsed_seconds: started.elapsed().as_secs_f64(),
            rows,
        }
    }
}

fn write_outputs(args: &EvalArgs, report: &EvalReport) -> Result<(), CliError> {
    let json_to_stdout = args.json.as_ref().is_some_and(|p| p.as_os_str() == "-");
    if let Some(path) = args.json.as_ref().filter(|_| !json_to_stdout) {
        let text = serde_json::to_string_pretty(report).map_err(|e| CliError::Output(e.into()))?;
        std::fs::write(path, text + "\n").map_err(|e| {
            CliError::Output(io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        })?;
    }
    let text = if json_to_stdout {
        serde_json::to_string_pretty(report).map_err(|e| CliError::Output(e.into()))? + "\n"
    } else {
        render::render(report)
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::Output(e)),
    }
}
