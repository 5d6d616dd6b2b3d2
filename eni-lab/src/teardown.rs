//! Deleting what a run created: used by `verify`'s teardown phase and by `destroy`.
//!
//! Two steps, so that nothing decided at the first is trusted at the second:
//! [`take_stock`] reads the run's state file and adds what [`discover`] finds by tag
//! ([`RUN_TAG`] = the run id), then [`Teardown::execute`] deletes, in dependency order:
//!
//! 1. agent runtimes (DeleteAgentRuntime, then wait until GetAgentRuntime no longer knows them);
//! 2. the security groups, at once: while AgentCore's `agentic_ai` ENIs linger in them, EC2 refuses
//!    with `DependencyViolation`, which is recorded as a [`Refusal`];
//! 3. DescribeNetworkInterfaces (`group-id` = the run's groups, `interface-type` = `agentic_ai`),
//!    every `poll`, until no ENI is left or `wait` has passed (throttling and other errors of a poll
//!    are logged and the next poll follows);
//! 4. the rest, retried in passes while something is still moving (a NAT gateway deleting):
//!    security groups, NAT gateways (until `deleted`), elastic IPs, route tables (disassociated
//!    first), subnets, internet gateways (detached first), the VPC, the IAM role (its policies
//!    deleted or detached first), the ECR repository (with its images).
//!
//! Safety (fails closed): every delete is preceded by a fresh read of that one resource's
//! `RUN_TAG` (a Describe/ListTags of it alone), and the delete happens only when the tag names this
//! run. A missing or different tag is a refusal: the resource is kept and reported with why. Any
//! error of that read (throttling, 5xx, `AccessDenied`, anything) keeps the resource too. The one
//! exception: against an emulator ([`ConnectionKind::Emulator`], recorded in the state file), an
//! answer in [`crate::error::OPERATION_NOT_SUPPORTED_CODES`] (or, without any error code, in [`crate::error::FOREIGN_STATUSES`])
//! means the endpoint does not implement that service, and the state file is the authority.
//! Against a real account (or a state file that does not say) no answer skips the tag check.
//!
//! Discovery by tag: a listing the endpoint does not implement (the same answers) means "that
//! service has nothing here" (agentcore-local has no IAM or ECR, moto no AgentCore). Any other
//! listing error leaves a gap ([`Report::unsearched`]): the run is then not marked finished.
//!
//! Idempotent: "not found" on a delete counts as deleted. Every deletion is recorded in the state
//! file as it happens; `finished` is set once nothing is left and every listing answered.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_bedrockagentcorecontrol::types::AgentRuntimeStatus;
use aws_sdk_ec2::types::{Filter, NatGatewayState};

use crate::error::ApiError;
use crate::run::{ConnectionKind, RUN_TAG, RunId};
use crate::state::{Kind, Resource, RunState};

/// How long to wait and how often to look.
#[derive(Clone, Debug)]
pub struct Options {
    /// Upper bound, from the start of the teardown, on waiting for runtimes to go, for lingering
    /// `agentic_ai` ENIs and for NAT gateways; when it passes, what is left is reported (and stays
    /// in the state file for `destroy --resume`).
    pub wait: Duration,
    /// Interval between status polls.
    pub poll: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { wait: Duration::from_secs(600), poll: Duration::from_secs(2) }
    }
}

/// A delete the service refused (e.g. `DependencyViolation` on a security group while ENIs linger).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Refusal {
    pub kind: Kind,
    pub id: String,
    pub code: String,
    pub message: String,
    /// Since the teardown started.
    pub after: Duration,
}

/// What a teardown did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// Deleted by this teardown (including those already gone: "not found" counts as deleted).
    pub deleted: Vec<Resource>,
    /// What is left and why (e.g. "2 agentic_ai ENIs still attached").
    pub left: Vec<(Resource, String)>,
    /// Refused deletes, each (resource, code) once, e.g. `DependencyViolation` on the security group
    /// while ENIs lingered.
    pub refusals: Vec<Refusal>,
    /// When every runtime was gone, since the teardown started (`None`: there was none to delete,
    /// or some were still there when `wait` passed).
    pub runtimes_deleted_at: Option<Duration>,
    /// From the last DeleteAgentRuntime (or the teardown's start, when it deleted no runtime) to the
    /// first poll that found no `agentic_ai` ENI in the run's security groups (`None`: still there
    /// when `wait` passed, or no security group to look in).
    pub enis_gone_after: Option<Duration>,
    /// How long the teardown took.
    pub waited: Duration,
    /// Listings by tag that failed (what, and the error): resources only they would have found may
    /// be left, so the run is not marked finished.
    pub unsearched: Vec<String>,
}

/// One resource found by tag: what it is and which run's tag it carries.
#[derive(Clone, Debug)]
struct Found {
    kind: Kind,
    id: String,
    arn: Option<String>,
    run: Option<String>,
}

impl Found {
    fn resource(&self) -> Resource {
        Resource { kind: self.kind, id: self.id.clone(), arn: self.arn.clone(), deleted: false }
    }
}

/// The clients of every service a run uses.
struct Clients {
    ec2: aws_sdk_ec2::Client,
    control: aws_sdk_bedrockagentcorecontrol::Client,
    iam: aws_sdk_iam::Client,
    ecr: aws_sdk_ecr::Client,
    /// From the run's state file: whether "operation not supported" may stand in for a tag check.
    kind: ConnectionKind,
}

impl Clients {
    fn new(sdk: &SdkConfig, kind: ConnectionKind) -> Self {
        Self {
            ec2: aws_sdk_ec2::Client::new(sdk),
            control: aws_sdk_bedrockagentcorecontrol::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            ecr: aws_sdk_ecr::Client::new(sdk),
            kind,
        }
    }

