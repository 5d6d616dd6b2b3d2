//! The EC2 slice (query protocol): VPCs, subnets, Availability Zones, security groups, tags,
//! network interfaces, and the network a real deployment builds around them (internet gateways,
//! route tables, Elastic IP addresses, NAT gateways, VPC endpoints) — what AgentCore VPC mode touches, what
//! eni-lab's report network creates and what tag-based cleanup needs.
//!
//! Requests are `POST /` with a form body (`Action=…&Version=2016-11-15&…`); responses are XML as
//! EC2 writes it ([`xml`]); errors are `<Response><Errors><Error><Code>…`.
//!
//! One private module per resource family: `vpc`, `subnet`, `security_group`,
//! `security_group_rule`, `network_interface`, `zones` (Availability Zones), `tags`,
//! `internet_gateway`, `route_table`, `address` (Elastic IPs), `nat_gateway`, `vpc_endpoint`. They share `ec2/context.rs` (the
//! `Op` an operation runs with, id kinds and their errors, Describe helpers) and never import this
//! module. One table, `OPERATIONS`, maps each `Action` to its handler: dispatch and [`ACTIONS`]
//! both come from it.
//!
//! **Locking.** Each call runs on tokio's blocking pool. Describe calls take the world lock only
//! to apply due transitions and copy their region, then check, filter, paginate and render the
//! copy without it (filters are bounded and linear-time, see [`query`]); writes hold the lock for
//! their checks and changes, which are bounded by the region's size and never await.

mod address;
mod context;
mod internet_gateway;
mod nat_gateway;
mod network_interface;
pub mod query;
mod route_table;
mod security_group;
mod security_group_rule;
mod subnet;
mod tags;
mod vpc;
mod vpc_endpoint;
pub mod xml;
mod zones;

use std::sync::Arc;
use std::time::SystemTime;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use self::context::Op;
use self::query::Params;
use crate::app_state::AppState;
use crate::context::RequestContext;
use crate::error::AwsError;
use crate::state::RegionState;

pub use self::network_interface::ENI_FILTERS;

/// `POST /` with a form body.
pub async fn handle_post(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> Response {
    off_the_runtime(state, ctx, move |state, ctx| respond(state, ctx, Params::parse(&body))).await
}

/// `GET /?Action=…` (the query protocol allows it; the AWS SDKs use POST).
pub async fn handle_get(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    off_the_runtime(state, ctx, move |state, ctx| respond(state, ctx, Params::parse(query.as_bytes()))).await
}

/// Runs one EC2 call on tokio's blocking pool: filtering many resources with many patterns is
/// bounded but not free, and must not stall the async workers that serve every other request.
/// If this future is dropped first (the client left), the call's filtering stops
/// ([`query::CancelFlag`]).
async fn off_the_runtime(
    state: Arc<AppState>,
    ctx: RequestContext,
    call: impl FnOnce(&AppState, &RequestContext) -> Response + Send + 'static,
) -> Response {
    let request_id = ctx.request_id.clone();
    let flag = query::CancelFlag::default();
    // Dropped with this future: if the client leaves first, the call's filtering stops.
    let _cancel_on_drop = query::CancelOnDrop(flag.clone());
    match tokio::task::spawn_blocking(move || flag.run(|| call(&state, &ctx))).await {
        Ok(response) => response,
        // A panic goes on to the router's panic layer, which answers it in EC2's shape.
        Err(join_error) if join_error.is_panic() => std::panic::resume_unwind(join_error.into_panic()),
        Err(_cancelled) => error_response(internal_error(), &request_id),
    }
}

/// Runs the call and renders its answer, or its error in EC2's shape.
fn respond(state: &AppState, ctx: &RequestContext, params: Result<Params, AwsError>) -> Response {
    match params.and_then(|p| dispatch(state, ctx, &p)) {
        Ok(body) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")], body).into_response(),
        Err(error) => error_response(error, &ctx.request_id),
    }
}

/// The error EC2 answers when it fails itself: 500 `InternalError`.
pub fn internal_error() -> AwsError {
    AwsError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "An internal error has occurred")
}

