//! `plan`: the ENIs a set of runtimes needs, and what that costs each subnet in IP addresses.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use ipnet::Ipv4Net;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::compare::Expected;
use crate::ids::{AzId, SecurityGroupId, SubnetId, VpcId};
use crate::network::{EniKey, Inventory, InventoryIndex, NetworkError, RuntimeNetwork};

mod names;
mod placements;

use names::{NameTable, SeenNames};
pub use names::{RuntimeNames, RuntimeNamesIter};
use placements::Placements;

/// Addresses AWS reserves in every subnet: network, VPC router, DNS, future use, broadcast.
pub const RESERVED_IPS_PER_SUBNET: u32 = 5;
/// The default regional quota of network interfaces (adjustable).
pub const DEFAULT_ENI_QUOTA: u32 = 5_000;

/// A runtime as the plan sees it: a name and its network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runtime {
    /// The runtime's name, unique in the account and region.
    pub name: String,
    /// Its `networkConfiguration`.
    pub network: RuntimeNetwork,
}

impl Runtime {
    /// A runtime named `name` with `network`.
    pub fn new(name: impl Into<String>, network: RuntimeNetwork) -> Self {
        Self { name: name.into(), network }
    }
}

/// Thresholds for the plan's warnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Network interfaces allowed in the region (EC2 quota, default 5,000).
    pub eni_quota: u32,
    /// Warn when a subnet would keep less than this share of its usable addresses free.
    pub low_headroom_fraction: f64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self { eni_quota: DEFAULT_ENI_QUOTA, low_headroom_fraction: 0.10 }
    }
}

/// The ENIs a set of runtimes needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EniPlan {
    /// One entry per ENI, sorted by key.
    pub enis: Vec<PlannedEni>,
    /// The subnets that get at least one ENI, sorted by id.
    pub subnets: Vec<SubnetUsage>,
    /// ENIs and runtimes per VPC, sorted by id.
    pub vpcs: Vec<VpcUsage>,
    /// ENIs in the account (this region).
    pub total_enis: usize,
    /// Runtimes in public mode: they need no ENI.
    pub public_runtimes: Vec<String>,
    /// What the plan allows but should be looked at (IP headroom, single zone, ENI quota).
    pub warnings: Vec<Warning>,
}

/// One ENI of the plan and the runtimes that share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedEni {
    /// Its subnet and security-group set.
    pub key: EniKey,
    /// The VPC of its subnet.
    pub vpc: VpcId,
    /// The zone id of its subnet.
    pub az_id: AzId,
    /// The runtimes that share it, in the order given to [`plan`].
    pub runtimes: RuntimeNames,
}

/// A subnet's addresses under the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetUsage {
    /// The subnet id.
    pub subnet: SubnetId,
    /// The VPC the subnet is in.
    pub vpc: VpcId,
    /// The subnet's zone id.
    pub az_id: AzId,
    /// The subnet's IPv4 CIDR block.
    pub cidr: Ipv4Net,
    /// Addresses in the CIDR less the 5 AWS reserves.
    pub usable_ips: u32,
    /// Addresses taken by other things (from the inventory).
    pub other_ips_in_use: u32,
    /// AgentCore ENIs planned here (one address each).
    pub agentcore_enis: u32,
    /// Addresses left after the plan; negative when the subnet runs out.
    pub headroom: i64,
}

/// ENIs and runtimes per VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcUsage {
    /// The VPC id.
    pub vpc: VpcId,
    /// AgentCore ENIs planned in the VPC.
    pub enis: usize,
    /// VPC-mode runtimes whose network is in the VPC.
    pub runtimes: usize,
}

/// Something the plan allows but a platform team should hear about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// The subnet has fewer free addresses than the plan needs.
    SubnetOutOfIps {
        /// The subnet.
        subnet: SubnetId,
        /// AgentCore ENIs planned in it.
        needed: u32,
        /// Usable addresses not taken by other things.
        available: i64,
    },
    /// The subnet keeps less than the configured share of its addresses free.
    SubnetLowOnIps {
        /// The subnet.
        subnet: SubnetId,
        /// Addresses left after the plan.
        headroom: i64,
        /// Usable addresses in the subnet.
        usable: u32,
    },
    /// All subnets of a runtime sit in one zone: one zone's outage takes it down.
    SingleAz {
        /// The runtime.
        runtime: String,
        /// The one zone id of its subnets.
        az_id: AzId,
    },
    /// More ENIs than the regional network-interface quota.
    EniQuotaExceeded {
        /// ENIs the plan needs.
        planned: usize,
        /// [`PlanOptions::eni_quota`].
        quota: u32,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::SubnetOutOfIps { subnet, needed, available } => write!(
                f,
                "subnet {subnet} needs {needed} addresses for AgentCore ENIs but has {available} free: use a larger subnet or spread runtimes over more subnets"
            ),
            Warning::SubnetLowOnIps { subnet, headroom, usable } => {
                write!(f, "subnet {subnet} keeps only {headroom} of {usable} usable addresses free after the plan")
            }
            Warning::SingleAz { runtime, az_id } => {
                write!(f, "runtime `{runtime}` has all its subnets in {az_id}: add a subnet in a second zone")
            }
            Warning::EniQuotaExceeded { planned, quota } => write!(
                f,
                "the plan needs {planned} ENIs, above the regional quota of {quota} network interfaces: request a quota increase first"
            ),
        }
    }
}

