//! [`ReferralSender`]: a non-blocking handle that spools referrals durably and delivers them to
//! the webhook on its own threads.
//!
//! Threads: `waypoint-referral-spool` writes each referral to the spool (fsync) and passes it
//! on; `waypoint-referral-delivery` POSTs them one at a time. `send` only serialises the packet,
//! reserves room in the spool's limits and `try_send`s into a bounded queue, so the caller never
//! waits on disk or network. The price is a short window (the queue's latency, normally well
//! under a millisecond plus one fsync) in which a referral accepted by `send` is in memory only;
//! call [`ReferralSender::sync_spool`] where durability on return matters more than latency.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use uuid::Uuid;

use super::delivery::{DeliveryMsg, DeliveryWorker, Item, SpoolJob, spool_loop};
use super::events::{
    EventCallback, FlushStatus, ReferralEvent, ReferralHealth, ReferralStats, SendError, StartError,
};
use super::packet::CasePacket;
use super::shared::Shared;
use super::spool::{Spool, SpoolRecord};
use crate::config::referral::{
    ReferralConfig, RetryConfig, SpoolLimits, validate_key_id, validate_limits, validate_url,
};
use crate::http::HttpRuntime;

/// Builder for [`ReferralSender`]; start from [`ReferralSender::builder`].
#[derive(Clone)]
pub struct ReferralSenderBuilder {
    url: Option<String>,
    key_id: Option<String>,
    secret: Option<Vec<u8>>,
    secret_env: Option<String>,
    spool: SpoolLimits,
    retry: RetryConfig,
    queue_capacity: usize,
    on_event: Option<EventCallback>,
    runtime: Option<HttpRuntime>,
}

impl fmt::Debug for ReferralSenderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferralSenderBuilder")
            .field("url", &self.url)
            .field("key_id", &self.key_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_env", &self.secret_env)
            .field("spool", &self.spool)
            .field("retry", &self.retry)
            .field("queue_capacity", &self.queue_capacity)
            .field("on_event", &self.on_event.is_some())
            .field("runtime", &self.runtime)
            .finish()
    }
}

impl Default for ReferralSenderBuilder {
    fn default() -> Self {
        let defaults = ReferralConfig::default();
        ReferralSenderBuilder {
            url: None,
            key_id: None,
            secret: None,
            secret_env: None,
            spool: defaults.spool,
            retry: defaults.retry,
            queue_capacity: defaults.queue_capacity,
            on_event: None,
            runtime: None,
        }
    }
}

impl ReferralSenderBuilder {
    /// Takes webhook, spool, retry and queue settings from the policy's `[referral]` section.
    pub fn config(mut self, config: &ReferralConfig) -> Self {
        if let Some(webhook) = &config.webhook {
            self.url = Some(webhook.url.clone());
            self.key_id = Some(webhook.key_id.clone());
            self.secret_env = Some(webhook.secret_env.clone());
        }
        self.spool = config.spool.clone();
        self.retry = config.retry.clone();
        self.queue_capacity = config.queue_capacity;
        self
    }

    /// Sets (or overrides) the webhook URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the key id sent as `kid=`.
    pub fn key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// Sets the signing secret directly (takes precedence over [`secret_env`](Self::secret_env)).
    pub fn secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Names the environment variable holding the signing secret; read by `start`.
    pub fn secret_env(mut self, name: impl Into<String>) -> Self {
        self.secret_env = Some(name.into());
        self
    }

