//! The durable spool: one checksummed, fsynced file per undelivered referral.
//!
//! Layout of the spool folder:
//!
//! ```text
//! <dir>/<case id>.wpr          undelivered referrals (replayed on start)
//! <dir>/tmp/                   records being written; leftovers are torn writes, deleted on start
//! <dir>/failed/<case id>.wpr   permanently refused by the receiver, with <case id>.reason beside it
//! <dir>/corrupt/               records whose checksum or header did not verify on start
//! ```
//!
//! A record is written to `tmp/`, fsynced, renamed into place and the folder fsynced, so a
//! record is either complete or absent; records are never modified, only removed (after a
//! `2xx`) or moved (`failed/`, `corrupt/`). A damaged record cannot affect any other record.
//!
//! Record format: a text header, an empty line, then the exact JSON body that is signed:
//!
//! ```text
//! WAYPOINT-SPOOL 1
//! case_id <uuid>
//! spooled_at_unix_ms <u64>
//! sha256 <lowercase hex of body>
//! length <body length in bytes>
//!
//! <body>
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use uuid::Uuid;

use super::{now_unix_ms, rfc3339_utc};
use crate::digest::sha256_hex;

const MAGIC: &str = "WAYPOINT-SPOOL 1";
const EXTENSION: &str = "wpr";

/// A spool operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A file-system operation failed.
    #[error("spool: could not {op} {path}")]
    Io {
        /// What was being done (`create`, `write`, `fsync`, `rename`, …).
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A record with this case id is already spooled.
    #[error("spool: case {0} is already spooled")]
    Duplicate(Uuid),
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SpoolError + 'a {
    move |source| SpoolError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// One undelivered referral read back from the spool.
#[derive(Debug, Clone)]
pub(crate) struct SpoolRecord {
    pub(crate) case_id: Uuid,
    pub(crate) spooled_at_unix_ms: u64,
    pub(crate) body: Arc<[u8]>,
}

/// What [`Spool::open`] found.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// Valid records, oldest first.
    pub(crate) records: Vec<SpoolRecord>,
    /// Records that failed verification, now in `corrupt/`.
    pub(crate) corrupt: Vec<PathBuf>,
    /// Torn writes deleted from `tmp/`.
    pub(crate) torn: usize,
}

/// Handle to a spool folder. Used by one thread at a time per operation kind (the spool writer
/// writes, the delivery thread removes), which never touch the same record concurrently.
#[derive(Debug, Clone)]
pub(crate) struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// Opens (creating if needed) the spool at `dir`, cleans torn writes, quarantines corrupt
    /// records and returns the valid ones, oldest first.
    pub(crate) fn open(dir: &Path) -> Result<(Spool, Replay), SpoolError> {
        let spool = Spool {
            dir: dir.to_path_buf(),
        };
        for sub in [
            spool.dir.clone(),
            spool.tmp_dir(),
            spool.failed_dir(),
            spool.corrupt_dir(),
        ] {
            fs::create_dir_all(&sub).map_err(io_err("create", &sub))?;
        }
        let mut replay = Replay::default();
        let tmp = spool.tmp_dir();
        for entry in fs::read_dir(&tmp).map_err(io_err("list", &tmp))? {
            let path = entry.map_err(io_err("list", &tmp))?.path();
            if path.is_file() {
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
                replay.torn += 1;
            }
        }
        for entry in fs::read_dir(&spool.dir).map_err(io_err("list", &spool.dir))? {
            let path = entry.map_err(io_err("list", &spool.dir))?.path();
            if !path.is_file() || path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
                continue;
            }
            let bytes = fs::read(&path).map_err(io_err("read", &path))?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| Uuid::parse_str(s).ok());
            match (parse_record(&bytes), stem) {
                (Some(record), Some(id)) if record.case_id == id => replay.records.push(record),
                _ => {
                    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
                    let target = spool.corrupt_dir().join(name);
                    fs::rename(&path, &target).map_err(io_err("quarantine", &path))?;
                    replay.corrupt.push(target);
                }
            }
        }
        if replay.torn > 0 || !replay.corrupt.is_empty() {
            sync_dir(&spool.dir)?;
        }
        replay.records.sort_by(|a, b| {
            a.spooled_at_unix_ms
                .cmp(&b.spooled_at_unix_ms)
                .then(a.case_id.cmp(&b.case_id))
        });
        Ok((spool, replay))
    }

    fn tmp_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    fn failed_dir(&self) -> PathBuf {
        self.dir.join("failed")
    }

    fn corrupt_dir(&self) -> PathBuf {
        self.dir.join("corrupt")
    }

    fn record_path(&self, case_id: Uuid) -> PathBuf {
        self.dir.join(format!("{case_id}.{EXTENSION}"))
    }

    /// Writes a record durably: temp file, fsync, rename, fsync of the folder.
    pub(crate) fn write(&self, case_id: Uuid, body: &[u8]) -> Result<(), SpoolError> {
        let path = self.record_path(case_id);
        if path.exists() {
            return Err(SpoolError::Duplicate(case_id));
        }
        let tmp = self.tmp_dir().join(format!("{case_id}.tmp"));
        let header = format!(
            "{MAGIC}\ncase_id {case_id}\nspooled_at_unix_ms {}\nsha256 {}\nlength {}\n\n",
            now_unix_ms(),
            sha256_hex(body),
            body.len()
        );
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        file.write_all(header.as_bytes())
            .map_err(io_err("write", &tmp))?;
        file.write_all(body).map_err(io_err("write", &tmp))?;
        file.sync_all().map_err(io_err("fsync", &tmp))?;
        drop(file);
        fs::rename(&tmp, &path).map_err(io_err("rename", &tmp))?;
        sync_dir(&self.dir)
    }

    /// Removes a delivered record.
    pub(crate) fn remove(&self, case_id: Uuid) -> Result<(), SpoolError> {
        let path = self.record_path(case_id);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SpoolError::Io {
                op: "remove",
                path,
                source: e,
            }),
        }
    }

    /// Moves a permanently refused record to `failed/` with a `.reason` file beside it.
    /// `body` is written there if the record was never spooled.
    pub(crate) fn mark_failed(
        &self,
        case_id: Uuid,
        body: &[u8],
        reason: &str,
    ) -> Result<PathBuf, SpoolError> {
        let failed = self.failed_dir();
        let target = failed.join(format!("{case_id}.{EXTENSION}"));
        let source = self.record_path(case_id);
        if source.exists() {
            fs::rename(&source, &target).map_err(io_err("rename", &source))?;
        } else {
            let mut file = File::create(&target).map_err(io_err("create", &target))?;
            file.write_all(body).map_err(io_err("write", &target))?;
            file.sync_all().map_err(io_err("fsync", &target))?;
        }
        let reason_path = failed.join(format!("{case_id}.reason"));
        let text = format!("{} {reason}\n", rfc3339_utc(now_unix_ms()));
        let mut file = File::create(&reason_path).map_err(io_err("create", &reason_path))?;
        file.write_all(text.as_bytes())
            .map_err(io_err("write", &reason_path))?;
        file.sync_all().map_err(io_err("fsync", &reason_path))?;
        sync_dir(&failed)?;
        sync_dir(&self.dir)?;
        Ok(target)
    }
}

fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync", dir))
}

/// Parses and verifies one record; `None` if anything is off.
fn parse_record(bytes: &[u8]) -> Option<SpoolRecord> {
    let split = bytes.windows(2).position(|w| w == b"\n\n")?;
    let header = std::str::from_utf8(bytes.get(..split)?).ok()?;
    let body = bytes.get(split + 2..)?;
    let mut lines = header.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut case_id = None;
    let mut spooled_at = None;
    let mut sha = None;
    let mut length = None;
    for line in lines {
        let (key, value) = line.split_once(' ')?;
        match key {
            "case_id" => case_id = Uuid::parse_str(value).ok(),
            "spooled_at_unix_ms" => spooled_at = value.parse::<u64>().ok(),
            "sha256" => sha = Some(value.to_owned()),
            "length" => length = value.parse::<usize>().ok(),
            _ => {}
        }
    }
    if length? != body.len() || sha? != sha256_hex(body) {
        return None;
    }
    Some(SpoolRecord {
        case_id: case_id?,
        spooled_at_unix_ms: spooled_at?,
        body: Arc::from(body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_replay_remove() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, replay) = Spool::open(dir.path()).unwrap();
        assert!(replay.records.is_empty());
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        spool.write(a, b"{\"a\":1}").unwrap();
        spool.write(b, b"{\"b\":2}").unwrap();
        assert!(matches!(
            spool.write(a, b"x"),
            Err(SpoolError::Duplicate(_))
        ));
        let (spool, replay) = Spool::open(dir.path()).unwrap();
        let ids: Vec<Uuid> = replay.records.iter().map(|r| r.case_id).collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&a) && ids.contains(&b));
        spool.remove(a).unwrap();
        spool.mark_failed(b, b"", "status 400").unwrap();
        let (_, replay) = Spool::open(dir.path()).unwrap();
        assert!(replay.records.is_empty());
        assert!(
            dir.path()
                .join("failed")
                .join(format!("{b}.reason"))
                .exists()
        );
    }

    #[test]
    fn torn_and_corrupt_records_do_not_hide_good_ones() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(dir.path()).unwrap();
        let good = Uuid::new_v4();
        let bad = Uuid::new_v4();
        spool.write(good, b"{\"good\":true}").unwrap();
        spool.write(bad, b"{\"bad\":true}").unwrap();
        // Torn tail of one record, plus a torn temp file.
        let bad_path = dir.path().join(format!("{bad}.wpr"));
        let bytes = fs::read(&bad_path).unwrap();
        fs::write(&bad_path, &bytes[..bytes.len() - 3]).unwrap();
        fs::write(
            dir.path().join("tmp").join("x.tmp"),
            b"WAYPOINT-SPOOL 1\ncase_",
        )
        .unwrap();
        let (_, replay) = Spool::open(dir.path()).unwrap();
        assert_eq!(replay.records.len(), 1);
        assert_eq!(replay.records[0].case_id, good);
        assert_eq!(&*replay.records[0].body, b"{\"good\":true}");
        assert_eq!(replay.corrupt.len(), 1);
        assert_eq!(replay.torn, 1);
    }
}
