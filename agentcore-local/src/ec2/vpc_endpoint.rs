//! VPC endpoints to AWS services: CreateVpcEndpoint, DescribeVpcEndpoints, ModifyVpcEndpoint,
//! DeleteVpcEndpoints, DescribeVpcEndpointServices — what a private subnet needs when it has no
//! NAT gateway: interface endpoints for ECR (`ecr.api`, `ecr.dkr`) and CloudWatch Logs, a gateway
//! endpoint for S3 (facts sheet, §5).
//!
//! An interface endpoint has one ENI per subnet (`vpc_endpoint`, requester-managed, in-use), made
//! at creation with the subnet's lowest free address; it is `pending` for
//! [`crate::config::Config::vpc_endpoint_delay`], then `available`; deleting it frees its ENIs after
//! the same delay (`deleting` → `deleted`, shown for an hour). A gateway endpoint adds a route to
//! the service's prefix list in each of its route tables and is `available` at once; deleting it
//! removes them at once. States are written in lower case, as EC2 writes them (the model's `State`
//! enum capitalises them).

use std::collections::BTreeSet;

use super::context::{
    Op, ROUTE_TABLE, SUBNET, VPC, VPC_ENDPOINT, check_id, check_ids, described, groups_in_vpc, sorted_by_seq,
    wanted_ids,
};
use super::network_interface::{add_service_eni, no_free_address};
use super::query::{Params, filters, matches, tag_specifications};
use super::xml;
use crate::catalog;
use crate::error::AwsError;
use crate::ids;
use crate::state::{EniOwner, RegionState, VpcEndpoint, VpcEndpointState, VpcEndpointType, prefix_list_id};

/// The AWS services this emulator offers endpoints to, by their short name (the part after
/// `com.amazonaws.<region>.`), with the endpoint types each supports. The ones a VPC-mode agent
/// needs without internet access (ECR, S3, CloudWatch Logs), and the ones it usually calls.
const SERVICES: &[(&str, &[VpcEndpointType])] = &[
    ("bedrock-agentcore", &[VpcEndpointType::Interface]),
    ("bedrock-runtime", &[VpcEndpointType::Interface]),
    ("dynamodb", &[VpcEndpointType::Gateway, VpcEndpointType::Interface]),
    ("ecr.api", &[VpcEndpointType::Interface]),
    ("ecr.dkr", &[VpcEndpointType::Interface]),
    ("logs", &[VpcEndpointType::Interface]),
    ("monitoring", &[VpcEndpointType::Interface]),
    ("s3", &[VpcEndpointType::Gateway, VpcEndpointType::Interface]),
    ("secretsmanager", &[VpcEndpointType::Interface]),
    ("ssm", &[VpcEndpointType::Interface]),
    ("sts", &[VpcEndpointType::Interface]),
    ("xray", &[VpcEndpointType::Interface]),
];

/// The endpoint policy a new endpoint gets when none is given: full access.
const FULL_ACCESS_POLICY: &str =
    r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

/// The short service name of `service_name` in `region`, if the emulator offers it.
fn short_name<'a>(service_name: &'a str, region: &str) -> Option<&'a str> {
    let short = service_name.strip_prefix("com.amazonaws.")?.strip_prefix(region)?.strip_prefix('.')?;
    SERVICES.iter().any(|(name, _)| *name == short).then_some(short)
}

/// The types `short` supports.
fn types_of(short: &str) -> &'static [VpcEndpointType] {
    SERVICES.iter().find(|(name, _)| *name == short).map_or(&[], |(_, types)| types)
}

fn invalid_service(service_name: &str) -> AwsError {
    AwsError::ec2("InvalidServiceName", format!("The Vpc Endpoint Service '{service_name}' does not exist"))
}

/// `VpcEndpointType`: `Gateway` when absent, as the model documents.
fn endpoint_type(params: &Params) -> Result<VpcEndpointType, AwsError> {
    match params.get("VpcEndpointType") {
        None | Some("Gateway") => Ok(VpcEndpointType::Gateway),
        Some("Interface") => Ok(VpcEndpointType::Interface),
        Some(other) => Err(AwsError::ec2(
            "InvalidParameterValue",
            format!(
                "Value ({other}) for parameter vpcEndpointType is invalid. agentcore-local creates Interface and \
                 Gateway endpoints."
            ),
        )),
    }
}

