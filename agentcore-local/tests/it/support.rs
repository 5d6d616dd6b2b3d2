//! Shared fixtures: an emulator with SDK clients, a VPC with subnets and security groups, runtimes.

use std::time::Duration;

use agentcore_local::{Clock, Config, Handle};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use control::types::{AgentRuntimeArtifact, ContainerConfiguration, NetworkConfiguration, NetworkMode, VpcConfig};

pub const REGION: &str = "us-east-1";
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/AgentRole";
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest";
pub const STATUS_DELAY: Duration = Duration::from_secs(30);
pub const LINGER: Duration = Duration::from_secs(8 * 3600);
pub const MANAGED_TAG: &str = "AmazonBedrockAgentCoreManaged";

/// An emulator plus clients for it.
pub struct Lab {
    pub handle: Handle,
    pub ec2: ec2::Client,
    pub control: control::Client,
}

/// A config with a manual clock (time moves only through [`Lab::advance`]).
pub fn manual_config() -> Config {
    Config { clock: Clock::manual(), status_delay: STATUS_DELAY, eni_linger: LINGER, ..Config::default() }
}

pub async fn sdk_config(endpoint: &str, key: &str, secret: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(key, secret, None, None, "test"))
        .endpoint_url(endpoint)
        .load()
        .await
}

impl Lab {
    pub async fn start(config: Config) -> Self {
        let handle = agentcore_local::start(config).await.expect("emulator starts");
        let sdk = sdk_config(&handle.endpoint_url(), "test", "test", REGION).await;
        Self { ec2: ec2::Client::new(&sdk), control: control::Client::new(&sdk), handle }
    }

    /// With a manual clock, a 30 s status delay and an 8 h linger.
    pub async fn manual() -> Self {
        Self::start(manual_config()).await
    }

    pub fn advance(&self, by: Duration) {
        self.handle.advance(by);
    }

    /// Clients for another region of the same emulator.
    pub async fn clients_in(&self, region: &str) -> (ec2::Client, control::Client) {
        let sdk = sdk_config(&self.handle.endpoint_url(), "test", "test", region).await;
        (ec2::Client::new(&sdk), control::Client::new(&sdk))
    }

    pub async fn vpc(&self, cidr: &str) -> String {
        self.ec2
            .create_vpc()
            .cidr_block(cidr)
            .send()
            .await
            .expect("CreateVpc")
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_string()
    }

    pub async fn subnet(&self, vpc: &str, cidr: &str, zone_id: &str) -> String {
        self.ec2
            .create_subnet()
            .vpc_id(vpc)
            .cidr_block(cidr)
            .availability_zone_id(zone_id)
            .send()
            .await
            .expect("CreateSubnet")
            .subnet()
            .and_then(|s| s.subnet_id())
            .expect("subnet id")
            .to_string()
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

    /// A VPC 10.0.0.0/16 with subnets 10.0.1.0/24 (use1-az1) and 10.0.2.0/24 (use1-az2) and
    /// one security group.
    pub async fn network(&self) -> Net {
        let vpc = self.vpc("10.0.0.0/16").await;
        let subnets = vec![
            self.subnet(&vpc, "10.0.1.0/24", "use1-az1").await,
            self.subnet(&vpc, "10.0.2.0/24", "use1-az2").await,
        ];
        let security_groups = vec![self.security_group(&vpc, "agents").await];
        Net { vpc, subnets, security_groups }
    }

    /// Creates a VPC-mode runtime and returns its id.
    pub async fn runtime(&self, name: &str, subnets: &[String], groups: &[String]) -> String {
        self.create_runtime(name)
            .network_configuration(vpc_network(subnets, groups))
            .send()
            .await
            .expect("CreateAgentRuntime")
            .agent_runtime_id()
            .to_string()
    }

    /// A CreateAgentRuntime request with the required members set (no network configuration).
    pub fn create_runtime(
        &self,
        name: &str,
    ) -> control::operation::create_agent_runtime::builders::CreateAgentRuntimeFluentBuilder {
        self.control
            .create_agent_runtime()
            .agent_runtime_name(name)
            .agent_runtime_artifact(container())
            .role_arn(ROLE_ARN)
    }

    /// Every `agentic_ai` ENI in `vpc`, through DescribeNetworkInterfaces.
    pub async fn managed_enis(&self, vpc: &str) -> Vec<ec2::types::NetworkInterface> {
        let out = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("vpc-id", [vpc]))
            .filters(filter(&format!("tag:{MANAGED_TAG}"), ["true"]))
            .send()
            .await
            .expect("DescribeNetworkInterfaces");
        out.network_interfaces()
            .iter()
            .filter(|n| n.interface_type().map(|t| t.as_str()) == Some("agentic_ai"))
            .cloned()
            .collect()
    }

    pub async fn status(&self, runtime_id: &str) -> String {
        self.control
            .get_agent_runtime()
            .agent_runtime_id(runtime_id)
            .send()
            .await
            .expect("GetAgentRuntime")
            .status()
            .as_str()
            .to_string()
    }
}

pub struct Net {
    pub vpc: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
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

pub fn filter<const N: usize>(name: &str, values: [&str; N]) -> ec2::types::Filter {
    ec2::types::Filter::builder().name(name).set_values(Some(values.iter().map(|v| v.to_string()).collect())).build()
}

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
    let sdk = sdk_config(url, "test", "test", REGION).await;
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
