//! Elastic IP addresses (domain `vpc`): AllocateAddress, ReleaseAddress, DescribeAddresses.
//!
//! Public addresses come from 198.51.100.0/24 (TEST-NET-2, RFC 5737: reserved for documentation,
//! never routed), lowest free first, so they cannot be mistaken for real ones.

use std::net::Ipv4Addr;

use super::context::{ALLOCATION, Op, check_id, check_ids, described, return_true, sorted_by_seq, wanted_ids};
use super::query::{filters, matches, tag_specifications};
use super::xml;
use crate::error::AwsError;
use crate::ids;
use crate::state::{Address, RegionState};

/// The range public addresses are taken from (RFC 5737 TEST-NET-2).
const PUBLIC_RANGE: (Ipv4Addr, Ipv4Addr) = (Ipv4Addr::new(198, 51, 100, 1), Ipv4Addr::new(198, 51, 100, 254));

/// AllocateAddress: a `vpc` address from [`PUBLIC_RANGE`].
pub(super) fn allocate_address(op: &mut Op<'_>) -> Result<String, AwsError> {
    match op.params.get("Domain") {
        None | Some("vpc") => {}
        Some(other) => {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!(
                    "Value ({other}) for parameter domain is invalid. agentcore-local allocates only 'vpc' addresses."
                ),
            ));
        }
    }
    let tags = tag_specifications(op.params, "elastic-ip")?;
    let public_ip = free_public_ip(op.region)
        .ok_or_else(|| AwsError::ec2("AddressLimitExceeded", "The maximum number of addresses has been reached."))?;
    let address = Address {
        allocation_id: ids::ec2_id("eipalloc"),
        public_ip,
        association_id: None,
        tags,
        seq: op.region.next_seq(),
    };
    let out = xml::response("AllocateAddress", op.request_id, |x| {
        x.leaf("publicIp", address.public_ip);
        x.leaf("domain", "vpc");
        x.leaf("allocationId", &address.allocation_id);
        x.leaf("publicIpv4Pool", "amazon");
        x.leaf("networkBorderGroup", &op.region.name);
    });
    op.region.addresses.insert(address.allocation_id.clone(), address);
    Ok(out)
}

/// The lowest address of [`PUBLIC_RANGE`] no allocation holds.
fn free_public_ip(region: &RegionState) -> Option<Ipv4Addr> {
    let (first, last) = (u32::from(PUBLIC_RANGE.0), u32::from(PUBLIC_RANGE.1));
    (first..=last).map(Ipv4Addr::from).find(|ip| !region.addresses.values().any(|a| a.public_ip == *ip))
}

/// ReleaseAddress: by `AllocationId`; refused while a NAT gateway uses the address.
pub(super) fn release_address(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = match (op.params.get("AllocationId"), op.params.get("PublicIp")) {
        (Some(id), _) => id.to_string(),
        (None, Some(_)) => {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                "You must specify an allocation id when releasing a VPC elastic IP address",
            ));
        }
        (None, None) => {
            return Err(AwsError::ec2("MissingParameter", "The request must contain the parameter allocationId"));
        }
    };
    check_id(&ALLOCATION, &id, &op.region.addresses)?;
    if op.region.live_nat_gateways().any(|n| n.allocation_id == id) {
        return Err(AwsError::ec2(
            "InvalidIPAddress.InUse",
            format!("Address {} is in use.", op.region.addresses[&id].public_ip),
        ));
    }
    op.region.addresses.remove(&id);
    Ok(return_true(op, "ReleaseAddress"))
}

/// DescribeAddresses (`AllocationId.N`, `PublicIp.N`, filters; no pagination in this API).
pub(super) fn describe_addresses(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "AllocationId")?;
    check_ids(&ALLOCATION, &wanted, &op.region.addresses)?;
    let public_ips = op.params.list("PublicIp")?;
    if let Some(ip) =
        public_ips.iter().find(|ip| !op.region.addresses.values().any(|a| a.public_ip.to_string() == **ip))
    {
        return Err(AwsError::ec2("InvalidAddress.NotFound", format!("Address '{ip}' not found.")));
    }
    let filters = filters(
        op.params,
        &["allocation-id", "public-ip", "domain", "association-id", "network-border-group", "public-ipv4-pool"],
    )?;
    let region = &*op.region;
    let items: Vec<&Address> = sorted_by_seq(region.addresses.values(), |a| a.seq)
        .into_iter()
        .filter(|a| wanted_set.is_empty() || wanted_set.contains(&a.allocation_id))
        .filter(|a| public_ips.is_empty() || public_ips.contains(&a.public_ip.to_string()))
        .filter(|a| {
            matches(&filters, &a.tags, |name| match name {
                "allocation-id" => vec![a.allocation_id.clone()],
                "public-ip" => vec![a.public_ip.to_string()],
                "domain" => vec!["vpc".into()],
                "association-id" => a.association_id.iter().cloned().collect(),
                "network-border-group" => vec![region.name.clone()],
                "public-ipv4-pool" => vec!["amazon".into()],
                _ => vec![],
            })
        })
        .collect();
    described(op, "DescribeAddresses", "addressesSet", items, |x, a| xml::address(x, a, region))
}
