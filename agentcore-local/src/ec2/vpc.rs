//! VPCs: CreateVpc (with its `default` security group and main route table), DescribeVpcs,
//! DeleteVpc, DescribeVpcAttribute, ModifyVpcAttribute. The region's default VPC is
//! [`crate::state::RegionState::add_default_vpc`]'s.

use super::context::{
    Op, VPC, check_id, check_ids, dependency_violation, parse_cidr, return_true, sorted_by_seq, wanted_ids,
};
use super::query::{filters, matches, paginate, tag_specifications};
use super::xml;
use crate::error::AwsError;
use crate::state::Vpc;

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
    let vpc = op.region.new_vpc(cidr, false, tags);
    op.region.insert_vpc(&vpc);
    let out = xml::response("CreateVpc", op.request_id, |x| {
        x.node("vpc", |x| xml::vpc(x, &vpc, op.region, op.account(), "pending"))
    });
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
                "is-default" => vec![v.is_default.to_string()],
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
/// than the main one, an attached internet gateway or VPC endpoints remain; the default group and the main
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
        || region.attached_internet_gateway(&id).is_some()
        || region.vpc_endpoints.values().any(|e| e.vpc_id == id && e.is_live());
    if has_dependencies {
        return Err(dependency_violation("vpc", &id));
    }
    op.region.security_groups.retain(|_, g| g.vpc_id != id);
    op.region.route_tables.retain(|_, t| t.vpc_id != id);
    op.region.vpcs.remove(&id);
    Ok(return_true(op, "DeleteVpc"))
}

/// The attributes DescribeVpcAttribute and ModifyVpcAttribute know, by their wire names.
const ATTRIBUTES: [&str; 3] = ["enableDnsSupport", "enableDnsHostnames", "enableNetworkAddressUsageMetrics"];

/// The value of the attribute `name` of `vpc`.
fn attribute(vpc: &Vpc, name: &str) -> bool {
    match name {
        "enableDnsSupport" => vpc.dns_support,
        "enableDnsHostnames" => vpc.dns_hostnames,
        _ => vpc.network_address_usage_metrics,
    }
}

/// DescribeVpcAttribute: one of [`ATTRIBUTES`].
pub(super) fn describe_vpc_attribute(op: &Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("VpcId")?;
    let name = op.params.required("Attribute")?;
    check_id(&VPC, id, &op.region.vpcs)?;
    if !ATTRIBUTES.contains(&name) {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("Value ({name}) for parameter attribute is invalid. Unknown attribute."),
        ));
    }
    let value = attribute(&op.region.vpcs[id], name);
    Ok(xml::response("DescribeVpcAttribute", op.request_id, |x| {
        x.leaf("vpcId", id);
        x.node(name, |x| x.leaf("value", value));
    }))
}

/// ModifyVpcAttribute: exactly one attribute per call (`EnableDnsSupport.Value`,
/// `EnableDnsHostnames.Value` or `EnableNetworkAddressUsageMetrics.Value`), as EC2 requires; DNS
/// hostnames cannot be on while DNS support is off.
pub(super) fn modify_vpc_attribute(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("VpcId")?.to_string();
    check_id(&VPC, &id, &op.region.vpcs)?;
    let mut given = Vec::new();
    for name in ATTRIBUTES {
        let key = format!("{}{}.Value", name[..1].to_ascii_uppercase(), &name[1..]);
        if let Some(value) = op.params.bool(&key)? {
            given.push((name, value));
        }
    }
    let (name, value) = match given.as_slice() {
        [one] => *one,
        [] => {
            return Err(AwsError::ec2(
                "MissingParameter",
                "The request must contain one of the parameters enableDnsSupport, enableDnsHostnames or \
                 enableNetworkAddressUsageMetrics",
            ));
        }
        _ => {
            let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
            return Err(AwsError::ec2(
                "InvalidParameterCombination",
                format!("Fields for multiple attribute types specified: {}", names.join(", ")),
            ));
        }
    };
    let vpc = op.region.vpcs.get_mut(&id).expect("checked");
    let hostnames_without_dns = (name == "enableDnsHostnames" && value && !vpc.dns_support)
        || (name == "enableDnsSupport" && !value && vpc.dns_hostnames);
    if hostnames_without_dns {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            "DNS hostnames can be enabled only while DNS support is enabled for the VPC",
        ));
    }
    match name {
        "enableDnsSupport" => vpc.dns_support = value,
        "enableDnsHostnames" => vpc.dns_hostnames = value,
        _ => vpc.network_address_usage_metrics = value,
    }
    Ok(return_true(op, "ModifyVpcAttribute"))
}
