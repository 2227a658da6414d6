//! Combining concurrent changes to one player's state, and moving state between time bases.
//!
//! When two game servers change the same player at once, each started from the copy it last
//! read (the *base*). The second writer applies what it changed since its base on top of what
//! the first one wrote (the *remote*): added risk, blocks and messages are summed (decayed to a
//! common time), responses given keep the latest time, reporters and trajectory points are
//! united, feedback counts add up. Nothing either server added is lost.
//!
//! Both functions destructure [`PlayerState`] without `..`, so a new field does not compile until
//! it says how it merges and whether it holds a time.

use super::{Decay, MAX_REPORTERS, PlayerState, ReporterMark, TRAJECTORY_POINTS, TrajectoryPoint};
use crate::clock::Timestamp;
use crate::policy::Policy;

impl PlayerState {
    /// `remote` with the changes `self` made since `base` applied on top of it.
    ///
    /// `base` is the copy `self` was derived from (`None` when the player was new here); `remote`
    /// is what the store holds now. Sums are decayed to the later of the two states' times.
    pub fn merged_onto(
        &self,
        base: Option<&PlayerState>,
        remote: &PlayerState,
        policy: &Policy,
    ) -> PlayerState {
        let empty = PlayerState::new(Timestamp::ZERO);
        let base = base.unwrap_or(&empty);
        let PlayerState {
            risk,
            decayed_at,
            blocks,
            rate,
            reporters,
            last_given,
            last_seen,
            last_text,
            repeats,
            age_band,
            locale,
            outcomes,
            trajectory,
            scores,
        } = self;
        // What `self` added, as of its own time: base decayed to then, subtracted.
        let mut base_then = base.clone();
        base_then.advance(*decayed_at, policy);
        let mut merged = remote.clone();
        let now = (*decayed_at).max(remote.decayed_at);
        merged.advance(now, policy);
        let carry = Decay::over(now.since(*decayed_at), policy);
        for (i, value) in merged.risk.0.iter_mut().enumerate() {
            let added = risk.0[i] - base_then.risk.0[i];
            *value = (*value + added * carry.risk).max(0.0);
        }
        merged.blocks = (merged.blocks + (blocks - base_then.blocks) * carry.blocks).max(0.0);
        merged.rate = (merged.rate + (rate - base_then.rate) * carry.rate).max(0.0);
        merged.reporters = united_reporters(&merged.reporters, reporters);
        for (i, mine) in last_given.iter().enumerate() {
            merged.last_given[i] = merged_given(base.last_given[i], *mine, remote.last_given[i]);
        }
        merged.last_seen = merged.last_seen.max(*last_seen);
        if (*last_text, *repeats) != (base.last_text, base.repeats) {
            merged.last_text = *last_text;
            merged.repeats = *repeats;
        }
        if *age_band != base.age_band {
            merged.age_band = *age_band;
        }
        if *locale != base.locale {
            merged.locale.clone_from(locale);
        }
        let counts = &mut merged.outcomes;
        counts.help_opened = added_count(
            counts.help_opened,
            outcomes.help_opened,
            base.outcomes.help_opened,
        );
        counts.upheld = added_count(counts.upheld, outcomes.upheld, base.outcomes.upheld);
        counts.dismissed = added_count(
            counts.dismissed,
            outcomes.dismissed,
            base.outcomes.dismissed,
        );
        let new_points = trajectory.iter().filter(|p| !base.trajectory.contains(p));
        merged.trajectory = united_trajectory(&merged.trajectory, new_points);
        // The drift window holds quantised scores without times: a side that scored new
        // messages wins (two servers scoring one player's chat at the same instant is rare, and
        // the window only steers the drift boost, never a sum).
        if *scores != base.scores {
            merged.scores.clone_from(scores);
        }
        merged
    }

    /// Moves every time in the state by `offset_ms` (from one clock's base to another's, for
    /// example from an engine's clock to Unix time), saturating at the ends.
    pub(crate) fn rebased(mut self, offset_ms: i64) -> PlayerState {
        let shift = |at: &mut Timestamp| {
            at.0 = at.0.saturating_add_signed(offset_ms);
        };
        let PlayerState {
            risk: _,
            decayed_at,
            blocks: _,
            rate: _,
            reporters,
            last_given,
            last_seen,
            last_text: _,
            repeats: _,
            age_band: _,
            locale: _,
            outcomes: _,
            trajectory,
            scores: _,
        } = &mut self;
        shift(decayed_at);
        shift(last_seen);
        reporters.iter_mut().for_each(|mark| shift(&mut mark.at));
        last_given.iter_mut().flatten().for_each(shift);
        trajectory.iter_mut().for_each(|point| shift(&mut point.at));
        self
    }
}

/// The latest time a response was given, given what the base, this side and the other side say:
/// a change here wins (a dismissed review resets the ladder to `None`) unless the other side
/// gave the response later than the base knew.
fn merged_given(
    base: Option<Timestamp>,
    mine: Option<Timestamp>,
    theirs: Option<Timestamp>,
) -> Option<Timestamp> {
    if mine == base {
        return theirs;
    }
    match mine {
        Some(at) => Some(theirs.map_or(at, |other| other.max(at))),
        None => theirs.filter(|other| Some(*other) > base),
    }
}

fn added_count(theirs: u16, mine: u16, base: u16) -> u16 {
    theirs.saturating_add(mine.saturating_sub(base))
}

