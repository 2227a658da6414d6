//! Per-player state: decayed risk per category, reports and blocks by others, derived signals
//! (message rate, repetition), the responses given and when, and a short risk trajectory.
//!
//! State is keyed by a [`PlayerKey`], a keyed HMAC-SHA256 of the platform's player id: the id
//! itself is never stored, and without the key a pseudonym cannot be linked back to an id. State
//! expires after the policy's TTL without signals, and stays under 1 KiB per active player.
//!
//! The whole [`PlayerState`] serialises with serde (the exact risk, not the rounded form shown in
//! reasons), so a shared store can keep it; [`PlayerState::merged_onto`] combines concurrent
//! changes from several servers without losing any.

mod merge;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::Category;
use crate::clock::Timestamp;
use crate::policy::{Policy, ResponseLevel};
use crate::risk::{Risk, decay_factor};
use crate::signal::{AgeBand, PlayerId, SignalKind};
use crate::trajectory::ScoreWindow;

/// Risk history points kept per player (the trajectory shown in reasons).
pub const TRAJECTORY_POINTS: usize = 12;
/// Distinct recent reporters remembered per player.
pub const MAX_REPORTERS: usize = 8;
/// Time constant of the message-rate estimate: at a steady pace it reads messages per minute.
const RATE_TIME_CONSTANT: Duration = Duration::from_secs(60);

/// A pseudonymous player key: HMAC-SHA256 of the platform's player id under a secret key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlayerKey(pub [u8; 32]);

impl PlayerKey {
    /// A short tag (the first eight bytes), enough to tell reporters apart.
    pub fn tag(&self) -> u64 {
        let mut bytes = [0_u8; 8];
        bytes.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(bytes)
    }
}

impl fmt::Display for PlayerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in &self.0[..16] {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PlayerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlayerKey({self})")
    }
}

impl Serialize for PlayerKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Turns platform ids into [`PlayerKey`]s with a secret key.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer { key: <secret> }")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer keyed with `key` (any length; at least 32 random bytes recommended).
    pub fn new(key: &[u8]) -> Pseudonymizer {
        // HMAC accepts keys of any length, so this cannot fail; fall back to an empty key anyway
        // rather than panicking.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        Pseudonymizer { mac }
    }

    /// A pseudonymizer with a random key: pseudonyms then change with every process.
    pub fn random() -> Pseudonymizer {
        let mut key = [0_u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Pseudonymizer::new(&key)
    }

    /// The pseudonym of `id`.
    pub fn key(&self, id: &PlayerId) -> PlayerKey {
        let mut mac = self.mac.clone();
        mac.update(id.as_str().as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = [0_u8; 32];
        out.copy_from_slice(digest.as_slice());
        PlayerKey(out)
    }
}

/// One point of a player's risk trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrajectoryPoint {
    /// When.
    pub at: Timestamp,
    /// The kind of signal (in JSON its short name: `chat`, `report`, …).
    pub signal: SignalKind,
    /// The risk the signal added, summed over categories.
    pub added: f32,
    /// Accumulated risk after the signal.
    pub risk: Risk,
}

/// A [`TrajectoryPoint`] as read back from a store.
#[derive(Deserialize)]
struct StoredPoint {
    at: Timestamp,
    signal: String,
    added: f32,
    risk: Risk,
}

