//! Keeping the worker's player states in step with a shared [`PlayerStateStore`].
//!
//! Before a batch the worker reads the batch's players from the store; after it, it writes back
//! the players it changed with compare-and-swap, merging onto whatever another server wrote in
//! between. When the store fails the worker keeps scoring from local state, marks the store
//! degraded, retries after the configured interval and then merges every change made meanwhile.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Shared;
use super::stats::Counters;
use crate::player::{PlayerKey, PlayerState, PlayerStore};
use crate::policy::Policy;
use crate::store::{PlayerStateStore, StoreError, Versioned, Write, Written};

/// Write rounds per batch before the remaining changes wait for the next batch.
const MAX_WRITE_ROUNDS: usize = 8;

/// The last state read from or written to the store, in the engine's time base.
type Base = Option<(u64, PlayerState)>;

pub(super) struct StoreSync {
    store: Box<dyn PlayerStateStore>,
    /// Unix milliseconds at the engine clock's zero.
    offset_ms: i64,
    cache_players: usize,
    retry: Duration,
    bases: HashMap<PlayerKey, Base>,
    dirty: HashSet<PlayerKey>,
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
            bases: HashMap::new(),
            dirty: HashSet::new(),
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

    fn load(&mut self, keys: &[PlayerKey]) -> Option<Vec<Option<Versioned>>> {
        match self.store.load(keys) {
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
        let Some(rows) = self.load(keys) else { return };
        for (key, row) in keys.iter().zip(rows) {
            self.adopt(*key, row, local, policy);
        }
        self.recovered(local, policy);
    }

    /// Takes the stored `row` as the new base of `key`, keeping local changes not yet stored.
    fn adopt(
        &mut self,
        key: PlayerKey,
        row: Option<Versioned>,
        local: &mut PlayerStore,
        policy: &Policy,
    ) {
        let remote = row.map(|r| (r.version, r.state.rebased(-self.offset_ms)));
        if self.dirty.contains(&key) {
            if let (Some(mine), Some((_, theirs))) = (local.get(&key), &remote) {
                let base = self
                    .bases
                    .get(&key)
                    .and_then(|b| b.as_ref())
                    .map(|(_, s)| s);
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
    }

    fn write(&mut self, keys: &[PlayerKey], local: &mut PlayerStore, policy: &Policy) {
        let mut todo: Vec<PlayerKey> = keys
            .iter()
            .copied()
            .filter(|k| self.dirty.contains(k))
            .collect();
        for _ in 0..MAX_WRITE_ROUNDS {
            if todo.is_empty() {
                break;
            }
            let states: Vec<(PlayerKey, Option<u64>, PlayerState)> = todo
                .iter()
                .filter_map(|key| {
                    let expected = self
                        .bases
                        .get(key)
                        .and_then(|b| b.as_ref())
                        .map(|(v, _)| *v);
                    local
                        .get(key)
                        .map(|s| (*key, expected, s.clone().rebased(self.offset_ms)))
                })
                .collect();
            let writes: Vec<Write<'_>> = states
                .iter()
                .map(|(key, expected, state)| Write {
                    key: *key,
                    expected: *expected,
                    state,
                })
                .collect();
            let ttl = policy.risk.ttl;
            let results = match self.store.store(&writes, ttl) {
                Ok(results) => results,
                Err(e) => return self.failed(&e),
            };
            let mut conflicts = Vec::new();
            for ((key, _, _), result) in states.iter().zip(results) {
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
            if conflicts.is_empty() {
                return;
            }
            let Some(rows) = self.load(&conflicts) else {
                return;
            };
            for (key, row) in conflicts.iter().zip(rows) {
                self.adopt(*key, row, local, policy);
            }
            todo = conflicts;
        }
    }
}