    /// Whether `error`, from a listing call of `service`, means the endpoint does not offer it.
    fn not_offered(&self, service: &str, error: &ApiError) -> bool {
        let not_offered = error.operation_not_supported();
        if not_offered {
            if self.kind == ConnectionKind::Aws {
                tracing::warn!(service, %error, "the endpoint does not implement this listing: nothing of it found");
            } else {
                tracing::debug!(service, %error, "the endpoint does not offer this service: nothing of it to delete");
            }
        }
        not_offered
    }
}

/// Which resources a search looks for.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// Tagged with this run's id.
    Run(&'a RunId),
    /// Carrying the run tag at all (any run).
    AnyRun,
}

impl Scope<'_> {
    fn ec2_filter(self) -> Filter {
        match self {
            Scope::Run(run) => Filter::builder().name(format!("tag:{RUN_TAG}")).values(run.as_str()).build(),
            Scope::AnyRun => Filter::builder().name("tag-key").values(RUN_TAG).build(),
        }
    }

    fn wants(self, run: Option<&str>) -> bool {
        match self {
            Scope::Run(wanted) => run == Some(wanted.as_str()),
            Scope::AnyRun => run.is_some(),
        }
    }
}

/// Everything carrying `RUN_TAG` = `run` (runtimes, EC2 network pieces, the IAM role, the ECR
/// repository), as state-file entries (not deleted). Runtimes still DELETING and NAT gateways
/// still `deleting` count: they are not gone yet. A listing that fails is an error: the answer
/// would be incomplete.
pub async fn discover(sdk: &SdkConfig, run: &RunId) -> anyhow::Result<Vec<Resource>> {
    discover_on(sdk, run, ConnectionKind::Aws).await
}

/// [`discover`] on a connection of `kind`: the same search; against an emulator, a service it does not
/// offer is expected, so that is logged at debug level instead of as a warning.
pub async fn discover_on(sdk: &SdkConfig, run: &RunId, kind: ConnectionKind) -> anyhow::Result<Vec<Resource>> {
    let clients = Clients::new(sdk, kind);
    Ok(find(&clients, Scope::Run(run)).await.complete()?.iter().map(Found::resource).collect())
}

/// Every run with something tagged [`RUN_TAG`] left, with what it has (for `destroy --all-tagged`).
/// Tag values that are not run ids are ignored (with a warning).
pub async fn discover_all(sdk: &SdkConfig) -> anyhow::Result<BTreeMap<RunId, Vec<Resource>>> {
    let clients = Clients::new(sdk, ConnectionKind::Aws);
    let mut runs: BTreeMap<RunId, Vec<Resource>> = BTreeMap::new();
    for found in find(&clients, Scope::AnyRun).await.complete()? {
        let value = found.run.clone().unwrap_or_default();
        match RunId::parse(&value) {
            Ok(run) => runs.entry(run).or_default().push(found.resource()),
            Err(_) => {
                tracing::warn!(kind = ?found.kind, id = %found.id, "{RUN_TAG}={value:?} is not a run id: ignored")
            }
        }
    }
    Ok(runs)
}

/// What the listings by tag found, and the listings that failed.
#[derive(Default)]
struct Search {
    found: Vec<Found>,
    /// `what: error` of each listing that failed.
    gaps: Vec<String>,
}

impl Search {
    fn add(&mut self, what: &str, listed: anyhow::Result<Vec<Found>>) {
        match listed {
            Ok(found) => self.found.extend(found),
            Err(error) => {
                tracing::warn!("{what}: {error:#}");
                self.gaps.push(format!("{what}: {error:#}"));
            }
        }
    }

    /// Everything found, or an error naming every listing that failed.
    fn complete(self) -> anyhow::Result<Vec<Found>> {
        anyhow::ensure!(self.gaps.is_empty(), "the search by tag is incomplete: {}", self.gaps.join("; "));
        Ok(self.found)
    }
}

/// Every listing by tag; one that fails (other than "not offered here") is a gap, the others go on.
async fn find(clients: &Clients, scope: Scope<'_>) -> Search {
    let mut search = Search::default();
    search.add("looking for agent runtimes by tag", find_runtimes(clients, scope).await);
    for kind in EC2_KINDS {
        let listed = match describe_ec2(&clients.ec2, kind, vec![scope.ec2_filter()]).await {
            Ok(items) => Ok(items.into_iter().filter(|f| scope.wants(f.run.as_deref())).collect()),
            Err(error) if clients.not_offered("ec2", &error) => Ok(Vec::new()),
            Err(error) => Err(error.into()),
        };
        search.add(&format!("looking for {} resources by tag", kind_label(kind)), listed);
    }
    search.add("looking for IAM roles by tag", find_roles(clients, scope).await);
    search.add("looking for ECR repositories by tag", find_repositories(clients, scope).await);
    search
}

/// The state file's name of `kind` (`security-group`).
pub fn kind_label(kind: Kind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{kind:?}"))
}

const EC2_KINDS: [Kind; 8] = [
    Kind::Vpc,
    Kind::InternetGateway,
    Kind::Subnet,
    Kind::RouteTable,
    Kind::VpcEndpoint,
    Kind::ElasticIp,
    Kind::NatGateway,
    Kind::SecurityGroup,
];

fn run_of<'a>(tags: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Option<String> {
    tags.into_iter().find(|(k, _)| *k == Some(RUN_TAG)).and_then(|(_, v)| v.map(str::to_owned))
}

