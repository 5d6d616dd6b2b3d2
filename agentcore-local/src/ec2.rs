//! The EC2 slice (query protocol): VPCs, subnets, Availability Zones, security groups, tags and
//! network interfaces — what AgentCore VPC mode touches and what tag-based cleanup needs.
//!
//! Requests are `POST /` with a form body (`Action=…&Version=2016-11-15&…`); responses are XML as
//! EC2 writes it ([`xml`]); errors are `<Response><Errors><Error><Code>…`.
//!
//! **Locking.** Each call runs on tokio's blocking pool. Describe calls take the world lock only
//! to apply due transitions and copy their region, then check, filter, paginate and render the
//! copy without it (filters are bounded and linear-time, see [`query`]); writes hold the lock for
//! their checks and changes, which are bounded by the region's size and never await.

pub mod query;
pub mod xml;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ipnet::Ipv4Net;

use self::query::{Params, filters, matches, paginate, tag_specifications};
use crate::Config;
use crate::catalog;
use crate::eni;
use crate::error::AwsError;
use crate::ids;
use crate::router::{RequestContext, Service};
use crate::state::{AppState, NetworkInterface, RegionState, SecurityGroup, Subnet, Vpc};

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
        Err(_cancelled) => Service::Ec2.internal_error().into_ec2_response(&request_id),
    }
}

fn respond(state: &AppState, ctx: &RequestContext, params: Result<Params, AwsError>) -> Response {
    match params.and_then(|p| dispatch(state, ctx, &p)) {
        Ok(body) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")], body).into_response(),
        Err(error) => error.into_ec2_response(&ctx.request_id),
    }
}

/// Everything one operation needs.
struct Op<'a> {
    region: &'a mut RegionState,
    config: &'a Config,
    now: SystemTime,
    request_id: &'a str,
    params: &'a Params,
}

impl Op<'_> {
    fn account(&self) -> &str {
        &self.config.account_id
    }
}

/// The operations this slice implements.
pub const ACTIONS: &[&str] = &[
    "CreateVpc",
    "DescribeVpcs",
    "DeleteVpc",
    "CreateSubnet",
    "DescribeSubnets",
    "DeleteSubnet",
    "DescribeAvailabilityZones",
    "CreateSecurityGroup",
    "DescribeSecurityGroups",
    "DeleteSecurityGroup",
    "CreateTags",
    "DeleteTags",
    "DescribeTags",
    "CreateNetworkInterface",
    "DescribeNetworkInterfaces",
    "DeleteNetworkInterface",
];

fn dispatch(state: &AppState, ctx: &RequestContext, params: &Params) -> Result<String, AwsError> {
    let action = params.required("Action")?;
    if !ACTIONS.contains(&action) {
        return Err(AwsError::ec2("InvalidAction", format!("The action {action} is not valid for this web service.")));
    }
    if params.bool("DryRun")? == Some(true) {
        return Err(AwsError::new(
            StatusCode::PRECONDITION_FAILED,
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        ));
    }
    if action.starts_with("Describe") {
        // Reads never filter or render under the world lock: they work on a copy of the region.
        let (mut region, now) = snapshot_region(state, &ctx.caller.region);
        let op = Op { region: &mut region, config: &state.config, now, request_id: &ctx.request_id, params };
        return describe(&op, action);
    }
    // Writes hold the lock for their own checks and changes: bounded by the region's size, no
    // pattern matching, no await.
    let (mut world, now) = state.world();
    let mut op = Op {
        region: world.region(&ctx.caller.region),
        config: &state.config,
        now,
        request_id: &ctx.request_id,
        params,
    };
    match action {
        "CreateVpc" => create_vpc(&mut op),
        "DeleteVpc" => delete_vpc(&mut op),
        "CreateSubnet" => create_subnet(&mut op),
        "DeleteSubnet" => delete_subnet(&mut op),
        "CreateSecurityGroup" => create_security_group(&mut op),
        "DeleteSecurityGroup" => delete_security_group(&mut op),
        "CreateTags" => create_tags(&mut op),
        "DeleteTags" => delete_tags(&mut op),
        "CreateNetworkInterface" => create_network_interface(&mut op),
        "DeleteNetworkInterface" => delete_network_interface(&mut op),
        _ => unreachable!("checked against ACTIONS"),
    }
}

/// A copy of `region` as of now, taken under the world lock (held only for the due transitions
/// and the copy).
fn snapshot_region(state: &AppState, region: &str) -> (RegionState, SystemTime) {
    let (mut world, now) = state.world();
    let copy = world.region(region).clone();
    (copy, now)
}

