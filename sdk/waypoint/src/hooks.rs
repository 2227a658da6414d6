//! The platform's extension points: code run on the scoring worker when a response is due.
//!
//! Implement [`Hooks`] (every method has a no-op default), or register closures with
//! [`ClosureHooks`] or the engine builder. A [`BeforeReferral`] hook sees every referral before
//! anything else does and may redact it (return a changed copy) or drop it (return `None`).
//!
//! Hooks run on the `waypoint-scorer` thread: keep them short, hand slow work to your own
//! threads. A hook that panics is caught and counted; the worker keeps running.

use std::fmt;
use std::sync::Arc;

use crate::response::{HelpLink, Nudge, Referral};

/// A hook that may redact a referral (return a changed one) or drop it (return `None`).
pub type BeforeReferral = Arc<dyn Fn(Referral) -> Option<Referral> + Send + Sync>;

/// Code the platform runs when a response is due. Every method defaults to doing nothing.
pub trait Hooks: Send + Sync + 'static {
    /// A nudge is due: show the player a private note.
    fn on_nudge(&self, nudge: &Nudge) {
        let _ = nudge;
    }

    /// A help link is due: show the player the service.
    fn on_help_link(&self, help: &HelpLink) {
        let _ = help;
    }

    /// A referral is due: queue it for a human reviewer.
    fn on_referral(&self, referral: &Referral) {
        let _ = referral;
    }
}

type Callback<T> = Arc<dyn Fn(&T) + Send + Sync>;

/// [`Hooks`] made of closures; unset ones do nothing.
#[derive(Clone, Default)]
pub struct ClosureHooks {
    nudge: Option<Callback<Nudge>>,
    help: Option<Callback<HelpLink>>,
    referral: Option<Callback<Referral>>,
}

impl fmt::Debug for ClosureHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClosureHooks")
            .field("on_nudge", &self.nudge.is_some())
            .field("on_help_link", &self.help.is_some())
            .field("on_referral", &self.referral.is_some())
            .finish()
    }
}

impl ClosureHooks {
    /// No closures.
    pub fn new() -> ClosureHooks {
        ClosureHooks::default()
    }

    /// Runs `f` for every nudge.
    pub fn on_nudge(mut self, f: impl Fn(&Nudge) + Send + Sync + 'static) -> Self {
        self.nudge = Some(Arc::new(f));
        self
    }

    /// Runs `f` for every help link.
    pub fn on_help_link(mut self, f: impl Fn(&HelpLink) + Send + Sync + 'static) -> Self {
        self.help = Some(Arc::new(f));
        self
    }

    /// Runs `f` for every referral (after `before_referral`).
    pub fn on_referral(mut self, f: impl Fn(&Referral) + Send + Sync + 'static) -> Self {
        self.referral = Some(Arc::new(f));
        self
    }
}

impl Hooks for ClosureHooks {
    fn on_nudge(&self, nudge: &Nudge) {
        if let Some(f) = &self.nudge {
            f(nudge);
        }
    }

    fn on_help_link(&self, help: &HelpLink) {
        if let Some(f) = &self.help {
            f(help);
        }
    }

    fn on_referral(&self, referral: &Referral) {
        if let Some(f) = &self.referral {
            f(referral);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Nothing;
    impl Hooks for Nothing {}

    #[test]
    fn closures_run_and_defaults_do_nothing() {
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        let hooks = ClosureHooks::new().on_nudge(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
        assert!(format!("{hooks:?}").contains("on_nudge: true"));
        let _: &dyn Hooks = &Nothing;
        let _: &dyn Hooks = &hooks;
        assert_eq!(count.load(Ordering::SeqCst), 0);
    }
}
