//! NAT gateways (public, one Elastic IP address each): CreateNatGateway, DeleteNatGateway,
//! DescribeNatGateways. Their states move on with time ([`crate::transitions`]): pending →
//! available after [`crate::config::Config::nat_gateway_delay`] (failed if the VPC has no internet
//! gateway by then), deleting → deleted after the same delay, then shown for
//! [`crate::config::DELETED_NAT_GATEWAY_VISIBILITY`].

use super::context::{ALLOCATION, NAT_GATEWAY, Op, SUBNET, check_id, check_ids, described, sorted_by_seq, wanted_ids};
use super::network_interface::{add_service_eni, no_free_address};
use super::query::{filters, matches, tag_specifications};
use super::xml;
use crate::error::AwsError;
use crate::ids;
use crate::state::{EniOwner, NatGateway, NatGatewayState};

/// CreateNatGateway: a `pending` public gateway in `SubnetId` with the address `AllocationId`.
pub(super) fn create_nat_gateway(op: &mut Op<'_>) -> Result<String, AwsError> {
    let subnet_id = op.params.required("SubnetId")?.to_string();
    check_id(&SUBNET, &subnet_id, &op.region.subnets)?;
    check_public_connectivity(op)?;
    let allocation_id = op.params.required("AllocationId")?.to_string();
    check_id(&ALLOCATION, &allocation_id, &op.region.addresses)?;
    if op.region.live_nat_gateways().any(|n| n.allocation_id == allocation_id) {
        return Err(AwsError::ec2(
            "Resource.AlreadyAssociated",
            format!("Elastic IP address [{allocation_id}] is already associated"),
        ));
    }
    let subnet = op.region.subnets[&subnet_id].clone();
    if crate::eni::available_ip_count(op.region, &subnet) == 0 {
        return Err(no_free_address(&subnet_id));
    }
    let tags = tag_specifications(op.params, "natgateway")?;
    let nat = NatGateway {
        id: ids::ec2_id("nat"),
        vpc_id: op.region.subnets[&subnet_id].vpc_id.clone(),
        subnet_id,
        public_ip: op.region.addresses[&allocation_id].public_ip,
        allocation_id,
        state: NatGatewayState::Pending,
        failure: None,
        created_at: op.now,
        deleted_at: None,
        due: Some(op.now + op.config.nat_gateway_delay),
        tags,
        seq: op.region.next_seq(),
    };
    // The gateway's network interface in its subnet (no group: NAT gateways have none), first: the
    // only step that can fail.
    let owner = EniOwner::NatGateway { nat_id: nat.id.clone(), attachment_id: ids::ec2_id("ela-attach") };
    let description = format!("Interface for NAT Gateway {}", nat.id);
    add_service_eni(op, &subnet, Vec::new(), description, owner).ok_or_else(|| no_free_address(&subnet.id))?;
    let address = op.region.addresses.get_mut(&nat.allocation_id).expect("checked");
    address.association_id = Some(ids::ec2_id("eipassoc"));
    let token = op.params.get("ClientToken");
    let out = xml::response("CreateNatGateway", op.request_id, |x| {
        if let Some(token) = token {
            x.leaf("clientToken", token);
        }
        x.node("natGateway", |x| xml::nat_gateway(x, &nat, op.region));
    });
    op.region.nat_gateways.insert(nat.id.clone(), nat);
    Ok(out)
}

/// Only public NAT gateways are emulated.
fn check_public_connectivity(op: &Op<'_>) -> Result<(), AwsError> {
    match op.params.get("ConnectivityType") {
        None | Some("public") => Ok(()),
        Some(other) => Err(AwsError::ec2(
            "InvalidParameterValue",
            format!(
                "Value ({other}) for parameter connectivityType is invalid. agentcore-local creates only \
                 public NAT gateways."
            ),
        )),
    }
}

/// DeleteNatGateway: a pending or available gateway starts `deleting`; one already deleting,
/// deleted or failed is left as it is.
pub(super) fn delete_nat_gateway(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("NatGatewayId")?.to_string();
    check_id(&NAT_GATEWAY, &id, &op.region.nat_gateways)?;
    let due = op.now + op.config.nat_gateway_delay;
    let nat = op.region.nat_gateways.get_mut(&id).expect("checked");
    if matches!(nat.state, NatGatewayState::Pending | NatGatewayState::Available) {
        nat.state = NatGatewayState::Deleting;
        nat.due = Some(due);
    }
    Ok(xml::response("DeleteNatGateway", op.request_id, |x| x.leaf("natGatewayId", &id)))
}

/// DescribeNatGateways (`NatGatewayId.N`, and `Filter.N`, which this API names `Filter`).
pub(super) fn describe_nat_gateways(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "NatGatewayId")?;
    check_ids(&NAT_GATEWAY, &wanted, &op.region.nat_gateways)?;
    let filters = filters(op.params, &["nat-gateway-id", "state", "subnet-id", "vpc-id"])?;
    let region = &*op.region;
    let items: Vec<&NatGateway> = sorted_by_seq(region.nat_gateways.values(), |n| n.seq)
        .into_iter()
        .filter(|n| wanted_set.is_empty() || wanted_set.contains(&n.id))
        .filter(|n| {
            matches(&filters, &n.tags, |name| match name {
                "nat-gateway-id" => vec![n.id.clone()],
                "state" => vec![n.state.as_str().into()],
                "subnet-id" => vec![n.subnet_id.clone()],
                "vpc-id" => vec![n.vpc_id.clone()],
                _ => vec![],
            })
        })
        .collect();
    described(op, "DescribeNatGateways", "natGatewaySet", items, |x, n| xml::nat_gateway(x, n, region))
}
