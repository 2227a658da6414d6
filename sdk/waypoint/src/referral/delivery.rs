//! The two worker threads: `waypoint-referral-spool` (durable writes) and
//! `waypoint-referral-delivery` (signed POSTs with backoff).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use uuid::Uuid;

use super::events::{ReferralEvent, StartError};
use super::shared::Shared;
use super::signature::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign};
use super::spool::{Spool, SpoolError, SpoolRecord};
use super::{days_from_civil, now_unix_secs};
use crate::config::referral::RetryConfig;
use crate::http::{HttpClient, HttpOptions, HttpRuntime, Post};

pub(super) enum SpoolJob {
    Write { case_id: Uuid, body: Arc<[u8]> },
    Stop,
}

pub(super) enum DeliveryMsg {
    Item(Item),
    Stop,
}

pub(super) struct Item {
    pub(super) case_id: Uuid,
    pub(super) body: Arc<[u8]>,
    pub(super) durable: bool,
    pub(super) attempts: u32,
}

impl Item {
    pub(super) fn from_record(record: SpoolRecord) -> Item {
        Item {
            case_id: record.case_id,
            body: record.body,
            durable: true,
            attempts: 0,
        }
    }
}

/// The `waypoint-referral-spool` thread: writes each queued referral to disk, then passes it on.
pub(super) fn spool_loop(
    shared: &Shared,
    spool: &Spool,
    jobs: &Receiver<SpoolJob>,
    delivery: &Sender<DeliveryMsg>,
) {
    for job in jobs.iter() {
        let SpoolJob::Write { case_id, body } = job else {
            break;
        };
        let durable = match spool.write(case_id, &body) {
            Ok(()) => {
                shared.counters.spooled.fetch_add(1, Ordering::Relaxed);
                if shared.spool_write_failing.swap(false, Ordering::SeqCst) {
                    shared.loud("spool writes work again");
                }
                shared.emit(&ReferralEvent::Spooled { case_id });
                Some(true)
            }
            Err(SpoolError::Duplicate(_)) => {
                shared.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                shared.release(body.len() as u64);
                None
            }
            Err(error) => {
                shared
                    .counters
                    .spool_write_errors
                    .fetch_add(1, Ordering::Relaxed);
                shared.spool_write_failing.store(true, Ordering::SeqCst);
                let text = error_chain(&error);
                shared.loud(&format!(
                    "could not spool referral {case_id}, delivering from memory only: {text}"
                ));
                shared.emit(&ReferralEvent::SpoolWriteFailed {
                    case_id,
                    error: text,
                });
                Some(false)
            }
        };
        if let Some(durable) = durable {
            let _ = delivery.send(DeliveryMsg::Item(Item {
                case_id,
                body,
                durable,
                attempts: 0,
            }));
        }
        shared.in_spool_queue.fetch_sub(1, Ordering::SeqCst);
        if jobs.is_empty() {
            shared.queue_full.store(false, Ordering::SeqCst);
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How one attempt ended.
enum Outcome {
    Delivered(u16),
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Permanent {
        status: u16,
        reason: String,
    },
}

/// The `waypoint-referral-delivery` thread's state.
pub(super) struct DeliveryWorker {
    pub(super) shared: Arc<Shared>,
    pub(super) spool: Spool,
    pub(super) url: String,
    pub(super) key_id: String,
    pub(super) secret: Vec<u8>,
    pub(super) retry: RetryConfig,
    /// Where the HTTP requests run.
    pub(super) runtime: HttpRuntime,
    pub(super) queue: VecDeque<Item>,
    /// The endpoint is not tried before this instant (backoff, `Retry-After`).
    pub(super) gate: Instant,
}

impl DeliveryWorker {
    pub(super) fn run(
        mut self,
        incoming: Receiver<DeliveryMsg>,
        ready: Sender<Result<(), StartError>>,
    ) {
        let client = match self.client() {
            Ok(client) => {
                let _ = ready.send(Ok(()));
                client
            }
            Err(error) => {
                let _ = ready.send(Err(error));
                return;
            }
        };
        drop(ready);
        loop {
            if self.shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            loop {
                match incoming.try_recv() {
                    Ok(DeliveryMsg::Item(item)) => self.queue.push_back(item),
                    Ok(DeliveryMsg::Stop) => return,
                    Err(_) => break,
                }
            }
            let now = Instant::now();
            let wait = if self.queue.is_empty() {
                None
            } else {
                Some(self.gate.saturating_duration_since(now))
            };
            let message = match wait {
                None => incoming.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(wait) if !wait.is_zero() => incoming.recv_timeout(wait),
                Some(_) => Err(RecvTimeoutError::Timeout),
            };
            match message {
                Ok(DeliveryMsg::Item(item)) => {
                    self.queue.push_back(item);
                    continue;
                }
                Ok(DeliveryMsg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() < self.gate {
                continue;
            }
            if let Some(item) = self.queue.pop_front() {
                self.deliver(&client, item);
            }
        }
    }

    fn client(&self) -> Result<HttpClient, StartError> {
        let options = HttpOptions {
            timeout: Duration::from_millis(self.retry.request_timeout_ms),
            connect_timeout: Duration::from_millis(self.retry.connect_timeout_ms),
            follow_redirects: false,
            user_agent: Some(concat!("waypoint-referral/", env!("CARGO_PKG_VERSION"))),
        };
        HttpClient::new(&self.url, &options, &self.runtime).map_err(StartError::HttpClient)
    }

    fn deliver(&mut self, client: &HttpClient, mut item: Item) {
        item.attempts = item.attempts.saturating_add(1);
        self.shared
            .counters
            .attempts
            .fetch_add(1, Ordering::Relaxed);
        match self.attempt(client, &item) {
            Outcome::Delivered(status) => self.delivered(&item, status),
            Outcome::Retry {
                reason,
                retry_after,
            } => self.retry_later(item, reason, retry_after),
            Outcome::Permanent { status, reason } => self.failed(&item, status, reason),
        }
    }

    /// A `2xx`: the record leaves the spool.
    fn delivered(&mut self, item: &Item, status: u16) {
        if item.durable
            && let Err(error) = self.spool.remove(item.case_id)
        {
            let text = error_chain(&error);
            self.shared.loud(&format!(
                "delivered {} but could not remove it from the spool: {text}",
                item.case_id
            ));
            self.shared.emit(&ReferralEvent::SpoolRemoveFailed {
                case_id: item.case_id,
                error: text,
            });
        }
        self.shared
            .counters
            .delivered
            .fetch_add(1, Ordering::Relaxed);
        if self.shared.consecutive_failures.swap(0, Ordering::Relaxed) > 0 {
            self.shared.loud(&format!(
                "webhook delivers again ({} pending)",
                self.queue.len()
            ));
        }
        self.shared.release(item.body.len() as u64);
        self.shared.emit(&ReferralEvent::Delivered {
            case_id: item.case_id,
            attempts: item.attempts,
            status,
        });
    }

    /// A failure worth retrying: back off (honouring `Retry-After`) and queue it at the back.
    fn retry_later(&mut self, item: Item, reason: String, retry_after: Option<Duration>) {
        self.shared.counters.retries.fetch_add(1, Ordering::Relaxed);
        let failures = self
            .shared
            .consecutive_failures
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        let mut delay = jitter(self.retry.backoff(failures));
        if let Some(after) = retry_after {
            delay = delay.max(after.min(Duration::from_secs(self.retry.max_retry_after_secs)));
        }
        if failures == 1 || failures.is_power_of_two() {
            self.shared.loud(&format!(
                "webhook attempt failed ({reason}); {failures} failure(s) in a row, {} pending, next try in {delay:?}",
                self.queue.len() + 1
            ));
        }
        self.gate = Instant::now() + delay;
        self.shared.emit(&ReferralEvent::RetryScheduled {
            case_id: item.case_id,
            attempts: item.attempts,
            delay,
            reason,
        });
        // To the back: one referral the receiver chokes on must not hold up the others.
        self.queue.push_back(item);
    }

    /// A permanent failure: the record moves to `failed/`.
    fn failed(&mut self, item: &Item, status: u16, reason: String) {
        self.shared
            .counters
            .permanent_failures
            .fetch_add(1, Ordering::Relaxed);
        self.shared.consecutive_failures.store(0, Ordering::Relaxed);
        let kept = match self.spool.mark_failed(item.case_id, &item.body, &reason) {
            Ok(path) => path.display().to_string(),
            Err(error) => format!("nowhere ({})", error_chain(&error)),
        };
        self.shared.loud(&format!(
            "webhook refused referral {} permanently ({reason}); kept at {kept}",
            item.case_id
        ));
        self.shared.release(item.body.len() as u64);
        self.shared.emit(&ReferralEvent::PermanentFailure {
            case_id: item.case_id,
            status,
            reason,
        });
    }

    fn attempt(&self, client: &HttpClient, item: &Item) -> Outcome {
        let signature = match sign(&item.body, &self.secret, &self.key_id, now_unix_secs()) {
            Ok(signature) => signature,
            Err(error) => {
                return Outcome::Permanent {
                    status: 0,
                    reason: format!("cannot sign: {error}"),
                };
            }
        };
        let reply = client.post(Post {
            url: &self.url,
            headers: vec![
                ("Content-Type", "application/json".to_owned()),
                (SIGNATURE_HEADER, signature),
                (IDEMPOTENCY_HEADER, item.case_id.to_string()),
            ],
            body: item.body.to_vec(),
        });
        let reply = match reply {
            Ok(reply) => reply,
            Err(error) => {
                return Outcome::Retry {
                    reason: error_chain(&error),
                    retry_after: None,
                };
            }
        };
        let status = reply.status;
        if reply.is_success() {
            return Outcome::Delivered(status);
        }
        if status == 408 || status == 429 || status >= 500 {
            let retry_after = reply
                .retry_after
                .as_deref()
                .and_then(|v| parse_retry_after(v, now_unix_secs()));
            return Outcome::Retry {
                reason: format!("status {status}"),
                retry_after,
            };
        }
        let snippet = String::from_utf8_lossy(&reply.body_start).trim().to_owned();
        Outcome::Permanent {
            status,
            reason: format!("status {status}: {snippet}"),
        }
    }
}

/// Equal jitter: half of `base` fixed, the other half random.
fn jitter(base: Duration) -> Duration {
    let half = base / 2;
    let span = u64::try_from(half.as_micros()).unwrap_or(u64::MAX);
    // A v4 UUID is 122 random bits from the OS; enough for jitter without another dependency.
    let random = (Uuid::new_v4().as_u128() & u128::from(u64::MAX)) as u64;
    let extra = if span == 0 { 0 } else { random % (span + 1) };
    half + Duration::from_micros(extra)
}

/// Parses `Retry-After` as delta-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_retry_after(value: &str, now_unix_secs: u64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let (_, rest) = value.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" {
        return None;
    }
    let at = days_from_civil(year, month, day)? * 86_400 + h * 3600 + m * 60 + s;
    Some(Duration::from_secs(at.saturating_sub(now_unix_secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        // 1994-11-06T08:49:37Z = 784111777
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_770),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_800),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let d = jitter(Duration::from_millis(100));
            assert!(
                d >= Duration::from_millis(50) && d <= Duration::from_millis(100),
                "{d:?}"
            );
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
