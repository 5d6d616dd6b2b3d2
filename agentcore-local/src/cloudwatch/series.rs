//! The live-session count over time, per region: what CloudWatch's `ActiveSessionCount` is computed
//! from. The data plane records the count each time it changes ([`ActiveSessionSeries::record`],
//! under its session table's lock, on the service clock); readers copy the part of a region's
//! history a request needs ([`ActiveSessionSeries::view`]) and aggregate it without any lock.
//!
//! **Aggregation** ([`View::stats`]): a period bucket covers `[start, start + period)`, cut at the
//! service clock's "now" (the current bucket is partial, as in CloudWatch) and at the oldest
//! instant the history still knows. Minimum and Maximum are the lowest and highest counts in effect
//! at any instant of the covered span, "now" included (so a session that lived a millisecond shows in
//! Maximum); Average is the time-weighted mean over the span; SampleCount is the span in seconds,
//! as if the gauge were sampled once a second (CloudWatch's high-resolution rate), and Sum is
//! Average × SampleCount. AWS samples its gauge at an interval it does not publish: its Maximum
//! can miss spikes shorter than that interval, this one cannot.
//!
//! **Which buckets have a datapoint**: those where at least one session was live at some instant.
//! A bucket where the count stayed 0 has none, on the guess that AgentCore publishes the gauge only
//! while sessions exist (AWS does not say).
//!
//! **Memory is bounded**: per region, the changes of the last [`RETENTION`] (CloudWatch keeps
//! 1-minute data for 15 days) and at most [`MAX_CHANGES_PER_REGION`] of them; older changes are
//! forgotten, and with them the history before the oldest one kept.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long changes are kept (service time): CloudWatch's retention of 1-minute datapoints.
pub const RETENTION: Duration = Duration::from_secs(15 * 24 * 3600);
/// Most changes kept per region: 16 bytes each, so at most 3.2 MB per region. At AWS's
/// new-sessions quota (25 a second, so at most 50 changes a second) that is over an hour of history.
pub const MAX_CHANGES_PER_REGION: usize = 200_000;

/// Milliseconds since the Unix epoch (service time).
pub type Millis = i64;

/// `t` in milliseconds since the Unix epoch (saturating; service time never precedes the epoch).
pub fn millis(t: SystemTime) -> Millis {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX))
}

/// One region's changes: the count was `before` from `since` until the first change, then each
/// change's value from its instant on.
#[derive(Debug)]
struct RegionSeries {
    since: Millis,
    before: u32,
    changes: VecDeque<(Millis, u32)>,
}

impl RegionSeries {
    fn last_value(&self) -> u32 {
        self.changes.back().map_or(self.before, |&(_, v)| v)
    }

    /// Forgets the oldest change into `since`/`before` (the count from it to the next change
    /// stays known).
    fn forget_oldest(&mut self) {
        if let Some((at, value)) = self.changes.pop_front() {
            self.since = at;
            self.before = value;
        }
    }
}

/// Every region's live-session count over time (see the module docs).
#[derive(Debug)]
pub struct ActiveSessionSeries {
    /// When recording began: every region's count is known (0) from here on.
    started: Millis,
    regions: Mutex<HashMap<String, RegionSeries>>,
}

impl ActiveSessionSeries {
    /// A series whose history begins at `started` (service time), every region at 0.
    pub fn new(started: SystemTime) -> Self {
        Self { started: millis(started), regions: Mutex::new(HashMap::new()) }
    }

    fn regions(&self) -> MutexGuard<'_, HashMap<String, RegionSeries>> {
        self.regions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A session of `region` started at `at`.
    pub fn started(&self, region: &str, at: SystemTime) {
        self.update(region, at, |live| live.saturating_add(1));
    }

    /// A session of `region` ended at `at`.
    pub fn ended(&self, region: &str, at: SystemTime) {
        self.update(region, at, |live| live.saturating_sub(1));
    }

    /// Records that `region` has `live` sessions from `at` on.
    pub fn record(&self, region: &str, at: SystemTime, live: u32) {
        self.update(region, at, |_| live);
    }

