//! The front door against hostile clients: forged bodies, unsigned payloads, unsigned `host`,
//! skewed dates, presigned URLs, oversized and slow requests, panics.

use std::time::{Duration, SystemTime};

use std::sync::Arc;

use agentcore_local::{AppState, Auth, Config, app, protect};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::support::{ContentSha256, Lab, SignOptions, sign};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const DESCRIBE: &[u8] = b"Action=DescribeVpcs&Version=2016-11-15";
const CREATE: &[u8] = b"Action=CreateVpc&CidrBlock=10.9.0.0/16&Version=2016-11-15";

/// Sends `body` to `url` with the given signed headers; returns status, error code and body text.
async fn send(
    method: &str,
    url: &str,
    headers: reqwest::header::HeaderMap,
    body: &[u8],
) -> (u16, Option<String>, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response =
        reqwest::Client::new().request(method, url).headers(headers).body(body.to_vec()).send().await.unwrap();
    let status = response.status().as_u16();
    let code = response.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_string());
    assert!(response.headers().contains_key("x-amzn-requestid"));
    (status, code, response.text().await.unwrap())
}

/// The `<Code>` of an EC2 error document.
fn ec2_code(body: &str) -> &str {
    body.split("<Code>").nth(1).and_then(|rest| rest.split("</Code>").next()).unwrap_or("<none>")
}

async fn vpc_count(lab: &Lab) -> usize {
    lab.ec2.describe_vpcs().send().await.unwrap().vpcs().len()
}

