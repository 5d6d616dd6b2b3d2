//! The served operations, on the live-session history ([`super::series`]): GetMetricData,
//! GetMetricStatistics and ListMetrics for the one metric the emulator publishes,
//! `AWS/Bedrock-AgentCore` `ActiveSessionCount` with dimension `Service=AgentCore.Runtime`.
//! Any other metric (namespace, name or dimension set) has no datapoints and is not listed, as in
//! CloudWatch for a metric nobody published.
//!
//! **Buckets** start at `StartTime` rounded down as CloudWatch rounds it (its `StartTime`
//! documentation): to the period for periods under a minute, else to the minute, and to 5 minutes or
//! an hour for starts more than 15 or 63 days ago; `EndTime` is exclusive.
//! **Resolution**: the metric is a regular-resolution (1-minute) one, so a period under a minute has a
//! datapoint only in the buckets that begin a minute, holding that minute's aggregate (as CloudWatch
//! answers a sub-minute period for 1-minute data); and, as CloudWatch documents for `Period`, a window
//! starting more than 3 hours ago has datapoints only for periods that are multiples of 60 (of 300
//! from 15 days, of 3,600 from 63 days).
//! **Limits**: GetMetricStatistics refuses a request for more than [`MAX_STATISTICS_DATAPOINTS`]
//! buckets (`InvalidParameterCombination`, CloudWatch's documented error); GetMetricData returns at
//! most `MaxDatapoints` (default and most [`MAX_DATA_DATAPOINTS`]) datapoints per call and hands out a
//! `NextToken` for the rest, marking the queries not finished `PartialData`. The work of a call is
//! linear in the history's changes inside its window for each query, plus the datapoints returned.

use std::ops::Range;

use super::input::{self, DataQuery, Metric, Statistic};
use super::series::{ActiveSessionSeries, Grid, Millis, Stats, View};
use super::value::Value;
use crate::error::AwsError;

/// The namespace AgentCore publishes its metrics in.
pub const NAMESPACE: &str = "AWS/Bedrock-AgentCore";
/// The gauge of live runtime sessions.
pub const METRIC_NAME: &str = "ActiveSessionCount";
/// Its one dimension: (name, value).
pub const DIMENSION: (&str, &str) = ("Service", "AgentCore.Runtime");
/// The unit its datapoints carry (AWS does not document it; `Count` is what its other count
/// gauges use).
pub const UNIT: &str = "Count";
/// Most datapoints one GetMetricStatistics call may ask for (its documentation).
pub const MAX_STATISTICS_DATAPOINTS: u64 = 1_440;
/// Most datapoints one GetMetricData call returns (its documentation: "as many as 100,800").
pub const MAX_DATA_DATAPOINTS: u64 = 100_800;
/// ListMetrics lists metrics with data in the last two weeks (`RecentlyActive=PT3H`: 3 hours).
const LISTED_FOR: Millis = 14 * 24 * 3600 * 1000;
const RECENTLY_ACTIVE: Millis = 3 * 3600 * 1000;

/// What an operation runs on: the history, the caller's region and account, the service clock's
/// "now".
pub struct Call<'a> {
    pub series: &'a ActiveSessionSeries,
    pub region: &'a str,
    pub account_id: &'a str,
    pub now: Millis,
}

/// Whether `metric` is the one this service publishes (dimensions as a set, as CloudWatch matches
/// them; a unit other than [`UNIT`] matches no datapoint).
fn is_served(metric: &Metric, unit: Option<&str>) -> bool {
    metric.namespace == NAMESPACE
        && metric.metric_name == METRIC_NAME
        && metric.dimensions.len() == 1
        && metric.dimensions[0].name == DIMENSION.0
        && metric.dimensions[0].value == DIMENSION.1
        && unit.is_none_or(|u| u == UNIT)
}

const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;

/// What CloudWatch rounds a `StartTime` of age `age` down to, for `period` seconds.
fn start_rounding(age: Millis, period: i64) -> Millis {
    match age {
        age if age > 63 * DAY => HOUR,
        age if age > 15 * DAY => 5 * MINUTE,
        _ if period < 60 => period * 1000,
        _ => MINUTE,
    }
}

/// Whether CloudWatch has datapoints at `period` seconds for a window starting `age` ago (MetricStat's
/// `Period` documentation: otherwise "no data points in that time range is returned").
fn retained(age: Millis, period: i64) -> bool {
    let multiple_of = match age {
        age if age > 63 * DAY => 3600,
        age if age > 15 * DAY => 300,
        age if age > 3 * HOUR => 60,
        _ => 1,
    };
    period % multiple_of == 0
}

