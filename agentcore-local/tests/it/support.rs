//! This crate's own fixtures (hand-signed requests, `/_local/state`, the binary on a free port, one
//! live session) on top of test-support's emulator fixtures, which are re-exported here.

use std::time::Duration;

use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2::error::ProvideErrorMetadata;
pub use test_support::emulator::{
    IMAGE, LINGER, Lab, MANAGED_TAG, REGION, ROLE_ARN, STATUS_DELAY, container, filter, manual_config, sdk_config,
    sdk_config_as, vpc_network,
};

/// The (code, message) of an SDK error.
pub fn code<E: ProvideErrorMetadata>(error: &E) -> (String, String) {
    (error.code().unwrap_or("<none>").to_string(), error.message().unwrap_or("<none>").to_string())
}

/// The HTTP status of an SDK error's raw response.
pub fn http_status<E, R>(error: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> u16
where
    R: HasStatus,
{
    error.raw_response().map_or(0, HasStatus::status_code)
}

pub trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// A client token (33+ characters, as the model requires).
pub fn token(n: u32) -> String {
    format!("test-client-token-{n:020}")
}

/// What [`sign`] puts in `X-Amz-Content-SHA256` (signed when sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentSha256 {
    /// No header: the server hashes the body itself.
    Absent,
    /// The body's SHA-256, as the SDKs send it.
    OfBody,
    /// `UNSIGNED-PAYLOAD` (S3 only).
    Unsigned,
}

/// How [`sign`] signs a request by hand.
#[derive(Clone, Copy, Debug)]
pub struct SignOptions {
    pub service: &'static str,
    pub when: std::time::SystemTime,
    /// Whether `host` is among the signed headers.
    pub sign_host: bool,
    pub content_sha256: ContentSha256,
    /// Put the signature in the query string (presigned URL) instead of `Authorization`.
    pub presign: bool,
}

impl SignOptions {
    pub fn new(service: &'static str) -> Self {
        Self {
            service,
            when: std::time::SystemTime::now(),
            sign_host: true,
            content_sha256: ContentSha256::Absent,
            presign: false,
        }
    }
}

/// Signs `method url` with `body` and the emulator's default credentials (`test`/`test`,
/// us-east-1) by hand, with `aws-sigv4`; `extra` headers are signed too. Returns the headers to
/// send (besides `Host`, which reqwest derives from the same URL) and the URL to send to (with
/// the signature in the query when presigning).
pub fn sign(
    method: &str,
    url: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    options: SignOptions,
) -> (reqwest::header::HeaderMap, String) {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    use aws_smithy_runtime_api::client::identity::Identity;
    let identity: Identity = aws_sdk_ec2::config::Credentials::new("test", "test", None, None, "hand").into();
    let mut settings = SigningSettings::default();
    if options.content_sha256 != ContentSha256::Absent {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    if !options.sign_host {
        // The signer adds `host` (from the URL) unless told to leave it out.
        settings.excluded_headers.get_or_insert_with(Vec::new).push("host".into());
    }
    if options.presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(options.service)
        .time(options.when)
        .settings(settings)
        .build()
        .expect("signing params");
    let host = url.split("://").nth(1).and_then(|rest| rest.split('/').next()).expect("url with a host").to_string();
    let mut signed: Vec<(&str, &str)> = extra.to_vec();
    signed.push(("host", &host));
    let signable_body = match options.content_sha256 {
        ContentSha256::Unsigned => SignableBody::UnsignedPayload,
        ContentSha256::Absent | ContentSha256::OfBody => SignableBody::Bytes(body),
    };
    let request = SignableRequest::new(method, url, signed.into_iter(), signable_body).expect("signable request");
    let (instructions, _signature) = sign(request, &params.into()).expect("signs").into_parts();
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in extra {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_str(value).unwrap(),
        );
    }
    for (name, value) in instructions.headers() {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_str(value).unwrap(),
        );
    }
    let mut url = url.to_string();
    for (i, (name, value)) in instructions.params().iter().enumerate() {
        let separator = if i == 0 && !url.contains('?') { '?' } else { '&' };
        let pair = serde_urlencoded::to_string([(name, value.as_ref())]).expect("query pair");
        url.push(separator);
        url.push_str(&pair);
    }
    (headers, url)
}

/// `GET /_local/state` signed with the emulator's default credentials (signing name
/// `bedrock-agentcore`), as JSON.
pub async fn local_state(endpoint: &str) -> serde_json::Value {
    let url = format!("{endpoint}/_local/state");
    let (headers, url) = sign("GET", &url, &[], b"", SignOptions::new("bedrock-agentcore"));
    let response = reqwest::Client::new().get(url).headers(headers).send().await.expect("GET /_local/state");
    assert_eq!(response.status().as_u16(), 200, "GET /_local/state");
    response.json().await.expect("state JSON")
}

/// The emulator binary on a free loopback port with `args` after `--listen`, stdout read up to its
/// listening line; returns the process (killed on drop) and its endpoint URL.
pub async fn spawn_emulator(args: &[&str]) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut emulator = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentcore-local"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(emulator.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a line within 30 s")
        .unwrap()
        .expect("one line");
    let url = line.strip_prefix("agentcore-local listening on ").unwrap_or_else(|| panic!("unexpected line {line:?}"));
    (emulator, url.to_owned())
}

/// Creates runtime `name` through the SDK at `url`, waits (bounded) until it is READY, starts one
/// session `session_id` with an invocation, and returns the session's agent pid and port (from
/// `/_local/state`).
pub async fn one_live_session(url: &str, name: &str, session_id: &str) -> (u32, u16) {
    let sdk = sdk_config(url).await;
    let control = control::Client::new(&sdk);
    let created = control
        .create_agent_runtime()
        .agent_runtime_name(name)
        .agent_runtime_artifact(container())
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = control.get_agent_runtime().agent_runtime_id(created.agent_runtime_id()).send().await.unwrap();
        if got.status().as_str() == "READY" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{name} never READY");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    aws_sdk_bedrockagentcore::Client::new(&sdk)
        .invoke_agent_runtime()
        .agent_runtime_arn(created.agent_runtime_arn())
        .runtime_session_id(session_id)
        .content_type("application/json")
        .payload(aws_sdk_bedrockagentcore::primitives::Blob::new(br#"{"prompt":"hi"}"#.to_vec()))
        .send()
        .await
        .expect("the invocation starts a microVM");
    let state = local_state(url).await;
    let session = state["dataPlane"]["sessions"]
        .as_array()
        .and_then(|sessions| sessions.iter().find(|s| s["runtimeSessionId"] == session_id))
        .unwrap_or_else(|| panic!("no session {session_id} in {state}"))
        .clone();
    let pid = session["pid"].as_u64().expect("a microVM pid") as u32;
    let port = session["port"].as_u64().expect("a microVM port") as u16;
    (pid, port)
}
