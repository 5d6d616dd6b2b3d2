//! The AgentCore VPC ENI mechanism — what the service-linked role
//! `AWSServiceRoleForBedrockAgentCoreNetwork` does in the customer's VPC.
//!
//! Written on its own (it does not call `eni-model`, which tests compare it against):
//!
//! * Every live runtime in VPC mode (CREATING, READY, UPDATING, UPDATE_FAILED, DELETING) needs,
//!   for each of its subnets, one ENI keyed by (subnet, sorted security-group set) under the
//!   `shared` policy — AWS's documented behaviour — or by (runtime, subnet, SG set) under the
//!   deliberately wrong `per-runtime` policy used by negative-control tests.
//! * A needed key with no ENI gets a new one: `interfaceType` `agentic_ai`, `requesterManaged`,
//!   status `in-use`, an `ela-attach-…` attachment (device index 1, owner `amazon-aws`), tag
//!   `AmazonBedrockAgentCoreManaged=true`, and the lowest free private IP of the subnet.
//!   A needed key whose ENI is lingering reuses it (the linger is cancelled).
//! * An ENI no runtime needs any more lingers for the configured time (default 8 h) from the
//!   moment it became unused, then is deleted and its IP freed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::SystemTime;

use crate::config::Config;
pub use crate::config::EniPolicy;
use crate::ids;
pub use crate::state::EniKey;
use crate::state::{EniOwner, ManagedEni, NetworkInterface, RegionState, Subnet, VpcPlacement};

/// The tag AgentCore puts on its ENIs.
pub const MANAGED_TAG_KEY: &str = "AmazonBedrockAgentCoreManaged";
/// The `interfaceType` of AgentCore ENIs.
pub use crate::state::AGENTCORE_INTERFACE_TYPE as INTERFACE_TYPE;
/// IPs AWS reserves in every subnet (network, router, DNS, future use, broadcast).
pub const RESERVED_IPS_PER_SUBNET: u64 = 5;

/// The keys `placement` needs, one per subnet.
pub fn keys_for(placement: &VpcPlacement, runtime_id: &str, policy: EniPolicy) -> Vec<EniKey> {
    let mut groups = placement.security_groups.clone();
    groups.sort();
    groups.dedup();
    let mut subnets = placement.subnets.clone();
    subnets.sort();
    subnets.dedup();
    subnets
        .into_iter()
        .map(|subnet_id| EniKey {
            subnet_id,
            security_groups: groups.clone(),
            runtime_id: (policy == EniPolicy::PerRuntime).then(|| runtime_id.to_string()),
        })
        .collect()
}

/// Every needed key with the ids of the runtimes that need it.
pub fn users(region: &RegionState, policy: EniPolicy) -> BTreeMap<EniKey, Vec<String>> {
    let mut out: BTreeMap<EniKey, Vec<String>> = BTreeMap::new();
    let mut runtimes: Vec<_> = region.runtimes.values().collect();
    runtimes.sort_by_key(|r| r.seq);
    for runtime in runtimes {
        if let Some(placement) = &runtime.effective_vpc {
            for key in keys_for(placement, &runtime.id, policy) {
                out.entry(key).or_default().push(runtime.id.clone());
            }
        }
    }
    out
}

/// Brings the managed ENIs in line with what the runtimes need, as of `at`: creates missing
/// ones (`Config::eni_create_delay` later: until then they are pending, see
/// [`next_creation`]), revives lingering ones that are needed again, and starts the linger of unused
/// ones. A pending creation no runtime needs any more is dropped, and none due at `at` is left (the
/// transitions loop until nothing is due).
pub fn reconcile(region: &mut RegionState, at: SystemTime, config: &Config) {
    let needed = users(region, config.eni_policy);
    region.pending_enis.retain(|key, _| needed.contains_key(key));
    for key in needed.keys() {
        let existing = region.network_interfaces.values_mut().filter_map(|n| n.agentcore_mut()).find(|m| &m.key == key);
        match existing {
            Some(managed) => {
                managed.linger_until = None;
                region.pending_enis.remove(key);
            }
            None => {
                let due = *region.pending_enis.entry(key.clone()).or_insert(at + config.eni_create_delay);
                if due <= at {
                    region.pending_enis.remove(key);
                    if let Err(reason) = create(region, key.clone(), due, config) {
                        // Callers check capacity first (`shortfall`); a CreateNetworkInterface of the
                        // account's own may have taken the last address while this one was pending.
                        tracing::error!(%reason, "could not create a managed ENI");
                    }
                }
            }
        }
    }
    for eni in region.network_interfaces.values_mut() {
        if let Some(managed) = eni.agentcore_mut()
            && !needed.contains_key(&managed.key)
            && managed.linger_until.is_none()
        {
            managed.linger_until = Some(at + config.eni_linger);
        }
    }
}

