//! What the API accepts as a runtime's network: the inventory of subnets and security groups, the
//! `networkConfiguration` of a runtime, its validation, and the ENI key it maps to.

use std::collections::BTreeSet;
use std::fmt;

use ipnet::Ipv4Net;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::ids::{AzId, IdError, SecurityGroupId, SubnetId, VpcId};
use crate::regions::supported_az_ids;

/// The limits of the AgentCore API model: 1 to 16 subnets and 1 to 16 security groups per runtime.
pub const MAX_SUBNETS: usize = 16;
/// See [`MAX_SUBNETS`].
pub const MAX_SECURITY_GROUPS: usize = 16;

/// A subnet as EC2 describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// The subnet id.
    pub id: SubnetId,
    /// The VPC the subnet is in.
    pub vpc: VpcId,
    /// The zone id (`use1-az1`), which decides whether AgentCore accepts the subnet.
    pub az_id: AzId,
    /// The subnet's IPv4 CIDR block; its size bounds the ENIs it can hold.
    pub cidr: Ipv4Net,
}

/// A security group and the VPC it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// The security group id.
    pub id: SecurityGroupId,
    /// The VPC the group belongs to.
    pub vpc: VpcId,
}

/// What exists in the account and region: what runtime networks are checked against.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Inventory {
    /// The region, e.g. `us-east-1`; decides which AZ ids AgentCore accepts.
    pub region: String,
    /// The subnets runtimes may name.
    pub subnets: Vec<Subnet>,
    /// The security groups runtimes may name.
    pub security_groups: Vec<SecurityGroup>,
    /// Addresses already taken in a subnet by things other than AgentCore ENIs (instances, NAT
    /// gateways, other ENIs). Subnets not listed are taken as empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips_in_use: Vec<(SubnetId, u32)>,
}

impl Inventory {
    /// An empty inventory of `region`.
    pub fn new(region: impl Into<String>) -> Self {
        Self { region: region.into(), ..Self::default() }
    }

    /// Adds a subnet.
    pub fn with_subnet(mut self, subnet: Subnet) -> Self {
        self.subnets.push(subnet);
        self
    }

    /// Adds a security group.
    pub fn with_security_group(mut self, security_group: SecurityGroup) -> Self {
        self.security_groups.push(security_group);
        self
    }
}

/// A runtime's `networkConfiguration`, checked for form (mode, id formats) but not yet against the
/// inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "networkMode", rename_all = "UPPERCASE")]
pub enum RuntimeNetwork {
    /// Public mode: AgentCore's own network; no ENI in the customer's VPC.
    Public,
    /// VPC mode: ENIs in the given subnets, with the given security groups.
    Vpc {
        /// The subnets, as given (order and duplicates kept).
        subnets: Vec<SubnetId>,
        /// The security groups, as given (order and duplicates kept).
        #[serde(rename = "securityGroups")]
        security_groups: Vec<SecurityGroupId>,
    },
}

impl RuntimeNetwork {
    /// A VPC-mode network from ids as text, checking their format.
    pub fn vpc<S: AsRef<str>, G: AsRef<str>>(
        subnets: impl IntoIterator<Item = S>,
        security_groups: impl IntoIterator<Item = G>,
    ) -> Result<Self, NetworkError> {
        Self::from_api("VPC", Some((subnets, security_groups)))
    }

    /// The network as the API receives it: `networkMode` and the optional `networkModeConfig`
    /// (subnets, security groups). Checks what the API checks before looking anything up.
    pub fn from_api<S: AsRef<str>, G: AsRef<str>>(
        mode: &str,
        config: Option<(impl IntoIterator<Item = S>, impl IntoIterator<Item = G>)>,
    ) -> Result<Self, NetworkError> {
        match (mode, config) {
            // A `networkModeConfig` next to PUBLIC is not documented as an error; it places nothing.
            ("PUBLIC", _) => Ok(Self::Public),
            ("VPC", None) => Err(NetworkError::MissingVpcConfig),
            ("VPC", Some((subnets, security_groups))) => {
                let subnets = subnets.into_iter().map(|s| SubnetId::new(s.as_ref())).collect::<Result<Vec<_>, _>>()?;
                let security_groups = security_groups
                    .into_iter()
                    .map(|s| SecurityGroupId::new(s.as_ref()))
                    .collect::<Result<Vec<_>, _>>()?;
                check_counts(subnets.len(), security_groups.len())?;
                Ok(Self::Vpc { subnets, security_groups })
            }
            (other, _) => Err(NetworkError::UnknownMode(other.to_string())),
        }
    }
}

fn check_counts(subnets: usize, security_groups: usize) -> Result<(), NetworkError> {
    if !(1..=MAX_SUBNETS).contains(&subnets) {
        return Err(NetworkError::SubnetCount(subnets));
    }
    if !(1..=MAX_SECURITY_GROUPS).contains(&security_groups) {
        return Err(NetworkError::SecurityGroupCount(security_groups));
    }
    Ok(())
}