/// CreateVpcEndpoint: an interface endpoint (`SubnetId.N`, one per Availability Zone;
/// `SecurityGroupId.N` or the VPC's default group; `PrivateDnsEnabled`, true by default, which
/// needs the VPC's DNS support and DNS hostnames) or a gateway endpoint (`RouteTableId.N` of the
/// VPC). A repeated `ClientToken` answers the endpoint it created.
pub(super) fn create_vpc_endpoint(op: &mut Op<'_>) -> Result<String, AwsError> {
    if let Some(answer) = replayed_creation(op) {
        return Ok(answer);
    }
    let vpc_id = op.params.required("VpcId")?.to_string();
    check_id(&VPC, &vpc_id, &op.region.vpcs)?;
    let service_name = op.params.required("ServiceName")?.to_string();
    let short = short_name(&service_name, &op.region.name).ok_or_else(|| invalid_service(&service_name))?;
    let kind = endpoint_type(op.params)?;
    if !types_of(short).contains(&kind) {
        return Err(AwsError::ec2(
            "InvalidParameter",
            format!("The Vpc Endpoint Service '{service_name}' does not support endpoint type {}.", kind.as_str()),
        ));
    }
    let policy_document = op.params.get("PolicyDocument").unwrap_or(FULL_ACCESS_POLICY).to_string();
    let tags = tag_specifications(op.params, "vpc-endpoint")?;
    let id = ids::ec2_id("vpce");
    let mut endpoint = VpcEndpoint {
        id: id.clone(),
        vpc_id: vpc_id.clone(),
        service_name,
        endpoint_type: kind,
        state: VpcEndpointState::Available,
        subnet_ids: Vec::new(),
        group_ids: Vec::new(),
        route_table_ids: Vec::new(),
        private_dns_enabled: false,
        policy_document,
        created_at: op.now,
        due: None,
        tags,
        seq: op.region.next_seq(),
    };
    match kind {
        VpcEndpointType::Gateway => {
            endpoint.route_table_ids = route_tables_for(op, &vpc_id, &op.params.list("RouteTableId")?)?;
        }
        VpcEndpointType::Interface => {
            let subnets = subnets_for(op, &vpc_id, &op.params.list("SubnetId")?)?;
            let groups = op.params.list("SecurityGroupId")?;
            endpoint.group_ids = groups_in_vpc(op, &vpc_id, groups, &format!("VPC {vpc_id}"))?;
            endpoint.private_dns_enabled = private_dns(op, &vpc_id)?;
            // Every subnet must have an address before any ENI is made: an error leaves nothing behind.
            if let Some(full) = subnets.iter().find(|s| eni_free_count(op.region, s) == 0) {
                return Err(no_free_address(full));
            }
            for subnet_id in &subnets {
                add_endpoint_eni(op, &id, subnet_id, &endpoint.group_ids)?;
            }
            endpoint.subnet_ids = subnets;
            endpoint.state = VpcEndpointState::Pending;
            endpoint.due = Some(op.now + op.config.vpc_endpoint_delay);
        }
    }
    let token = op.params.get("ClientToken");
    let out = xml::response("CreateVpcEndpoint", op.request_id, |x| {
        x.node("vpcEndpoint", |x| xml::vpc_endpoint(x, &endpoint, op.region, op.account()));
        if let Some(token) = token {
            x.leaf("clientToken", token);
        }
    });
    if let Some(token) = token {
        op.region.vpc_endpoint_client_tokens.insert(token.to_string(), id.clone());
    }
    op.region.vpc_endpoints.insert(id, endpoint);
    Ok(out)
}

/// Adds interface endpoint `endpoint_id`'s ENI in `subnet_id`, with `groups`.
fn add_endpoint_eni(op: &mut Op<'_>, endpoint_id: &str, subnet_id: &str, groups: &[String]) -> Result<(), AwsError> {
    let subnet = op.region.subnets[subnet_id].clone();
    let owner =
        EniOwner::VpcEndpoint { endpoint_id: endpoint_id.to_string(), attachment_id: ids::ec2_id("ela-attach") };
    let description = format!("VPC Endpoint Interface {endpoint_id}");
    add_service_eni(op, &subnet, groups.to_vec(), description, owner).ok_or_else(|| no_free_address(subnet_id))?;
    Ok(())
}

/// Free addresses of `subnet_id`.
fn eni_free_count(region: &RegionState, subnet_id: &str) -> u64 {
    region.subnets.get(subnet_id).map_or(0, |s| crate::eni::available_ip_count(region, s))
}

