//! What the engine remembers about a player beyond the ladder state: earlier responses for
//! referral packets, the last help link shown, and recent chat lines for referral context.

use std::collections::VecDeque;

use crate::Category;
use crate::clock::Timestamp;
use crate::policy::ResponseLevel;
use crate::response::{ContextMessage, Reasons};
use crate::signal::AgeBand;

/// Most earlier responses remembered per player for referral packets.
const MAX_EARLIER: usize = 16;

/// An earlier response to a player, kept for the referral packet.
#[derive(Debug, Clone)]
pub(super) struct Earlier {
    pub at: Timestamp,
    pub level: ResponseLevel,
    pub category: Option<Category>,
    pub rule: String,
}

/// What the engine remembers about a player's responses beyond the ladder state.
#[derive(Debug, Default)]
pub(super) struct History {
    earlier: VecDeque<Earlier>,
    /// Category and age band of the last help link shown, for help-opened telemetry.
    pub last_help: Option<(Category, AgeBand)>,
    /// The player's latest chat lines, at most `referral.context_messages` of them.
    recent_chat: VecDeque<ContextMessage>,
}

impl History {
    /// Remembers `line` as context and returns the lines before it, oldest first.
    pub(super) fn remember_chat(
        &mut self,
        line: ContextMessage,
        capacity: usize,
    ) -> Vec<ContextMessage> {
        let before = self.recent_chat.iter().cloned().collect();
        while self.recent_chat.len() >= capacity.max(1) {
            self.recent_chat.pop_front();
        }
        if capacity > 0 {
            self.recent_chat.push_back(line);
        }
        before
    }

    /// Remembers a response at `level` (the earlier responses and the last help link shown)
    /// and returns the responses given before it, oldest first.
    pub(super) fn remember_response(
        &mut self,
        at: Timestamp,
        level: ResponseLevel,
        reasons: &Reasons,
    ) -> Vec<Earlier> {
        let earlier: Vec<Earlier> = self.earlier.iter().cloned().collect();
        let main_category = reasons.categories.first().copied();
        if self.earlier.len() >= MAX_EARLIER {
            self.earlier.pop_front();
        }
        self.earlier.push_back(Earlier {
            at,
            // The ladder gives no response at level none; one would count as a nudge.
            level: match level {
                ResponseLevel::None => ResponseLevel::Nudge,
                other => other,
            },
            category: main_category,
            rule: reasons.rule.clone(),
        });
        if level == ResponseLevel::Help
            && let Some(category) = main_category
        {
            self.last_help = Some((category, reasons.age_band));
        }
        earlier
    }
}
