//! Pilot telemetry: aggregate counts per window and server, protect them, export them.
//!
//! The engine reports what happens as [`Event`]s through a cheap-to-clone [`Telemetry`] handle.
//! Events are counted into the current window's [`Aggregate`]; when a window ends (windows are
//! aligned to multiples of `window_secs` since the Unix epoch) its counts are turned into a
//! [`Record`] by [`Privacy`] (k-suppression, optional Laplace noise) and handed to the
//! [`Exporter`]s ([`JsonlFileSink`] rotating files, [`HttpSink`] batches, or any [`Sink`]), each
//! on its own `waypoint-telemetry` thread. Recording an event takes a short lock and never
//! blocks on I/O. `docs/telemetry.md` describes the record format and what the privacy
//! protections guarantee.
//!
//! No event type can carry text, a player id or a pseudonym, so none can reach a record.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use waypoint::telemetry::{Event, Language, MemorySink, Telemetry, TelemetryConfig};
//! use waypoint::Scores;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sink = MemorySink::new();
//! let config = TelemetryConfig { window_secs: 60, k: 1, server_id: "eu-1".into(), ..Default::default() };
//! let telemetry = Telemetry::builder(config).sink(sink.clone()).build()?;
//! telemetry.record(Event::Scored {
//!     language: Language::new("nl-BE"),
//!     scores: Scores([0.1, 0.0, 0.0, 0.0]),
//!     latency: Duration::from_micros(850),
//! });
//! telemetry.flush(Duration::from_secs(1))?;
//! assert_eq!(sink.records()[0].messages[0].language.as_str(), "nl");
//! # Ok(())
//! # }
//! ```

pub(crate) mod aggregate;

mod event;
mod export;
pub(crate) mod privacy;
mod record;
mod rollup;
mod synthetic;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::HttpRuntime;

pub use crate::config::telemetry::{TelemetryConfig, TelemetryConfigError};
pub use crate::policy::ResponseLevel;
pub use crate::signal::SignalKind;
pub use aggregate::{Aggregate, Tally};
pub use event::{Decision, Event, Language, SIGNAL_KINDS};
pub use export::{
    ExportStats, Exporter, ExporterOptions, ExporterSpawnError, FlushError, HttpSink,
    JsonlFileSink, MemorySink, Sink, SinkError,
};
pub use privacy::{NoiseSource, Privacy, SeededRng};
pub use record::{
    Count, HelpCell, LanguageCell, LatencyCell, OutcomeCell, Record, RecordError, ReferralCell,
    ResponseCell, ScoreCell, SignalCell,
};
pub use rollup::Rollup;
pub use synthetic::SyntheticTraffic;

/// How long one HTTP request to the telemetry endpoint may take.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a [`Telemetry`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryBuildError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] TelemetryConfigError),
    /// An exporter thread could not be started.
    #[error(transparent)]
    Exporter(#[from] ExporterSpawnError),
}

/// Sets up a [`Telemetry`]: exporters from the config plus any extra sinks, and the noise source.
pub struct TelemetryBuilder {
    config: TelemetryConfig,
    sinks: Vec<Box<dyn Sink>>,
    noise: Option<Box<dyn NoiseSource>>,
    options: Option<ExporterOptions>,
    runtime: Option<HttpRuntime>,
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("config", &self.config)
            .field("extra_sinks", &self.sinks.len())
            .finish_non_exhaustive()
    }
}

impl TelemetryBuilder {
    /// Adds a sink (besides the file and HTTP exporters the config asks for).
    pub fn sink(mut self, sink: impl Sink) -> TelemetryBuilder {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Uses `noise` for Laplace noise instead of a generator seeded from the OS (for tests).
    pub fn noise_source(mut self, noise: impl NoiseSource + 'static) -> TelemetryBuilder {
        self.noise = Some(Box::new(noise));
        self
    }

    /// Overrides queueing and retry settings of every exporter (the capacity defaults to the
    /// config's `queue_capacity`).
    pub fn exporter_options(mut self, options: ExporterOptions) -> TelemetryBuilder {
        self.options = Some(options);
        self
    }

    /// Where the HTTP exporter's requests run (default: [`HttpRuntime::current`] when `build`
    /// is called, so telemetry built inside a tokio runtime posts with async reqwest on it).
    pub fn http_runtime(mut self, runtime: HttpRuntime) -> TelemetryBuilder {
        self.runtime = Some(runtime);
        self
    }

    /// Validates the config and starts the exporter threads.
    pub fn build(self) -> Result<Telemetry, TelemetryBuildError> {
        let config = self.config;
        config.validate()?;
        let options = self.options.unwrap_or_else(|| ExporterOptions {
            capacity: config.queue_capacity,
            ..ExporterOptions::default()
        });
        let mut exporters = Vec::new();
        if let Some(dir) = &config.file_dir {
            let sink = JsonlFileSink::new(dir, &config.server_id, config.file_max_bytes);
            exporters.push(Exporter::spawn(sink, options.clone())?);
        }
        if let Some(url) = &config.http_url {
            exporters.push(Exporter::spawn(
                HttpSink::with_runtime(
                    url,
                    HTTP_TIMEOUT,
                    self.runtime.unwrap_or_else(HttpRuntime::current),
                ),
                options.clone(),
            )?);
        }
        for sink in self.sinks {
            exporters.push(Exporter::spawn(sink, options.clone())?);
        }
        let noise = self
            .noise
            .unwrap_or_else(|| Box::new(SeededRng::from_entropy()));
        let state = State {
            current: None,
            privacy: Privacy::new(config.k, config.epsilon, noise),
            reported_drops: 0,
            records: 0,
            carry: Aggregate::default(),
            last_start: None,
        };
        Ok(Telemetry {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                exporters,
                server: config.server_id.clone(),
                window_secs: config.window_secs,
                carry_over: config.carry_over,
            }),
        })
    }
}

