//! The `waypoint-scorer` thread: drains the queue in batches, scores, decides, delivers.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::case::case_input;
use super::history::Earlier;
use super::outbox::OutboxSender;
use super::process::{ModelVersions, OutcomeResult, Processed, State};
use super::stats::Counters;
use super::{Job, Shared};
use crate::cascade::RouteHints;
use crate::hooks::{BeforeReferral, Hooks};
use crate::policy::{Policy, ResponseLevel};
use crate::referral::CasePacket;
use crate::response::{Referral, Response};
use crate::scorer::MessageScore;
use crate::signal::Signal;
use crate::telemetry::{Event, Language};

/// Most jobs taken from the queue per model call.
const MAX_BATCH: usize = 64;

pub(super) struct Worker {
    shared: Arc<Shared>,
    queue: Receiver<Job>,
    outbox: OutboxSender,
    done: Sender<()>,
    state: State,
    hooks: Vec<Arc<dyn Hooks>>,
    before_referral: Option<BeforeReferral>,
    /// When the last batch found scoring degraded (for `Event::Degraded` durations).
    degraded_since: Option<Instant>,
}

/// Marks the worker as stopped however it ends (including by a panic).
struct AliveFlag(Arc<Shared>);

impl Drop for AliveFlag {
    fn drop(&mut self) {
        self.0.worker_alive.store(false, Ordering::SeqCst);
    }
}

impl Worker {
    pub fn new(
        shared: Arc<Shared>,
        queue: Receiver<Job>,
        outbox: OutboxSender,
        done: Sender<()>,
        state: State,
        hooks: Vec<Arc<dyn Hooks>>,
        before_referral: Option<BeforeReferral>,
    ) -> Worker {
        Worker {
            shared,
            queue,
            outbox,
            done,
            state,
            hooks,
            before_referral,
            degraded_since: None,
        }
    }