    /// Sets the spool folder.
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool.dir = dir.into();
        self
    }

    /// Sets the spool's limits.
    pub fn spool_limits(mut self, max_records: usize, max_bytes: u64) -> Self {
        self.spool.max_records = max_records;
        self.spool.max_bytes = max_bytes;
        self
    }

    /// Sets backoff and timeouts.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the capacity of the queue between `send` and the spool writer.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Sets a callback for [`ReferralEvent`]s (e.g. to feed telemetry).
    pub fn on_event(mut self, callback: EventCallback) -> Self {
        self.on_event = Some(callback);
        self
    }

    /// Where the webhook requests run (default: [`HttpRuntime::current`] when `start` is
    /// called, so a sender started inside a tokio runtime uses async reqwest on it).
    pub fn http_runtime(mut self, runtime: HttpRuntime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Opens the spool, replays what it holds, and starts the spool and delivery threads.
    pub fn start(self) -> Result<ReferralSender, StartError> {
        let url = self.url.ok_or(StartError::NoWebhook)?;
        validate_url(&url)?;
        let key_id = self.key_id.ok_or(StartError::NoKeyId)?;
        validate_key_id(&key_id)?;
        let secret = resolve_secret(self.secret, self.secret_env.as_deref())?;
        validate_limits(&self.spool, &self.retry, self.queue_capacity)?;

        let (spool, replay) = Spool::open(&self.spool.dir)?;
        let shared = Arc::new(Shared::new(self.spool.clone(), self.on_event));
        account_replay(&shared, replay.corrupt, &replay.records);

        let runtime = self.runtime.unwrap_or_else(HttpRuntime::current);
        let (job_tx, job_rx) = crossbeam_channel::bounded(self.queue_capacity);
        let (delivery_tx, delivery_rx) = crossbeam_channel::unbounded();
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let delivery = DeliveryWorker {
            shared: Arc::clone(&shared),
            spool: spool.clone(),
            url,
            key_id,
            secret,
            retry: self.retry.clone(),
            runtime: runtime.clone(),
            queue: replay.records.into_iter().map(Item::from_record).collect(),
            gate: Instant::now(),
        };
        let delivery_handle = thread::Builder::new()
            .name("waypoint-referral-delivery".to_owned())
            .spawn(move || delivery.run(delivery_rx, ready_tx))
            .map_err(StartError::Thread)?;
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => {
                return Err(StartError::Thread(std::io::Error::other(
                    "delivery thread did not start",
                )));
            }
        }
        let spool_shared = Arc::clone(&shared);
        let spool_delivery_tx = delivery_tx.clone();
        let spool_handle = thread::Builder::new()
            .name("waypoint-referral-spool".to_owned())
            .spawn(move || spool_loop(&spool_shared, &spool, &job_rx, &spool_delivery_tx))
            .map_err(StartError::Thread)?;
        Ok(ReferralSender {
            inner: Arc::new(Inner {
                shared,
                job_tx,
                delivery_tx,
                threads: Mutex::new(vec![spool_handle, delivery_handle]),
                runtime,
            }),
        })
    }
}

/// The signing secret: the one given, else the one in the environment variable named.
fn resolve_secret(secret: Option<Vec<u8>>, env: Option<&str>) -> Result<Vec<u8>, StartError> {
    match (secret, env) {
        (Some(secret), _) if !secret.is_empty() => Ok(secret),
        (_, Some(env)) => match std::env::var(env) {
            Ok(value) if !value.is_empty() => Ok(value.into_bytes()),
            _ => Err(StartError::MissingSecret {
                env: env.to_owned(),
            }),
        },
        _ => Err(StartError::MissingSecret { env: String::new() }),
    }
}

/// Counts and reports what the spool held at start: quarantined corrupt records and the
/// records to replay.
fn account_replay(shared: &Shared, corrupt: Vec<PathBuf>, records: &[SpoolRecord]) {
    for path in corrupt {
        shared
            .counters
            .corrupt_records
            .fetch_add(1, Ordering::Relaxed);
        shared.loud(&format!(
            "corrupt spool record quarantined at {}",
            path.display()
        ));
        shared.emit(&ReferralEvent::CorruptRecord { path });
    }
    let replayed = records.len();
    let replayed_bytes: u64 = records.iter().map(|r| r.body.len() as u64).sum();
    shared.pending_records.store(replayed, Ordering::SeqCst);
    shared.pending_bytes.store(replayed_bytes, Ordering::SeqCst);
    shared
        .counters
        .replayed
        .store(replayed as u64, Ordering::Relaxed);
    if replayed > 0 {
        shared.emit(&ReferralEvent::Replayed { count: replayed });
    }
}

