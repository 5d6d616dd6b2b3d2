//! The emulator's settings ([`Config`], [`Auth`], [`EniPolicy`]) and their defaults, each with its
//! source. Every other module reads them from here; the crate root re-exports them.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::data::agent::AgentCommand;
pub use crate::data::agent::Isolation;
use crate::data::quota::QuotaModel;
use crate::faults::Fault;

/// Default status delay (CREATING → READY, UPDATING → READY, DELETING → gone), in service time.
pub const DEFAULT_STATUS_DELAY: Duration = Duration::from_secs(5);
/// Default ENI linger after its last runtime: AWS documents "up to 8 hours".
pub const DEFAULT_ENI_LINGER: Duration = Duration::from_secs(8 * 3600);
/// Default service time a NAT gateway takes from `pending` to `available`, and from `deleting` to
/// `deleted`. AWS states no figure: the VPC User Guide ("NAT gateways", "Create a NAT gateway")
/// says only that the status starts as `Pending` and becomes `Available` when the gateway is ready,
/// and the `NatGatewayAvailable` waiter of the EC2 service model polls every 15 s for up to 40
/// times (10 minutes). Observed creations take one to three minutes (eni-lab's
/// `network::wait_for_nat` says so while it waits); two minutes is the middle of that.
pub const DEFAULT_NAT_GATEWAY_DELAY: Duration = Duration::from_secs(120);
/// How long a `deleted` (or `failed`) NAT gateway stays visible to DescribeNatGateways: the VPC
/// User Guide ("Delete a NAT gateway") says a deleted gateway remains visible "for a short period
/// (usually about an hour)" before it is removed.
pub const DELETED_NAT_GATEWAY_VISIBILITY: Duration = Duration::from_secs(3600);
/// Default service time an interface VPC endpoint takes from `pending` to `available`, and from
/// `deleting` to `deleted`. AWS states no figure: the PrivateLink guide says only that the endpoint
/// is `pending` until it is ready, the EC2 model has no waiter for endpoints, and Terraform's
/// `aws_vpc_endpoint` waits up to 10 minutes by default. One minute keeps interactive use quick.
/// Gateway endpoints are `available` at once.
pub const DEFAULT_VPC_ENDPOINT_DELAY: Duration = Duration::from_secs(60);
/// How long a `deleted` VPC endpoint stays visible to DescribeVpcEndpoints: the same hour as a NAT
/// gateway's (AWS states no figure for endpoints).
pub const DELETED_VPC_ENDPOINT_VISIBILITY: Duration = DELETED_NAT_GATEWAY_VISIBILITY;
/// The binary's default rate of new sessions per second: AgentCore's quota "new sessions per
/// second", 25 per account, shared across endpoints (AgentCore quotas page; facts sheet, Quotas).
pub const DEFAULT_NEW_SESSIONS_TPS: u32 = 25;
/// The binary's default cold start and quota-refusal time of a new session (service time). AWS
/// publishes neither; the one real observation is the seed report's load phase (design doc
/// `seed-experiment.md`): 2,148 InvokeAgentRuntime calls by 50 workers in 130.8 s, 50 × 130.8 / 2,148
/// = 3.0 s a call, where every call had a new session id, so each success (768) was a cold start and
/// each failure (1,380) a `ServiceQuotaExceededException`. The mean cannot be split between the two,
/// so both are 3 s.
pub const DEFAULT_NEW_SESSION_DELAY: Duration = Duration::from_secs(3);
/// The binary's default teardown time of an ended session: AgentCore's runtime lifecycle page says
/// termination "can take up to 15 seconds" (facts sheet, Quotas and session lifecycle), and
/// InvokeAgentRuntime models `RetryableConflictException` for a session being torn down.
pub const DEFAULT_SESSION_TEARDOWN: Duration = Duration::from_secs(15);
/// The binary's default time from CreateAgentRuntime to its new ENIs: CloudTrail of a real
/// deployment shows the service-linked role's CreateNetworkInterface about 27 s after
/// CreateAgentRuntime (facts sheet, "Observed AgentCore ENI").
pub const DEFAULT_ENI_CREATE_DELAY: Duration = Duration::from_secs(27);
/// Default active-session quota (`maxVms`): the report's account had 500.
pub const DEFAULT_MAX_VMS: u32 = 500;
/// Default start deadline of a microVM (AWS: "Please make sure that initialization completes in 60s").
pub const DEFAULT_AGENT_START_TIMEOUT: Duration = Duration::from_secs(60);
/// Default SIGTERM → SIGKILL grace when a microVM ends.
pub const DEFAULT_AGENT_STOP_GRACE: Duration = Duration::from_secs(2);
/// Default account id.
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
/// Default time a client gets to send a request's headers (and, on a keep-alive connection, to
/// start its next request): nginx's `client_header_timeout` default (60 s).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time a client gets to send a whole request body: nginx's `client_body_timeout` default
/// (60 s; nginx applies it between two reads, this emulator to the whole body, enough for the
/// 100 MB payload limit at ≥ 1.7 MB/s).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Default number of requests handled at once (more wait for a slot): twice the default
/// `--max-vms`, so a session quota's worth of invocations plus as many control-plane and EC2 calls
/// never wait. AWS documents no such limit (it throttles by rate instead).
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 2 * DEFAULT_MAX_VMS as usize;
/// Default budget of body bytes buffered, all requests together, before their signature is
/// verified ([`crate::body_budget`]): room for two InvokeAgentRuntime payloads at AgentCore's 100 MB
/// limit plus ~56 MiB of EC2 and control-plane bodies (limits of 1 and 2 MiB), so honest clients
/// never notice it, while anyone who only knows the access key id can make the emulator hold at
/// most 256 MiB (not 100 MB per connection). AWS documents no such limit.
pub const DEFAULT_UNVERIFIED_BODY_BUDGET: u64 = 256 * 1024 * 1024;
/// Default credentials (`test`/`test`, as moto and LocalStack use).
pub const DEFAULT_ACCESS_KEY_ID: &str = "test";
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "test";

