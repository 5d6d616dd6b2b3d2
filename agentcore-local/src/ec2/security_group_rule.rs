//! Security group rules: AuthorizeSecurityGroupIngress, AuthorizeSecurityGroupEgress,
//! RevokeSecurityGroupIngress, RevokeSecurityGroupEgress, DescribeSecurityGroupRules.
//!
//! A request names its rules as `IpPermissions.N` (`IpProtocol`, `FromPort`, `ToPort`,
//! `IpRanges.M.CidrIp` with an optional `Description`, `Groups.M.GroupId`), or in the legacy flat
//! form (`IpProtocol`, `FromPort`, `ToPort`, `CidrIp`). Each (permission, peer) pair is one rule
//! (`sgr-…`), as EC2 stores them; DescribeSecurityGroups folds rules with the same protocol and
//! ports back into one permission ([`super::xml::security_group`]). IPv6 ranges and prefix lists
//! are refused. Error codes and messages for duplicates, missing rules and unknown rule ids follow
//! moto (`moto/ec2/exceptions.py`), where the EC2 API reference lists only the codes.

use std::collections::BTreeSet;

use super::context::{GROUP, Op, RULE, described, parse_cidr, sorted_by_seq, wanted_ids};
use super::query::{Params, filters, matches};
use super::xml;
use crate::error::AwsError;
use crate::ids;
use crate::state::{RegionState, RulePeer, RulePermission, SecurityGroupRule};

/// The id of the group called `name` in the region's default VPC (group names address only it).
pub(super) fn group_by_name_in_default_vpc(region: &RegionState, name: &str) -> Result<String, AwsError> {
    let default_vpc = region.vpcs.values().find(|v| v.is_default);
    let vpc_name = default_vpc.map_or("none", |v| v.id.as_str());
    default_vpc
        .and_then(|vpc| region.security_groups.values().find(|g| g.vpc_id == vpc.id && g.name == name))
        .map(|g| g.id.clone())
        .ok_or_else(|| {
            AwsError::ec2(
                "InvalidGroup.NotFound",
                format!("The security group '{name}' does not exist in default VPC '{vpc_name}'"),
            )
        })
}

/// The group a rule call names (`GroupId`, or `GroupName` in the default VPC), checked to exist.
fn named_group(op: &Op<'_>) -> Result<String, AwsError> {
    match (op.params.get("GroupId"), op.params.get("GroupName")) {
        (Some(id), _) => {
            GROUP.check(id)?;
            if op.region.security_groups.contains_key(id) { Ok(id.to_string()) } else { Err(GROUP.not_found(id)) }
        }
        (None, Some(name)) => group_by_name_in_default_vpc(op.region, name),
        (None, None) => {
            Err(AwsError::ec2("MissingParameter", "The request must contain the parameter groupName or groupId"))
        }
    }
}

/// One rule a request describes, before it gets an id.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RequestedRule {
    permission: RulePermission,
    peer: RulePeer,
    description: Option<String>,
}

/// A rule may only name a peer group of its own group's VPC (this emulator has no VPC peering); EC2
/// refuses any other with `InvalidGroup.NotFound` "You have specified two resources that belong to
/// different networks." So a group's rules never outlive a peer (DeleteVpc's default group included).
fn same_network(op: &Op<'_>, vpc_id: &str, requested: &[RequestedRule]) -> Result<(), AwsError> {
    for rule in requested {
        if let RulePeer::Group(peer) = &rule.peer
            && op.region.security_groups.get(peer).is_some_and(|g| g.vpc_id != vpc_id)
        {
            return Err(AwsError::ec2(
                "InvalidGroup.NotFound",
                "You have specified two resources that belong to different networks.",
            ));
        }
    }
    Ok(())
}

/// The rules of a request's `IpPermissions` (or its legacy flat form), checked.
fn requested_rules(op: &Op<'_>) -> Result<Vec<RequestedRule>, AwsError> {
    let mut permissions = op.params.members("IpPermissions")?;
    if permissions.is_empty() && op.params.get("IpProtocol").is_some() {
        permissions.push(op.params.clone());
    }
    if permissions.is_empty() {
        return Err(AwsError::ec2("MissingParameter", "The request must contain the parameter ipPermissions"));
    }
    let mut rules = Vec::new();
    for permission in &permissions {
        rules.extend(permission_rules(op, permission)?);
    }
    Ok(rules)
}

