//! Subnets: CreateSubnet, DescribeSubnets, DeleteSubnet.

use super::context::{
    Op, SUBNET, VPC, check_ids, dependency_violation, parse_cidr, return_true, sorted_by_seq, wanted_ids,
};
use super::query::{Params, filters, matches, paginate, tag_specifications};
use super::xml;
use crate::catalog::{self, Zone};
use crate::error::AwsError;
use crate::state::Subnet;
use crate::{eni, ids};

/// CreateSubnet: a CIDR inside its VPC's, overlapping no other subnet of it, in one zone.
pub(super) fn create_subnet(op: &mut Op<'_>) -> Result<String, AwsError> {
    let vpc_id = op.params.required("VpcId")?.to_string();
    VPC.check(&vpc_id)?;
    let cidr_text = op.params.required("CidrBlock")?;
    let cidr = parse_cidr(cidr_text, "cidrBlock")?;
    let vpc = op.region.vpcs.get(&vpc_id).ok_or_else(|| VPC.not_found(&vpc_id))?;
    let zone = requested_zone(op.params, &op.region.name)?;
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
    let subnet = Subnet {
        id: ids::ec2_id("subnet"),
        vpc_id,
        cidr,
        zone,
        default_for_az: false,
        tags,
        seq: op.region.next_seq(),
    };
    let out = xml::response("CreateSubnet", op.request_id, |x| {
        x.node("subnet", |x| xml::subnet(x, &subnet, op.region, op.account()))
    });
    op.region.subnets.insert(subnet.id.clone(), subnet);
    Ok(out)
}

/// The zone a CreateSubnet asks for (`AvailabilityZone` or `AvailabilityZoneId`, not both), or
/// the region's first zone.
fn requested_zone(params: &Params, region_name: &str) -> Result<Zone, AwsError> {
    let zones = catalog::zones(region_name);
    match (params.get("AvailabilityZone"), params.get("AvailabilityZoneId")) {
        (Some(_), Some(_)) => Err(AwsError::ec2(
            "InvalidParameterCombination",
            "Only one of availabilityZone or availabilityZoneId may be specified",
        )),
        (Some(name), None) => zones.iter().find(|z| z.name == name).copied().ok_or_else(|| {
            AwsError::ec2(
                "InvalidParameterValue",
                format!(
                    "Value ({name}) for parameter availabilityZone is invalid. Subnets can currently \
                     only be created in the following availability zones: {}.",
                    zones.iter().map(|z| z.name).collect::<Vec<_>>().join(", ")
                ),
            )
        }),
        (None, Some(id)) => zones.iter().find(|z| z.id == id).copied().ok_or_else(|| {
            AwsError::ec2(
                "InvalidParameterValue",
                format!(
                    "Value ({id}) for parameter availabilityZoneId is invalid. Subnets can \
                     currently only be created in the following availability zone ids: {}.",
                    zones.iter().map(|z| z.id).collect::<Vec<_>>().join(", ")
                ),
            )
        }),
        (None, None) => zones.first().copied().ok_or_else(|| {
            AwsError::ec2(
                "InvalidParameterValue",
                format!("agentcore-local has no Availability Zones for region {region_name}"),
            )
        }),
    }
}

/// DescribeSubnets.
pub(super) fn describe_subnets(op: &Op<'_>) -> Result<String, AwsError> {
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
                "default-for-az" => vec![s.default_for_az.to_string()],
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

/// DeleteSubnet: refused while a network interface, a runtime or a NAT gateway (one not yet
/// `deleted`) uses the subnet; its route table association goes with it.
pub(super) fn delete_subnet(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("SubnetId")?.to_string();
    SUBNET.check(&id)?;
    if !op.region.subnets.contains_key(&id) {
        return Err(SUBNET.not_found(&id));
    }
    let used_by_eni = op.region.network_interfaces.values().any(|n| n.subnet_id == id);
    let used_by_runtime =
        op.region.runtimes.values().any(|r| r.effective_vpc.as_ref().is_some_and(|v| v.subnets.contains(&id)));
    let used_by_nat_gateway = op.region.live_nat_gateways().any(|n| n.subnet_id == id);
    if used_by_eni || used_by_runtime || used_by_nat_gateway {
        return Err(dependency_violation("subnet", &id));
    }
    for table in op.region.route_tables.values_mut() {
        table.associations.retain(|a| a.subnet_id.as_deref() != Some(id.as_str()));
    }
    op.region.subnets.remove(&id);
    Ok(return_true(op, "DeleteSubnet"))
}