impl<'de> Deserialize<'de> for TrajectoryPoint {
    /// The signal kind is read by its short name ([`SignalKind::parse`]); an unknown name reads
    /// as [`SignalKind::Custom`].
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let point = StoredPoint::deserialize(deserializer)?;
        Ok(TrajectoryPoint {
            at: point.at,
            signal: SignalKind::parse(&point.signal).unwrap_or(SignalKind::Custom),
            added: point.added,
            risk: point.risk,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct ReporterMark {
    tag: u64,
    at: Timestamp,
}

/// Platform feedback counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// Help links the player opened.
    pub help_opened: u16,
    /// Referrals a reviewer upheld.
    pub upheld: u16,
    /// Referrals a reviewer dismissed.
    pub dismissed: u16,
}

/// What is left of risk, blocks and the message rate after some time.
#[derive(Debug, Clone, Copy)]
struct Decay {
    risk: f32,
    blocks: f32,
    rate: f32,
}

impl Decay {
    fn over(elapsed: Duration, policy: &Policy) -> Decay {
        Decay {
            risk: decay_factor(elapsed, policy.risk.half_life),
            blocks: decay_factor(elapsed, policy.reports.half_life),
            rate: (-(elapsed.as_secs_f64() / RATE_TIME_CONSTANT.as_secs_f64())).exp() as f32,
        }
    }
}

/// Everything Waypoint remembers about one player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerState {
    #[serde(with = "crate::risk::exact_risk")]
    risk: Risk,
    decayed_at: Timestamp,
    blocks: f32,
    rate: f32,
    reporters: Vec<ReporterMark>,
    last_given: [Option<Timestamp>; 3],
    last_seen: Timestamp,
    last_text: u64,
    repeats: u32,
    age_band: AgeBand,
    locale: Option<Box<str>>,
    outcomes: OutcomeCounts,
    trajectory: VecDeque<TrajectoryPoint>,
    #[serde(default)]
    scores: ScoreWindow,
}

impl PlayerState {
    /// Fresh state first seen at `now`.
    pub fn new(now: Timestamp) -> PlayerState {
        PlayerState {
            risk: Risk::default(),
            decayed_at: now,
            blocks: 0.0,
            rate: 0.0,
            reporters: Vec::new(),
            last_given: [None; 3],
            last_seen: now,
            last_text: 0,
            repeats: 0,
            age_band: AgeBand::Unknown,
            locale: None,
            outcomes: OutcomeCounts::default(),
            trajectory: VecDeque::new(),
            scores: ScoreWindow::default(),
        }
    }

    /// Decays risk, blocks and rate to `now` and marks the player as seen.
    pub fn advance(&mut self, now: Timestamp, policy: &Policy) {
        let elapsed = now.since(self.decayed_at);
        if !elapsed.is_zero() {
            let decay = Decay::over(elapsed, policy);
            self.risk.scale(decay.risk);
            self.blocks *= decay.blocks;
            self.rate *= decay.rate;
            self.decayed_at = now;
        }
        self.last_seen = self.last_seen.max(now);
    }

    /// Accumulated risk (as of the last [`PlayerState::advance`]).
    pub fn risk(&self) -> Risk {
        self.risk
    }

    /// Adds risk.
    pub fn add_risk(&mut self, added: &Risk) {
        self.risk.add_all(added);
    }

    /// Multiplies accumulated risk by `factor` (a dismissed review lowers it).
    pub(crate) fn scale_risk(&mut self, factor: f32) {
        self.risk.scale(factor);
    }

    /// Moves all accumulated risk in `from` to `to` (a reviewer corrected the category).
    pub(crate) fn reassign_risk(&mut self, from: Category, to: Category) {
        let moved = self.risk.0[from.index()];
        self.risk.0[from.index()] = 0.0;
        self.risk.0[to.index()] += moved;
    }

    /// Records a report by the reporter with this tag; a reporter counts once, refreshed by new reports.
    pub(crate) fn note_report(&mut self, reporter: u64, now: Timestamp) {
        if let Some(mark) = self.reporters.iter_mut().find(|m| m.tag == reporter) {
            mark.at = now;
            return;
        }
        if self.reporters.len() >= MAX_REPORTERS
            && let Some(oldest) = self
                .reporters
                .iter()
                .enumerate()
                .min_by_key(|(_, m)| m.at)
                .map(|(i, _)| i)
        {
            self.reporters.swap_remove(oldest);
        }
        self.reporters.push(ReporterMark {
            tag: reporter,
            at: now,
        });
    }

    /// Records a block or mute by another player.
    pub(crate) fn note_block(&mut self) {
        self.blocks += 1.0;
    }

    /// Distinct recent reporters, each weighted by how recent the report is.
    pub(crate) fn reporters(&self, now: Timestamp, policy: &Policy) -> f32 {
        self.reporters
            .iter()
            .map(|m| decay_factor(now.since(m.at), policy.reports.half_life))
            .sum()
    }

    /// Recent blocks and mutes (decayed).
    pub(crate) fn blocks(&self) -> f32 {
        self.blocks
    }

    /// Records a message with this text hash; returns how many identical messages directly
    /// preceded it and the message rate (messages per minute, including this one).
    pub(crate) fn note_message(&mut self, text_hash: u64) -> (u32, f32) {
        if text_hash == self.last_text {
            self.repeats = self.repeats.saturating_add(1);
        } else {
            self.repeats = 0;
            self.last_text = text_hash;
        }
        self.rate += 1.0;
        (self.repeats, self.rate)
    }

