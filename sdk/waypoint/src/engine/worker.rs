//! The `waypoint-scorer` thread: drains the queue in batches, scores, decides, delivers.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::process::{OutcomeResult, Processed, State};
use super::stats::Counters;
use super::{Job, SecondStage, Shared};
use crate::hooks::{BeforeReferral, Hooks};
use crate::player::Pseudonymizer;
use crate::response::Response;

/// Most jobs taken from the queue per model call.
const MAX_BATCH: usize = 64;

pub(super) struct Worker {
    shared: Arc<Shared>,
    queue: Receiver<Job>,
    outbox: Sender<Response>,
    done: Sender<()>,
    state: State,
    hooks: Vec<Arc<dyn Hooks>>,
    before_referral: Option<BeforeReferral>,
    second_stage: Option<Arc<dyn SecondStage>>,
}

/// Marks the worker as stopped however it ends (including by a panic).
struct AliveFlag(Arc<Shared>);

impl Drop for AliveFlag {
    fn drop(&mut self) {
        self.0.worker_alive.store(false, Ordering::SeqCst);
    }
}

impl Worker {
    #[expect(clippy::too_many_arguments, reason = "private constructor called once, by the builder")]
    pub fn new(
        shared: Arc<Shared>,
        queue: Receiver<Job>,
        outbox: Sender<Response>,
        done: Sender<()>,
        pseudonymizer: Pseudonymizer,
        hooks: Vec<Arc<dyn Hooks>>,
        before_referral: Option<BeforeReferral>,
        second_stage: Option<Arc<dyn SecondStage>>,
    ) -> Worker {
        Worker { shared, queue, outbox, done, state: State::new(pseudonymizer), hooks, before_referral, second_stage }
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
        let policy = self.shared.policy.load_full();
        let stats = &self.shared.stats;
        let texts: Vec<&str> = batch
            .iter()
            .filter_map(|job| match job {
                Job::Signal { signal, .. } => signal.text(),
                _ => None,
            })
            .collect();
        let mut scored = if texts.is_empty() { Vec::new() } else { self.shared.scorer.score_batch_with(&policy, &texts) };
        drop(texts);
        if let Some(stage) = &self.second_stage
            && !scored.is_empty()
            && catch_unwind(AssertUnwindSafe(|| stage.refine(&policy, &mut scored))).is_err()
        {
            Counters::inc(&stats.hook_panics);
        }
        Counters::inc(&stats.batches);
        let model_version = self.shared.scorer.model_version().map(str::to_owned);
        let mut scored = scored.into_iter();
        let mut stop = false;
        let mut last_at = None;
        for job in batch.drain(..) {
            match job {
                Job::Signal { signal, at } => {
                    let message = if signal.text().is_some() { scored.next() } else { None };
                    let processed = self.state.process(&policy, &signal, at, message, model_version.as_deref());
                    Counters::inc(&stats.processed);
                    last_at = Some(at);
                    match processed {
                        Processed::Nothing => {}
                        Processed::CoolingDown => Counters::inc(&stats.cooling_down),
                        Processed::Respond(response) => self.deliver(*response),
                    }
                }
                Job::Outcome { outcome, at } => {
                    Counters::inc(&stats.outcomes);
                    if let OutcomeResult::UnknownCase = self.state.outcome(&policy, &outcome, at) {
                        Counters::inc(&stats.unknown_cases);
                    }
                }
                Job::Flush(reply) => {
                    let _ = reply.try_send(());
                }
                Job::Shutdown => stop = true,
            }
        }
        if let Some(at) = last_at {
            self.state.sweep(at, &policy);
        }
        stats.players.store(self.state.store.len() as u64, Ordering::Relaxed);
        stop
    }

    fn deliver(&self, response: Response) {
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
                    Some(hook) => catch_unwind(AssertUnwindSafe(|| hook(referral))).unwrap_or_else(|_| {
                        // A panicking redaction hook must not leak an unredacted referral.
                        Counters::inc(&stats.hook_panics);
                        None
                    }),
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
        if let Err(TrySendError::Full(_)) = self.outbox.try_send(response) {
            Counters::inc(&stats.outbox_overflow);
        }
    }
}
