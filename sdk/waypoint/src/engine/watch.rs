//! Optional policy file watching: a `waypoint-policy-watch` thread polls the file and swaps in
//! each valid new version. An invalid file is rejected with its line/column error (reported on
//! stderr and counted in `Stats::policy_rejected`) and the policy in force stays.
//!
//! Polling (size and modification time) needs no platform notification API and costs one
//! `stat` per interval. The thread holds only a weak reference to the engine and stops once the
//! engine is shut down or dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::Shared;

/// What identifies a version of the file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// Starts watching `path`, polling every `interval`.
pub(super) fn spawn(
    shared: &Arc<Shared>,
    path: PathBuf,
    interval: Duration,
) -> std::io::Result<()> {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    let mut last = stamp(&path);
    std::thread::Builder::new()
        .name("waypoint-policy-watch".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                let Some(shared) = weak.upgrade() else { return };
                if !shared.worker_alive.load(Ordering::SeqCst) {
                    return;
                }
                let now = stamp(&path);
                if now != last && now.is_some() {
                    last = now;
                    if let Err(e) = shared.reload_policy(&path) {
                        log::warn!("waypoint: policy not reloaded, the one in force stays: {e}");
                    }
                }
            }
        })
        .map(|_| ())
}
