//! The inputs of the served operations, read from a decoded [`Value`] whatever the wire format, and
//! checked against botocore's model (`cloudwatch` 2010-08-01: required members, enums, lengths,
//! list sizes) and CloudWatch's documented rules (the period, the order of the times). Errors use
//! CloudWatch's query-style codes and name members by their query path
//! (`MetricDataQueries.member.1.MetricStat.Period`), as CloudWatch's messages do: GetMetricStatistics
//! and ListMetrics answer the modeled `MissingParameter`, `InvalidParameterValue` and
//! `InvalidParameterCombination`; GetMetricData, whose model lists only `InvalidNextToken`, answers
//! every bad input with `ValidationError` (as CloudWatch does: "ValidationError: The value … for
//! parameter MetricDataQueries.member.1.Id is not matching the expected pattern …"). Where AWS's
//! wording is not on record, the message is a guess.
//!
//! Members the model does not know are ignored. Strings given for numbers, booleans and timestamps
//! are parsed (the query protocol sends nothing else); timestamps are also read from numbers
//! (epoch seconds, AWS JSON) and CBOR's tag 1.

use axum::http::StatusCode;

use super::query;
use super::value::Value;
use crate::error::AwsError;

/// Most queries in one GetMetricData call (its documentation: "as many as 500").
pub const MAX_QUERIES: usize = 500;
/// Most dimensions of a metric (`Dimensions` max 30 in the model).
pub const MAX_DIMENSIONS: usize = 30;
/// Most dimension filters of a ListMetrics call (`DimensionFilters` max 10).
pub const MAX_DIMENSION_FILTERS: usize = 10;
/// Periods under a minute CloudWatch accepts (high resolution); others must be multiples of 60.
pub const HIGH_RESOLUTION_PERIODS: [i64; 5] = [1, 5, 10, 20, 30];
/// The pattern a GetMetricData query's `Id` must match, as CloudWatch's message writes it.
pub const ID_PATTERN: &str = "^[a-z][a-zA-Z0-9_]*$";
/// The latest timestamp accepted: 9999-12-31T23:59:59Z.
const LATEST: f64 = 253_402_300_799.0;

/// The model's `StandardUnit` enum.
pub const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// `MissingParameter` (400): a required member is absent.
pub fn missing(path: &str) -> AwsError {
    AwsError::new(StatusCode::BAD_REQUEST, "MissingParameter", format!("The parameter {path} is required."))
}

/// `InvalidParameterValue` (400).
pub fn invalid(message: impl Into<String>) -> AwsError {
    AwsError::new(StatusCode::BAD_REQUEST, "InvalidParameterValue", message)
}

/// `InvalidParameterCombination` (400).
pub fn combination(message: impl Into<String>) -> AwsError {
    AwsError::new(StatusCode::BAD_REQUEST, "InvalidParameterCombination", message)
}

/// `ValidationError` (400): what GetMetricData answers for any bad input, with the same message.
pub fn validation(error: AwsError) -> AwsError {
    AwsError { code: "ValidationError".to_string(), ..error }
}

/// A statistic CloudWatch computes from a metric's datapoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
}

impl Statistic {
    pub const ALL: [Statistic; 5] =
        [Statistic::SampleCount, Statistic::Average, Statistic::Sum, Statistic::Minimum, Statistic::Maximum];

    pub fn name(self) -> &'static str {
        match self {
            Self::SampleCount => "SampleCount",
            Self::Average => "Average",
            Self::Sum => "Sum",
            Self::Minimum => "Minimum",
            Self::Maximum => "Maximum",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == text)
    }
}

/// `Dimension`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// `Metric`: the namespace and name are optional in the model, required where it is queried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<Dimension>,
}

/// `MetricDataQuery` with a `MetricStat` (expressions are refused: see [`get_metric_data`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DataQuery {
    pub id: String,
    pub metric: Metric,
    pub period: i64,
    pub stat: Statistic,
    pub unit: Option<String>,
    pub label: Option<String>,
    pub return_data: bool,
}

/// GetMetricData's input.
#[derive(Clone, Debug, PartialEq)]
pub struct GetMetricData {
    pub queries: Vec<DataQuery>,
    pub start: f64,
    pub end: f64,
    pub next_token: Option<String>,
    /// `ScanBy`: `TimestampAscending`, else (the default) `TimestampDescending`.
    pub ascending: bool,
    pub max_datapoints: Option<i64>,
}

