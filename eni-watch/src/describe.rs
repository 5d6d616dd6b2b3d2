//! One `DescribeNetworkInterfaces` snapshot: the filters, pagination, the client-side interface
//! type check, and the classification of failures.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::Filter;
use eni_model::{AGENTIC_AI, SecurityGroupId, SubnetId, VpcId};

use crate::eni::{Eni, from_sdk};

/// Which ENIs a watch follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `group-id` filter: ENIs with any of these groups.
    pub security_groups: Vec<SecurityGroupId>,
    /// `vpc-id` filter.
    pub vpc: Option<VpcId>,
    /// `subnet-id` filter: ENIs in any of these subnets.
    pub subnets: Vec<SubnetId>,
    /// Keep only ENIs of this interface type, checked client-side (`None`: every type).
    pub interface_type: Option<String>,
    /// Also send `interface-type` as a server-side filter. Off by default: AWS does not document
    /// that filter value for `agentic_ai`.
    pub server_side_type_filter: bool,
    /// `MaxResults` per page (5..=1000); `None` lets EC2 choose. Pages are always followed.
    pub page_size: Option<i32>,
}

impl Default for Scope {
    /// Every `agentic_ai` ENI of the account and region.
    fn default() -> Self {
        Self {
            security_groups: Vec::new(),
            vpc: None,
            subnets: Vec::new(),
            interface_type: Some(AGENTIC_AI.to_string()),
            server_side_type_filter: false,
            page_size: None,
        }
    }
}

impl Scope {
    /// The request filters, as `(name, values)`.
    pub fn filter_pairs(&self) -> Vec<(&'static str, Vec<String>)> {
        let mut out = Vec::new();
        if !self.security_groups.is_empty() {
            out.push(("group-id", self.security_groups.iter().map(|g| g.to_string()).collect()));
        }
        if let Some(vpc) = &self.vpc {
            out.push(("vpc-id", vec![vpc.to_string()]));
        }
        if !self.subnets.is_empty() {
            out.push(("subnet-id", self.subnets.iter().map(|s| s.to_string()).collect()));
        }
        if self.server_side_type_filter
            && let Some(ty) = &self.interface_type
        {
            out.push(("interface-type", vec![ty.clone()]));
        }
        out
    }

    /// `name=v1,v2` per filter, for the timeline's start line.
    pub fn filter_labels(&self) -> Vec<String> {
        self.filter_pairs().into_iter().map(|(name, values)| format!("{name}={}", values.join(","))).collect()
    }

    fn filters(&self) -> Vec<Filter> {
        self.filter_pairs()
            .into_iter()
            .map(|(name, values)| Filter::builder().name(name).set_values(Some(values)).build())
            .collect()
    }
}

/// An EC2 client for polling: the given configuration with SDK retries **off**, so that every
/// throttled or failed call shows as a gap in the timeline and the watcher's own backoff decides
/// when to try again; plus connect (5 s) and per-call (30 s) timeouts so a hung endpoint is a
/// gap too, not a stalled watch.
pub fn polling_client(sdk: &SdkConfig) -> Client {
    let config = aws_sdk_ec2::config::Builder::from(sdk)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// The ENIs of one successful poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Sorted by zone, subnet, private IP, id.
    pub enis: Vec<Eni>,
    /// Calls made (pages).
    pub pages: u32,
}

/// What kind of failure a poll met; decides whether a watch may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// `RequestLimitExceeded` and other throttling codes.
    Throttled,
    /// HTTP 5xx.
    Server,
    /// No answer in time.
    Timeout,
    /// The endpoint could not be reached (connection refused, DNS, TLS).
    Connect,
    /// The request was refused (credentials, permissions, parameters) or the answer was unusable.
    Client,
}

/// A failed poll.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PollError {
    /// The AWS error code, `HTTP <status>` for an error without one, or the SDK's failure kind
    /// (`Timeout`, `ConnectError`, …).
    pub code: String,
    /// The error message, with its root cause.
    pub message: String,
    /// What kind of failure it is, which decides whether to retry.
    pub kind: FailureKind,
}

impl PollError {
    /// Whether trying again later may work without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, FailureKind::Throttled | FailureKind::Server | FailureKind::Timeout)
    }
}

