//! What every EC2 operation shares: the [`Op`] it runs with, resource id kinds and their errors,
//! and small helpers for Describe calls. The resource families (`vpc`, `subnet`, …) import this
//! module, never their parent.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use ipnet::Ipv4Net;

use super::query::Params;
use super::xml;
use crate::config::Config;
use crate::error::AwsError;
use crate::state::RegionState;

/// Everything one operation needs.
pub(super) struct Op<'a> {
    pub(super) region: &'a mut RegionState,
    pub(super) config: &'a Config,
    pub(super) now: SystemTime,
    pub(super) request_id: &'a str,
    pub(super) params: &'a Params,
}

impl Op<'_> {
    /// The account every resource belongs to.
    pub(super) fn account(&self) -> &str {
        &self.config.account_id
    }
}

/// The ids a Describe call asks for (`KEY.N`), as a set.
pub(super) fn wanted_ids(params: &Params, key: &str) -> Result<(Vec<String>, BTreeSet<String>), AwsError> {
    let list = params.list(key)?;
    let set = list.iter().cloned().collect();
    Ok((list, set))
}

/// An EC2 resource type's id prefix and error codes.
pub(super) struct Kind {
    pub(super) prefix: &'static str,
    not_found: &'static str,
    malformed: &'static str,
}

/// VPC ids (`vpc-…`).
pub(super) const VPC: Kind =
    Kind { prefix: "vpc", not_found: "InvalidVpcID.NotFound", malformed: "InvalidVpcID.Malformed" };
/// Subnet ids (`subnet-…`).
pub(super) const SUBNET: Kind =
    Kind { prefix: "subnet", not_found: "InvalidSubnetID.NotFound", malformed: "InvalidSubnetID.Malformed" };
/// Security group ids (`sg-…`).
pub(super) const GROUP: Kind =
    Kind { prefix: "sg", not_found: "InvalidGroup.NotFound", malformed: "InvalidGroupId.Malformed" };
/// Network interface ids (`eni-…`).
pub(super) const ENI: Kind = Kind {
    prefix: "eni",
    not_found: "InvalidNetworkInterfaceID.NotFound",
    malformed: "InvalidNetworkInterfaceId.Malformed",
};
/// Security group rule ids (`sgr-…`).
pub(super) const RULE: Kind = Kind {
    prefix: "sgr",
    not_found: "InvalidSecurityGroupRuleId.NotFound",
    malformed: "InvalidSecurityGroupRuleId.Malformed",
};

/// Internet gateway ids (`igw-…`).
pub(super) const INTERNET_GATEWAY: Kind = Kind {
    prefix: "igw",
    not_found: "InvalidInternetGatewayID.NotFound",
    malformed: "InvalidInternetGatewayId.Malformed",
};
/// Route table ids (`rtb-…`).
pub(super) const ROUTE_TABLE: Kind =
    Kind { prefix: "rtb", not_found: "InvalidRouteTableID.NotFound", malformed: "InvalidRouteTableId.Malformed" };
/// Route table association ids (`rtbassoc-…`); EC2 lists no `Malformed` code for them.
pub(super) const ASSOCIATION: Kind =
    Kind { prefix: "rtbassoc", not_found: "InvalidAssociationID.NotFound", malformed: "InvalidAssociationID.NotFound" };
/// Elastic IP allocation ids (`eipalloc-…`); EC2 lists no `Malformed` code for them.
pub(super) const ALLOCATION: Kind =
    Kind { prefix: "eipalloc", not_found: "InvalidAllocationID.NotFound", malformed: "InvalidAllocationID.NotFound" };
/// NAT gateway ids (`nat-…`) as DescribeNatGateways and DeleteNatGateway name them (CreateRoute
/// says `InvalidNatGatewayID.NotFound` instead); a malformed one is `NatGatewayMalformed`, as EC2's
/// error-code list has it.
pub(super) const NAT_GATEWAY: Kind =
    Kind { prefix: "nat", not_found: "NatGatewayNotFound", malformed: "NatGatewayMalformed" };

/// VPC endpoint ids (`vpce-…`).
pub(super) const VPC_ENDPOINT: Kind =
    Kind { prefix: "vpce", not_found: "InvalidVpcEndpointId.NotFound", malformed: "InvalidVpcEndpointId.Malformed" };