/// Why a set of runtimes cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The service would refuse a runtime's network.
    #[error("runtime `{runtime}`: {error}")]
    Network {
        /// The runtime's name.
        runtime: String,
        /// Why its network is refused.
        error: Box<NetworkError>,
    },
    /// Two runtimes have the same name.
    #[error("runtime name `{0}` is used twice: runtime names are unique per account and region")]
    DuplicateRuntime(String),
    /// The inventory itself cannot be used (its region does not support VPC mode).
    #[error(transparent)]
    Inventory(Box<NetworkError>),
}

/// The ENIs `runtimes` need in `inventory`, with default warning thresholds.
pub fn plan(inventory: &Inventory, runtimes: &[Runtime]) -> Result<EniPlan, PlanError> {
    plan_with(inventory, runtimes, &PlanOptions::default())
}

/// The ENIs `runtimes` need in `inventory`.
pub fn plan_with(inventory: &Inventory, runtimes: &[Runtime], options: &PlanOptions) -> Result<EniPlan, PlanError> {
    let index = InventoryIndex::new(inventory).map_err(|e| PlanError::Inventory(Box::new(e)))?;
    let mut placements = Placements::new(&index);
    // Each VPC runtime's name is copied once, into `table`; `eni_runtimes[e]` lists the positions
    // there of the runtimes of ENI `e`, in runtime order.
    let text = runtimes.iter().map(|r| r.name.len()).sum();
    let mut table = NameTable::with_capacity(runtimes.len(), text);
    let mut eni_runtimes: Vec<Vec<usize>> = Vec::new();
    let mut vpc_runtimes = vec![0usize; index.vpcs.len()];
    let mut names = SeenNames::with_capacity(runtimes.len());
    let mut public_runtimes = Vec::new();
    let mut warnings = Vec::new();
    for (r, runtime) in runtimes.iter().enumerate() {
        if !names.insert(r, &runtime.name, |earlier| &runtimes[earlier].name) {
            return Err(PlanError::DuplicateRuntime(runtime.name.clone()));
        }
        let place = placements
            .place(&runtime.network)
            .map_err(|error| PlanError::Network { runtime: runtime.name.clone(), error: Box::new(error) })?;
        let Some(place) = place else {
            public_runtimes.push(runtime.name.clone());
            continue;
        };
        vpc_runtimes[place.vpc] += 1;
        if let Some(s) = place.single_az {
            let az_id = inventory.subnets[s].az_id.clone();
            warnings.push(Warning::SingleAz { runtime: runtime.name.clone(), az_id });
        }
        let position = table.push(&runtime.name);
        for &eni in place.enis {
            if eni >= eni_runtimes.len() {
                eni_runtimes.resize_with(eni + 1, Vec::new);
            }
            eni_runtimes[eni].push(position);
        }
    }

    let table = Arc::new(table);
    let (eni_keys, group_sets) = placements.into_keys();
    let sets: Vec<BTreeSet<SecurityGroupId>> = group_sets
        .iter()
        .map(|groups| groups.iter().map(|&g| inventory.security_groups[g].id.clone()).collect())
        .collect();
    // Key order without comparing keys: subnets and group sets ranked once, then ENIs by rank pair
    // (distinct positions are distinct ids, since the index keeps one position per id).
    let subnet_rank = ranks(inventory.subnets.len(), |a, b| inventory.subnets[a].id.cmp(&inventory.subnets[b].id));
    let set_rank = ranks(sets.len(), |a, b| sets[a].cmp(&sets[b]));
    let mut vpc_enis = vec![0usize; index.vpcs.len()];
    let mut subnet_enis = vec![0u32; inventory.subnets.len()];
    let mut ranked: Vec<((usize, usize), PlannedEni)> = eni_keys
        .into_iter()
        .zip(eni_runtimes)
        .map(|((s, set), positions)| {
            let subnet = &inventory.subnets[s];
            vpc_enis[index.subnet_vpc[s]] += 1;
            subnet_enis[s] += 1;
            let eni = PlannedEni {
                key: EniKey { subnet: subnet.id.clone(), security_groups: sets[set].clone() },
                vpc: subnet.vpc.clone(),
                az_id: subnet.az_id.clone(),
                runtimes: RuntimeNames::new(Arc::clone(&table), positions),
            };
            ((subnet_rank[s], set_rank[set]), eni)
        })
        .collect();
    ranked.sort_unstable_by_key(|&(rank, _)| rank);
    let enis: Vec<PlannedEni> = ranked.into_iter().map(|(_, eni)| eni).collect();

    let subnets = subnet_usage(&index, &subnet_rank, &subnet_enis, options, &mut warnings);
    let mut vpcs: Vec<VpcUsage> = (0..index.vpcs.len())
        .filter(|&v| vpc_enis[v] > 0)
        .map(|v| VpcUsage { vpc: index.vpcs[v].clone(), enis: vpc_enis[v], runtimes: vpc_runtimes[v] })
        .collect();
    vpcs.sort_unstable_by(|a, b| a.vpc.cmp(&b.vpc));
    if enis.len() > options.eni_quota as usize {
        warnings.push(Warning::EniQuotaExceeded { planned: enis.len(), quota: options.eni_quota });
    }

    Ok(EniPlan { total_enis: enis.len(), enis, subnets, vpcs, public_runtimes, warnings })
}

