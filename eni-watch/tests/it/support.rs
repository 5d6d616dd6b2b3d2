//! This crate's own fixtures on top of test-support's emulator (re-exported here): a watcher on an
//! endpoint, an eni-model inventory of [`Lab::network`]'s network, and a loopback proxy that injects
//! EC2 faults.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use eni_model::{Inventory, SecurityGroup, Subnet};
use eni_watch::{Scope, Watcher, polling_client};
pub use test_support::emulator::{LINGER, Lab, NETWORK_SUBNETS, Net, REGION, STATUS_DELAY, sdk_config};

/// A watcher on `endpoint` (the emulator's, or a proxy's in front of it).
pub async fn watcher_on(endpoint: &str, scope: Scope) -> Watcher {
    Watcher::new(polling_client(&sdk_config(endpoint).await), scope)
}

/// The same network as eni-model sees it.
pub fn inventory(net: &Net, extra_groups: &[&str]) -> Inventory {
    let mut inventory = Inventory::new(REGION);
    for (subnet, (cidr, zone)) in net.subnets.iter().zip(NETWORK_SUBNETS) {
        inventory = inventory.with_subnet(Subnet {
            id: subnet.parse().unwrap(),
            vpc: net.vpc.parse().unwrap(),
            az_id: zone.parse().unwrap(),
            cidr: cidr.parse().unwrap(),
        });
    }
    for group in net.security_groups.iter().map(String::as_str).chain(extra_groups.iter().copied()) {
        inventory =
            inventory.with_security_group(SecurityGroup { id: group.parse().unwrap(), vpc: net.vpc.parse().unwrap() });
    }
    inventory
}

/// What the fault proxy fails, by probability per `DescribeNetworkInterfaces` call.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// HTTP 503 with EC2's `RequestLimitExceeded` error document.
    pub throttle: f64,
    /// HTTP 500 with EC2's `InternalError` error document.
    pub internal_error: f64,
    /// HTTP 500 with a plain-text body (no error code at all).
    pub bare_500: f64,
    pub seed: u64,
}

/// What the proxy saw and did.
#[derive(Debug, Default)]
pub struct ProxyCounters {
    pub describe_calls: AtomicU64,
    pub faults: AtomicU64,
}

/// A loopback HTTP proxy in front of the emulator that fails a share of
/// `DescribeNetworkInterfaces` calls as EC2 would, and forwards everything else unchanged
/// (the Host header too, so SigV4 signatures still verify).
pub struct FaultProxy {
    pub addr: SocketAddr,
    pub counters: Arc<ProxyCounters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    faults: Faults,
    rng: Mutex<fastrand::Rng>,
    counters: Arc<ProxyCounters>,
}

fn ec2_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
    );
    (status, [("content-type", "text/xml;charset=UTF-8")], body).into_response()
}

async fn proxy(
    axum::extract::State(state): axum::extract::State<Arc<ProxyState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if String::from_utf8_lossy(&body).contains("Action=DescribeNetworkInterfaces") {
        state.counters.describe_calls.fetch_add(1, Ordering::SeqCst);
        let roll = state.rng.lock().unwrap().f64();
        let f = state.faults;
        let fault = if roll < f.throttle {
            Some(ec2_error(StatusCode::SERVICE_UNAVAILABLE, "RequestLimitExceeded", "Request limit exceeded."))
        } else if roll < f.throttle + f.internal_error {
            Some(ec2_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "An internal error has occurred. Retry your request, but if the problem persists, contact us.",
            ))
        } else if roll < f.throttle + f.internal_error + f.bare_500 {
            Some((StatusCode::INTERNAL_SERVER_ERROR, "upstream crashed").into_response())
        } else {
            None
        };
        if let Some(fault) = fault {
            state.counters.faults.fetch_add(1, Ordering::SeqCst);
            return fault;
        }
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = state.client.request(method, format!("{}{path}", state.upstream)).body(body);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            let mut out = Response::builder().status(status);
            for (name, value) in response.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    out = out.header(name, value);
                }
            }
            let bytes = response.bytes().await.unwrap_or_default();
            out.body(axum::body::Body::from(bytes)).unwrap()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

impl FaultProxy {
    pub async fn start(upstream: &str, faults: Faults) -> Self {
        let counters = Arc::new(ProxyCounters::default());
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            faults,
            rng: Mutex::new(fastrand::Rng::with_seed(faults.seed)),
            counters: counters.clone(),
        });
        let app = axum::Router::new().fallback(proxy).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, counters, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A fresh directory `eni-watch-<name>` under the target's temporary directory.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    test_support::scratch::fresh_dir(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), format!("eni-watch-{name}"))
}
