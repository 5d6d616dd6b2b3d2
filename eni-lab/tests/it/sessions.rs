//! `eni-lab sessions` against an in-process agentcore-local through `--endpoint-url`: the count it
//! prints is the emulator's own count of live sessions (`/_local/state`).

use std::time::Duration;

use agentcore_local::{Clock, Config};
use aws_sdk_bedrockagentcore as data;
use aws_sdk_bedrockagentcorecontrol as control;
use control::types::{AgentRuntimeArtifact, ContainerConfiguration};

use crate::support::{emulator, run_eni_lab, scratch, sdk_config, stderr, stdout};

fn rfc3339(at: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(at).format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn sessions_prints_the_emulators_live_session_count() {
    let handle = emulator(Config { clock: Clock::manual(), ..Config::default() }).await;
    let sdk = sdk_config(&handle.endpoint_url()).await;
    let artifact = AgentRuntimeArtifact::ContainerConfiguration(
        ContainerConfiguration::builder()
            .container_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1")
            .build()
            .unwrap(),
    );
    let arn = control::Client::new(&sdk)
        .create_agent_runtime()
        .agent_runtime_name("sessions")
        .agent_runtime_artifact(artifact)
        .role_arn("arn:aws:iam::123456789012:role/R")
        .send()
        .await
        .unwrap()
        .agent_runtime_arn()
        .to_string();
    handle.advance(agentcore_local::DEFAULT_STATUS_DELAY);
    let invoker = data::Client::new(&sdk);
    for i in 0..2 {
        invoker
            .invoke_agent_runtime()
            .agent_runtime_arn(&arn)
            .runtime_session_id(format!("eni-lab-sessions-{i:030}"))
            .payload(aws_sdk_bedrockagentcore::primitives::Blob::new(b"{}".to_vec()))
            .send()
            .await
            .expect("InvokeAgentRuntime");
    }
    handle.advance(Duration::from_secs(1));
    let live = handle.snapshot()["dataPlane"]["liveSessions"].as_u64().unwrap();
    assert_eq!(live, 2);

    // The emulator's clock is manual: the window ends at its time, as the help advises.
    let end = rfc3339(handle.clock().now() + Duration::from_secs(60));
    let runs = scratch("sessions");
    let endpoint = handle.endpoint_url();
    let json = run_eni_lab(&runs, &["sessions", "--endpoint-url", &endpoint, "--end", &end, "--output", "json"]).await;
    assert!(json.status.success(), "{}", stderr(&json));
    let series: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(series["metricName"], "ActiveSessionCount");
    assert_eq!(series["region"], "us-east-1");
    assert_eq!(series["stat"], "Maximum");
    let values: Vec<f64> =
        series["datapoints"].as_array().unwrap().iter().map(|p| p["value"].as_f64().unwrap()).collect();
    assert_eq!(values.iter().copied().fold(0.0, f64::max), live as f64, "{series:#}");

    let table =
        run_eni_lab(&runs, &["sessions", "--endpoint-url", &endpoint, "--end", &end, "--stat", "average"]).await;
    assert!(table.status.success());
    assert!(stdout(&table).contains("ActiveSessionCount Average per 60s (us-east-1)"), "{}", stdout(&table));
    // The minute the sessions started in was partly without them: its Average is below the Maximum.
    let args = ["sessions", "--endpoint-url", &endpoint, "--end", &end, "--stat", "Average", "--output", "json"];
    let average = run_eni_lab(&runs, &args).await;
    let average: serde_json::Value = serde_json::from_str(&stdout(&average)).unwrap();
    assert_eq!(average["stat"], "Average");
    let first = average["datapoints"][0]["value"].as_f64().unwrap();
    assert!(0.0 < first && first < live as f64, "{average:#}");

    let empty = run_eni_lab(&runs, &["sessions", "--endpoint-url", &endpoint, "--end", "2020-01-01T00:00:00Z"]).await;
    assert!(empty.status.success());
    assert!(stdout(&empty).starts_with("No ActiveSessionCount datapoints in us-east-1"), "{}", stdout(&empty));

    let nowhere = run_eni_lab(&runs, &["sessions"]).await;
    assert_eq!(nowhere.status.code(), Some(2), "no endpoint and no --aws is a usage error");
    assert!(stderr(&nowhere).contains("--endpoint-url"));
    let bad_period = run_eni_lab(&runs, &["sessions", "--endpoint-url", &endpoint, "--period", "45s"]).await;
    assert_eq!(bad_period.status.code(), Some(2));
}
