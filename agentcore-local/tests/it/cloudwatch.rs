//! CloudWatch's `ActiveSessionCount` through the unmodified `aws-sdk-cloudwatch` (Smithy RPC v2
//! CBOR), boto3 and the AWS CLI (AWS JSON 1.0) and a hand-signed query-protocol request: values equal
//! to the emulator's own count of live sessions (`/_local/state`), AWS's error shapes for bad
//! parameters, and signatures checked as on every other route.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, Statistic};
use serde_json::json;

use crate::data::{DataLab, data_config, sid};
use crate::support::{SignOptions, sdk_config, sdk_config_as, sign};

const NAMESPACE: &str = "AWS/Bedrock-AgentCore";
const METRIC: &str = "ActiveSessionCount";

fn metric() -> Metric {
    Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(METRIC)
        .dimensions(Dimension::builder().name("Service").value("AgentCore.Runtime").build())
        .build()
}

fn query(id: &str, stat: &str, period: i32) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(MetricStat::builder().metric(metric()).period(period).stat(stat).build())
        .build()
}

/// The emulator's own count of live sessions.
fn live(t: &DataLab) -> u64 {
    t.handle().snapshot()["dataPlane"]["liveSessions"].as_u64().expect("liveSessions")
}

/// `t` rounded down to the minute.
fn minute(t: SystemTime) -> SystemTime {
    let seconds = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds / 60 * 60)
}

#[tokio::test]
async fn the_sdk_reads_active_session_count_as_the_emulator_counts_it() {
    let t = DataLab::start(data_config()).await;
    let client = cloudwatch::Client::new(&sdk_config(&t.lab.endpoint()).await);
    let arn = t.ready_runtime("metrics", 3600, 28_800).await;
    let started = t.handle().clock().now();
    for i in 0..3 {
        t.echo(&arn, &sid(&format!("cw{i}")), json!({})).await;
    }
    assert_eq!(live(&t), 3);
    t.lab.advance(Duration::from_secs(120));
    t.data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(sid("cw0")).send().await.unwrap();
    assert_eq!(live(&t), 2);
    t.lab.advance(Duration::from_secs(120));
    let now = t.handle().clock().now();

    // Whole minutes after the start (3 live) and after the stop (2 live): every statistic is the count.
    let full_three = minute(started) + Duration::from_secs(60);
    let full_two = minute(started + Duration::from_secs(120)) + Duration::from_secs(60);
    let out = client
        .get_metric_data()
        .metric_data_queries(query("max", "Maximum", 60))
        .metric_data_queries(query("avg", "Average", 60))
        .metric_data_queries(query("min", "Minimum", 60))
        .start_time(minute(started).into())
        .end_time(now.into())
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .expect("GetMetricData");
    let results = out.metric_data_results();
    assert_eq!(results.len(), 3);
    let at = |result: &cloudwatch::types::MetricDataResult, when: SystemTime| {
        let i = result
            .timestamps()
            .iter()
            .position(|ts| SystemTime::try_from(*ts).unwrap() == when)
            .unwrap_or_else(|| panic!("no datapoint at {when:?} in {result:?}"));
        result.values()[i]
    };
    for result in results {
        assert_eq!(result.status_code().map(|s| s.as_str()), Some("Complete"));
        assert_eq!(result.label(), Some(METRIC));
        assert_eq!(at(result, full_three), 3.0, "{result:?}");
        assert_eq!(at(result, full_two), live(&t) as f64, "{result:?}");
    }
    let max = &results[0];
    assert_eq!(max.values().iter().copied().fold(0.0, f64::max), 3.0, "never more than 3 at once");

    // GetMetricStatistics over the same minutes: the same values, every statistic asked for. A start
    // inside a minute is rounded down to it, as CloudWatch does.
    let stats = client
        .get_metric_statistics()
        .namespace(NAMESPACE)
        .metric_name(METRIC)
        .dimensions(Dimension::builder().name("Service").value("AgentCore.Runtime").build())
        .start_time((minute(started) + Duration::from_secs(17)).into())
        .end_time(now.into())
        .period(60)
        .statistics(Statistic::Maximum)
        .statistics(Statistic::SampleCount)
        .statistics(Statistic::Average)
        .send()
        .await
        .expect("GetMetricStatistics");
    assert_eq!(stats.label(), Some(METRIC));
    let point = |when: SystemTime| {
        stats
            .datapoints()
            .iter()
            .find(|p| p.timestamp().map(|ts| SystemTime::try_from(*ts).unwrap()) == Some(when))
            .unwrap_or_else(|| panic!("no datapoint at {when:?}: {stats:?}"))
    };
    assert_eq!(point(full_three).maximum(), Some(3.0));
    assert_eq!(point(full_three).sample_count(), Some(60.0));
    assert_eq!(point(full_two).average(), Some(2.0));
    assert_eq!(point(full_two).unit().map(|u| u.as_str()), Some("Count"));

    // A 10-second period sees the metric's 1-minute datapoints: one per minute, on the minute.
    let fine = client
        .get_metric_data()
        .metric_data_queries(query("fine", "Maximum", 10))
        .start_time(minute(started).into())
        .end_time(now.into())
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .expect("GetMetricData");
    let fine = &fine.metric_data_results()[0];
    let on_the_minute: Vec<SystemTime> =
        fine.timestamps().iter().map(|ts| SystemTime::try_from(*ts).unwrap()).collect();
    assert!(on_the_minute.iter().all(|&at| minute(at) == at), "{fine:?}");
    assert_eq!(fine.values(), max.values(), "the same minutes as a 60-second period");

    // ListMetrics shows the metric; another namespace, or the same metric in another region, has none.
    let listed = client.list_metrics().namespace(NAMESPACE).send().await.unwrap();
    assert_eq!(listed.metrics().len(), 1);
    assert_eq!(listed.metrics()[0].dimensions()[0].value(), Some("AgentCore.Runtime"));
    assert!(client.list_metrics().namespace("AWS/Lambda").send().await.unwrap().metrics().is_empty());
    let elsewhere = cloudwatch::Client::new(&sdk_config_as(&t.lab.endpoint(), "test", "test", "eu-west-1").await);
    let none = elsewhere
        .get_metric_data()
        .metric_data_queries(query("max", "Maximum", 60))
        .start_time(minute(started).into())
        .end_time(now.into())
        .send()
        .await
        .unwrap();
    assert!(none.metric_data_results()[0].values().is_empty(), "no sessions in eu-west-1");
}

