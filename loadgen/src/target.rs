//! What load is sent to: the [`Target`] trait, the `noop` and `http` targets (`agentcore` is in
//! [`crate::agentcore`]).

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Call {
    /// Global request number (unique across shards).
    pub seq: u64,
    /// The request body (JSON for the `http` and `agentcore` targets).
    pub payload: Bytes,
    /// `runtimeSessionId` (the `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id` header for `http`).
    pub session_id: Option<String>,
}

/// A completed response, read to its end.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// When the first body byte (or the response head, for an empty body) arrived.
    pub first_byte: Instant,
    /// Body bytes received.
    pub bytes: u64,
}

/// Why a request failed: an error class and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The AWS error code (`ServiceQuotaExceededException`, …), `HTTP 503`, or one of [`TIMEOUT`],
    /// [`CONNECT`], [`OTHER`].
    pub class: String,
    /// What went wrong, as the target reported it (kept in the report's error samples).
    pub message: String,
}

/// The request did not finish within `--timeout`.
pub const TIMEOUT: &str = "Timeout";
/// The connection could not be made.
pub const CONNECT: &str = "Connect";
/// Anything else (I/O error mid-response, unparseable response, …).
pub const OTHER: &str = "Other";

impl Failure {
    /// A failure of `class` (an AWS error code or one of the constants above) with `message`.
    pub fn new(class: impl Into<String>, message: impl Into<String>) -> Self {
        Self { class: class.into(), message: message.into() }
    }

    /// A [`TIMEOUT`] after waiting `after` for the response.
    pub fn timeout(after: Duration) -> Self {
        Self::new(TIMEOUT, format!("no complete response within {:.3} s", after.as_secs_f64()))
    }
}

/// Something to send invocations to. Implementations are cheap to share (`&self` from many tasks).
pub trait Target: Send + Sync + 'static {
    /// Sends `call` and reads the whole response.
    fn invoke(&self, call: &Call) -> impl Future<Output = Result<Answer, Failure>> + Send;

    /// Ends the session `call` used (`--stop-sessions`); targets without sessions do nothing.
    fn stop_session(&self, _call: &Call) -> impl Future<Output = Result<(), Failure>> + Send {
        std::future::ready(Ok(()))
    }

    /// Retries made so far by the target's own client (SDK retries).
    fn retries(&self) -> u64 {
        0
    }
}

/// Answers at once without I/O: measures the generator itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Noop;

impl Target for Noop {
    fn invoke(&self, _call: &Call) -> impl Future<Output = Result<Answer, Failure>> + Send {
        std::future::ready(Ok(Answer { first_byte: Instant::now(), bytes: 0 }))
    }
}

/// `POST <url>` with a JSON payload, straight to an agent on the AgentCore HTTP contract.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    url: reqwest::Url,
}

/// The session header AgentCore forwards to the container.
pub const SESSION_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-session-id";

impl Http {
    /// `url` is the agent's base URL (`http://127.0.0.1:8080`, `/invocations` is appended) or the
    /// full invocation URL.
    pub fn new(url: &str, pool: usize) -> Result<Self, String> {
        let mut url = reqwest::Url::parse(url).map_err(|e| format!("invalid --url {url:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("invalid --url {url}: the scheme must be http or https"));
        }
        if url.path() == "/" || url.path().is_empty() {
            url.set_path("/invocations");
        }
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        Ok(Self { client, url })
    }

    /// The URL requests are posted to.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }
}

impl Target for Http {
    async fn invoke(&self, call: &Call) -> Result<Answer, Failure> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(call.payload.clone());
        if let Some(session) = &call.session_id {
            request = request.header(SESSION_HEADER, session);
        }
        let mut response = request.send().await.map_err(classify_reqwest)?;
        let status = response.status();
        let mut first_byte = None;
        let mut bytes = 0u64;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify_reqwest)? {
            first_byte.get_or_insert_with(Instant::now);
            bytes += chunk.len() as u64;
            if !status.is_success() && body.len() < 512 {
                body.extend_from_slice(&chunk);
            }
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(Failure::new(format!("HTTP {}", status.as_u16()), text.chars().take(300).collect::<String>()));
        }
        Ok(Answer { first_byte: first_byte.unwrap_or_else(Instant::now), bytes })
    }
}

fn classify_reqwest(error: reqwest::Error) -> Failure {
    let message = error_chain(&error);
    if error.is_timeout() {
        Failure::new(TIMEOUT, message)
    } else if error.is_connect() {
        Failure::new(CONNECT, message)
    } else {
        Failure::new(OTHER, message)
    }
}

/// An error and its sources, `: `-separated.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