/// Why a runtime's network would be refused. Each message says what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// VPC mode without a `networkModeConfig`.
    #[error("NetworkModeConfig is required for VPC mode: give at least one subnet and one security group")]
    MissingVpcConfig,
    /// A `networkMode` other than `PUBLIC` or `VPC`.
    #[error("networkMode `{0}` is not PUBLIC or VPC")]
    UnknownMode(String),
    /// A subnet or security group id of the wrong format.
    #[error(transparent)]
    BadId(#[from] IdError),
    /// No subnets, or more than [`MAX_SUBNETS`].
    #[error("a VPC runtime takes 1 to {MAX_SUBNETS} subnets, got {0}: list between 1 and {MAX_SUBNETS} subnet ids")]
    SubnetCount(usize),
    /// No security groups, or more than [`MAX_SECURITY_GROUPS`].
    #[error(
        "a VPC runtime takes 1 to {MAX_SECURITY_GROUPS} security groups, got {0}: list between 1 and {MAX_SECURITY_GROUPS} security group ids"
    )]
    SecurityGroupCount(usize),
    /// A subnet the inventory does not have.
    #[error("subnet {0} does not exist in this account and region: check the id, or create the subnet first")]
    UnknownSubnet(SubnetId),
    /// A security group the inventory does not have.
    #[error("security group {0} does not exist in this account and region: check the id, or create the group first")]
    UnknownSecurityGroup(SecurityGroupId),
    /// Subnets and security groups from more than one VPC.
    #[error(
        "the subnets and security groups of one runtime must all be in one VPC, but {first} is in {first_vpc} and {second} is in {second_vpc}: pick subnets and groups of the same VPC"
    )]
    MixedVpcs {
        /// The first subnet or security group id named.
        first: String,
        /// The VPC of `first`.
        first_vpc: VpcId,
        /// The first id named that is in another VPC.
        second: String,
        /// The VPC of `second`.
        second_vpc: VpcId,
    },
    /// A subnet in a zone where AgentCore Runtime does not run.
    #[error(
        "subnet {subnet} is in zone {az_id}, where AgentCore Runtime does not run in {region}: use subnets in {supported}"
    )]
    UnsupportedAz {
        /// The subnet.
        subnet: SubnetId,
        /// Its zone id.
        az_id: AzId,
        /// The inventory's region.
        region: String,
        /// The zone ids AgentCore supports in the region, comma-separated.
        supported: String,
    },
    /// A region not known to support AgentCore Runtime VPC mode.
    #[error("AgentCore Runtime VPC mode is not known to be available in region `{0}`: use a supported region")]
    UnsupportedRegion(String),
}

/// The ENI sharing key: AgentCore shares one ENI per subnet among all runtimes with the same *set*
/// of security groups (order and duplicates do not matter).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EniKey {
    /// The subnet the ENI is in.
    pub subnet: SubnetId,
    /// The set of security groups the ENI carries.
    pub security_groups: BTreeSet<SecurityGroupId>,
}

impl EniKey {
    /// The key of `subnet` with the set of `security_groups` (order and duplicates dropped).
    pub fn new(subnet: SubnetId, security_groups: impl IntoIterator<Item = SecurityGroupId>) -> Self {
        Self { subnet, security_groups: security_groups.into_iter().collect() }
    }
}

impl fmt::Display for EniKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [", self.subnet)?;
        for (i, sg) in self.security_groups.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{sg}")?;
        }
        f.write_str("]")
    }
}

/// A VPC network that passed validation, in set form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The one VPC of every subnet and security group.
    pub vpc: VpcId,
    /// The distinct subnets.
    pub subnets: BTreeSet<SubnetId>,
    /// The distinct security groups.
    pub security_groups: BTreeSet<SecurityGroupId>,
}

impl Placement {
    /// The ENI keys this network needs: one per subnet.
    pub fn keys(&self) -> impl Iterator<Item = EniKey> + '_ {
        self.subnets
            .iter()
            .map(|subnet| EniKey { subnet: subnet.clone(), security_groups: self.security_groups.clone() })
    }
}

/// Checks `network` against `inventory` as the service does: the subnets and groups exist, sit in one
/// VPC, and every subnet is in a zone AgentCore supports in the region. `Ok(None)` for public mode.
pub fn validate(inventory: &Inventory, network: &RuntimeNetwork) -> Result<Option<Placement>, NetworkError> {
    InventoryIndex::new(inventory)?.validate(network)
}

/// Lookups over an [`Inventory`], built once and reused for many runtimes.
pub(crate) struct InventoryIndex<'a> {
    pub(crate) inventory: &'a Inventory,
    pub(crate) subnets: FxHashMap<&'a str, usize>,
    security_groups: FxHashMap<&'a str, usize>,
    supported: &'static [&'static str],
    /// The distinct VPCs of the inventory's subnets and groups, in order of first appearance.
    pub(crate) vpcs: Vec<&'a VpcId>,
    /// Per subnet (by inventory position): the index of its VPC in `vpcs`.
    pub(crate) subnet_vpc: Vec<usize>,
    /// Per security group: the index of its VPC in `vpcs`.
    group_vpc: Vec<usize>,
    /// Per subnet: whether AgentCore runs in its zone.
    subnet_supported: Vec<bool>,
}

