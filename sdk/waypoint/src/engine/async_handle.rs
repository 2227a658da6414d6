//! [`AsyncEngine`]: the engine for tokio game servers (the `tokio` feature).
//!
//! - [`AsyncEngine::submit`] is the engine's `submit`: synchronous and never blocking, so it is
//!   fine on a runtime worker.
//! - [`AsyncEngine::responses`] is a [`Stream`] of the responses [`Engine::drain_responses`]
//!   would return, woken by the worker when one is decided (it never polls on a timer).
//! - [`AsyncEngine::flush`], [`AsyncEngine::flush_referrals`] and [`AsyncEngine::shutdown`] run
//!   the engine's bounded waits on tokio's blocking pool, so no runtime worker waits (and no
//!   timer driver is needed).
//!
//! ```no_run
//! use std::time::Duration;
//! use waypoint::{ChatMessage, Engine, Response};
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Engine::builder().models_dir("models").build()?.async_handle();
//! let mut responses = engine.responses();
//! let reader = tokio::spawn(async move {
//!     while let Some(response) = responses.recv().await {
//!         if let Response::Nudge(nudge) = response {
//!             println!("to {}: {}", nudge.player, nudge.text);
//!         }
//!     }
//!     // The stream ends once the engine has shut down and every response was read.
//! });
//! engine.submit(ChatMessage::new("steam:42", "gg wp").locale("en"))?;
//! engine.shutdown(Duration::from_secs(2)).await?;
//! reader.await?;
//! # Ok(())
//! # }
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crossbeam_channel::TryRecvError;
use futures_core::Stream;

use super::{Engine, ShutdownError, SubmitError, Verdict};
use crate::referral::FlushStatus;
use crate::response::Response;
use crate::signal::{ChatMessage, Signal};

/// The engine's async face; cheap to clone. Made by [`Engine::async_handle`](super::Engine::async_handle).
#[derive(Debug, Clone)]
pub struct AsyncEngine {
    engine: Engine,
}

impl Engine {
    /// The async handle of this engine, for tokio game servers.
    pub fn async_handle(&self) -> AsyncEngine {
        AsyncEngine {
            engine: self.clone(),
        }
    }
}

impl AsyncEngine {
    /// The synchronous engine behind this handle (stats, health, policy, outcomes, …).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// [`Engine::check_chat`]: scores one line inline, in microseconds.
    pub fn check_chat(&self, chat: &ChatMessage) -> Verdict {
        self.engine.check_chat(chat)
    }

    /// [`Engine::submit`]: queues a signal; never blocks (a full queue drops and counts it).
    pub fn submit(&self, signal: impl Into<Signal>) -> Result<(), SubmitError> {
        self.engine.submit(signal)
    }

    /// The responses, oldest first, as a [`Stream`] that ends when the engine has shut down and
    /// every response was read. Several streams (and `drain_responses`) share one outbox: each
    /// response goes to exactly one reader.
    pub fn responses(&self) -> ResponseStream {
        ResponseStream {
            engine: self.engine.clone(),
        }
    }

    /// [`Engine::flush`] on tokio's blocking pool: waits until everything queued before this
    /// call has been processed, at most `timeout`. Returns whether it was (`false` outside a
    /// tokio runtime).
    pub async fn flush(&self, timeout: Duration) -> bool {
        let engine = self.engine.clone();
        off_runtime_workers(move || engine.flush(timeout))
            .await
            .unwrap_or(false)
    }

    /// [`Engine::flush_referrals`] on tokio's blocking pool: waits at most `timeout` until every
    /// referral handed to the webhook sender is delivered (or permanently failed). `None` when
    /// no webhook is configured, or outside a tokio runtime.
    pub async fn flush_referrals(&self, timeout: Duration) -> Option<FlushStatus> {
        let engine = self.engine.clone();
        off_runtime_workers(move || engine.flush_referrals(timeout))
            .await
            .flatten()
    }

    /// [`Engine::shutdown`] on tokio's blocking pool: processes what is queued, stops the
    /// worker, flushes referral delivery and telemetry, waiting at most `timeout`.
    pub async fn shutdown(&self, timeout: Duration) -> Result<(), ShutdownError> {
        let engine = self.engine.clone();
        off_runtime_workers(move || engine.shutdown(timeout))
            .await
            .unwrap_or(Err(ShutdownError::Interrupted))
    }
}

/// Runs `work` on tokio's blocking pool and awaits it: the runtime's workers stay free. `None`
/// outside a tokio runtime, or when the task was cancelled.
async fn off_runtime_workers<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    runtime.spawn_blocking(work).await.ok()
}

/// The engine's responses as a [`Stream`]; from [`AsyncEngine::responses`].
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct ResponseStream {
    engine: Engine,
}

impl ResponseStream {
    /// The next response; `None` once the engine has shut down and every response was read.
    pub async fn recv(&mut self) -> Option<Response> {
        std::future::poll_fn(|cx| self.poll_response(cx)).await
    }

    fn poll_response(&self, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        let shared = &self.engine.shared;
        if let Some(ready) = take(&shared.outbox) {
            return Poll::Ready(ready);
        }
        shared.response_waiters.register(cx.waker());
        // Checked again after registering: a response pushed in between woke no one.
        match take(&shared.outbox) {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }
}

/// A response, the end of the stream, or `None` when nothing is waiting yet.
fn take(outbox: &crossbeam_channel::Receiver<Response>) -> Option<Option<Response>> {
    match outbox.try_recv() {
        Ok(response) => Some(Some(response)),
        Err(TryRecvError::Disconnected) => Some(None),
        Err(TryRecvError::Empty) => None,
    }
}

impl Stream for ResponseStream {
    type Item = Response;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Response>> {
        self.poll_response(cx)
    }
}