impl Kind {
    /// The `*.NotFound` error for `id`.
    pub(super) fn not_found(&self, id: &str) -> AwsError {
        let message = match self.prefix {
            "vpc" => format!("The vpc ID '{id}' does not exist"),
            "subnet" => format!("The subnet ID '{id}' does not exist"),
            "sg" => format!("The security group '{id}' does not exist"),
            "sgr" => format!("The security group rule ID '{id}' does not exist"),
            "igw" => format!("The internetGateway ID '{id}' does not exist"),
            "rtb" => format!("The routeTable ID '{id}' does not exist"),
            "rtbassoc" => format!("The association ID '{id}' does not exist"),
            "eipalloc" => format!("The allocation ID '{id}' does not exist"),
            "nat" => format!("NAT gateway {id} was not found"),
            "vpce" => format!("The Vpc Endpoint Id '{id}' does not exist"),
            _ => format!("The networkInterface ID '{id}' does not exist"),
        };
        AwsError::ec2(self.not_found, message)
    }

    /// `prefix-` followed by 8 or 17 hex digits.
    pub(super) fn check(&self, id: &str) -> Result<(), AwsError> {
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
pub(super) fn check_ids<T>(kind: &Kind, ids: &[String], map: &BTreeMap<String, T>) -> Result<(), AwsError> {
    for id in ids {
        kind.check(id)?;
        if !map.contains_key(id) {
            return Err(kind.not_found(id));
        }
    }
    Ok(())
}

/// Checks `id` has `kind`'s format and exists in `map`.
pub(super) fn check_id<T>(kind: &Kind, id: &str, map: &BTreeMap<String, T>) -> Result<(), AwsError> {
    kind.check(id)?;
    if map.contains_key(id) { Ok(()) } else { Err(kind.not_found(id)) }
}

/// The security groups of something new in `vpc_id`, sorted and de-duplicated: `groups`, or the
/// VPC's default group when none is given; each must exist and belong to the VPC. `other` names
/// the other side in the error (`subnet subnet-…`, `VPC vpc-…`).
pub(super) fn groups_in_vpc(
    op: &Op<'_>,
    vpc_id: &str,
    mut groups: Vec<String>,
    other: &str,
) -> Result<Vec<String>, AwsError> {
    if groups.is_empty() {
        let default = op.region.security_groups.values().find(|g| g.vpc_id == vpc_id && g.is_default());
        groups.extend(default.map(|g| g.id.clone()));
    }
    check_ids(&GROUP, &groups, &op.region.security_groups)?;
    if let Some(foreign) = groups.iter().find(|g| op.region.security_groups[*g].vpc_id != vpc_id) {
        return Err(AwsError::ec2(
            "InvalidParameter",
            format!("Security group {foreign} and {other} belong to different networks."),
        ));
    }
    groups.sort();
    groups.dedup();
    Ok(groups)
}

/// `items` in creation order.
pub(super) fn sorted_by_seq<'a, T>(items: impl Iterator<Item = &'a T>, seq: impl Fn(&T) -> u64) -> Vec<&'a T>
where
    T: 'a,
{
    let mut v: Vec<&T> = items.collect();
    v.sort_by_key(|x| seq(x));
    v
}

/// An IPv4 CIDR block parameter (host bits dropped), or EC2's `InvalidParameterValue`.
pub(super) fn parse_cidr(value: &str, param: &str) -> Result<Ipv4Net, AwsError> {
    value.parse::<Ipv4Net>().map(|n| n.trunc()).map_err(|_| {
        AwsError::ec2(
            "InvalidParameterValue",
            format!("Value ({value}) for parameter {param} is invalid. This is not a valid CIDR block."),
        )
    })
}

/// The `DependencyViolation` EC2 answers when the resource `id` still has something that depends
/// on it; `noun` is EC2's name for its type in the message (`vpc`, `subnet`, `internetGateway`,
/// `routeTable`).
pub(super) fn dependency_violation(noun: &str, id: &str) -> AwsError {
    AwsError::ec2("DependencyViolation", format!("The {noun} '{id}' has dependencies and cannot be deleted."))
}

/// The answer of a Describe call: `items` in `set`, and `nextToken` when there is a next page.
pub(super) fn described<T>(
    op: &Op<'_>,
    action: &str,
    set: &str,
    items: Vec<T>,
    each: impl FnMut(&mut xml::Xml, T),
) -> Result<String, AwsError> {
    let (page, next) = super::query::paginate(items, op.params)?;
    Ok(xml::response(action, op.request_id, |x| {
        x.set(set, page, each);
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}

/// The `<return>true</return>` answer of a Delete or tag call.
pub(super) fn return_true(op: &Op<'_>, action: &str) -> String {
    xml::response(action, op.request_id, |x| x.leaf("return", true))
}