impl<'a> InventoryIndex<'a> {
    pub(crate) fn new(inventory: &'a Inventory) -> Result<Self, NetworkError> {
        let supported = supported_az_ids(&inventory.region)
            .ok_or_else(|| NetworkError::UnsupportedRegion(inventory.region.clone()))?;
        let subnets = inventory.subnets.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
        let security_groups = inventory.security_groups.iter().enumerate().map(|(i, g)| (g.id.as_str(), i)).collect();
        // VPCs as small integers, so that checking that a runtime stays in one VPC compares no text.
        let mut vpc_of: FxHashMap<&str, usize> = FxHashMap::default();
        let mut vpcs = Vec::new();
        let mut intern = |vpc: &'a VpcId| {
            *vpc_of.entry(vpc.as_str()).or_insert_with(|| {
                vpcs.push(vpc);
                vpcs.len() - 1
            })
        };
        let subnet_vpc = inventory.subnets.iter().map(|s| intern(&s.vpc)).collect();
        let group_vpc = inventory.security_groups.iter().map(|g| intern(&g.vpc)).collect();
        let subnet_supported = inventory.subnets.iter().map(|s| supported.contains(&s.az_id.as_str())).collect();
        Ok(Self { inventory, subnets, security_groups, supported, vpcs, subnet_vpc, group_vpc, subnet_supported })
    }

    pub(crate) fn subnet(&self, id: &SubnetId) -> Result<(usize, &'a Subnet), NetworkError> {
        let i = *self.subnets.get(id.as_str()).ok_or_else(|| NetworkError::UnknownSubnet(id.clone()))?;
        Ok((i, &self.inventory.subnets[i]))
    }

    pub(crate) fn security_group(&self, id: &SecurityGroupId) -> Result<(usize, &'a SecurityGroup), NetworkError> {
        let i = *self.security_groups.get(id.as_str()).ok_or_else(|| NetworkError::UnknownSecurityGroup(id.clone()))?;
        Ok((i, &self.inventory.security_groups[i]))
    }

    /// Checks one network. For a VPC network, fills `subnets` and `groups` with the sorted, distinct
    /// indices of its subnets and security groups in the inventory and returns the index of its VPC
    /// in `vpcs`; `None` for public mode. The buffers are reused across calls so that large plans
    /// allocate nothing here.
    pub(crate) fn check_into<'n>(
        &self,
        network: &'n RuntimeNetwork,
        subnet_ix: &mut Vec<usize>,
        group_ix: &mut Vec<usize>,
    ) -> Result<Option<usize>, NetworkError> {
        subnet_ix.clear();
        group_ix.clear();
        let RuntimeNetwork::Vpc { subnets, security_groups } = network else {
            return Ok(None);
        };
        check_counts(subnets.len(), security_groups.len())?;
        let mut first: Option<(&'n str, usize)> = None;
        let mut same_vpc = |what: &'n str, vpc: usize| match first {
            None => {
                first = Some((what, vpc));
                Ok(())
            }
            Some((_, v)) if v == vpc => Ok(()),
            Some((name, v)) => Err(NetworkError::MixedVpcs {
                first: name.to_string(),
                first_vpc: self.vpcs[v].clone(),
                second: what.to_string(),
                second_vpc: self.vpcs[vpc].clone(),
            }),
        };
        for id in subnets {
            let (i, subnet) = self.subnet(id)?;
            same_vpc(id.as_str(), self.subnet_vpc[i])?;
            if !self.subnet_supported[i] {
                return Err(NetworkError::UnsupportedAz {
                    subnet: id.clone(),
                    az_id: subnet.az_id.clone(),
                    region: self.inventory.region.clone(),
                    supported: self.supported.join(", "),
                });
            }
            subnet_ix.push(i);
        }
        for id in security_groups {
            let (i, _) = self.security_group(id)?;
            same_vpc(id.as_str(), self.group_vpc[i])?;
            group_ix.push(i);
        }
        subnet_ix.sort_unstable();
        subnet_ix.dedup();
        group_ix.sort_unstable();
        group_ix.dedup();
        Ok(first.map(|(_, vpc)| vpc))
    }

    pub(crate) fn validate(&self, network: &RuntimeNetwork) -> Result<Option<Placement>, NetworkError> {
        let (mut subnets, mut groups) = (Vec::new(), Vec::new());
        Ok(self.check_into(network, &mut subnets, &mut groups)?.map(|vpc| Placement {
            vpc: self.vpcs[vpc].clone(),
            subnets: subnets.iter().map(|&i| self.inventory.subnets[i].id.clone()).collect(),
            security_groups: groups.iter().map(|&i| self.inventory.security_groups[i].id.clone()).collect(),
        }))
    }
}