/// Cheap-to-clone handle to the referral pipeline.
///
/// Dropping the last handle stops both threads without waiting; whatever is undelivered stays
/// in the spool for the next start. Call [`flush`](Self::flush) or
/// [`shutdown`](Self::shutdown) for a bounded wait.
#[derive(Clone)]
pub struct ReferralSender {
    inner: Arc<Inner>,
}

impl fmt::Debug for ReferralSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReferralSender")
            .field("stats", &self.stats())
            .finish()
    }
}

struct Inner {
    shared: Arc<Shared>,
    job_tx: Sender<SpoolJob>,
    delivery_tx: Sender<DeliveryMsg>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    runtime: HttpRuntime,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let _ = self.job_tx.try_send(SpoolJob::Stop);
        let _ = self.delivery_tx.send(DeliveryMsg::Stop);
    }
}

impl ReferralSender {
    /// A builder with default spool, retry and queue settings.
    pub fn builder() -> ReferralSenderBuilder {
        ReferralSenderBuilder::default()
    }

    /// Hands a referral to the pipeline and returns its case id at once.
    ///
    /// Never blocks on disk or network: the packet is serialised here, then queued for the spool
    /// writer. If the queue or the spool is full, or the sender is shut down, the packet comes
    /// back in the error — and the refusal is counted, flagged in [`health`](Self::health),
    /// reported as an event and printed on standard error.
    pub fn send(&self, packet: CasePacket) -> Result<Uuid, SendError> {
        let shared = &self.inner.shared;
        if shared.stopping.load(Ordering::SeqCst) {
            return Err(SendError::Stopped(Box::new(packet)));
        }
        let body: Arc<[u8]> = match packet.to_json() {
            Ok(body) => Arc::from(body),
            Err(source) => {
                return Err(SendError::Serialize {
                    packet: Box::new(packet),
                    source,
                });
            }
        };
        let case_id = packet.case_id;
        let len = body.len() as u64;
        if !shared.reserve(len) {
            shared
                .counters
                .spool_full_rejections
                .fetch_add(1, Ordering::Relaxed);
            if !shared.spool_full.swap(true, Ordering::SeqCst) {
                shared.loud(&format!(
                    "spool {} is full ({} records / {} bytes max): refusing referral {case_id}",
                    shared.limits.dir.display(),
                    shared.limits.max_records,
                    shared.limits.max_bytes
                ));
            }
            shared.emit(&ReferralEvent::SpoolFull { case_id });
            return Err(SendError::SpoolFull(Box::new(packet)));
        }
        shared.in_spool_queue.fetch_add(1, Ordering::SeqCst);
        match self
            .inner
            .job_tx
            .try_send(SpoolJob::Write { case_id, body })
        {
            Ok(()) => {
                shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
                Ok(case_id)
            }
            Err(TrySendError::Full(_)) => {
                shared.in_spool_queue.fetch_sub(1, Ordering::SeqCst);
                shared.release(len);
                shared
                    .counters
                    .queue_full_rejections
                    .fetch_add(1, Ordering::Relaxed);
                if !shared.queue_full.swap(true, Ordering::SeqCst) {
                    shared.loud(&format!(
                        "referral queue is full: refusing referral {case_id}"
                    ));
                }
                shared.emit(&ReferralEvent::QueueFull { case_id });
                Err(SendError::QueueFull(Box::new(packet)))
            }
            Err(TrySendError::Disconnected(_)) => {
                shared.in_spool_queue.fetch_sub(1, Ordering::SeqCst);
                shared.release(len);
                Err(SendError::Stopped(Box::new(packet)))
            }
        }
    }

    /// Waits up to `timeout` until every referral accepted so far is on disk (or has failed to
    /// get there, which is reported separately). Returns `true` if none is left in memory.
    pub fn sync_spool(&self, timeout: Duration) -> bool {
        let shared = &self.inner.shared;
        wait_until(timeout, || {
            shared.in_spool_queue.load(Ordering::SeqCst) == 0
        })
    }

    /// Waits up to `timeout` until every referral is delivered or permanently failed.
    pub fn flush(&self, timeout: Duration) -> FlushStatus {
        let shared = &self.inner.shared;
        let done = wait_until(timeout, || {
            shared.pending_records.load(Ordering::SeqCst) == 0
        });
        self.status(!done)
    }

