//! Keeping the worker's player states in step with a shared [`PlayerStateStore`].
//!
//! Before a batch the worker reads the batch's players from the store; after it, it writes back
//! the players it changed with compare-and-swap, merging onto whatever another server wrote in
//! between. When the store fails the worker keeps scoring from local state, marks the store
//! degraded, retries after the configured interval and then merges every change made meanwhile.
//!
//! A write that failed without an answer may have been applied all the same. The worker keeps
//! what it wrote and reads the player before writing it again: when the store's mark for this
//! engine has reached the write's sequence number, the written state becomes the base of the
//! merge, so its changes are counted once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Shared;
use super::stats::Counters;
use crate::player::{PlayerKey, PlayerState, PlayerStore};
use crate::policy::Policy;
use crate::store::{Loaded, PlayerStateStore, Read, StoreError, Write, WriteId, WriterId, Written};

/// Write rounds per batch before the remaining changes wait for the next batch.
const MAX_WRITE_ROUNDS: usize = 8;

/// The last state read from or written to the store, in the engine's time base.
type Base = Option<(u64, PlayerState)>;

/// A write the store failed to answer: its sequence number and the state written (Unix times).
type Unsure = (u64, PlayerState);

pub(super) struct StoreSync {
    store: Box<dyn PlayerStateStore>,
    /// Unix milliseconds at the engine clock's zero.
    offset_ms: i64,
    cache_players: usize,
    retry: Duration,
    writer: WriterId,
    /// The sequence number of the last write made.
    seq: u64,
    bases: HashMap<PlayerKey, Base>,
    dirty: HashSet<PlayerKey>,
    /// Players whose last write may or may not have been applied (at most one each: such a
    /// player is read, which settles it, before it is written again).
    unsure: HashMap<PlayerKey, Unsure>,
    retry_at: Option<Instant>,
    shared: Arc<Shared>,
}

impl StoreSync {
    pub fn new(
        store: Box<dyn PlayerStateStore>,
        base_unix_ms: u64,
        cache_players: usize,
        retry: Duration,
        shared: Arc<Shared>,
    ) -> StoreSync {
        StoreSync {
            store,
            offset_ms: i64::try_from(base_unix_ms).unwrap_or(i64::MAX),
            cache_players,
            retry,
            writer: WriterId::random(),
            seq: 0,
            bases: HashMap::new(),
            dirty: HashSet::new(),
            unsure: HashMap::new(),
            retry_at: None,
            shared,
        }
    }

    fn available(&self) -> bool {
        self.retry_at.is_none_or(|at| Instant::now() >= at)
    }

    fn failed(&mut self, error: &StoreError) {
        Counters::inc(&self.shared.stats.store_errors);
        if self.retry_at.is_none() {
            log::warn!("waypoint: {error}; scoring from local state until it answers again");
        }
        self.shared.stats.store_degraded.store(1, Ordering::Relaxed);
        self.retry_at = Some(Instant::now() + self.retry);
    }

    fn recovered(&mut self, local: &mut PlayerStore, policy: &Policy) {
        if self.retry_at.take().is_some() {
            log::info!(
                "waypoint: the player store at {} answers again",
                self.store.endpoint()
            );
            self.shared.stats.store_degraded.store(0, Ordering::Relaxed);
            // Everything changed while the store was away is merged in now.
            let pending: Vec<PlayerKey> = self.dirty.iter().copied().collect();
            self.write(&pending, local, policy);
        }
    }

    /// Reads `keys`, naming the version held of each player kept here (the store then sends
    /// only the players that changed).
    fn load(&mut self, keys: &[PlayerKey], local: &PlayerStore) -> Option<Vec<Loaded>> {
        let reads: Vec<Read> = keys
            .iter()
            .map(|key| Read {
                key: *key,
                known: local
                    .get(key)
                    .and(self.bases.get(key))
                    .and_then(|b| b.as_ref())
                    .map(|(version, _)| *version),
            })
            .collect();
        match self.store.load(&reads, self.writer) {
            Ok(rows) => Some(rows),
            Err(e) => {
                self.failed(&e);
                None
            }
        }
    }

    /// Brings the local states of `keys` up to date with the store before they are scored.
    pub fn pull(&mut self, keys: &[PlayerKey], local: &mut PlayerStore, policy: &Policy) {
        if keys.is_empty() || !self.available() {
            return;
        }
        if self.reload(keys, local, policy) {
            self.recovered(local, policy);
        }
    }

    /// Reads `keys` and adopts what the store holds; returns whether the store answered.
    fn reload(&mut self, keys: &[PlayerKey], local: &mut PlayerStore, policy: &Policy) -> bool {
        let Some(rows) = self.load(keys, local) else {
            return false;
        };
        for (key, row) in keys.iter().zip(rows) {
            self.adopt(*key, row, local, policy);
        }
        true
    }

