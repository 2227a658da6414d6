//! The response outbox between the worker and the game: the worker's end wakes every waiting
//! async reader when a response arrives and when the worker stops, so readers never poll.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

use crossbeam_channel::{Sender, TrySendError};

use crate::response::Response;

/// Wakers of async readers waiting for the next response.
#[derive(Debug, Default)]
pub(super) struct Waiters(Mutex<Vec<Waker>>);

impl Waiters {
    fn wake_all(&self) {
        let waiting = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        for waker in waiting {
            waker.wake();
        }
    }

    /// Registers `waker` for the next response (once per task).
    #[cfg(feature = "tokio")]
    pub(super) fn register(&self, waker: &Waker) {
        let mut waiting = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !waiting.iter().any(|w| w.will_wake(waker)) {
            waiting.push(waker.clone());
        }
    }
}

/// The worker's end of the outbox. Dropping it (the worker stopped) ends every reader's stream.
pub(super) struct OutboxSender {
    sender: Option<Sender<Response>>,
    waiters: Arc<Waiters>,
}

impl OutboxSender {
    pub(super) fn new(sender: Sender<Response>, waiters: Arc<Waiters>) -> OutboxSender {
        OutboxSender {
            sender: Some(sender),
            waiters,
        }
    }

    /// Queues `response` for the game; `false` when the outbox is full (the response is dropped).
    pub(super) fn push(&self, response: Response) -> bool {
        let queued = match &self.sender {
            Some(sender) => !matches!(sender.try_send(response), Err(TrySendError::Full(_))),
            None => false,
        };
        self.waiters.wake_all();
        queued
    }
}

impl Drop for OutboxSender {
    fn drop(&mut self) {
        // Disconnect first, so that woken readers see the end of the stream.
        drop(self.sender.take());
        self.waiters.wake_all();
    }
}