/// The buckets from `start` to `end` (epoch seconds) at `period` seconds, as of `now`.
fn buckets(start: f64, end: f64, period: i64, now: Millis) -> Grid {
    let start = (start * 1000.0).floor() as Millis;
    let unit = start_rounding(now.saturating_sub(start), period);
    let start = start.div_euclid(unit) * unit;
    let end = (end * 1000.0).ceil() as Millis;
    let period = period * 1000;
    let count = ((end - start).max(0) as u64).div_ceil(period as u64);
    Grid { start, period, count }
}

/// One query's datapoints: the grid of its buckets over a view of the history. ActiveSessionCount
/// has 1-minute data, so under a minute only the buckets that begin a minute have a datapoint (that
/// minute's); and none at all where [`retained`] says CloudWatch has none.
struct Datapoints<'v> {
    view: &'v View,
    grid: Grid,
    retained: bool,
}

impl<'v> Datapoints<'v> {
    fn new(view: &'v View, grid: Grid, start: f64, now: Millis) -> Self {
        let age = now.saturating_sub((start * 1000.0).floor() as Millis);
        Self { view, grid, retained: retained(age, grid.period / 1000) }
    }

    /// The minutes whose datapoints fall in a sub-minute grid: those starting inside it.
    fn minutes(&self) -> Grid {
        let start = self.grid.start.div_euclid(MINUTE) * MINUTE;
        let start = if start < self.grid.start { start + MINUTE } else { start };
        let count = ((self.grid.end_time() - start).max(0) as u64).div_ceil(MINUTE as u64);
        Grid { start, period: MINUTE, count }
    }

    /// The buckets with a datapoint, as sorted, disjoint index ranges.
    fn with_data(&self) -> Vec<Range<u64>> {
        if !self.retained {
            return Vec::new();
        }
        if self.grid.period >= MINUTE {
            return self.view.buckets_with_data(&self.grid);
        }
        // Periods under a minute divide it, so every minute starts a bucket.
        let minutes = self.minutes();
        let stride = (MINUTE / self.grid.period) as u64;
        let first = ((minutes.start - self.grid.start) / self.grid.period) as u64;
        let with_data = self.view.buckets_with_data(&minutes).into_iter().flatten();
        with_data.map(|m| first + m * stride).map(|k| k..k + 1).collect()
    }

    /// Bucket `k`'s timestamp and aggregate, if it has a datapoint.
    fn stats(&self, k: u64) -> Option<(Millis, Stats)> {
        if !self.retained {
            return None;
        }
        let bucket = self.grid.bucket(k);
        let span = match self.grid.period {
            period if period >= MINUTE => bucket.clone(),
            _ if bucket.start.rem_euclid(MINUTE) == 0 => bucket.start..bucket.start.saturating_add(MINUTE),
            _ => return None,
        };
        Some((bucket.start, self.view.stats(span)?))
    }
}

/// The part of the history a grid's datapoints read: from its start to a minute past its end (the
/// last sub-minute bucket's minute).
fn span(grid: &Grid) -> (Millis, Millis) {
    (grid.start, grid.end_time().saturating_add(MINUTE))
}

fn value_of(stats: &Stats, stat: Statistic) -> f64 {
    match stat {
        Statistic::SampleCount => stats.sample_count(),
        Statistic::Average => stats.average(),
        Statistic::Sum => stats.sum(),
        Statistic::Minimum => f64::from(stats.minimum),
        Statistic::Maximum => f64::from(stats.maximum),
    }
}

fn seconds(t: Millis) -> f64 {
    t as f64 / 1000.0
}

/// Where a GetMetricData page starts: the query (by position) and how many of its datapoints the
/// earlier pages returned. Opaque to clients (`cw1.Q.N`), not bound to the request it came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    query: usize,
    offset: u64,
}

impl Position {
    fn token(self) -> String {
        format!("cw1.{}.{}", self.query, self.offset)
    }

    fn parse(token: &str) -> Option<Self> {
        let mut parts = token.strip_prefix("cw1.")?.split('.');
        let query = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self { query, offset })
    }
}

fn invalid_next_token() -> AwsError {
    AwsError::new(axum::http::StatusCode::BAD_REQUEST, "InvalidNextToken", "The NextToken is not valid.")
}

/// The bucket indices of `ranges` in scan order, from `offset`, at most `limit` of them.
fn page(ranges: &[Range<u64>], ascending: bool, offset: u64, limit: u64) -> Vec<u64> {
    let all = ranges.iter().cloned().flatten();
    let picked: Box<dyn Iterator<Item = u64>> =
        if ascending { Box::new(all) } else { Box::new(ranges.iter().rev().cloned().flat_map(Iterator::rev)) };
    picked.skip(offset as usize).take(limit as usize).collect()
}