/// Why `placement` cannot get its ENIs right now (a subnet with no free IP for an ENI it
/// would need), or `None` if it can.
pub fn shortfall(
    region: &RegionState,
    placement: &VpcPlacement,
    runtime_id: &str,
    policy: EniPolicy,
) -> Option<String> {
    keys_for(placement, runtime_id, policy).into_iter().find_map(|key| {
        let exists = region.network_interfaces.values().any(|n| n.agentcore().is_some_and(|m| m.key == key));
        let subnet = region.subnet(&key.subnet_id)?;
        (!exists && available_ip_count(region, subnet) == 0).then(|| {
            format!("Insufficient free IP addresses in subnet {} to create a network interface", key.subnet_id)
        })
    })
}

fn create(region: &mut RegionState, key: EniKey, at: SystemTime, config: &Config) -> Result<(), String> {
    let subnet =
        region.subnet(&key.subnet_id).ok_or_else(|| format!("subnet {} does not exist", key.subnet_id))?.clone();
    let ip = allocate_ip(region, &subnet).ok_or_else(|| format!("subnet {} has no free IP address", subnet.id))?;
    let groups = key.security_groups.clone();
    let managed = ManagedEni { key, attachment_id: ids::ec2_id("ela-attach"), linger_until: None };
    let eni = NetworkInterface {
        tags: BTreeMap::from([(MANAGED_TAG_KEY.to_string(), "true".to_string())]),
        created_at: at,
        seq: region.next_seq(),
        ..NetworkInterface::new(&subnet, groups, ip, String::new(), EniOwner::AgentCore(managed))
    };
    let id = eni.id.clone();
    tracing::debug!(eni = %id, subnet = %eni.subnet_id, ip = %ip, account = %config.account_id, "created managed ENI");
    region.network_interfaces.insert(id, eni);
    Ok(())
}

/// The earliest pending ENI creation's time ([`reconcile`] makes it then).
pub fn next_creation(region: &RegionState) -> Option<SystemTime> {
    region.pending_enis.values().min().copied()
}

/// The earliest lingering ENI to expire, with its deadline.
pub fn next_expiry(region: &RegionState) -> Option<(SystemTime, String)> {
    region
        .network_interfaces
        .values()
        .filter_map(|n| {
            let until = n.agentcore()?.linger_until?;
            Some((until, n.id.clone()))
        })
        .min()
}

/// The lowest free address of `subnet` (AWS reserves the first four and the last).
pub fn allocate_ip(region: &RegionState, subnet: &Subnet) -> Option<Ipv4Addr> {
    let used: std::collections::HashSet<Ipv4Addr> =
        region.network_interfaces.values().filter(|n| n.subnet_id == subnet.id).map(|n| n.private_ip).collect();
    let first = u32::from(subnet.cidr.network()) + 4;
    let last = u32::from(subnet.cidr.broadcast()).checked_sub(1)?;
    (first..=last).map(Ipv4Addr::from).find(|ip| !used.contains(ip))
}

/// `AvailableIpAddressCount`: the subnet's size less the 5 reserved addresses and every ENI's IP.
pub fn available_ip_count(region: &RegionState, subnet: &Subnet) -> u64 {
    let size = 1u64 << (32 - u32::from(subnet.cidr.prefix_len()));
    let used = region.network_interfaces.values().filter(|n| n.subnet_id == subnet.id).count() as u64;
    size.saturating_sub(RESERVED_IPS_PER_SUBNET + used)
}
