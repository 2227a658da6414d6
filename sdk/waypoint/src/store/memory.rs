//! [`MemoryStore`]: a player-state store inside this process, shared by clones.

use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{
    Loaded, PlayerStateStore, Read, StoreError, Versioned, WRITER_MARKS, Write, WriteId, WriterId,
    Written,
};
use crate::player::{PlayerKey, PlayerState};

#[derive(Debug)]
struct Entry {
    version: u64,
    state: PlayerState,
    /// Each recent writer's latest applied write, the least recent first.
    marks: Vec<WriteId>,
    expires: Instant,
}

impl Entry {
    /// Records `id` as its writer's mark, forgetting the least recent writer beyond
    /// [`WRITER_MARKS`].
    fn mark(&mut self, id: WriteId) {
        self.marks.retain(|known| known.writer != id.writer);
        self.marks.push(id);
        if self.marks.len() > WRITER_MARKS {
            self.marks.remove(0);
        }
    }

    fn read(&self, reader: WriterId) -> Versioned {
        Versioned {
            version: self.version,
            state: self.state.clone(),
            applied: self
                .marks
                .iter()
                .find(|id| id.writer == reader)
                .map(|id| id.seq),
        }
    }
}

/// Player state shared by the engines of one process (for example several matches hosted by
/// one server binary): give each engine a clone. Entries expire like a remote store's.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<PlayerKey, Entry>,
    /// The last version given to any write: versions are never used twice.
    last_version: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Players stored (expired ones included until they are next touched).
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PlayerStateStore for MemoryStore {
    fn load(&mut self, reads: &[Read], reader: WriterId) -> Result<Vec<Loaded>, StoreError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let entries = &mut inner.entries;
        let now = Instant::now();
        Ok(reads
            .iter()
            .map(|read| {
                if entries.get(&read.key).is_some_and(|e| e.expires <= now) {
                    entries.remove(&read.key);
                }
                match entries.get(&read.key) {
                    None => Loaded::Absent,
                    Some(e) if Some(e.version) == read.known => Loaded::Unchanged,
                    Some(e) => Loaded::Stored(Box::new(e.read(reader))),
                }
            })
            .collect())
    }

    fn store(&mut self, writes: &[Write<'_>], ttl: Duration) -> Result<Vec<Written>, StoreError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Inner {
            entries,
            last_version,
        } = &mut *inner;
        let now = Instant::now();
        let expires = now
            .checked_add(ttl)
            .unwrap_or(now + Duration::from_secs(3600 * 24 * 365));
        Ok(writes
            .iter()
            .map(|write| {
                let current = entries
                    .get(&write.key)
                    .filter(|e| e.expires > now)
                    .map(|e| e.version);
                if current != write.expected {
                    return Written::Conflict;
                }
                let entry = match entries.entry(write.key) {
                    Slot::Occupied(live) if current.is_some() => live.into_mut(),
                    // Absent or expired: a fresh entry, without an expired one's marks.
                    slot => slot
                        .insert_entry(Entry {
                            version: 0,
                            state: write.state.clone(),
                            marks: Vec::new(),
                            expires,
                        })
                        .into_mut(),
                };
                *last_version += 1;
                entry.version = *last_version;
                entry.state.clone_from(write.state);
                entry.expires = expires;
                entry.mark(write.id);
                Written::Stored(entry.version)
            })
            .collect())
    }

    fn endpoint(&self) -> String {
        "memory".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn write(state: &PlayerState, expected: Option<u64>, writer: u64, seq: u64) -> Write<'_> {
        Write {
            key: PlayerKey([1; 32]),
            expected,
            state,
            id: WriteId {
                writer: WriterId(writer),
                seq,
            },
        }
    }

    fn applied(store: &mut MemoryStore, reader: u64) -> Option<u64> {
        let read = Read {
            key: PlayerKey([1; 32]),
            known: None,
        };
        match store.load(&[read], WriterId(reader)).ok()?.pop()? {
            Loaded::Stored(row) => row.applied,
            _ => None,
        }
    }

    #[test]
    fn marks_are_recorded_per_writer_and_bounded() {
        let mut store = MemoryStore::new();
        let state = PlayerState::new(Timestamp::ZERO);
        let ttl = Duration::from_secs(60);
        let first = write(&state, None, 99, 5);
        assert_eq!(
            store.store(&[first], ttl).ok(),
            Some(vec![Written::Stored(1)])
        );
        assert_eq!(
            store.store(&[first], ttl).ok(),
            Some(vec![Written::Conflict])
        );
        assert_eq!(applied(&mut store, 99), Some(5));
        assert_eq!(applied(&mut store, 1), None);
        for writer in 1..=WRITER_MARKS as u64 {
            let next = write(&state, Some(writer), writer, 1);
            assert_eq!(
                store.store(&[next], ttl).ok(),
                Some(vec![Written::Stored(writer + 1)])
            );
        }
        assert_eq!(
            applied(&mut store, 99),
            None,
            "the least recent writer's mark went"
        );
        assert_eq!(applied(&mut store, 1), Some(1));
    }

    #[test]
    fn an_expired_entry_starts_without_marks() {
        let mut store = MemoryStore::new();
        let state = PlayerState::new(Timestamp::ZERO);
        let gone = write(&state, None, 7, 1);
        let _ = store.store(&[gone], Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        let fresh = write(&state, None, 8, 1);
        let stored = store.store(&[fresh], Duration::from_secs(60)).ok();
        assert_eq!(
            stored,
            Some(vec![Written::Stored(2)]),
            "a version is never reused"
        );
        assert_eq!(applied(&mut store, 7), None);
        let known = |version| Read {
            key: PlayerKey([1; 32]),
            known: Some(version),
        };
        let loaded = store.load(&[known(2), known(1)], WriterId(8)).ok();
        assert!(
            matches!(
                loaded.as_deref(),
                Some([Loaded::Unchanged, Loaded::Stored(_)])
            ),
            "{loaded:?}"
        );
    }
}
