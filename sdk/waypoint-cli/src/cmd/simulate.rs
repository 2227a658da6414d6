//! `waypoint simulate`: replays a scripted scenario through the full engine with a simulated
//! clock and prints one JSON line per response. The format is described in `docs/simulate.md`.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::{Deserialize, Serialize};
use waypoint::policy::HelpEntry;
use waypoint::referral::WebhookConfig;
use waypoint::telemetry::TelemetryConfig;
use waypoint::{
    AgeBand, Category, ChatMessage, Engine, Outcome, PlayerId, Policy, Reasons, Response,
    ReviewDecision, Signal, SimulatedClock, Timestamp, Uuid,
};

use super::score::build_scorer;
use super::{CliError, Setup};
use crate::input::{Input, Line};

/// How long one scripted step may take to process before the run is abandoned.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Environment variable holding the webhook secret for `--webhook`.
const WEBHOOK_SECRET_ENV: &str = "WAYPOINT_WEBHOOK_SECRET";

/// Arguments of `waypoint simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The policy, the models and whether a degraded scorer is accepted.
    #[command(flatten)]
    setup: Setup,
    /// POST every referral as a signed case packet to this URL (overrides the policy's
    /// `[referral.webhook] url`). The secret is read from $WAYPOINT_WEBHOOK_SECRET; the key id is
    /// the policy's, else `default`.
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// Folder of the referral spool (default: the policy's `[referral.spool] dir`).
    #[arg(long, value_name = "DIR")]
    spool_dir: Option<PathBuf>,
    /// Write aggregate telemetry (JSONL, readable by `waypoint report`) to this folder.
    #[arg(long, value_name = "DIR")]
    telemetry_dir: Option<PathBuf>,
    /// How long to wait at the end for referrals to be delivered, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    delivery_timeout: f64,
    /// The scenario, one JSON object per line; `-` or nothing reads standard input.
    script: Option<PathBuf>,
}

/// One line of a scenario script.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Chat {
        t: f64,
        player: String,
        text: String,
        locale: Option<String>,
        age_band: Option<String>,
        channel: Option<String>,
    },
    Report {
        t: f64,
        reporter: String,
        target: String,
        #[serde(default)]
        reason: String,
    },
    Block {
        t: f64,
        by: String,
        target: String,
    },
    Name {
        t: f64,
        player: String,
        name: String,
    },
    GroupJoin {
        t: f64,
        player: String,
        group: String,
        #[serde(default)]
        flagged: bool,
    },
    Custom {
        t: f64,
        player: String,
        kind: String,
        weight: f32,
        category: Option<String>,
    },
    Outcome {
        t: f64,
        case_id: Option<String>,
        player: Option<String>,
        outcome: String,
        category: Option<String>,
    },
}

impl Step {
    fn t(&self) -> f64 {
        match self {
            Step::Chat { t, .. }
            | Step::Report { t, .. }
            | Step::Block { t, .. }
            | Step::Name { t, .. }
            | Step::GroupJoin { t, .. }
            | Step::Custom { t, .. }
            | Step::Outcome { t, .. } => *t,
        }
    }
}

/// One output line.
#[derive(Serialize)]
struct Output<'a> {
    t: Timestamp,
    player: &'a str,
    response: &'static str,
    categories: &'a [Category],
    reasons: &'a Reasons,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a HelpEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    case_id: Option<Uuid>,
}

/// What the platform side remembers: each player's latest case id.
#[derive(Default)]
struct Platform {
    latest_case: HashMap<String, Uuid>,
}

