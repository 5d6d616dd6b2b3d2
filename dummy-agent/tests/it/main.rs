//! dummy-agent integration tests: `oneshot` tests of the router, then real sockets and the binary.

mod card;
mod dockerfile;
mod errors;
mod invocations;
mod orphan;
mod ping;
mod socket;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A clock the test sets by hand.
#[derive(Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn at(seconds: u64) -> Self {
        let clock = Self::default();
        clock.set(seconds);
        clock
    }
    pub fn set(&self, seconds: u64) {
        self.0.store(seconds, Ordering::SeqCst);
    }
    pub fn as_clock(&self) -> dummy_agent::Clock {
        let seconds = Arc::clone(&self.0);
        Arc::new(move || seconds.load(Ordering::SeqCst))
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).map_or("", |v| v.to_str().unwrap())
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer { status, headers, body }
}

pub async fn ping(app: &Router) -> serde_json::Value {
    let answer = send(app, Request::get("/ping").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    answer.json()
}

/// `POST /invocations` with a JSON body.
pub fn invocation(body: impl Into<Body>) -> Request<Body> {
    Request::post("/invocations").header(header::CONTENT_TYPE, "application/json").body(body.into()).unwrap()
}