    /// Sets `region`'s count from `at` on to `change` of its last value. Changes at one instant keep
    /// the last value; an instant before the last change (the clock never goes back, but callers
    /// race) counts as the last change's.
    fn update(&self, region: &str, at: SystemTime, change: impl FnOnce(u32) -> u32) {
        let at = millis(at);
        let mut regions = self.regions();
        let series = regions.entry(region.to_string()).or_insert_with(|| RegionSeries {
            since: self.started,
            before: 0,
            changes: VecDeque::new(),
        });
        let live = change(series.last_value());
        if series.last_value() == live {
            return;
        }
        let at = series.changes.back().map_or(at.max(series.since), |&(last, _)| at.max(last));
        match series.changes.back_mut() {
            Some(last) if last.0 == at => last.1 = live,
            _ => series.changes.push_back((at, live)),
        }
        let horizon = at.saturating_sub(RETENTION.as_millis() as Millis);
        while series.changes.len() > MAX_CHANGES_PER_REGION
            || series.changes.get(1).is_some_and(|&(second, _)| second <= horizon)
        {
            series.forget_oldest();
        }
    }

    /// A copy of `region`'s history over `[from, to]` as of `now` (all service time): the count in
    /// effect at `from` and the changes after it up to `to`. Cut at `now - RETENTION`.
    pub fn view(&self, region: &str, from: Millis, to: Millis, now: Millis) -> View {
        let horizon = now.saturating_sub(RETENTION.as_millis() as Millis);
        let regions = self.regions();
        let Some(series) = regions.get(region) else {
            return View { since: self.started.max(horizon), before: 0, changes: Vec::new(), now };
        };
        let since = series.since.max(horizon);
        let from = from.max(since);
        // Changes at or before `from` only tell the count at `from`.
        let first = series.changes.partition_point(|&(at, _)| at <= from);
        let before = if first == 0 { series.before } else { series.changes[first - 1].1 };
        let last = series.changes.partition_point(|&(at, _)| at <= to.min(now));
        let changes = series.changes.range(first..last.max(first)).copied().collect();
        View { since: from, before, changes, now }
    }

    /// Whether `region` had a live session at some instant in `[from, now]`.
    pub fn active_since(&self, region: &str, from: Millis, now: Millis) -> bool {
        let view = self.view(region, from, now, now);
        view.before > 0 || view.changes.iter().any(|&(_, v)| v > 0)
    }
}

/// Part of one region's history, copied out of the series: the count was `before` from `since`
/// until the first of `changes` (sorted, all after `since`), and nothing is known before `since`
/// or after `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    pub since: Millis,
    pub before: u32,
    pub changes: Vec<(Millis, u32)>,
    pub now: Millis,
}

/// One bucket's aggregate (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub minimum: u32,
    pub maximum: u32,
    /// ∫ count dt over the covered span, in count × milliseconds.
    pub integral: u128,
    /// The covered span, in milliseconds (> 0).
    pub covered: Millis,
}

impl Stats {
    pub fn sample_count(&self) -> f64 {
        self.covered as f64 / 1000.0
    }

    pub fn sum(&self) -> f64 {
        self.integral as f64 / 1000.0
    }

    pub fn average(&self) -> f64 {
        self.integral as f64 / self.covered as f64
    }
}

/// Period buckets: bucket `k` covers `[start + k × period, start + (k + 1) × period)`, for `k` in
/// `0..count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub start: Millis,
    pub period: Millis,
    pub count: u64,
}

impl Grid {
    pub fn bucket(&self, k: u64) -> Range<Millis> {
        let start = self.start.saturating_add((k as Millis).saturating_mul(self.period));
        start..start.saturating_add(self.period)
    }

    /// The bucket holding instant `t` (which must lie in the grid).
    fn index(&self, t: Millis) -> u64 {
        ((t - self.start) / self.period) as u64
    }

    /// Where the last bucket ends.
    pub fn end_time(&self) -> Millis {
        self.bucket(self.count).start
    }
}

impl View {
    /// The count in effect at `t` (`t` ≥ `since`).
    fn value_at(&self, t: Millis) -> u32 {
        let i = self.changes.partition_point(|&(at, _)| at <= t);
        if i == 0 { self.before } else { self.changes[i - 1].1 }
    }

