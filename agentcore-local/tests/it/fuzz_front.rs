//! Property tests (`fuzz_*`, default proptest config: `PROPTEST_CASES` sets the depth) for the
//! front door: the SigV4 `Authorization` parser and checker, every control-plane route with hostile
//! bodies and paths, and the data plane's ARN/qualifier decoding.
//!
//! The router tests run with auth disabled (so the handlers, not the signature check, see the
//! input) and a manual clock that never moves: runtimes stay CREATING, no invocation can start an
//! agent process.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use agentcore_local::auth::{AuthFailure, authenticate};
use agentcore_local::{AppState, Auth, Config, app};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"))
}

/// One emulator state (auth off, a clock that never moves) and its router, shared by every case:
/// building them per case (an HTTP client for the agents, the routes) would dominate the run time.
fn open_app() -> &'static (Arc<AppState>, axum::Router) {
    static APP: OnceLock<(Arc<AppState>, axum::Router)> = OnceLock::new();
    APP.get_or_init(|| {
        let _guard = runtime().enter();
        let state = Arc::new(AppState::new(Config { auth: Auth::Disabled, ..crate::support::manual_config() }));
        (state.clone(), app(state))
    })
}

/// One request through `app()`: status, `x-amzn-ErrorType`, body.
fn call(request: Request<Body>) -> (u16, Option<String>, Vec<u8>) {
    let router = open_app().1.clone();
    runtime().block_on(async {
        let response = tokio::time::timeout(Duration::from_secs(10), router.oneshot(request))
            .await
            .expect("answered within 10 s")
            .expect("infallible");
        let status = response.status().as_u16();
        let error_type = response.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap_or("?").to_string());
        assert!(response.headers().contains_key("x-amzn-requestid"), "every answer has a request id");
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        (status, error_type, body)
    })
}

/// 2xx, or a restJson1 error: not 5xx, an `x-amzn-ErrorType` header and a JSON `message`.
fn assert_json_answer(status: u16, error_type: Option<&str>, body: &[u8], what: &str) -> Result<(), TestCaseError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    prop_assert!(status < 500, "{} answered {}: {}", what, status, String::from_utf8_lossy(body));
    prop_assert!(error_type.is_some_and(|t| !t.is_empty()), "{} answered {} without x-amzn-ErrorType", what, status);
    let json: Value = serde_json::from_slice(body).map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
    prop_assert!(json["message"].is_string(), "{}: {}", what, json);
    Ok(())
}

/// Percent-encodes everything but unreserved characters, or (when `raw_reserved`) leaves `:` and
/// `/` and a few sub-delimiters as they are.
fn encode(text: &str, raw_reserved: bool) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric()
            || b"-._~".contains(&byte)
            || (raw_reserved && b":/@!$&'()*+,;=".contains(&byte));
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Hostile text: empty, huge numbers, unicode, control characters, near-miss identifiers.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just("1e999".to_string()),
        Just("%".to_string()),
        Just("%zz%FF%C3%28".to_string()),
        Just("rt_agent-0123456789".to_string()),
        Just("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/rt_agent-0123456789".to_string()),
        "[a-zA-Z0-9_-]{0,60}",
        "\\PC{0,40}",
        any::<String>(),
        "[a-z]{1,8}".prop_map(|s| s.repeat(300)),
    ]
}

