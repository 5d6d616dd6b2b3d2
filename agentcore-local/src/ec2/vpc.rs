//! VPCs: CreateVpc (with its `default` security group and main route table), DescribeVpcs,
//! DeleteVpc.

use std::collections::BTreeMap;

use super::context::{Op, VPC, check_ids, dependency_violation, parse_cidr, return_true, sorted_by_seq, wanted_ids};
use super::query::{filters, matches, paginate, tag_specifications};
use super::route_table::main_route_table;
use super::xml;
use crate::error::AwsError;
use crate::ids;
use crate::state::{SecurityGroup, Vpc};

/// CreateVpc: a VPC with its `default` security group and its main route table.
pub(super) fn create_vpc(op: &mut Op<'_>) -> Result<String, AwsError> {
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
    let main_table = main_route_table(&vpc, op.region.next_seq());
    op.region.route_tables.insert(main_table.id.clone(), main_table);
    let out = xml::response("CreateVpc", op.request_id, |x| {
        x.node("vpc", |x| xml::vpc(x, &vpc, op.region, op.account(), "pending"))
    });
    op.region.vpcs.insert(vpc.id.clone(), vpc);
    Ok(out)
}

/// DescribeVpcs.
pub(super) fn describe_vpcs(op: &Op<'_>) -> Result<String, AwsError> {
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

/// DeleteVpc: refused while subnets, non-default groups, network interfaces, route tables other
/// than the main one or an attached internet gateway remain; the default group and the main
/// table go with the VPC.
pub(super) fn delete_vpc(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("VpcId")?.to_string();
    VPC.check(&id)?;
    if !op.region.vpcs.contains_key(&id) {
        return Err(VPC.not_found(&id));
    }
    let region = &*op.region;
    let has_dependencies = region.subnets.values().any(|s| s.vpc_id == id)
        || region.security_groups.values().any(|g| g.vpc_id == id && !g.is_default())
        || region.network_interfaces.values().any(|n| n.vpc_id == id)
        || region.route_tables.values().any(|t| t.vpc_id == id && !t.is_main())
        || region.attached_internet_gateway(&id).is_some();
    if has_dependencies {
        return Err(dependency_violation("vpc", &id));
    }
    op.region.security_groups.retain(|_, g| g.vpc_id != id);
    op.region.route_tables.retain(|_, t| t.vpc_id != id);
    op.region.vpcs.remove(&id);
    Ok(return_true(op, "DeleteVpc"))
}
