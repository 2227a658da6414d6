//! What a game server needs day to day: `use waypoint::prelude::*;`.
//!
//! ```no_run
//! use waypoint::prelude::*;
//!
//! # fn main() -> Result<(), waypoint::EngineBuildError> {
//! let engine: Engine = Engine::builder().policy(Policy::default()).build()?;
//! let _ = engine.submit(ChatMessage::new("steam:42", "gg wp"));
//! for response in engine.drain_responses() {
//!     if let Response::Nudge(nudge) = response {
//!         println!("{}: {}", nudge.player, nudge.text);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub use crate::engine::{Engine, EngineBuilder, Outcome, ReviewDecision, ShutdownGuard, Verdict};
pub use crate::hooks::Hooks;
pub use crate::policy::{Policy, ResponseLevel};
pub use crate::response::{HelpLink, Nudge, Reasons, Referral, Response};
pub use crate::scorer::{Health, Scorer};
pub use crate::signal::{AgeBand, ChatMessage, PlayerId, Signal};
pub use crate::{Category, Scores};
