//! Internet gateways: CreateInternetGateway, AttachInternetGateway, DetachInternetGateway,
//! DeleteInternetGateway, DescribeInternetGateways.

use super::context::{
    INTERNET_GATEWAY, Op, VPC, check_id, check_ids, dependency_violation, described, return_true, sorted_by_seq,
    wanted_ids,
};
use super::query::{filters, matches, tag_specifications};
use super::xml;
use crate::error::AwsError;
use crate::ids;
use crate::state::InternetGateway;

/// CreateInternetGateway: a detached gateway.
pub(super) fn create_internet_gateway(op: &mut Op<'_>) -> Result<String, AwsError> {
    let tags = tag_specifications(op.params, "internet-gateway")?;
    let gateway = InternetGateway { id: ids::ec2_id("igw"), attached_vpc: None, tags, seq: op.region.next_seq() };
    let out = xml::response("CreateInternetGateway", op.request_id, |x| {
        x.node("internetGateway", |x| xml::internet_gateway(x, &gateway, op.account()))
    });
    op.region.internet_gateways.insert(gateway.id.clone(), gateway);
    Ok(out)
}

/// The gateway and VPC ids an Attach or Detach call names, both checked to exist.
fn gateway_and_vpc(op: &Op<'_>) -> Result<(String, String), AwsError> {
    let gateway = op.params.required("InternetGatewayId")?.to_string();
    let vpc = op.params.required("VpcId")?.to_string();
    check_id(&INTERNET_GATEWAY, &gateway, &op.region.internet_gateways)?;
    check_id(&VPC, &vpc, &op.region.vpcs)?;
    Ok((gateway, vpc))
}

/// AttachInternetGateway: refused when the gateway is attached already or the VPC has another.
pub(super) fn attach_internet_gateway(op: &mut Op<'_>) -> Result<String, AwsError> {
    let (gateway_id, vpc_id) = gateway_and_vpc(op)?;
    if let Some(attached) = &op.region.internet_gateways[&gateway_id].attached_vpc {
        return Err(AwsError::ec2(
            "Resource.AlreadyAssociated",
            format!("resource {gateway_id} is already attached to network {attached}"),
        ));
    }
    if op.region.attached_internet_gateway(&vpc_id).is_some() {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("Network {vpc_id} already has an internet gateway attached"),
        ));
    }
    op.region.internet_gateways.get_mut(&gateway_id).expect("checked").attached_vpc = Some(vpc_id);
    Ok(return_true(op, "AttachInternetGateway"))
}

/// DetachInternetGateway: refused when the gateway is not attached to that VPC, or while public
/// addresses are mapped in the VPC (a NAT gateway's Elastic IP).
pub(super) fn detach_internet_gateway(op: &mut Op<'_>) -> Result<String, AwsError> {
    let (gateway_id, vpc_id) = gateway_and_vpc(op)?;
    if op.region.internet_gateways[&gateway_id].attached_vpc.as_deref() != Some(vpc_id.as_str()) {
        return Err(AwsError::ec2(
            "Gateway.NotAttached",
            format!("resource {gateway_id} is not attached to network {vpc_id}"),
        ));
    }
    if op.region.live_nat_gateways().any(|n| n.vpc_id == vpc_id) {
        return Err(AwsError::ec2(
            "DependencyViolation",
            format!(
                "Network {vpc_id} has some mapped public address(es). Please unmap those public \
                 address(es) before detaching the gateway."
            ),
        ));
    }
    op.region.internet_gateways.get_mut(&gateway_id).expect("checked").attached_vpc = None;
    Ok(return_true(op, "DetachInternetGateway"))
}

/// DeleteInternetGateway: refused while the gateway is attached.
pub(super) fn delete_internet_gateway(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("InternetGatewayId")?.to_string();
    check_id(&INTERNET_GATEWAY, &id, &op.region.internet_gateways)?;
    if op.region.internet_gateways[&id].attached_vpc.is_some() {
        return Err(dependency_violation("internetGateway", &id));
    }
    op.region.internet_gateways.remove(&id);
    Ok(return_true(op, "DeleteInternetGateway"))
}

/// DescribeInternetGateways.
pub(super) fn describe_internet_gateways(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "InternetGatewayId")?;
    check_ids(&INTERNET_GATEWAY, &wanted, &op.region.internet_gateways)?;
    let filters = filters(op.params, &["internet-gateway-id", "attachment.vpc-id", "attachment.state", "owner-id"])?;
    let account = op.account();
    let items: Vec<&InternetGateway> = sorted_by_seq(op.region.internet_gateways.values(), |g| g.seq)
        .into_iter()
        .filter(|g| wanted_set.is_empty() || wanted_set.contains(&g.id))
        .filter(|g| {
            matches(&filters, &g.tags, |name| match name {
                "internet-gateway-id" => vec![g.id.clone()],
                "attachment.vpc-id" => g.attached_vpc.iter().cloned().collect(),
                "attachment.state" => g.attached_vpc.iter().map(|_| "available".to_string()).collect(),
                "owner-id" => vec![account.to_string()],
                _ => vec![],
            })
        })
        .collect();
    described(op, "DescribeInternetGateways", "internetGatewaySet", items, |x, g| xml::internet_gateway(x, g, account))
}