/// GetMetricData (see the module docs for limits and pagination).
pub fn get_metric_data(call: &Call<'_>, input: &Value) -> Result<Value, AwsError> {
    let input = input::get_metric_data(input)?;
    let start = input.next_token.as_deref().map_or(Some(Position { query: 0, offset: 0 }), Position::parse);
    let start = start.filter(|p| p.query < input.queries.len()).ok_or_else(invalid_next_token)?;
    let mut budget = input.max_datapoints.map_or(MAX_DATA_DATAPOINTS, |n| (n as u64).min(MAX_DATA_DATAPOINTS));
    let grids: Vec<Grid> = input.queries.iter().map(|q| buckets(input.start, input.end, q.period, call.now)).collect();
    // One copy of the history for every query that reads it: the union of their spans.
    let served = |q: &DataQuery| q.return_data && is_served(&q.metric, q.unit.as_deref());
    let spans = input.queries.iter().zip(&grids).filter(|(q, _)| served(q)).map(|(_, grid)| span(grid));
    let view = spans
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
        .map(|(from, to)| call.series.view(call.region, from, to, call.now));
    // Queries with the same period and metric share their buckets with data.
    let mut with_data: Vec<(i64, Vec<Range<u64>>)> = Vec::new();
    let mut next: Option<Position> = None;
    let mut results = Vec::new();
    for (q, (query, grid)) in input.queries.iter().zip(&grids).enumerate() {
        if !query.return_data {
            continue;
        }
        let points =
            view.as_ref().filter(|_| served(query)).map(|view| Datapoints::new(view, *grid, input.start, call.now));
        let ranges: &[Range<u64>] = match &points {
            None => &[],
            Some(points) => {
                let i = match with_data.iter().position(|(period, _)| *period == query.period) {
                    Some(i) => i,
                    None => {
                        with_data.push((query.period, points.with_data()));
                        with_data.len() - 1
                    }
                };
                &with_data[i].1
            }
        };
        let total: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        let (indices, complete) = if q < start.query || next.is_some() {
            (Vec::new(), q < start.query)
        } else {
            let offset = if q == start.query { start.offset } else { 0 };
            if offset > total {
                return Err(invalid_next_token());
            }
            let indices = page(ranges, input.ascending, offset, budget);
            budget -= indices.len() as u64;
            let done = offset + indices.len() as u64;
            if done < total {
                next = Some(Position { query: q, offset: done });
            }
            (indices, done == total)
        };
        results.push(data_result(query, points.as_ref(), &indices, complete));
    }
    let mut output = vec![("MetricDataResults".to_string(), Value::List(results))];
    if let Some(next) = next {
        output.push(("NextToken".to_string(), Value::str(next.token())));
    }
    output.push(("Messages".to_string(), Value::List(Vec::new())));
    Ok(Value::Map(output))
}

fn data_result(query: &DataQuery, points: Option<&Datapoints<'_>>, indices: &[u64], complete: bool) -> Value {
    let (mut timestamps, mut values) = (Vec::with_capacity(indices.len()), Vec::with_capacity(indices.len()));
    for &k in indices {
        if let Some((at, stats)) = points.and_then(|p| p.stats(k)) {
            timestamps.push(Value::Timestamp(seconds(at)));
            values.push(Value::Float(value_of(&stats, query.stat)));
        }
    }
    Value::map([
        ("Id", Value::str(query.id.clone())),
        ("Label", Value::str(query.label.clone().unwrap_or_else(|| query.metric.metric_name.clone()))),
        ("Timestamps", Value::List(timestamps)),
        ("Values", Value::List(values)),
        ("StatusCode", Value::str(if complete { "Complete" } else { "PartialData" })),
        ("Messages", Value::List(Vec::new())),
    ])
}

/// GetMetricStatistics: every bucket with data, oldest first (CloudWatch promises no order).
pub fn get_metric_statistics(call: &Call<'_>, input: &Value) -> Result<Value, AwsError> {
    let input = input::get_metric_statistics(input)?;
    let grid = buckets(input.start, input.end, input.period, call.now);
    if grid.count > MAX_STATISTICS_DATAPOINTS {
        return Err(input::combination(format!(
            "You have requested up to {} datapoints, which exceeds the limit of 1,440. You may reduce the datapoints \
             requested by increasing Period, or decreasing the time range.",
            thousands(grid.count)
        )));
    }
    let mut datapoints = Vec::new();
    if is_served(&input.metric, input.unit.as_deref()) {
        let (from, to) = span(&grid);
        let view = call.series.view(call.region, from, to, call.now);
        let points = Datapoints::new(&view, grid, input.start, call.now);
        for k in points.with_data().into_iter().flatten() {
            let Some((at, stats)) = points.stats(k) else { continue };
            // The model's member order (`Datapoint` xmlOrder), which the query protocol's XML keeps.
            let mut members = vec![("Timestamp".to_string(), Value::Timestamp(seconds(at)))];
            for stat in Statistic::ALL.into_iter().filter(|s| input.statistics.contains(s)) {
                members.push((stat.name().to_string(), Value::Float(value_of(&stats, stat))));
            }
            members.push(("Unit".to_string(), Value::str(UNIT)));
            datapoints.push(Value::Map(members));
        }
    }
    Ok(Value::map([("Label", Value::str(input.metric.metric_name)), ("Datapoints", Value::List(datapoints))]))
}