/// Both sides' reporters, each once with its latest report, the most recent [`MAX_REPORTERS`].
fn united_reporters(theirs: &[ReporterMark], mine: &[ReporterMark]) -> Vec<ReporterMark> {
    let mut all: Vec<ReporterMark> = theirs.to_vec();
    for mark in mine {
        match all.iter_mut().find(|m| m.tag == mark.tag) {
            Some(known) => known.at = known.at.max(mark.at),
            None => all.push(*mark),
        }
    }
    all.sort_by_key(|mark| std::cmp::Reverse(mark.at));
    all.truncate(MAX_REPORTERS);
    all
}

/// The other side's trajectory with this side's new points, in time order, the last
/// [`TRAJECTORY_POINTS`].
fn united_trajectory<'a>(
    theirs: &std::collections::VecDeque<TrajectoryPoint>,
    new_points: impl Iterator<Item = &'a TrajectoryPoint>,
) -> std::collections::VecDeque<TrajectoryPoint> {
    let mut all: Vec<TrajectoryPoint> = theirs.iter().copied().collect();
    for point in new_points {
        if !all.contains(point) {
            all.push(*point);
        }
    }
    all.sort_by_key(|p| p.at);
    let skip = all.len().saturating_sub(TRAJECTORY_POINTS);
    let mut kept: std::collections::VecDeque<TrajectoryPoint> =
        all.into_iter().skip(skip).collect();
    kept.reserve_exact(TRAJECTORY_POINTS.saturating_sub(kept.len()));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;
    use crate::policy::ResponseLevel;
    use crate::risk::Risk;
    use crate::signal::SignalKind;

    fn total(risk: &Risk) -> f32 {
        risk.0.iter().sum()
    }

    fn evidence(state: &mut PlayerState, at: Timestamp, weight: f32, policy: &Policy) {
        state.advance(at, policy);
        state.add_risk(&Risk([0.0, 0.0, 0.0, weight]));
        state.push_trajectory(TrajectoryPoint {
            at,
            signal: SignalKind::Custom,
            added: weight,
            risk: state.risk(),
        });
    }

    #[test]
    fn concurrent_additions_sum() {
        let policy = Policy::default();
        let now = Timestamp(1_000);
        let mut base = PlayerState::new(now);
        evidence(&mut base, now, 1.0, &policy);
        let mut a = base.clone();
        let mut b = base.clone();
        evidence(&mut a, now, 0.25, &policy);
        evidence(&mut b, now, 0.5, &policy);
        a.note_block();
        b.note_block();
        let merged = b.merged_onto(Some(&base), &a, &policy);
        assert!((merged.risk().get(Category::Extremism) - 1.75).abs() < 1e-6);
        assert!((merged.blocks() - 2.0).abs() < 1e-6);
        assert_eq!(merged.trajectory().len(), 3, "both new points kept");
    }

    #[test]
    fn additions_are_decayed_to_the_later_time() {
        let policy = Policy::default();
        let base = PlayerState::new(Timestamp::ZERO);
        let mut early = base.clone();
        evidence(&mut early, Timestamp::ZERO, 2.0, &policy);
        let mut late = base.clone();
        let half_life = Timestamp::ZERO.plus(policy.risk.half_life);
        evidence(&mut late, half_life, 1.0, &policy);
        // The early addition has halved by the time of the late one, in either order.
        for merged in [
            early.merged_onto(Some(&base), &late, &policy),
            late.merged_onto(Some(&base), &early, &policy),
        ] {
            assert!(
                (merged.risk().get(Category::Extremism) - 2.0).abs() < 1e-4,
                "{merged:?}"
            );
        }
    }

    #[test]
    fn responses_keep_the_latest_time_and_a_reset_wins_over_older_ones() {
        let policy = Policy::default();
        let mut base = PlayerState::new(Timestamp::ZERO);
        base.record_response(ResponseLevel::Nudge, Timestamp(10));
        let mut reset = base.clone();
        reset.reset_ladder();
        let mut other = base.clone();
        other.record_response(ResponseLevel::Help, Timestamp(20));
        let merged = reset.merged_onto(Some(&base), &other, &policy);
        assert_eq!(merged.last_given(), [None, Some(Timestamp(20)), None]);
        let merged = other.merged_onto(Some(&base), &reset, &policy);
        assert_eq!(merged.last_given(), [None, Some(Timestamp(20)), None]);
    }

    #[test]
    fn a_player_new_on_both_sides_sums_both() {
        let policy = Policy::default();
        let mut a = PlayerState::new(Timestamp(5));
        let mut b = PlayerState::new(Timestamp(5));
        evidence(&mut a, Timestamp(5), 0.3, &policy);
        evidence(&mut b, Timestamp(5), 0.4, &policy);
        a.outcomes_mut().help_opened = 1;
        let merged = a.merged_onto(None, &b, &policy);
        assert!((total(&merged.risk()) - 0.7).abs() < 1e-6);
        assert_eq!(merged.outcomes().help_opened, 1);
    }

    #[test]
    fn rebasing_moves_every_time_and_serialises_round_trip() {
        let policy = Policy::default();
        let mut state = PlayerState::new(Timestamp(1_000));
        state.note_report(7, Timestamp(1_500));
        state.record_response(ResponseLevel::Review, Timestamp(2_000));
        evidence(&mut state, Timestamp(2_000), 0.125, &policy);
        state.add_risk(&Risk([0.123_456_79, 0.0, 0.0, 0.0]));
        let moved = state.clone().rebased(1_700_000_000_000);
        assert_eq!(moved.last_seen(), Timestamp(1_700_000_002_000));
        assert_eq!(moved.last_given()[2], Some(Timestamp(1_700_000_002_000)));
        assert_eq!(moved.trajectory()[0].at, Timestamp(1_700_000_002_000));
        let json = serde_json::to_string(&moved).expect("serialises");
        let back: PlayerState = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, moved, "{json}");
        assert_eq!(back.rebased(-1_700_000_000_000), state);
    }
}