/// Runs `waypoint simulate`.
pub fn run(args: &SimulateArgs) -> Result<(), CliError> {
    let mut input = Input::open(args.script.as_deref())?;
    let scorer = build_scorer(
        None,
        args.setup.models.as_ref(),
        args.setup.allow_degraded,
        "scoring degraded",
    )?;
    let mut policy = match &args.setup.policy {
        Some(path) => Policy::from_file(path)?,
        None => Policy::default(),
    };
    if let Some(url) = &args.webhook {
        let key_id = policy
            .referral
            .webhook
            .as_ref()
            .map_or_else(|| "default".to_owned(), |w| w.key_id.clone());
        policy.referral.webhook = Some(WebhookConfig {
            url: url.clone(),
            secret_env: WEBHOOK_SECRET_ENV.to_owned(),
            key_id,
        });
        policy
            .referral
            .validate()
            .map_err(|e| CliError::Usage(format!("--webhook: {e}")))?;
    }
    if let Some(dir) = &args.telemetry_dir {
        policy
            .telemetry
            .get_or_insert_with(TelemetryConfig::default)
            .file_dir = Some(dir.clone());
    }
    let delivery_timeout = Duration::try_from_secs_f64(args.delivery_timeout).map_err(|_| {
        CliError::Usage(format!(
            "--delivery-timeout {}: expected seconds",
            args.delivery_timeout
        ))
    })?;
    let clock = SimulatedClock::new();
    let mut builder = Engine::builder()
        .scorer(std::sync::Arc::new(scorer))
        .policy(policy)
        .clock(clock.clone())
        .pseudonym_key(b"waypoint simulate".to_vec());
    if let Some(dir) = &args.spool_dir {
        builder = builder.referral_spool_dir(dir);
    }
    let engine = builder.build()?;
    let result = replay(&engine, &clock, &mut input);
    finish(&engine, delivery_timeout);
    result
}

/// Waits for every referral to be delivered (bounded), reports what is left, and shuts down.
fn finish(engine: &Engine, delivery_timeout: Duration) {
    let _ = engine.flush(STEP_TIMEOUT);
    if let Some(status) = engine.flush_referrals(delivery_timeout)
        && status.pending > 0
    {
        let spooled = engine
            .referral_sender()
            .is_some_and(|s| s.sync_spool(STEP_TIMEOUT));
        let dir = engine
            .referral_sender()
            .map(|s| s.spool_dir().display().to_string())
            .unwrap_or_default();
        eprintln!(
            "waypoint: {} referral(s) not delivered within {:?}; {} in the spool at {dir} for the next run",
            status.pending,
            delivery_timeout,
            if spooled {
                "all are kept"
            } else {
                "not all could be written; some are"
            },
        );
    }
    let _ = engine.shutdown(STEP_TIMEOUT);
}

/// Feeds the script to the engine and writes the responses.
fn replay(engine: &Engine, clock: &SimulatedClock, input: &mut Input) -> Result<(), CliError> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut platform = Platform::default();
    let mut last_t = 0.0_f64;
    while let Some((number, line, _)) = input.next_line()? {
        let script_error = |message: String| CliError::Script {
            path: input.name.clone(),
            line: number,
            message,
        };
        let text = match line {
            Line::Text(text) => text,
            Line::InvalidUtf8 => return Err(script_error("not valid UTF-8".to_owned())),
        };
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        let step: Step = serde_json::from_str(&text).map_err(|e| script_error(e.to_string()))?;
        let t = step.t();
        if !t.is_finite() || t < last_t {
            return Err(script_error(format!(
                "t = {t} must be a number not below the previous line's t = {last_t}"
            )));
        }
        last_t = t;
        clock.set(Timestamp::from_secs_f64(t));
        let queued = match to_job(step, &platform).map_err(script_error)? {
            Job::Signal(signal) => engine.submit(signal),
            Job::Outcome(outcome) => engine.record_outcome(outcome),
        };
        if queued.is_err() || !engine.flush(STEP_TIMEOUT) {
            return Err(script_error(
                "the engine did not process this line in time".to_owned(),
            ));
        }
        for response in engine.drain_responses() {
            if let Response::ReviewReferral(r) = &response {
                platform
                    .latest_case
                    .insert(r.player.as_str().to_owned(), r.case_id);
            }
            if !write(&mut out, &response)? {
                return Ok(());
            }
        }
    }
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Output(e)),
        _ => Ok(()),
    }
}

enum Job {
    Signal(Signal),
    Outcome(Outcome),
}

