//! The engine: one handle a game server keeps for its lifetime.
//!
//! - [`Engine::check_chat`] scores one line inline on the caller's thread (fast tier only) for a
//!   pre-send nudge. It reads no player state.
//! - [`Engine::submit`] never blocks: it stamps the signal with the clock and `try_send`s it into
//!   a bounded queue. A full queue drops the signal and counts it ([`Engine::stats`]).
//! - The `waypoint-scorer` thread scores what is queued in batches, runs the optional second
//!   stage, updates player state, walks the ladder and calls the hooks. Responses also go to an
//!   outbox the game loop can [`Engine::drain_responses`].
//! - [`Engine::reload_policy`] swaps the policy atomically; an invalid file changes nothing.
//! - [`Engine::shutdown`] and the [`ShutdownGuard`] flush with a bounded wait.
//!
//! ```no_run
//! use std::time::Duration;
//! use waypoint::{ChatMessage, Engine, Response};
//!
//! # fn main() -> Result<(), waypoint::EngineBuildError> {
//! let engine = Engine::builder()
//!     .models_dir("models")
//!     .policy_file("policy.toml")
//!     .pseudonym_key(b"a secret from your config".to_vec())
//!     .on_help_link(|help| println!("show {} a link to {:?}", help.player, help.help))
//!     .before_referral(|mut referral| {
//!         referral.evidence = None; // redact before it leaves the game server
//!         Some(referral)
//!     })
//!     .build()?;
//! let _guard = engine.shutdown_guard(Duration::from_secs(2));
//!
//! let line = ChatMessage::new("steam:42", "gg wp").locale("en");
//! if engine.check_chat(&line).should_nudge() {
//!     // ask "are you sure?" before sending
//! }
//! let _ = engine.submit(line); // never blocks
//! for response in engine.drain_responses() {
//!     if let Response::Nudge(nudge) = response {
//!         println!("to {}: {}", nudge.player, nudge.text);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "tokio")]
mod async_handle;
mod builder;
mod case;
mod history;
mod outbox;
mod process;
mod stats;
mod steps;
mod sync;
mod watch;
mod worker;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use serde::Serialize;
use uuid::Uuid;

#[cfg(feature = "tokio")]
pub use async_handle::{AsyncEngine, ResponseStream};
pub use builder::{EngineBuildError, EngineBuilder};
pub use stats::{Stats, StoreStats};

use crate::Scores;
use crate::clock::{Clock, Timestamp};
use crate::policy::{Policy, PolicyError, Reason, ResponseLevel, TierScores};
use crate::referral::{FlushStatus, ReferralHealth, ReferralSender};
use crate::response::{Response, default_nudge_text};
use crate::scorer::{Health, Scorer};
use crate::signal::{ChatMessage, PlayerId, Signal};
use crate::telemetry::{Event, Telemetry};
use crate::text::LexiconHit;

/// The inline verdict on one chat line, before it is sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The message-level response the line earns on its own (no player history).
    pub level: ResponseLevel,
    /// The rules reached, strongest first.
    pub reasons: Vec<Reason>,
    /// Combined scores.
    pub scores: Scores,
    /// Lexicon entries found.
    pub lexicon: Vec<LexiconHit>,
    /// A default "are you sure?" text in the player's language, when the line earns a response.
    pub nudge_text: Option<&'static str>,
}

impl Verdict {
    /// Whether the game should ask "are you sure?" before sending.
    pub fn should_nudge(&self) -> bool {
        self.level >= ResponseLevel::Nudge
    }
}

/// Errors from [`Engine::submit`] and [`Engine::record_outcome`]. Neither ever blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The queue is full; the signal was dropped and counted.
    #[error("the scoring queue is full; the signal was dropped")]
    QueueFull,
    /// The engine has shut down.
    #[error("the engine has shut down")]
    ShutDown,
}

