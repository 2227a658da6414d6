//! Many windows of many servers merged per window: what `waypoint report` reads.

use std::collections::{BTreeMap, BTreeSet};

use super::aggregate::Aggregate;
use super::record::Record;

/// Many windows of many servers, merged per window.
///
/// Windows are keyed by their start (Unix seconds). Two records for the same window (from two
/// servers, or from one server that restarted within the window) are added together.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rollup {
    /// Per window start: the merged counts.
    pub windows: BTreeMap<u64, Aggregate>,
    /// Per window start: the servers that contributed.
    pub servers_per_window: BTreeMap<u64, BTreeSet<String>>,
    /// Every server seen.
    pub servers: BTreeSet<String>,
    /// The window lengths seen (normally one).
    pub window_secs: BTreeSet<u64>,
    /// The largest `k` of any merged record (the bound a suppressed cell stays below).
    pub max_k: u64,
    /// The noise budgets of merged records that had noise, ascending, without repeats.
    pub epsilons: Vec<f64>,
    /// Whether any merged record had no noise.
    pub any_exact: bool,
}

impl Rollup {
    /// Adds one window of one server: `record`'s header and its counts `agg`
    /// ([`Record::to_aggregate`]).
    pub fn add(&mut self, record: &Record, agg: &Aggregate) {
        self.windows
            .entry(record.window_start)
            .or_default()
            .merge(agg);
        self.servers_per_window
            .entry(record.window_start)
            .or_default()
            .insert(record.server.clone());
        self.servers.insert(record.server.clone());
        self.window_secs.insert(record.window_secs);
        self.max_k = self.max_k.max(record.k);
        match record.epsilon {
            Some(eps) => self.add_epsilon(eps),
            None => self.any_exact = true,
        }
    }

    fn add_epsilon(&mut self, eps: f64) {
        if !self.epsilons.iter().any(|e| e.to_bits() == eps.to_bits()) {
            self.epsilons.push(eps);
            self.epsilons.sort_by(f64::total_cmp);
        }
    }

    /// Adds everything in `other`.
    pub fn merge(&mut self, other: &Rollup) {
        for (start, agg) in &other.windows {
            self.windows.entry(*start).or_default().merge(agg);
        }
        for (start, servers) in &other.servers_per_window {
            self.servers_per_window
                .entry(*start)
                .or_default()
                .extend(servers.iter().cloned());
        }
        self.servers.extend(other.servers.iter().cloned());
        self.window_secs.extend(other.window_secs.iter().copied());
        self.max_k = self.max_k.max(other.max_k);
        for eps in &other.epsilons {
            self.add_epsilon(*eps);
        }
        self.any_exact |= other.any_exact;
    }

    /// All windows added together.
    pub fn total(&self) -> Aggregate {
        let mut total = Aggregate::default();
        for agg in self.windows.values() {
            total.merge(agg);
        }
        total
    }
}