/// Renders `error` as EC2 does: `<Response><Errors><Error><Code>…</Code><Message>…</Message>
/// </Error></Errors><RequestID>…</RequestID></Response>` ([`xml::error_document`]), with
/// `x-amzn-RequestId: request_id`.
pub fn error_response(error: AwsError, request_id: &str) -> Response {
    let body = xml::error_document(&error.code, &error.message, request_id);
    let mut response = (error.status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml;charset=UTF-8"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

/// What an operation does with the region: a read works on a copy taken under the world lock, a
/// write holds the lock for its checks and changes.
#[derive(Clone, Copy)]
enum Handler {
    Read(fn(&Op<'_>) -> Result<String, AwsError>),
    Write(fn(&mut Op<'_>) -> Result<String, AwsError>),
}

/// Every operation this slice implements, by its `Action` name.
const OPERATIONS: &[(&str, Handler)] = &[
    ("CreateVpc", Handler::Write(vpc::create_vpc)),
    ("DescribeVpcs", Handler::Read(vpc::describe_vpcs)),
    ("DeleteVpc", Handler::Write(vpc::delete_vpc)),
    ("DescribeVpcAttribute", Handler::Read(vpc::describe_vpc_attribute)),
    ("ModifyVpcAttribute", Handler::Write(vpc::modify_vpc_attribute)),
    ("CreateSubnet", Handler::Write(subnet::create_subnet)),
    ("DescribeSubnets", Handler::Read(subnet::describe_subnets)),
    ("DeleteSubnet", Handler::Write(subnet::delete_subnet)),
    ("DescribeAvailabilityZones", Handler::Read(zones::describe_availability_zones)),
    ("CreateSecurityGroup", Handler::Write(security_group::create_security_group)),
    ("DescribeSecurityGroups", Handler::Read(security_group::describe_security_groups)),
    ("DeleteSecurityGroup", Handler::Write(security_group::delete_security_group)),
    ("AuthorizeSecurityGroupIngress", Handler::Write(security_group_rule::authorize_ingress)),
    ("AuthorizeSecurityGroupEgress", Handler::Write(security_group_rule::authorize_egress)),
    ("RevokeSecurityGroupIngress", Handler::Write(security_group_rule::revoke_ingress)),
    ("RevokeSecurityGroupEgress", Handler::Write(security_group_rule::revoke_egress)),
    ("DescribeSecurityGroupRules", Handler::Read(security_group_rule::describe_security_group_rules)),
    ("CreateTags", Handler::Write(tags::create_tags)),
    ("DeleteTags", Handler::Write(tags::delete_tags)),
    ("DescribeTags", Handler::Read(tags::describe_tags)),
    ("CreateNetworkInterface", Handler::Write(network_interface::create_network_interface)),
    ("DescribeNetworkInterfaces", Handler::Read(network_interface::describe_network_interfaces)),
    ("DeleteNetworkInterface", Handler::Write(network_interface::delete_network_interface)),
    ("CreateInternetGateway", Handler::Write(internet_gateway::create_internet_gateway)),
    ("AttachInternetGateway", Handler::Write(internet_gateway::attach_internet_gateway)),
    ("DetachInternetGateway", Handler::Write(internet_gateway::detach_internet_gateway)),
    ("DeleteInternetGateway", Handler::Write(internet_gateway::delete_internet_gateway)),
    ("DescribeInternetGateways", Handler::Read(internet_gateway::describe_internet_gateways)),
    ("CreateRouteTable", Handler::Write(route_table::create_route_table)),
    ("CreateRoute", Handler::Write(route_table::create_route)),
    ("DeleteRoute", Handler::Write(route_table::delete_route)),
    ("AssociateRouteTable", Handler::Write(route_table::associate_route_table)),
    ("DisassociateRouteTable", Handler::Write(route_table::disassociate_route_table)),
    ("DeleteRouteTable", Handler::Write(route_table::delete_route_table)),
    ("DescribeRouteTables", Handler::Read(route_table::describe_route_tables)),
    ("AllocateAddress", Handler::Write(address::allocate_address)),
    ("ReleaseAddress", Handler::Write(address::release_address)),
    ("DescribeAddresses", Handler::Read(address::describe_addresses)),
    ("CreateNatGateway", Handler::Write(nat_gateway::create_nat_gateway)),
    ("DeleteNatGateway", Handler::Write(nat_gateway::delete_nat_gateway)),
    ("DescribeNatGateways", Handler::Read(nat_gateway::describe_nat_gateways)),
    ("CreateVpcEndpoint", Handler::Write(vpc_endpoint::create_vpc_endpoint)),
    ("DescribeVpcEndpoints", Handler::Read(vpc_endpoint::describe_vpc_endpoints)),
    ("ModifyVpcEndpoint", Handler::Write(vpc_endpoint::modify_vpc_endpoint)),
    ("DeleteVpcEndpoints", Handler::Write(vpc_endpoint::delete_vpc_endpoints)),
    ("DescribeVpcEndpointServices", Handler::Read(vpc_endpoint::describe_vpc_endpoint_services)),
    ("GetManagedResourceVisibility", Handler::Read(network_interface::get_managed_resource_visibility)),
    ("ModifyManagedResourceVisibility", Handler::Write(network_interface::modify_managed_resource_visibility)),
];

/// The operations this slice implements: the names in `OPERATIONS`, in its order.
pub const ACTIONS: &[&str] = &action_names::<{ OPERATIONS.len() }>(OPERATIONS);

/// The names of `operations` (`N` of them).
const fn action_names<const N: usize>(operations: &[(&'static str, Handler)]) -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = operations[i].0;
        i += 1;
    }
    names
}

/// Runs the operation `Action` names: refused when unknown or a dry run; a read on a copy of the
/// caller's region, a write under the world lock.
fn dispatch(state: &AppState, ctx: &RequestContext, params: &Params) -> Result<String, AwsError> {
    let action = params.required("Action")?;
    let Some(&(_, handler)) = OPERATIONS.iter().find(|(name, _)| *name == action) else {
        return Err(AwsError::ec2("InvalidAction", format!("The action {action} is not valid for this web service.")));
    };
    if params.bool("DryRun")? == Some(true) {
        return Err(AwsError::new(
            StatusCode::PRECONDITION_FAILED,
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    match handler {
        Handler::Read(read) => {
            // Reads never filter or render under the world lock: they work on a copy of the region.
            let (mut region, now) = snapshot_region(state, &ctx.caller.region);
            read(&Op { region: &mut region, config: &state.config, now, request_id: &ctx.request_id, params })
        }
        Handler::Write(write) => {
            // Writes hold the lock for their own checks and changes: bounded by the region's size,
            // no pattern matching, no await.
            let (mut world, now) = state.world();
            write(&mut Op {
                region: world.region(&ctx.caller.region),
                config: &state.config,
                now,
                request_id: &ctx.request_id,
                params,
            })
        }
    }
}

/// A copy of `region` as of now, taken under the world lock (held only for the due transitions
/// and the copy).
fn snapshot_region(state: &AppState, region: &str) -> (RegionState, SystemTime) {
    let (mut world, now) = state.world();
    let copy = world.region(region).clone();
    (copy, now)
}