/// GetMetricStatistics' input.
#[derive(Clone, Debug, PartialEq)]
pub struct GetMetricStatistics {
    pub metric: Metric,
    pub start: f64,
    pub end: f64,
    pub period: i64,
    pub statistics: Vec<Statistic>,
    pub unit: Option<String>,
}

/// ListMetrics' input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListMetrics {
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    /// (name, value): a metric matches when it has each dimension, with that value when given.
    pub dimensions: Vec<(String, Option<String>)>,
    pub next_token: Option<String>,
    /// `RecentlyActive=PT3H`.
    pub recently_active: bool,
    pub include_linked_accounts: bool,
    pub owning_account: Option<String>,
}

fn not_a(path: &str, what: &str, value: &Value) -> AwsError {
    invalid(format!("The parameter {path} must be {what}, not {}.", value.kind()))
}

fn string(value: &Value, path: &str) -> Result<String, AwsError> {
    match value {
        Value::Str(s) => Ok(s.clone()),
        other => Err(not_a(path, "a string", other)),
    }
}

/// A string of `min..=max` characters.
fn bounded(value: &Value, path: &str, min: usize, max: usize) -> Result<String, AwsError> {
    let text = string(value, path)?;
    let length = text.chars().count();
    if length < min || length > max {
        return Err(invalid(format!(
            "The parameter {path} must be between {min} and {max} characters long, not {length}."
        )));
    }
    Ok(text)
}

fn integer(value: &Value, path: &str) -> Result<i64, AwsError> {
    let n = match value {
        Value::Int(n) => Some(*n),
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(*x as i64),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| invalid(format!("The parameter {path} must be a 32-bit integer, not {}.", value.kind())))
}

fn boolean(value: &Value, path: &str) -> Result<bool, AwsError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Str(s) if s == "true" => Ok(true),
        Value::Str(s) if s == "false" => Ok(false),
        other => Err(not_a(path, "a boolean", other)),
    }
}

/// Epoch seconds, from 1970 to the end of 9999.
fn timestamp(value: &Value, path: &str) -> Result<f64, AwsError> {
    let seconds = match value {
        Value::Timestamp(t) | Value::Float(t) => Some(*t),
        Value::Int(n) => Some(*n as f64),
        Value::Str(s) => query::parse_timestamp(s).or_else(|| s.trim().parse::<f64>().ok()),
        _ => None,
    };
    seconds.filter(|t| (0.0..=LATEST).contains(t)).ok_or_else(|| {
        invalid(format!(
            "The parameter {path} must be a timestamp between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z."
        ))
    })
}

fn list<'v>(value: &'v Value, path: &str, max: usize) -> Result<&'v [Value], AwsError> {
    match value {
        Value::List(items) if items.len() > max => {
            Err(invalid(format!("The collection {path} must not have more than {max} members, not {}.", items.len())))
        }
        Value::List(items) => Ok(items),
        other => Err(not_a(path, "a list", other)),
    }
}

fn structure<'v>(value: &'v Value, path: &str) -> Result<&'v Value, AwsError> {
    match value {
        Value::Map(_) => Ok(value),
        other => Err(not_a(path, "a structure", other)),
    }
}

fn required<'v>(input: &'v Value, name: &str, path: &str) -> Result<&'v Value, AwsError> {
    input.get(name).ok_or_else(|| missing(path))
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

fn unit(input: &Value, prefix: &str) -> Result<Option<String>, AwsError> {
    let path = join(prefix, "Unit");
    input
        .get("Unit")
        .map(|v| {
            let unit = string(v, &path)?;
            if !UNITS.contains(&unit.as_str()) {
                return Err(invalid(format!("The parameter {path} must be one of: {}.", UNITS.join(", "))));
            }
            Ok(unit)
        })
        .transpose()
}

fn dimensions(input: &Value, prefix: &str) -> Result<Vec<Dimension>, AwsError> {
    let path = join(prefix, "Dimensions");
    let Some(items) = input.get("Dimensions") else { return Ok(Vec::new()) };
    list(items, &path, MAX_DIMENSIONS)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{path}.member.{}", i + 1);
            let item = structure(item, &at)?;
            let name = bounded(required(item, "Name", &format!("{at}.Name"))?, &format!("{at}.Name"), 1, 255)?;
            let value = bounded(required(item, "Value", &format!("{at}.Value"))?, &format!("{at}.Value"), 1, 1024)?;
            Ok(Dimension { name, value })
        })
        .collect()
}