/// The rules of one `IpPermissions.N` member: one per CIDR range and one per group.
fn permission_rules(op: &Op<'_>, params: &Params) -> Result<Vec<RequestedRule>, AwsError> {
    if !params.members("Ipv6Ranges")?.is_empty() || !params.members("PrefixListIds")?.is_empty() {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            "agentcore-local supports IPv4 ranges and security groups as rule peers, not IPv6 ranges or prefix lists",
        ));
    }
    let permission = rule_permission(params)?;
    let mut rules = Vec::new();
    let mut ranges = params.members("IpRanges")?;
    if let Some(cidr) = params.get("CidrIp") {
        ranges.push(Params::single("CidrIp", cidr));
    }
    for range in &ranges {
        let cidr = parse_cidr(range.required("CidrIp")?, "cidrIp")?;
        rules.push(RequestedRule {
            permission: permission.clone(),
            peer: RulePeer::Cidr(cidr),
            description: range.get("Description").map(str::to_string),
        });
    }
    for pair in &params.members("Groups")? {
        let group_id = pair.required("GroupId")?;
        GROUP.check(group_id)?;
        if !op.region.security_groups.contains_key(group_id) {
            return Err(GROUP.not_found(group_id));
        }
        rules.push(RequestedRule {
            permission: permission.clone(),
            peer: RulePeer::Group(group_id.to_string()),
            description: pair.get("Description").map(str::to_string),
        });
    }
    if rules.is_empty() {
        return Err(AwsError::ec2(
            "MissingParameter",
            "The request must contain the parameter ipRanges or groups (one peer per rule at least)",
        ));
    }
    Ok(rules)
}

/// The protocol and ports of one permission, as EC2 normalises them: `-1` (or `all`) for every
/// protocol without ports, `tcp`/`udp` (or 6/17) with a port range, `icmp` (or 1) with a type and
/// a code (each -1 for all), any other IP protocol number without ports.
fn rule_permission(params: &Params) -> Result<RulePermission, AwsError> {
    let raw = params.required("IpProtocol")?;
    let protocol = match raw.to_ascii_lowercase().as_str() {
        "-1" | "all" => "-1".to_string(),
        "tcp" | "6" => "tcp".to_string(),
        "udp" | "17" => "udp".to_string(),
        "icmp" | "1" => "icmp".to_string(),
        number if let Ok(n) = number.parse::<u8>() => n.to_string(),
        _ => {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!("Invalid value '{raw}' for IP protocol. Unknown protocol."),
            ));
        }
    };
    let from = params.int("FromPort")?;
    let to = params.int("ToPort")?;
    let ports = match protocol.as_str() {
        "tcp" | "udp" => {
            let (Some(from), Some(to)) = (from, to) else {
                return Err(AwsError::ec2(
                    "InvalidParameterValue",
                    "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.",
                ));
            };
            if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                return Err(AwsError::ec2(
                    "InvalidParameterValue",
                    format!("Invalid TCP/UDP port range: from port {from}, to port {to}"),
                ));
            }
            Some((from, to))
        }
        "icmp" => {
            let (kind, code) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if !(-1..=255).contains(&kind) || !(-1..=255).contains(&code) {
                return Err(AwsError::ec2(
                    "InvalidParameterValue",
                    format!("Invalid ICMP type {kind} or code {code}: each must be -1 or 0 to 255"),
                ));
            }
            Some((kind, code))
        }
        _ => None,
    };
    Ok(RulePermission { protocol, ports })
}

/// How EC2 names a rule in its `InvalidPermission.Duplicate` message.
fn rule_text(rule: &RequestedRule, egress: bool) -> String {
    let peer = match &rule.peer {
        RulePeer::Cidr(cidr) => cidr.to_string(),
        RulePeer::Group(id) => id.clone(),
    };
    let protocol = match rule.permission.protocol.as_str() {
        "-1" => "ALL".to_string(),
        other => other.to_ascii_uppercase(),
    };
    let ports = rule.permission.ports.map_or(String::new(), |(from, to)| format!(", from port: {from}, to port: {to}"));
    let direction = if egress { "egress" } else { "ingress" };
    format!("peer: {peer}, {protocol}{ports}, ALLOW ({direction})")
}

/// AuthorizeSecurityGroupIngress.
pub(super) fn authorize_ingress(op: &mut Op<'_>) -> Result<String, AwsError> {
    authorize(op, "AuthorizeSecurityGroupIngress", false)
}

/// AuthorizeSecurityGroupEgress.
pub(super) fn authorize_egress(op: &mut Op<'_>) -> Result<String, AwsError> {
    authorize(op, "AuthorizeSecurityGroupEgress", true)
}

/// Adds the requested rules to the group, all or none: a rule the group already has (or one the
/// request repeats) is `InvalidPermission.Duplicate`.
fn authorize(op: &mut Op<'_>, action: &str, egress: bool) -> Result<String, AwsError> {
    let group_id = named_group(op)?;
    let requested = requested_rules(op)?;
    let group = &op.region.security_groups[&group_id];
    same_network(op, &group.vpc_id, &requested)?;
    let mut seen: BTreeSet<(&RulePermission, &RulePeer)> =
        group.rules.iter().filter(|r| r.egress == egress).map(|r| (&r.permission, &r.peer)).collect();
    for rule in &requested {
        if !seen.insert((&rule.permission, &rule.peer)) {
            return Err(AwsError::ec2(
                "InvalidPermission.Duplicate",
                format!("the specified rule \"{}\" already exists", rule_text(rule, egress)),
            ));
        }
    }
    let added: Vec<SecurityGroupRule> = requested
        .into_iter()
        .map(|r| SecurityGroupRule {
            id: ids::ec2_id("sgr"),
            egress,
            permission: r.permission,
            peer: r.peer,
            description: r.description,
        })
        .collect();
    let region_name = op.region.name.clone();
    let account = op.account().to_string();
    let out = xml::response(action, op.request_id, |x| {
        x.leaf("return", true);
        x.set("securityGroupRuleSet", &added, |x, rule| {
            xml::security_group_rule(x, rule, &group_id, &region_name, &account)
        });
    });
    let group = op.region.security_groups.get_mut(&group_id).expect("checked");
    group.rules.extend(added);
    Ok(out)
}

