//! Engine counters: lock-free on the hot path, read as a [`Stats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::referral::ReferralStats;

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub submitted: AtomicU64,
    pub dropped: AtomicU64,
    pub processed: AtomicU64,
    pub batches: AtomicU64,
    pub batches_behind: AtomicU64,
    pub deep_scored: AtomicU64,
    pub nudges: AtomicU64,
    pub help_links: AtomicU64,
    pub referrals: AtomicU64,
    pub referrals_dropped_by_hook: AtomicU64,
    pub cooling_down: AtomicU64,
    pub outbox_overflow: AtomicU64,
    pub hook_panics: AtomicU64,
    pub outcomes: AtomicU64,
    pub unknown_cases: AtomicU64,
    pub policy_reloads: AtomicU64,
    pub policy_rejected: AtomicU64,
    pub players: AtomicU64,
    pub referrals_unsent: AtomicU64,
    pub store_writes: AtomicU64,
    pub store_conflicts: AtomicU64,
    pub store_errors: AtomicU64,
    pub store_degraded: AtomicU64,
    pub store_pending: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self, queued: usize) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            submitted: get(&self.submitted),
            dropped: get(&self.dropped),
            queued: queued as u64,
            processed: get(&self.processed),
            batches: get(&self.batches),
            batches_behind: get(&self.batches_behind),
            deep_scored: get(&self.deep_scored),
            nudges: get(&self.nudges),
            help_links: get(&self.help_links),
            referrals: get(&self.referrals),
            referrals_dropped_by_hook: get(&self.referrals_dropped_by_hook),
            cooling_down: get(&self.cooling_down),
            outbox_overflow: get(&self.outbox_overflow),
            hook_panics: get(&self.hook_panics),
            outcomes: get(&self.outcomes),
            unknown_cases: get(&self.unknown_cases),
            policy_reloads: get(&self.policy_reloads),
            policy_rejected: get(&self.policy_rejected),
            players: get(&self.players),
            referrals_unsent: get(&self.referrals_unsent),
            referral: None,
            store: None,
        }
    }

    /// The shared store's counters (for an engine that has one).
    pub fn store_snapshot(&self) -> StoreStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StoreStats {
            writes: get(&self.store_writes),
            conflicts: get(&self.store_conflicts),
            errors: get(&self.store_errors),
            degraded: get(&self.store_degraded) != 0,
            pending: get(&self.store_pending),
        }
    }

    pub fn inc(counter: &AtomicU64) {
        Counters::add(counter, 1);
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Engine counters since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Stats {
    /// Signals accepted by `submit`.
    pub submitted: u64,
    /// Signals and outcomes dropped because the queue was full.
    pub dropped: u64,
    /// Jobs waiting in the queue now.
    pub queued: u64,
    /// Signals the worker has processed.
    pub processed: u64,
    /// Batches the worker has scored.
    pub batches: u64,
    /// Batches scored while the worker was behind (`[cascade] busy_backlog` or more signals
    /// waiting); in `auto` mode those used the selective rules instead of scoring everything
    /// with the deep tier.
    pub batches_behind: u64,
    /// Messages (chat lines and names) the deep tier scored.
    pub deep_scored: u64,
    /// Nudges given.
    pub nudges: u64,
    /// Help links given.
    pub help_links: u64,
    /// Referrals made (including ones a `before_referral` hook then dropped).
    pub referrals: u64,
    /// Referrals a `before_referral` hook dropped.
    pub referrals_dropped_by_hook: u64,
    /// Responses held back by a cooldown.
    pub cooling_down: u64,
    /// Responses not kept for `drain_responses` because the outbox was full (hooks still ran).
    pub outbox_overflow: u64,
    /// Hook calls that panicked (caught; the worker kept running).
    pub hook_panics: u64,
    /// Outcomes recorded.
    pub outcomes: u64,
    /// Review outcomes for case ids the engine does not know (expired or never made).
    pub unknown_cases: u64,
    /// Policies swapped in.
    pub policy_reloads: u64,
    /// Policy files rejected by `reload_policy`.
    pub policy_rejected: u64,
    /// Players with state.
    pub players: u64,
    /// Referrals the webhook sender refused (queue or spool full, stopped); each was reported on
    /// standard error and still reached the platform hooks and `drain_responses`.
    pub referrals_unsent: u64,
    /// Counters of the shared player store, when one is configured.
    pub store: Option<StoreStats>,
    /// Counters of the referral webhook sender, when the policy configures a webhook.
    #[serde(skip)]
    pub referral: Option<ReferralStats>,
}

/// Counters of the shared player store since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StoreStats {
    /// Player states written.
    pub writes: u64,
    /// Writes that found another server's newer state and were merged and retried.
    pub conflicts: u64,
    /// Failed reads and writes (each one put or kept the engine on local state).
    pub errors: u64,
    /// Whether the store is unreachable now (scoring runs on local state).
    pub degraded: bool,
    /// Players changed locally and not yet in the store.
    pub pending: u64,
}