/// A metric whose namespace and name are required (`prefix` is where it sits, for messages).
fn metric(input: &Value, prefix: &str) -> Result<Metric, AwsError> {
    let namespace_path = join(prefix, "Namespace");
    let namespace = bounded(required(input, "Namespace", &namespace_path)?, &namespace_path, 1, 255)?;
    if namespace.starts_with(':') {
        return Err(invalid(format!("The parameter {namespace_path} must not start with ':'.")));
    }
    let name_path = join(prefix, "MetricName");
    let metric_name = bounded(required(input, "MetricName", &name_path)?, &name_path, 1, 255)?;
    Ok(Metric { namespace, metric_name, dimensions: dimensions(input, prefix)? })
}

/// A period CloudWatch accepts: 1, 5, 10, 20, 30 or a multiple of 60 seconds.
fn period(value: &Value, path: &str) -> Result<i64, AwsError> {
    let period = integer(value, path)?;
    if period < 1 || (period % 60 != 0 && !HIGH_RESOLUTION_PERIODS.contains(&period)) {
        return Err(invalid(format!(
            "The parameter {path} must be 1, 5, 10, 20, 30 or a multiple of 60, not {period}."
        )));
    }
    Ok(period)
}

fn times(input: &Value) -> Result<(f64, f64), AwsError> {
    let start = timestamp(required(input, "StartTime", "StartTime")?, "StartTime")?;
    let end = timestamp(required(input, "EndTime", "EndTime")?, "EndTime")?;
    if start >= end {
        return Err(invalid("The parameter StartTime must be less than the parameter EndTime."));
    }
    Ok((start, end))
}

/// The input must be a structure (a wire format can decode to anything).
fn top(input: &Value) -> Result<&Value, AwsError> {
    structure(input, "the request body")
}

/// GetMetricData: 1 to 500 queries, each with a unique `Id` (a lowercase letter, then letters,
/// digits and underscores) and a `MetricStat`. Metric math `Expression`s and Metrics Insights
/// queries are refused: the emulator does not evaluate them. Every refusal is a `ValidationError`.
pub fn get_metric_data(input: &Value) -> Result<GetMetricData, AwsError> {
    read_get_metric_data(input).map_err(validation)
}

fn read_get_metric_data(input: &Value) -> Result<GetMetricData, AwsError> {
    let input = top(input)?;
    let items = list(required(input, "MetricDataQueries", "MetricDataQueries")?, "MetricDataQueries", MAX_QUERIES)?;
    if items.is_empty() {
        return Err(invalid("The collection MetricDataQueries must have at least 1 member."));
    }
    let mut queries: Vec<DataQuery> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("MetricDataQueries.member.{}", i + 1);
        let item = structure(item, &at)?;
        let id_path = format!("{at}.Id");
        let id = bounded(required(item, "Id", &id_path)?, &id_path, 1, 255)?;
        let mut chars = id.chars();
        if !chars.next().is_some_and(|c| c.is_ascii_lowercase())
            || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(invalid(format!(
                "The value {id} for parameter {id_path} is not matching the expected pattern {ID_PATTERN}."
            )));
        }
        if queries.iter().any(|q| q.id == id) {
            return Err(invalid("The values for parameter id in MetricDataQueries are not unique."));
        }
        let label = item.get("Label").map(|v| string(v, &format!("{at}.Label"))).transpose()?;
        let return_data = item.get("ReturnData").map(|v| boolean(v, &format!("{at}.ReturnData"))).transpose()?;
        match (item.get("MetricStat"), item.get("Expression")) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(combination(format!("Exactly one of {at}.MetricStat and {at}.Expression must be given.")));
            }
            (None, Some(_)) => {
                return Err(invalid(format!(
                    "{at}.Expression: agentcore-local does not evaluate metric math or Metrics Insights queries; \
                     use a MetricStat."
                )));
            }
            (Some(stat), None) => {
                let stat_path = format!("{at}.MetricStat");
                let stat = structure(stat, &stat_path)?;
                let metric_path = format!("{stat_path}.Metric");
                let metric = metric(structure(required(stat, "Metric", &metric_path)?, &metric_path)?, &metric_path)?;
                let period_path = format!("{stat_path}.Period");
                let period = period(required(stat, "Period", &period_path)?, &period_path)?;
                let name_path = format!("{stat_path}.Stat");
                let name = string(required(stat, "Stat", &name_path)?, &name_path)?;
                let stat_value = Statistic::parse(&name).ok_or_else(|| {
                    invalid(format!(
                        "The value {name} for parameter {name_path} is not supported: agentcore-local computes \
                         SampleCount, Average, Sum, Minimum and Maximum."
                    ))
                })?;
                queries.push(DataQuery {
                    id,
                    metric,
                    period,
                    stat: stat_value,
                    unit: unit(stat, &stat_path)?,
                    label,
                    return_data: return_data.unwrap_or(true),
                });
            }
        }
    }
    let (start, end) = times(input)?;
    let next_token = input.get("NextToken").map(|v| string(v, "NextToken")).transpose()?;
    let ascending = match input.get("ScanBy").map(|v| string(v, "ScanBy")).transpose()?.as_deref() {
        None | Some("TimestampDescending") => false,
        Some("TimestampAscending") => true,
        Some(other) => {
            return Err(invalid(format!(
                "The value {other} for parameter ScanBy must be TimestampDescending or TimestampAscending."
            )));
        }
    };
    let max_datapoints = input.get("MaxDatapoints").map(|v| integer(v, "MaxDatapoints")).transpose()?;
    if max_datapoints.is_some_and(|n| n < 1) {
        return Err(invalid("The parameter MaxDatapoints must be at least 1."));
    }
    Ok(GetMetricData { queries, start, end, next_token, ascending, max_datapoints })
}

