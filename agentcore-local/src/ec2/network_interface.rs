//! Network interfaces: CreateNetworkInterface, DescribeNetworkInterfaces, DeleteNetworkInterface.
//! The AgentCore ENIs ([`crate::eni`]) show here beside the plain ones.

use std::net::Ipv4Addr;

use super::context::{ENI, Op, SUBNET, check_ids, groups_in_vpc, return_true, sorted_by_seq, wanted_ids};
use super::query::{Params, filters, matches, paginate, tag_specifications};
use super::xml;
use crate::error::AwsError;
use crate::state::{EniOwner, NetworkInterface, RegionState, Subnet};
use crate::{eni, ids};

/// CreateNetworkInterface: a plain (`interface`) ENI in a subnet, with its security groups (the
/// VPC's default group when none is given) and a requested or allocated private IP. A repeated
/// `ClientToken` answers the ENI it created.
pub(super) fn create_network_interface(op: &mut Op<'_>) -> Result<String, AwsError> {
    if let Some(answer) = replayed_creation(op) {
        return Ok(answer);
    }
    let subnet_id = op.params.required("SubnetId")?.to_string();
    SUBNET.check(&subnet_id)?;
    let subnet = op.region.subnets.get(&subnet_id).ok_or_else(|| SUBNET.not_found(&subnet_id))?.clone();
    check_interface_type(op.params)?;
    let other = format!("subnet {}", subnet.id);
    let groups = groups_in_vpc(op, &subnet.vpc_id, op.params.list("SecurityGroupId")?, &other)?;
    let ip = private_ip_for(op, &subnet)?;
    let tags = tag_specifications(op.params, "network-interface")?;
    let description = op.params.get("Description").unwrap_or_default().to_string();
    let eni = NetworkInterface {
        tags,
        created_at: op.now,
        seq: op.region.next_seq(),
        ..NetworkInterface::new(&subnet, groups, ip, description, EniOwner::Account)
    };
    let token = op.params.get("ClientToken");
    let out = xml::response("CreateNetworkInterface", op.request_id, |x| {
        x.node("networkInterface", |x| xml::network_interface(x, &eni, op.region, op.account(), Some("pending"), None));
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

/// The answer to a CreateNetworkInterface whose `ClientToken` already created an ENI that still
/// exists: that ENI, as it is now.
fn replayed_creation(op: &Op<'_>) -> Option<String> {
    let token = op.params.get("ClientToken")?;
    let existing = op.region.eni_client_tokens.get(token)?;
    let eni = op.region.network_interfaces.get(existing)?;
    Some(xml::response("CreateNetworkInterface", op.request_id, |x| {
        x.node("networkInterface", |x| xml::network_interface(x, eni, op.region, op.account(), None, None));
        x.leaf("clientToken", token);
    }))
}

/// Only the plain `interface` type can be created (AgentCore's `agentic_ai` ENIs come from the
/// mechanism, [`crate::eni`]).
fn check_interface_type(params: &Params) -> Result<(), AwsError> {
    match params.get("InterfaceType") {
        None | Some("interface") => Ok(()),
        Some(other) => Err(AwsError::ec2(
            "InvalidParameterValue",
            format!(
                "Value ({other}) for parameter interfaceType is invalid. agentcore-local \
                 creates only the 'interface' type."
            ),
        )),
    }
}

/// The new ENI's private IP: `PrivateIpAddress` (inside the subnet's usable range and free), or
/// the subnet's lowest free address.
fn private_ip_for(op: &Op<'_>, subnet: &Subnet) -> Result<Ipv4Addr, AwsError> {
    let Some(text) = op.params.get("PrivateIpAddress") else {
        return eni::allocate_ip(op.region, subnet).ok_or_else(|| no_free_address(&subnet.id));
    };
    let ip: Ipv4Addr = text.parse().map_err(|_| {
        AwsError::ec2("InvalidParameterValue", format!("Value ({text}) for parameter privateIpAddress is invalid."))
    })?;
    let first = u32::from(subnet.cidr.network()) + 4;
    let last = u32::from(subnet.cidr.broadcast()) - 1;
    if !(first..=last).contains(&u32::from(ip)) {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("Address {ip} does not fall within the subnet's address range"),
        ));
    }
    if op.region.network_interfaces.values().any(|n| n.subnet_id == subnet.id && n.private_ip == ip) {
        return Err(AwsError::ec2("InvalidIPAddress.InUse", "The specified address is already in use."));
    }
    Ok(ip)
}

/// Filters `DescribeNetworkInterfaces` accepts: every name the EC2 model's documentation of its
/// `Filters` lists (besides `tag:KEY`, `tag-key` and `tag-value`, which every Describe call takes),
/// and `group-name`, which EC2 still accepts. Filters about public addresses, IPv6 and instances
/// match no ENI here (none has them).
pub const ENI_FILTERS: &[&str] = &[
    "addresses.association.owner-id",
    "addresses.association.public-ip",
    "addresses.primary",
    "addresses.private-ip-address",
    "association.allocation-id",
    "association.association-id",
    "association.ip-owner-id",
    "association.public-dns-name",
    "association.public-ip",
    "attachment.attach-time",
    "attachment.attachment-id",
    "attachment.delete-on-termination",
    "attachment.device-index",
    "attachment.instance-id",
    "attachment.instance-owner-id",
    "attachment.status",
    "availability-zone",
    "availability-zone-id",
    "description",
    "group-id",
    "group-name",
    "interface-type",
    "ipv6-addresses.ipv6-address",
    "mac-address",
    "network-interface-id",
    "operator.managed",
    "operator.principal",
    "owner-id",
    "private-dns-name",
    "private-ip-address",
    "requester-id",
    "requester-managed",
    "source-dest-check",
    "status",
    "subnet-id",
    "vpc-id",
];

/// The values of filter `name` for `eni`, whose `operator` principal is `operator`.
fn eni_field(
    eni: &NetworkInterface,
    region: &RegionState,
    account: &str,
    operator: Option<&str>,
    name: &str,
) -> Vec<String> {
    let attached = eni.attachment_id();
    let when_attached = |value: &str| attached.map(|_| value.to_string()).into_iter().collect();
    match name {
        "network-interface-id" => vec![eni.id.clone()],
        "group-id" => eni.groups.clone(),
        "group-name" => {
            eni.groups.iter().filter_map(|g| region.security_groups.get(g).map(|g| g.name.clone())).collect()
        }
        "vpc-id" => vec![eni.vpc_id.clone()],
        "subnet-id" => vec![eni.subnet_id.clone()],
        "interface-type" => vec![eni.interface_type().into()],
        "availability-zone" => vec![eni.zone.name.into()],
        "availability-zone-id" => vec![eni.zone.id.into()],
        "status" => vec![eni.status().into()],
        "requester-id" => eni.requester_id().map(str::to_string).into_iter().collect(),
        "requester-managed" => vec![eni.requester_managed().to_string()],
        "operator.managed" => vec![operator.is_some().to_string()],
        "operator.principal" => operator.map(str::to_string).into_iter().collect(),
        "description" => vec![eni.description.clone()],
        "private-ip-address" | "addresses.private-ip-address" => vec![eni.private_ip.to_string()],
        "addresses.primary" => vec!["true".into()],
        "private-dns-name" => vec![xml::private_dns_name(&region.name, eni.private_ip)],
        "mac-address" => vec![eni.mac.clone()],
        "owner-id" => vec![account.to_string()],
        "source-dest-check" => vec!["true".into()],
        "attachment.attachment-id" => attached.map(str::to_string).into_iter().collect(),
        "attachment.attach-time" => attached.map(|_| ids::iso8601(eni.created_at)).into_iter().collect(),
        "attachment.status" => when_attached("attached"),
        "attachment.instance-owner-id" => when_attached("amazon-aws"),
        "attachment.device-index" => when_attached("1"),
        "attachment.delete-on-termination" => when_attached("false"),
        // No ENI here has a public address, an IPv6 address or an instance.
        _ => vec![],
    }
}

/// The `operator` principal of `eni`: AgentCore's ENIs are managed resources only when
/// [`crate::config::Config::agentcore_eni_operator`] says so.
fn operator<'a>(eni: &NetworkInterface, config: &'a crate::config::Config) -> Option<&'a str> {
    eni.agentcore().and(config.agentcore_eni_operator.as_deref())
}