/// The answer to a CreateVpcEndpoint whose `ClientToken` already created an endpoint that still
/// exists: that endpoint, as it is now.
fn replayed_creation(op: &Op<'_>) -> Option<String> {
    let token = op.params.get("ClientToken")?;
    let existing = op.region.vpc_endpoint_client_tokens.get(token)?;
    let endpoint = op.region.vpc_endpoints.get(existing)?;
    Some(xml::response("CreateVpcEndpoint", op.request_id, |x| {
        x.node("vpcEndpoint", |x| xml::vpc_endpoint(x, endpoint, op.region, op.account()));
        x.leaf("clientToken", token);
    }))
}

/// A gateway endpoint's route tables: each exists and belongs to `vpc_id`.
fn route_tables_for(op: &Op<'_>, vpc_id: &str, tables: &[String]) -> Result<Vec<String>, AwsError> {
    check_ids(&ROUTE_TABLE, tables, &op.region.route_tables)?;
    for table in tables {
        if op.region.route_tables[table].vpc_id != vpc_id {
            return Err(AwsError::ec2(
                "InvalidRouteTableId.NotFound",
                format!("The routeTable ID '{table}' does not exist in vpc '{vpc_id}'"),
            ));
        }
    }
    Ok(tables.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect())
}

/// An interface endpoint's subnets: at least one, each of `vpc_id`, at most one per zone.
fn subnets_for(op: &Op<'_>, vpc_id: &str, subnets: &[String]) -> Result<Vec<String>, AwsError> {
    if subnets.is_empty() {
        return Err(AwsError::ec2(
            "InvalidParameter",
            "At least one subnet must be specified for an Interface VPC endpoint.",
        ));
    }
    check_ids(&SUBNET, subnets, &op.region.subnets)?;
    let mut zones = BTreeSet::new();
    for id in subnets {
        let subnet = &op.region.subnets[id];
        if subnet.vpc_id != vpc_id {
            return Err(AwsError::ec2(
                "InvalidParameter",
                format!("The subnet ID '{id}' does not belong to the VPC '{vpc_id}'."),
            ));
        }
        if !zones.insert(subnet.zone.id) {
            return Err(AwsError::ec2(
                "DuplicateSubnetsInSameZone",
                format!(
                    "Found another VPC endpoint subnet in the availability zone of {id}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."
                ),
            ));
        }
    }
    Ok(subnets.to_vec())
}

/// `PrivateDnsEnabled` (true when absent): refused when the VPC lacks DNS support or hostnames.
fn private_dns(op: &Op<'_>, vpc_id: &str) -> Result<bool, AwsError> {
    let enabled = op.params.bool("PrivateDnsEnabled")?.unwrap_or(true);
    let vpc = &op.region.vpcs[vpc_id];
    if enabled && !(vpc.dns_support && vpc.dns_hostnames) {
        return Err(AwsError::ec2(
            "InvalidParameter",
            format!(
                "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to \
                 true for {vpc_id}"
            ),
        ));
    }
    Ok(enabled)
}

/// Filters `DescribeVpcEndpoints` accepts (the model's list).
const ENDPOINT_FILTERS: &[&str] = &[
    "ip-address-type",
    "service-name",
    "service-region",
    "vpc-id",
    "vpc-endpoint-id",
    "vpc-endpoint-state",
    "vpc-endpoint-type",
];

/// DescribeVpcEndpoints (`VpcEndpointId.N`, `Filter.N`).
pub(super) fn describe_vpc_endpoints(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "VpcEndpointId")?;
    check_ids(&VPC_ENDPOINT, &wanted, &op.region.vpc_endpoints)?;
    let filters = filters(op.params, ENDPOINT_FILTERS)?;
    let region = &*op.region;
    let items: Vec<&VpcEndpoint> = sorted_by_seq(region.vpc_endpoints.values(), |e| e.seq)
        .into_iter()
        .filter(|e| wanted_set.is_empty() || wanted_set.contains(&e.id))
        .filter(|e| {
            matches(&filters, &e.tags, |name| match name {
                "ip-address-type" => vec!["ipv4".into()],
                "service-name" => vec![e.service_name.clone()],
                "service-region" => vec![region.name.clone()],
                "vpc-id" => vec![e.vpc_id.clone()],
                "vpc-endpoint-id" => vec![e.id.clone()],
                "vpc-endpoint-state" => vec![e.state.as_str().into()],
                "vpc-endpoint-type" => vec![e.endpoint_type.as_str().into()],
                _ => vec![],
            })
        })
        .collect();
    let account = op.account();
    described(op, "DescribeVpcEndpoints", "vpcEndpointSet", items, |x, e| xml::vpc_endpoint(x, e, region, account))
}

