//! `waypoint score`: one JSON object per input line.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use waypoint::model::ExemplarMatch;
use waypoint::policy::Reason;
use waypoint::text::{Change, LexiconHit};
use waypoint::{Health, MessageScore, Policy, ResponseLevel, Scorer, Scores};

use super::{CliError, Setup};
use crate::input::{Input, Line};

/// Messages scored per model call.
const BATCH: usize = 64;

/// Arguments of `waypoint score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The policy, the models and whether a degraded scorer is accepted.
    #[command(flatten)]
    setup: Setup,
    /// Input file, one message per line; `-` or nothing reads standard input.
    file: Option<PathBuf>,
}

#[derive(Serialize)]
struct Output<'a> {
    text: &'a str,
    normalized: &'a str,
    scores: Scores,
    /// Deep-tier probabilities, for the messages `[cascade]` sent to the deep tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    deep: Option<Scores>,
    /// Exemplar evidence (per category: pos, neg, evidence, nearest exemplar), for the messages
    /// the deep tier embedded while exemplars are loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    exemplars: Option<&'a ExemplarMatch>,
    /// The deep tier's own evidence (head, exemplars and lexicon combined), which the policy's
    /// `message.<category>.deep` thresholds compare; for the messages the deep tier scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    deep_scores: Option<Scores>,
    /// The stance model's probability that the message endorses what it speaks of, when it was
    /// read (a hate or extremism score of 0.1 or more).
    #[serde(skip_serializing_if = "Option::is_none")]
    endorsement: Option<f32>,
    lexicon: &'a [LexiconHit],
    response: ResponseLevel,
    reasons: &'a [Reason],
    changes: &'a [Change],
}

impl<'a> From<&'a MessageScore> for Output<'a> {
    fn from(m: &'a MessageScore) -> Self {
        Output {
            text: &m.normalized.original,
            normalized: &m.normalized.text,
            scores: m.scores,
            deep: m.deep,
            exemplars: m.exemplars.as_ref(),
            deep_scores: m.deep_scores,
            endorsement: m.endorsement,
            lexicon: &m.lexicon,
            response: m.decision.level,
            reasons: &m.decision.reasons,
            changes: &m.normalized.changes,
        }
    }
}

/// Runs `waypoint score`.
pub fn run(args: &ScoreArgs) -> Result<(), CliError> {
    let mut input = Input::open(args.file.as_deref())?;
    let scorer = build_scorer(
        args.setup.policy.as_ref(),
        args.setup.models.as_ref(),
        args.setup.allow_degraded,
        "scoring degraded",
    )?;

    let progress = progress_bar(&input);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut batch: Vec<String> = Vec::with_capacity(BATCH);
    let mut skipped = 0_u64;
    while let Some((number, line, bytes)) = input.next_line()? {
        if let Some(bar) = &progress {
            bar.inc(bytes as u64);
        }
        match line {
            Line::Text(text) => batch.push(text),
            Line::InvalidUtf8 => {
                skipped += 1;
                let message = format!(
                    "waypoint: {}:{number}: skipped: not valid UTF-8",
                    input.name
                );
                match &progress {
                    Some(bar) => bar.println(message),
                    None => eprintln!("{message}"),
                }
            }
        }
        if batch.len() == BATCH && !write_batch(&scorer, &mut batch, &mut out)? {
            return Ok(());
        }
    }
    if write_batch(&scorer, &mut batch, &mut out)? {
        flush(&mut out)?;
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if skipped > 0 {
        eprintln!("waypoint: {skipped} line(s) skipped as invalid UTF-8");
    }
    Ok(())
}

/// Builds a scorer from optional policy and models paths. A degraded scorer is refused unless
/// `allow_degraded`; then it is used with a warning on standard error, `warning: reasons`.
pub fn build_scorer(
    policy: Option<&PathBuf>,
    models: Option<&PathBuf>,
    allow_degraded: bool,
    warning: &str,
) -> Result<Scorer, CliError> {
    let mut builder = Scorer::builder();
    if let Some(path) = policy {
        builder = builder.policy(Policy::from_file(path)?);
    }
    if let Some(dir) = models {
        builder = builder.models_dir(dir);
    }
    let scorer = builder.build()?;
    if let Health::Degraded { reasons } = scorer.health() {
        if !allow_degraded {
            return Err(CliError::Degraded(reasons.join("; ")));
        }
        eprintln!("waypoint: warning: {warning}: {}", reasons.join("; "));
    }
    Ok(scorer)
}

fn progress_bar(input: &Input) -> Option<ProgressBar> {
    let len = input.len?;
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// Scores and writes the batch, then empties it. `Ok(false)` means the reader went away.
fn write_batch(
    scorer: &Scorer,
    batch: &mut Vec<String>,
    out: &mut impl Write,
) -> Result<bool, CliError> {
    if batch.is_empty() {
        return Ok(true);
    }
    for scored in scorer.score_batch(batch) {
        let written = serde_json::to_writer(&mut *out, &Output::from(&scored))
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if !handle_write(written)? {
            return Ok(false);
        }
    }
    batch.clear();
    Ok(true)
}

fn flush(out: &mut impl Write) -> Result<bool, CliError> {
    handle_write(out.flush())
}

/// A closed pipe (`waypoint score big.txt | head`) ends the run quietly; other errors are errors.
fn handle_write(result: io::Result<()>) -> Result<bool, CliError> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(CliError::Output(e)),
    }
}
