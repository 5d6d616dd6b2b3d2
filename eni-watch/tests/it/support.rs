//! Fixtures: an in-process agentcore-local with SDK clients, a VPC, runtimes, an eni-model
//! inventory of the same network, and a loopback proxy that injects EC2 faults.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentcore_local::{Clock, Config, Handle};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use control::types::{AgentRuntimeArtifact, ContainerConfiguration, NetworkConfiguration, NetworkMode, VpcConfig};
use eni_model::{Inventory, SecurityGroup, Subnet};
use eni_watch::{Scope, Watcher, polling_client};

pub const REGION: &str = "us-east-1";
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/AgentRole";
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest";
pub const STATUS_DELAY: Duration = Duration::from_secs(30);
pub const LINGER: Duration = Duration::from_secs(8 * 3600);

/// An emulator on a manual clock plus clients for it.
pub struct Lab {
    pub handle: Handle,
    pub ec2: ec2::Client,
    pub control: control::Client,
}

pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(ec2::config::Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .load()
        .await
}

pub struct Net {
    pub vpc: String,
    /// 10.0.1.0/24 in use1-az1, 10.0.2.0/24 in use1-az2.
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

impl Lab {
    /// A manual clock, a 30 s status delay and an 8 h linger.
    pub async fn manual() -> Self {
        let config =
            Config { clock: Clock::manual(), status_delay: STATUS_DELAY, eni_linger: LINGER, ..Config::default() };
        let handle = agentcore_local::start(config).await.expect("emulator starts");
        let sdk = sdk_config(&handle.endpoint_url()).await;
        Self { ec2: ec2::Client::new(&sdk), control: control::Client::new(&sdk), handle }
    }

    pub fn endpoint(&self) -> String {
        self.handle.endpoint_url()
    }

    pub fn advance(&self, by: Duration) {
        self.handle.advance(by);
    }

    /// A watcher on `endpoint` (the emulator's, or a proxy's in front of it).
    pub async fn watcher(endpoint: &str, scope: Scope) -> Watcher {
        Watcher::new(polling_client(&sdk_config(endpoint).await), scope)
    }

    pub async fn security_group(&self, vpc: &str, name: &str) -> String {
        self.ec2
            .create_security_group()
            .vpc_id(vpc)
            .group_name(name)
            .description(format!("{name} for tests"))
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("group id")
            .to_string()
    }

    pub async fn network(&self) -> Net {
        let vpc = self
            .ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .expect("CreateVpc")
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_string();
        let mut subnets = Vec::new();
        for (cidr, zone) in [("10.0.1.0/24", "use1-az1"), ("10.0.2.0/24", "use1-az2")] {
            let subnet = self
                .ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(cidr)
                .availability_zone_id(zone)
                .send()
                .await
                .expect("CreateSubnet");
            subnets.push(subnet.subnet().and_then(|s| s.subnet_id()).expect("subnet id").to_string());
        }
        let security_groups = vec![self.security_group(&vpc, "agents").await];
        Net { vpc, subnets, security_groups }
    }

    /// Creates a VPC-mode runtime and returns its id.
    pub async fn runtime(&self, name: &str, subnets: &[String], groups: &[String]) -> String {
        self.control
            .create_agent_runtime()
            .agent_runtime_name(name)
            .agent_runtime_artifact(container())
            .role_arn(ROLE_ARN)
            .network_configuration(vpc_network(subnets, groups))
            .send()
            .await
            .expect("CreateAgentRuntime")
            .agent_runtime_id()
            .to_string()
    }

    pub async fn renetwork(&self, id: &str, subnets: &[String], groups: &[String]) {
        self.control
            .update_agent_runtime()
            .agent_runtime_id(id)
            .agent_runtime_artifact(container())
            .role_arn(ROLE_ARN)
            .network_configuration(vpc_network(subnets, groups))
            .send()
            .await
            .expect("UpdateAgentRuntime");
    }

    pub async fn delete(&self, id: &str) {
        self.control.delete_agent_runtime().agent_runtime_id(id).send().await.expect("DeleteAgentRuntime");
    }
}

/// The same network as eni-model sees it.
pub fn inventory(net: &Net, extra_groups: &[&str]) -> Inventory {
    let mut inventory = Inventory::new(REGION);
    for (subnet, (cidr, zone)) in net.subnets.iter().zip([("10.0.1.0/24", "use1-az1"), ("10.0.2.0/24", "use1-az2")]) {
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

pub fn container() -> AgentRuntimeArtifact {
    AgentRuntimeArtifact::ContainerConfiguration(
        ContainerConfiguration::builder().container_uri(IMAGE).build().expect("container uri set"),
    )
}

pub fn vpc_network(subnets: &[String], groups: &[String]) -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .network_mode(NetworkMode::Vpc)
        .network_mode_config(
            VpcConfig::builder()
                .set_subnets(Some(subnets.to_vec()))
                .set_security_groups(Some(groups.to_vec()))
                .build()
                .expect("vpc config"),
        )
        .build()
        .expect("network configuration")
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

/// A fresh directory under the target's temporary directory.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("eni-watch-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