/// DescribeNetworkInterfaces (`NetworkInterfaceId.N` and `MaxResults` exclude each other). A
/// managed resource ([`operator`]) is left out while the region's managed resource visibility is
/// `hidden`, unless `IncludeManagedResources=true`.
pub(super) fn describe_network_interfaces(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "NetworkInterfaceId")?;
    if !wanted.is_empty() && op.params.get("MaxResults").is_some() {
        return Err(AwsError::ec2(
            "InvalidParameterCombination",
            "The parameter NetworkInterfaceIds cannot be used with the parameter MaxResults",
        ));
    }
    check_ids(&ENI, &wanted, &op.region.network_interfaces)?;
    let filters = filters(op.params, ENI_FILTERS)?;
    let show_hidden = op.params.bool("IncludeManagedResources")? == Some(true) || !op.region.managed_resources_hidden;
    let account = op.account();
    let region = &*op.region;
    let items: Vec<&NetworkInterface> = sorted_by_seq(region.network_interfaces.values(), |n| n.seq)
        .into_iter()
        .filter(|n| wanted_set.is_empty() || wanted_set.contains(&n.id))
        .filter(|n| show_hidden || operator(n, op.config).is_none())
        .filter(|n| matches(&filters, &n.tags, |name| eni_field(n, region, account, operator(n, op.config), name)))
        .collect();
    let (page, next) = paginate(items, op.params)?;
    Ok(xml::response("DescribeNetworkInterfaces", op.request_id, |x| {
        x.set("networkInterfaceSet", page, |x, n| {
            xml::network_interface(x, n, region, account, None, operator(n, op.config))
        });
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}

/// GetManagedResourceVisibility: `hidden` or `visible` (the default), for the caller's region.
pub(super) fn get_managed_resource_visibility(op: &Op<'_>) -> Result<String, AwsError> {
    Ok(visibility_answer(op, "GetManagedResourceVisibility"))
}

/// ModifyManagedResourceVisibility `DefaultVisibility=hidden|visible`.
pub(super) fn modify_managed_resource_visibility(op: &mut Op<'_>) -> Result<String, AwsError> {
    op.region.managed_resources_hidden = match op.params.required("DefaultVisibility")? {
        "hidden" => true,
        "visible" => false,
        other => {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!("Value ({other}) for parameter DefaultVisibility is invalid. Valid values: hidden, visible."),
            ));
        }
    };
    Ok(visibility_answer(op, "ModifyManagedResourceVisibility"))
}