    /// The aggregate over `bucket`, cut to `[since, now]`; `None` when none of it is known.
    pub fn stats(&self, bucket: Range<Millis>) -> Option<Stats> {
        let a = bucket.start.max(self.since);
        let b = bucket.end.min(self.now);
        if a >= b {
            return None;
        }
        let mut value = self.value_at(a);
        let (mut minimum, mut maximum) = (value, value);
        let mut integral = 0u128;
        let mut at = a;
        let first = self.changes.partition_point(|&(t, _)| t <= a);
        for &(t, next) in self.changes[first..].iter().take_while(|&&(t, _)| t < b) {
            integral += u128::from(value) * (t - at) as u128;
            (at, value) = (t, next);
            minimum = minimum.min(value);
            maximum = maximum.max(value);
        }
        integral += u128::from(value) * (b - at) as u128;
        if b == self.now {
            // "Now" is in the bucket: the count at this very instant is seen too.
            let current = self.value_at(self.now);
            minimum = minimum.min(current);
            maximum = maximum.max(current);
        }
        Some(Stats { minimum, maximum, integral, covered: b - a })
    }

    /// The buckets of `grid` that have a datapoint (a live session at some covered instant), as
    /// sorted, disjoint index ranges. Work is linear in the changes inside the grid.
    pub fn buckets_with_data(&self, grid: &Grid) -> Vec<Range<u64>> {
        let a = grid.start.max(self.since);
        let b = grid.end_time().min(self.now);
        let mut ranges: Vec<Range<u64>> = Vec::new();
        if a >= b {
            return ranges;
        }
        let mut push = |first: u64, last: u64| match ranges.last_mut() {
            Some(previous) if previous.end >= first => previous.end = previous.end.max(last + 1),
            _ => ranges.push(first..last + 1),
        };
        let first = self.changes.partition_point(|&(t, _)| t <= a);
        let mut value = self.value_at(a);
        let mut at = a;
        for &(t, next) in self.changes[first..].iter().take_while(|&&(t, _)| t < b) {
            if value > 0 && t > at {
                push(grid.index(at), grid.index(t - 1));
            }
            (at, value) = (t, next);
        }
        if value > 0 {
            push(grid.index(at), grid.index(b - 1));
        }
        if b == self.now && self.value_at(self.now) > 0 {
            push(grid.index(b - 1), grid.index(b - 1));
        }
        ranges
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const T0: Millis = 1_800_000_000_000;

    fn at(ms: Millis) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    }

    #[test]
    fn a_region_without_sessions_has_no_datapoints() {
        let series = ActiveSessionSeries::new(at(T0));
        let view = series.view("us-east-1", T0, T0 + 600_000, T0 + 600_000);
        let grid = Grid { start: T0, period: 60_000, count: 10 };
        assert!(view.buckets_with_data(&grid).is_empty());
        assert!(!series.active_since("us-east-1", T0, T0 + 600_000));
    }

    #[test]
    fn buckets_aggregate_minimum_maximum_and_time_weighted_average() {
        let series = ActiveSessionSeries::new(at(T0));
        series.record("r", at(T0 + 30_000), 2); // half of the first minute at 2
        series.record("r", at(T0 + 30_000), 3); // same instant: the last value wins
        series.record("r", at(T0 + 90_000), 1);
        series.record("r", at(T0 + 90_500), 4);
        series.record("r", at(T0 + 91_000), 1);
        let view = series.view("r", T0, T0 + 180_000, T0 + 150_000);
        let first = view.stats(T0..T0 + 60_000).unwrap();
        assert_eq!((first.minimum, first.maximum, first.sample_count()), (0, 3, 60.0));
        assert_eq!(first.average(), 1.5);
        assert_eq!(first.sum(), 90.0);
        let second = view.stats(T0 + 60_000..T0 + 120_000).unwrap();
        assert_eq!((second.minimum, second.maximum), (1, 4), "a half-second spike shows in Maximum");
        // Cut at now (T0 + 150 s): 30 s covered, all at 1.
        let third = view.stats(T0 + 120_000..T0 + 180_000).unwrap();
        assert_eq!((third.minimum, third.maximum, third.average(), third.covered), (1, 1, 1.0, 30_000));
        assert_eq!(view.stats(T0 + 150_000..T0 + 210_000), None, "nothing known after now");
        let grid = Grid { start: T0 - 60_000, period: 60_000, count: 5 };
        assert_eq!(view.buckets_with_data(&grid), vec![1..4]);
    }