/// RevokeSecurityGroupIngress.
pub(super) fn revoke_ingress(op: &mut Op<'_>) -> Result<String, AwsError> {
    revoke(op, "RevokeSecurityGroupIngress", false)
}

/// RevokeSecurityGroupEgress.
pub(super) fn revoke_egress(op: &mut Op<'_>) -> Result<String, AwsError> {
    revoke(op, "RevokeSecurityGroupEgress", true)
}

/// Removes the rules named by `SecurityGroupRuleId.N` or by `IpPermissions`, all or none: a rule
/// the group does not have in this direction is `InvalidSecurityGroupRuleId.NotFound` (by id) or
/// `InvalidPermission.NotFound` (by permission).
fn revoke(op: &mut Op<'_>, action: &str, egress: bool) -> Result<String, AwsError> {
    let group_id = named_group(op)?;
    let rule_ids = op.params.list("SecurityGroupRuleId")?;
    let group = &op.region.security_groups[&group_id];
    let mut revoked: BTreeSet<String> = BTreeSet::new();
    if rule_ids.is_empty() {
        for wanted in requested_rules(op)? {
            let found = group
                .rules
                .iter()
                .find(|r| r.egress == egress && r.permission == wanted.permission && r.peer == wanted.peer)
                .ok_or_else(|| {
                    AwsError::ec2(
                        "InvalidPermission.NotFound",
                        "The specified rule does not exist in this security group",
                    )
                })?;
            revoked.insert(found.id.clone());
        }
    } else {
        for id in &rule_ids {
            RULE.check(id)?;
            if !group.rules.iter().any(|r| r.egress == egress && &r.id == id) {
                return Err(RULE.not_found(id));
            }
            revoked.insert(id.clone());
        }
    }
    let group = op.region.security_groups.get_mut(&group_id).expect("checked");
    let (gone, kept): (Vec<_>, Vec<_>) = group.rules.drain(..).partition(|r| revoked.contains(&r.id));
    group.rules = kept;
    Ok(xml::response(action, op.request_id, |x| {
        x.leaf("return", true);
        x.set("revokedSecurityGroupRuleSet", &gone, |x, rule| {
            x.leaf("securityGroupRuleId", &rule.id);
            x.leaf("groupId", &group_id);
            x.leaf("isEgress", rule.egress);
            xml::rule_fields(x, rule);
            match &rule.peer {
                RulePeer::Cidr(cidr) => x.leaf("cidrIpv4", cidr),
                RulePeer::Group(id) => x.leaf("referencedGroupId", id),
            }
            if let Some(description) = &rule.description {
                x.leaf("description", description);
            }
        });
    }))
}

/// DescribeSecurityGroupRules: by `SecurityGroupRuleId.N` and the filters `group-id` and
/// `security-group-rule-id` (rules carry no tags here, so tag filters match none).
pub(super) fn describe_security_group_rules(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "SecurityGroupRuleId")?;
    let region = &*op.region;
    let groups = sorted_by_seq(region.security_groups.values(), |g| g.seq);
    let all: Vec<(&str, &SecurityGroupRule)> =
        groups.iter().flat_map(|g| g.rules.iter().map(|r| (g.id.as_str(), r))).collect();
    for id in &wanted {
        RULE.check(id)?;
        if !all.iter().any(|(_, r)| &r.id == id) {
            return Err(RULE.not_found(id));
        }
    }
    let filters = filters(op.params, &["group-id", "security-group-rule-id"])?;
    let no_tags = Default::default();
    let items: Vec<(&str, &SecurityGroupRule)> = all
        .into_iter()
        .filter(|(_, r)| wanted_set.is_empty() || wanted_set.contains(&r.id))
        .filter(|(group_id, r)| {
            matches(&filters, &no_tags, |name| match name {
                "group-id" => vec![group_id.to_string()],
                "security-group-rule-id" => vec![r.id.clone()],
                _ => vec![],
            })
        })
        .collect();
    let account = op.account();
    described(op, "DescribeSecurityGroupRules", "securityGroupRuleSet", items, |x, (group_id, rule)| {
        xml::security_group_rule(x, rule, group_id, &region.name, account)
    })
}