fn to_job(step: Step, platform: &Platform) -> Result<Job, String> {
    let signal = match step {
        Step::Chat {
            player,
            text,
            locale,
            age_band,
            channel,
            ..
        } => {
            let mut chat = ChatMessage::new(player, text);
            if let Some(channel) = channel {
                chat = chat.channel(channel);
            }
            if let Some(locale) = locale {
                chat = chat.locale(locale);
            }
            if let Some(band) = age_band {
                chat = chat.age_band(AgeBand::parse(&band).ok_or_else(|| {
                    format!("age_band {band:?}: expected minor, adult or unknown")
                })?);
            }
            Signal::Chat(chat)
        }
        Step::Report {
            reporter,
            target,
            reason,
            ..
        } => Signal::Report {
            reporter: reporter.into(),
            target: target.into(),
            reason,
        },
        Step::Block { by, target, .. } => Signal::Block {
            by: by.into(),
            target: target.into(),
        },
        Step::Name { player, name, .. } => Signal::NameChange {
            player: player.into(),
            name,
        },
        Step::GroupJoin {
            player,
            group,
            flagged,
            ..
        } => Signal::GroupJoin {
            player: player.into(),
            group,
            flagged,
        },
        Step::Custom {
            player,
            kind,
            weight,
            category,
            ..
        } => {
            if !weight.is_finite() {
                return Err(format!("weight {weight} must be a number"));
            }
            let category = parse_category(category)?;
            Signal::Custom {
                player: player.into(),
                kind,
                category,
                weight,
            }
        }
        Step::Outcome {
            case_id,
            player,
            outcome,
            category,
            ..
        } => {
            let corrected_category = parse_category(category)?;
            return outcome_job(case_id, player, &outcome, corrected_category, platform);
        }
    };
    Ok(Job::Signal(signal))
}

/// Parses an optional category name from a script line.
fn parse_category(name: Option<String>) -> Result<Option<Category>, String> {
    name.map(|c| {
        Category::parse(&c)
            .ok_or_else(|| format!("category {c:?}: expected insult, hate, threat or extremism"))
    })
    .transpose()
}

fn outcome_job(
    case_id: Option<String>,
    player: Option<String>,
    outcome: &str,
    corrected_category: Option<Category>,
    platform: &Platform,
) -> Result<Job, String> {
    let decision = match outcome {
        "help_opened" => {
            let player = player.ok_or("a help_opened outcome needs \"player\"")?;
            return Ok(Job::Outcome(Outcome::HelpOpened {
                player: PlayerId::new(player),
            }));
        }
        "upheld" => ReviewDecision::Upheld,
        "dismissed" => ReviewDecision::Dismissed,
        other => {
            return Err(format!(
                "outcome {other:?}: expected help_opened, upheld or dismissed"
            ));
        }
    };
    let case_id = match (case_id, player) {
        (Some(id), _) => Uuid::parse_str(&id).map_err(|e| format!("case_id {id:?}: {e}"))?,
        (None, Some(player)) => *platform
            .latest_case
            .get(&player)
            .ok_or_else(|| format!("player {player:?} has no referral to decide yet"))?,
        (None, None) => return Err("a review outcome needs \"case_id\" or \"player\"".to_owned()),
    };
    Ok(Job::Outcome(Outcome::Review {
        case_id,
        decision,
        corrected_category,
    }))
}

/// Writes one response line; `Ok(false)` means the reader went away.
fn write(out: &mut impl Write, response: &Response) -> Result<bool, CliError> {
    let reasons = response.reasons();
    let (kind, help) = match response {
        Response::Nudge(_) => ("nudge", None),
        Response::HelpLink(h) => ("help", h.help.as_ref()),
        Response::ReviewReferral(_) => ("review", None),
    };
    let line = Output {
        t: response.at(),
        player: response.player().as_str(),
        response: kind,
        categories: &reasons.categories,
        reasons,
        help,
        case_id: response.case_id(),
    };
    let written = serde_json::to_writer(&mut *out, &line)
        .map_err(io::Error::from)
        .and_then(|()| out.write_all(b"\n"));
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(CliError::Output(e)),
    }
}
