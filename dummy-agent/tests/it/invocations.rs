use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::{invocation, send};

const SESSION: &str = "x-amzn-bedrock-agentcore-runtime-session-id";

fn app() -> axum::Router {
    dummy_agent::app(dummy_agent::Config::default())
}

#[tokio::test]
async fn echoes_the_payload_as_the_original_agent_did() {
    let answer = send(&app(), invocation(r#"{"prompt":"load 1"}"#)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(answer.json(), json!({"echo": {"prompt": "load 1"}}));
}

#[tokio::test]
async fn echoes_nested_payloads_and_unicode_unchanged() {
    let payload = json!({"prompt": "héllo ✓", "n": [1, 2.5, null, true], "o": {"a": {"b": "\n"}}});
    let pretty = serde_json::to_string_pretty(&payload).unwrap();
    let answer = send(&app(), invocation(pretty)).await;
    assert_eq!(answer.json(), json!({ "echo": payload }));
}

#[tokio::test]
async fn large_payloads_are_echoed_too() {
    // Above the size parsed inline, so this goes through the blocking pool.
    let payload = json!({"data": vec![12345; 200_000]});
    let answer = send(&app(), invocation(payload.to_string())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({ "echo": payload }));
}

#[tokio::test]
async fn the_session_id_header_is_echoed() {
    let request = Request::post("/invocations")
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", "0f6a1c2e-1111-4c3b-9d7e-123456789abc")
        .body(Body::from("{}"))
        .unwrap();
    let answer = send(&app(), request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[SESSION], "0f6a1c2e-1111-4c3b-9d7e-123456789abc");

    let without = send(&app(), invocation("{}")).await;
    assert!(!without.headers.contains_key(SESSION));
}

#[tokio::test]
async fn the_session_id_is_echoed_on_errors_too() {
    let request = Request::post("/invocations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(SESSION, "session-with-bad-payload-000000000000")
        .body(Body::from("[1, 2]"))
        .unwrap();
    let answer = send(&app(), request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.headers[SESSION], "session-with-bad-payload-000000000000");
}

#[tokio::test]
async fn content_types_read_as_json() {
    for content_type in [
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("Application/JSON"),
        Some("application/octet-stream"),
        Some("application/vnd.example+json"),
        None,
    ] {
        let mut request = Request::post("/invocations");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let answer = send(&app(), request.body(Body::from(r#"{"a":1}"#)).unwrap()).await;
        assert_eq!(answer.status, StatusCode::OK, "{content_type:?}");
        assert_eq!(answer.json(), json!({"echo": {"a": 1}}));
    }
}

#[tokio::test]
async fn status_knob_sets_the_status_and_keeps_the_echo() {
    let payload = json!({"prompt": "x", "_dummy": {"status": 503}});
    let answer = send(&app(), invocation(payload.to_string())).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json(), json!({ "echo": payload }));

    let created = send(&app(), invocation(r#"{"_dummy":{"status":201}}"#)).await;
    assert_eq!(created.status, StatusCode::CREATED);
}

#[tokio::test]
async fn sleep_knob_delays_the_answer() {
    let start = Instant::now();
    let answer = send(&app(), invocation(r#"{"_dummy":{"sleep_ms":200}}"#)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(start.elapsed() >= Duration::from_millis(200), "{:?}", start.elapsed());
}

#[tokio::test]
async fn null_knobs_are_no_knobs() {
    let answer = send(&app(), invocation(r#"{"_dummy":null,"a":1}"#)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({"echo": {"_dummy": null, "a": 1}}));
}

fn stream_request(body: &str, accept: &str) -> Request<Body> {
    Request::post("/invocations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, accept)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// The `data:` payloads of a server-sent events body, in order.
fn events(body: &[u8]) -> Vec<Value> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            let data = event.strip_prefix("data: ").unwrap_or_else(|| panic!("event {event:?}"));
            assert!(!data.contains('\n'), "one data line per event: {event:?}");
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn stream_knob_streams_n_events_when_asked_for_event_stream() {
    let body = "{\r\n \"prompt\": \"s\",\n \"_dummy\": {\"stream\": 5}\n}";
    let answer = send(&app(), stream_request(body, "text/event-stream")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "text/event-stream");
    let events = events(&answer.body);
    assert_eq!(events.len(), 5);
    for (index, event) in events.iter().enumerate().take(4) {
        assert_eq!(*event, json!({"index": index, "total": 5}));
    }
    assert_eq!(events[4], json!({"index": 4, "total": 5, "echo": {"prompt": "s", "_dummy": {"stream": 5}}}));
}

#[tokio::test]
async fn stream_knob_spreads_the_sleep_and_honours_status() {
    let start = Instant::now();
    let body = r#"{"_dummy":{"stream":4,"sleep_ms":200,"status":207}}"#;
    let answer = send(&app(), stream_request(body, "application/json, text/event-stream;q=0.9")).await;
    assert!(start.elapsed() >= Duration::from_millis(200), "{:?}", start.elapsed());
    assert_eq!(answer.status, StatusCode::MULTI_STATUS);
    assert_eq!(events(&answer.body).len(), 4);
}

#[tokio::test]
async fn stream_of_zero_events_is_an_empty_stream() {
    let answer = send(&app(), stream_request(r#"{"_dummy":{"stream":0}}"#, "text/event-stream")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "text/event-stream");
    assert!(answer.body.is_empty());
}

#[tokio::test]
async fn stream_knob_without_event_stream_accept_is_a_plain_echo() {
    let body = r#"{"_dummy":{"stream":3}}"#;
    let answer = send(&app(), stream_request(body, "application/json")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({"echo": {"_dummy": {"stream": 3}}}));
}

#[tokio::test]
async fn a_body_arriving_in_chunks_is_echoed_whole() {
    let chunks =
        ["{\"prompt\":", "\"in pieces\",", "\"n\":[1,2,3]}"].map(|c| Ok::<_, std::io::Error>(c.as_bytes().to_vec()));
    let answer = send(&app(), invocation(Body::from_stream(futures_util::stream::iter(chunks)))).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), json!({"echo": {"prompt": "in pieces", "n": [1, 2, 3]}}));
}

#[tokio::test]
async fn the_mcp_and_a2a_paths_echo_like_invocations() {
    for path in ["/mcp", "/"] {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"prompt":"any protocol"}"#))
            .unwrap();
        let answer = send(&app(), request).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.json(), json!({"echo": {"prompt": "any protocol"}}), "{path}");
    }
}
