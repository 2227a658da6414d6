//! The exported record: one JSON object per line, one line per server per window.
//!
//! The schema is versioned by the `schema` and `version` fields; readers reject other versions.
//! `docs/telemetry.md` describes every field. A count cell is either `"count": n` (n ≥ k) or
//! `"suppressed": true` (a value below k that is not shown and is lost) or `"held": true` (a value
//! below k carried into the same cell of this server's next window, where it is shown once the
//! cell reaches k); cells that counted nothing are left out (unless noise is on, see
//! [`crate::telemetry::privacy`]).

use serde::{Deserialize, Serialize};

use super::aggregate::{Aggregate, LATENCY_BUCKETS, SCORE_BUCKETS, Tally, latency_bucket_bounds};
use super::event::{Decision, Language, SIGNAL_KINDS};
use crate::Category;
use crate::policy::ResponseLevel;
use crate::signal::{AgeBand, SignalKind};

/// The value of `schema` in every record.
pub const SCHEMA: &str = "waypoint-telemetry";
/// The schema version this crate writes and reads.
pub const VERSION: u32 = 1;

/// A count cell's value: shown, suppressed because it was below k, or held back (below k and
/// carried into the next window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Count {
    /// The count, when shown (always ≥ the record's `k`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// `true` when the count was below `k` and is not shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    /// `true` when the count was below `k` and was carried into this server's next window.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

impl Count {
    /// A shown count.
    pub const fn shown(count: u64) -> Count {
        Count {
            count: Some(count),
            suppressed: false,
            held: false,
        }
    }

    /// A suppressed cell.
    pub const SUPPRESSED: Count = Count {
        count: None,
        suppressed: true,
        held: false,
    };

    /// A held-back cell (its events are counted in a later record of the same server).
    pub const HELD: Count = Count {
        count: None,
        suppressed: false,
        held: true,
    };

    /// The cell as a tally: a suppressed cell is one suppressed contribution, a held cell
    /// contributes nothing (its events appear in a later record).
    pub fn to_tally(self) -> Result<Tally, RecordError> {
        match (self.count, self.suppressed, self.held) {
            (Some(n), false, false) => Ok(Tally::known(n)),
            (None, true, false) => Ok(Tally::SUPPRESSED),
            (None, false, true) => Ok(Tally::default()),
            _ => Err(RecordError::Cell),
        }
    }
}

/// Texts scored in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageCell {
    /// The language code.
    pub language: Language,
    /// The count.
    #[serde(flatten)]
    pub value: Count,
}

/// Signals of one kind (one of [`SIGNAL_KINDS`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalCell {
    /// The kind of signal, named in records by [`SignalKind::telemetry_name`] (`report`,
    /// `block`, `name_change`, `group_join`, `custom`).
    #[serde(with = "telemetry_name")]
    pub kind: SignalKind,
    /// The count.
    #[serde(flatten)]
    pub value: Count,
}

/// A [`SignalCell`]'s kind as its telemetry name; only the kinds telemetry counts are read.
mod telemetry_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::SIGNAL_KINDS;
    use crate::signal::SignalKind;

    pub(super) fn serialize<S: Serializer>(kind: &SignalKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.telemetry_name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SignalKind, D::Error> {
        let name = String::deserialize(d)?;
        SignalKind::parse_telemetry_name(&name)
            .filter(|kind| SIGNAL_KINDS.contains(kind))
            .ok_or_else(|| {
                serde::de::Error::custom(format!("{name:?} is not a signal kind telemetry counts"))
            })
    }
}

/// A [`ResponseCell`]'s level by its name; only the rungs of the ladder are read.
mod rung_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::policy::ResponseLevel;

    pub(super) fn serialize<S: Serializer>(level: &ResponseLevel, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(level.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ResponseLevel, D::Error> {
        let name = String::deserialize(d)?;
        ResponseLevel::LADDER
            .into_iter()
            .find(|level| level.as_str() == name)
            .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not a response rung")))
    }
}

/// One bucket of a category's score histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreCell {
    /// The category.
    pub category: Category,
    /// Bucket `b` holds scores in `[b/10, (b+1)/10)`; bucket 9 also holds 1.0.
    pub bucket: u8,
    /// The count.
    #[serde(flatten)]
    pub value: Count,
}

