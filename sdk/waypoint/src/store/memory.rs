//! [`MemoryStore`]: a player-state store inside this process, shared by clones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{PlayerStateStore, StoreError, Versioned, Write, Written};
use crate::player::PlayerKey;

#[derive(Debug)]
struct Entry {
    stored: Versioned,
    expires: Instant,
}

/// Player state shared by the engines of one process (for example several matches hosted by
/// one server binary): give each engine a clone. Entries expire like a remote store's.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    entries: Arc<Mutex<HashMap<PlayerKey, Entry>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Players stored (expired ones included until they are next touched).
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PlayerStateStore for MemoryStore {
    fn load(&mut self, keys: &[PlayerKey]) -> Result<Vec<Option<Versioned>>, StoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        Ok(keys
            .iter()
            .map(|key| {
                if entries.get(key).is_some_and(|e| e.expires <= now) {
                    entries.remove(key);
                }
                entries.get(key).map(|e| e.stored.clone())
            })
            .collect())
    }

    fn store(&mut self, writes: &[Write<'_>], ttl: Duration) -> Result<Vec<Written>, StoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
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
                    .map(|e| e.stored.version);
                if current != write.expected {
                    return Written::Conflict;
                }
                let version = current.unwrap_or(0) + 1;
                entries.insert(
                    write.key,
                    Entry {
                        stored: Versioned {
                            version,
                            state: write.state.clone(),
                        },
                        expires,
                    },
                );
                Written::Stored(version)
            })
            .collect())
    }

    fn endpoint(&self) -> String {
        "memory".to_owned()
    }
}
