//! Per-group counts for `waypoint eval --group-field FIELD` (for example a functional test
//! suite's `functionality`).
//!
//! For each value of the grouping field: the lines scored, how many of the group's positive lines
//! were flagged for their own category (a line labelled `threat` counts only when the policy
//! names `threat`; a line mapped to several categories counts when any of them is named), and how
//! many lines got any response at all (for a benign group, the share of false alarms), and how
//! many were referred to human review (for a benign group, the most serious false alarm). Lines
//! whose label maps to `skip` are counted apart and never scored.

use std::collections::BTreeMap;

use serde::Serialize;
use waypoint::{MessageScore, ResponseLevel};

use super::labels::Target;
use super::metrics::Interval;

/// Distinct group values tracked one by one; further values are counted under [`OTHER_GROUPS`].
const MAX_GROUPS: usize = 1000;
/// The bucket for group values beyond [`MAX_GROUPS`].
const OTHER_GROUPS: &str = "(other groups)";

#[derive(Debug, Default)]
struct GroupTally {
    positive: u64,
    benign: u64,
    skipped: u64,
    flagged_own_category: u64,
    flagged_any: u64,
    referred: u64,
}

/// Running per-group counts.
#[derive(Debug, Default)]
pub struct GroupTallies {
    groups: BTreeMap<String, GroupTally>,
}

impl GroupTallies {
    fn entry(&mut self, group: &str) -> &mut GroupTally {
        let key = if self.groups.contains_key(group) || self.groups.len() < MAX_GROUPS {
            group
        } else {
            OTHER_GROUPS
        };
        self.groups.entry(key.to_owned()).or_default()
    }

    /// Counts a line of `group` whose label maps to `skip`.
    pub fn add_skipped(&mut self, group: &str) {
        self.entry(group).skipped += 1;
    }

    /// Counts one scored line of `group` with its target (`Benign` or `Positive`).
    pub fn add(&mut self, group: &str, target: Target, scored: &MessageScore) {
        let tally = self.entry(group);
        tally.flagged_any += u64::from(scored.decision.level != ResponseLevel::None);
        tally.referred += u64::from(scored.decision.level == ResponseLevel::Review);
        match target {
            Target::Skip => tally.skipped += 1,
            Target::Benign => tally.benign += 1,
            Target::Positive(set) => {
                tally.positive += 1;
                let own = scored
                    .decision
                    .reasons
                    .iter()
                    .any(|reason| set.contains(reason.category));
                tally.flagged_own_category += u64::from(own);
            }
        }
    }

    /// The per-group results, ordered by group value.
    pub fn report(&self) -> Vec<GroupReport> {
        self.groups
            .iter()
            .map(|(group, t)| {
                let rows = t.positive + t.benign;
                GroupReport {
                    group: group.clone(),
                    rows,
                    positive: t.positive,
                    benign: t.benign,
                    skipped: t.skipped,
                    flagged_own_category: t.flagged_own_category,
                    own_category_recall: share(t.flagged_own_category, t.positive),
                    own_category_recall_interval_95: Interval::wilson(
                        t.flagged_own_category,
                        t.positive,
                    ),
                    flagged_any: t.flagged_any,
                    flagged_any_rate: share(t.flagged_any, rows),
                    flagged_any_interval_95: Interval::wilson(t.flagged_any, rows),
                    referred: t.referred,
                    referred_rate: share(t.referred, rows),
                }
            })
            .collect()
    }
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// One group's results.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    /// The value of the grouping field.
    pub group: String,
    /// Lines scored (positive + benign).
    pub rows: u64,
    /// Lines whose label maps to a category.
    pub positive: u64,
    /// Lines whose label maps to `none`.
    pub benign: u64,
    /// Lines whose label maps to `skip` (not scored).
    pub skipped: u64,
    /// Positive lines flagged for (one of) their own categories.
    pub flagged_own_category: u64,
    /// `flagged_own_category / positive`: the group's recall (`None` without positive lines).
    pub own_category_recall: Option<f64>,
    /// The 95 % interval of `own_category_recall`.
    pub own_category_recall_interval_95: Option<Interval>,
    /// Lines given any response.
    pub flagged_any: u64,
    /// `flagged_any / rows` (for a benign group: the share of false alarms).
    pub flagged_any_rate: Option<f64>,
    /// The 95 % interval of `flagged_any_rate`.
    pub flagged_any_interval_95: Option<Interval>,
    /// Lines referred to human review.
    pub referred: u64,
    /// `referred / rows`.
    pub referred_rate: Option<f64>,
}
