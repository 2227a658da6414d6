//! What the referral pipeline reports: events, counters, health, and its errors.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::packet::CasePacket;
use super::spool::SpoolError;
use crate::config::referral::ReferralConfigError;

/// Callback for [`ReferralEvent`]s. Runs on the sender's threads (and, for `QueueFull` and
/// `SpoolFull`, on the caller's thread): keep it short and non-blocking.
pub type EventCallback = Arc<dyn Fn(&ReferralEvent) + Send + Sync>;

/// Something the referral pipeline wants the platform (and telemetry) to know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferralEvent {
    /// The referral is on disk.
    Spooled {
        /// The case.
        case_id: Uuid,
    },
    /// Undelivered referrals found in the spool at start.
    Replayed {
        /// How many.
        count: usize,
    },
    /// The receiver answered `2xx`; the record is gone from the spool.
    Delivered {
        /// The case.
        case_id: Uuid,
        /// Attempts it took, this one included.
        attempts: u32,
        /// The HTTP status.
        status: u16,
    },
    /// An attempt failed in a way worth retrying; the endpoint waits `delay`.
    RetryScheduled {
        /// The case.
        case_id: Uuid,
        /// Attempts so far.
        attempts: u32,
        /// Wait before the next attempt to this endpoint.
        delay: Duration,
        /// Status or transport error.
        reason: String,
    },
    /// The receiver refused the referral (`4xx` other than `408`/`429`, or a redirect); the
    /// record was moved to the spool's `failed/` folder.
    PermanentFailure {
        /// The case.
        case_id: Uuid,
        /// The HTTP status.
        status: u16,
        /// Status and the start of the response body.
        reason: String,
    },
    /// `send` refused a referral because the in-memory queue was full.
    QueueFull {
        /// The case.
        case_id: Uuid,
    },
    /// `send` refused a referral because the spool is at its record or byte limit.
    SpoolFull {
        /// The case.
        case_id: Uuid,
    },
    /// The referral could not be written to disk; it is delivered from memory, not durably.
    SpoolWriteFailed {
        /// The case.
        case_id: Uuid,
        /// The I/O error.
        error: String,
    },
    /// A delivered record could not be removed; it will be sent again after a restart (the
    /// receiver deduplicates by idempotency key).
    SpoolRemoveFailed {
        /// The case.
        case_id: Uuid,
        /// The I/O error.
        error: String,
    },
    /// A record failed its checksum at start and was moved to the spool's `corrupt/` folder.
    CorruptRecord {
        /// Where it is now.
        path: PathBuf,
    },
}

/// Counters since start (and two gauges: `pending`, `unspooled`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReferralStats {
    /// Referrals accepted by `send`.
    pub accepted: u64,
    /// Referrals written to the spool.
    pub spooled: u64,
    /// Referrals found in the spool at start.
    pub replayed: u64,
    /// Referrals acknowledged with `2xx`.
    pub delivered: u64,
    /// HTTP attempts made.
    pub attempts: u64,
    /// Attempts that failed and will be retried.
    pub retries: u64,
    /// Referrals refused permanently by the receiver.
    pub permanent_failures: u64,
    /// `send` calls refused because the queue was full.
    pub queue_full_rejections: u64,
    /// `send` calls refused because the spool was full.
    pub spool_full_rejections: u64,
    /// Referrals that could not be written to disk (delivered from memory instead).
    pub spool_write_errors: u64,
    /// Referrals whose case id was already spooled (not sent twice).
    pub duplicates: u64,
    /// Corrupt records quarantined at start.
    pub corrupt_records: u64,
    /// Referrals not yet delivered nor permanently failed (gauge).
    pub pending: u64,
    /// Referrals accepted but not yet written to disk (gauge).
    pub unspooled: u64,
    /// Failed attempts in a row against the endpoint (gauge).
    pub consecutive_failures: u32,
}

/// Health flags for the platform's health endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReferralHealth {
    /// Both worker threads are alive.
    pub running: bool,
    /// The spool is at its limit: new referrals are being refused.
    pub spool_full: bool,
    /// The queue to the spool writer overflowed and has not drained since.
    pub queue_full: bool,
    /// The last spool write failed.
    pub spool_write_failing: bool,
    /// The last delivery attempt failed.
    pub endpoint_failing: bool,
    /// Referrals refused permanently since start (look in the spool's `failed/` folder).
    pub permanent_failures: u64,
}

impl ReferralHealth {
    /// `true` when nothing above needs attention.
    pub fn is_healthy(&self) -> bool {
        self.running
            && !self.spool_full
            && !self.queue_full
            && !self.spool_write_failing
            && !self.endpoint_failing
            && self.permanent_failures == 0
    }
}

/// Result of [`ReferralSender::flush`](super::ReferralSender::flush) and
/// [`ReferralSender::shutdown`](super::ReferralSender::shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushStatus {
    /// Referrals still undelivered (on disk unless `unspooled` counts them too).
    pub pending: u64,
    /// Referrals accepted but not yet on disk.
    pub unspooled: u64,
    /// Whether the wait ended because the timeout ran out.
    pub timed_out: bool,
}

/// Why [`ReferralSender::send`](super::ReferralSender::send) refused a referral. Every variant hands
/// the packet back.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The queue to the spool writer is full (the disk is slower than the referral rate).
    #[error("referral queue is full; the referral was not accepted")]
    QueueFull(Box<CasePacket>),
    /// The spool is at `max_records` or `max_bytes` (the endpoint has been failing for long).
    #[error("referral spool is full; the referral was not accepted")]
    SpoolFull(Box<CasePacket>),
    /// The sender was shut down.
    #[error("referral sender is shut down")]
    Stopped(Box<CasePacket>),
    /// The packet could not be serialised (e.g. a map with non-string keys).
    #[error("referral packet could not be serialised")]
    Serialize {
        /// The packet.
        packet: Box<CasePacket>,
        /// The serialiser's error.
        #[source]
        source: serde_json::Error,
    },
}

impl SendError {
    /// The packet that was not accepted.
    pub fn into_packet(self) -> CasePacket {
        match self {
            SendError::QueueFull(p) | SendError::SpoolFull(p) | SendError::Stopped(p) => *p,
            SendError::Serialize { packet, .. } => *packet,
        }
    }
}

/// Why a [`ReferralSender`](super::ReferralSender) could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No webhook URL was configured.
    #[error("no webhook URL configured")]
    NoWebhook,
    /// No key id was configured.
    #[error("no webhook key id configured")]
    NoKeyId,
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ReferralConfigError),
    /// The secret's environment variable is unset, empty or not UTF-8 (or no secret was given).
    #[error("webhook secret: environment variable {env:?} is unset or empty")]
    MissingSecret {
        /// The variable's name (empty when neither a secret nor a variable was given).
        env: String,
    },
    /// The spool could not be opened.
    #[error("could not open the referral spool")]
    Spool(#[from] SpoolError),
    /// The HTTP client (TLS included) could not be set up.
    #[error("could not set up the webhook HTTP client")]
    HttpClient(#[source] crate::http::HttpError),
    /// A worker thread could not be spawned, or did not come up.
    #[error("could not start the referral threads")]
    Thread(#[source] std::io::Error),
}
