//! The router in-process with `tower::ServiceExt::oneshot`: routing, trailing slashes and the
//! emulator-only endpoints (signed like every other route when auth is on).

use std::sync::Arc;

use agentcore_local::{AppState, Auth, Config, app};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn open_state() -> Arc<AppState> {
    Arc::new(AppState::new(Config { auth: Auth::Disabled, ..crate::support::manual_config() }))
}

async fn call(state: &Arc<AppState>, method: &str, uri: &str, body: &str) -> (StatusCode, String, Option<String>) {
    let request = Request::builder().method(method).uri(uri).body(Body::from(body.to_string())).unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let error_type = response.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_string());
    assert!(response.headers().contains_key("x-amzn-requestid"));
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap(), error_type)
}

const CREATE: &str = r#"{"agentRuntimeName":"slash","agentRuntimeArtifact":{"containerConfiguration":{"containerUri":"123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest"}},"roleArn":"arn:aws:iam::123456789012:role/AgentRole"}"#;

#[tokio::test]
async fn paths_with_and_without_trailing_slash() {
    let state = open_state();
    let (status, body, _) = call(&state, "PUT", "/runtimes/", CREATE).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["agentRuntimeId"].as_str().unwrap().to_string();
    for uri in [format!("/runtimes/{id}"), format!("/runtimes/{id}/")] {
        let (status, body, _) = call(&state, "GET", &uri, "").await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    for uri in ["/runtimes", "/runtimes/"] {
        let (status, body, _) = call(&state, "POST", uri, "").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(&id));
    }
    let (status, _, _) = call(&state, "POST", &format!("/runtimes/{id}/versions/"), "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn local_state_and_reset() {
    let state = open_state();
    call(&state, "POST", "/", "Action=CreateVpc&CidrBlock=10.0.0.0/16").await;
    let (status, body, _) = call(&state, "GET", "/_local/state", "").await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["regions"]["us-east-1"]["vpcs"].as_array().unwrap().len(), 1);
    assert_eq!(json["eniPolicy"], "shared");
    assert_eq!(json["manualClock"], true);
    let (status, _, _) = call(&state, "POST", "/_local/reset/", "").await;
    assert_eq!(status, StatusCode::OK);
    let (_, body, _) = call(&state, "GET", "/_local/state/", "").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(json["regions"].as_object().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_routes_and_bodies() {
    let state = open_state();
    let (status, _, error) = call(&state, "GET", "/nowhere", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error.as_deref(), Some("UnknownOperationException"));
    let (status, _, error) = call(&state, "PATCH", "/runtimes", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error.as_deref(), Some("UnknownOperationException"));
    let (status, body, error) = call(&state, "PUT", "/runtimes", "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error.as_deref(), Some("ValidationException"));
    assert!(body.contains("CannotParse"), "{body}");
    let (status, body, _) = call(&state, "POST", "/", "Version=2016-11-15").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("<Code>MissingParameter</Code>"), "{body}");
    let (status, body, _) = call(&state, "GET", "/?Action=DescribeVpcs&Version=2016-11-15", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<DescribeVpcsResponse"), "{body}");
}

#[tokio::test]
async fn local_endpoints_need_the_emulators_signature_when_auth_is_on() {
    use crate::support::{Lab, SignOptions, local_state, sign};
    let lab = Lab::manual().await;
    lab.vpc("10.0.0.0/16").await;
    let url = lab.handle.endpoint_url();
    let http = reqwest::Client::new();
    // A body-less POST any web page could send: refused, nothing forgotten.
    let unsigned = http.post(format!("{url}/_local/reset")).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 403);
    assert_eq!(unsigned.headers()["x-amzn-errortype"], "MissingAuthenticationTokenException");
    let unsigned = http.get(format!("{url}/_local/state")).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 403);
    // Signed for another service: refused too.
    let (headers, reset_url) = sign("POST", &format!("{url}/_local/reset"), &[], b"", SignOptions::new("ec2"));
    let wrong = http.post(&reset_url).headers(headers).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    assert_eq!(wrong.headers()["x-amzn-errortype"], "InvalidSignatureException");
    assert_eq!(lab.handle.snapshot()["regions"]["us-east-1"]["vpcs"].as_array().unwrap().len(), 1);
    assert_eq!(local_state(&url).await["regions"]["us-east-1"]["vpcs"].as_array().unwrap().len(), 1);

    let (headers, reset_url) =
        sign("POST", &format!("{url}/_local/reset"), &[], b"", SignOptions::new("bedrock-agentcore"));
    let signed = http.post(&reset_url).headers(headers).send().await.unwrap();
    assert_eq!(signed.status().as_u16(), 200);
    assert!(local_state(&url).await["regions"].as_object().unwrap().is_empty());
}