#[tokio::test]
async fn a_body_other_than_the_signed_one_is_refused_and_changes_nothing() {
    let lab = Lab::manual().await;
    let url = format!("{}/", lab.handle.endpoint_url());
    for content_sha256 in [ContentSha256::OfBody, ContentSha256::Absent] {
        let options = SignOptions { content_sha256, ..SignOptions::new("ec2") };
        let (headers, url) = sign("POST", &url, &[FORM], DESCRIBE, options);
        let (status, _, body) = send("POST", &url, headers.clone(), CREATE).await;
        assert_eq!((status, ec2_code(&body)), (401, "AuthFailure"), "{content_sha256:?}: {body}");
        // The same signature over the body it was made for is fine.
        let (status, _, body) = send("POST", &url, headers, DESCRIBE).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(vpc_count(&lab).await, 0, "the forged CreateVpc created nothing");

    // The control plane too: a signature over one CreateAgentRuntime body, another body sent.
    let url = format!("{}/runtimes", lab.handle.endpoint_url());
    let options = SignOptions { content_sha256: ContentSha256::OfBody, ..SignOptions::new("bedrock-agentcore") };
    let (headers, url) = sign("POST", &url, &[], b"", options);
    let (status, code, body) = send("POST", &url, headers, b"{}").await;
    assert_eq!((status, code.as_deref()), (403, Some("InvalidSignatureException")), "{body}");
    assert!(body.contains("x-amz-content-sha256"), "{body}");
}

#[tokio::test]
async fn unsigned_payloads_are_refused_by_both_protocols() {
    let lab = Lab::manual().await;
    let options = |service| SignOptions { content_sha256: ContentSha256::Unsigned, ..SignOptions::new(service) };
    let ec2_url = format!("{}/", lab.handle.endpoint_url());
    let (headers, url) = sign("POST", &ec2_url, &[FORM], CREATE, options("ec2"));
    assert_eq!(headers["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
    let (status, _, body) = send("POST", &url, headers, CREATE).await;
    assert_eq!((status, ec2_code(&body)), (401, "AuthFailure"), "{body}");
    assert!(body.contains("UNSIGNED-PAYLOAD"), "{body}");
    assert_eq!(vpc_count(&lab).await, 0);

    let control_url = format!("{}/runtimes", lab.handle.endpoint_url());
    let (headers, url) = sign("POST", &control_url, &[], b"", options("bedrock-agentcore"));
    let (status, code, body) = send("POST", &url, headers, b"").await;
    assert_eq!((status, code.as_deref()), (403, Some("InvalidSignatureException")), "{body}");
}

#[tokio::test]
async fn host_must_be_a_signed_header() {
    let lab = Lab::manual().await;
    let ec2_url = format!("{}/", lab.handle.endpoint_url());
    let options = |service| SignOptions { sign_host: false, ..SignOptions::new(service) };
    let (headers, url) = sign("POST", &ec2_url, &[FORM], DESCRIBE, options("ec2"));
    let (status, _, body) = send("POST", &url, headers, DESCRIBE).await;
    assert_eq!((status, ec2_code(&body)), (400, "IncompleteSignature"), "{body}");
    assert!(body.contains("must be a &apos;SignedHeader&apos;"), "{body}");

    let control_url = format!("{}/runtimes", lab.handle.endpoint_url());
    let (headers, url) = sign("POST", &control_url, &[], b"", options("bedrock-agentcore"));
    let (status, code, body) = send("POST", &url, headers, b"").await;
    assert_eq!((status, code.as_deref()), (403, Some("IncompleteSignatureException")), "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["message"], "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

#[tokio::test]
async fn six_minutes_of_clock_skew_is_refused_in_each_protocols_shape() {
    let lab = Lab::manual().await;
    let six_minutes = Duration::from_secs(6 * 60);
    for when in [SystemTime::now() - six_minutes, SystemTime::now() + six_minutes] {
        let ec2_url = format!("{}/", lab.handle.endpoint_url());
        let (headers, url) = sign("POST", &ec2_url, &[FORM], DESCRIBE, SignOptions { when, ..SignOptions::new("ec2") });
        let (status, _, body) = send("POST", &url, headers, DESCRIBE).await;
        assert_eq!((status, ec2_code(&body)), (400, "RequestExpired"), "{body}");

        let control_url = format!("{}/runtimes", lab.handle.endpoint_url());
        let options = SignOptions { when, ..SignOptions::new("bedrock-agentcore") };
        let (headers, url) = sign("POST", &control_url, &[], b"", options);
        let (status, code, body) = send("POST", &url, headers, b"").await;
        assert_eq!((status, code.as_deref()), (403, Some("InvalidSignatureException")), "{body}");
        let message =
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["message"].as_str().unwrap().to_string();
        let past = message.starts_with("Signature expired: ") && message.contains(" is now earlier than ");
        let future = message.starts_with("Signature not yet current: ") && message.contains(" is still later than ");
        assert!((past || future) && message.ends_with(" 5 min.)"), "{message}");
    }
}

#[tokio::test]
async fn presigned_urls_are_verified_and_served() {
    let lab = Lab::manual().await;
    let options = |service| SignOptions { presign: true, ..SignOptions::new(service) };
    let control_url = format!("{}/runtimes", lab.handle.endpoint_url());
    let (headers, url) = sign("POST", &control_url, &[], b"", options("bedrock-agentcore"));
    assert!(url.contains("X-Amz-Signature=") && !headers.contains_key("authorization"), "{url}");
    let (status, _, body) = send("POST", &url, headers.clone(), b"").await;
    assert_eq!(status, 200, "ListAgentRuntimes, presigned: {body}");
    assert!(body.contains("agentRuntimes"), "{body}");
    // The signature covers the query: one more parameter is a mismatch.
    let (status, code, body) = send("POST", &format!("{url}&maxResults=1"), headers, b"").await;
    assert_eq!((status, code.as_deref()), (403, Some("InvalidSignatureException")), "{body}");

    let ec2_url = format!("{}/?Action=DescribeVpcs&Version=2016-11-15", lab.handle.endpoint_url());
    let (headers, url) = sign("GET", &ec2_url, &[], b"", options("ec2"));
    let (status, _, body) = send("GET", &url, headers.clone(), b"").await;
    assert_eq!(status, 200, "DescribeVpcs, presigned: {body}");
    assert!(body.contains("<DescribeVpcsResponse"), "{body}");
    let (status, _, body) = send("GET", &url.replace("DescribeVpcs", "DescribeSubnets"), headers, b"").await;
    assert_eq!((status, ec2_code(&body)), (401, "AuthFailure"), "{body}");
}

/// Whether `answer` holds a whole HTTP/1.1 response (headers and a `content-length` body).
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
        .and_then(|v| v.parse::<usize>().ok());
    length.is_some_and(|n| body.len() >= n)
}

/// Sends `head` (request line and headers, never the body it declares) on a raw connection and
/// reads the answer.
async fn raw_exchange(addr: std::net::SocketAddr, head: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    read_answer(&mut stream, "answered within 10 s without the body").await
}

/// Reads one whole HTTP/1.1 response from `stream`, within 10 s (`expect`ing `what` otherwise).
async fn read_answer(stream: &mut TcpStream, what: &str) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !complete(&answer) {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .expect(what);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn an_oversized_content_length_is_refused_before_the_body_is_read() {
    let lab = Lab::manual().await;
    let addr = lab.handle.local_addr();
    let declared = 200 * 1024 * 1024;
    let answer = raw_exchange(
        addr,
        &format!("PUT /runtimes HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {declared}\r\n\r\n"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-amzn-errortype: requestentitytoolargeexception"), "{answer}");
    let answer = raw_exchange(
        addr,
        &format!("POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {}\r\ncontent-length: {declared}\r\n\r\n", FORM.1),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("<Code>RequestEntityTooLargeException</Code>"), "{answer}");
    // The data plane allows 100 MB, not more.
    let answer = raw_exchange(
        addr,
        &format!("POST /runtimes/r-1/invocations HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 100000001\r\n\r\n"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("'payload' failed to satisfy constraint"), "{answer}");
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_cut_off_while_reading() {
    let state = Arc::new(AppState::new(Config { auth: Auth::Disabled, ..crate::support::manual_config() }));
    let chunk = Bytes::from(vec![b'x'; 256 * 1024]);
    // 16 chunks of 256 KiB (4 MiB), no Content-Length; the 9th crosses the 2 MiB limit.
    let chunks = futures_util::stream::iter((0..16).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let request = Request::builder().method("PUT").uri("/runtimes").body(Body::from_stream(chunks)).unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.headers()["x-amzn-errortype"], "RequestEntityTooLargeException");
}

#[tokio::test]
async fn the_data_plane_still_takes_a_two_mib_payload() {
    let t = crate::data::DataLab::start(crate::data::data_config()).await;
    let arn = t.ready_runtime("big_payload", 900, 28_800).await;
    let payload = serde_json::json!({ "blob": "y".repeat(2 * 1024 * 1024) });
    let answer = t.echo(&arn, &crate::data::sid("two-mib"), payload.clone()).await;
    assert_eq!(answer["echo"], payload, "echoed whole");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let lab =
        Lab::start(Config { header_read_timeout: Duration::from_millis(300), ..crate::support::manual_config() }).await;
    let mut stream = TcpStream::connect(lab.handle.local_addr()).await.unwrap();
    stream.write_all(b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ").await.unwrap();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {} // whatever hyper says before closing
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection is still open 10 s after a 300 ms header timeout");
    // The server itself is fine.
    lab.ec2.describe_vpcs().send().await.unwrap();
}

async fn boom() -> &'static str {
    panic!("a handler bug")
}

#[tokio::test]
async fn a_panicking_handler_answers_500_in_each_protocols_shape() {
    let router = protect(Router::new().route("/", post(boom)).route("/runtimes/{id}", get(boom)));
    let ec2 = router
        .clone()
        .oneshot(Request::builder().method("POST").uri("/").body(Body::from("Action=DescribeVpcs")).unwrap())
        .await
        .unwrap();
    assert_eq!(ec2.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = ec2.headers()["x-amzn-requestid"].to_str().unwrap().to_string();
    let body = String::from_utf8(ec2.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert_eq!(ec2_code(&body), "InternalError", "{body}");
    assert!(body.contains(&format!("<RequestID>{id}</RequestID>")), "{body}");

    let json = router.oneshot(Request::builder().uri("/runtimes/x").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(json.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json.headers()["x-amzn-errortype"], "InternalServerException");
    assert!(json.headers().contains_key("x-amzn-requestid"));
    let body: serde_json::Value =
        serde_json::from_slice(&json.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(body["message"].is_string(), "{body}");
}

/// One slot: a slow invocation holds it, so a DescribeVpcs waits until the invocation is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_concurrency_limit_wait_for_a_slot() {
    let t = crate::data::DataLab::start(Config { max_concurrent_requests: 1, ..crate::data::data_config() }).await;
    let arn = t.ready_runtime("slot_holder", 900, 28_800).await;
    let session = crate::data::sid("slot");
    t.echo(&arn, &session, serde_json::json!({})).await; // the microVM is up: the next call is all sleep
    let slow = tokio::spawn(t.invoke(&arn, &session, serde_json::json!({"_dummy": {"sleep_ms": 1500}})).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ec2 = t.lab.ec2.clone();
    let waiting = tokio::spawn(async move { ec2.describe_vpcs().send().await.map(|out| out.vpcs().len()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!slow.is_finished(), "the slow call ended early: the test proves nothing");
    assert!(!waiting.is_finished(), "a second request was served while the only slot was taken");
    tokio::time::timeout(Duration::from_secs(10), slow).await.unwrap().unwrap().expect("the slow call");
    let served = tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("served once the slot is free");
    assert_eq!(served.unwrap().unwrap(), 0);
}

/// Only verified requests take a slot: a client with the access key id but not the secret, whose
/// body never arrives, holds none (it used to hold one until the body read timeout).
#[tokio::test]
async fn a_stalled_unverified_body_holds_no_slot() {
    let config = Config {
        max_concurrent_requests: 1,
        body_read_timeout: Duration::from_secs(120),
        ..crate::support::manual_config()
    };
    let lab = Lab::start(config).await;
    let addr = lab.handle.local_addr();
    // Signed over another body (as good as a wrong secret): only the full body would show it.
    let url = lab.handle.endpoint_url();
    let (headers, _) = sign("POST", &url, &[FORM], CREATE, SignOptions::new("ec2"));
    let mut head = format!("POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n", DESCRIBE.len());
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&DESCRIBE[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let served = tokio::time::timeout(Duration::from_secs(10), lab.ec2.describe_vpcs().send()).await;
    assert!(served.expect("an honest call is served while a stalled body waits").is_ok());
}

/// The request line and headers of a raw HTTP/1.1 request (the body is sent separately).
fn raw_head(method: &str, path: &str, headers: &reqwest::header::HeaderMap, addr: std::net::SocketAddr) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    head
}

/// Flips the last hex digit of the `Signature=` in `headers`' Authorization.
fn spoil_signature(headers: &mut reqwest::header::HeaderMap) {
    let authorization = headers["authorization"].to_str().unwrap().to_string();
    let last = authorization.chars().last().unwrap();
    let flipped = if last == '0' { '1' } else { '0' };
    let spoiled = format!("{}{flipped}", &authorization[..authorization.len() - 1]);
    headers.insert("authorization", spoiled.parse().unwrap());
}

#[tokio::test]
async fn a_wrong_signature_over_a_signed_body_hash_is_refused_before_the_body_is_read() {
    // The body never comes: only a check made before reading it can answer within 10 s.
    let lab =
        Lab::start(Config { body_read_timeout: Duration::from_secs(60), ..crate::support::manual_config() }).await;
    let addr = lab.handle.local_addr();
    let body = vec![b'x'; 900 * 1024];
    for (path, service) in [("/", "ec2"), ("/runtimes", "bedrock-agentcore")] {
        let url = format!("{}{path}", lab.handle.endpoint_url());
        let options = SignOptions { content_sha256: ContentSha256::OfBody, ..SignOptions::new(service) };
        let (mut headers, _) = sign("POST", &url, &[FORM], &body, options);
        spoil_signature(&mut headers);
        headers.insert("content-length", body.len().into());
        let answer = raw_exchange(addr, &raw_head("POST", path, &headers, addr)).await;
        if service == "ec2" {
            assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
            assert!(answer.contains("<Code>AuthFailure</Code>"), "{answer}");
        } else {
            assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
            assert!(answer.to_ascii_lowercase().contains("x-amzn-errortype: invalidsignatureexception"), "{answer}");
        }
    }
    // The honest signed-hash request is still served, and a body other than the signed one refused.
    let url = format!("{}/", lab.handle.endpoint_url());
    let options = SignOptions { content_sha256: ContentSha256::OfBody, ..SignOptions::new("ec2") };
    let (headers, url) = sign("POST", &url, &[FORM], DESCRIBE, options);
    assert_eq!(send("POST", &url, headers.clone(), DESCRIBE).await.0, 200);
    let (status, _, body) = send("POST", &url, headers, CREATE).await;
    assert_eq!((status, ec2_code(&body)), (401, "AuthFailure"), "{body}");
}

/// Starts a request whose hash is not signed, declaring `body.len()` bytes and sending only the
/// first `sent`: it holds its share of the unverified-body budget.
async fn hold_unverified(lab: &Lab, path: &str, service: &'static str, body: &[u8], sent: usize) -> TcpStream {
    let addr = lab.handle.local_addr();
    let url = format!("{}{path}", lab.handle.endpoint_url());
    let (mut headers, _) = sign("POST", &url, &[FORM], body, SignOptions::new(service));
    headers.insert("content-length", body.len().into());
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw_head("POST", path, &headers, addr).as_bytes()).await.unwrap();
    stream.write_all(&body[..sent]).await.unwrap();
    stream
}

/// `DescribeVpcs` padded with an ignored member to `len` bytes.
fn padded_describe(len: usize) -> Vec<u8> {
    let mut body = DESCRIBE.to_vec();
    body.extend_from_slice(b"&Padding=");
    body.resize(len, b'p');
    body
}

#[tokio::test]
async fn unverified_bodies_beyond_the_budget_get_503_at_once() {
    let config = Config { unverified_body_budget: 1024 * 1024, ..crate::support::manual_config() };
    let lab = Lab::start(config).await;
    let addr = lab.handle.local_addr();
    let big = padded_describe(700 * 1024);
    // The first big unverified body takes 700 KiB of the 1 MiB budget and stalls.
    let mut held = hold_unverified(&lab, "/", "ec2", &big, 1000).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A second one (declared), in either protocol, is refused at once, without its body.
    let url = format!("{}/", lab.handle.endpoint_url());
    let (mut headers, _) = sign("POST", &url, &[FORM], &big, SignOptions::new("ec2"));
    headers.insert("content-length", big.len().into());
    let answer = raw_exchange(addr, &raw_head("POST", "/", &headers, addr)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("<Code>Unavailable</Code>"), "{answer}");
    let url = format!("{}/runtimes", lab.handle.endpoint_url());
    let (mut headers, _) = sign("POST", &url, &[FORM], &big, SignOptions::new("bedrock-agentcore"));
    headers.insert("content-length", big.len().into());
    let answer = raw_exchange(addr, &raw_head("POST", "/runtimes", &headers, addr)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-amzn-errortype: serviceunavailableexception"), "{answer}");
    // Small requests still fit in what is left.
    lab.ec2.describe_vpcs().send().await.unwrap();
    // The held request, once complete, is verified and served; its share is given back.
    held.write_all(&big[1000..]).await.unwrap();
    let answer = read_answer(&mut held, "the held request is answered once its body is complete").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(lab.handle.state().unverified_bodies.available_bytes(), 1024 * 1024, "the budget is whole again");
}

#[tokio::test]
async fn a_streamed_unverified_body_is_cut_off_when_the_budget_is_spent() {
    let config = Config { unverified_body_budget: 1024 * 1024, ..crate::support::manual_config() };
    let state = Arc::new(AppState::new(config));
    // Signed headers (hash not signed), a chunked body of 4 × 512 KiB with no Content-Length: the
    // budget (1 MiB) is spent before the route's limit (2 MiB) is reached.
    let chunk = Bytes::from(vec![b'x'; 512 * 1024]);
    let whole: Vec<u8> = (0..4).flat_map(|_| chunk.to_vec()).collect();
    let (headers, _) = sign("PUT", "http://127.0.0.1:1/runtimes", &[], &whole, SignOptions::new("bedrock-agentcore"));
    let chunks = futures_util::stream::iter((0..4).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let mut request = Request::builder().method("PUT").uri("/runtimes");
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.to_str().unwrap());
    }
    let request = request.header("host", "127.0.0.1:1").body(Body::from_stream(chunks)).unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["x-amzn-errortype"], "ServiceUnavailableException");
    assert_eq!(state.unverified_bodies.available_bytes(), 1024 * 1024, "given back");
}

#[tokio::test]
async fn an_h2c_connection_is_not_served_and_is_closed() {
    let lab = Lab::manual().await;
    let mut stream = TcpStream::connect(lab.handle.local_addr()).await.unwrap();
    // The HTTP/2 connection preface, then an empty SETTINGS frame.
    stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap();
    stream.write_all(&[0, 0, 0, 0x04, 0, 0, 0, 0, 0]).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "an h2c connection is still open after 10 s: {:?}", String::from_utf8_lossy(&answer));
    // Whatever was said (an HTTP/1 error or nothing), it was not an HTTP/2 SETTINGS frame.
    assert!(answer.get(3) != Some(&0x04), "the server spoke HTTP/2: {answer:?}");
    lab.ec2.describe_vpcs().send().await.unwrap();
}
