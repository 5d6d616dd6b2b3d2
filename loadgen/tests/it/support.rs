//! Shared fixtures: a dummy-agent on a free loopback port, plans, the results of a run.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
                if let Some(id) = headers.get(loadgen::http::SESSION_HEADER).and_then(|v| v.to_str().ok()) {
                    seen.lock().unwrap().insert(id.to_string());
                }
                "{}"
            }
        }),
    );
    (serve(app).await, seen)
}

/// What a [`counting_agent`] saw, counted by the server itself.
#[derive(Debug, Default)]
pub struct Served {
    /// Invocations whose handler started.
    pub received: AtomicU64,
    /// Invocations whose handler finished and handed its 200 to the HTTP server. A client that goes
    /// away during the handler's sleep drops the handler (hyper cancels it), so it is not counted.
    pub answered: AtomicU64,
}

impl Served {
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }

    /// Waits (at most 20 s) until the server has received `n` invocations.
    pub async fn wait_for_received(&self, n: u64) {
        let started = Instant::now();
        while self.received() < n {
            assert!(started.elapsed() < Duration::from_secs(20), "the server received only {}", self.received());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// An agent that counts the invocations it receives and answers; a body `{"sleep_ms": N}` makes it
/// sleep N ms before answering `{}`.
pub async fn counting_agent() -> (String, Arc<Served>) {
    let served = Arc::new(Served::default());
    let counts = Arc::clone(&served);
    let app = axum::Router::new().route(
        "/invocations",
        axum::routing::post(move |body: Bytes| {
            let counts = Arc::clone(&counts);
            async move {
                counts.received.fetch_add(1, Ordering::SeqCst);
                let sleep_ms = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["sleep_ms"].as_u64())
                    .unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
                counts.answered.fetch_add(1, Ordering::SeqCst);
                "{}"
            }
        }),
    );
    (serve(app).await, served)
}

/// The server's counts bound loadgen's: every ok was answered; every answered invocation loadgen did
/// not count ok (there are no failures here) was one it cancelled after the server answered; every
/// invocation the server still held was cancelled; nothing reached the server that was not started.
pub fn assert_matches_server(report: &Report, served: &Served) {
    let (received, answered) = (served.received(), served.answered());
    assert_eq!(report.failed_total, 0, "{report:#?}");
    assert!(report.ok <= answered, "ok {} > answered {answered}", report.ok);
    assert!(answered - report.ok <= report.cancelled, "answered {answered}, {report:#?}");
    assert!(received - answered <= report.cancelled, "received {received}, answered {answered}: {report:#?}");
    assert!(received <= report.total, "received {received}: {report:#?}");
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

/// total == ok + failed + cancelled, and the failed map sums to failed_total (the same check the run
/// makes, here also on reports read back from files).
pub fn assert_accounted(report: &Report) {
    assert_eq!(report.check_accounting(), Ok(()), "{report:#?}");
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

/// The test CA that signed [`tls_dummy_agent`]'s certificate (`tests/data`), for `--cacert`.
pub const TEST_CA: &[u8] = include_bytes!("../data/test-ca.pem");

/// A dummy-agent behind TLS (a certificate for `localhost` and `127.0.0.1` signed by [`TEST_CA`]) on
/// a free loopback port, until the test's runtime ends; its base URL (`https://127.0.0.1:PORT`).
pub async fn tls_dummy_agent() -> String {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(include_bytes!("../data/localhost.pem"))
        .collect::<Result<_, _>>()
        .expect("the test certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../data/localhost.key")).expect("the test key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the test certificate and key match");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address: SocketAddr = listener.local_addr().expect("local address");
    let app = dummy_agent::app(dummy_agent::Config::default());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    format!("https://{address}")
}
