//! One signal through player state and the ladder: evidence → decayed risk → response.

use std::collections::HashMap;

use uuid::Uuid;

use super::history::{Earlier, History};
pub(super) use super::steps::ModelVersions;
use super::steps::{self, Due, Step, text_hash};
use super::{Outcome, ReviewDecision};
use crate::Category;
use crate::clock::Timestamp;
use crate::player::{PlayerKey, PlayerStore, Pseudonymizer};
use crate::policy::ladder::LadderOutcome;
use crate::policy::{Policy, ResponseLevel};
use crate::response::Response;
use crate::scorer::MessageScore;
use crate::signal::Signal;
use crate::telemetry::Event;

/// What processing one signal gave.
pub(super) enum Processed {
    /// Nothing was due.
    Nothing,
    /// A response was due but cooling down.
    CoolingDown,
    /// A response is due, with the responses given to the player before it (oldest first).
    Respond(Box<Response>, Vec<Earlier>),
}

/// Results of recording an outcome.
pub(super) enum OutcomeResult {
    /// Recorded; the telemetry event it gives, when one is known.
    Recorded(Option<Event>),
    UnknownCase,
}

/// Player state and open cases, owned by the worker.
pub(super) struct State {
    pub store: PlayerStore,
    pseudonymizer: Pseudonymizer,
    cases: HashMap<Uuid, (PlayerKey, Timestamp, Option<Category>)>,
    history: HashMap<PlayerKey, History>,
    last_sweep: Timestamp,
    /// The shared store, when one is configured.
    pub sync: Option<super::sync::StoreSync>,
    /// Players whose state the current batch changed.
    touched: Vec<PlayerKey>,
}

impl State {
    /// Whether the player behind `signal` has accumulated risk at or above `threshold` in any
    /// category (as of their last signal).
    pub fn risk_elevated(&self, signal: &Signal, threshold: f32) -> bool {
        let key = self.pseudonymizer.key(signal.subject());
        self.store
            .get(&key)
            .is_some_and(|state| state.risk().0.iter().any(|r| *r >= threshold))
    }

    pub fn new(pseudonymizer: Pseudonymizer) -> State {
        State {
            store: PlayerStore::default(),
            pseudonymizer,
            cases: HashMap::new(),
            history: HashMap::new(),
            last_sweep: Timestamp::ZERO,
            sync: None,
            touched: Vec::new(),
        }
    }

    /// Forgets expired players and cases, at most once a minute of clock time.
    pub fn sweep(&mut self, now: Timestamp, policy: &Policy) {
        if now.since(self.last_sweep).as_secs() < 60 {
            return;
        }
        self.last_sweep = now;
        self.store.sweep(now, policy.risk.ttl);
        self.cases
            .retain(|_, (_, at, _)| now.since(*at) < policy.risk.ttl);
        let store = &self.store;
        self.history.retain(|key, _| store.get(key).is_some());
    }

    /// The player a job is about, when it is known.
    pub fn subject(&self, job: &super::Job) -> Option<PlayerKey> {
        match job {
            super::Job::Signal { signal, .. } => Some(self.pseudonymizer.key(signal.subject())),
            super::Job::Outcome {
                outcome: Outcome::HelpOpened { player },
                ..
            } => Some(self.pseudonymizer.key(player)),
            super::Job::Outcome {
                outcome: Outcome::Review { case_id, .. },
                ..
            } => self.cases.get(case_id).map(|(key, _, _)| *key),
            _ => None,
        }
    }

    /// Reads the batch's players from the shared store, when there is one.
    pub fn pull(&mut self, keys: &[PlayerKey], policy: &Policy) {
        if let Some(sync) = &mut self.sync {
            sync.pull(keys, &mut self.store, policy);
        }
    }

    /// Writes the players the batch changed to the shared store, when there is one.
    pub fn push(&mut self, policy: &Policy) {
        let mut touched = std::mem::take(&mut self.touched);
        if let Some(sync) = &mut self.sync {
            touched.sort_unstable();
            touched.dedup();
            sync.push(&touched, &mut self.store, policy);
        }
        touched.clear();
        self.touched = touched;
    }