/// Errors from [`Engine::shutdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownError {
    /// The worker did not finish the queued work in time; it finishes in the background.
    #[error("the scoring worker did not finish within {0:?}")]
    Timeout(Duration),
    /// An async shutdown was not awaited inside a tokio runtime, or its task was cancelled (the
    /// runtime is shutting down); the worker finishes in the background.
    #[error("the shutdown task was interrupted")]
    Interrupted,
}

/// A review decision made by a person on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewDecision {
    /// The reviewer agreed with the referral. Recorded; Waypoint never punishes.
    Upheld,
    /// The reviewer found nothing wrong: the player's risk is lowered and the ladder starts over.
    Dismissed,
}

/// Feedback from the platform.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The player opened a help link.
    HelpOpened {
        /// The player.
        player: PlayerId,
    },
    /// A reviewer decided a referral.
    Review {
        /// The referral's case id.
        case_id: Uuid,
        /// The decision.
        decision: ReviewDecision,
        /// The category the reviewer found, when it differs from the referred one (only
        /// meaningful for [`ReviewDecision::Upheld`]): the player's accumulated risk moves to
        /// it, and telemetry counts the referral as not upheld for the referred category.
        corrected_category: Option<crate::Category>,
    },
}

enum Job {
    Signal {
        signal: Signal,
        at: Timestamp,
        arrived: Instant,
    },
    Outcome {
        outcome: Outcome,
        at: Timestamp,
    },
    Flush(Sender<()>),
    Shutdown,
}

struct Shared {
    policy: ArcSwap<Policy>,
    scorer: Arc<Scorer>,
    clock: Arc<dyn Clock>,
    stats: stats::Counters,
    outbox: Receiver<Response>,
    /// Async readers of the outbox waiting for a response.
    #[cfg_attr(
        not(feature = "tokio"),
        expect(dead_code, reason = "read by the async handle")
    )]
    response_waiters: Arc<outbox::Waiters>,
    worker_alive: AtomicBool,
    /// Webhook delivery of referrals, when the policy configures a webhook.
    referral: Option<ReferralSender>,
    /// Aggregate telemetry, when the policy has a `[telemetry]` section.
    telemetry: Option<Telemetry>,
    /// Unix milliseconds at the clock's [`Timestamp::ZERO`].
    base_unix_ms: u64,
    /// Where the shared player store is, when one is configured.
    store_endpoint: Option<String>,
}

impl Shared {
    fn record(&self, event: Event) {
        if let Some(telemetry) = &self.telemetry {
            telemetry.record(event);
        }
    }

    /// Engine timestamps as Unix milliseconds.
    fn unix_clock(&self) -> case::UnixClock {
        case::UnixClock {
            base_unix_ms: self.base_unix_ms,
        }
    }

    /// Reads, validates and swaps in a policy file, counting the outcome.
    /// Re-reads and re-embeds the exemplar file the new policy names, before the policy takes
    /// effect; a missing or bad file keeps the current exemplars and says why in the log.
    fn reload_exemplars(&self, policy: &Policy) {
        if !self.scorer.has_deep_tier() {
            return;
        }
        if let Err(e) = self.scorer.reload_exemplars(&policy.exemplars) {
            log::warn!("policy reload: exemplars kept as they were: {e}");
        }
    }