    /// Remembers the age band and locale the platform gave.
    pub(crate) fn note_profile(&mut self, age_band: Option<AgeBand>, locale: Option<&str>) {
        if let Some(band) = age_band {
            self.age_band = band;
        }
        if let Some(locale) = locale
            && self.locale.as_deref() != Some(locale)
        {
            // Locales are short; cap what is kept so state stays small.
            self.locale = Some(locale.chars().take(16).collect::<String>().into_boxed_str());
        }
    }

    /// The player's age band (last one the platform gave).
    pub fn age_band(&self) -> AgeBand {
        self.age_band
    }

    /// The player's locale (last one the platform gave).
    pub fn locale(&self) -> Option<&str> {
        self.locale.as_deref()
    }

    /// When the player last received each response (nudge, help, review).
    pub(crate) fn last_given(&self) -> [Option<Timestamp>; 3] {
        self.last_given
    }

    /// Records that a response was given at `now`.
    pub(crate) fn record_response(&mut self, level: ResponseLevel, now: Timestamp) {
        if let Some(i) = level.ladder_index() {
            self.last_given[i] = Some(now);
        }
    }

    /// Forgets the responses given (after a dismissed review the ladder starts over).
    pub(crate) fn reset_ladder(&mut self) {
        self.last_given = [None; 3];
    }

    /// Feedback counts.
    pub(crate) fn outcomes_mut(&mut self) -> &mut OutcomeCounts {
        &mut self.outcomes
    }

    /// Feedback counts.
    #[cfg(test)]
    pub(crate) fn outcomes(&self) -> OutcomeCounts {
        self.outcomes
    }

    /// Appends a trajectory point, dropping the oldest beyond [`TRAJECTORY_POINTS`].
    pub(crate) fn push_trajectory(&mut self, point: TrajectoryPoint) {
        if self.trajectory.len() >= TRAJECTORY_POINTS {
            self.trajectory.pop_front();
        }
        if self.trajectory.capacity() < TRAJECTORY_POINTS {
            self.trajectory
                .reserve_exact(TRAJECTORY_POINTS - self.trajectory.len());
        }
        self.trajectory.push_back(point);
    }

    /// The recent risk history, oldest first.
    pub fn trajectory(&self) -> Vec<TrajectoryPoint> {
        self.trajectory.iter().copied().collect()
    }

    /// Remembers one chat message's combined scores for the drift statistic.
    pub(crate) fn note_scores(&mut self, scores: &crate::Scores) {
        self.scores.push(scores);
    }

    /// The player's recent per-message scores (see [`crate::trajectory`]).
    pub(crate) fn score_window(&self) -> &ScoreWindow {
        &self.scores
    }

    /// When the player was last seen.
    pub fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    /// Bytes this state takes: the struct plus what it owns on the heap.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<PlayerState>()
            + self.reporters.capacity() * std::mem::size_of::<ReporterMark>()
            + self.trajectory.capacity() * std::mem::size_of::<TrajectoryPoint>()
            + self.locale.as_ref().map_or(0, |l| l.len())
    }
}

/// All players' state, owned by the scoring worker.
#[derive(Debug, Default)]
pub struct PlayerStore {
    players: HashMap<PlayerKey, PlayerState>,
}

impl PlayerStore {
    /// The state for `key`, created at `now` if new.
    pub fn entry(&mut self, key: PlayerKey, now: Timestamp) -> &mut PlayerState {
        self.players
            .entry(key)
            .or_insert_with(|| PlayerState::new(now))
    }

    /// The state for `key`, if any.
    pub fn get(&self, key: &PlayerKey) -> Option<&PlayerState> {
        self.players.get(key)
    }

    /// The state for `key`, if any.
    pub fn get_mut(&mut self, key: &PlayerKey) -> Option<&mut PlayerState> {
        self.players.get_mut(key)
    }

    /// Forgets players not seen for `ttl`; returns how many were forgotten.
    pub fn sweep(&mut self, now: Timestamp, ttl: Duration) -> usize {
        let before = self.players.len();
        self.players
            .retain(|_, state| now.since(state.last_seen) < ttl);
        before - self.players.len()
    }

    /// Forgets `key`; returns its state.
    pub fn remove(&mut self, key: &PlayerKey) -> Option<PlayerState> {
        self.players.remove(key)
    }

    /// Replaces the state for `key`.
    pub fn insert(&mut self, key: PlayerKey, state: PlayerState) {
        self.players.insert(key, state);
    }

