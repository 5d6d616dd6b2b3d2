//! `eni-lab sessions`: the number of live AgentCore runtime sessions over a window, from CloudWatch's
//! `ActiveSessionCount` gauge (namespace `AWS/Bedrock-AgentCore`, dimension
//! `Service=AgentCore.Runtime`, 1-minute data): AWS has no API that lists runtime sessions, so this
//! metric is the only window on them. Read with GetMetricData through `aws-sdk-cloudwatch`, from a
//! real account (`--aws`) or an endpoint (`--endpoint-url`, e.g. agentcore-local, which computes the
//! metric from its own session table).
//!
//! [`active_session_count`] and [`datapoints`] are the library entry points (verify can call them);
//! [`run`] is the command: a table for people, JSON for machines, and a plain note when the window
//! has no datapoint.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_sdk_cloudwatch as cloudwatch;
use cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};

use crate::error::{UsageError, sdk_error};
use crate::run::{Connection, ConnectionArgs};

/// The namespace AgentCore publishes its metrics in.
pub const NAMESPACE: &str = "AWS/Bedrock-AgentCore";
/// The gauge of live runtime sessions.
pub const METRIC_NAME: &str = "ActiveSessionCount";
/// Its dimension: (name, value).
pub const DIMENSION: (&str, &str) = ("Service", "AgentCore.Runtime");
/// Most GetMetricData pages one window is read in (each holds up to 100,800 datapoints).
const MAX_PAGES: usize = 100;

/// A CloudWatch statistic, as CloudWatch spells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum Stat {
    #[default]
    #[value(name = "Maximum")]
    Maximum,
    #[value(name = "Average")]
    Average,
    #[value(name = "Minimum")]
    Minimum,
    #[value(name = "Sum")]
    Sum,
    #[value(name = "SampleCount")]
    SampleCount,
}

impl Stat {
    pub fn as_str(self) -> &'static str {
        match self {
            Stat::Maximum => "Maximum",
            Stat::Average => "Average",
            Stat::Minimum => "Minimum",
            Stat::Sum => "Sum",
            Stat::SampleCount => "SampleCount",
        }
    }
}

/// What to read: `[start, end)` in `period` buckets, each reduced to `stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start: SystemTime,
    pub end: SystemTime,
    pub period: Duration,
    pub stat: Stat,
}

/// `ActiveSessionCount`'s Maximum per `period` over `[start, end)`, oldest first: the most sessions
/// live at once in each bucket. Buckets without a datapoint are left out (CloudWatch has none when
/// no session was live, or where the region does not publish the metric).
pub async fn active_session_count(
    client: &cloudwatch::Client,
    start: SystemTime,
    end: SystemTime,
    period: Duration,
) -> anyhow::Result<Vec<(SystemTime, f64)>> {
    datapoints(client, &Window { start, end, period, stat: Stat::Maximum }).await
}

/// `ActiveSessionCount` over `window`, oldest first, every GetMetricData page read.
pub async fn datapoints(client: &cloudwatch::Client, window: &Window) -> anyhow::Result<Vec<(SystemTime, f64)>> {
    let period = i32::try_from(window.period.as_secs())
        .ok()
        .filter(|s| *s >= 1 && window.period.subsec_nanos() == 0)
        .ok_or_else(|| UsageError(format!("the period must be whole seconds, not {:?}", window.period)))?;
    let metric = Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(METRIC_NAME)
        .dimensions(Dimension::builder().name(DIMENSION.0).value(DIMENSION.1).build())
        .build();
    let query = MetricDataQuery::builder()
        .id("sessions")
        .metric_stat(MetricStat::builder().metric(metric).period(period).stat(window.stat.as_str()).build())
        .build();
    let mut points = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .get_metric_data()
            .metric_data_queries(query.clone())
            .start_time(window.start.into())
            .end_time(window.end.into())
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(sdk_error)
            .context("CloudWatch GetMetricData")?;
        for result in page.metric_data_results() {
            for (at, value) in result.timestamps().iter().zip(result.values()) {
                let at = SystemTime::try_from(*at).context("a datapoint's timestamp")?;
                points.push((at, *value));
            }
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => {
                points.sort_by_key(|(at, _)| *at);
                return Ok(points);
            }
        }
    }
    anyhow::bail!(
        "CloudWatch GetMetricData still had more pages after {MAX_PAGES}: narrow the window or widen --period"
    )
}

/// `eni-lab sessions`' flags.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Against agentcore-local, timestamps are the emulator's service time: with --time-scale K > 1 \
its clock runs ahead of yours, so pass --end with its time (`now` in GET /_local/state).")]
pub struct Args {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// How far back the window reaches from its end.
    #[arg(long, value_parser = duration_flag::parse_positive, default_value = "1h", value_name = "DURATION")]
    pub since: Duration,
    /// The window's end, RFC 3339 (2026-06-01T10:00:00Z) [default: now].
    #[arg(long, value_parser = parse_time, value_name = "TIME")]
    pub end: Option<SystemTime>,
    /// Bucket length: 1s, 5s, 10s, 20s, 30s or a multiple of 60s. The metric has 1-minute data: under a
    /// minute only the buckets that begin a minute have a datapoint, and none for windows that start
    /// more than 3 hours ago.
    #[arg(long, value_parser = parse_period, default_value = "60s", value_name = "DURATION")]
    pub period: Duration,
    /// The statistic of each bucket.
    #[arg(long, value_enum, ignore_case = true, default_value_t = Stat::Maximum)]
    pub stat: Stat,
    /// `table` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// How `sessions` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

fn parse_time(text: &str) -> Result<SystemTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| format!("expected an RFC 3339 time such as 2026-06-01T10:00:00Z: {e}"))
}