/// The EC2 resources of `kind` passing `filters`, with the run each is tagged for. A NAT gateway
/// already `deleted` is not listed.
async fn describe_ec2(ec2: &aws_sdk_ec2::Client, kind: Kind, filters: Vec<Filter>) -> Result<Vec<Found>, ApiError> {
    let filters = Some(filters);
    let item =
        |id: Option<&str>, run: Option<String>| Found { kind, id: id.unwrap_or_default().to_owned(), arn: None, run };
    let tags = |tags: &[aws_sdk_ec2::types::Tag]| run_of(tags.iter().map(|t| (t.key(), t.value())));
    let found = match kind {
        Kind::Vpc => {
            let out = ec2.describe_vpcs().set_filters(filters).send().await.map_err(ApiError::from_sdk)?;
            out.vpcs().iter().map(|v| item(v.vpc_id(), tags(v.tags()))).collect()
        }
        Kind::Subnet => {
            let out = ec2.describe_subnets().set_filters(filters).send().await.map_err(ApiError::from_sdk)?;
            out.subnets().iter().map(|s| item(s.subnet_id(), tags(s.tags()))).collect()
        }
        Kind::SecurityGroup => {
            let out = ec2.describe_security_groups().set_filters(filters).send().await.map_err(ApiError::from_sdk)?;
            out.security_groups().iter().map(|g| item(g.group_id(), tags(g.tags()))).collect()
        }
        Kind::InternetGateway => {
            let out = ec2.describe_internet_gateways().set_filters(filters).send().await.map_err(ApiError::from_sdk)?;
            out.internet_gateways().iter().map(|g| item(g.internet_gateway_id(), tags(g.tags()))).collect()
        }
        Kind::NatGateway => {
            let out = ec2.describe_nat_gateways().set_filter(filters).send().await.map_err(ApiError::from_sdk)?;
            out.nat_gateways()
                .iter()
                .filter(|n| n.state() != Some(&NatGatewayState::Deleted))
                .map(|n| item(n.nat_gateway_id(), tags(n.tags())))
                .collect()
        }
        Kind::RouteTable => {
            let out = ec2.describe_route_tables().set_filters(filters).send().await.map_err(ApiError::from_sdk)?;
            out.route_tables().iter().map(|t| item(t.route_table_id(), tags(t.tags()))).collect()
        }
        Kind::ElasticIp => {
            let out = ec2.describe_addresses().set_filters(filters).send().await.map_err(ApiError::from_sdk)?;
            out.addresses().iter().map(|a| item(a.allocation_id(), tags(a.tags()))).collect()
        }
        Kind::VpcEndpoint => {
            let out = ec2.describe_vpc_endpoints().set_filters(filters).send().await.map_err(ApiError::from_sdk)?;
            out.vpc_endpoints()
                .iter()
                .filter(|e| !endpoint_gone(e.state()))
                .map(|e| item(e.vpc_endpoint_id(), tags(e.tags())))
                .collect()
        }
        Kind::AgentRuntime | Kind::IamRole | Kind::EcrRepository => unreachable!("not an EC2 kind"),
    };
    Ok(found)
}

/// The filter naming one EC2 resource by id.
fn id_filter(kind: Kind, id: &str) -> Filter {
    let name = match kind {
        Kind::Vpc => "vpc-id",
        Kind::Subnet => "subnet-id",
        Kind::SecurityGroup => "group-id",
        Kind::InternetGateway => "internet-gateway-id",
        Kind::NatGateway => "nat-gateway-id",
        Kind::RouteTable => "route-table-id",
        Kind::ElasticIp => "allocation-id",
        Kind::VpcEndpoint => "vpc-endpoint-id",
        Kind::AgentRuntime | Kind::IamRole | Kind::EcrRepository => unreachable!("not an EC2 kind"),
    };
    Filter::builder().name(name).values(id).build()
}

async fn find_runtimes(clients: &Clients, scope: Scope<'_>) -> anyhow::Result<Vec<Found>> {
    let mut found = Vec::new();
    let mut pages = clients.control.list_agent_runtimes().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page.map_err(ApiError::from_sdk) {
            Ok(page) => page,
            Err(error) if clients.not_offered("bedrock-agentcore-control", &error) => return Ok(found),
            Err(error) => return Err(error.into()),
        };
        for runtime in page.agent_runtimes() {
            let arn = runtime.agent_runtime_arn();
            let tags = match clients
                .control
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(ApiError::from_sdk)
            {
                Ok(out) => out.tags().cloned().unwrap_or_default(),
                // Deleted between the list and now.
                Err(error) if error.is_not_found() => continue,
                Err(error) => return Err(error).with_context(|| format!("reading the tags of {arn}")),
            };
            let run = tags.get(RUN_TAG).cloned();
            if scope.wants(run.as_deref()) {
                let id = runtime.agent_runtime_id().to_owned();
                found.push(Found { kind: Kind::AgentRuntime, id, arn: Some(arn.to_owned()), run });
            }
        }
    }
    Ok(found)
}

/// Prefix of the roles (and every other name) a run gives: only such roles have their tags read.
const NAME_PREFIX: &str = "eni-lab-";

async fn find_roles(clients: &Clients, scope: Scope<'_>) -> anyhow::Result<Vec<Found>> {
    let mut found = Vec::new();
    let mut pages = clients.iam.list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page.map_err(ApiError::from_sdk) {
            Ok(page) => page,
            Err(error) if clients.not_offered("iam", &error) => return Ok(found),
            Err(error) => return Err(error.into()),
        };
        for role in page.roles().iter().filter(|r| r.role_name().starts_with(NAME_PREFIX)) {
            let name = role.role_name();
            let tags = match clients.iam.list_role_tags().role_name(name).send().await.map_err(ApiError::from_sdk) {
                Ok(out) => out.tags().to_vec(),
                Err(error) if error.is_not_found() => continue,
                Err(error) => return Err(error).with_context(|| format!("reading the tags of role {name}")),
            };
            let run = run_of(tags.iter().map(|t| (Some(t.key()), Some(t.value()))));
            if scope.wants(run.as_deref()) {
                found.push(Found { kind: Kind::IamRole, id: name.to_owned(), arn: Some(role.arn().to_owned()), run });
            }
        }
    }
    Ok(found)
}