/// ModifyVpcEndpoint: a new policy (`PolicyDocument`, or `ResetPolicy` for full access), route
/// tables added or removed (gateway), subnets added or removed (interface: their ENIs come and go)
/// and groups added or removed (interface: the ENIs' groups follow).
pub(super) fn modify_vpc_endpoint(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("VpcEndpointId")?.to_string();
    check_id(&VPC_ENDPOINT, &id, &op.region.vpc_endpoints)?;
    let endpoint = op.region.vpc_endpoints[&id].clone();
    if !endpoint.is_live() || endpoint.state == VpcEndpointState::Deleting {
        return Err(AwsError::ec2(
            "IncorrectState",
            format!("The VPC endpoint {id} is in state {} and cannot be modified.", endpoint.state.as_str()),
        ));
    }
    let mut changed = endpoint.clone();
    if op.params.bool("ResetPolicy")? == Some(true) {
        changed.policy_document = FULL_ACCESS_POLICY.to_string();
    } else if let Some(policy) = op.params.get("PolicyDocument") {
        changed.policy_document = policy.to_string();
    }
    let (add_tables, remove_tables) = (op.params.list("AddRouteTableId")?, op.params.list("RemoveRouteTableId")?);
    let (add_subnets, remove_subnets) = (op.params.list("AddSubnetId")?, op.params.list("RemoveSubnetId")?);
    let (add_groups, remove_groups) = (op.params.list("AddSecurityGroupId")?, op.params.list("RemoveSecurityGroupId")?);
    let interface_changes = [&add_subnets, &remove_subnets, &add_groups, &remove_groups];
    let wrong_type = match endpoint.endpoint_type {
        VpcEndpointType::Gateway => interface_changes.iter().any(|list| !list.is_empty()),
        VpcEndpointType::Interface => !add_tables.is_empty() || !remove_tables.is_empty(),
    };
    if wrong_type {
        return Err(AwsError::ec2(
            "InvalidParameter",
            format!("The parameters given do not apply to a {} VPC endpoint.", endpoint.endpoint_type.as_str()),
        ));
    }
    let mut tables: Vec<String> = changed.route_table_ids.iter().chain(&add_tables).cloned().collect();
    tables.retain(|t| !remove_tables.contains(t));
    changed.route_table_ids = route_tables_for(op, &endpoint.vpc_id, &tables)?;
    if endpoint.endpoint_type == VpcEndpointType::Interface {
        let mut subnets: Vec<String> = changed.subnet_ids.iter().chain(&add_subnets).cloned().collect();
        let mut seen = BTreeSet::new();
        subnets.retain(|s| seen.insert(s.clone()) && !remove_subnets.contains(s));
        changed.subnet_ids = subnets_for(op, &endpoint.vpc_id, &subnets)?;
        let mut groups: Vec<String> = changed.group_ids.iter().chain(&add_groups).cloned().collect();
        groups.retain(|g| !remove_groups.contains(g));
        if groups.is_empty() {
            return Err(AwsError::ec2(
                "InvalidParameter",
                "An Interface VPC endpoint must have at least one security group.",
            ));
        }
        changed.group_ids = groups_in_vpc(op, &endpoint.vpc_id, groups, &format!("VPC {}", endpoint.vpc_id))?;
        if let Some(enabled) = op.params.bool("PrivateDnsEnabled")? {
            changed.private_dns_enabled = enabled;
            if enabled {
                private_dns(op, &endpoint.vpc_id)?;
            }
        }
        let new_subnets: Vec<String> =
            changed.subnet_ids.iter().filter(|s| !endpoint.subnet_ids.contains(s)).cloned().collect();
        if let Some(full) = new_subnets.iter().find(|s| eni_free_count(op.region, s) == 0) {
            return Err(no_free_address(full));
        }
        // Checks are done: change the ENIs.
        op.region
            .network_interfaces
            .retain(|_, n| n.service_resource() != Some(id.as_str()) || changed.subnet_ids.contains(&n.subnet_id));
        for n in op.region.network_interfaces.values_mut().filter(|n| n.service_resource() == Some(id.as_str())) {
            n.groups = changed.group_ids.clone();
        }
        for subnet_id in &new_subnets {
            add_endpoint_eni(op, &id, subnet_id, &changed.group_ids)?;
        }
    }
    op.region.vpc_endpoints.insert(id, changed);
    Ok(xml::response("ModifyVpcEndpoint", op.request_id, |x| x.leaf("return", true)))
}

