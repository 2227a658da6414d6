//! [`RedisStore`]: player state in Valkey or Redis.
//!
//! Each player is one hash `<prefix>:player:<pseudonym in hex>` with fields `v` (version), `s`
//! (the state as JSON) and one mark `w:<writer id in hex>` = `"<sequence number> <version>"` per
//! recent writer. Reads are one pipelined Lua read per batch, which sends the state only when
//! the version differs from the one the reader holds; writes are one pipelined Lua
//! compare-and-swap per batch, which, only when the version is still the one the writer read,
//! bumps the version, stores the state, records the writer's mark (dropping the least recent
//! writer's beyond [`WRITER_MARKS`]) and refreshes the expiry, all in one atomic step; a batch's
//! writes run as one `MULTI`/`EXEC` transaction (a single server, as the client speaks no
//! cluster protocol), so either all of them are applied or none. A new
//! entry's first version is the server's clock in milliseconds, so a player whose entry expired
//! and was made again never repeats a version a reader may still hold.

use std::time::Duration;

use redis::{Client, Connection, RedisError};

use super::{
    Loaded, PlayerStateStore, Read, StoreConfigError, StoreError, Versioned, WRITER_MARKS, Write,
    WriterId, Written,
};
use crate::clock::Timestamp;
use crate::config::store::StoreConfig;
use crate::player::{PlayerKey, PlayerState};

/// KEYS[1]: the player's hash. ARGV: expected version ("" when absent), state, expiry in ms,
/// the writer's mark field, the write's sequence number, the most marks kept.
/// Returns the new version, or -1 when the version moved on.
const COMPARE_AND_SWAP: &str = r"
local current = redis.call('HGET', KEYS[1], 'v')
if (current or '') ~= ARGV[1] then return -1 end
local version
if current then
  version = redis.call('HINCRBY', KEYS[1], 'v', 1)
else
  local now = redis.call('TIME')
  version = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  redis.call('HSET', KEYS[1], 'v', version)
end
redis.call('HSET', KEYS[1], 's', ARGV[2], ARGV[4], ARGV[5] .. ' ' .. version)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('HLEN', KEYS[1]) > 2 + tonumber(ARGV[6]) then
  local fields = redis.call('HGETALL', KEYS[1])
  local oldest, oldest_at
  for i = 1, #fields, 2 do
    local at = string.sub(fields[i], 1, 2) == 'w:' and tonumber(string.match(fields[i + 1], ' (%d+)$'))
    if at and (not oldest_at or at < oldest_at) then oldest, oldest_at = fields[i], at end
  end
  if oldest then redis.call('HDEL', KEYS[1], oldest) end
end
return version
";

/// KEYS[1]: the player's hash. ARGV: the version the reader holds ("" when none), the reader's
/// mark field. Returns `{version}` when the version is the one held, else `{version, state,
/// mark}` (each nil when absent).
const READ: &str = r"
local row = redis.call('HMGET', KEYS[1], 'v', 's', ARGV[2])
if row[1] and row[1] == ARGV[1] then return {row[1]} end
return row
";

/// One player's hash as read: version, serialised state and the reader's mark (only the
/// version when it is the one the reader holds).
type StoredRow = Vec<Option<Vec<u8>>>;

/// The hash field holding `writer`'s mark.
fn mark_field(writer: WriterId) -> String {
    format!("w:{writer}")
}

/// The sequence number in a mark (`"<sequence number> <version>"`).
fn mark_seq(mark: &str) -> Option<u64> {
    mark.split(' ').next()?.parse().ok()
}

/// Player state in Valkey or Redis (cargo feature `redis-store`).
///
/// Connects lazily and again after any error, each time within the configured timeouts.
pub struct RedisStore {
    client: Client,
    endpoint: String,
    prefix: String,
    connect_timeout: Duration,
    io_timeout: Duration,
    read_sha: String,
    write_sha: String,
    connection: Option<Connection>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("connected", &self.connection.is_some())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for `config` (validated, URL read from `url_env` when set). Does not connect yet:
    /// a store that is down at start makes the engine run on local state, not fail.
    pub fn new(config: &StoreConfig) -> Result<RedisStore, StoreConfigError> {
        config.validate()?;
        let url = config.resolve_url()?;
        let client = Client::open(url.as_str())
            .map_err(|e| StoreConfigError::InvalidUrl(config.endpoint(), e.to_string()))?;
        Ok(RedisStore {
            client,
            endpoint: config.endpoint(),
            prefix: config.key_prefix.clone(),
            connect_timeout: config.connect_timeout(),
            io_timeout: config.io_timeout(),
            read_sha: redis::Script::new(READ).get_hash().to_owned(),
            write_sha: redis::Script::new(COMPARE_AND_SWAP).get_hash().to_owned(),
            connection: None,
        })
    }

    fn key(&self, key: &PlayerKey) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut name = String::with_capacity(self.prefix.len() + 8 + 2 * key.0.len());
        name.push_str(&self.prefix);
        name.push_str(":player:");
        for byte in key.0 {
            name.push(char::from(HEX[usize::from(byte >> 4)]));
            name.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        name
    }