async fn find_repositories(clients: &Clients, scope: Scope<'_>) -> anyhow::Result<Vec<Found>> {
    let mut found = Vec::new();
    let mut pages = clients.ecr.describe_repositories().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page.map_err(ApiError::from_sdk) {
            Ok(page) => page,
            Err(error) if clients.not_offered("ecr", &error) => return Ok(found),
            Err(error) => return Err(error.into()),
        };
        for repository in page.repositories() {
            let (Some(name), Some(arn)) = (repository.repository_name(), repository.repository_arn()) else { continue };
            let run = match repository_run(clients, arn).await {
                Ok(run) => run,
                Err(error) if error.is_not_found() => continue,
                Err(error) => return Err(error).with_context(|| format!("reading the tags of {arn}")),
            };
            if scope.wants(run.as_deref()) {
                found.push(Found { kind: Kind::EcrRepository, id: name.to_owned(), arn: Some(arn.to_owned()), run });
            }
        }
    }
    Ok(found)
}

async fn repository_run(clients: &Clients, arn: &str) -> Result<Option<String>, ApiError> {
    let out = clients.ecr.list_tags_for_resource().resource_arn(arn).send().await.map_err(ApiError::from_sdk)?;
    Ok(run_of(out.tags().iter().map(|t| (Some(t.key()), Some(t.value())))))
}

/// What the service says about one resource listed in the state file.
enum Lookup {
    Gone,
    /// It exists, tagged for this run id (or for none / another: `Some(other)` / `None`).
    Tagged(Option<String>),
    /// An emulator that does not implement the service (see [`crate::error::OPERATION_NOT_SUPPORTED_CODES`]): the
    /// state file is the authority.
    NoTagSupport,
}

async fn lookup(clients: &Clients, resource: &Resource) -> Result<Lookup, ApiError> {
    let result = match resource.kind {
        Kind::AgentRuntime => lookup_runtime(clients, resource).await,
        Kind::IamRole => {
            match clients.iam.list_role_tags().role_name(&resource.id).send().await.map_err(ApiError::from_sdk) {
                Ok(out) => Ok(Lookup::Tagged(run_of(out.tags().iter().map(|t| (Some(t.key()), Some(t.value())))))),
                Err(error) => Err(error),
            }
        }
        Kind::EcrRepository => lookup_repository(clients, resource).await,
        kind => match describe_ec2(&clients.ec2, kind, vec![id_filter(kind, &resource.id)]).await {
            Ok(found) => {
                Ok(found.into_iter().find(|f| f.id == resource.id).map_or(Lookup::Gone, |f| Lookup::Tagged(f.run)))
            }
            Err(error) => Err(error),
        },
    };
    match result {
        Err(error) if error.is_not_found() => Ok(Lookup::Gone),
        Err(error) if clients.kind == ConnectionKind::Emulator && error.operation_not_supported() => {
            Ok(Lookup::NoTagSupport)
        }
        other => other,
    }
}

async fn lookup_runtime(clients: &Clients, resource: &Resource) -> Result<Lookup, ApiError> {
    let arn = match &resource.arn {
        Some(arn) => arn.clone(),
        None => {
            let out = clients
                .control
                .get_agent_runtime()
                .agent_runtime_id(&resource.id)
                .send()
                .await
                .map_err(ApiError::from_sdk)?;
            out.agent_runtime_arn().to_owned()
        }
    };
    let out = clients.control.list_tags_for_resource().resource_arn(&arn).send().await.map_err(ApiError::from_sdk)?;
    Ok(Lookup::Tagged(out.tags().and_then(|t| t.get(RUN_TAG)).cloned()))
}

async fn lookup_repository(clients: &Clients, resource: &Resource) -> Result<Lookup, ApiError> {
    let out =
        clients.ecr.describe_repositories().repository_names(&resource.id).send().await.map_err(ApiError::from_sdk)?;
    let Some(arn) = out.repositories().first().and_then(|r| r.repository_arn()) else { return Ok(Lookup::Gone) };
    Ok(Lookup::Tagged(repository_run(clients, arn).await?))
}

/// The outcome of one delete attempt.
enum Attempt {
    Deleted,
    /// Accepted, still going (a NAT gateway `deleting`).
    InProgress(String),
    Refused(ApiError),
}

fn outcome(result: Result<(), ApiError>) -> Attempt {
    match result {
        Ok(()) => Attempt::Deleted,
        Err(error) if error.is_not_found() => Attempt::Deleted,
        Err(error) => Attempt::Refused(error),
    }
}

async fn delete(clients: &Clients, kind: Kind, id: &str) -> Attempt {
    let ec2 = &clients.ec2;
    match kind {
        Kind::AgentRuntime => outcome(
            clients
                .control
                .delete_agent_runtime()
                .agent_runtime_id(id)
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from_sdk),
        ),
        Kind::SecurityGroup => {
            outcome(ec2.delete_security_group().group_id(id).send().await.map(drop).map_err(ApiError::from_sdk))
        }
        Kind::Subnet => outcome(ec2.delete_subnet().subnet_id(id).send().await.map(drop).map_err(ApiError::from_sdk)),
        Kind::Vpc => outcome(ec2.delete_vpc().vpc_id(id).send().await.map(drop).map_err(ApiError::from_sdk)),
        Kind::ElasticIp => {
            outcome(ec2.release_address().allocation_id(id).send().await.map(drop).map_err(ApiError::from_sdk))
        }
        Kind::NatGateway => delete_nat_gateway(ec2, id).await,
        Kind::VpcEndpoint => delete_vpc_endpoint(ec2, id).await,
        Kind::RouteTable => outcome(delete_route_table(ec2, id).await),
        Kind::InternetGateway => outcome(delete_internet_gateway(ec2, id).await),
        Kind::IamRole => outcome(delete_role(&clients.iam, id).await),
        Kind::EcrRepository => outcome(
            clients
                .ecr
                .delete_repository()
                .repository_name(id)
                .force(true)
                .send()
                .await
                .map(drop)
                .map_err(ApiError::from_sdk),
        ),
    }
}