fn visibility_answer(op: &Op<'_>, action: &str) -> String {
    let visibility = if op.region.managed_resources_hidden { "hidden" } else { "visible" };
    xml::response(action, op.request_id, |x| x.node("visibility", |x| x.leaf("defaultVisibility", visibility)))
}

/// Adds the ENI a service makes for one of its resources (a NAT gateway, an interface VPC
/// endpoint) in `subnet`, with the subnet's lowest free address; `None` when the subnet has none.
pub(super) fn add_service_eni(
    op: &mut Op<'_>,
    subnet: &Subnet,
    groups: Vec<String>,
    description: String,
    owner: EniOwner,
) -> Option<String> {
    let ip = eni::allocate_ip(op.region, subnet)?;
    let eni = NetworkInterface {
        created_at: op.now,
        seq: op.region.next_seq(),
        ..NetworkInterface::new(subnet, groups, ip, description, owner)
    };
    let id = eni.id.clone();
    op.region.network_interfaces.insert(id.clone(), eni);
    Some(id)
}

/// The error EC2 gives when a subnet has no address left for a new interface.
pub(super) fn no_free_address(subnet_id: &str) -> AwsError {
    AwsError::ec2(
        "InsufficientFreeAddressesInSubnet",
        format!(
            "There are not enough free addresses in subnet '{subnet_id}' to satisfy the requested number of \
             instances."
        ),
    )
}

/// DeleteNetworkInterface: refused for AgentCore's ENIs, which are attached.
pub(super) fn delete_network_interface(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("NetworkInterfaceId")?.to_string();
    ENI.check(&id)?;
    let eni = op.region.network_interfaces.get(&id).ok_or_else(|| ENI.not_found(&id))?;
    if eni.requester_managed() {
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