    /// Stops accepting referrals, lets the spool writer finish what is queued, stops delivery
    /// after the request in flight, and waits up to `timeout` for both threads. Undelivered
    /// referrals stay in the spool for the next start.
    pub fn shutdown(&self, timeout: Duration) -> FlushStatus {
        let shared = &self.inner.shared;
        shared.stopping.store(true, Ordering::SeqCst);
        let _ = self.inner.delivery_tx.send(DeliveryMsg::Stop);
        let deadline = Instant::now() + timeout;
        let _ = self.inner.job_tx.send_deadline(SpoolJob::Stop, deadline);
        let mut threads = match self.inner.threads.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let finished = wait_until(deadline.saturating_duration_since(Instant::now()), || {
            threads.iter().all(JoinHandle::is_finished)
        });
        if finished {
            for handle in threads.drain(..) {
                let _ = handle.join();
            }
        }
        drop(threads);
        self.status(!finished)
    }

    fn status(&self, timed_out: bool) -> FlushStatus {
        let shared = &self.inner.shared;
        FlushStatus {
            pending: shared.pending_records.load(Ordering::SeqCst) as u64,
            unspooled: shared.in_spool_queue.load(Ordering::SeqCst) as u64,
            timed_out,
        }
    }

    /// Counters since start.
    pub fn stats(&self) -> ReferralStats {
        let s = &self.inner.shared;
        let c = &s.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReferralStats {
            accepted: get(&c.accepted),
            spooled: get(&c.spooled),
            replayed: get(&c.replayed),
            delivered: get(&c.delivered),
            attempts: get(&c.attempts),
            retries: get(&c.retries),
            permanent_failures: get(&c.permanent_failures),
            queue_full_rejections: get(&c.queue_full_rejections),
            spool_full_rejections: get(&c.spool_full_rejections),
            spool_write_errors: get(&c.spool_write_errors),
            duplicates: get(&c.duplicates),
            corrupt_records: get(&c.corrupt_records),
            pending: s.pending_records.load(Ordering::SeqCst) as u64,
            unspooled: s.in_spool_queue.load(Ordering::SeqCst) as u64,
            consecutive_failures: s.consecutive_failures.load(Ordering::Relaxed),
        }
    }

    /// Health flags.
    pub fn health(&self) -> ReferralHealth {
        let s = &self.inner.shared;
        let running = match self.inner.threads.lock() {
            Ok(threads) => !threads.is_empty() && threads.iter().all(|t| !t.is_finished()),
            Err(_) => false,
        };
        ReferralHealth {
            running,
            spool_full: s.spool_full.load(Ordering::SeqCst),
            queue_full: s.queue_full.load(Ordering::SeqCst),
            spool_write_failing: s.spool_write_failing.load(Ordering::SeqCst),
            endpoint_failing: s.consecutive_failures.load(Ordering::Relaxed) > 0,
            permanent_failures: s.counters.permanent_failures.load(Ordering::Relaxed),
        }
    }

    /// Where the webhook requests run.
    pub fn http_runtime(&self) -> &HttpRuntime {
        &self.inner.runtime
    }

    /// The spool folder.
    pub fn spool_dir(&self) -> &Path {
        &self.inner.shared.limits.dir
    }
}

/// Polls `done` every few milliseconds until it holds or `timeout` passes.
fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        thread::sleep((deadline - now).min(Duration::from_millis(5)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_respect_limits() {
        let limits = SpoolLimits {
            dir: PathBuf::from("x"),
            max_records: 2,
            max_bytes: 100,
        };
        let shared = Shared::new(limits, None);
        assert!(shared.reserve(40));
        assert!(!shared.reserve(61));
        assert!(shared.reserve(60));
        assert!(!shared.reserve(1));
        shared.release(60);
        assert!(shared.reserve(10));
        assert_eq!(shared.pending_records.load(Ordering::SeqCst), 2);
        assert_eq!(shared.pending_bytes.load(Ordering::SeqCst), 50);
    }
}