async fn delete_nat_gateway(ec2: &aws_sdk_ec2::Client, id: &str) -> Attempt {
    let described = ec2.describe_nat_gateways().nat_gateway_ids(id).send().await.map_err(ApiError::from_sdk);
    let state = match described {
        Ok(out) => out.nat_gateways().first().and_then(|n| n.state().cloned()),
        Err(error) if error.is_not_found() => return Attempt::Deleted,
        Err(error) => return Attempt::Refused(error),
    };
    match state {
        None | Some(NatGatewayState::Deleted) => Attempt::Deleted,
        Some(NatGatewayState::Deleting) => Attempt::InProgress("NAT gateway still deleting".into()),
        Some(_) => match ec2.delete_nat_gateway().nat_gateway_id(id).send().await.map_err(ApiError::from_sdk) {
            Ok(_) => Attempt::InProgress("NAT gateway deleting".into()),
            Err(error) if error.is_not_found() => Attempt::Deleted,
            Err(error) => Attempt::Refused(error),
        },
    }
}

/// Whether a VPC endpoint in `state` is gone. EC2 writes endpoint states in lower case, outside the
/// model's capitalised enum, so both spellings are read.
fn endpoint_gone(state: Option<&aws_sdk_ec2::types::State>) -> bool {
    state.is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted"))
}

/// Deletes a VPC endpoint: a gateway one goes at once; an interface one is `deleting` for a while
/// (its ENIs hold the subnets until it is gone), like a NAT gateway.
async fn delete_vpc_endpoint(ec2: &aws_sdk_ec2::Client, id: &str) -> Attempt {
    let described = ec2.describe_vpc_endpoints().vpc_endpoint_ids(id).send().await.map_err(ApiError::from_sdk);
    let state = match described {
        Ok(out) => out.vpc_endpoints().first().and_then(|e| e.state().map(|s| s.as_str().to_ascii_lowercase())),
        Err(error) if error.is_not_found() => return Attempt::Deleted,
        Err(error) => return Attempt::Refused(error),
    };
    match state.as_deref() {
        None | Some("deleted") => Attempt::Deleted,
        Some("deleting") => Attempt::InProgress("VPC endpoint still deleting".into()),
        Some(_) => match ec2.delete_vpc_endpoints().vpc_endpoint_ids(id).send().await.map_err(ApiError::from_sdk) {
            Ok(out) => match out.unsuccessful().first().and_then(|u| u.error()) {
                Some(e) if e.code() == Some("InvalidVpcEndpointId.NotFound") => Attempt::Deleted,
                Some(e) => Attempt::Refused(ApiError {
                    code: e.code().unwrap_or("Unknown").into(),
                    message: e.message().unwrap_or_default().into(),
                    transport: false,
                    status: None,
                }),
                None => Attempt::InProgress("VPC endpoint deleting".into()),
            },
            Err(error) if error.is_not_found() => Attempt::Deleted,
            Err(error) => Attempt::Refused(error),
        },
    }
}