    /// Forgets the least recently seen players until at most `keep` remain, never one for which
    /// `spare` is true; returns how many were forgotten.
    pub fn evict_oldest(&mut self, keep: usize, spare: impl Fn(&PlayerKey) -> bool) -> usize {
        let excess = self.players.len().saturating_sub(keep);
        if excess == 0 {
            return 0;
        }
        let mut candidates: Vec<(Timestamp, PlayerKey)> = self
            .players
            .iter()
            .filter(|(key, _)| !spare(key))
            .map(|(key, state)| (state.last_seen, *key))
            .collect();
        candidates.sort_unstable();
        candidates.truncate(excess);
        for (_, key) in &candidates {
            self.players.remove(key);
        }
        candidates.len()
    }

    /// Players with state.
    pub fn len(&self) -> usize {
        self.players.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;

    #[test]
    fn pseudonyms_are_keyed_and_stable() {
        let a = Pseudonymizer::new(b"key one");
        let b = Pseudonymizer::new(b"key two");
        let id = PlayerId::new("steam:123");
        assert_eq!(a.key(&id), a.key(&id));
        assert_ne!(a.key(&id), b.key(&id));
        assert_ne!(a.key(&id), a.key(&PlayerId::new("steam:124")));
        assert!(!format!("{:?}", a.key(&id)).contains("123"));
    }

    #[test]
    fn a_full_state_stays_under_one_kib() {
        let policy = Policy::default();
        let mut state = PlayerState::new(Timestamp::ZERO);
        state.note_profile(Some(AgeBand::Minor), Some("nl-BE-extra-long-locale-string"));
        for i in 0..100_u64 {
            let now = Timestamp(i * 1000);
            state.advance(now, &policy);
            state.note_report(i, now);
            state.note_block();
            state.note_message(i);
            state.add_risk(&Risk([0.1, 0.2, 0.3, 0.4]));
            state.record_response(ResponseLevel::Help, now);
            state.push_trajectory(TrajectoryPoint {
                at: now,
                signal: SignalKind::Chat,
                added: 1.0,
                risk: state.risk(),
            });
        }
        let bytes = state.memory_bytes();
        assert!(bytes <= 1024, "{bytes} bytes per player");
        assert_eq!(state.trajectory().len(), TRAJECTORY_POINTS);
    }

    #[test]
    fn trajectory_points_keep_the_short_signal_names_in_json() {
        let point = TrajectoryPoint {
            at: Timestamp(5),
            signal: SignalKind::NameChange,
            added: 0.5,
            risk: Risk::default(),
        };
        let json = serde_json::to_value(point).expect("serialises");
        assert_eq!(json["signal"], "name");
        let back: TrajectoryPoint = serde_json::from_value(json.clone()).expect("reads back");
        assert_eq!(back, point);
        let mut unknown = json;
        unknown["signal"] = "raid".into();
        let back: TrajectoryPoint = serde_json::from_value(unknown).expect("reads back");
        assert_eq!(back.signal, SignalKind::Custom);
    }

    #[test]
    fn risk_halves_per_half_life() {
        let policy = Policy::default();
        let mut state = PlayerState::new(Timestamp::ZERO);
        state.add_risk(&Risk([0.0, 0.0, 0.0, 2.0]));
        state.advance(Timestamp::ZERO.plus(policy.risk.half_life), &policy);
        assert!((state.risk().get(Category::Extremism) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn reporters_count_once_each() {
        let policy = Policy::default();
        let mut state = PlayerState::new(Timestamp::ZERO);
        for _ in 0..5 {
            state.note_report(7, Timestamp::ZERO);
        }
        state.note_report(8, Timestamp::ZERO);
        assert!((state.reporters(Timestamp::ZERO, &policy) - 2.0).abs() < 1e-6);
    }

    #[test]
    fn repetition_and_rate_are_derived() {
        let mut state = PlayerState::new(Timestamp::ZERO);
        assert_eq!(state.note_message(1).0, 0);
        assert_eq!(state.note_message(1).0, 1);
        assert_eq!(state.note_message(1).0, 2);
        let (repeats, rate) = state.note_message(2);
        assert_eq!(repeats, 0);
        assert_eq!(rate, 4.0);
    }

    #[test]
    fn sweep_forgets_idle_players() {
        let mut store = PlayerStore::default();
        let key = Pseudonymizer::new(b"k").key(&PlayerId::new("p"));
        store.entry(key, Timestamp::ZERO);
        assert_eq!(store.sweep(Timestamp(10_000), Duration::from_secs(60)), 0);
        assert_eq!(store.sweep(Timestamp(61_000), Duration::from_secs(60)), 1);
        assert_eq!(store.len(), 0);
    }
}