    fn reload_policy(&self, path: &Path) -> Result<Arc<Policy>, PolicyError> {
        match Policy::from_file(path) {
            Ok(policy) => {
                let policy = Arc::new(policy);
                self.reload_exemplars(&policy);
                self.policy.store(Arc::clone(&policy));
                self.stats.policy_reloads.fetch_add(1, Ordering::Relaxed);
                Ok(policy)
            }
            Err(e) => {
                self.stats.policy_rejected.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

/// The Waypoint engine. Cheap to clone; every clone talks to the same worker.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    queue: Sender<Job>,
    done: Receiver<()>,
    worker: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("policy", &self.shared.policy.load().version)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A builder with defaults.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// Scores one chat line inline (fast tier only, no player history) for a pre-send nudge.
    pub fn check_chat(&self, chat: &ChatMessage) -> Verdict {
        let policy = self.shared.policy.load();
        let scored = self.shared.scorer.score_inline(&policy, &chat.text);
        let band = chat.age_band.unwrap_or_default();
        let decision = policy.message_decision_for(&TierScores::combined_only(scored.scores), band);
        Verdict {
            level: decision.level,
            nudge_text: (decision.level >= ResponseLevel::Nudge)
                .then(|| default_nudge_text(chat.locale.as_deref())),
            reasons: decision.reasons,
            scores: scored.scores,
            lexicon: scored.lexicon,
        }
    }

    /// Queues a signal for the worker. Never blocks: a full queue drops the signal and counts it.
    pub fn submit(&self, signal: impl Into<Signal>) -> Result<(), SubmitError> {
        let at = self.shared.clock.now();
        match self.queue.try_send(Job::Signal {
            signal: signal.into(),
            at,
            arrived: Instant::now(),
        }) {
            Ok(()) => {
                self.shared.stats.submitted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(TrySendError::Full(_)) => {
                self.shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.shared.record(Event::Drop);
                Err(SubmitError::QueueFull)
            }
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::ShutDown),
        }
    }

    /// Queues platform feedback. Never blocks.
    pub fn record_outcome(&self, outcome: Outcome) -> Result<(), SubmitError> {
        let at = self.shared.clock.now();
        match self.queue.try_send(Job::Outcome { outcome, at }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.shared.record(Event::Drop);
                Err(SubmitError::QueueFull)
            }
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::ShutDown),
        }
    }

    /// Responses decided since the last call, oldest first (also given to the hooks).
    pub fn drain_responses(&self) -> Vec<Response> {
        self.shared.outbox.try_iter().collect()
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.shared.policy.load_full()
    }

    /// Replaces the policy atomically; signals already queued are decided with the new one.
    pub fn set_policy(&self, policy: Policy) {
        self.shared.policy.store(Arc::new(policy));
        self.shared
            .stats
            .policy_reloads
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Reads, validates and swaps in a policy file. An invalid file is rejected with its
    /// line/column error and the policy in force stays. The exemplar file the policy names is
    /// re-read and re-embedded first (one encoder run per exemplar, so call this off the game
    /// thread); a missing or bad exemplar file keeps the current exemplars and logs why.
    pub fn reload_policy(&self, path: &Path) -> Result<Arc<Policy>, PolicyError> {
        self.shared.reload_policy(path)
    }

    /// Whether scoring runs with everything it was meant to have; a stopped worker is reported too.
    pub fn health(&self) -> Health {
        let mut reasons = match self.shared.scorer.health() {
            Health::Ready => Vec::new(),
            Health::Degraded { reasons } => reasons.clone(),
        };
        if !self.shared.worker_alive.load(Ordering::SeqCst) {
            reasons.push("the waypoint-scorer worker has stopped".to_owned());
        }
        if let Some(endpoint) = &self.shared.store_endpoint
            && self.shared.stats.store_snapshot().degraded
        {
            reasons.push(format!(
                "the player store at {endpoint} is unreachable: scoring from local state"
            ));
        }
        if let Some(health) = self.referral_health() {
            let problems = [
                (!health.running, "referral delivery has stopped"),
                (health.spool_full, "the referral spool is full"),
                (health.queue_full, "the referral queue is full"),
                (
                    health.spool_write_failing,
                    "writing to the referral spool fails",
                ),
                (health.endpoint_failing, "the referral webhook is failing"),
            ];
            reasons.extend(
                problems
                    .iter()
                    .filter(|(bad, _)| *bad)
                    .map(|(_, text)| (*text).to_owned()),
            );
        }
        if reasons.is_empty() {
            Health::Ready
        } else {
            Health::Degraded { reasons }
        }
    }

    /// The scorer, for inline scoring outside the engine.
    pub fn scorer(&self) -> &Scorer {
        &self.shared.scorer
    }

    /// Counters since start, including the referral webhook's when one is configured.
    pub fn stats(&self) -> Stats {
        let mut stats = self.shared.stats.snapshot(self.queue.len());
        stats.referral = self.shared.referral.as_ref().map(ReferralSender::stats);
        if self.shared.store_endpoint.is_some() {
            stats.store = Some(self.shared.stats.store_snapshot());
        }
        stats
    }

    /// Health of referral webhook delivery, when the policy configures a webhook.
    pub fn referral_health(&self) -> Option<ReferralHealth> {
        self.shared.referral.as_ref().map(ReferralSender::health)
    }

    /// The referral sender, when the policy configures a webhook.
    pub fn referral_sender(&self) -> Option<&ReferralSender> {
        self.shared.referral.as_ref()
    }

    /// The telemetry handle, when the policy has a `[telemetry]` section.
    pub fn telemetry(&self) -> Option<&Telemetry> {
        self.shared.telemetry.as_ref()
    }

    /// Waits at most `timeout` until every referral handed to the webhook sender is delivered
    /// (or permanently failed). `None` when no webhook is configured. Call [`Engine::flush`]
    /// first so that queued signals have made their referrals.
    pub fn flush_referrals(&self, timeout: Duration) -> Option<FlushStatus> {
        self.shared
            .referral
            .as_ref()
            .map(|sender| sender.flush(timeout))
    }

    /// Waits until everything queued before this call has been processed, at most `timeout`
    /// (with a shared player store: and the changes written to it, or the store found
    /// unreachable). Returns whether it was.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (tx, rx) = crossbeam_channel::bounded(1);
        if self.queue.send_deadline(Job::Flush(tx), deadline).is_err() {
            return false;
        }
        rx.recv_deadline(deadline).is_ok()
    }

    /// Processes what is queued and stops the worker, waiting at most `timeout`. Later
    /// `submit`s fail with [`SubmitError::ShutDown`].
    pub fn shutdown(&self, timeout: Duration) -> Result<(), ShutdownError> {
        let deadline = Instant::now() + timeout;
        let handle = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handle) = handle else { return Ok(()) };
        if self.queue.send_deadline(Job::Shutdown, deadline).is_err() && !handle.is_finished() {
            self.put_back(handle);
            return Err(ShutdownError::Timeout(timeout));
        }
        if self.done.recv_deadline(deadline).is_err() && !handle.is_finished() {
            self.put_back(handle);
            return Err(ShutdownError::Timeout(timeout));
        }
        // The worker has signalled completion; joining only collects the thread.
        let _ = handle.join();
        self.shutdown_outputs(deadline);
        Ok(())
    }