async fn delete_route_table(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<(), ApiError> {
    let out = ec2.describe_route_tables().route_table_ids(id).send().await.map_err(ApiError::from_sdk)?;
    for association in out.route_tables().iter().flat_map(|t| t.associations()) {
        if association.main() == Some(true) {
            return Err(ApiError {
                code: "MainRouteTable".into(),
                message: "the main route table of its VPC goes with the VPC".into(),
                transport: false,
                status: None,
            });
        }
        if let Some(association) = association.route_table_association_id() {
            match ec2.disassociate_route_table().association_id(association).send().await.map_err(ApiError::from_sdk) {
                Ok(_) => {}
                Err(error) if error.is_not_found() => {}
                Err(error) => return Err(error),
            }
        }
    }
    ec2.delete_route_table().route_table_id(id).send().await.map(drop).map_err(ApiError::from_sdk)
}

async fn delete_internet_gateway(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<(), ApiError> {
    let out = ec2.describe_internet_gateways().internet_gateway_ids(id).send().await.map_err(ApiError::from_sdk)?;
    for vpc in out.internet_gateways().iter().flat_map(|g| g.attachments()).filter_map(|a| a.vpc_id()) {
        match ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await.map_err(ApiError::from_sdk)
        {
            Ok(_) => {}
            Err(error) if error.is_not_found() || error.code == "Gateway.NotAttached" => {}
            Err(error) => return Err(error),
        }
    }
    ec2.delete_internet_gateway().internet_gateway_id(id).send().await.map(drop).map_err(ApiError::from_sdk)
}

async fn delete_role(iam: &aws_sdk_iam::Client, name: &str) -> Result<(), ApiError> {
    let inline = iam.list_role_policies().role_name(name).send().await.map_err(ApiError::from_sdk)?;
    for policy in inline.policy_names() {
        iam.delete_role_policy().role_name(name).policy_name(policy).send().await.map_err(ApiError::from_sdk)?;
    }
    let attached = iam.list_attached_role_policies().role_name(name).send().await.map_err(ApiError::from_sdk)?;
    for policy in attached.attached_policies().iter().filter_map(|p| p.policy_arn()) {
        iam.detach_role_policy().role_name(name).policy_arn(policy).send().await.map_err(ApiError::from_sdk)?;
    }
    iam.delete_role().role_name(name).send().await.map(drop).map_err(ApiError::from_sdk)
}

/// How many times teardown asks again for a runtime whose deletion ended `DELETE_FAILED` before it
/// leaves it for `destroy --resume`.
pub const DELETE_FAILED_RETRIES: u32 = 2;

/// The order of deletion after the runtimes (the reverse of [`Kind`]'s order).
const AFTER_RUNTIMES: [Kind; 10] = [
    Kind::SecurityGroup,
    Kind::NatGateway,
    Kind::ElasticIp,
    Kind::VpcEndpoint,
    Kind::RouteTable,
    Kind::Subnet,
    Kind::InternetGateway,
    Kind::Vpc,
    Kind::IamRole,
    Kind::EcrRepository,
];

/// One teardown: stock taken ([`take_stock`]), ready to [`execute`](Teardown::execute).
pub struct Teardown<'a> {
    clients: Clients,
    state: &'a mut RunState,
    options: &'a Options,
    started: Instant,
    deadline: Instant,
    report: Report,
    /// May be deleted, if its tag still says so just before: tagged for this run when stock was
    /// taken, or in the state file of a service an emulator does not implement.
    allowed: HashSet<(Kind, String)>,
    /// Why a resource is not deleted yet.
    reasons: HashMap<(Kind, String), String>,
    refused: HashSet<(Kind, String, String)>,
    enis_left: usize,
    /// Runtimes this teardown asked to delete that are still there: DELETE_FAILED after its
    /// retries, or refused. Their ENIs stay with them.
    runtimes_stuck: usize,
}

impl Teardown<'_> {
    fn targets(&self, kind: Kind) -> Vec<Resource> {
        self.state
            .live()
            .filter(|r| r.kind == kind && self.allowed.contains(&(r.kind, r.id.clone())))
            .cloned()
            .collect()
    }

    /// What stock-taking allows to be deleted (each still checked again just before its delete),
    /// in the order of deletion.
    pub fn planned(&self) -> Vec<Resource> {
        let mut planned: Vec<Resource> =
            self.state.live().filter(|r| self.allowed.contains(&(r.kind, r.id.clone()))).cloned().collect();
        planned.sort_by_key(|r| std::cmp::Reverse(r.kind));
        planned
    }

    fn mark_deleted(&mut self, resource: &Resource) -> anyhow::Result<()> {
        tracing::info!(kind = ?resource.kind, id = %resource.id, "deleted");
        self.state.deleted(resource.kind, &resource.id)?;
        self.reasons.remove(&(resource.kind, resource.id.clone()));
        self.report.deleted.push(Resource { deleted: true, ..resource.clone() });
        Ok(())
    }

    fn refused(&mut self, resource: &Resource, error: &ApiError) {
        tracing::debug!(kind = ?resource.kind, id = %resource.id, %error, "delete refused");
        self.reasons.insert((resource.kind, resource.id.clone()), error.to_string());
        if self.refused.insert((resource.kind, resource.id.clone(), error.code.clone())) {
            self.report.refusals.push(Refusal {
                kind: resource.kind,
                id: resource.id.clone(),
                code: error.code.clone(),
                message: error.message.clone(),
                after: self.started.elapsed(),
            });
        }
    }

    /// Keeps `resource` for good: it does not carry this run's tag (`tag` is what it carries).
    fn not_ours(&mut self, resource: &Resource, tag: Option<String>) {
        let run = &self.state.run_id;
        let why = match tag {
            Some(other) => format!("tagged {RUN_TAG}={other}, not this run: left alone"),
            None => format!("not tagged {RUN_TAG}={run}: left alone"),
        };
        tracing::warn!(kind = ?resource.kind, id = %resource.id, "{why}");
        self.allowed.remove(&(resource.kind, resource.id.clone()));
        self.reasons.insert((resource.kind, resource.id.clone()), why);
    }

    /// Adds what discovery finds to the state file, and decides for each live entry whether it may
    /// be deleted (each is checked again just before its delete).
    async fn take_stock(&mut self) -> anyhow::Result<()> {
        let run = self.state.run_id.clone();
        let search = find(&self.clients, Scope::Run(&run)).await;
        self.report.unsearched = search.gaps;
        let mut changed = false;
        for item in &search.found {
            self.allowed.insert((item.kind, item.id.clone()));
            match self.state.resources.iter_mut().find(|r| r.kind == item.kind && r.id == item.id) {
                Some(entry) => {
                    changed |= entry.deleted || (entry.arn.is_none() && item.arn.is_some());
                    entry.deleted = false;
                    if entry.arn.is_none() {
                        entry.arn.clone_from(&item.arn);
                    }
                }
                None => {
                    tracing::info!(kind = ?item.kind, id = %item.id, "found by tag (not in the state file)");
                    self.state.resources.push(item.resource());
                    changed = true;
                }
            }
        }
        if changed {
            self.state.save()?;
        }
        let unchecked: Vec<Resource> =
            self.state.live().filter(|r| !self.allowed.contains(&(r.kind, r.id.clone()))).cloned().collect();
        for resource in unchecked {
            match lookup(&self.clients, &resource).await {
                Ok(Lookup::Gone) => self.mark_deleted(&resource)?,
                Ok(Lookup::Tagged(Some(tag))) if tag == run.as_str() => {
                    self.allowed.insert((resource.kind, resource.id.clone()));
                }
                Ok(Lookup::Tagged(other)) => self.not_ours(&resource, other),
                Ok(Lookup::NoTagSupport) => {
                    self.allowed.insert((resource.kind, resource.id.clone()));
                }
                Err(error) => {
                    self.reasons.insert(
                        (resource.kind, resource.id.clone()),
                        format!("kept: its tags could not be read: {error}"),
                    );
                }
            }
        }
        Ok(())
    }

    /// Reads `resource`'s run tag again, right before its delete: whether it may go now. A missing
    /// or different tag keeps it for good; an error of the read keeps it for now (both reported).
    async fn still_ours(&mut self, resource: &Resource) -> anyhow::Result<bool> {
        let key = (resource.kind, resource.id.clone());
        match lookup(&self.clients, resource).await {
            Ok(Lookup::Tagged(Some(tag))) if tag == self.state.run_id.as_str() => Ok(true),
            Ok(Lookup::NoTagSupport) => Ok(true),
            Ok(Lookup::Gone) => {
                self.mark_deleted(resource)?;
                Ok(false)
            }
            Ok(Lookup::Tagged(other)) => {
                self.not_ours(resource, other);
                Ok(false)
            }
            Err(error) => {
                tracing::warn!(kind = ?resource.kind, id = %resource.id, %error, "tag check failed: kept");
                self.reasons.insert(key, format!("kept: its tags could not be read just before deleting: {error}"));
                Ok(false)
            }
        }
    }

    async fn delete_runtimes(&mut self) -> anyhow::Result<Option<Instant>> {
        let runtimes = self.targets(Kind::AgentRuntime);
        if runtimes.is_empty() {
            return Ok(None);
        }
        let mut last_delete = None;
        let mut pending = Vec::new();
        for runtime in runtimes {
            if !self.still_ours(&runtime).await? {
                continue;
            }
            match delete(&self.clients, Kind::AgentRuntime, &runtime.id).await {
                Attempt::Deleted => {
                    last_delete = Some(Instant::now());
                    pending.push(runtime);
                }
                Attempt::InProgress(_) => unreachable!("runtimes are waited for below"),
                Attempt::Refused(error) => {
                    self.refused(&runtime, &error);
                    self.runtimes_stuck += 1;
                }
            }
        }
        let progress = spinner(format!("waiting for {} agent runtime(s) to be deleted", pending.len()));
        // DeleteAgentRuntime calls made again for runtimes that ended DELETE_FAILED, by id.
        let mut retries: BTreeMap<String, u32> = BTreeMap::new();
        loop {
            let mut still = Vec::new();
            for runtime in pending {
                match self
                    .clients
                    .control
                    .get_agent_runtime()
                    .agent_runtime_id(&runtime.id)
                    .send()
                    .await
                    .map_err(ApiError::from_sdk)
                {
                    Err(error) if error.is_not_found() => self.mark_deleted(&runtime)?,
                    Ok(out) if out.status() == &AgentRuntimeStatus::DeleteFailed => {
                        // AWS gave up on this deletion: ask again a few times, then leave the
                        // runtime (and what its ENIs hold) to `destroy --resume` instead of
                        // waiting out the deadline for something that is not moving.
                        let tries = retries.entry(runtime.id.clone()).or_default();
                        let reason = out.failure_reason().unwrap_or("no failureReason given");
                        if *tries >= DELETE_FAILED_RETRIES {
                            let why = format!("DELETE_FAILED after {} deletion attempts: {reason}", *tries + 1);
                            self.reasons.insert((runtime.kind, runtime.id.clone()), why);
                            self.runtimes_stuck += 1;
                            continue;
                        }
                        *tries += 1;
                        tracing::warn!(id = %runtime.id, %reason, "agent runtime DELETE_FAILED; deleting it again");
                        match delete(&self.clients, Kind::AgentRuntime, &runtime.id).await {
                            Attempt::Refused(error) => {
                                self.refused(&runtime, &error);
                                self.runtimes_stuck += 1;
                            }
                            _ => {
                                last_delete = Some(Instant::now());
                                still.push(runtime);
                            }
                        }
                    }
                    Ok(out) => {
                        let why = format!("still {} (deleted at the service's pace)", out.status().as_str());
                        self.reasons.insert((runtime.kind, runtime.id.clone()), why);
                        still.push(runtime);
                    }
                    Err(error) => {
                        tracing::warn!(id = %runtime.id, %error, "GetAgentRuntime failed; polling again");
                        self.reasons.insert((runtime.kind, runtime.id.clone()), error.to_string());
                        still.push(runtime);
                    }
                }
            }
            pending = still;
            progress.set_message(format!("waiting for {} agent runtime(s) to be deleted", pending.len()));
            if pending.is_empty() || Instant::now() >= self.deadline {
                break;
            }
            tokio::time::sleep(self.options.poll).await;
        }
        progress.finish_and_clear();
        if pending.is_empty() && self.targets(Kind::AgentRuntime).is_empty() {
            self.report.runtimes_deleted_at = Some(self.started.elapsed());
        }
        Ok(last_delete)
    }

    /// Tries every target of `kind` once; returns whether something was deleted and whether
    /// something is still in progress.
    async fn attempt(&mut self, kind: Kind) -> anyhow::Result<(bool, bool)> {
        let (mut deleted, mut moving) = (false, false);
        for resource in self.targets(kind) {
            if !self.still_ours(&resource).await? {
                continue;
            }
            match delete(&self.clients, kind, &resource.id).await {
                Attempt::Deleted => {
                    self.mark_deleted(&resource)?;
                    deleted = true;
                }
                Attempt::InProgress(why) => {
                    self.reasons.insert((kind, resource.id.clone()), why);
                    moving = true;
                }
                Attempt::Refused(error) => self.refused(&resource, &error),
            }
        }
        Ok((deleted, moving))
    }

    /// The number of `agentic_ai` ENIs in the run's live security groups.
    async fn count_enis(&self) -> Result<usize, ApiError> {
        let groups: Vec<String> = self.targets(Kind::SecurityGroup).into_iter().map(|r| r.id).collect();
        if groups.is_empty() {
            return Ok(0);
        }
        let out = self
            .clients
            .ec2
            .describe_network_interfaces()
            .filters(Filter::builder().name("group-id").set_values(Some(groups)).build())
            .filters(Filter::builder().name("interface-type").values("agentic_ai").build())
            // Hidden managed resources still hold the groups: count them too.
            .include_managed_resources(true)
            .send()
            .await
            .map_err(ApiError::from_sdk)?;
        Ok(out.network_interfaces().len())
    }

    async fn wait_for_enis(&mut self, since: Instant) {
        let progress = spinner("looking for lingering agentic_ai ENIs".into());
        loop {
            match self.count_enis().await {
                Ok(0) => {
                    self.enis_left = 0;
                    self.report.enis_gone_after = Some(since.elapsed());
                    break;
                }
                Ok(n) => {
                    self.enis_left = n;
                    let left = self.deadline.saturating_duration_since(Instant::now());
                    progress.set_message(format!(
                        "{n} agentic_ai ENI(s) linger in the run's security groups; waiting up to {} s more",
                        left.as_secs()
                    ));
                }
                // Throttling (RequestLimitExceeded) or a hiccup: the next poll decides.
                Err(error) => tracing::warn!(%error, "DescribeNetworkInterfaces failed; polling again"),
            }
            if Instant::now() >= self.deadline {
                break;
            }
            tokio::time::sleep(self.options.poll).await;
        }
        progress.finish_and_clear();
    }

    async fn run(&mut self) -> anyhow::Result<()> {
        let last_delete = self.delete_runtimes().await?;
        // At once: refused while the ENIs linger (that refusal is part of what verify checks).
        self.attempt(Kind::SecurityGroup).await?;
        // A runtime that will not go (DELETE_FAILED after its retries, or refused) keeps its ENIs:
        // waiting for them would only run out the deadline.
        if !self.targets(Kind::SecurityGroup).is_empty() && self.runtimes_stuck == 0 {
            self.wait_for_enis(last_delete.unwrap_or(self.started)).await;
        }
        let progress = spinner("deleting the network, role and repository".into());
        loop {
            let (mut deleted, mut moving) = (false, false);
            for kind in AFTER_RUNTIMES {
                let (d, m) = self.attempt(kind).await?;
                deleted |= d;
                moving |= m;
            }
            let left = AFTER_RUNTIMES.iter().map(|&k| self.targets(k).len()).sum::<usize>();
            progress.set_message(format!("deleting the network, role and repository: {left} left"));
            if left == 0 || Instant::now() >= self.deadline || !(deleted || moving) {
                break;
            }
            tokio::time::sleep(self.options.poll.min(Duration::from_secs(5))).await;
        }
        progress.finish_and_clear();
        // Things deleted along with others (a main route table with its VPC) or by someone else.
        let live: Vec<Resource> = self.state.live().cloned().collect();
        for resource in live {
            if let Ok(Lookup::Gone) = lookup(&self.clients, &resource).await {
                self.mark_deleted(&resource)?;
            }
        }
        if self.enis_left > 0 {
            // The last count; ENIs may have gone since.
            self.enis_left = self.count_enis().await.unwrap_or(self.enis_left);
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<Report> {
        let enis = self.enis_left;
        let mut live: Vec<&Resource> = self.state.live().collect();
        live.sort_by_key(|r| std::cmp::Reverse(r.kind));
        for resource in live {
            let key = (resource.kind, resource.id.clone());
            let mut why = self.reasons.get(&key).cloned().unwrap_or_else(|| "not deleted".into());
            if enis > 0 && matches!(resource.kind, Kind::SecurityGroup | Kind::Subnet | Kind::Vpc) {
                why = format!("{enis} agentic_ai ENI(s) still attached (AWS keeps them up to 8 h): {why}");
            }
            self.report.left.push((resource.clone(), why));
        }
        if self.report.left.is_empty() && self.report.unsearched.is_empty() && !self.state.finished {
            self.state.finished = true;
            self.state.save()?;
        }
        self.report.waited = self.started.elapsed();
        Ok(self.report)
    }
}

/// A spinner on stderr (hidden when stderr is not a terminal).
fn spinner(message: String) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Takes stock of what the run of `state` left (see the module docs): the state file plus what its
/// tag finds, each entry checked; saves what discovery added. Nothing is deleted yet.
pub async fn take_stock<'a>(
    sdk: &SdkConfig,
    state: &'a mut RunState,
    options: &'a Options,
) -> anyhow::Result<Teardown<'a>> {
    let started = Instant::now();
    let mut teardown = Teardown {
        clients: Clients::new(sdk, state.connection_kind),
        state,
        options,
        started,
        deadline: started + options.wait,
        report: Report::default(),
        allowed: HashSet::new(),
        reasons: HashMap::new(),
        refused: HashSet::new(),
        enis_left: 0,
        runtimes_stuck: 0,
    };
    teardown.take_stock().await?;
    Ok(teardown)
}