/// A period CloudWatch accepts: 1, 5, 10, 20 or 30 seconds, or a multiple of 60.
fn parse_period(text: &str) -> Result<Duration, String> {
    let period = duration_flag::parse_positive(text).map_err(|e| e.to_string())?;
    let seconds = period.as_secs();
    let whole = period.subsec_nanos() == 0 && seconds <= i32::MAX as u64;
    if whole && (seconds % 60 == 0 || [1, 5, 10, 20, 30].contains(&seconds)) {
        Ok(period)
    } else {
        Err(format!("the period must be 1s, 5s, 10s, 20s, 30s or a multiple of 60s, not {text}"))
    }
}

/// RFC 3339 in UTC, to the second (CloudWatch's buckets start on whole seconds).
fn rfc3339(at: SystemTime) -> String {
    let at = time::OffsetDateTime::from(at);
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.format(&format).expect("timestamps format")
}

/// What `sessions` found, as `--output json` prints it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub namespace: &'static str,
    pub metric_name: &'static str,
    pub dimensions: serde_json::Value,
    pub region: String,
    pub stat: Stat,
    pub period_seconds: u64,
    pub start: String,
    pub end: String,
    pub datapoints: Vec<Datapoint>,
}

/// One bucket.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Datapoint {
    pub timestamp: String,
    pub value: f64,
}

impl Series {
    fn new(region: String, window: &Window, points: &[(SystemTime, f64)]) -> Self {
        Self {
            namespace: NAMESPACE,
            metric_name: METRIC_NAME,
            dimensions: serde_json::json!({ DIMENSION.0: DIMENSION.1 }),
            region,
            stat: window.stat,
            period_seconds: window.period.as_secs(),
            start: rfc3339(window.start),
            end: rfc3339(window.end),
            datapoints: points.iter().map(|(at, value)| Datapoint { timestamp: rfc3339(*at), value: *value }).collect(),
        }
    }

    /// What to say when there is no datapoint.
    pub fn empty_note(&self) -> String {
        format!(
            "No {} datapoints in {} between {} and {}: no runtime session was live in that window, or the region \
             does not publish the metric (yet).",
            self.metric_name, self.region, self.start, self.end
        )
    }

    /// The AWS CLI's table layout, titled with the metric, the statistic and the region.
    pub fn table(&self) -> String {
        let title =
            format!("{} {} per {}s ({})", self.metric_name, self.stat.as_str(), self.period_seconds, self.region);
        let rows: Vec<Vec<String>> =
            self.datapoints.iter().map(|p| vec![p.timestamp.clone(), format_value(p.value)]).collect();
        eni_watch::table::render(&title, &["Timestamp", self.stat.as_str()], &rows)
    }
}

/// A count as an integer when it is one, else with two decimals.
fn format_value(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") }
}

/// `eni-lab sessions`: prints the window's datapoints (exit 0 also when there are none).
pub async fn run(args: &Args) -> anyhow::Result<()> {
    let connection = args.connection.connection().map_err(|e| UsageError(e.to_string()))?.ok_or_else(|| {
        UsageError("sessions reads CloudWatch: pass --endpoint-url URL (an agentcore-local) or --aws".into())
    })?;
    let sdk = connection.sdk_config().await;
    let region = match &connection {
        Connection::Endpoint { region, .. } => region.clone(),
        _ => sdk.region().map(ToString::to_string).ok_or_else(|| {
            UsageError("no AWS region: pass --region, or set AWS_REGION or a region in your profile".into())
        })?,
    };
    let end = args.end.unwrap_or_else(SystemTime::now);
    let start =
        end.checked_sub(args.since).ok_or_else(|| UsageError(format!("--since {:?} is too long", args.since)))?;
    let window = Window { start, end, period: args.period, stat: args.stat };
    let client = cloudwatch::Client::new(&sdk);
    let points = datapoints(&client, &window).await?;
    let series = Series::new(region, &window, &points);
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&series)?),
        Output::Table if series.datapoints.is_empty() => println!("{}", series.empty_note()),
        Output::Table => print!("{}", series.table()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn periods_are_those_cloudwatch_accepts() {
        for ok in ["1s", "5s", "10", "20s", "30s", "60s", "5m", "1h", "1d"] {
            assert!(parse_period(ok).is_ok(), "{ok}");
        }
        for bad in ["0s", "2s", "90s", "1.5s", "61", "-1"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_time("2026-06-01T10:00:00Z").unwrap(), at(1_780_308_000));
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn the_table_and_the_json_show_each_bucket() {
        let window = Window {
            start: at(1_780_308_000),
            end: at(1_780_308_180),
            period: Duration::from_secs(60),
            stat: Stat::Maximum,
        };
        let series = Series::new("us-east-1".into(), &window, &[(at(1_780_308_000), 3.0), (at(1_780_308_060), 2.5)]);
        insta::assert_snapshot!(series.table());
        let json = serde_json::to_value(&series).unwrap();
        assert_eq!(json["datapoints"][1], serde_json::json!({"timestamp": "2026-06-01T10:01:00Z", "value": 2.5}));
        assert_eq!(json["dimensions"], serde_json::json!({"Service": "AgentCore.Runtime"}));
        assert_eq!(json["stat"], "Maximum");
        let empty = Series::new("eu-west-1".into(), &window, &[]);
        assert!(
            empty
                .empty_note()
                .starts_with("No ActiveSessionCount datapoints in eu-west-1 between 2026-06-01T10:00:00Z")
        );
    }
}
