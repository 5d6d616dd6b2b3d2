//! `POST /invocations`: a JSON object in, `{"echo": <that object>}` out, shaped by the `_dummy` knobs.

use std::convert::Infallible;
use std::fmt;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::json_error;
use crate::health::Busy;
use crate::state::AppState;

/// The reserved payload key holding the [`Knobs`].
pub const KNOBS_KEY: &str = "_dummy";

/// Longest `sleep_ms` accepted: AgentCore's 15-minute synchronous request timeout.
const MAX_SLEEP_MS: u64 = 15 * 60 * 1000;
/// Most events `stream` may ask for.
const MAX_STREAM_EVENTS: u32 = 100_000;
/// Bodies larger than this are parsed on the blocking pool, so `/ping` never waits behind them.
const INLINE_PARSE_MAX: usize = 64 * 1024;

/// Test knobs, read from `{"_dummy": {...}}` in the payload; every member is optional.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Knobs {
    /// Simulated work time before answering (spread between the events when streaming).
    pub sleep_ms: Option<u64>,
    /// Number of server-sent events to stream when the request accepts `text/event-stream`.
    pub stream: Option<u32>,
    /// HTTP status of the answer (200–599); the body is the usual echo.
    pub status: Option<u16>,
}

/// A parsed invocation: its knobs, and either the echo document or (when it will be streamed) the
/// payload itself.
struct Invocation {
    knobs: Knobs,
    answer: Answer,
}

enum Answer {
    Echo(Vec<u8>),
    Stream(Bytes),
}

pub(crate) async fn invoke(State(state): State<AppState>, request: Request) -> Response {
    // Busy from the first byte: a large upload is work in flight too.
    let busy = state.health.begin();
    let declared_length = declared_length(request.headers());
    let refusal =
        unsupported_content_type(request.headers()).or_else(|| length_over_limit(declared_length, state.body_limit));
    if let Some(refusal) = refusal {
        return refusal;
    }
    let wants_events = accepts_event_stream(request.headers());
    let body = match read_body(request.into_body(), declared_length, state.body_limit).await {
        Ok(body) => body,
        Err(refusal) => return *refusal,
    };
    // Large bodies are parsed and their echo built on the blocking pool, so `/ping` never waits.
    let parsed = if body.len() <= INLINE_PARSE_MAX {
        parse(body, wants_events)
    } else {
        tokio::task::spawn_blocking(move || parse(body, wants_events))
            .await
            .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()))
    };
    let Invocation { knobs, answer } = match parsed {
        Ok(invocation) => invocation,
        Err(error) => return error.into_response(),
    };
    let status =
        knobs.status.map_or(StatusCode::OK, |code| StatusCode::from_u16(code).expect("validated by `validate_knobs`"));
    let work = Duration::from_millis(knobs.sleep_ms.unwrap_or(0));
    match answer {
        Answer::Stream(payload) => {
            let events = knobs.stream.unwrap_or(0);
            (status, stream(events, work, payload, busy)).into_response()
        }
        Answer::Echo(echo) => {
            if !work.is_zero() {
                tokio::time::sleep(work).await;
            }
            drop(busy);
            (status, [(header::CONTENT_TYPE, "application/json")], echo).into_response()
        }
    }
}

/// Reads the body chunk by chunk as it arrives (never blocking the serving thread for long), refusing
/// it with 413 as soon as it exceeds `limit`.
async fn read_body(body: Body, declared_length: Option<usize>, limit: usize) -> Result<Bytes, Box<Response>> {
    let mut chunks = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk
            .map_err(|e| Box::new(json_error(StatusCode::BAD_REQUEST, "could not read the body", &e.to_string())))?;
        let received = first.as_ref().map_or(joined.len(), Bytes::len) + chunk.len();
        if let Some(refusal) = length_over_limit(Some(received), limit) {
            return Err(Box::new(refusal));
        }
        match first.take() {
            // The usual case, one chunk: kept as it is, no copy.
            None if joined.is_empty() => first = Some(chunk),
            earlier => {
                if let Some(earlier) = earlier {
                    joined.reserve(declared_length.unwrap_or(0).max(received).min(limit));
                    joined.extend_from_slice(&earlier);
                }
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

/// JSON is what the contract sends; no content type and `application/octet-stream` (the AWS SDKs'
/// default for the `InvokeAgentRuntime` payload) are read as JSON too. Anything else is 415.
fn unsupported_content_type(headers: &HeaderMap) -> Option<Response> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let text = value.to_str().unwrap_or("");
    let essence = text.split(';').next().unwrap_or("").trim();
    let is = |expected: &str| essence.eq_ignore_ascii_case(expected);
    let bytes = essence.as_bytes();
    let structured_json = bytes.len() > b"application/+json".len()
        && bytes[..b"application/".len()].eq_ignore_ascii_case(b"application/")
        && bytes[bytes.len() - b"+json".len()..].eq_ignore_ascii_case(b"+json");
    if is("application/json") || is("application/octet-stream") || structured_json {
        return None;
    }
    let shown = String::from_utf8_lossy(value.as_bytes());
    let detail = format!("content type `{shown}` is not supported; send application/json");
    Some(json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported media type", &detail))
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// 413 for a body (declared or received so far) longer than `limit`.
fn length_over_limit(length: Option<usize>, limit: usize) -> Option<Response> {
    let length = length.filter(|&length| length > limit)?;
    let detail = format!("the body is at least {length} bytes; the limit is {limit} bytes");
    Some(json_error(StatusCode::PAYLOAD_TOO_LARGE, "payload too large", &detail))
}

fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|accept| {
        accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("text/event-stream")
        })
    })
}

