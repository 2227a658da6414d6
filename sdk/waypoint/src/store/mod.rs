//! Player state shared by several game servers.
//!
//! By default each engine keeps player state in its own memory (today's behaviour, nothing to
//! configure). With a [`PlayerStateStore`] every engine reads a player's state before scoring
//! their signals and writes it back afterwards, so a player moving from match to match — each
//! on another server — keeps one trajectory, one ladder and one set of cooldowns.
//!
//! - [`MemoryStore`]: a store in this process, shared by the engines given clones of it.
//! - `RedisStore` (cargo feature `redis-store`): Valkey or Redis, configured with the policy's
//!   `[store]` section ([`StoreConfig`]) or given to the builder.
//!
//! Writes are compare-and-swap on a per-player version: a writer that lost the race reads the
//! new state, applies its own changes on top ([`PlayerState::merged_onto`]) and tries again, so
//! two servers updating one player at once lose nothing. All store I/O happens on the engine's
//! worker thread with short timeouts. When the store cannot be reached the engine scores from
//! local state, says so in `Engine::health` and `Stats::store`, and merges what changed locally
//! into the store once it answers again.
//!
//! Writes are idempotent: each carries a [`WriteId`] (the engine instance's [`WriterId`] and a
//! sequence number that only increases), and the store records, in the same atomic update as the
//! state, the latest sequence number of each writer it applied (its *mark*, kept for the
//! [`WRITER_MARKS`] writers that wrote the player most recently). A write whose answer was lost
//! (the store applied it, then failed) leaves the engine unsure; the next read returns the mark,
//! and a write at or below it is known to be in the stored state, so its changes are not merged
//! a second time.
//!
//! Times in stored states are Unix milliseconds, so servers whose clocks started at different
//! moments agree; all servers sharing a store must use the same pseudonym key.

mod memory;
#[cfg(feature = "redis-store")]
mod redis;

use std::time::Duration;

pub use crate::config::store::{StoreConfig, StoreConfigError};
pub use memory::MemoryStore;
#[cfg(feature = "redis-store")]
pub use redis::RedisStore;

pub use crate::player::{PlayerState, Pseudonymizer};

use crate::player::PlayerKey;

/// Writers whose mark (latest applied sequence number) a stored player keeps; a new writer
/// beyond these makes the store forget the one that wrote the player least recently.
pub const WRITER_MARKS: usize = 32;

/// One engine instance writing to a store, drawn at random when the engine starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WriterId(pub u64);

impl WriterId {
    /// A fresh random id.
    pub fn random() -> WriterId {
        WriterId(uuid::Uuid::new_v4().as_u64_pair().0)
    }
}

impl std::fmt::Display for WriterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Identifies one write: who made it and its place among that writer's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WriteId {
    /// The writer.
    pub writer: WriterId,
    /// Increases with every write the writer makes (to any player); starts at 1.
    pub seq: u64,
}

/// A stored state and the version it was written as.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    /// Changes with every write of this player and is never used twice for one player, even
    /// after its entry expired and was made again.
    pub version: u64,
    /// The state, times in Unix milliseconds.
    pub state: PlayerState,
    /// The sequence number of the latest write by the reading writer that the state includes
    /// (`None`: none, or the mark was forgotten, see [`WRITER_MARKS`]).
    pub applied: Option<u64>,
}

/// One player to read, with the version of it the reader holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    /// The player.
    pub key: PlayerKey,
    /// The version the reader holds (`None`: none); a player still at it is not sent again.
    pub known: Option<u64>,
}

/// What one [`Read`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// The player is not stored.
    Absent,
    /// The player is still at the version the reader holds: nobody wrote it since.
    Unchanged,
    /// The player as stored now.
    Stored(Box<Versioned>),
}

/// One compare-and-swap write.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    /// The player.
    pub key: PlayerKey,
    /// The version the writer read (`None`: the player was absent).
    pub expected: Option<u64>,
    /// The new state, times in Unix milliseconds.
    pub state: &'a PlayerState,
    /// Recorded as the writer's mark when the write is applied.
    pub id: WriteId,
}

/// The result of one [`Write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Stored with this new version.
    Stored(u64),
    /// Someone else wrote the player since `expected`; nothing was written.
    Conflict,
}

/// Errors talking to a store. The engine counts them and runs on local state meanwhile.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time.
    #[error("the player store at {endpoint} is unreachable: {reason}")]
    Unavailable {
        /// Where the store is (a URL without its password).
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// The store answered with something unexpected.
    #[error("the player store answered unexpectedly: {0}")]
    Protocol(String),
}

/// Where player state lives when it is shared between servers.
///
/// Implementations are used from the engine's worker thread only and must time out quickly
/// rather than block: the engine retries later and runs on local state meanwhile.
pub trait PlayerStateStore: Send + std::fmt::Debug + 'static {
    /// What the store holds for each read, in the order asked, with `reader`'s mark
    /// ([`Versioned::applied`]).
    fn load(&mut self, reads: &[Read], reader: WriterId) -> Result<Vec<Loaded>, StoreError>;

    /// Performs each write that still finds its `expected` version, in one atomic step per write:
    /// gives the player a new version, stores the state, records the write's id as its writer's mark (forgetting the least recent
    /// writer's beyond [`WRITER_MARKS`]) and sets the entry to expire `ttl` after the write.
    /// Returns one result per write, in order.
    ///
    /// An error may come after some writes were applied (an answer lost): the marks say which.
    fn store(&mut self, writes: &[Write<'_>], ttl: Duration) -> Result<Vec<Written>, StoreError>;

    /// Where the store is, for logs and health (never a password).
    fn endpoint(&self) -> String;
}