/// GetMetricStatistics: the metric, the times, a period, and `Statistics` (1 to 5; percentiles in
/// `ExtendedStatistics` are refused: the emulator does not compute them).
pub fn get_metric_statistics(input: &Value) -> Result<GetMetricStatistics, AwsError> {
    let input = top(input)?;
    let metric = metric(input, "")?;
    let (start, end) = times(input)?;
    let period = period(required(input, "Period", "Period")?, "Period")?;
    let statistics = match (input.get("Statistics"), input.get("ExtendedStatistics")) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(combination("Must specify either Statistics or ExtendedStatistics, but not both."));
        }
        (None, Some(_)) => {
            return Err(invalid("agentcore-local does not compute ExtendedStatistics (percentiles); use Statistics."));
        }
        (Some(items), None) => {
            let items = list(items, "Statistics", 5)?;
            if items.is_empty() {
                return Err(invalid("The collection Statistics must have at least 1 member."));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let path = format!("Statistics.member.{}", i + 1);
                    let name = string(item, &path)?;
                    Statistic::parse(&name).ok_or_else(|| {
                        invalid(format!(
                            "The value {name} for parameter {path} must be one of SampleCount, Average, Sum, Minimum, \
                             Maximum."
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(GetMetricStatistics { metric, start, end, period, statistics, unit: unit(input, "")? })
}

/// ListMetrics: every member optional.
pub fn list_metrics(input: &Value) -> Result<ListMetrics, AwsError> {
    let input = top(input)?;
    let optional = |name: &str, max: usize| input.get(name).map(|v| bounded(v, name, 1, max)).transpose();
    let namespace = optional("Namespace", 255)?;
    let metric_name = optional("MetricName", 255)?;
    let dimensions = match input.get("Dimensions") {
        None => Vec::new(),
        Some(items) => list(items, "Dimensions", MAX_DIMENSION_FILTERS)?
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("Dimensions.member.{}", i + 1);
                let item = structure(item, &at)?;
                let name = bounded(required(item, "Name", &format!("{at}.Name"))?, &format!("{at}.Name"), 1, 255)?;
                let value = item.get("Value").map(|v| bounded(v, &format!("{at}.Value"), 1, 1024)).transpose()?;
                Ok((name, value))
            })
            .collect::<Result<_, AwsError>>()?,
    };
    let next_token = input.get("NextToken").map(|v| string(v, "NextToken")).transpose()?;
    let recently_active = match input.get("RecentlyActive").map(|v| string(v, "RecentlyActive")).transpose()? {
        None => false,
        Some(value) if value == "PT3H" => true,
        Some(other) => return Err(invalid(format!("The value {other} for parameter RecentlyActive must be PT3H."))),
    };
    let include_linked_accounts =
        input.get("IncludeLinkedAccounts").map(|v| boolean(v, "IncludeLinkedAccounts")).transpose()?.unwrap_or(false);
    let owning_account = optional("OwningAccount", 255)?;
    Ok(ListMetrics {
        namespace,
        metric_name,
        dimensions,
        next_token,
        recently_active,
        include_linked_accounts,
        owning_account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat_query(id: &str, period: Value, stat: &str) -> Value {
        Value::map([
            ("Id", Value::str(id)),
            (
                "MetricStat",
                Value::map([
                    (
                        "Metric",
                        Value::map([
                            ("Namespace", Value::str("AWS/Bedrock-AgentCore")),
                            ("MetricName", Value::str("ActiveSessionCount")),
                        ]),
                    ),
                    ("Period", period),
                    ("Stat", Value::str(stat)),
                ]),
            ),
        ])
    }

    fn data_input(queries: Vec<Value>) -> Value {
        Value::map([
            ("MetricDataQueries", Value::List(queries)),
            ("StartTime", Value::Timestamp(1_800_000_000.0)),
            ("EndTime", Value::str("2027-01-15T08:01:00Z")),
        ])
    }

    #[test]
    fn reads_a_get_metric_data_input_from_any_wire_format() {
        let input = get_metric_data(&data_input(vec![stat_query("m1", Value::str("60"), "Maximum")])).unwrap();
        assert_eq!(input.queries[0].period, 60);
        assert_eq!(input.queries[0].stat, Statistic::Maximum);
        assert!(input.queries[0].return_data);
        assert!(!input.ascending, "TimestampDescending is the default");
        assert_eq!(input.start, 1_800_000_000.0);
    }

    #[test]
    fn refuses_what_cloudwatch_refuses() {
        // GetMetricData: every refusal is a ValidationError, whatever the rule.
        let refusal = |input: Value| {
            let error = get_metric_data(&input).unwrap_err();
            assert_eq!(error.code, "ValidationError", "{error:?}");
            assert_eq!(error.status, StatusCode::BAD_REQUEST);
            error.message
        };
        assert_eq!(refusal(Value::map([])), "The parameter MetricDataQueries is required.");
        assert!(refusal(data_input(vec![stat_query("m1", Value::Int(45), "Maximum")])).contains("Period"));
        assert_eq!(
            refusal(data_input(vec![stat_query("M1", Value::Int(60), "Maximum")])),
            "The value M1 for parameter MetricDataQueries.member.1.Id is not matching the expected pattern \
             ^[a-z][a-zA-Z0-9_]*$."
        );
        assert!(refusal(data_input(vec![stat_query("m1", Value::Int(60), "p99")])).contains("p99"));
        let twice = vec![stat_query("m1", Value::Int(60), "Sum"), stat_query("m1", Value::Int(60), "Sum")];
        assert_eq!(refusal(data_input(twice)), "The values for parameter id in MetricDataQueries are not unique.");
        let many = (0..=MAX_QUERIES).map(|i| stat_query(&format!("m{i}"), Value::Int(60), "Sum")).collect();
        assert!(refusal(data_input(many)).contains("not have more than 500"));
        let backwards = Value::map([
            ("MetricDataQueries", Value::List(vec![stat_query("m1", Value::Int(60), "Sum")])),
            ("StartTime", Value::Int(1_800_000_060)),
            ("EndTime", Value::Int(1_800_000_000)),
        ]);
        assert!(refusal(backwards).contains("StartTime must be less than"));
        for period in [1, 5, 10, 20, 30, 60, 300, 86_400] {
            assert!(get_metric_data(&data_input(vec![stat_query("m", Value::Int(period), "Sum")])).is_ok(), "{period}");
        }
        for period in [0, 2, 15, 45, 90, 61] {
            assert!(
                get_metric_data(&data_input(vec![stat_query("m", Value::Int(period), "Sum")])).is_err(),
                "{period}"
            );
        }
        // GetMetricStatistics: the modeled errors.
        let statistics = |extra: Vec<(&str, Value)>| {
            let mut members = vec![
                ("Namespace".to_string(), Value::str("AWS/Bedrock-AgentCore")),
                ("MetricName".to_string(), Value::str("ActiveSessionCount")),
                ("StartTime".to_string(), Value::Int(1_800_000_000)),
                ("EndTime".to_string(), Value::Int(1_800_003_600)),
                ("Period".to_string(), Value::Int(60)),
            ];
            members.extend(extra.into_iter().map(|(k, v)| (k.to_string(), v)));
            get_metric_statistics(&Value::Map(members)).map_err(|e| e.code)
        };
        assert_eq!(get_metric_statistics(&Value::map([])).unwrap_err().code, "MissingParameter");
        assert_eq!(statistics(vec![]).unwrap_err(), "InvalidParameterCombination");
        assert!(statistics(vec![("Statistics", Value::List(vec![Value::str("Average")]))]).is_ok());
        assert_eq!(
            statistics(vec![("Statistics", Value::List(vec![Value::str("Mean")]))]).unwrap_err(),
            "InvalidParameterValue"
        );
        assert_eq!(
            statistics(vec![("Statistics", Value::List(vec![])), ("Unit", Value::str("Count"))]).unwrap_err(),
            "InvalidParameterValue"
        );
    }
}