/// Responses of one rung for one category and age band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseCell {
    /// The rung: `nudge`, `help` (a help link shown) or `review` (one of
    /// [`ResponseLevel::LADDER`]).
    #[serde(with = "rung_name")]
    pub response: ResponseLevel,
    /// The category.
    pub category: Category,
    /// The age band of the player responded to.
    pub age_band: AgeBand,
    /// The count.
    #[serde(flatten)]
    pub value: Count,
}

/// Help links opened for one category and age band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelpCell {
    /// The category of the response that showed the link.
    pub category: Category,
    /// The age band.
    pub age_band: AgeBand,
    /// The count.
    #[serde(flatten)]
    pub value: Count,
}

/// Referrals for one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralCell {
    /// The category.
    pub category: Category,
    /// The count.
    #[serde(flatten)]
    pub value: Count,
}

/// Review decisions of one kind for one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeCell {
    /// The category.
    pub category: Category,
    /// `upheld` or `dismissed`.
    pub decision: Decision,
    /// The count.
    #[serde(flatten)]
    pub value: Count,
}

/// One bucket of the scoring-latency histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyCell {
    /// The bucket index (fixed boundaries, see `docs/telemetry.md`).
    pub bucket: u16,
    /// The bucket's lower bound in microseconds (inclusive; informative, implied by `bucket`).
    pub low_us: u64,
    /// The bucket's upper bound in microseconds (exclusive; informative).
    pub high_us: u64,
    /// The count.
    #[serde(flatten)]
    pub value: Count,
}