    fn unavailable(&mut self, error: &RedisError) -> StoreError {
        // Whatever went wrong, the next call starts from a fresh connection.
        self.connection = None;
        StoreError::Unavailable {
            endpoint: self.endpoint.clone(),
            reason: error.to_string(),
        }
    }

    fn connection(&mut self) -> Result<&mut Connection, StoreError> {
        if self.connection.is_none() {
            let connection = self.connect().map_err(|e| self.unavailable(&e))?;
            log::info!(
                "waypoint: connected to the player store at {}",
                self.endpoint
            );
            self.connection = Some(connection);
        }
        self.connection
            .as_mut()
            .ok_or_else(|| StoreError::Protocol("no connection".to_owned()))
    }

    fn connect(&self) -> Result<Connection, RedisError> {
        let mut connection = self
            .client
            .get_connection_with_timeout(self.connect_timeout)?;
        connection.set_read_timeout(Some(self.io_timeout))?;
        connection.set_write_timeout(Some(self.io_timeout))?;
        // Loaded on every connection: a restarted server has forgotten its scripts.
        for script in [READ, COMPARE_AND_SWAP] {
            let _sha: String = redis::cmd("SCRIPT")
                .arg("LOAD")
                .arg(script)
                .query(&mut connection)?;
        }
        Ok(connection)
    }

    /// One answer of the read script.
    fn loaded(&self, key: &PlayerKey, row: StoredRow) -> Result<Loaded, StoreError> {
        let text = |field: Option<Vec<u8>>| field.and_then(|bytes| String::from_utf8(bytes).ok());
        let mut fields = row.into_iter();
        let Some(version) = text(fields.next().flatten()) else {
            return Ok(Loaded::Absent);
        };
        let version: u64 = version
            .parse()
            .map_err(|_| StoreError::Protocol(format!("player version {version:?}")))?;
        // Only the version came back: it is the one the reader holds.
        let Some(state) = fields.next() else {
            return Ok(Loaded::Unchanged);
        };
        let mark = text(fields.next().flatten());
        Ok(Loaded::Stored(Box::new(Versioned {
            version,
            state: self.decode(key, state.as_deref().unwrap_or_default()),
            applied: mark.as_deref().and_then(mark_seq),
        })))
    }

    fn decode(&self, key: &PlayerKey, bytes: &[u8]) -> PlayerState {
        serde_json::from_slice(bytes).unwrap_or_else(|e| {
            // Unreadable (an incompatible writer, or damage): the next write replaces it.
            log::warn!(
                "waypoint: the stored state of player {key} in {} cannot be read ({e}); starting it afresh",
                self.endpoint
            );
            PlayerState::new(Timestamp::ZERO)
        })
    }
}

impl PlayerStateStore for RedisStore {
    fn load(&mut self, reads: &[Read], reader: WriterId) -> Result<Vec<Loaded>, StoreError> {
        if reads.is_empty() {
            return Ok(Vec::new());
        }
        let mark = mark_field(reader);
        let mut pipe = redis::pipe();
        for read in reads {
            let known = read.known.map(|v| v.to_string()).unwrap_or_default();
            pipe.cmd("EVALSHA")
                .arg(&self.read_sha)
                .arg(1)
                .arg(self.key(&read.key))
                .arg(known)
                .arg(&mark);
        }
        let answered: Result<Vec<StoredRow>, RedisError> = pipe.query(self.connection()?);
        let rows = answered.map_err(|e| self.unavailable(&e))?;
        if rows.len() != reads.len() {
            return Err(StoreError::Protocol(format!(
                "{} answers to {} reads",
                rows.len(),
                reads.len()
            )));
        }
        reads
            .iter()
            .zip(rows)
            .map(|(read, row)| self.loaded(&read.key, row))
            .collect()
    }

    fn store(&mut self, writes: &[Write<'_>], ttl: Duration) -> Result<Vec<Written>, StoreError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        // One transaction: the server appends the batch to its log (and, with `appendfsync
        // always`, flushes it to disk) once, not once per read of the request.
        let mut pipe = redis::pipe();
        pipe.atomic();
        for write in writes {
            let state = serde_json::to_vec(write.state)
                .map_err(|e| StoreError::Protocol(format!("cannot serialise a state: {e}")))?;
            let expected = write.expected.map(|v| v.to_string()).unwrap_or_default();
            pipe.cmd("EVALSHA")
                .arg(&self.write_sha)
                .arg(1)
                .arg(self.key(&write.key))
                .arg(expected)
                .arg(state)
                .arg(ttl_ms)
                .arg(mark_field(write.id.writer))
                .arg(write.id.seq)
                .arg(WRITER_MARKS);
        }
        let answered: Result<Vec<i64>, RedisError> = pipe.query(self.connection()?);
        let versions = answered.map_err(|e| self.unavailable(&e))?;
        if versions.len() != writes.len() {
            return Err(StoreError::Protocol(format!(
                "{} answers to {} writes",
                versions.len(),
                writes.len()
            )));
        }
        Ok(versions
            .into_iter()
            .map(|v| match u64::try_from(v) {
                Ok(version) => Written::Stored(version),
                Err(_) => Written::Conflict,
            })
            .collect())
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
}