    /// Takes what the store holds as the new base of `key`, keeping local changes not yet stored.
    fn adopt(&mut self, key: PlayerKey, loaded: Loaded, local: &mut PlayerStore, policy: &Policy) {
        let row = match loaded {
            // Nobody wrote the player since the base, so a write of unknown outcome did not land.
            Loaded::Unchanged => {
                self.unsure.remove(&key);
                return;
            }
            Loaded::Absent => None,
            Loaded::Stored(row) => Some(*row),
        };
        // A write whose answer was lost and which the store's mark shows applied: its changes
        // are in the stored state already, so what it wrote is the base of the merge.
        let landed = self
            .unsure
            .remove(&key)
            .filter(|(seq, _)| row.as_ref().and_then(|r| r.applied) >= Some(*seq))
            .map(|(_, written)| written.rebased(-self.offset_ms));
        let remote = row.map(|r| (r.version, r.state.rebased(-self.offset_ms)));
        if self.dirty.contains(&key) {
            if let (Some(mine), Some((_, theirs))) = (local.get(&key), &remote) {
                let base = landed.as_ref().or_else(|| {
                    self.bases
                        .get(&key)
                        .and_then(|b| b.as_ref())
                        .map(|(_, s)| s)
                });
                let merged = mine.merged_onto(base, theirs, policy);
                local.insert(key, merged);
            }
        } else {
            match &remote {
                Some((_, state)) => local.insert(key, state.clone()),
                None => {
                    local.remove(&key);
                }
            }
        }
        self.bases.insert(key, remote);
    }

    /// Writes the states of `keys` (changed by the batch) back to the store.
    pub fn push(&mut self, keys: &[PlayerKey], local: &mut PlayerStore, policy: &Policy) {
        self.dirty.extend(keys.iter().copied());
        if self.available() {
            self.write(keys, local, policy);
        }
        self.shared
            .stats
            .store_pending
            .store(self.dirty.len() as u64, Ordering::Relaxed);
        let dirty = &self.dirty;
        local.evict_oldest(self.cache_players, |key| dirty.contains(key));
        let local_ref = &*local;
        self.bases.retain(|key, _| local_ref.get(key).is_some());
        self.unsure.retain(|key, _| local_ref.get(key).is_some());
    }

    fn write(&mut self, keys: &[PlayerKey], local: &mut PlayerStore, policy: &Policy) {
        let mut todo: Vec<PlayerKey> = keys
            .iter()
            .copied()
            .filter(|k| self.dirty.contains(k))
            .collect();
        // Whether an unanswered write was applied is settled by reading the player first.
        let unsure: Vec<PlayerKey> = todo
            .iter()
            .copied()
            .filter(|k| self.unsure.contains_key(k))
            .collect();
        if !unsure.is_empty() && !self.reload(&unsure, local, policy) {
            return;
        }
        for _ in 0..MAX_WRITE_ROUNDS {
            if todo.is_empty() {
                break;
            }
            let Some(conflicts) = self.write_round(&todo, local, policy) else {
                return;
            };
            if conflicts.is_empty() || !self.reload(&conflicts, local, policy) {
                return;
            }
            todo = conflicts;
        }
    }

    /// Writes the local states of `keys` in one call; returns the players whose version had
    /// moved on, or `None` when the store failed (every write of the call is then unsure).
    fn write_round(
        &mut self,
        keys: &[PlayerKey],
        local: &mut PlayerStore,
        policy: &Policy,
    ) -> Option<Vec<PlayerKey>> {
        let mut states: Vec<(PlayerKey, Option<u64>, WriteId, PlayerState)> = Vec::new();
        for key in keys {
            let Some(state) = local.get(key) else {
                continue;
            };
            let expected = self
                .bases
                .get(key)
                .and_then(|b| b.as_ref())
                .map(|(v, _)| *v);
            self.seq += 1;
            let id = WriteId {
                writer: self.writer,
                seq: self.seq,
            };
            states.push((*key, expected, id, state.clone().rebased(self.offset_ms)));
        }
        let writes: Vec<Write<'_>> = states
            .iter()
            .map(|(key, expected, id, state)| Write {
                key: *key,
                expected: *expected,
                state,
                id: *id,
            })
            .collect();
        let results = match self.store.store(&writes, policy.risk.ttl) {
            Ok(results) => results,
            Err(e) => {
                self.failed(&e);
                for (key, _, id, state) in states {
                    self.unsure.insert(key, (id.seq, state));
                }
                return None;
            }
        };
        let mut conflicts = Vec::new();
        for ((key, _, _, _), result) in states.iter().zip(results) {
            match result {
                Written::Stored(version) => {
                    Counters::inc(&self.shared.stats.store_writes);
                    self.dirty.remove(key);
                    let stored = local.get(key).cloned();
                    self.bases.insert(*key, stored.map(|s| (version, s)));
                }
                Written::Conflict => conflicts.push(*key),
            }
        }
        Counters::add(&self.shared.stats.store_conflicts, conflicts.len() as u64);
        // Players that vanished locally (expired) are no longer written.
        self.dirty.retain(|key| local.get(key).is_some());
        Some(conflicts)
    }
}