/// One server's counts for one window, after privacy protection: the unit of export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Always `"waypoint-telemetry"`.
    pub schema: String,
    /// Always `1` for records this crate writes.
    pub version: u32,
    /// The server's configured id.
    pub server: String,
    /// Start of the window, Unix seconds (a multiple of `window_secs`).
    pub window_start: u64,
    /// Length of the window in seconds.
    pub window_secs: u64,
    /// The suppression threshold that was applied.
    pub k: u64,
    /// The Laplace noise budget that was applied, if any.
    pub epsilon: Option<f64>,
    /// Texts scored per language.
    pub messages: Vec<LanguageCell>,
    /// Non-text signals per kind.
    pub signals: Vec<SignalCell>,
    /// Score histograms per category.
    pub scores: Vec<ScoreCell>,
    /// Responses per rung, category and age band.
    pub responses: Vec<ResponseCell>,
    /// Help links opened per category and age band.
    pub help_opened: Vec<HelpCell>,
    /// Referrals per category.
    pub referrals: Vec<ReferralCell>,
    /// Review decisions per category.
    pub outcomes: Vec<OutcomeCell>,
    /// Signals dropped because a queue was full (absent when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_drops: Option<Count>,
    /// Scoring-latency histogram.
    pub latency_us: Vec<LatencyCell>,
    /// Milliseconds of degraded scoring in the window (not protected: not about players).
    pub degraded_ms: u64,
    /// Telemetry records an exporter lost before this window closed (not protected).
    pub export_drops: u64,
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The line is not a JSON record of this schema.
    #[error("not a telemetry record: {0}")]
    Json(#[source] serde_json::Error),
    /// The record names another schema.
    #[error("schema {0:?} is not {SCHEMA:?}")]
    Schema(String),
    /// The record has a version this crate does not read.
    #[error("schema version {0} is not supported (this build reads version {VERSION})")]
    Version(u32),
    /// A cell has not exactly one of a count, a suppressed mark and a held mark.
    #[error("a cell must have exactly one of \"count\", \"suppressed\": true or \"held\": true")]
    Cell,
    /// A histogram bucket index is out of range.
    #[error("histogram bucket {0} is out of range")]
    Bucket(u64),
    /// A cell names a signal kind or response level that telemetry does not count (`chat`,
    /// `none`).
    #[error("{0:?} is not counted in telemetry records")]
    NotCounted(&'static str),
}

impl Record {
    /// Parses one JSONL line.
    pub fn from_json(line: &str) -> Result<Record, RecordError> {
        let record: Record = serde_json::from_str(line).map_err(RecordError::Json)?;
        if record.schema != SCHEMA {
            return Err(RecordError::Schema(record.schema));
        }
        if record.version != VERSION {
            return Err(RecordError::Version(record.version));
        }
        Ok(record)
    }

    /// The record as one JSON line (without the newline).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The counts of this record as an aggregate; suppressed cells become suppressed tallies.
    pub fn to_aggregate(&self) -> Result<Aggregate, RecordError> {
        let mut agg = Aggregate::default();
        for cell in &self.messages {
            agg.messages
                .entry(cell.language)
                .or_default()
                .merge(&cell.value.to_tally()?);
        }
        for cell in &self.signals {
            if !SIGNAL_KINDS.contains(&cell.kind) {
                return Err(RecordError::NotCounted(cell.kind.telemetry_name()));
            }
            agg.signals[cell.kind.index()].merge(&cell.value.to_tally()?);
        }
        for cell in &self.scores {
            let bucket = usize::from(cell.bucket);
            let slot = agg.scores[cell.category.index()]
                .get_mut(bucket)
                .ok_or(RecordError::Bucket(u64::from(cell.bucket)))?;
            slot.merge(&cell.value.to_tally()?);
        }
        for cell in &self.responses {
            let rung = cell
                .response
                .ladder_index()
                .ok_or(RecordError::NotCounted(cell.response.as_str()))?;
            agg.responses[rung][cell.category.index()][cell.age_band.index()]
                .merge(&cell.value.to_tally()?);
        }
        for cell in &self.help_opened {
            agg.help_opened[cell.category.index()][cell.age_band.index()]
                .merge(&cell.value.to_tally()?);
        }
        for cell in &self.referrals {
            agg.referrals[cell.category.index()].merge(&cell.value.to_tally()?);
        }
        for cell in &self.outcomes {
            agg.outcomes[cell.category.index()][cell.decision.index()]
                .merge(&cell.value.to_tally()?);
        }
        if let Some(drops) = self.queue_drops {
            agg.queue_drops.merge(&drops.to_tally()?);
        }
        for cell in &self.latency_us {
            let bucket = usize::from(cell.bucket);
            if bucket >= LATENCY_BUCKETS {
                return Err(RecordError::Bucket(u64::from(cell.bucket)));
            }
            agg.latency
                .entry(bucket)
                .or_default()
                .merge(&cell.value.to_tally()?);
        }
        agg.degraded_ms = self.degraded_ms;
        agg.export_drops = self.export_drops;
        Ok(agg)
    }
}

/// Turns an aggregate into a record, deciding each cell's exported value with `protect`
/// (`None` = leave the cell out). `full_domain` also offers cells that counted nothing (noise
/// needs that, so that an exported cell does not reveal that something happened).
pub(crate) fn build_record(
    agg: &Aggregate,
    header: RecordHeader,
    full_domain: bool,
    protect: &mut dyn FnMut(u64) -> Option<Count>,
) -> Record {
    let mut cell = |tally: &Tally| -> Option<Count> {
        if tally.count == 0 && !full_domain {
            None
        } else {
            protect(tally.count)
        }
    };
    let messages = agg
        .messages
        .iter()
        .filter_map(|(language, t)| {
            cell(t).map(|value| LanguageCell {
                language: *language,
                value,
            })
        })
        .collect();
    let signals = SIGNAL_KINDS
        .iter()
        .filter_map(|kind| {
            cell(&agg.signals[kind.index()]).map(|value| SignalCell { kind: *kind, value })
        })
        .collect();
    // The cells are offered to `protect` in a fixed order (noise draws follow it).
    let scores = score_cells(agg, &mut cell);
    let responses = response_cells(agg, &mut cell);
    let (help_opened, referrals, outcomes) = category_cells(agg, &mut cell);
    let queue_drops = cell(&agg.queue_drops);
    let latency_us = latency_cells(agg, &mut cell);
    Record {
        schema: SCHEMA.to_owned(),
        version: VERSION,
        server: header.server,
        window_start: header.window_start,
        window_secs: header.window_secs,
        k: header.k,
        epsilon: header.epsilon,
        messages,
        signals,
        scores,
        responses,
        help_opened,
        referrals,
        outcomes,
        queue_drops,
        latency_us,
        degraded_ms: agg.degraded_ms,
        export_drops: agg.export_drops,
    }
}

/// Decides one cell's exported value (`None` = left out).
type CellFn<'a> = dyn FnMut(&Tally) -> Option<Count> + 'a;

fn score_cells(agg: &Aggregate, cell: &mut CellFn<'_>) -> Vec<ScoreCell> {
    let mut scores = Vec::new();
    for category in Category::ALL {
        for bucket in 0..SCORE_BUCKETS {
            if let Some(value) = cell(&agg.scores[category.index()][bucket]) {
                scores.push(ScoreCell {
                    category,
                    bucket: bucket as u8,
                    value,
                });
            }
        }
    }
    scores
}

fn response_cells(agg: &Aggregate, cell: &mut CellFn<'_>) -> Vec<ResponseCell> {
    let mut responses = Vec::new();
    for (rung, response) in ResponseLevel::LADDER.into_iter().enumerate() {
        for category in Category::ALL {
            for age_band in AgeBand::ALL {
                let t = &agg.responses[rung][category.index()][age_band.index()];
                if let Some(value) = cell(t) {
                    responses.push(ResponseCell {
                        response,
                        category,
                        age_band,
                        value,
                    });
                }
            }
        }
    }
    responses
}

/// Help links opened, referrals and review outcomes, category by category.
fn category_cells(
    agg: &Aggregate,
    cell: &mut CellFn<'_>,
) -> (Vec<HelpCell>, Vec<ReferralCell>, Vec<OutcomeCell>) {
    let mut help_opened = Vec::new();
    let mut referrals = Vec::new();
    let mut outcomes = Vec::new();
    for category in Category::ALL {
        for age_band in AgeBand::ALL {
            if let Some(value) = cell(&agg.help_opened[category.index()][age_band.index()]) {
                help_opened.push(HelpCell {
                    category,
                    age_band,
                    value,
                });
            }
        }
        if let Some(value) = cell(&agg.referrals[category.index()]) {
            referrals.push(ReferralCell { category, value });
        }
        for decision in Decision::ALL {
            if let Some(value) = cell(&agg.outcomes[category.index()][decision.index()]) {
                outcomes.push(OutcomeCell {
                    category,
                    decision,
                    value,
                });
            }
        }
    }
    (help_opened, referrals, outcomes)
}

fn latency_cells(agg: &Aggregate, cell: &mut CellFn<'_>) -> Vec<LatencyCell> {
    let mut latency_us = Vec::new();
    let empty = Tally::default();
    for bucket in 0..LATENCY_BUCKETS {
        let t = agg.latency.get(&bucket).unwrap_or(&empty);
        if let Some(value) = cell(t) {
            let (low_us, high_us) = latency_bucket_bounds(bucket);
            latency_us.push(LatencyCell {
                bucket: bucket as u16,
                low_us,
                high_us,
                value,
            });
        }
    }
    latency_us
}

/// The fields of a record that do not come from the counts.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordHeader {
    /// The server id.
    pub server: String,
    /// Window start, Unix seconds.
    pub window_start: u64,
    /// Window length, seconds.
    pub window_secs: u64,
    /// Suppression threshold.
    pub k: u64,
    /// Noise budget.
    pub epsilon: Option<f64>,
}
