//! The state the sender's handle and its two threads share: counters, spool reservations and
//! the flags `health()` reports.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::events::{EventCallback, ReferralEvent};
use crate::config::referral::SpoolLimits;

/// What the sender has done, for `stats()`.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) accepted: AtomicU64,
    pub(super) spooled: AtomicU64,
    pub(super) replayed: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) attempts: AtomicU64,
    pub(super) retries: AtomicU64,
    pub(super) permanent_failures: AtomicU64,
    pub(super) queue_full_rejections: AtomicU64,
    pub(super) spool_full_rejections: AtomicU64,
    pub(super) spool_write_errors: AtomicU64,
    pub(super) duplicates: AtomicU64,
    pub(super) corrupt_records: AtomicU64,
}

/// State shared by the handle, the spool thread and the delivery thread.
pub(super) struct Shared {
    pub(super) limits: SpoolLimits,
    pub(super) counters: Counters,
    pub(super) pending_records: AtomicUsize,
    pub(super) pending_bytes: AtomicU64,
    pub(super) in_spool_queue: AtomicUsize,
    pub(super) consecutive_failures: AtomicU32,
    pub(super) spool_full: AtomicBool,
    pub(super) queue_full: AtomicBool,
    pub(super) spool_write_failing: AtomicBool,
    pub(super) stopping: AtomicBool,
    pub(super) on_event: Option<EventCallback>,
}

impl Shared {
    pub(super) fn new(limits: SpoolLimits, on_event: Option<EventCallback>) -> Self {
        Shared {
            limits,
            counters: Counters::default(),
            pending_records: AtomicUsize::new(0),
            pending_bytes: AtomicU64::new(0),
            in_spool_queue: AtomicUsize::new(0),
            consecutive_failures: AtomicU32::new(0),
            spool_full: AtomicBool::new(false),
            queue_full: AtomicBool::new(false),
            spool_write_failing: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            on_event,
        }
    }

    pub(super) fn emit(&self, event: &ReferralEvent) {
        if let Some(callback) = &self.on_event {
            callback(event);
        }
    }

    pub(super) fn loud(&self, message: &str) {
        log::warn!(target: "waypoint-referral", "{message}");
    }

    /// Reserves room for one record of `bytes`; `false` if the spool limits would be exceeded.
    pub(super) fn reserve(&self, bytes: u64) -> bool {
        let records = self.pending_records.fetch_add(1, Ordering::SeqCst);
        if records >= self.limits.max_records {
            self.pending_records.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        let used = self.pending_bytes.fetch_add(bytes, Ordering::SeqCst);
        if used.saturating_add(bytes) > self.limits.max_bytes {
            self.pending_bytes.fetch_sub(bytes, Ordering::SeqCst);
            self.pending_records.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Releases a reservation (delivered, failed, duplicate or refused).
    pub(super) fn release(&self, bytes: u64) {
        self.pending_bytes.fetch_sub(bytes, Ordering::SeqCst);
        self.pending_records.fetch_sub(1, Ordering::SeqCst);
        if self.spool_full.swap(false, Ordering::SeqCst) {
            self.loud(&format!(
                "spool {} has room again",
                self.limits.dir.display()
            ));
        }
    }
}
