//! The inline path (`Engine::check_chat`, [`Scorer::score_inline`]): normalise, fast tier and
//! lexicon into working buffers kept per thread, so a line that earns no response is scored
//! without allocating once the buffers have grown to the longest line seen on that thread. The
//! other paths borrow the same buffers for the lexicon and the fast tier.

use std::cell::RefCell;

use super::{
    Scorer, condemns_what_it_names, drop_stance_only, hate_factor, with_hate_scaled, with_lexicon,
};
use crate::Scores;
use crate::cascade::{MessageTraits, combine_tiers};
use crate::model::FastScratch;
use crate::policy::Policy;
use crate::text::{LexiconHit, LexiconScratch, NormalizeScratch, Normalized, normalize_into};

/// The inline check of one message: fast tier and lexicon, no deep tier, no decision.
#[derive(Debug, Clone, PartialEq)]
pub struct InlineScore {
    /// Fast-tier model probabilities; `None` when the model is unavailable.
    pub model: Option<Scores>,
    /// Lexicon entries found in the message.
    pub lexicon: Vec<LexiconHit>,
    /// Model and lexicon evidence combined, per category.
    pub scores: Scores,
}

/// One thread's working buffers for the inline path.
#[derive(Debug, Default)]
struct InlineScratch {
    normalized: Normalized,
    normalize: NormalizeScratch,
    lexicon: LexiconScratch,
    fast: FastScratch,
}

thread_local! {
    static SCRATCH: RefCell<InlineScratch> = RefCell::new(InlineScratch::default());
}

/// Runs `f` with this thread's buffers, or with fresh ones when they are unavailable (already
/// borrowed further up the stack, or the thread is exiting).
fn with_scratch<R>(mut f: impl FnMut(&mut InlineScratch) -> R) -> R {
    SCRATCH
        .try_with(|cell| {
            cell.try_borrow_mut()
                .ok()
                .map(|mut scratch| f(&mut scratch))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| f(&mut InlineScratch::default()))
}

impl Scorer {
    /// Scores one message inline (fast tier and lexicon only) with `policy`'s lexicon weight,
    /// keeping neither the normalised text nor a decision: what the pre-send check needs.
    /// Allocates nothing for a message without lexicon hits once this thread's buffers have
    /// grown to its length.
    pub fn score_inline(&self, policy: &Policy, text: &str) -> InlineScore {
        with_scratch(|scratch| {
            normalize_into(
                text,
                &self.normalize,
                &mut scratch.normalized,
                &mut scratch.normalize,
            );
            let model = self.fast.as_ref().and_then(|fast| {
                fast.score_one(&scratch.normalized.text, &mut scratch.fast)
                    .ok()
            });
            let mut lexicon = self
                .lexicon
                .find_with(&scratch.normalized, &mut scratch.lexicon);
            let hate_factor =
                hate_factor(&policy.cascade, condemns_what_it_names(&lexicon), &lexicon);
            let evidence =
                combine_tiers(&policy.cascade, model, None, MessageTraits::PLAIN_ENGLISH)
                    .map(|e| with_hate_scaled(e, hate_factor));
            let InlineScratch {
                normalized, fast, ..
            } = scratch;
            let endorsement = || {
                let stance = self.stance.as_ref()?;
                Some(stance.endorsement(&normalized.text, fast))
            };
            let scores = with_lexicon(evidence, &lexicon, policy, endorsement);
            drop_stance_only(&mut lexicon);
            InlineScore {
                model,
                lexicon,
                scores,
            }
        })
    }

    /// The lexicon hits of one normalised message, with this thread's buffers.
    pub(super) fn lexicon_inline(&self, normalized: &Normalized) -> Vec<LexiconHit> {
        with_scratch(|scratch| self.lexicon.find_with(normalized, &mut scratch.lexicon))
    }

    /// The stance model's probability that one normalised text endorses what it speaks of, with
    /// this thread's buffers; `None` without the model.
    pub(super) fn stance_inline(&self, normalized: &str) -> Option<f32> {
        let stance = self.stance.as_ref()?;
        with_scratch(|scratch| Some(stance.endorsement(normalized, &mut scratch.fast)))
    }

    /// The fast tier's scores of one normalised text, with this thread's buffers.
    pub(super) fn fast_inline(&self, normalized: &str) -> Option<Scores> {
        let fast = self.fast.as_ref()?;
        with_scratch(|scratch| fast.score_one(normalized, &mut scratch.fast).ok())
    }
}