/// For `n` items, each one's position in the order `cmp` gives.
fn ranks(n: usize, cmp: impl Fn(usize, usize) -> std::cmp::Ordering) -> Vec<usize> {
    let mut sorted: Vec<usize> = (0..n).collect();
    sorted.sort_unstable_by(|&a, &b| cmp(a, b));
    let mut rank = vec![0; n];
    for (position, i) in sorted.into_iter().enumerate() {
        rank[i] = position;
    }
    rank
}

/// The usage of each subnet with ENIs (`enis` per inventory position), in id order.
fn subnet_usage(
    index: &InventoryIndex<'_>,
    subnet_rank: &[usize],
    enis: &[u32],
    options: &PlanOptions,
    warnings: &mut Vec<Warning>,
) -> Vec<SubnetUsage> {
    let inventory = index.inventory;
    let mut used: Vec<usize> = (0..enis.len()).filter(|&s| enis[s] > 0).collect();
    used.sort_unstable_by_key(|&s| subnet_rank[s]);
    let other: FxHashMap<&SubnetId, u32> = inventory.ips_in_use.iter().map(|(s, n)| (s, *n)).collect();
    used.into_iter()
        .map(|s| {
            let subnet = &inventory.subnets[s];
            let (id, agentcore_enis) = (&subnet.id, enis[s]);
            let usable_ips = usable_ips(subnet.cidr);
            let other_ips_in_use = other.get(id).copied().unwrap_or(0);
            let free_before = i64::from(usable_ips) - i64::from(other_ips_in_use);
            let headroom = free_before - i64::from(agentcore_enis);
            if headroom < 0 {
                warnings.push(Warning::SubnetOutOfIps {
                    subnet: id.clone(),
                    needed: agentcore_enis,
                    available: free_before,
                });
            } else if (headroom as f64) < f64::from(usable_ips) * options.low_headroom_fraction {
                warnings.push(Warning::SubnetLowOnIps { subnet: id.clone(), headroom, usable: usable_ips });
            }
            SubnetUsage {
                subnet: id.clone(),
                vpc: subnet.vpc.clone(),
                az_id: subnet.az_id.clone(),
                cidr: subnet.cidr,
                usable_ips,
                other_ips_in_use,
                agentcore_enis,
                headroom,
            }
        })
        .collect()
}

/// Addresses a subnet can hand out: its size less the 5 AWS reserves (0 for /29 and smaller never
/// happens in EC2, which allows /16 to /28).
pub fn usable_ips(cidr: Ipv4Net) -> u32 {
    let size = 1u64 << (32 - u32::from(cidr.prefix_len()));
    size.saturating_sub(u64::from(RESERVED_IPS_PER_SUBNET)).min(u64::from(u32::MAX)) as u32
}

impl EniPlan {
    /// What an observation should show under this plan: exactly one ENI per planned key.
    pub fn expected(&self) -> Expected {
        Expected { required: self.enis.iter().map(|e| e.key.clone()).collect(), optional: BTreeSet::new() }
    }

    /// The planned ENI for `key`, if any.
    pub fn eni(&self, key: &EniKey) -> Option<&PlannedEni> {
        self.enis.binary_search_by(|e| e.key.cmp(key)).ok().map(|i| &self.enis[i])
    }
}
