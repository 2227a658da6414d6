//! Getting records out: rotating JSONL files and HTTP batches, each behind a background thread.
//!
//! An [`Exporter`] owns one [`Sink`] on a thread named `waypoint-telemetry`. Handing it a record
//! never blocks: the record goes into a bounded queue, or is dropped and counted when the queue
//! is full. The thread writes records in batches; when the sink fails it keeps them and retries
//! with exponential backoff (capped), dropping the oldest (and counting them) if more than
//! `capacity` pile up, and dropping a batch the destination rejects outright (a 4xx answer).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use super::record::Record;
use crate::http::{HttpClient, HttpError, HttpOptions, HttpRuntime, Post};

/// Why a sink could not write a batch.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file could not be created or written; retried.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be encoded (not retried).
    #[error("cannot encode a record: {0}")]
    Encode(#[source] serde_json::Error),
    /// The HTTP client could not be set up, or the request failed (connection, timeout, TLS);
    /// retried.
    #[error("cannot reach the telemetry endpoint: {0}")]
    Http(#[source] HttpError),
    /// The endpoint answered with an error status.
    #[error("the telemetry endpoint answered {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
}

impl SinkError {
    /// Whether trying again later may succeed (otherwise the batch is dropped).
    pub fn is_retryable(&self) -> bool {
        match self {
            SinkError::Encode(_) => false,
            SinkError::Status { status } => *status == 408 || *status == 429 || *status >= 500,
            SinkError::Io { .. } | SinkError::Http(_) => true,
        }
    }
}

/// A destination for records. Runs on the exporter's thread, so it may block.
pub trait Sink: Send + 'static {
    /// Writes `records` (in order) or fails as a whole.
    fn write_batch(&mut self, records: &[Record]) -> Result<(), SinkError>;
}

/// Appends records as JSON lines to files in a directory, starting a new file when the current
/// one reaches `max_bytes`. Files are named `waypoint-telemetry-<server>-<unix seconds>-<n>.jsonl`.
#[derive(Debug)]
pub struct JsonlFileSink {
    dir: PathBuf,
    server: String,
    max_bytes: u64,
    current: Option<(PathBuf, File, u64)>,
    sequence: u64,
}

impl JsonlFileSink {
    /// A sink writing into `dir` (created on first write) for `server`.
    pub fn new(dir: impl Into<PathBuf>, server: &str, max_bytes: u64) -> JsonlFileSink {
        JsonlFileSink {
            dir: dir.into(),
            server: server.to_owned(),
            max_bytes: max_bytes.max(1),
            current: None,
            sequence: 0,
        }
    }

    /// The file currently written to, if one is open.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|(path, _, _)| path.as_path())
    }

    fn open_next(&mut self) -> Result<(), SinkError> {
        fs::create_dir_all(&self.dir).map_err(|source| SinkError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        loop {
            self.sequence += 1;
            let name = format!(
                "waypoint-telemetry-{}-{secs}-{:04}.jsonl",
                self.server, self.sequence
            );
            let path = self.dir.join(name);
            match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(file) => {
                    self.current = Some((path, file, 0));
                    return Ok(());
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(SinkError::Io { path, source }),
            }
        }
    }
}

impl Sink for JsonlFileSink {
    fn write_batch(&mut self, records: &[Record]) -> Result<(), SinkError> {
        let mut buf = Vec::new();
        for record in records {
            serde_json::to_writer(&mut buf, record).map_err(SinkError::Encode)?;
            buf.push(b'\n');
        }
        let full = self
            .current
            .as_ref()
            .is_some_and(|(_, _, written)| *written >= self.max_bytes);
        if self.current.is_none() || full {
            self.open_next()?;
        }
        let Some((path, file, written)) = self.current.as_mut() else {
            return Ok(());
        };
        let result = file.write_all(&buf).and_then(|()| file.flush());
        match result {
            Ok(()) => {
                *written += buf.len() as u64;
                Ok(())
            }
            Err(source) => {
                let path = path.clone();
                // Start a fresh file next time rather than appending after a partial line.
                self.current = None;
                Err(SinkError::Io { path, source })
            }
        }
    }
}

/// POSTs each batch as one `application/x-ndjson` body (one record per line) to a URL.
///
/// The HTTP client is created lazily on the exporter's thread, so building an exporter is safe
/// inside an async runtime. Requests run on the [`HttpRuntime`] the sink was made with: by
/// default the tokio runtime [`HttpSink::new`] is called in (with the `tokio` feature), else
/// reqwest's blocking client.
pub struct HttpSink {
    url: String,
    timeout: Duration,
    runtime: HttpRuntime,
    client: Option<HttpClient>,
}

impl std::fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSink")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}