/// The codes the AWS SDKs treat as throttling.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// The innermost cause of an error, which names what actually went wrong
/// (`Connection refused (os error 111)`).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Classifies an SDK error.
pub fn classify<E, R>(error: &SdkError<E, R>) -> PollError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus + 'static,
{
    let (code, message, kind) = match error {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().http_status();
            let code = error.code().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}"));
            let message = error
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| format!("the error response has no AWS error code ({})", root_cause(ctx.err())));
            let kind = if THROTTLING_CODES.contains(&code.as_str()) {
                FailureKind::Throttled
            } else if status >= 500 {
                FailureKind::Server
            } else {
                FailureKind::Client
            };
            (code, message, kind)
        }
        SdkError::ResponseError(ctx) => {
            let status = ctx.raw().http_status();
            let kind = if status >= 500 { FailureKind::Server } else { FailureKind::Client };
            (format!("HTTP {status}"), format!("unreadable response: {}", root_cause(error)), kind)
        }
        SdkError::TimeoutError(_) => ("Timeout".to_string(), root_cause(error), FailureKind::Timeout),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            ("Timeout".to_string(), root_cause(error), FailureKind::Timeout)
        }
        SdkError::DispatchFailure(failure) if failure.is_io() => {
            ("ConnectError".to_string(), root_cause(error), FailureKind::Connect)
        }
        SdkError::DispatchFailure(_) => ("DispatchFailure".to_string(), root_cause(error), FailureKind::Connect),
        SdkError::ConstructionFailure(_) => ("ConstructionFailure".to_string(), root_cause(error), FailureKind::Client),
        _ => ("Unknown".to_string(), root_cause(error), FailureKind::Client),
    };
    PollError { code, message, kind }
}

/// The HTTP status of a raw response (implemented for the SDK's response type).
pub trait HttpStatus {
    /// The response's HTTP status code.
    fn http_status(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn http_status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Samples list ENIs by zone, subnet, private IP (numerically), then id: the order a person
/// reads them in, and stable across runs.
fn display_order(eni: &Eni) -> (String, String, Option<std::net::Ipv4Addr>, String) {
    let zone = if eni.az_id.is_empty() { eni.az.clone() } else { eni.az_id.clone() };
    let ip = eni.private_ip.as_deref().and_then(|ip| ip.parse().ok());
    (zone, eni.subnet.to_string(), ip, eni.id.clone())
}

/// Hard stop for a paginator that never ends (an endpoint cycling through tokens).
const MAX_PAGES: u32 = 100_000;

/// Lists every ENI in `scope`, following `NextToken` to the last page (the SDK's paginator).
pub async fn describe(client: &Client, scope: &Scope) -> Result<Snapshot, PollError> {
    let filters = scope.filters();
    let mut enis = Vec::new();
    let mut pages = 0u32;
    // A token repeated page after page is a loop too: reported below, not taken for the last page.
    let mut stream = client
        .describe_network_interfaces()
        .set_filters((!filters.is_empty()).then_some(filters))
        // An account that hides managed resources (ModifyManagedResourceVisibility) must not hide
        // AgentCore's ENIs from the watch, should AWS count them as managed.
        .include_managed_resources(true)
        .set_max_results(scope.page_size)
        .into_paginator()
        .stop_on_duplicate_token(false)
        .send();
    while let Some(page) = stream.next().await {
        let out = page.map_err(|e| classify(&e))?;
        pages += 1;
        for ni in out.network_interfaces() {
            let eni = from_sdk(ni).map_err(|message| PollError {
                code: "MalformedResponse".into(),
                message,
                kind: FailureKind::Client,
            })?;
            if scope.interface_type.as_ref().is_none_or(|ty| *ty == eni.interface_type) {
                enis.push(eni);
            }
        }
        if pages >= MAX_PAGES && out.next_token().is_some_and(|next| !next.is_empty()) {
            return Err(PollError {
                code: "PaginationLoop".into(),
                message: format!("still getting a NextToken after {pages} pages"),
                kind: FailureKind::Client,
            });
        }
    }
    enis.sort_by_cached_key(display_order);
    let mut seen = std::collections::HashSet::new();
    enis.retain(|e| seen.insert(e.id.clone()));
    Ok(Snapshot { enis, pages })
}