/// How requests are authenticated. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Auth {
    /// Every request must carry a valid SigV4 signature made with these credentials.
    SigV4 {
        access_key_id: String,
        #[serde(skip)]
        secret_access_key: String,
    },
    /// Accept any request (the region still comes from the signature scope when there is one).
    Disabled,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SigV4 { access_key_id, .. } => f
                .debug_struct("SigV4")
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<redacted>")
                .finish(),
            Self::Disabled => f.write_str("Disabled"),
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Self::SigV4 { access_key_id: DEFAULT_ACCESS_KEY_ID.into(), secret_access_key: DEFAULT_SECRET_ACCESS_KEY.into() }
    }
}

/// Emulator settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen (`127.0.0.1:0` picks a free loopback port).
    pub listen: SocketAddr,
    pub auth: Auth,
    /// The account every resource belongs to (ARNs, `ownerId`).
    pub account_id: String,
    /// The service clock (scaled or manual).
    pub clock: Clock,
    /// CREATING/UPDATING → READY and DELETING → gone take this long (service time).
    pub status_delay: Duration,
    /// How long an unused managed ENI lingers before it is deleted (service time).
    pub eni_linger: Duration,
    /// How long after a runtime needs a new AgentCore ENI (create, update) it appears (service
    /// time); an existing or lingering ENI of the same key serves at once. Zero here; the binary's
    /// default is [`DEFAULT_ENI_CREATE_DELAY`].
    pub eni_create_delay: Duration,
    /// NAT gateways go pending → available and deleting → deleted after this long (service time).
    pub nat_gateway_delay: Duration,
    /// Interface VPC endpoints go pending → available and deleting → deleted after this long
    /// (service time).
    pub vpc_endpoint_delay: Duration,
    pub eni_policy: EniPolicy,
    /// The `operator.principal` AgentCore's ENIs show as managed resources (then hidden by
    /// ModifyManagedResourceVisibility `hidden` unless a Describe call sets
    /// `IncludeManagedResources`). `None`, the default: they are not managed resources, since AWS
    /// does not say they are (facts sheet, Unknowns 2).
    pub agentcore_eni_operator: Option<String>,
    /// How microVMs are kept apart: [`Isolation::Port`] here; the binary uses network namespaces
    /// where the kernel allows them (`--isolation`).
    pub isolation: Isolation,
    /// Whether every region starts with a default VPC as a real account's do (172.31.0.0/16, a
    /// default subnet per zone, an attached internet gateway). Off here, so an embedded emulator
    /// starts with empty regions; the command line turns it on unless `--no-default-vpc`.
    pub default_vpc: bool,
    /// Region for unsigned requests when auth is disabled.
    pub default_region: String,
    /// The program every microVM runs (`None`: a `dummy-agent` binary found next to the current
    /// executable, one directory up, or on `PATH`; see [`AgentCommand::resolve_default`]).
    pub agent_command: Option<AgentCommand>,
    /// Live sessions (microVMs) allowed per region at once (`maxVms`).
    pub max_vms: u32,
    /// How `max_vms` is enforced: AWS's documented rule ([`QuotaModel::Exact`]) or a hypothesis
    /// for the report's 768 successes ([`crate::data::quota`]).
    pub quota_model: QuotaModel,
    /// Data-plane calls (InvokeAgentRuntime, StopRuntimeSession) allowed per wall-clock second, a
    /// burst of up to N refilled evenly (GCRA, [`crate::data::throttle`]); `None`: unlimited.
    pub invoke_tps: Option<u32>,
    /// New sessions (microVMs) allowed per wall-clock second, account-wide, the same way; more →
    /// `ThrottlingException`. `None` here (unlimited); the binary's default is
    /// [`DEFAULT_NEW_SESSIONS_TPS`].
    pub new_sessions_tps: Option<u32>,
    /// Service time a new session's microVM takes to boot, from the arrival of the call that starts
    /// it: no call on the session is answered sooner (the agent starts and answers within it).
    /// Zero here; the binary's default is [`DEFAULT_NEW_SESSION_DELAY`].
    pub cold_start: Duration,
    /// Service time a call refused by the active-session quota (`ServiceQuotaExceededException`)
    /// takes from its arrival until it is answered. Zero here; the binary's default is [`DEFAULT_NEW_SESSION_DELAY`].
    pub quota_refusal_delay: Duration,
    /// Service time an ended session (stopped, reaped, its runtime deleted, its agent exited) takes
    /// to be torn down: calls with its id get `RetryableConflictException` meanwhile. Zero here;
    /// the binary's default is [`DEFAULT_SESSION_TEARDOWN`].
    pub session_teardown: Duration,
    /// Wall-clock time a new microVM gets to answer `GET /ping` with 200.
    pub agent_start_timeout: Duration,
    /// Wall-clock time between SIGTERM and SIGKILL when a microVM is terminated.
    pub agent_stop_grace: Duration,
    /// Whether InvokeAgentRuntimeCommand may run the shell commands clients send (as this user, on
    /// this machine). Off by default: without it the operation answers `AccessDeniedException`.
    pub allow_commands: bool,
    /// Wall-clock time a `/ws` WebSocket connection may last (AgentCore's 60 minutes).
    pub websocket_max_duration: Duration,
    /// Injected faults (`--fault`).
    pub faults: Vec<Fault>,
    /// HTTP/1 connections that do not finish sending a request's headers within this time are
    /// closed (this also ends idle keep-alive connections after it).
    pub header_read_timeout: Duration,
    /// A request body not received completely within this time → 408.
    pub body_read_timeout: Duration,
    /// Authenticated requests handled at once; more wait for a slot (at least 1). A request takes
    /// a slot only once its signature is verified, so unauthenticated clients cannot fill them.
    pub max_concurrent_requests: usize,
    /// Bytes of body buffered, all requests together, before their signature can be verified
    /// ([`crate::body_budget`]); a request that does not fit at once → 503.
    pub unverified_body_budget: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth: Auth::default(),
            account_id: DEFAULT_ACCOUNT_ID.into(),
            clock: Clock::real(),
            status_delay: DEFAULT_STATUS_DELAY,
            eni_linger: DEFAULT_ENI_LINGER,
            eni_create_delay: Duration::ZERO,
            nat_gateway_delay: DEFAULT_NAT_GATEWAY_DELAY,
            vpc_endpoint_delay: DEFAULT_VPC_ENDPOINT_DELAY,
            eni_policy: EniPolicy::Shared,
            agentcore_eni_operator: None,
            isolation: Isolation::Port,
            default_vpc: false,
            default_region: "us-east-1".into(),
            agent_command: None,
            max_vms: DEFAULT_MAX_VMS,
            quota_model: QuotaModel::Exact,
            invoke_tps: None,
            new_sessions_tps: None,
            cold_start: Duration::ZERO,
            quota_refusal_delay: Duration::ZERO,
            session_teardown: Duration::ZERO,
            agent_start_timeout: DEFAULT_AGENT_START_TIMEOUT,
            agent_stop_grace: DEFAULT_AGENT_STOP_GRACE,
            allow_commands: false,
            websocket_max_duration: crate::data::websocket::DEFAULT_MAX_DURATION,
            faults: Vec::new(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            unverified_body_budget: DEFAULT_UNVERIFIED_BODY_BUDGET,
        }
    }
}

/// How ENIs are shared between runtimes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EniPolicy {
    /// AWS's documented behaviour: one ENI per (subnet, security-group set), shared by every
    /// runtime with that configuration.
    #[default]
    Shared,
    /// A deliberately wrong world: every runtime gets ENIs of its own (negative controls).
    PerRuntime,
}