/// Why a body was refused, all 400.
#[derive(Debug)]
enum BadPayload {
    NotJson(serde_json::Error),
    NotObject(serde_json::Error),
    BadKnobs(String),
}

impl IntoResponse for BadPayload {
    fn into_response(self) -> Response {
        let (error, detail) = match &self {
            Self::NotJson(e) => ("invalid JSON", e.to_string()),
            Self::NotObject(e) => ("payload must be a JSON object", e.to_string()),
            Self::BadKnobs(detail) => ("invalid _dummy knobs", detail.clone()),
        };
        json_error(StatusCode::BAD_REQUEST, error, &detail)
    }
}

/// Checks that `body` is one JSON object and reads its knobs (without building the document), then
/// prepares the answer: the payload to stream, or the echo document.
fn parse(body: Bytes, wants_events: bool) -> Result<Invocation, BadPayload> {
    let Envelope(knobs) = serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => BadPayload::NotObject(e),
        _ => BadPayload::NotJson(e),
    })?;
    let knobs = match knobs {
        None | Some(serde_json::Value::Null) => Knobs::default(),
        Some(value) => serde_json::from_value(value).map_err(|e| BadPayload::BadKnobs(format!("{KNOBS_KEY}: {e}")))?,
    };
    validate_knobs(&knobs).map_err(BadPayload::BadKnobs)?;
    let answer =
        if wants_events && knobs.stream.is_some() { Answer::Stream(body) } else { Answer::Echo(echo_document(&body)) };
    Ok(Invocation { knobs, answer })
}

fn validate_knobs(knobs: &Knobs) -> Result<(), String> {
    if let Some(code) = knobs.status
        && !(200..=599).contains(&code)
    {
        return Err(format!("{KNOBS_KEY}.status must be within 200..=599, got {code}"));
    }
    if let Some(ms) = knobs.sleep_ms
        && ms > MAX_SLEEP_MS
    {
        return Err(format!("{KNOBS_KEY}.sleep_ms must be at most {MAX_SLEEP_MS}, got {ms}"));
    }
    if let Some(events) = knobs.stream
        && events > MAX_STREAM_EVENTS
    {
        return Err(format!("{KNOBS_KEY}.stream must be at most {MAX_STREAM_EVENTS}, got {events}"));
    }
    Ok(())
}

/// `{"echo": <payload>}`, reusing the validated payload bytes as they came.
fn echo_document(payload: &[u8]) -> Vec<u8> {
    let mut echo = Vec::with_capacity(payload.len() + 10);
    echo.extend_from_slice(b"{\"echo\":");
    echo.extend_from_slice(payload);
    echo.push(b'}');
    echo
}

/// `events` server-sent events `{"index": i, "total": n}`, `work` spread before them, the last one
/// also carrying `"echo"`. The agent stays busy until the stream ends or the client leaves.
fn stream(
    events: u32,
    work: Duration,
    payload: Bytes,
    busy: Busy,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let pause = work / events.max(1);
    let state = (0u32, payload, busy);
    let events_stream = futures_util::stream::unfold(state, move |(index, payload, busy)| {
        async move {
            if index >= events {
                if events == 0 {
                    tokio::time::sleep(work).await;
                }
                drop(busy);
                return None;
            }
            tokio::time::sleep(pause).await;
            let data = if index + 1 == events {
                // Valid JSON has CR/LF only as whitespace: flatten it so the event is one line.
                let flat: Vec<u8> = payload.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
                let flat = String::from_utf8_lossy(&flat);
                format!(r#"{{"index":{index},"total":{events},"echo":{flat}}}"#)
            } else {
                format!(r#"{{"index":{index},"total":{events}}}"#)
            };
            Some((Ok(Event::default().data(data)), (index + 1, payload, busy)))
        }
    });
    Sse::new(events_stream)
}

/// Deserializes a JSON object, keeping only the value of [`KNOBS_KEY`] and skipping the rest
/// without allocating. Anything but an object is a data error ("expected a JSON object").
struct Envelope(Option<serde_json::Value>);

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut knobs = None;
        while let Some(IsKnobsKey(is_knobs)) = map.next_key()? {
            if is_knobs {
                knobs = Some(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Envelope(knobs))
    }
}

struct IsKnobsKey(bool);

impl<'de> Deserialize<'de> for IsKnobsKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = IsKnobsKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<IsKnobsKey, E> {
                Ok(IsKnobsKey(key == KNOBS_KEY))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}