fn describe(op: &Op<'_>, action: &str) -> Result<String, AwsError> {
    match action {
        "DescribeVpcs" => describe_vpcs(op),
        "DescribeSubnets" => describe_subnets(op),
        "DescribeAvailabilityZones" => describe_availability_zones(op),
        "DescribeSecurityGroups" => describe_security_groups(op),
        "DescribeTags" => describe_tags(op),
        "DescribeNetworkInterfaces" => describe_network_interfaces(op),
        _ => unreachable!("checked against ACTIONS"),
    }
}

/// The ids a Describe call asks for (`KEY.N`), as a set.
fn wanted_ids(params: &Params, key: &str) -> Result<(Vec<String>, BTreeSet<String>), AwsError> {
    let list = params.list(key)?;
    let set = list.iter().cloned().collect();
    Ok((list, set))
}

// ---------------------------------------------------------------------------------------------
// Ids and their errors

/// An EC2 resource type's id prefix and error codes.
struct Kind {
    prefix: &'static str,
    not_found: &'static str,
    malformed: &'static str,
}

const VPC: Kind = Kind { prefix: "vpc", not_found: "InvalidVpcID.NotFound", malformed: "InvalidVpcID.Malformed" };
const SUBNET: Kind =
    Kind { prefix: "subnet", not_found: "InvalidSubnetID.NotFound", malformed: "InvalidSubnetID.Malformed" };
const GROUP: Kind = Kind { prefix: "sg", not_found: "InvalidGroup.NotFound", malformed: "InvalidGroupId.Malformed" };
const ENI: Kind = Kind {
    prefix: "eni",
    not_found: "InvalidNetworkInterfaceID.NotFound",
    malformed: "InvalidNetworkInterfaceId.Malformed",
};

impl Kind {
    fn not_found(&self, id: &str) -> AwsError {
        let message = match self.prefix {
            "vpc" => format!("The vpc ID '{id}' does not exist"),
            "subnet" => format!("The subnet ID '{id}' does not exist"),
            "sg" => format!("The security group '{id}' does not exist"),
            _ => format!("The networkInterface ID '{id}' does not exist"),
        };
        AwsError::ec2(self.not_found, message)
    }

    /// `prefix-` followed by 8 or 17 hex digits.
    fn check(&self, id: &str) -> Result<(), AwsError> {
        let ok = id
            .strip_prefix(self.prefix)
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        if ok {
            Ok(())
        } else {
            Err(AwsError::ec2(self.malformed, format!("Invalid id: \"{id}\" (expecting \"{}-...\")", self.prefix)))
        }
    }
}

/// Checks every id of `ids` exists (after its format).
fn check_ids<T>(kind: &Kind, ids: &[String], map: &BTreeMap<String, T>) -> Result<(), AwsError> {
    for id in ids {
        kind.check(id)?;
        if !map.contains_key(id) {
            return Err(kind.not_found(id));
        }
    }
    Ok(())
}

fn sorted_by_seq<'a, T>(items: impl Iterator<Item = &'a T>, seq: impl Fn(&T) -> u64) -> Vec<&'a T>
where
    T: 'a,
{
    let mut v: Vec<&T> = items.collect();
    v.sort_by_key(|x| seq(x));
    v
}

fn parse_cidr(value: &str, param: &str) -> Result<Ipv4Net, AwsError> {
    value.parse::<Ipv4Net>().map(|n| n.trunc()).map_err(|_| {
        AwsError::ec2(
            "InvalidParameterValue",
            format!("Value ({value}) for parameter {param} is invalid. This is not a valid CIDR block."),
        )
    })
}

fn return_true(op: &Op<'_>, action: &str) -> String {
    xml::response(action, op.request_id, |x| x.leaf("return", true))
}

// ---------------------------------------------------------------------------------------------
// VPCs