    /// Flushes and stops referral delivery and telemetry within what is left of the deadline.
    /// Undelivered referrals stay in the spool for the next start.
    fn shutdown_outputs(&self, deadline: Instant) {
        if let Some(sender) = &self.shared.referral {
            let status = sender.shutdown(deadline.saturating_duration_since(Instant::now()));
            if status.pending > 0 || status.unspooled > 0 {
                log::warn!(
                    "waypoint: {} referral(s) not yet delivered ({} not yet spooled); they are retried on the next start",
                    status.pending,
                    status.unspooled
                );
            }
        }
        if let Some(telemetry) = &self.shared.telemetry {
            let _ = telemetry.shutdown(deadline.saturating_duration_since(Instant::now()));
        }
    }

    fn put_back(&self, handle: JoinHandle<()>) {
        *self.worker.lock().unwrap_or_else(PoisonError::into_inner) = Some(handle);
    }

    /// A guard that shuts the engine down (waiting at most `timeout`) when dropped.
    pub fn shutdown_guard(&self, timeout: Duration) -> ShutdownGuard {
        ShutdownGuard {
            engine: self.clone(),
            timeout,
        }
    }
}

/// Shuts the engine down with a bounded wait when dropped. Keep it alive for as long as the
/// engine should run (for example, in `main`).
#[must_use = "the engine shuts down when the guard is dropped"]
#[derive(Debug)]
pub struct ShutdownGuard {
    engine: Engine,
    timeout: Duration,
}

impl ShutdownGuard {
    /// The engine this guard shuts down.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        let _ = self.engine.shutdown(self.timeout);
    }
}