impl HttpSink {
    /// A sink posting to `url`, each request bounded by `timeout`, on [`HttpRuntime::current`].
    pub fn new(url: impl Into<String>, timeout: Duration) -> HttpSink {
        HttpSink::with_runtime(url, timeout, HttpRuntime::current())
    }

    /// A sink posting to `url`, each request bounded by `timeout`, on `runtime`.
    pub fn with_runtime(
        url: impl Into<String>,
        timeout: Duration,
        runtime: HttpRuntime,
    ) -> HttpSink {
        HttpSink {
            url: url.into(),
            timeout,
            runtime,
            client: None,
        }
    }

    /// Where the requests run.
    pub fn runtime(&self) -> &HttpRuntime {
        &self.runtime
    }

    fn new_client(&self) -> Result<HttpClient, SinkError> {
        let options = HttpOptions {
            timeout: self.timeout,
            connect_timeout: self.timeout,
            follow_redirects: true,
            user_agent: None,
        };
        HttpClient::new(&self.url, &options, &self.runtime).map_err(SinkError::Http)
    }
}

impl Sink for HttpSink {
    fn write_batch(&mut self, records: &[Record]) -> Result<(), SinkError> {
        let mut body = Vec::new();
        for record in records {
            serde_json::to_writer(&mut body, record).map_err(SinkError::Encode)?;
            body.push(b'\n');
        }
        let client = match self.client.take() {
            Some(client) => client,
            None => self.new_client()?,
        };
        let reply = client.post(Post {
            url: &self.url,
            headers: vec![("content-type", "application/x-ndjson".to_owned())],
            body,
        });
        // Kept for the next batch, whatever this one's outcome.
        self.client = Some(client);
        let reply = reply.map_err(SinkError::Http)?;
        if reply.is_success() {
            Ok(())
        } else {
            Err(SinkError::Status {
                status: reply.status,
            })
        }
    }
}

/// How an [`Exporter`] queues, batches and retries.
#[derive(Debug, Clone, PartialEq)]
pub struct ExporterOptions {
    /// Records held (queued and awaiting retry) before the oldest are dropped.
    pub capacity: usize,
    /// Records per write.
    pub batch_size: usize,
    /// Wait before the first retry; doubles after each failure.
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
}