impl Teardown<'_> {
    /// Deletes what stock-taking allowed, each after a fresh check of its tag, recording every
    /// deletion in the state file; `finished` is set once nothing is left. An error means the
    /// teardown could not go on (the state file unwritable); refusals are in the report.
    pub async fn execute(mut self) -> anyhow::Result<Report> {
        self.run().await?;
        self.finish()
    }
}

/// [`take_stock`] then [`Teardown::execute`].
pub async fn teardown(sdk: &SdkConfig, state: &mut RunState, options: &Options) -> anyhow::Result<Report> {
    take_stock(sdk, state, options).await?.execute().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, status: u16) -> ApiError {
        ApiError { code: code.into(), message: "m".into(), transport: false, status: Some(status) }
    }

    #[test]
    fn only_named_answers_mean_not_supported() {
        let supported =
            [error("InvalidAction", 400), error("UnknownOperationException", 404), error("", 404), error("", 401)];
        for supported in supported {
            assert!(supported.operation_not_supported(), "{supported}");
        }
        let failing = [
            error("RequestLimitExceeded", 503),
            error("ThrottlingException", 429),
            error("InternalError", 500),
            error("", 500),
            error("", 503),
            error("", 403),
            error("", 429),
            error("", 400),
            error("AccessDenied", 403),
            error("AccessDeniedException", 403),
            error("UnauthorizedOperation", 403),
            error("AuthFailure", 401),
            error("ValidationException", 400),
            error("InvalidGroup.NotFound", 400),
            ApiError { code: String::new(), message: "connection refused".into(), transport: true, status: None },
        ];
        for error in failing {
            assert!(!error.operation_not_supported(), "{error}");
        }
    }
}
