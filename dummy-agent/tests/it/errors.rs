use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use serde_json::Value;

use crate::{Answer, invocation, send};

fn app() -> Router {
    dummy_agent::app(dummy_agent::Config::default())
}

/// Asserts the JSON error shape and returns its `error` member.
fn error_of(answer: &Answer, status: StatusCode) -> String {
    assert_eq!(answer.status, status, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.content_type(), "application/json");
    let body = answer.json();
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 2, "{body}");
    assert!(!body["detail"].as_str().expect("a detail string").is_empty());
    body["error"].as_str().expect("an error string").to_owned()
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    for body in ["not json", "{\"a\":", "", "{\"a\":1} trailing", "{'a': 1}"] {
        let answer = send(&app(), invocation(body)).await;
        assert_eq!(error_of(&answer, StatusCode::BAD_REQUEST), "invalid JSON", "{body:?}");
    }
}

#[tokio::test]
async fn json_that_is_not_an_object_is_400() {
    // The FastAPI original (`await request.json()`) echoes any JSON value with 200; the contract's
    // payload is an object, so dummy-agent refuses the others.
    for body in ["[1,2,3]", "42", "\"prompt\"", "null", "true"] {
        let answer = send(&app(), invocation(body)).await;
        let error = error_of(&answer, StatusCode::BAD_REQUEST);
        assert_eq!(error, "payload must be a JSON object", "{body:?}");
        assert!(answer.json()["detail"].as_str().unwrap().contains("expected a JSON object"));
    }
}

#[tokio::test]
async fn bad_knobs_are_400() {
    for knobs in [
        r#""fast""#,
        r#"{"sleep_ms":"200"}"#,
        r#"{"sleep_ms":-1}"#,
        r#"{"sleep_ms":900001}"#,
        r#"{"stream":100001}"#,
        r#"{"status":99}"#,
        r#"{"status":600}"#,
        r#"{"sleep":200}"#,
    ] {
        let answer = send(&app(), invocation(format!(r#"{{"_dummy":{knobs}}}"#))).await;
        assert_eq!(error_of(&answer, StatusCode::BAD_REQUEST), "invalid _dummy knobs", "{knobs}");
    }
}

#[tokio::test]
async fn an_unsupported_content_type_is_415() {
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"] {
        let request =
            Request::post("/invocations").header(header::CONTENT_TYPE, content_type).body(Body::from("{}")).unwrap();
        let answer = send(&app(), request).await;
        let error = error_of(&answer, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(error, "unsupported media type", "{content_type}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = dummy_agent::app(dummy_agent::Config { body_limit: 16, ..Default::default() });
    let at_limit = r#"{"a":"12345678"}"#;
    assert_eq!(at_limit.len(), 16);
    assert_eq!(send(&app, invocation(at_limit)).await.status, StatusCode::OK);

    let over = r#"{"a":"123456789"}"#;
    let answer = send(&app, invocation(over)).await;
    assert_eq!(error_of(&answer, StatusCode::PAYLOAD_TOO_LARGE), "payload too large");

    // Without a Content-Length: the limit holds while reading, in one chunk or across several.
    for pieces in [vec![over], vec![r#"{"a":"#, r#""1234"#, r#"56789"}"#]] {
        let chunks = pieces.into_iter().map(|c| Ok::<_, std::io::Error>(c.as_bytes().to_vec()));
        let answer = send(&app, invocation(Body::from_stream(futures_util::stream::iter(chunks)))).await;
        assert_eq!(error_of(&answer, StatusCode::PAYLOAD_TOO_LARGE), "payload too large");
    }
}

#[tokio::test]
async fn the_default_limit_is_agentcores_100_mb() {
    assert_eq!(dummy_agent::Config::default().body_limit, 100_000_000);
    let request = Request::post("/invocations")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "100000001")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(), request).await;
    assert_eq!(error_of(&answer, StatusCode::PAYLOAD_TOO_LARGE), "payload too large");
}

#[tokio::test]
async fn unknown_paths_are_json_404() {
    for (method, path) in [("GET", "/nothing"), ("POST", "/invoke"), ("GET", "/ping/")] {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let answer = send(&app(), request).await;
        assert_eq!(error_of(&answer, StatusCode::NOT_FOUND), "not found", "{method} {path}");
    }
}

#[tokio::test]
async fn wrong_methods_are_json_405_with_allow() {
    for (method, path, allow) in [
        ("GET", "/invocations", "POST"),
        ("GET", "/", "POST"),
        ("POST", "/ping", "GET,HEAD"),
        ("DELETE", "/ping", "GET,HEAD"),
    ] {
        let request = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
        let answer = send(&app(), request).await;
        let error = error_of(&answer, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(error, "method not allowed", "{method} {path}");
        assert_eq!(answer.headers[header::ALLOW], allow, "{method} {path}");
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_and_the_router_keeps_serving() {
    async fn boom() -> &'static str {
        panic!("boom")
    }
    let app =
        dummy_agent::with_contract_layers(Router::new().route("/boom", get(boom)).route("/ok", get(|| async { "ok" })));
    for _ in 0..2 {
        let answer = send(&app, Request::get("/boom").body(Body::empty()).unwrap()).await;
        assert_eq!(error_of(&answer, StatusCode::INTERNAL_SERVER_ERROR), "internal error");
        assert_eq!(answer.json()["detail"], Value::from("boom"));
        let ok = send(&app, Request::get("/ok").body(Body::empty()).unwrap()).await;
        assert_eq!(ok.status, StatusCode::OK);
    }
}