/// `1,441`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// ListMetrics: the metric, when it had a live session in the last two weeks (3 hours with
/// `RecentlyActive=PT3H`) in the caller's region and the filters match it. One page.
pub fn list_metrics(call: &Call<'_>, input: &Value) -> Result<Value, AwsError> {
    let input = input::list_metrics(input)?;
    let window = if input.recently_active { RECENTLY_ACTIVE } else { LISTED_FOR };
    let matches = input.namespace.as_deref().is_none_or(|n| n == NAMESPACE)
        && input.metric_name.as_deref().is_none_or(|n| n == METRIC_NAME)
        && input
            .dimensions
            .iter()
            .all(|(name, value)| name == DIMENSION.0 && value.as_deref().is_none_or(|v| v == DIMENSION.1))
        && input.owning_account.as_deref().is_none_or(|a| a == call.account_id)
        && input.next_token.is_none()
        && call.series.active_since(call.region, call.now.saturating_sub(window), call.now);
    let metrics = if matches {
        vec![Value::map([
            ("Namespace", Value::str(NAMESPACE)),
            ("MetricName", Value::str(METRIC_NAME)),
            (
                "Dimensions",
                Value::List(vec![Value::map([("Name", Value::str(DIMENSION.0)), ("Value", Value::str(DIMENSION.1))])]),
            ),
        ])]
    } else {
        Vec::new()
    };
    let mut output = vec![("Metrics".to_string(), Value::List(metrics.clone()))];
    if input.include_linked_accounts {
        let owners = metrics.iter().map(|_| Value::str(call.account_id)).collect();
        output.push(("OwningAccounts".to_string(), Value::List(owners)));
    }
    Ok(Value::Map(output))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use proptest::prelude::*;

    use super::*;
    use crate::cloudwatch::value::strategy;

    const T0: f64 = 1_800_000_000.0; // a whole minute

    type Operation = fn(&Call<'_>, &Value) -> Result<Value, AwsError>;

    fn call(series: &ActiveSessionSeries, now: f64) -> Call<'_> {
        Call { series, region: "us-east-1", account_id: "123456789012", now: (now * 1000.0) as Millis }
    }

    fn at(seconds: f64) -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_secs_f64(seconds)
    }

    fn query(id: &str, stat: &str, period: i64) -> Value {
        Value::map([
            ("Id", Value::str(id)),
            (
                "MetricStat",
                Value::map([
                    (
                        "Metric",
                        Value::map([
                            ("Namespace", Value::str(NAMESPACE)),
                            ("MetricName", Value::str(METRIC_NAME)),
                            (
                                "Dimensions",
                                Value::List(vec![Value::map([
                                    ("Name", Value::str(DIMENSION.0)),
                                    ("Value", Value::str(DIMENSION.1)),
                                ])]),
                            ),
                        ]),
                    ),
                    ("Period", Value::Int(period)),
                    ("Stat", Value::str(stat)),
                ]),
            ),
        ])
    }

    fn values(result: &Value) -> Vec<f64> {
        let Some(Value::List(values)) = result.get("Values") else { panic!("{result:?}") };
        values.iter().map(|v| if let Value::Float(x) = v { *x } else { panic!("{v:?}") }).collect()
    }

    #[test]
    fn get_metric_data_pages_through_max_datapoints() {
        let series = ActiveSessionSeries::new(at(T0));
        series.record("us-east-1", at(T0 + 30.0), 2);
        series.record("us-east-1", at(T0 + 150.0), 5);
        let input = |token: Option<&str>| {
            let mut members = vec![
                (
                    "MetricDataQueries".to_string(),
                    Value::List(vec![query("a", "Maximum", 60), query("b", "Minimum", 60)]),
                ),
                ("StartTime".to_string(), Value::Timestamp(T0 + 10.0)),
                ("EndTime".to_string(), Value::Timestamp(T0 + 600.0)),
                ("ScanBy".to_string(), Value::str("TimestampAscending")),
                ("MaxDatapoints".to_string(), Value::Int(3)),
            ];
            if let Some(token) = token {
                members.push(("NextToken".to_string(), Value::str(token)));
            }
            Value::Map(members)
        };
        let call = call(&series, T0 + 200.0);
        let page = |token: Option<&str>| {
            let output = get_metric_data(&call, &input(token)).unwrap();
            let Some(Value::List(results)) = output.get("MetricDataResults") else { panic!() };
            if token.is_none() {
                let minutes = [T0, T0 + 60.0, T0 + 120.0].map(Value::Timestamp).to_vec();
                assert_eq!(results[0].get("Timestamps"), Some(&Value::List(minutes)), "the start rounded down");
            }
            let statuses: Vec<Value> = results.iter().map(|r| r.get("StatusCode").unwrap().clone()).collect();
            let token = match output.get("NextToken") {
                Some(Value::Str(token)) => Some(token.clone()),
                _ => None,
            };
            (results.iter().map(values).collect::<Vec<_>>(), statuses, token)
        };
        let (partial, complete) = (Value::str("PartialData"), Value::str("Complete"));
        // Maxima of minutes 0 to 3 (the start rounded down; minute 3 cut at now): 2, 2, 5, 5.
        let (first, statuses, token) = page(None);
        assert_eq!(first, [vec![2.0, 2.0, 5.0], vec![]]);
        assert_eq!(statuses, [partial.clone(), partial.clone()]);
        let (second, statuses, token) = page(token.as_deref());
        assert_eq!(second, [vec![5.0], vec![0.0, 2.0]], "the minima: 0 before the first session");
        assert_eq!(statuses, [complete.clone(), partial]);
        let (third, statuses, token) = page(token.as_deref());
        assert_eq!(third, [vec![], vec![2.0, 5.0]]);
        assert_eq!(statuses, [complete.clone(), complete]);
        assert_eq!(token, None);
        assert_eq!(get_metric_data(&call, &input(Some("cw1.9.0"))).unwrap_err().code, "InvalidNextToken");
    }

    #[test]
    fn get_metric_statistics_bounds_the_datapoints_and_ignores_other_metrics() {
        let series = ActiveSessionSeries::new(at(T0));
        series.record("us-east-1", at(T0), 1);
        let call = call(&series, T0 + 3600.0);
        let input = |namespace: &str, end: f64| {
            Value::map([
                ("Namespace", Value::str(namespace)),
                ("MetricName", Value::str(METRIC_NAME)),
                (
                    "Dimensions",
                    Value::List(vec![Value::map([
                        ("Name", Value::str("Service")),
                        ("Value", Value::str("AgentCore.Runtime")),
                    ])]),
                ),
                ("StartTime", Value::Timestamp(T0)),
                ("EndTime", Value::Timestamp(end)),
                ("Period", Value::Int(60)),
                ("Statistics", Value::List(vec![Value::str("Maximum"), Value::str("SampleCount")])),
            ])
        };
        let output = get_metric_statistics(&call, &input(NAMESPACE, T0 + 120.0)).unwrap();
        let Some(Value::List(points)) = output.get("Datapoints") else { panic!() };
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].get("SampleCount"), Some(&Value::Float(60.0)));
        let other = get_metric_statistics(&call, &input("AWS/Lambda", T0 + 120.0)).unwrap();
        assert_eq!(other.get("Datapoints"), Some(&Value::List(Vec::new())));
        let error = get_metric_statistics(&call, &input(NAMESPACE, T0 + 1441.0 * 60.0)).unwrap_err();
        assert_eq!(error.code, "InvalidParameterCombination");
        assert!(error.message.starts_with("You have requested up to 1,441 datapoints"), "{}", error.message);
        assert!(get_metric_statistics(&call, &input(NAMESPACE, T0 + 1440.0 * 60.0)).is_ok());
    }

    fn statistics_input(start: f64, end: f64, period: i64) -> Value {
        Value::map([
            ("Namespace", Value::str(NAMESPACE)),
            ("MetricName", Value::str(METRIC_NAME)),
            (
                "Dimensions",
                Value::List(vec![Value::map([("Name", Value::str(DIMENSION.0)), ("Value", Value::str(DIMENSION.1))])]),
            ),
            ("StartTime", Value::Timestamp(start)),
            ("EndTime", Value::Timestamp(end)),
            ("Period", Value::Int(period)),
            ("Statistics", Value::List(vec![Value::str("Minimum"), Value::str("Maximum")])),
        ])
    }

    /// (timestamp, minimum, maximum) of each datapoint.
    fn statistics(call: &Call<'_>, start: f64, end: f64, period: i64) -> Vec<(f64, f64, f64)> {
        let output = get_metric_statistics(call, &statistics_input(start, end, period)).unwrap();
        let Some(Value::List(points)) = output.get("Datapoints") else { panic!("{output:?}") };
        let number = |point: &Value, name: &str| match point.get(name) {
            Some(Value::Float(x) | Value::Timestamp(x)) => *x,
            other => panic!("{name}: {other:?}"),
        };
        points.iter().map(|p| (number(p, "Timestamp"), number(p, "Minimum"), number(p, "Maximum"))).collect()
    }

    #[test]
    fn sub_minute_periods_see_the_one_minute_datapoints() {
        let series = ActiveSessionSeries::new(at(T0));
        series.record("us-east-1", at(T0 + 30.0), 2);
        series.record("us-east-1", at(T0 + 100.0), 1);
        let call = call(&series, T0 + 150.0);
        let minutes = vec![(T0, 0.0, 2.0), (T0 + 60.0, 1.0, 2.0), (T0 + 120.0, 1.0, 1.0)];
        assert_eq!(statistics(&call, T0, T0 + 180.0, 60), minutes);
        for period in [1, 5, 10, 20, 30] {
            assert_eq!(statistics(&call, T0, T0 + 180.0, period), minutes, "period {period}");
        }
        // A start inside a minute leaves that minute's datapoint out.
        assert_eq!(statistics(&call, T0 + 10.0, T0 + 180.0, 10), minutes[1..]);
        // GetMetricData pages through the same datapoints, newest first by default.
        let query = Value::map([
            ("MetricDataQueries", Value::List(vec![query("m", "Maximum", 20)])),
            ("StartTime", Value::Timestamp(T0)),
            ("EndTime", Value::Timestamp(T0 + 180.0)),
            ("MaxDatapoints", Value::Int(2)),
        ]);
        let output = get_metric_data(&call, &query).unwrap();
        let Some(Value::List(results)) = output.get("MetricDataResults") else { panic!() };
        assert_eq!(
            results[0].get("Timestamps"),
            Some(&Value::List(vec![Value::Timestamp(T0 + 120.0), Value::Timestamp(T0 + 60.0)]))
        );
        assert_eq!(values(&results[0]), [1.0, 2.0]);
        assert_eq!(output.get("NextToken"), Some(&Value::str("cw1.0.2")));
    }

    #[test]
    fn old_windows_need_coarse_periods_and_start_on_coarse_boundaries() {
        let series = ActiveSessionSeries::new(at(T0));
        series.record("us-east-1", at(T0 + 30.0), 1);
        let hour = 3600.0;
        let later = call(&series, T0 + 4.0 * hour);
        assert_eq!(statistics(&later, T0, T0 + 120.0, 60).len(), 2);
        assert!(statistics(&later, T0, T0 + 120.0, 30).is_empty(), "no sub-minute data after 3 hours");
        // More than 15 days back the start is rounded to 5 minutes and periods must be multiples of 300.
        let (day, now) = (86_400_000, 1_800_000_000_000 + 20 * 86_400_000);
        let start = (now - 16 * day + 150_000) as f64 / 1000.0;
        assert_eq!(buckets(start, start + 3600.0, 3600, now).start, now - 16 * day);
        assert_eq!(buckets(start, start + 3600.0, 60, now - 16 * day + 200_000).start, now - 16 * day + 120_000);
        assert_eq!(buckets(start, start + 3600.0, 60, now + 50 * day).start % 3_600_000, 0, "63 days: to the hour");
        assert!(retained(16 * day, 300) && !retained(16 * day, 60) && retained(2 * 3_600_000, 10));
        assert!(retained(64 * day, 3600) && !retained(64 * day, 300));
    }

    #[test]
    fn list_metrics_shows_the_metric_once_a_session_lived() {
        let series = ActiveSessionSeries::new(at(T0));
        let list = |series: &ActiveSessionSeries, input: Value| {
            let output = list_metrics(&call(series, T0 + 60.0), &input).unwrap();
            let Some(Value::List(metrics)) = output.get("Metrics") else { panic!() };
            metrics.len()
        };
        let by_namespace = Value::map([("Namespace", Value::str(NAMESPACE))]);
        assert_eq!(list(&series, by_namespace.clone()), 0);
        series.record("us-east-1", at(T0 + 1.0), 1);
        assert_eq!(list(&series, by_namespace), 1);
        assert_eq!(list(&series, Value::map([("Namespace", Value::str("AWS/EC2"))])), 0);
        let filter = |value: &str| {
            Value::map([(
                "Dimensions",
                Value::List(vec![Value::map([("Name", Value::str("Service")), ("Value", Value::str(value))])]),
            )])
        };
        assert_eq!(list(&series, filter("AgentCore.Runtime")), 1);
        assert_eq!(list(&series, filter("AgentCore.Gateway")), 0);
    }

    /// The members the input readers look for, so that random documents reach deep into them.
    const MEMBERS: [&str; 26] = [
        "MetricDataQueries",
        "Id",
        "MetricStat",
        "Metric",
        "Namespace",
        "MetricName",
        "Dimensions",
        "Name",
        "Value",
        "Period",
        "Stat",
        "Unit",
        "Expression",
        "Label",
        "ReturnData",
        "StartTime",
        "EndTime",
        "NextToken",
        "ScanBy",
        "MaxDatapoints",
        "Statistics",
        "ExtendedStatistics",
        "RecentlyActive",
        "IncludeLinkedAccounts",
        "OwningAccount",
        "member",
    ];

    fn random_leaf() -> impl Strategy<Value = Value> {
        let words = [
            NAMESPACE,
            METRIC_NAME,
            DIMENSION.0,
            DIMENSION.1,
            "Maximum",
            "SampleCount",
            "p99",
            "Count",
            "Bytes",
            "m1",
            "M1",
            "60",
            "-5",
            "2027-01-15T08:00:00Z",
            "not a time",
            "cw1.0.0",
            "cw1.1.3",
            "cw1.0.99999999999999",
            "cw1.-1.0",
            "TimestampAscending",
            "TimestampDescending",
            "PT3H",
            "true",
            ":ns",
            "",
        ];
        let numbers = [0, 1, 5, 10, 20, 30, 45, 60, 61, 120, 300, 3600, 86_400, -1, i64::from(i32::MAX), i64::MAX];
        prop_oneof![
            strategy::scalar(),
            prop::sample::select(words.to_vec()).prop_map(Value::str),
            prop::sample::select(numbers.to_vec()).prop_map(Value::Int),
            (-20 * 86_400i64..86_400).prop_map(|d| Value::Timestamp(T0 + d as f64)),
            Just(Value::Other),
        ]
    }

    fn random_input() -> impl Strategy<Value = Value> {
        random_leaf().prop_recursive(7, 96, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                proptest::collection::vec((prop::sample::select(MEMBERS.to_vec()), inner), 0..7)
                    .prop_map(|members| Value::Map(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    /// A series with a few sessions from T0 on.
    fn series_from(steps: &[(i64, u32)]) -> ActiveSessionSeries {
        let series = ActiveSessionSeries::new(at(T0));
        let mut t = T0;
        for &(gap, live) in steps {
            t += gap as f64;
            series.record("us-east-1", at(t), live);
        }
        series
    }

    /// The datapoints an answer holds, in all.
    fn datapoints_in(output: &Value) -> usize {
        let Some(Value::List(results)) = output.get("MetricDataResults") else { return 0 };
        results.iter().map(|r| values(r).len()).sum()
    }

    /// Query `i`'s (timestamps, values) in an answer, by Id.
    fn series_of(output: &Value, id: &str) -> Option<(Value, Value)> {
        let Some(Value::List(results)) = output.get("MetricDataResults") else { panic!("{output:?}") };
        let result = results.iter().find(|r| r.get("Id") == Some(&Value::str(id)))?;
        Some((result.get("Timestamps")?.clone(), result.get("Values")?.clone()))
    }

    fn concat(a: Value, b: Value) -> Value {
        match (a, b) {
            (Value::List(mut a), Value::List(b)) => {
                a.extend(b);
                Value::List(a)
            }
            (a, b) => panic!("{a:?} {b:?}"),
        }
    }

    proptest! {
        /// Any document, to any operation: an answer, or one of the operation's own 400 errors
        /// (never a panic, a 500 or another code); GetMetricData's answers stay within
        /// `MaxDatapoints`, with as many timestamps as values.
        #[test]
        fn fuzz_cloudwatch_operations(
            input in random_input(),
            steps in proptest::collection::vec((0i64..900, 0u32..4), 0..6),
            now in 0i64..4 * 86_400,
        ) {
            let series = series_from(&steps);
            let call = call(&series, T0 + now as f64);
            let operations: [(Operation, &[&str]); 3] = [
                (get_metric_data, &["ValidationError", "InvalidNextToken"]),
                (get_metric_statistics, &["MissingParameter", "InvalidParameterValue", "InvalidParameterCombination"]),
                // The model lists no MissingParameter for ListMetrics; a filter without a Name gets it.
                (list_metrics, &["InvalidParameterValue", "MissingParameter"]),
            ];
            for (operation, codes) in operations {
                match operation(&call, &input) {
                    Ok(output) => prop_assert!(matches!(output, Value::Map(_))),
                    Err(error) => {
                        prop_assert_eq!(error.status, axum::http::StatusCode::BAD_REQUEST);
                        prop_assert!(codes.contains(&error.code.as_str()), "{:?}", error);
                    }
                }
            }
            if let Ok(output) = get_metric_data(&call, &input) {
                let Some(Value::List(results)) = output.get("MetricDataResults") else { panic!("{output:?}") };
                for result in results {
                    let Some(Value::List(timestamps)) = result.get("Timestamps") else { panic!("{result:?}") };
                    prop_assert_eq!(timestamps.len(), values(result).len());
                }
                let most = match input.get("MaxDatapoints") {
                    Some(Value::Int(n)) => (*n as u64).min(MAX_DATA_DATAPOINTS),
                    _ => MAX_DATA_DATAPOINTS,
                };
                prop_assert!(datapoints_in(&output) as u64 <= most);
            }
        }

        /// Reading GetMetricData page by page (`MaxDatapoints`, `NextToken`) gives exactly what one
        /// call gives, for any mix of periods, statistics, metrics and windows.
        #[test]
        fn pages_add_up_to_the_whole_answer(
            steps in proptest::collection::vec((0i64..900, 0u32..4), 0..12),
            queries in proptest::collection::vec(
                (
                    prop::sample::select(vec![1i64, 5, 10, 20, 30, 60, 120, 300, 3600]),
                    prop::sample::select(vec!["Maximum", "Minimum", "Average", "Sum", "SampleCount"]),
                    any::<bool>(),
                    prop::bool::weighted(0.9),
                ),
                1..4,
            ),
            start_ago in 0i64..14_400,
            length in 1i64..14_400,
            ascending in any::<bool>(),
            page_size in 1i64..40,
        ) {
            let series = series_from(&steps);
            let call = call(&series, T0 + 7200.0);
            let start = T0 + 7200.0 - start_ago as f64;
            let queries: Vec<Value> = queries
                .iter()
                .enumerate()
                .map(|(i, &(period, stat, served, return_data))| {
                    let mut q = query(&format!("q{i}"), stat, period);
                    let Value::Map(members) = &mut q else { unreachable!() };
                    members.push(("ReturnData".to_string(), Value::Bool(return_data)));
                    if !served {
                        members.push(("Label".to_string(), Value::str("other")));
                        let Some((_, Value::Map(stat))) = members.iter_mut().find(|(k, _)| k == "MetricStat") else { unreachable!() };
                        stat.push(("Unit".to_string(), Value::str("Bytes")));
                    }
                    q
                })
                .collect();
            let input = |max: Option<i64>, token: Option<&str>| {
                let mut members = vec![
                    ("MetricDataQueries".to_string(), Value::List(queries.clone())),
                    ("StartTime".to_string(), Value::Timestamp(start)),
                    ("EndTime".to_string(), Value::Timestamp(start + length as f64)),
                    ("ScanBy".to_string(), Value::str(if ascending { "TimestampAscending" } else { "TimestampDescending" })),
                ];
                members.extend(max.map(|n| ("MaxDatapoints".to_string(), Value::Int(n))));
                members.extend(token.map(|t| ("NextToken".to_string(), Value::str(t))));
                Value::Map(members)
            };
            let whole = get_metric_data(&call, &input(None, None)).unwrap();
            prop_assert_eq!(whole.get("NextToken"), None);
            let mut paged: Vec<Option<(Value, Value)>> =
                (0..queries.len()).map(|i| series_of(&whole, &format!("q{i}")).map(|_| (Value::List(vec![]), Value::List(vec![])))).collect();
            let mut token: Option<String> = None;
            for _ in 0..10_000 {
                let page = get_metric_data(&call, &input(Some(page_size), token.as_deref())).unwrap();
                prop_assert!(datapoints_in(&page) as i64 <= page_size);
                for (i, so_far) in paged.iter_mut().enumerate() {
                    if let (Some((timestamps, values)), Some((t, v))) = (so_far.take(), series_of(&page, &format!("q{i}"))) {
                        *so_far = Some((concat(timestamps, t), concat(values, v)));
                    }
                }
                token = match page.get("NextToken") {
                    Some(Value::Str(next)) => Some(next.clone()),
                    _ => None,
                };
                if token.is_none() {
                    break;
                }
            }
            prop_assert!(token.is_none(), "pages never ended");
            for (i, so_far) in paged.into_iter().enumerate() {
                prop_assert_eq!(so_far, series_of(&whole, &format!("q{i}")), "query q{}", i);
            }
        }
    }
}