/// A hostile percent-decoding test: sometimes fully encoded, sometimes with raw reserved
/// characters, sometimes invalid escapes (`%zz`, `%FF`) verbatim.
fn hostile_segment() -> impl Strategy<Value = String> {
    (hostile_text(), 0u8..3).prop_map(|(text, mode)| match mode {
        0 => encode(&text, false),
        1 => encode(&text, true),
        _ => format!("{}%FF%zz", encode(&text, false)),
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        hostile_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{0,20}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A CreateAgentRuntime body that passes validation, as the base for mutations.
fn valid_create() -> Value {
    json!({
        "agentRuntimeName": "fuzz_agent",
        "agentRuntimeArtifact": {"containerConfiguration": {"containerUri": crate::support::IMAGE}},
        "roleArn": crate::support::ROLE_ARN,
        "networkConfiguration": {"networkMode": "PUBLIC"},
        "clientToken": crate::support::token(1),
        "lifecycleConfiguration": {"idleRuntimeSessionTimeout": 900, "maxLifetime": 28800},
        "environmentVariables": {"A": "b"},
        "tags": {"k": "v"},
        "description": "d",
    })
}

const CREATE_FIELDS: &[&str] = &[
    "agentRuntimeName",
    "agentRuntimeArtifact",
    "roleArn",
    "networkConfiguration",
    "clientToken",
    "lifecycleConfiguration",
    "environmentVariables",
    "tags",
    "description",
    "protocolConfiguration",
];

/// Bodies: random JSON, a valid CreateAgentRuntime with one member replaced, raw bytes, JSON with
/// repeated keys or a huge number, a valid prefix with garbage after it.
fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        (prop::sample::select(CREATE_FIELDS), json_value()).prop_map(|(field, value)| {
            let mut body = valid_create();
            body[field] = value;
            serde_json::to_vec(&body).unwrap()
        }),
        prop::collection::vec(any::<u8>(), 0..256),
        Just(br#"{"agentRuntimeName":"a","agentRuntimeName":"b","tags":{"k":"1","k":"2"}}"#.to_vec()),
        Just(br#"{"maxResults":1e400,"lifecycleConfiguration":{"maxLifetime":184467440737095516160}}"#.to_vec()),
        Just(br#"{"tagKeys":["a"],"tags":null,"agentRuntimeArtifact":{"containerConfiguration":{}}}"#.to_vec()),
        (prop::collection::vec(any::<u8>(), 0..32)).prop_map(|garbage| {
            let mut body = serde_json::to_vec(&valid_create()).unwrap();
            body.truncate(body.len() / 2);
            body.extend(garbage);
            body
        }),
    ]
}

/// Query strings: the members the control plane reads, with hostile values and repeated keys.
fn hostile_query() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "maxResults",
        "nextToken",
        "version",
        "clientToken",
        "tagKeys",
        "qualifier",
        "accountId",
        "x",
    ]);
    prop::collection::vec((key, hostile_segment()), 0..4).prop_map(|pairs| {
        if pairs.is_empty() {
            String::new()
        } else {
            let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("?{}", joined.join("&"))
        }
    })
}

/// Every control-plane route template ([`agentcore_local::control::routes`] and the tag routes).
const CONTROL_ROUTES: &[(&str, &str)] = &[
    ("PUT", "/runtimes"),
    ("POST", "/runtimes"),
    ("GET", "/runtimes/{}"),
    ("PUT", "/runtimes/{}"),
    ("DELETE", "/runtimes/{}"),
    ("POST", "/runtimes/{}/versions"),
    ("POST", "/runtimes/{}/runtime-endpoints"),
    ("GET", "/tags/{}"),
    ("POST", "/tags/{}"),
    ("DELETE", "/tags/{}"),
    ("PATCH", "/runtimes/{}"),
];

fn valid_signed_headers() -> HeaderMap {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_smithy_runtime_api::client::identity::Identity;
    let identity: Identity = aws_sdk_ec2::config::Credentials::new("test", "test", None, None, "f").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("bedrock-agentcore")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap();
    let request =
        SignableRequest::new("POST", "/runtimes", [("host", "h")].into_iter(), SignableBody::Bytes(b"")).unwrap();
    let (instructions, _) = sign(request, &params.into()).unwrap().into_parts();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("h"));
    for (name, value) in instructions.headers() {
        headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    headers
}

/// `Authorization` values: valid prefixes with garbage, repeated and empty parameters, odd scopes.
fn hostile_authorization() -> impl Strategy<Value = Vec<u8>> {
    let part = prop_oneof![
        Just("Credential=test/20260101/us-east-1/bedrock-agentcore/aws4_request".to_string()),
        "Credential=[a-z/0-9_-]{0,40}",
        Just("SignedHeaders=host;x-amz-date".to_string()),
        "SignedHeaders=[a-z;:-]{0,30}",
        Just("SignedHeaders=;;;".to_string()),
        "Signature=[0-9a-f]{0,70}",
        Just("Credential=".to_string()),
        "\\PC{0,20}",
    ];
    (
        prop::sample::select(vec!["AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256", "aws4-hmac-sha256 ", "", "Basic "]),
        prop::collection::vec(part, 0..6),
        prop::sample::select(vec![", ", ",", " ,,", "\t,"]),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(algorithm, parts, separator, tail)| {
            let mut value = format!("{algorithm}{}", parts.join(separator)).into_bytes();
            value.extend(tail);
            value
        })
}

/// Presigned query strings: the `X-Amz-*` parameters with valid, garbage, repeated and miscased
/// names and values, around hostile others.
fn hostile_presigned_query() -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec![
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "x-amz-signature",
        "qualifier",
        "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id",
    ]);
    let value = prop_oneof![
        Just("AWS4-HMAC-SHA256".to_string()),
        Just("test%2F20260101%2Fus-east-1%2Fbedrock-agentcore%2Faws4_request".to_string()),
        Just("20260101T000000Z".to_string()),
        Just("host".to_string()),
        "[0-9]{0,12}",
        "[0-9a-f]{64}",
        hostile_segment(),
    ];
    prop::collection::vec((name, value), 1..10).prop_map(|pairs| {
        let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("?{}", joined.join("&"))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_sigv4_presigned_query(query in hostile_presigned_query(), path in hostile_segment()) {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("h"));
        let uri = format!("/runtimes/{path}/ws{query}");
        for service in ["bedrock-agentcore", "ec2"] {
            let result = authenticate(&Auth::default(), "us-east-1", service, "GET", &uri, &headers, b"", SystemTime::now());
            // Never accepted: no hostile query carries a signature made with the secret.
            let failure = match result {
                Ok(caller) => return Err(TestCaseError::fail(format!("accepted {uri} as {caller:?}"))),
                Err(failure) => failure,
            };
            prop_assert!(failure.json_error().status.is_client_error());
            prop_assert!(failure.ec2_error().status.is_client_error());
        }
    }

    #[test]
    fn fuzz_sigv4_authorization_header(
        authorization in hostile_authorization(),
        amz_date in prop_oneof![Just("20260101T000000Z".to_string()), "[0-9TZ]{0,20}", "\\PC{0,10}"],
        content_sha256 in prop::option::of(prop_oneof![
            Just("UNSIGNED-PAYLOAD".to_string()),
            "[0-9a-f]{64}",
            "\\PC{0,80}",
        ]),
        uri in prop_oneof![Just("/".to_string()), hostile_segment().prop_map(|s| format!("/runtimes/{s}?{s}"))],
        keep_valid_date in any::<bool>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut headers = valid_signed_headers();
        if let Ok(value) = HeaderValue::from_bytes(&authorization) {
            headers.insert("authorization", value);
        }
        if !keep_valid_date && let Ok(value) = HeaderValue::from_str(&amz_date) {
            headers.insert("x-amz-date", value);
        }
        if let Some(hash) = content_sha256.as_deref().and_then(|h| HeaderValue::from_str(h).ok()) {
            headers.insert("x-amz-content-sha256", hash);
        }
        let auth = Auth::default();
        for service in ["bedrock-agentcore", "ec2"] {
            for method in ["POST", "GET", "\u{0}"] {
                let result = authenticate(&auth, "us-east-1", service, method, &uri, &headers, &body, SystemTime::now());
                // Ok only for a real signature: never for hostile input (the valid headers sign an
                // empty POST to /runtimes, so a garbage Authorization cannot pass).
                let failure: Result<AuthFailure, String> = match result {
                    Ok(caller) => Err(format!("accepted as {caller:?}")),
                    Err(failure) => Ok(failure),
                };
                let failure = failure.map_err(TestCaseError::fail)?;
                // Each failure renders in both shapes.
                prop_assert!(failure.json_error().status.is_client_error());
                prop_assert!(failure.ec2_error().status.is_client_error());
            }
        }
        // Disabled auth accepts everything and still reads a region (possibly the default).
        let open = authenticate(&Auth::Disabled, "us-east-1", "ec2", "POST", &uri, &headers, &body, SystemTime::now());
        prop_assert!(open.is_ok());
    }

    #[test]
    fn fuzz_control_plane_bodies(
        route in prop::sample::select(CONTROL_ROUTES),
        id in hostile_segment(),
        query in hostile_query(),
        trailing_slash in any::<bool>(),
        body in hostile_body(),
        content_type in prop::option::of(prop::sample::select(vec!["application/json", "text/plain", "\u{1}"])),
    ) {
        let (method, template) = route;
        let path = template.replace("{}", &id);
        let uri = format!("{path}{}{query}", if trailing_slash { "/" } else { "" });
        let Ok(mut request) = Request::builder().method(method).uri(&uri).body(Body::from(body)) else {
            return Ok(()); // not a URI http accepts: never reaches a server
        };
        if let Some(value) = content_type.and_then(|c| HeaderValue::from_str(c).ok()) {
            request.headers_mut().insert("content-type", value);
        }
        let (status, error_type, body) = call(request);
        assert_json_answer(status, error_type.as_deref(), &body, &format!("{method} {uri}"))?;
    }

    #[test]
    fn fuzz_data_plane_path(
        arn in prop_oneof![
            hostile_segment(),
            (hostile_text(), any::<bool>()).prop_map(|(tail, raw)| {
                encode(&format!("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{tail}"), raw)
            }),
            hostile_text().prop_map(|t| encode(&format!("arn:{t}:bedrock-agentcore:{t}:{t}:runtime/{t}"), false)),
        ],
        query in hostile_query(),
        operation in prop::sample::select(vec!["invocations", "stopruntimesession", "invocations/", "commands"]),
        session in prop::option::of("[a-zA-Z0-9-]{0,300}"),
        payload in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let uri = format!("/runtimes/{arn}/{operation}{query}");
        let Ok(mut request) = Request::builder().method("POST").uri(&uri).body(Body::from(payload)) else {
            return Ok(());
        };
        if let Some(value) = session.and_then(|s| HeaderValue::from_str(&s).ok()) {
            request.headers_mut().insert("x-amzn-bedrock-agentcore-runtime-session-id", value);
        }
        let (status, error_type, body) = call(request);
        // No runtime is READY (the clock never moves): every call is an error, in the JSON shape.
        prop_assert!(!(200..300).contains(&status), "{} answered {}", uri, status);
        assert_json_answer(status, error_type.as_deref(), &body, &uri)?;
        prop_assert_eq!(open_app().0.snapshot()["dataPlane"]["sessions"].as_array().map_or(0, Vec::len), 0);
    }
}