    #[test]
    fn sessions_started_at_now_are_seen_in_the_current_bucket() {
        let series = ActiveSessionSeries::new(at(T0));
        series.record("r", at(T0 + 10_000), 3);
        let view = series.view("r", T0, T0 + 60_000, T0 + 10_000);
        let stats = view.stats(T0..T0 + 60_000).unwrap();
        assert_eq!((stats.minimum, stats.maximum, stats.covered), (0, 3, 10_000));
        assert_eq!(view.buckets_with_data(&Grid { start: T0, period: 60_000, count: 1 }), vec![0..1]);
    }

    #[test]
    fn starts_and_ends_move_the_count() {
        let series = ActiveSessionSeries::new(at(T0));
        series.started("r", at(T0 + 1));
        series.started("r", at(T0 + 2));
        series.ended("r", at(T0 + 3));
        series.ended("other", at(T0 + 3));
        let view = series.view("r", T0, T0 + 10, T0 + 10);
        assert_eq!(view.changes, vec![(T0 + 1, 1), (T0 + 2, 2), (T0 + 3, 1)]);
        assert!(series.view("other", T0, T0 + 10, T0 + 10).changes.is_empty(), "never below 0");
    }

    #[test]
    fn old_changes_are_forgotten_with_the_history_before_them() {
        let series = ActiveSessionSeries::new(at(T0));
        let day = 86_400_000;
        series.record("r", at(T0), 1);
        series.record("r", at(T0 + day), 2);
        series.record("r", at(T0 + 17 * day), 3);
        let now = T0 + 17 * day;
        let view = series.view("r", T0, now, now);
        assert_eq!(view.since, now - RETENTION.as_millis() as Millis, "nothing older than the retention");
        assert_eq!(view.before, 2);
        let regions = series.regions();
        assert_eq!(regions["r"].changes.len(), 2, "the change of day 0 was forgotten");
    }

    /// The count at each millisecond, by brute force.
    fn brute(changes: &[(Millis, u32)], since: Millis, now: Millis, bucket: Range<Millis>) -> Option<(u32, u32, u128)> {
        let value = |t: Millis| changes.iter().rev().find(|&&(at, _)| at <= t).map_or(0, |&(_, v)| v);
        let (a, b) = (bucket.start.max(since), bucket.end.min(now));
        if a >= b {
            return None;
        }
        let mut seen: Vec<u32> = (a..b).map(value).collect();
        if b == now {
            seen.push(value(now));
        }
        let integral = (a..b).map(|t| u128::from(value(t))).sum();
        Some((*seen.iter().min().unwrap(), *seen.iter().max().unwrap(), integral))
    }

    proptest! {
        #[test]
        fn stats_and_buckets_agree_with_brute_force(
            steps in proptest::collection::vec((0i64..400, 0u32..4), 0..20),
            now in 0i64..3_000,
            period in 1i64..400,
            grid_start in -200i64..200,
        ) {
            let series = ActiveSessionSeries::new(at(T0));
            let mut t = T0;
            let mut changes = Vec::new();
            for (gap, value) in steps {
                t += gap;
                series.record("r", at(t), value);
                changes.push((t, value));
            }
            let now = T0 + now.max(t - T0);
            let count = 12;
            let grid = Grid { start: T0 + grid_start, period, count };
            let view = series.view("r", grid.start, grid.end_time(), now);
            let mut with_data = Vec::new();
            for k in 0..count {
                let expected = brute(&changes, T0, now, grid.bucket(k));
                let got = view.stats(grid.bucket(k)).map(|s| (s.minimum, s.maximum, s.integral));
                prop_assert_eq!(got, expected, "bucket {}", k);
                if expected.is_some_and(|(_, max, _)| max > 0) {
                    with_data.push(k);
                }
            }
            let ranges: Vec<u64> = view.buckets_with_data(&grid).into_iter().flatten().collect();
            prop_assert_eq!(ranges, with_data);
        }
    }
}
