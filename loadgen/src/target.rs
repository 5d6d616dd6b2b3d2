//! What load is sent to: the [`Target`] trait and the `noop` target (`http` is in [`crate::http`],
//! `agentcore` in [`crate::agentcore`]).

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
    /// When the request actually went out, if later than the call: a target that first waits for a
    /// free connection (`http --connections`) says when it got one, so that the uncorrected latency
    /// leaves the wait out and the corrected one keeps it. `None`: when `invoke` was called.
    pub sent: Option<Instant>,
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
        std::future::ready(Ok(Answer { first_byte: Instant::now(), bytes: 0, sent: None }))
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