    /// Runs one signal through the three steps (absorb → decide → respond) and keeps the
    /// bookkeeping around them: the players the batch touched, earlier responses and open cases.
    pub fn process(
        &mut self,
        policy: &Policy,
        signal: &Signal,
        at: Timestamp,
        mut scored: Option<MessageScore>,
        versions: ModelVersions<'_>,
    ) -> Processed {
        let key = self.pseudonymizer.key(signal.subject());
        // Tags of other players involved are computed before borrowing the subject's state.
        let other_tag = match signal {
            Signal::Report { reporter, .. } => Some(self.pseudonymizer.key(reporter).tag()),
            Signal::Custom {
                kind,
                category: None,
                ..
            } => Some(text_hash(kind)),
            _ => None,
        };
        if self.sync.is_some() {
            self.touched.push(key);
        }
        let step = Step {
            policy,
            signal,
            key,
            at,
        };
        let state = self.store.entry(key, at);
        let mut absorbed =
            steps::absorb(&step, state, &mut self.history, other_tag, scored.as_ref());
        let decision = match steps::decide(&step, state, &absorbed, scored.as_ref()) {
            LadderOutcome::Nothing => return Processed::Nothing,
            LadderOutcome::CoolingDown { .. } => return Processed::CoolingDown,
            LadderOutcome::Respond(decision) => decision,
        };
        state.record_response(decision.level, at);
        let level = decision.level;
        let evidence = scored
            .as_mut()
            .map(|s| std::mem::take(&mut s.normalized.original));
        let reasons = steps::reasons(
            &step,
            state,
            &mut absorbed,
            decision,
            scored.as_mut(),
            versions,
        );
        let locale = state.locale().map(str::to_owned);
        let main_category = reasons.categories.first().copied();
        let earlier = self
            .history
            .entry(key)
            .or_default()
            .remember_response(at, level, &reasons);
        let due = match level {
            ResponseLevel::None | ResponseLevel::Nudge => Due::Nudge,
            ResponseLevel::Help => Due::Help,
            ResponseLevel::Review => {
                let case_id = Uuid::new_v4();
                self.cases.insert(case_id, (key, at, main_category));
                Due::Review {
                    case_id,
                    evidence,
                    context: absorbed.context,
                }
            }
        };
        let response = steps::response(&step, locale.as_deref(), due, reasons);
        Processed::Respond(Box::new(response), earlier)
    }