#[tokio::test]
async fn bad_parameters_get_cloudwatchs_error_shapes() {
    let t = DataLab::start(data_config()).await;
    let client = cloudwatch::Client::new(&sdk_config(&t.lab.endpoint()).await);
    let now = t.handle().clock().now();
    let hour_ago = now - Duration::from_secs(3600);
    let statistics = || {
        client
            .get_metric_statistics()
            .namespace(NAMESPACE)
            .metric_name(METRIC)
            .start_time(hour_ago.into())
            .end_time(now.into())
            .statistics(Statistic::Maximum)
    };
    let error = statistics().period(45).send().await.unwrap_err().into_service_error();
    assert!(error.is_invalid_parameter_value_exception(), "{error:?}");
    assert_eq!(error.code(), Some("InvalidParameterValue"));
    let two_days = client
        .get_metric_statistics()
        .namespace(NAMESPACE)
        .metric_name(METRIC)
        .start_time((now - Duration::from_secs(2 * 86_400)).into())
        .end_time(now.into())
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(two_days.is_invalid_parameter_combination_exception(), "{two_days:?}");
    assert!(two_days.message().unwrap().contains("exceeds the limit of 1,440"), "{two_days:?}");
    let backwards = statistics().period(60).start_time(now.into()).end_time(hour_ago.into()).send().await.unwrap_err();
    assert_eq!(backwards.code(), Some("InvalidParameterValue"));

    // GetMetricData's model lists no validation error: CloudWatch answers ValidationError.
    let many: Vec<MetricDataQuery> = (0..501).map(|i| query(&format!("q{i}"), "Maximum", 60)).collect();
    let error = client
        .get_metric_data()
        .set_metric_data_queries(Some(many))
        .start_time(hour_ago.into())
        .end_time(now.into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ValidationError"), "{error:?}");
    let bad_id = client
        .get_metric_data()
        .metric_data_queries(query("Max", "Maximum", 60))
        .start_time(hour_ago.into())
        .end_time(now.into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad_id.code(), Some("ValidationError"), "{bad_id:?}");
    assert_eq!(
        bad_id.message(),
        Some(
            "The value Max for parameter MetricDataQueries.member.1.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$."
        )
    );
    let bad_token = client
        .get_metric_data()
        .metric_data_queries(query("m", "Maximum", 60))
        .start_time(hour_ago.into())
        .end_time(now.into())
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(bad_token.is_invalid_next_token(), "{bad_token:?}");
    let percentile = client
        .get_metric_data()
        .metric_data_queries(query("m", "p99", 60))
        .start_time(hour_ago.into())
        .end_time(now.into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(percentile.code(), Some("ValidationError"));
    // An operation the emulator does not serve.
    let alarms = client.describe_alarms().send().await.unwrap_err();
    assert_eq!(alarms.code(), Some("UnknownOperationException"));
}

/// `{}` in CBOR (what an empty GetMetricData input would be).
const CBOR_EMPTY_MAP: &[u8] = &[0xa0];

#[tokio::test]
async fn unsigned_and_forged_requests_are_refused() {
    let t = DataLab::start(data_config()).await;
    let url = format!("{}/service/GraniteServiceVersion20100801/operation/GetMetricData", t.lab.endpoint());
    let http = reqwest::Client::new();
    let cbor = [("smithy-protocol", "rpc-v2-cbor"), ("content-type", "application/cbor")];
    let mut unsigned = http.post(&url).body(CBOR_EMPTY_MAP);
    for (name, value) in cbor {
        unsigned = unsigned.header(name, value);
    }
    let response = unsigned.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(response.headers()["content-type"], "application/cbor");
    let body = response.bytes().await.unwrap();
    assert!(
        body.windows(b"MissingAuthenticationTokenException".len()).any(|w| w == b"MissingAuthenticationTokenException")
    );

    // Signed for another service, or with another secret: refused before the operation runs.
    let (headers, signed_url) = sign("POST", &url, &cbor, CBOR_EMPTY_MAP, SignOptions::new("ec2"));
    let response = http.post(signed_url).headers(headers).body(CBOR_EMPTY_MAP).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let forged = cloudwatch::Client::new(&sdk_config_as(&t.lab.endpoint(), "test", "wrong-secret", "us-east-1").await);
    let error = forged.list_metrics().send().await.unwrap_err();
    assert_eq!(error.code(), Some("InvalidSignatureException"), "{error:?}");

    // Signed properly, the empty input is refused in CBOR: GetMetricData with CloudWatch's
    // ValidationError, GetMetricStatistics with the modeled MissingParameter.
    for (operation, code) in [("GetMetricData", "ValidationError"), ("GetMetricStatistics", "MissingParameter")] {
        let url = url.replace("GetMetricData", operation);
        let (headers, signed_url) = sign("POST", &url, &cbor, CBOR_EMPTY_MAP, SignOptions::new("monitoring"));
        let response = http.post(signed_url).headers(headers).body(CBOR_EMPTY_MAP).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.headers()["x-amzn-query-error"], format!("{code};Sender"));
        assert_eq!(response.headers()["smithy-protocol"], "rpc-v2-cbor");
    }
}

#[tokio::test]
async fn the_query_protocol_answers_in_cloudwatchs_xml() {
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("query", 3600, 28_800).await;
    t.echo(&arn, &sid("q-1"), json!({})).await;
    t.lab.advance(Duration::from_secs(90));
    let now = t.handle().clock().now();
    let iso =
        |at: SystemTime| time::OffsetDateTime::from(at).format(&time::format_description::well_known::Rfc3339).unwrap();
    let form = serde_urlencoded::to_string([
        ("Action", "GetMetricStatistics"),
        ("Version", "2010-08-01"),
        ("Namespace", NAMESPACE),
        ("MetricName", METRIC),
        ("Dimensions.member.1.Name", "Service"),
        ("Dimensions.member.1.Value", "AgentCore.Runtime"),
        ("StartTime", &iso(now - Duration::from_secs(300))),
        ("EndTime", &iso(now)),
        ("Period", "60"),
        ("Statistics.member.1", "Maximum"),
    ])
    .unwrap();
    let url = format!("{}/", t.lab.endpoint());
    let content_type = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
    let (headers, signed_url) = sign("POST", &url, &content_type, form.as_bytes(), SignOptions::new("monitoring"));
    let response = reqwest::Client::new().post(signed_url).headers(headers).body(form.clone()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let xml = response.text().await.unwrap();
    assert!(
        xml.contains("<GetMetricStatisticsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"),
        "{xml}"
    );
    assert!(xml.contains("<Maximum>1</Maximum><Unit>Count</Unit>"), "{xml}");

    let bad = form.replace("Period=60", "Period=7");
    let (headers, signed_url) = sign("POST", &url, &content_type, bad.as_bytes(), SignOptions::new("monitoring"));
    let response = reqwest::Client::new().post(signed_url).headers(headers).body(bad).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<Type>Sender</Type><Code>InvalidParameterValue</Code>"), "{xml}");

    // An input with no member set: ListMetrics with no filter lists the metric.
    let list = "Action=ListMetrics&Version=2010-08-01";
    let (headers, signed_url) = sign("POST", &url, &content_type, list.as_bytes(), SignOptions::new("monitoring"));
    let response = reqwest::Client::new().post(signed_url).headers(headers).body(list).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<ListMetricsResult><Metrics><member><Namespace>AWS/Bedrock-AgentCore</Namespace>"), "{xml}");
}

/// boto3 (`get_metric_data`, `list_metrics`) and the AWS CLI (`aws cloudwatch get-metric-statistics`,
/// `list-metrics`) from the test venv, against the binary: botocore speaks AWS JSON 1.0 to CloudWatch.
#[test]
fn boto3_and_the_aws_cli_read_active_session_count() {
    let venv = test_support::python::venv();
    let server = crate::python_peers::start_agentcore_local("cloudwatch");
    let out = crate::python_peers::run_script(&venv, "cloudwatch_sessions.py", &server);
    assert_eq!(out["protocol"], "json", "{out:#}");
    assert_eq!(out["live"], 2, "{out:#}");
    let gmd = &out["get_metric_data"];
    assert_eq!(
        (gmd["id"].as_str(), gmd["label"].as_str(), gmd["status"].as_str()),
        (Some("live"), Some(METRIC), Some("Complete"))
    );
    let maxima: Vec<f64> = gmd["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(maxima.iter().copied().fold(0.0, f64::max), 2.0, "the most sessions at once: {out:#}");
    let metric = json!([{"Namespace": NAMESPACE, "MetricName": METRIC, "Dimensions": [{"Name": "Service", "Value": "AgentCore.Runtime"}]}]);
    assert_eq!(out["list_metrics"], metric);
    assert_eq!(out["cli_list_metrics"], metric);
    assert_eq!(out["bad_period"], json!({"code": "InvalidParameterValue", "status": 400}));
    assert_eq!(out["bad_id"], json!({"code": "ValidationError", "status": 400}));
    assert_eq!(out["cli_label"], METRIC);
    let cli_max = out["cli_maxima"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).fold(0.0, f64::max);
    assert_eq!(cli_max, 2.0, "{out:#}");
    assert_eq!(out["cli_units"], json!(["Count"]));
    assert_eq!(out["cli_seconds"], json!([0]), "timestamps on the minute, the start rounded down: {out:#}");
}