/// DeleteVpcEndpoints (`VpcEndpointId.N`): each endpoint that can go starts going (an interface
/// one `deleting`, a gateway one gone with its routes at once); each that cannot is listed in
/// `unsuccessful` with its error, and the call still succeeds.
pub(super) fn delete_vpc_endpoints(op: &mut Op<'_>) -> Result<String, AwsError> {
    let ids = op.params.list("VpcEndpointId")?;
    if ids.is_empty() {
        return Err(AwsError::ec2("MissingParameter", "The request must contain the parameter VpcEndpointId"));
    }
    let mut unsuccessful = Vec::new();
    let due = op.now + op.config.vpc_endpoint_delay;
    for id in &ids {
        if let Err(error) = check_id(&VPC_ENDPOINT, id, &op.region.vpc_endpoints) {
            unsuccessful.push((id.clone(), error));
            continue;
        }
        let endpoint = op.region.vpc_endpoints.get_mut(id).expect("checked");
        match (endpoint.endpoint_type, endpoint.state) {
            (_, VpcEndpointState::Deleting | VpcEndpointState::Deleted) => {}
            (VpcEndpointType::Gateway, _) => {
                op.region.vpc_endpoints.remove(id);
            }
            (VpcEndpointType::Interface, _) => {
                endpoint.state = VpcEndpointState::Deleting;
                endpoint.due = Some(due);
            }
        }
    }
    Ok(xml::response("DeleteVpcEndpoints", op.request_id, |x| {
        x.set("unsuccessful", unsuccessful, |x, (id, error)| {
            x.node("error", |x| {
                x.leaf("code", &error.code);
                x.leaf("message", &error.message);
            });
            x.leaf("resourceId", id);
        });
    }))
}

/// DescribeVpcEndpointServices: the services of [`SERVICES`] in the caller's region
/// (`ServiceName.N` picks some; an unknown one → `InvalidServiceName`).
pub(super) fn describe_vpc_endpoint_services(op: &Op<'_>) -> Result<String, AwsError> {
    let asked = op.params.list("ServiceName")?;
    let region = op.region.name.clone();
    if let Some(unknown) = asked.iter().find(|s| short_name(s, &region).is_none()) {
        return Err(invalid_service(unknown));
    }
    let filters = filters(op.params, &["service-name", "service-type", "service-region", "owner"])?;
    let zones: Vec<&str> = catalog::zones(&region).iter().map(|z| z.name).collect();
    let services: Vec<(String, VpcEndpointType)> = SERVICES
        .iter()
        .flat_map(|(short, types)| {
            let region = &region;
            types.iter().map(move |t| (format!("com.amazonaws.{region}.{short}"), *t))
        })
        .filter(|(name, _)| asked.is_empty() || asked.contains(name))
        .filter(|(name, kind)| {
            matches(&filters, &Default::default(), |filter| match filter {
                "service-name" => vec![name.clone()],
                "service-type" => vec![kind.as_str().into()],
                "service-region" => vec![region.clone()],
                "owner" => vec!["amazon".into()],
                _ => vec![],
            })
        })
        .collect();
    let names: BTreeSet<&String> = services.iter().map(|(n, _)| n).collect();
    Ok(xml::response("DescribeVpcEndpointServices", op.request_id, |x| {
        x.values("serviceNameSet", names);
        x.set("serviceDetailSet", &services, |x, (name, kind)| {
            x.leaf("serviceName", name);
            x.leaf("serviceId", format!("vpce-svc-{}", &prefix_list_id(name)[3..]));
            x.set("serviceType", [kind], |x, kind| x.leaf("serviceType", kind.as_str()));
            x.leaf("serviceRegion", &region);
            x.values("availabilityZoneSet", &zones);
            x.leaf("owner", "amazon");
            x.values("baseEndpointDnsNameSet", [format!("{}.{region}.vpce.amazonaws.com", short_of(name, &region))]);
            if *kind == VpcEndpointType::Interface {
                x.leaf("privateDnsName", format!("{}.{region}.amazonaws.com", short_of(name, &region)));
            }
            x.leaf("vpcEndpointPolicySupported", true);
            x.leaf("acceptanceRequired", false);
            x.leaf("managesVpcEndpoints", false);
        });
    }))
}

/// The short name of a full service name (`com.amazonaws.<region>.<short>`).
fn short_of<'a>(name: &'a str, region: &str) -> &'a str {
    name.strip_prefix(&format!("com.amazonaws.{region}.")).unwrap_or(name)
}