impl Default for ExporterOptions {
    fn default() -> Self {
        ExporterOptions {
            capacity: 1024,
            batch_size: 64,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Counters of one exporter, readable at any time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportStats {
    /// Records written successfully.
    pub exported: u64,
    /// Records lost: queue full, too many awaiting retry, or rejected by the destination.
    pub dropped: u64,
    /// Failed write attempts.
    pub failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    exported: AtomicU64,
    dropped: AtomicU64,
    failures: AtomicU64,
}

enum Message {
    Record(Box<Record>),
    Flush(Sender<()>),
    Shutdown,
}

/// Why an exporter could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ExporterSpawnError {
    /// The operating system refused a new thread.
    #[error("cannot start the telemetry thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Why [`Exporter::flush`] returned before everything was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlushError {
    /// The destination did not take everything in time; records stay queued.
    #[error("telemetry records are still queued after {0:?}")]
    Timeout(Duration),
    /// The exporter thread is gone.
    #[error("the telemetry thread has stopped")]
    Stopped,
}

/// A sink on its own thread behind a bounded queue. Dropping it flushes for up to two seconds.
pub struct Exporter {
    sender: Sender<Message>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// Starts the thread `waypoint-telemetry` that writes to `sink`.
    pub fn spawn(
        sink: impl Sink,
        options: ExporterOptions,
    ) -> Result<Exporter, ExporterSpawnError> {
        let options = ExporterOptions {
            capacity: options.capacity.max(1),
            batch_size: options.batch_size.max(1),
            ..options
        };
        let (sender, receiver) = bounded(options.capacity);
        let counters = Arc::new(Counters::default());
        let worker = Worker {
            sink,
            options,
            receiver,
            counters: Arc::clone(&counters),
        };
        let thread = std::thread::Builder::new()
            .name("waypoint-telemetry".to_owned())
            .spawn(move || worker.run())
            .map_err(ExporterSpawnError::Thread)?;
        Ok(Exporter {
            sender,
            counters,
            thread: Some(thread),
        })
    }

    /// Queues `record`; never blocks. Returns `false` (and counts a drop) if the queue is full.
    pub fn export(&self, record: Record) -> bool {
        match self.sender.try_send(Message::Record(Box::new(record))) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Waits up to `timeout` until every record queued so far is written (retrying at once
    /// rather than after the current backoff).
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        let deadline = deadline_after(timeout);
        let (ack, done) = bounded(1);
        self.sender
            .send_deadline(Message::Flush(ack), deadline)
            .map_err(|err| match err {
                crossbeam_channel::SendTimeoutError::Timeout(_) => FlushError::Timeout(timeout),
                crossbeam_channel::SendTimeoutError::Disconnected(_) => FlushError::Stopped,
            })?;
        match done.recv_deadline(deadline) {
            Ok(()) => Ok(()),
            Err(RecvTimeoutError::Timeout) => Err(FlushError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(FlushError::Stopped),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> ExportStats {
        ExportStats {
            exported: self.counters.exported.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
        }
    }

    /// Flushes for up to `timeout`, then stops the thread (records still pending are dropped and
    /// counted).
    pub fn shutdown(mut self, timeout: Duration) -> Result<(), FlushError> {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> Result<(), FlushError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let flushed = self.flush(timeout);
        // The queue may be full of records for an unreachable destination: then the thread is
        // left to finish on its own rather than blocking here.
        if self
            .sender
            .send_timeout(Message::Shutdown, Duration::from_millis(100))
            .is_ok()
            && flushed.is_ok()
        {
            let _ = thread.join();
        }
        flushed
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.stop(Duration::from_secs(2));
    }
}

struct Worker<S: Sink> {
    sink: S,
    options: ExporterOptions,
    receiver: Receiver<Message>,
    counters: Arc<Counters>,
}

impl<S: Sink> Worker<S> {
    fn run(mut self) {
        let mut pending: VecDeque<Record> = VecDeque::new();
        let mut waiters: Vec<Sender<()>> = Vec::new();
        let mut backoff = self.options.initial_backoff;
        let mut next_attempt: Option<Instant> = None;
        loop {
            // Wait for work, or until the next retry is due.
            let message = if pending.is_empty() {
                self.receiver.recv().ok()
            } else {
                match next_attempt {
                    Some(at) => match self.receiver.recv_deadline(at) {
                        Ok(message) => Some(message),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => Some(Message::Shutdown),
                    },
                    None => self.receiver.try_recv().ok(),
                }
            };
            let mut shutdown = false;
            let mut first = message;
            if first.is_none() && pending.is_empty() {
                // The queue is disconnected: every handle is gone.
                shutdown = true;
            }
            // Take whatever else is queued without waiting.
            while let Some(message) = first.take().or_else(|| self.receiver.try_recv().ok()) {
                match message {
                    Message::Record(record) => {
                        pending.push_back(*record);
                        if pending.len() > self.options.capacity {
                            pending.pop_front();
                            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Message::Flush(ack) => {
                        waiters.push(ack);
                        next_attempt = None;
                    }
                    Message::Shutdown => shutdown = true,
                }
            }
            if shutdown {
                if !pending.is_empty() {
                    self.try_write(&mut pending);
                }
                self.counters
                    .dropped
                    .fetch_add(pending.len() as u64, Ordering::Relaxed);
                for ack in waiters.drain(..) {
                    let _ = ack.try_send(());
                }
                return;
            }
            let due = next_attempt.is_none_or(|at| Instant::now() >= at);
            if !pending.is_empty() && due {
                if self.try_write(&mut pending) {
                    backoff = self.options.initial_backoff;
                    next_attempt = None;
                } else {
                    next_attempt = Some(deadline_after(backoff));
                    backoff = backoff.saturating_mul(2).min(self.options.max_backoff);
                }
            }
            if pending.is_empty() {
                next_attempt = None;
                for ack in waiters.drain(..) {
                    let _ = ack.try_send(());
                }
            }
        }
    }

    /// Writes batches until `pending` is empty or a write fails; returns whether it emptied.
    fn try_write(&mut self, pending: &mut VecDeque<Record>) -> bool {
        while !pending.is_empty() {
            let n = pending.len().min(self.options.batch_size);
            let batch: Vec<Record> = pending.iter().take(n).cloned().collect();
            match self.sink.write_batch(&batch) {
                Ok(()) => {
                    pending.drain(..n);
                    self.counters
                        .exported
                        .fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(err) => {
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    if err.is_retryable() {
                        return false;
                    }
                    pending.drain(..n);
                    self.counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        }
        true
    }
}

/// `now + d`, saturating at about a century from now.
fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

impl Sink for Box<dyn Sink> {
    fn write_batch(&mut self, records: &[Record]) -> Result<(), SinkError> {
        (**self).write_batch(records)
    }
}

/// Keeps records in memory; clones share the same list. For tests and for embedding.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    records: Arc<std::sync::Mutex<Vec<Record>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// Every record written so far.
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

impl Sink for MemorySink {
    fn write_batch(&mut self, records: &[Record]) -> Result<(), SinkError> {
        let mut list = self
            .records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        list.extend_from_slice(records);
        Ok(())
    }
}