fn create_vpc(op: &mut Op<'_>) -> Result<String, AwsError> {
    let cidr_text = op.params.get("CidrBlock").ok_or_else(|| {
        AwsError::ec2("MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
    })?;
    let cidr = parse_cidr(cidr_text, "cidrBlock")?;
    if !(16..=28).contains(&cidr.prefix_len()) {
        return Err(AwsError::ec2("InvalidVpc.Range", format!("The CIDR '{cidr_text}' is invalid.")));
    }
    let tags = tag_specifications(op.params, "vpc")?;
    let vpc = Vpc {
        id: ids::ec2_id("vpc"),
        cidr,
        cidr_association_id: ids::ec2_id("vpc-cidr-assoc"),
        tags,
        seq: op.region.next_seq(),
    };
    // Every VPC comes with a "default" security group.
    let default_group = SecurityGroup {
        id: ids::ec2_id("sg"),
        vpc_id: vpc.id.clone(),
        name: "default".into(),
        description: "default VPC security group".into(),
        tags: BTreeMap::new(),
        seq: op.region.next_seq(),
    };
    op.region.security_groups.insert(default_group.id.clone(), default_group);
    let out = xml::response("CreateVpc", op.request_id, |x| {
        x.node("vpc", |x| xml::vpc(x, &vpc, op.region, op.account(), "pending"))
    });
    op.region.vpcs.insert(vpc.id.clone(), vpc);
    Ok(out)
}

fn describe_vpcs(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "VpcId")?;
    check_ids(&VPC, &wanted, &op.region.vpcs)?;
    let filters = filters(
        op.params,
        &["vpc-id", "cidr", "cidr-block-association.cidr-block", "state", "owner-id", "is-default", "dhcp-options-id"],
    )?;
    let account = op.account();
    let items: Vec<&Vpc> = sorted_by_seq(op.region.vpcs.values(), |v| v.seq)
        .into_iter()
        .filter(|v| wanted_set.is_empty() || wanted_set.contains(&v.id))
        .filter(|v| {
            matches(&filters, &v.tags, |name| match name {
                "vpc-id" => vec![v.id.clone()],
                "cidr" | "cidr-block-association.cidr-block" => vec![v.cidr.to_string()],
                "state" => vec!["available".into()],
                "owner-id" => vec![account.to_string()],
                "is-default" => vec!["false".into()],
                "dhcp-options-id" => vec![op.region.dhcp_options_id.clone()],
                _ => vec![],
            })
        })
        .collect();
    let (page, next) = paginate(items, op.params)?;
    Ok(xml::response("DescribeVpcs", op.request_id, |x| {
        x.set("vpcSet", page, |x, v| xml::vpc(x, v, op.region, account, "available"));
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}

fn delete_vpc(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("VpcId")?.to_string();
    VPC.check(&id)?;
    if !op.region.vpcs.contains_key(&id) {
        return Err(VPC.not_found(&id));
    }
    let region = &*op.region;
    let has_dependencies = region.subnets.values().any(|s| s.vpc_id == id)
        || region.security_groups.values().any(|g| g.vpc_id == id && !g.is_default())
        || region.network_interfaces.values().any(|n| n.vpc_id == id);
    if has_dependencies {
        return Err(AwsError::ec2(
            "DependencyViolation",
            format!("The vpc '{id}' has dependencies and cannot be deleted."),
        ));
    }
    op.region.security_groups.retain(|_, g| g.vpc_id != id);
    op.region.vpcs.remove(&id);
    Ok(return_true(op, "DeleteVpc"))
}

// ---------------------------------------------------------------------------------------------
// Subnets and zones

fn create_subnet(op: &mut Op<'_>) -> Result<String, AwsError> {
    let vpc_id = op.params.required("VpcId")?.to_string();
    VPC.check(&vpc_id)?;
    let cidr_text = op.params.required("CidrBlock")?;
    let cidr = parse_cidr(cidr_text, "cidrBlock")?;
    let vpc = op.region.vpcs.get(&vpc_id).ok_or_else(|| VPC.not_found(&vpc_id))?;
    let region_name = op.region.name.clone();
    let zones = catalog::zones(&region_name);
    let zone = match (op.params.get("AvailabilityZone"), op.params.get("AvailabilityZoneId")) {
        (Some(_), Some(_)) => {
            return Err(AwsError::ec2(
                "InvalidParameterCombination",
                "Only one of availabilityZone or availabilityZoneId may be specified",
            ));
        }
        (Some(name), None) => zones.iter().find(|z| z.name == name).copied().ok_or_else(|| {
            AwsError::ec2(
                "InvalidParameterValue",
                format!(
                    "Value ({name}) for parameter availabilityZone is invalid. Subnets can currently \
                     only be created in the following availability zones: {}.",
                    zones.iter().map(|z| z.name).collect::<Vec<_>>().join(", ")
                ),
            )
        })?,
        (None, Some(id)) => zones.iter().find(|z| z.id == id).copied().ok_or_else(|| {
            AwsError::ec2(
                "InvalidParameterValue",
                format!(
                    "Value ({id}) for parameter availabilityZoneId is invalid. Subnets can \
                     currently only be created in the following availability zone ids: {}.",
                    zones.iter().map(|z| z.id).collect::<Vec<_>>().join(", ")
                ),
            )
        })?,
        (None, None) => *zones.first().ok_or_else(|| {
            AwsError::ec2(
                "InvalidParameterValue",
                format!("agentcore-local has no Availability Zones for region {region_name}"),
            )
        })?,
    };
    if !(16..=28).contains(&cidr.prefix_len()) || !vpc.cidr.contains(&cidr) {
        return Err(AwsError::ec2("InvalidSubnet.Range", format!("The CIDR '{cidr_text}' is invalid.")));
    }
    let overlaps =
        op.region.subnets.values().any(|s| s.vpc_id == vpc_id && (s.cidr.contains(&cidr) || cidr.contains(&s.cidr)));
    if overlaps {
        return Err(AwsError::ec2(
            "InvalidSubnet.Conflict",
            format!("The CIDR '{cidr_text}' conflicts with another subnet"),
        ));
    }
    let tags = tag_specifications(op.params, "subnet")?;
    let subnet = Subnet { id: ids::ec2_id("subnet"), vpc_id, cidr, zone, tags, seq: op.region.next_seq() };
    let out = xml::response("CreateSubnet", op.request_id, |x| {
        x.node("subnet", |x| xml::subnet(x, &subnet, op.region, op.account()))
    });
    op.region.subnets.insert(subnet.id.clone(), subnet);
    Ok(out)
}

fn describe_subnets(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "SubnetId")?;
    check_ids(&SUBNET, &wanted, &op.region.subnets)?;
    let filters = filters(
        op.params,
        &[
            "subnet-id",
            "vpc-id",
            "cidr-block",
            "cidr",
            "cidrBlock",
            "availability-zone",
            "availabilityZone",
            "availability-zone-id",
            "state",
            "available-ip-address-count",
            "default-for-az",
            "owner-id",
            "subnet-arn",
        ],
    )?;
    let account = op.account();
    let region = &*op.region;
    let items: Vec<&Subnet> = sorted_by_seq(region.subnets.values(), |s| s.seq)
        .into_iter()
        .filter(|s| wanted_set.is_empty() || wanted_set.contains(&s.id))
        .filter(|s| {
            matches(&filters, &s.tags, |name| match name {
                "subnet-id" => vec![s.id.clone()],
                "vpc-id" => vec![s.vpc_id.clone()],
                "cidr-block" | "cidr" | "cidrBlock" => vec![s.cidr.to_string()],
                "availability-zone" | "availabilityZone" => vec![s.zone.name.into()],
                "availability-zone-id" => vec![s.zone.id.into()],
                "state" => vec!["available".into()],
                "available-ip-address-count" => {
                    vec![eni::available_ip_count(region, s).to_string()]
                }
                "default-for-az" => vec!["false".into()],
                "owner-id" => vec![account.to_string()],
                "subnet-arn" => vec![format!("arn:aws:ec2:{}:{account}:subnet/{}", region.name, s.id)],
                _ => vec![],
            })
        })
        .collect();
    let (page, next) = paginate(items, op.params)?;
    Ok(xml::response("DescribeSubnets", op.request_id, |x| {
        x.set("subnetSet", page, |x, s| xml::subnet(x, s, region, account));
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}

fn delete_subnet(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("SubnetId")?.to_string();
    SUBNET.check(&id)?;
    if !op.region.subnets.contains_key(&id) {
        return Err(SUBNET.not_found(&id));
    }
    let used_by_eni = op.region.network_interfaces.values().any(|n| n.subnet_id == id);
    let used_by_runtime =
        op.region.runtimes.values().any(|r| r.effective_vpc.as_ref().is_some_and(|v| v.subnets.contains(&id)));
    if used_by_eni || used_by_runtime {
        return Err(AwsError::ec2(
            "DependencyViolation",
            format!("The subnet '{id}' has dependencies and cannot be deleted."),
        ));
    }
    op.region.subnets.remove(&id);
    Ok(return_true(op, "DeleteSubnet"))
}

fn describe_availability_zones(op: &Op<'_>) -> Result<String, AwsError> {
    let region = op.region.name.clone();
    let zones = catalog::zones(&region);
    let names = op.params.list("ZoneName")?;
    let zone_ids = op.params.list("ZoneId")?;
    for wanted in names.iter().chain(&zone_ids) {
        if !zones.iter().any(|z| z.name == wanted || z.id == wanted) {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!("The zone '{wanted}' does not exist in the region '{region}'."),
            ));
        }
    }
    let filters = filters(
        op.params,
        &["zone-name", "zone-id", "region-name", "state", "zone-type", "group-name", "opt-in-status"],
    )?;
    let no_tags = BTreeMap::new();
    let items: Vec<_> = zones
        .iter()
        .filter(|z| names.is_empty() || names.iter().any(|n| n == z.name))
        .filter(|z| zone_ids.is_empty() || zone_ids.iter().any(|n| n == z.id))
        .filter(|z| {
            matches(&filters, &no_tags, |name| match name {
                "zone-name" => vec![z.name.into()],
                "zone-id" => vec![z.id.into()],
                "region-name" => vec![region.clone()],
                "state" => vec!["available".into()],
                "zone-type" => vec!["availability-zone".into()],
                "group-name" => vec![format!("{region}-zg-1")],
                "opt-in-status" => vec!["opt-in-not-required".into()],
                _ => vec![],
            })
        })
        .collect();
    Ok(xml::response("DescribeAvailabilityZones", op.request_id, |x| {
        x.set("availabilityZoneInfo", items, |x, z| xml::availability_zone(x, z, &region));
    }))
}

// ---------------------------------------------------------------------------------------------
// Security groups

fn create_security_group(op: &mut Op<'_>) -> Result<String, AwsError> {
    let name = op.params.required("GroupName")?.to_string();
    let description = op.params.required("GroupDescription")?.to_string();
    let vpc_id = op
        .params
        .get("VpcId")
        .ok_or_else(|| AwsError::ec2("VPCIdNotSpecified", "No default VPC for this user"))?
        .to_string();
    VPC.check(&vpc_id)?;
    if !op.region.vpcs.contains_key(&vpc_id) {
        return Err(VPC.not_found(&vpc_id));
    }
    if name.eq_ignore_ascii_case("default") {
        return Err(AwsError::ec2("InvalidParameterValue", "Cannot use reserved security group name: default"));
    }
    if name.starts_with("sg-") {
        return Err(AwsError::ec2("InvalidParameterValue", "Group names may not be in the format sg-*"));
    }
    if name.chars().count() > 255 || description.chars().count() > 255 {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            "Security group name and description must be at most 255 characters",
        ));
    }
    if op.region.security_groups.values().any(|g| g.vpc_id == vpc_id && g.name == name) {
        return Err(AwsError::ec2(
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    let tags = tag_specifications(op.params, "security-group")?;
    let group = SecurityGroup { id: ids::ec2_id("sg"), vpc_id, name, description, tags, seq: op.region.next_seq() };
    let arn = format!("arn:aws:ec2:{}:{}:security-group/{}", op.region.name, op.account(), group.id);
    let out = xml::response("CreateSecurityGroup", op.request_id, |x| {
        x.leaf("return", true);
        x.leaf("groupId", &group.id);
        x.leaf("securityGroupArn", &arn);
        if !group.tags.is_empty() {
            xml::tag_set(x, &group.tags);
        }
    });
    op.region.security_groups.insert(group.id.clone(), group);
    Ok(out)
}

fn describe_security_groups(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "GroupId")?;
    let names = op.params.list("GroupName")?;
    check_ids(&GROUP, &wanted, &op.region.security_groups)?;
    if let Some(name) = names.first() {
        // Group names address the default VPC, which the emulator does not create.
        return Err(AwsError::ec2(
            "InvalidGroup.NotFound",
            format!("The security group '{name}' does not exist in default VPC 'none'"),
        ));
    }
    if !wanted.is_empty() && op.params.get("MaxResults").is_some() {
        return Err(AwsError::ec2(
            "InvalidParameterCombination",
            "The parameter groupIds cannot be used with the parameter maxResults",
        ));
    }
    let filters = filters(op.params, &["group-id", "group-name", "vpc-id", "description", "owner-id"])?;
    let account = op.account();
    let region = &*op.region;
    let items: Vec<&SecurityGroup> = sorted_by_seq(region.security_groups.values(), |g| g.seq)
        .into_iter()
        .filter(|g| wanted_set.is_empty() || wanted_set.contains(&g.id))
        .filter(|g| {
            matches(&filters, &g.tags, |name| match name {
                "group-id" => vec![g.id.clone()],
                "group-name" => vec![g.name.clone()],
                "vpc-id" => vec![g.vpc_id.clone()],
                "description" => vec![g.description.clone()],
                "owner-id" => vec![account.to_string()],
                _ => vec![],
            })
        })
        .collect();
    let (page, next) = paginate(items, op.params)?;
    Ok(xml::response("DescribeSecurityGroups", op.request_id, |x| {
        x.set("securityGroupInfo", page, |x, g| xml::security_group(x, g, region, account));
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}

fn delete_security_group(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = match (op.params.get("GroupId"), op.params.get("GroupName")) {
        (Some(id), _) => id.to_string(),
        (None, Some(name)) => {
            return Err(AwsError::ec2(
                "InvalidGroup.NotFound",
                format!("The security group '{name}' does not exist in default VPC 'none'"),
            ));
        }
        (None, None) => {
            return Err(AwsError::ec2(
                "MissingParameter",
                "The request must contain the parameter groupName or groupId",
            ));
        }
    };
    GROUP.check(&id)?;
    let group = op.region.security_groups.get(&id).ok_or_else(|| GROUP.not_found(&id))?;
    if group.is_default() {
        return Err(AwsError::ec2(
            "CannotDelete",
            format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
        ));
    }
    let used_by_eni = op.region.network_interfaces.values().any(|n| n.groups.contains(&id));
    let used_by_runtime =
        op.region.runtimes.values().any(|r| r.effective_vpc.as_ref().is_some_and(|v| v.security_groups.contains(&id)));
    if used_by_eni || used_by_runtime {
        return Err(AwsError::ec2("DependencyViolation", format!("resource {id} has a dependent object")));
    }
    op.region.security_groups.remove(&id);
    Ok(xml::response("DeleteSecurityGroup", op.request_id, |x| {
        x.leaf("return", true);
        x.leaf("groupId", &id);
    }))
}

// ---------------------------------------------------------------------------------------------
// Tags

/// The NotFound error for an id of any taggable type.
fn resource_not_found(id: &str) -> AwsError {
    for kind in [&VPC, &SUBNET, &GROUP, &ENI] {
        if id.starts_with(&format!("{}-", kind.prefix)) {
            return match kind.check(id) {
                Err(e) => e,
                Ok(()) => kind.not_found(id),
            };
        }
    }
    AwsError::ec2("InvalidID", format!("The ID '{id}' is not valid"))
}

fn create_tags(op: &mut Op<'_>) -> Result<String, AwsError> {
    let resources = op.params.list("ResourceId")?;
    if resources.is_empty() {
        return Err(AwsError::ec2("MissingParameter", "The request must contain the parameter resourceIdSet"));
    }
    let tags = op.params.members("Tag")?.iter().map(query::checked_tag).collect::<Result<Vec<_>, _>>()?;
    for id in &resources {
        let existing = op.region.tags_mut(id).ok_or_else(|| resource_not_found(id))?;
        let mut merged = existing.clone();
        merged.extend(tags.iter().cloned());
        query::check_tag_count(merged.len())?;
    }
    for id in &resources {
        let existing = op.region.tags_mut(id).expect("checked above");
        existing.extend(tags.iter().cloned());
    }
    Ok(return_true(op, "CreateTags"))
}

fn delete_tags(op: &mut Op<'_>) -> Result<String, AwsError> {
    let resources = op.params.list("ResourceId")?;
    if resources.is_empty() {
        return Err(AwsError::ec2("MissingParameter", "The request must contain the parameter resourceIdSet"));
    }
    let tags = op.params.members("Tag")?;
    for id in &resources {
        if op.region.tags_mut(id).is_none() {
            return Err(resource_not_found(id));
        }
    }
    for id in &resources {
        let existing = op.region.tags_mut(id).expect("checked above");
        if tags.is_empty() {
            existing.clear();
        }
        for tag in &tags {
            let Some(key) = tag.get("Key") else { continue };
            let value_matches = match tag.get("Value") {
                None => true,
                Some(v) => existing.get(key).is_some_and(|have| have == v),
            };
            if value_matches {
                existing.remove(key);
            }
        }
    }
    Ok(return_true(op, "DeleteTags"))
}

fn describe_tags(op: &Op<'_>) -> Result<String, AwsError> {
    let filters = filters(op.params, &["resource-id", "resource-type", "key", "value"])?;
    let mut rows: Vec<(&str, &str, &str, &str)> = Vec::new();
    for (id, ty, tags, _) in op.region.tagged_resources() {
        for (k, v) in tags {
            rows.push((id, ty, k, v));
        }
    }
    let no_tags = BTreeMap::new();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|(id, ty, k, v)| {
            matches(&filters, &no_tags, |name| match name {
                "resource-id" => vec![id.to_string()],
                "resource-type" => vec![ty.to_string()],
                "key" => vec![k.to_string()],
                "value" => vec![v.to_string()],
                _ => vec![],
            })
        })
        .collect();
    let (page, next) = paginate(rows, op.params)?;
    Ok(xml::response("DescribeTags", op.request_id, |x| {
        x.set("tagSet", page, |x, (id, ty, k, v)| {
            x.leaf("resourceId", id);
            x.leaf("resourceType", ty);
            x.leaf("key", k);
            x.leaf("value", v);
        });
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}

// ---------------------------------------------------------------------------------------------
// Network interfaces

fn create_network_interface(op: &mut Op<'_>) -> Result<String, AwsError> {
    if let Some(token) = op.params.get("ClientToken")
        && let Some(existing) = op.region.eni_client_tokens.get(token)
        && let Some(eni) = op.region.network_interfaces.get(existing)
    {
        return Ok(xml::response("CreateNetworkInterface", op.request_id, |x| {
            x.node("networkInterface", |x| xml::network_interface(x, eni, op.region, op.account(), None));
            x.leaf("clientToken", token);
        }));
    }
    let subnet_id = op.params.required("SubnetId")?.to_string();
    SUBNET.check(&subnet_id)?;
    let subnet = op.region.subnets.get(&subnet_id).ok_or_else(|| SUBNET.not_found(&subnet_id))?.clone();
    match op.params.get("InterfaceType") {
        None | Some("interface") => {}
        Some(other) => {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!(
                    "Value ({other}) for parameter interfaceType is invalid. agentcore-local \
                     creates only the 'interface' type."
                ),
            ));
        }
    }
    let mut groups = op.params.list("SecurityGroupId")?;
    if groups.is_empty() {
        let default = op
            .region
            .security_groups
            .values()
            .find(|g| g.vpc_id == subnet.vpc_id && g.is_default())
            .map(|g| g.id.clone());
        groups.extend(default);
    }
    check_ids(&GROUP, &groups, &op.region.security_groups)?;
    for g in &groups {
        if op.region.security_groups[g].vpc_id != subnet.vpc_id {
            return Err(AwsError::ec2(
                "InvalidParameter",
                format!("Security group {g} and subnet {subnet_id} belong to different networks."),
            ));
        }
    }
    groups.sort();
    groups.dedup();
    let ip = match op.params.get("PrivateIpAddress") {
        Some(text) => {
            let ip: Ipv4Addr = text.parse().map_err(|_| {
                AwsError::ec2(
                    "InvalidParameterValue",
                    format!("Value ({text}) for parameter privateIpAddress is invalid."),
                )
            })?;
            let first = u32::from(subnet.cidr.network()) + 4;
            let last = u32::from(subnet.cidr.broadcast()) - 1;
            if !(first..=last).contains(&u32::from(ip)) {
                return Err(AwsError::ec2(
                    "InvalidParameterValue",
                    format!("Address {ip} does not fall within the subnet's address range"),
                ));
            }
            if op.region.network_interfaces.values().any(|n| n.subnet_id == subnet_id && n.private_ip == ip) {
                return Err(AwsError::ec2("InvalidIPAddress.InUse", "The specified address is already in use."));
            }
            ip
        }
        None => eni::allocate_ip(op.region, &subnet).ok_or_else(|| {
            AwsError::ec2(
                "InsufficientFreeAddressesInSubnet",
                format!(
                    "There are not enough free addresses in subnet '{subnet_id}' to satisfy the \
                     requested number of instances."
                ),
            )
        })?,
    };
    let tags = tag_specifications(op.params, "network-interface")?;
    let eni = NetworkInterface {
        id: ids::ec2_id("eni"),
        subnet_id: subnet.id.clone(),
        vpc_id: subnet.vpc_id.clone(),
        zone: subnet.zone,
        groups,
        private_ip: ip,
        mac: ids::mac_address(),
        description: op.params.get("Description").unwrap_or_default().to_string(),
        tags,
        created_at: op.now,
        seq: op.region.next_seq(),
        managed: None,
    };
    let token = op.params.get("ClientToken");
    let out = xml::response("CreateNetworkInterface", op.request_id, |x| {
        x.node("networkInterface", |x| xml::network_interface(x, &eni, op.region, op.account(), Some("pending")));
        if let Some(token) = token {
            x.leaf("clientToken", token);
        }
    });
    if let Some(token) = token {
        op.region.eni_client_tokens.insert(token.to_string(), eni.id.clone());
    }
    op.region.network_interfaces.insert(eni.id.clone(), eni);
    Ok(out)
}

/// Filters `DescribeNetworkInterfaces` accepts.
pub const ENI_FILTERS: &[&str] = &[
    "network-interface-id",
    "group-id",
    "group-name",
    "vpc-id",
    "subnet-id",
    "interface-type",
    "availability-zone",
    "availability-zone-id",
    "status",
    "requester-managed",
    "description",
    "private-ip-address",
    "addresses.private-ip-address",
    "private-dns-name",
    "mac-address",
    "owner-id",
    "source-dest-check",
    "attachment.attachment-id",
    "attachment.status",
    "attachment.instance-owner-id",
    "attachment.device-index",
    "attachment.delete-on-termination",
];

fn eni_field(eni: &NetworkInterface, region: &RegionState, account: &str, name: &str) -> Vec<String> {
    let attachment = eni.managed.as_ref();
    match name {
        "network-interface-id" => vec![eni.id.clone()],
        "group-id" => eni.groups.clone(),
        "group-name" => {
            eni.groups.iter().filter_map(|g| region.security_groups.get(g).map(|g| g.name.clone())).collect()
        }
        "vpc-id" => vec![eni.vpc_id.clone()],
        "subnet-id" => vec![eni.subnet_id.clone()],
        "interface-type" => vec![if attachment.is_some() { eni::INTERFACE_TYPE.into() } else { "interface".into() }],
        "availability-zone" => vec![eni.zone.name.into()],
        "availability-zone-id" => vec![eni.zone.id.into()],
        "status" => vec![xml::eni_status(eni).into()],
        "requester-managed" => vec![attachment.is_some().to_string()],
        "description" => vec![eni.description.clone()],
        "private-ip-address" | "addresses.private-ip-address" => vec![eni.private_ip.to_string()],
        "private-dns-name" => vec![xml::private_dns_name(&region.name, eni.private_ip)],
        "mac-address" => vec![eni.mac.clone()],
        "owner-id" => vec![account.to_string()],
        "source-dest-check" => vec!["true".into()],
        "attachment.attachment-id" => attachment.map(|m| m.attachment_id.clone()).into_iter().collect(),
        "attachment.status" => attachment.map(|_| "attached".to_string()).into_iter().collect(),
        "attachment.instance-owner-id" => attachment.map(|_| "amazon-aws".to_string()).into_iter().collect(),
        "attachment.device-index" => attachment.map(|_| "1".to_string()).into_iter().collect(),
        "attachment.delete-on-termination" => attachment.map(|_| "false".to_string()).into_iter().collect(),
        _ => vec![],
    }
}

fn describe_network_interfaces(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "NetworkInterfaceId")?;
    if !wanted.is_empty() && op.params.get("MaxResults").is_some() {
        return Err(AwsError::ec2(
            "InvalidParameterCombination",
            "The parameter NetworkInterfaceIds cannot be used with the parameter MaxResults",
        ));
    }
    check_ids(&ENI, &wanted, &op.region.network_interfaces)?;
    let filters = filters(op.params, ENI_FILTERS)?;
    let account = op.account();
    let region = &*op.region;
    let items: Vec<&NetworkInterface> = sorted_by_seq(region.network_interfaces.values(), |n| n.seq)
        .into_iter()
        .filter(|n| wanted_set.is_empty() || wanted_set.contains(&n.id))
        .filter(|n| matches(&filters, &n.tags, |name| eni_field(n, region, account, name)))
        .collect();
    let (page, next) = paginate(items, op.params)?;
    Ok(xml::response("DescribeNetworkInterfaces", op.request_id, |x| {
        x.set("networkInterfaceSet", page, |x, n| xml::network_interface(x, n, region, account, None));
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}

fn delete_network_interface(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("NetworkInterfaceId")?.to_string();
    ENI.check(&id)?;
    let eni = op.region.network_interfaces.get(&id).ok_or_else(|| ENI.not_found(&id))?;
    if eni.managed.is_some() {
        // AgentCore's ENIs are attached to the service (`ela-attach-…`, status in-use); EC2
        // refuses to delete an attached interface. The exact error AWS gives for AgentCore
        // ENIs is not documented (facts sheet, Unknowns 4).
        return Err(AwsError::ec2(
            "InvalidNetworkInterface.InUse",
            format!("Network interface '{id}' is currently in use."),
        ));
    }
    op.region.network_interfaces.remove(&id);
    op.region.eni_client_tokens.retain(|_, v| v != &id);
    Ok(return_true(op, "DeleteNetworkInterface"))
}