    pub fn outcome(&mut self, policy: &Policy, outcome: &Outcome, at: Timestamp) -> OutcomeResult {
        match outcome {
            Outcome::HelpOpened { player } => {
                let key = self.pseudonymizer.key(player);
                if self.sync.is_some() {
                    self.touched.push(key);
                }
                let state = self.store.entry(key, at);
                let counts = state.outcomes_mut();
                counts.help_opened = counts.help_opened.saturating_add(1);
                let event = self
                    .history
                    .get(&key)
                    .and_then(|h| h.last_help)
                    .map(|(category, age_band)| Event::HelpOpened { category, age_band });
                OutcomeResult::Recorded(event)
            }
            Outcome::Review {
                case_id,
                decision,
                corrected_category,
            } => {
                let Some((key, _, category)) = self.cases.get(case_id).copied() else {
                    return OutcomeResult::UnknownCase;
                };
                let Some(state) = self.store.get_mut(&key) else {
                    return OutcomeResult::UnknownCase;
                };
                if self.sync.is_some() {
                    self.touched.push(key);
                }
                state.advance(at, policy);
                match decision {
                    ReviewDecision::Upheld => {
                        let counts = state.outcomes_mut();
                        counts.upheld = counts.upheld.saturating_add(1);
                    }
                    ReviewDecision::Dismissed => {
                        state.scale_risk(policy.outcomes.dismissed_risk_factor);
                        state.reset_ladder();
                        let counts = state.outcomes_mut();
                        counts.dismissed = counts.dismissed.saturating_add(1);
                    }
                }
                let corrected = corrected_category.filter(|c| Some(*c) != category);
                if let (ReviewDecision::Upheld, Some(from), Some(to)) =
                    (decision, category, corrected)
                {
                    state.reassign_risk(from, to);
                }
                self.cases.remove(case_id);
                let upheld = matches!(decision, ReviewDecision::Upheld) && corrected.is_none();
                OutcomeResult::Recorded(
                    category.map(|category| Event::Outcome { category, upheld }),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scores;
    use crate::risk::Risk;
    use crate::signal::PlayerId;

    const POLICY: &str = "version = \"t\"\n\
        accumulated.extremism = { floor = 0.4, nudge = 1.0, help = 2.0, review = 3.0 }\n";

    fn evidence(weight: f32) -> Signal {
        Signal::Custom {
            player: PlayerId::new("p"),
            kind: "moderator_note".into(),
            category: Some(Category::Extremism),
            weight,
        }
    }

    /// Feeds evidence a minute apart until the player is referred; returns the case id.
    fn referred(state: &mut State, policy: &Policy) -> Uuid {
        for minute in 0..20 {
            let at = Timestamp::from_secs_f64(f64::from(minute) * 60.0);
            if let Processed::Respond(response, _) =
                state.process(policy, &evidence(0.6), at, None, ModelVersions::default())
                && let Some(case_id) = response.case_id()
            {
                return case_id;
            }
        }
        panic!("no referral");
    }

    fn risk(state: &State) -> Risk {
        let key = state.pseudonymizer.key(&PlayerId::new("p"));
        state.store.get(&key).map(|s| s.risk()).unwrap_or_default()
    }

    /// A chat line from "p" with the given extremism score, as the scorer would hand it over.
    fn chat_scored(policy: &Policy, text: &str, extremism: f32) -> (Signal, MessageScore) {
        let mut scores = Scores::default();
        scores.set(Category::Extremism, extremism);
        let scored = MessageScore {
            normalized: crate::text::normalize(text, &crate::text::NormalizeOptions::default()),
            model: Some(scores),
            deep: None,
            exemplars: None,
            lexicon: Vec::new(),
            endorsement: None,
            scores,
            deep_scores: None,
            decision: policy.message_decision(&crate::policy::TierScores::combined_only(scores)),
        };
        let signal = Signal::Chat(crate::ChatMessage::new("p", text));
        (signal, scored)
    }

    /// Plays a drift (ordinary chat with a few high extremism lines) and returns the index of
    /// the line that earned a referral, and the referral's drift readings.
    fn drift_referral(policy: &Policy) -> Option<(usize, Vec<crate::trajectory::DriftReading>)> {
        let mut state = State::new(Pseudonymizer::new(b"k"));
        let script = [
            0.02, 0.03, 0.05, 0.02, 0.04, 0.03, 0.55, 0.02, 0.03, 0.6, 0.04, 0.02, 0.7, 0.03, 0.02,
            0.75, 0.03, 0.8, 0.02, 0.85,
        ];
        for (i, score) in script.into_iter().enumerate() {
            let at = Timestamp::from_secs_f64(i as f64 * 600.0);
            let (signal, scored) = chat_scored(policy, &format!("line {i}"), score);
            if let Processed::Respond(response, _) =
                state.process(policy, &signal, at, Some(scored), ModelVersions::default())
                && response.case_id().is_some()
            {
                return Some((i, response.reasons().drift.clone()));
            }
        }
        None
    }

    #[test]
    fn a_skewed_drift_reaches_review_sooner_and_the_referral_says_why() {
        const DRIFT: &str = "version = \"t\"\n\
            accumulated.extremism = { floor = 0.4, nudge = 0.5, help = 1.0, review = 1.8 }\n\
            cooldown = { nudge_secs = 0, help_secs = 0, review_secs = 0 }\n";
        let with = Policy::from_toml_str(DRIFT, "t").expect("valid");
        let mut without = with.clone();
        without.trajectory.enabled = false;
        let (boosted_at, drift) = drift_referral(&with).expect("the drift is referred");
        let reading = drift
            .iter()
            .find(|r| r.category == Category::Extremism)
            .expect("extremism is watched");
        assert!(reading.drifting, "{reading:?}");
        assert!(reading.skewness.is_some_and(|s| s >= 1.0), "{reading:?}");
        let plain = drift_referral(&without);
        // Without the statistic the same player is referred later, or not at all.
        if let Some((plain_at, drift)) = plain {
            assert!(drift.is_empty());
            assert!(boosted_at < plain_at, "{boosted_at} vs {plain_at}");
        }
    }

    #[test]
    fn upheld_with_a_corrected_category_moves_risk_and_is_not_counted_as_upheld() {
        let policy = Policy::from_toml_str(POLICY, "t").expect("valid");
        let mut state = State::new(Pseudonymizer::new(b"k"));
        let case_id = referred(&mut state, &policy);
        let before = risk(&state).get(Category::Extremism);
        let outcome = Outcome::Review {
            case_id,
            decision: ReviewDecision::Upheld,
            corrected_category: Some(Category::Hate),
        };
        let result = state.outcome(&policy, &outcome, Timestamp::from_secs_f64(1200.0));
        assert!(matches!(
            result,
            OutcomeResult::Recorded(Some(Event::Outcome {
                category: Category::Extremism,
                upheld: false
            }))
        ));
        let after = risk(&state);
        assert_eq!(after.get(Category::Extremism), 0.0);
        assert!(
            after.get(Category::Hate) > 0.5 * before,
            "{after:?} vs {before}"
        );
    }

    #[test]
    fn upheld_in_the_referred_category_counts_as_upheld_and_keeps_risk() {
        let policy = Policy::from_toml_str(POLICY, "t").expect("valid");
        let mut state = State::new(Pseudonymizer::new(b"k"));
        let case_id = referred(&mut state, &policy);
        let outcome = Outcome::Review {
            case_id,
            decision: ReviewDecision::Upheld,
            corrected_category: Some(Category::Extremism),
        };
        let result = state.outcome(&policy, &outcome, Timestamp::from_secs_f64(1200.0));
        assert!(matches!(
            result,
            OutcomeResult::Recorded(Some(Event::Outcome {
                category: Category::Extremism,
                upheld: true
            }))
        ));
        assert!(risk(&state).get(Category::Extremism) > 0.0);
        assert_eq!(risk(&state).get(Category::Hate), 0.0);
    }
}
