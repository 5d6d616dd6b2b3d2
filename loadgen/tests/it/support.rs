//! Shared fixtures: a dummy-agent on a free loopback port, plans, the results of a run.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use loadgen::{Model, Plan, Report, Stop};
use tokio::sync::watch;

/// A dummy-agent serving on `127.0.0.1:<free port>` until the test's runtime ends; its base URL.
pub async fn dummy_agent() -> String {
    serve(dummy_agent::app(dummy_agent::Config::default())).await
}

/// Serves `app` on a free loopback port; the base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address: SocketAddr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{address}")
}

/// An agent that records every session id header it sees and answers 200.
pub async fn session_recorder() -> (String, Arc<Mutex<HashSet<String>>>) {
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let recorded = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/invocations",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let seen = Arc::clone(&recorded);
            async move {
                if let Some(id) = headers.get(loadgen::target::SESSION_HEADER).and_then(|v| v.to_str().ok()) {
                    seen.lock().unwrap().insert(id.to_string());
                }
                "{}"
            }
        }),
    );
    (serve(app).await, seen)
}

pub fn payloads(texts: &[&str]) -> Vec<Bytes> {
    texts.iter().map(|t| Bytes::from(t.to_string())).collect()
}

pub fn closed(concurrency: u32, requests: u64, target: &str) -> Plan {
    let mut plan = Plan::new(Model::Closed { concurrency, duration: Some(Duration::from_secs(60)) }, target);
    plan.requests = Some(requests);
    plan
}

/// Runs to the end (no Ctrl-C).
pub async fn run<T: loadgen::Target>(target: T, plan: Plan) -> Report {
    let (_stop_tx, stop_rx) = watch::channel(Stop::Run);
    let report = loadgen::run(target, plan, stop_rx).await.expect("run");
    assert_accounted(&report);
    report
}

/// total == ok + failed + cancelled, and the failed map sums to failed_total.
pub fn assert_accounted(report: &Report) {
    assert_eq!(report.failed.values().sum::<u64>(), report.failed_total, "{report:#?}");
    assert_eq!(report.total, report.ok + report.failed_total + report.cancelled, "{report:#?}");
}

/// A scratch directory under target/tmp, removed first.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("loadgen-it").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