/// Counters of a [`Telemetry`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelemetryStats {
    /// Records produced (closed windows that had events).
    pub records: u64,
    /// Per exporter, in the order file, HTTP, extra sinks.
    pub exporters: Vec<ExportStats>,
}

/// The handle the engine reports events to. Cheap to clone; all clones share one aggregate.
/// When the last clone is dropped the current window is exported and every exporter is flushed
/// for up to two seconds.
#[derive(Clone)]
pub struct Telemetry {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("server", &self.shared.server)
            .field("window_secs", &self.shared.window_secs)
            .finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    exporters: Vec<Exporter>,
    server: String,
    window_secs: u64,
    carry_over: bool,
}

struct State {
    current: Option<(u64, Aggregate)>,
    privacy: Privacy,
    /// Exporter drops already written into a record.
    reported_drops: u64,
    records: u64,
    /// Counts held back from earlier windows (carry-over).
    carry: Aggregate,
    /// Start of the last window that was closed.
    last_start: Option<u64>,
}

impl Telemetry {
    /// Starts building telemetry from `config`.
    pub fn builder(config: TelemetryConfig) -> TelemetryBuilder {
        TelemetryBuilder {
            config,
            sinks: Vec::new(),
            noise: None,
            options: None,
            runtime: None,
        }
    }

    /// Counts `event` in the window of the current time.
    pub fn record(&self, event: Event) {
        self.record_at(event, SystemTime::now());
    }

    /// Counts `event` in the window of `at` (for replays and tests). An event older than the
    /// current window is counted in the current window; a newer one first closes it.
    pub fn record_at(&self, event: Event, at: SystemTime) {
        if !event.is_counted() {
            return;
        }
        let start = self.window_start(at);
        let closed = {
            let mut state = self.shared.lock();
            let closed = self.shared.roll(&mut state, start);
            let window = state
                .current
                .get_or_insert_with(|| (start, Aggregate::default()));
            window.1.record(&event);
            closed
        };
        self.shared.export(closed);
    }

    /// Closes the current window if the current time is past its end (call it now and then so
    /// that a quiet server still exports).
    pub fn tick(&self) {
        self.tick_at(SystemTime::now());
    }

    /// Closes the current window if `now` is past its end.
    pub fn tick_at(&self, now: SystemTime) {
        let start = self.window_start(now);
        let closed = {
            let mut state = self.shared.lock();
            self.shared.roll(&mut state, start)
        };
        self.shared.export(closed);
    }

    /// Closes the current window now, even if it has not ended (a later event in the same window
    /// starts a second record for it; readers add the two), and waits up to `timeout` for every
    /// exporter to write what it holds. Held-back cells stay held.
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        self.shared.close_current(false);
        self.flush_exporters(timeout)
    }

    /// Like [`Telemetry::flush`], but also exports what carry-over still holds (as suppressed
    /// cells): call it when the server stops. Dropping the last handle does the same.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), FlushError> {
        self.shared.close_current(true);
        self.flush_exporters(timeout)
    }

    fn flush_exporters(&self, timeout: Duration) -> Result<(), FlushError> {
        let deadline = std::time::Instant::now().checked_add(timeout);
        for exporter in &self.shared.exporters {
            let left = deadline.map_or(timeout, |d| {
                d.saturating_duration_since(std::time::Instant::now())
            });
            exporter.flush(left)?;
        }
        Ok(())
    }

    /// The counters so far.
    pub fn stats(&self) -> TelemetryStats {
        let records = self.shared.lock().records;
        TelemetryStats {
            records,
            exporters: self.shared.exporters.iter().map(Exporter::stats).collect(),
        }
    }

    fn window_start(&self, at: SystemTime) -> u64 {
        let secs = at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let len = self.shared.window_secs.max(1);
        secs - secs % len
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// If the current window starts before `start`, takes it out and protects it.
    fn roll(&self, state: &mut State, start: u64) -> Option<Record> {
        match &state.current {
            Some((current, _)) if *current < start => self.take(state, false),
            _ => None,
        }
    }

    /// Takes the current window out (with what carry-over held) and protects it; with `last`,
    /// nothing is held back any more.
    fn take(&self, state: &mut State, last: bool) -> Option<Record> {
        let (start, agg) = match state.current.take() {
            Some(window) => window,
            None if last && !state.carry.is_empty() => (state.last_start?, Aggregate::default()),
            None => return None,
        };
        state.last_start = Some(start);
        let mut merged = std::mem::take(&mut state.carry);
        merged.merge(&agg);
        let dropped: u64 = self.exporters.iter().map(|e| e.stats().dropped).sum();
        merged.export_drops = merged
            .export_drops
            .saturating_add(dropped.saturating_sub(state.reported_drops));
        state.reported_drops = dropped;
        if merged.is_empty() {
            return None;
        }
        let hold = self.carry_over && !last && state.privacy.epsilon().is_none();
        let record =
            state
                .privacy
                .protect_holding(&merged, &self.server, start, self.window_secs, hold);
        if hold {
            state.carry = privacy::held_back(&merged, &record);
        }
        state.records += 1;
        Some(record)
    }

    fn close_current(&self, last: bool) {
        let closed = {
            let mut state = self.lock();
            self.take(&mut state, last)
        };
        self.export(closed);
    }

    fn export(&self, record: Option<Record>) {
        let Some(record) = record else { return };
        if let Some((last, rest)) = self.exporters.split_last() {
            for exporter in rest {
                exporter.export(record.clone());
            }
            last.export(record);
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.close_current(true);
        // Each exporter flushes (bounded) as it is dropped.
    }
}