    pub fn run(mut self) {
        let _alive = AliveFlag(Arc::clone(&self.shared));
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Ok(first) = self.queue.recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match self.queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            if self.run_batch(&mut batch) {
                break;
            }
        }
        let _ = self.done.try_send(());
    }

    /// Processes and empties the batch; returns whether a shutdown was asked for.
    fn run_batch(&mut self, batch: &mut Vec<Job>) -> bool {
        self.note_degraded();
        let policy = self.shared.policy.load_full();
        if self.state.sync.is_some() {
            let keys: Vec<_> = batch
                .iter()
                .filter_map(|job| self.state.subject(job))
                .collect();
            self.state.pull(&keys, &policy);
        }
        let stats = &self.shared.stats;
        let scored = self.score(batch, &policy);
        let scorer = Arc::clone(&self.shared.scorer);
        let versions = ModelVersions {
            fast: scorer.model_version(),
            deep: scorer.deep_version(),
            stance: scorer.stance_version(),
        };
        let mut scored = scored.into_iter();
        let mut stop = false;
        let mut last_at = None;
        // Flushes are answered once the batch's changes have gone to the shared store too.
        let mut flushed = Vec::new();
        for job in batch.drain(..) {
            match job {
                Job::Signal {
                    signal,
                    at,
                    arrived,
                } => {
                    let message = if signal.text().is_some() {
                        scored.next()
                    } else {
                        None
                    };
                    self.record_signal(&signal, message.as_ref().map(|m| &m.scores), arrived);
                    let processed = self.state.process(&policy, &signal, at, message, versions);
                    Counters::inc(&stats.processed);
                    last_at = Some(at);
                    match processed {
                        Processed::Nothing => {}
                        Processed::CoolingDown => Counters::inc(&stats.cooling_down),
                        Processed::Respond(response, earlier) => self.deliver(*response, &earlier),
                    }
                }
                Job::Outcome { outcome, at } => {
                    Counters::inc(&stats.outcomes);
                    match self.state.outcome(&policy, &outcome, at) {
                        OutcomeResult::UnknownCase => Counters::inc(&stats.unknown_cases),
                        OutcomeResult::Recorded(Some(event)) => self.shared.record(event),
                        OutcomeResult::Recorded(None) => {}
                    }
                }
                Job::Flush(reply) => flushed.push(reply),
                Job::Shutdown => stop = true,
            }
        }
        self.state.push(&policy);
        if let Some(at) = last_at {
            self.state.sweep(at, &policy);
        }
        stats
            .players
            .store(self.state.store.len() as u64, Ordering::Relaxed);
        for reply in flushed {
            let _ = reply.try_send(());
        }
        stop
    }

    /// Scores the batch's texts in one model call (counting the batch).
    fn score(&self, batch: &[Job], policy: &Policy) -> Vec<MessageScore> {
        let stats = &self.shared.stats;
        let elevated = policy.cascade.elevated_risk;
        // Behind: `mode = "auto"` keeps the deep tier for the messages that need it.
        let busy = self.queue.len() >= policy.cascade.busy_backlog as usize;
        let mut texts: Vec<&str> = Vec::new();
        let mut hints: Vec<RouteHints<'_>> = Vec::new();
        for job in batch {
            if let Job::Signal { signal, .. } = job
                && let Some(text) = signal.text()
            {
                texts.push(text);
                hints.push(RouteHints {
                    locale: match signal {
                        Signal::Chat(chat) => chat.locale.as_deref(),
                        _ => None,
                    },
                    elevated_risk: elevated
                        .is_some_and(|threshold| self.state.risk_elevated(signal, threshold)),
                    busy,
                });
            }
        }
        let scored = if texts.is_empty() {
            Vec::new()
        } else {
            self.shared
                .scorer
                .score_batch_routed(policy, &texts, &hints)
        };
        Counters::inc(&stats.batches);
        if busy {
            Counters::inc(&stats.batches_behind);
        }
        let deep_scored = scored.iter().filter(|m| m.deep.is_some()).count();
        Counters::add(&stats.deep_scored, deep_scored as u64);
        scored
    }

    /// Records `Event::Degraded` for the time since the previous batch while scoring is degraded.
    fn note_degraded(&mut self) {
        if self.shared.telemetry.is_none() {
            return;
        }
        let now = Instant::now();
        if matches!(
            self.shared.scorer.health(),
            crate::scorer::Health::Degraded { .. }
        ) {
            let duration = self.degraded_since.map_or_else(Default::default, |since| {
                now.saturating_duration_since(since)
            });
            self.shared.record(Event::Degraded { duration });
            self.degraded_since = Some(now);
        } else {
            self.degraded_since = None;
        }
    }

    /// Telemetry for one processed signal: its scores (no text) or its kind.
    fn record_signal(&self, signal: &Signal, scores: Option<&crate::Scores>, arrived: Instant) {
        if self.shared.telemetry.is_none() {
            return;
        }
        if let Some(scores) = scores {
            let language = match signal {
                Signal::Chat(chat) => chat
                    .locale
                    .as_deref()
                    .map_or(Language::UNDETERMINED, Language::new),
                _ => Language::UNDETERMINED,
            };
            self.shared.record(Event::Scored {
                language,
                scores: *scores,
                latency: arrived.elapsed(),
            });
        }
        // Telemetry counts the kinds it counts (not chat, whose lines are counted as scored).
        self.shared.record(Event::Signal {
            kind: signal.kind(),
        });
    }

    /// Hands a referral that passed the hooks to the webhook sender, as a case packet.
    fn send_referral(&self, referral: &Referral, earlier: &[Earlier]) {
        let Some(sender) = &self.shared.referral else {
            return;
        };
        let policy = self.shared.policy.load();
        let packet = CasePacket::new(
            case_input(referral, earlier, self.shared.unix_clock()),
            &policy.referral,
        );
        if sender.send(packet).is_err() {
            // The sender has already reported it loudly; the platform hooks still got the referral.
            Counters::inc(&self.shared.stats.referrals_unsent);
        }
    }

    /// Telemetry for a response handed to the platform.
    fn record_response(&self, response: &Response) {
        if self.shared.telemetry.is_none() {
            return;
        }
        let reasons = response.reasons();
        let Some(category) = reasons.categories.first().copied() else {
            return;
        };
        let level = response.level();
        self.shared.record(Event::Response {
            level,
            category,
            age_band: reasons.age_band,
        });
        if level == ResponseLevel::Review {
            self.shared.record(Event::Referral { category });
        }
    }

    fn deliver(&self, response: Response, earlier: &[Earlier]) {
        let stats = &self.shared.stats;
        let response = match response {
            Response::Nudge(_) => {
                Counters::inc(&stats.nudges);
                response
            }
            Response::HelpLink(_) => {
                Counters::inc(&stats.help_links);
                response
            }
            Response::ReviewReferral(referral) => {
                Counters::inc(&stats.referrals);
                let kept = match &self.before_referral {
                    None => Some(referral),
                    Some(hook) => {
                        catch_unwind(AssertUnwindSafe(|| hook(referral))).unwrap_or_else(|_| {
                            // A panicking redaction hook must not leak an unredacted referral.
                            Counters::inc(&stats.hook_panics);
                            None
                        })
                    }
                };
                match kept {
                    Some(referral) => Response::ReviewReferral(referral),
                    None => {
                        Counters::inc(&stats.referrals_dropped_by_hook);
                        return;
                    }
                }
            }
        };
        for hooks in &self.hooks {
            let called = catch_unwind(AssertUnwindSafe(|| match &response {
                Response::Nudge(n) => hooks.on_nudge(n),
                Response::HelpLink(h) => hooks.on_help_link(h),
                Response::ReviewReferral(r) => hooks.on_referral(r),
            }));
            if called.is_err() {
                Counters::inc(&stats.hook_panics);
            }
        }
        self.record_response(&response);
        if let Response::ReviewReferral(referral) = &response {
            self.send_referral(referral, earlier);
        }
        if !self.outbox.push(response) {
            Counters::inc(&stats.outbox_overflow);
        }
    }
}
