//! The emulator's world: one [`RegionState`] per region (VPCs, subnets, security groups, network
//! interfaces, internet gateways, route tables, Elastic IP addresses, NAT gateways, agent
//! runtimes), the resources' types, and nothing that acts on them over time.
//!
//! [`crate::app_state::AppState`] keeps the world behind one lock, beside the data plane's
//! sessions; [`crate::transitions`] applies its time-driven transitions; [`crate::eni`] is the
//! ENI mechanism that works on it.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::time::SystemTime;

use ipnet::Ipv4Net;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::{self, Zone};
use crate::ids;

/// The name of the endpoint every runtime has from its creation, which always points at the
/// runtime's newest version (the data plane's `qualifier` when none is given).
pub const DEFAULT_ENDPOINT: &str = "DEFAULT";

/// The default VPC's CIDR block, as in every real account.
pub const DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";

/// The prefix length of the default VPC's subnets (one per zone: 172.31.0.0/20, 172.31.16.0/20, …).
const DEFAULT_SUBNET_PREFIX: u8 = 20;

/// All regions.
#[derive(Clone, Debug, Default)]
pub struct World {
    regions: BTreeMap<String, RegionState>,
    /// Whether a region starts with its default VPC ([`crate::config::Config::default_vpc`]).
    default_vpc: bool,
}

impl World {
    /// No regions yet; each starts with a default VPC when `default_vpc` is set.
    pub fn new(default_vpc: bool) -> Self {
        Self { regions: BTreeMap::new(), default_vpc }
    }

    /// The state of `region`, created on first use: empty, or with its default VPC
    /// ([`RegionState::add_default_vpc`]).
    pub fn region(&mut self, name: &str) -> &mut RegionState {
        let default_vpc = self.default_vpc;
        self.regions.entry(name.to_string()).or_insert_with(|| {
            let mut region = RegionState::new(name);
            if default_vpc {
                region.add_default_vpc();
            }
            region
        })
    }

    pub fn regions(&self) -> impl Iterator<Item = &RegionState> {
        self.regions.values()
    }

    pub fn regions_mut(&mut self) -> impl Iterator<Item = &mut RegionState> {
        self.regions.values_mut()
    }
}

/// One region's resources.
#[derive(Clone, Debug)]
pub struct RegionState {
    pub name: String,
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub network_interfaces: BTreeMap<String, NetworkInterface>,
    pub internet_gateways: BTreeMap<String, InternetGateway>,
    /// Every VPC's main table and the tables CreateRouteTable made.
    pub route_tables: BTreeMap<String, RouteTable>,
    /// Elastic IP addresses, by allocation id.
    pub addresses: BTreeMap<String, Address>,
    /// NAT gateways, `deleted` and `failed` ones included until they stop being shown.
    pub nat_gateways: BTreeMap<String, NatGateway>,
    /// VPC endpoints (interface and gateway), `deleted` interface ones until they stop being shown.
    pub vpc_endpoints: BTreeMap<String, VpcEndpoint>,
    /// ModifyManagedResourceVisibility: whether Describe calls hide service-managed resources
    /// unless asked with `IncludeManagedResources` (`hidden`), or show them (`visible`, the default).
    pub managed_resources_hidden: bool,
    pub runtimes: BTreeMap<String, Runtime>,
    /// AgentCore ENIs a runtime needs that do not exist yet, and when they will be created
    /// (`Config::eni_create_delay` after the runtime asked for them).
    pub pending_enis: BTreeMap<EniKey, SystemTime>,
    /// CreateAgentRuntime `clientToken` → what it created.
    pub create_tokens: HashMap<String, TokenRecord>,
    /// CreateNetworkInterface `ClientToken` → the ENI it created.
    pub eni_client_tokens: HashMap<String, String>,
    /// CreateVpcEndpoint `ClientToken` → the endpoint it created.
    pub vpc_endpoint_client_tokens: HashMap<String, String>,
    /// The region's DHCP options set, shown on every VPC.
    pub dhcp_options_id: String,
    seq: u64,
}

/// What a client token was used for: the request it came with and the answer it got.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub request: Value,
    pub response: Value,
}

impl RegionState {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            vpcs: BTreeMap::new(),
            subnets: BTreeMap::new(),
            security_groups: BTreeMap::new(),
            network_interfaces: BTreeMap::new(),
            internet_gateways: BTreeMap::new(),
            route_tables: BTreeMap::new(),
            addresses: BTreeMap::new(),
            nat_gateways: BTreeMap::new(),
            vpc_endpoints: BTreeMap::new(),
            managed_resources_hidden: false,
            pending_enis: BTreeMap::new(),
            runtimes: BTreeMap::new(),
            create_tokens: HashMap::new(),
            eni_client_tokens: HashMap::new(),
            vpc_endpoint_client_tokens: HashMap::new(),
            dhcp_options_id: ids::ec2_id("dopt"),
            seq: 0,
        }
    }

    /// A strictly increasing number giving resources a stable creation order.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A new VPC's record (not yet in the region): DNS support on, DNS hostnames only for the
    /// default VPC.
    pub fn new_vpc(&mut self, cidr: Ipv4Net, is_default: bool, tags: BTreeMap<String, String>) -> Vpc {
        Vpc {
            id: ids::ec2_id("vpc"),
            cidr,
            cidr_association_id: ids::ec2_id("vpc-cidr-assoc"),
            is_default,
            dns_support: true,
            dns_hostnames: is_default,
            network_address_usage_metrics: false,
            tags,
            seq: self.next_seq(),
        }
    }

    /// Adds `vpc` with what EC2 creates with every VPC: its `default` security group (all traffic
    /// in from its own members, all traffic out) and its main route table.
    pub fn insert_vpc(&mut self, vpc: &Vpc) {
        let group_id = ids::ec2_id("sg");
        let default_group = SecurityGroup {
            id: group_id.clone(),
            vpc_id: vpc.id.clone(),
            name: "default".into(),
            description: "default VPC security group".into(),
            rules: vec![SecurityGroupRule::all_from_group(&group_id), SecurityGroupRule::default_egress()],
            tags: BTreeMap::new(),
            seq: self.next_seq(),
        };
        self.security_groups.insert(default_group.id.clone(), default_group);
        let main_table = RouteTable::main_of(vpc, self.next_seq());
        self.route_tables.insert(main_table.id.clone(), main_table);
        self.vpcs.insert(vpc.id.clone(), vpc.clone());
    }

    /// Adds the default VPC a real account has: 172.31.0.0/16 (`isDefault`, DNS hostnames on), a
    /// /20 default subnet per Availability Zone of the region (`defaultForAz`,
    /// `mapPublicIpOnLaunch`), an attached internet gateway with a 0.0.0.0/0 route to it in the
    /// main route table, and the default security group.
    pub fn add_default_vpc(&mut self) {
        let cidr: Ipv4Net = DEFAULT_VPC_CIDR.parse().expect("a valid CIDR");
        let vpc = self.new_vpc(cidr, true, BTreeMap::new());
        self.insert_vpc(&vpc);
        let blocks = cidr.subnets(DEFAULT_SUBNET_PREFIX).expect("/20 fits in /16");
        for (zone, block) in catalog::zones(&self.name).iter().zip(blocks) {
            let subnet = Subnet {
                id: ids::ec2_id("subnet"),
                vpc_id: vpc.id.clone(),
                cidr: block,
                zone: *zone,
                default_for_az: true,
                tags: BTreeMap::new(),
                seq: self.next_seq(),
            };
            self.subnets.insert(subnet.id.clone(), subnet);
        }
        let gateway = InternetGateway {
            id: ids::ec2_id("igw"),
            attached_vpc: Some(vpc.id.clone()),
            tags: BTreeMap::new(),
            seq: self.next_seq(),
        };
        if let Some(main) = self.route_tables.values_mut().find(|t| t.vpc_id == vpc.id && t.is_main()) {
            let to_gateway = RouteTarget::InternetGateway(gateway.id.clone());
            main.routes.push(Route { destination: Ipv4Net::default(), target: to_gateway });
        }
        self.internet_gateways.insert(gateway.id.clone(), gateway);
    }

    /// The subnet with the given id.
    pub fn subnet(&self, id: &str) -> Option<&Subnet> {
        self.subnets.get(id)
    }

    /// Every taggable resource's tags, by resource id, with its EC2 resource type.
    pub fn tagged_resources(&self) -> Vec<(&str, &'static str, &BTreeMap<String, String>, u64)> {
        let mut out: Vec<_> = self
            .vpcs
            .values()
            .map(|v| (v.id.as_str(), "vpc", &v.tags, v.seq))
            .chain(self.subnets.values().map(|s| (s.id.as_str(), "subnet", &s.tags, s.seq)))
            .chain(self.security_groups.values().map(|g| (g.id.as_str(), "security-group", &g.tags, g.seq)))
            .chain(self.network_interfaces.values().map(|n| (n.id.as_str(), "network-interface", &n.tags, n.seq)))
            .chain(self.internet_gateways.values().map(|g| (g.id.as_str(), "internet-gateway", &g.tags, g.seq)))
            .chain(self.route_tables.values().map(|t| (t.id.as_str(), "route-table", &t.tags, t.seq)))
            .chain(self.addresses.values().map(|a| (a.allocation_id.as_str(), "elastic-ip", &a.tags, a.seq)))
            .chain(self.nat_gateways.values().map(|n| (n.id.as_str(), "natgateway", &n.tags, n.seq)))
            .chain(self.vpc_endpoints.values().map(|e| (e.id.as_str(), "vpc-endpoint", &e.tags, e.seq)))
            .collect();
        out.sort_by_key(|r| r.3);
        out
    }

    /// The tags of the resource `id`, if it exists.
    pub fn tags_mut(&mut self, id: &str) -> Option<&mut BTreeMap<String, String>> {
        if let Some(v) = self.vpcs.get_mut(id) {
            return Some(&mut v.tags);
        }
        if let Some(s) = self.subnets.get_mut(id) {
            return Some(&mut s.tags);
        }
        if let Some(g) = self.security_groups.get_mut(id) {
            return Some(&mut g.tags);
        }
        if let Some(n) = self.network_interfaces.get_mut(id) {
            return Some(&mut n.tags);
        }
        if let Some(g) = self.internet_gateways.get_mut(id) {
            return Some(&mut g.tags);
        }
        if let Some(t) = self.route_tables.get_mut(id) {
            return Some(&mut t.tags);
        }
        if let Some(a) = self.addresses.get_mut(id) {
            return Some(&mut a.tags);
        }
        if let Some(n) = self.nat_gateways.get_mut(id) {
            return Some(&mut n.tags);
        }
        self.vpc_endpoints.get_mut(id).map(|e| &mut e.tags)
    }

    /// The internet gateway attached to `vpc_id`, if any.
    pub fn attached_internet_gateway(&self, vpc_id: &str) -> Option<&InternetGateway> {
        self.internet_gateways.values().find(|g| g.attached_vpc.as_deref() == Some(vpc_id))
    }

    /// Removes the ENIs a VPC endpoint or NAT gateway made.
    pub fn remove_enis_of(&mut self, resource_id: &str) {
        self.network_interfaces.retain(|_, n| n.service_resource() != Some(resource_id));
    }

    /// The NAT gateways that still hold their subnet and address (neither `deleted` nor `failed`).
    pub fn live_nat_gateways(&self) -> impl Iterator<Item = &NatGateway> {
        self.nat_gateways.values().filter(|n| n.state.is_live())
    }
}

#[derive(Clone, Debug)]
pub struct Vpc {
    pub id: String,
    pub cidr: Ipv4Net,
    pub cidr_association_id: String,
    /// The region's default VPC (`isDefault`).
    pub is_default: bool,
    /// `enableDnsSupport` (true unless ModifyVpcAttribute turned it off).
    pub dns_support: bool,
    /// `enableDnsHostnames` (false for a VPC of CreateVpc, true for the default VPC).
    pub dns_hostnames: bool,
    /// `enableNetworkAddressUsageMetrics` (false unless ModifyVpcAttribute turned it on).
    pub network_address_usage_metrics: bool,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

#[derive(Clone, Debug)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: Ipv4Net,
    pub zone: Zone,
    /// One of the default VPC's subnets (`defaultForAz`, and `mapPublicIpOnLaunch` with it).
    pub default_for_az: bool,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

#[derive(Clone, Debug)]
pub struct SecurityGroup {
    pub id: String,
    pub vpc_id: String,
    pub name: String,
    pub description: String,
    /// Ingress and egress rules, in the order they were authorized.
    pub rules: Vec<SecurityGroupRule>,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

impl SecurityGroup {
    /// The group EC2 creates with every VPC (it cannot be deleted by itself).
    pub fn is_default(&self) -> bool {
        self.name == "default"
    }

    /// Whether one of this group's rules names `group_id` as its peer.
    pub fn references(&self, group_id: &str) -> bool {
        self.rules.iter().any(|r| r.peer == RulePeer::Group(group_id.to_string()))
    }
}

/// One security group rule (`sgr-…`): one protocol and port range, one peer, one direction.
#[derive(Clone, Debug)]
pub struct SecurityGroupRule {
    pub id: String,
    pub egress: bool,
    pub permission: RulePermission,
    pub peer: RulePeer,
    pub description: Option<String>,
}

impl SecurityGroupRule {
    /// The rule EC2 gives every new security group: all traffic out to 0.0.0.0/0.
    pub fn default_egress() -> Self {
        Self {
            id: ids::ec2_id("sgr"),
            egress: true,
            permission: RulePermission { protocol: "-1".into(), ports: None },
            peer: RulePeer::Cidr(Ipv4Net::default()),
            description: None,
        }
    }

    /// The rule EC2 gives a VPC's `default` group: all traffic in from members of `group_id`.
    pub fn all_from_group(group_id: &str) -> Self {
        Self {
            id: ids::ec2_id("sgr"),
            egress: false,
            permission: RulePermission { protocol: "-1".into(), ports: None },
            peer: RulePeer::Group(group_id.to_string()),
            description: None,
        }
    }
}

/// What a rule allows: a protocol (`-1` for all, `tcp`, `udp`, `icmp` or an IP protocol number)
/// and its port range (`None` for protocols without ports; ICMP type and code for `icmp`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RulePermission {
    pub protocol: String,
    pub ports: Option<(i64, i64)>,
}

/// The other end of a rule: an IPv4 CIDR block or a security group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RulePeer {
    Cidr(Ipv4Net),
    Group(String),
}

/// An internet gateway, attached to at most one VPC.
#[derive(Clone, Debug)]
pub struct InternetGateway {
    pub id: String,
    pub attached_vpc: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

/// A route table: its VPC's main table (made with the VPC, gone with it) or one of CreateRouteTable.
#[derive(Clone, Debug)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    /// In the order they were made; the first is the VPC's `local` route.
    pub routes: Vec<Route>,
    pub associations: Vec<RouteTableAssociation>,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

impl RouteTable {
    /// The main route table of a new VPC: its `local` route and the main association.
    pub fn main_of(vpc: &Vpc, seq: u64) -> Self {
        Self {
            id: ids::ec2_id("rtb"),
            vpc_id: vpc.id.clone(),
            routes: vec![Route { destination: vpc.cidr, target: RouteTarget::Local }],
            associations: vec![RouteTableAssociation { id: ids::ec2_id("rtbassoc"), subnet_id: None }],
            tags: BTreeMap::new(),
            seq,
        }
    }

    /// Whether this is its VPC's main route table.
    pub fn is_main(&self) -> bool {
        self.associations.iter().any(|a| a.subnet_id.is_none())
    }
}

/// One IPv4 route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub destination: Ipv4Net,
    pub target: RouteTarget,
}

/// Where a route sends its traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// Within the VPC (the route every table has for the VPC's CIDR).
    Local,
    /// An internet gateway (`igw-…`).
    InternetGateway(String),
    /// A NAT gateway (`nat-…`).
    NatGateway(String),
}

/// A route table's association: with a subnet, or the VPC's main association (`subnet_id: None`).
#[derive(Clone, Debug)]
pub struct RouteTableAssociation {
    /// `rtbassoc-…`.
    pub id: String,
    pub subnet_id: Option<String>,
}

/// An Elastic IP address (domain `vpc`).
#[derive(Clone, Debug)]
pub struct Address {
    /// `eipalloc-…`.
    pub allocation_id: String,
    pub public_ip: Ipv4Addr,
    /// `eipassoc-…` while a NAT gateway uses the address.
    pub association_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

/// The states of a NAT gateway, as DescribeNatGateways names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatGatewayState {
    Pending,
    Failed,
    Available,
    Deleting,
    Deleted,
}

impl NatGatewayState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Available => "available",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
        }
    }

    /// Whether the gateway still holds its subnet and its Elastic IP address.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Pending | Self::Available | Self::Deleting)
    }
}

/// A public NAT gateway in one subnet, with one Elastic IP address.
#[derive(Clone, Debug)]
pub struct NatGateway {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub allocation_id: String,
    pub public_ip: Ipv4Addr,
    pub state: NatGatewayState,
    /// The `failureCode` and `failureMessage` of a `failed` gateway.
    pub failure: Option<(String, String)>,
    pub created_at: SystemTime,
    pub deleted_at: Option<SystemTime>,
    /// When the state next moves on ([`crate::transitions`]): pending → available (or failed),
    /// deleting → deleted, deleted or failed → no longer shown.
    pub due: Option<SystemTime>,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

/// The type of a VPC endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VpcEndpointType {
    /// ENIs in subnets, reached by DNS (ECR, CloudWatch Logs, STS, …).
    Interface,
    /// Routes to a prefix list in route tables (S3, DynamoDB).
    Gateway,
}

impl VpcEndpointType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interface => "Interface",
            Self::Gateway => "Gateway",
        }
    }
}

/// The states of a VPC endpoint this emulator shows (the model's `State` enum, as EC2 writes them
/// for endpoints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VpcEndpointState {
    Pending,
    Available,
    Deleting,
    Deleted,
}

impl VpcEndpointState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
        }
    }
}

/// A VPC endpoint to an AWS service: an interface endpoint with one ENI per subnet, or a gateway
/// endpoint with a route in each of its route tables.
#[derive(Clone, Debug)]
pub struct VpcEndpoint {
    /// `vpce-…`.
    pub id: String,
    pub vpc_id: String,
    /// `com.amazonaws.<region>.<service>`.
    pub service_name: String,
    pub endpoint_type: VpcEndpointType,
    pub state: VpcEndpointState,
    /// Interface endpoints: one subnet per Availability Zone.
    pub subnet_ids: Vec<String>,
    /// Interface endpoints: the groups of its ENIs.
    pub group_ids: Vec<String>,
    /// Gateway endpoints.
    pub route_table_ids: Vec<String>,
    pub private_dns_enabled: bool,
    pub policy_document: String,
    pub created_at: SystemTime,
    /// When the state next moves on: pending → available, deleting → deleted → no longer shown.
    pub due: Option<SystemTime>,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

impl VpcEndpoint {
    /// Whether the endpoint still holds its subnets, groups and route tables.
    pub fn is_live(&self) -> bool {
        self.state != VpcEndpointState::Deleted
    }

    /// The id of the prefix list a gateway endpoint's routes lead to: one per service name (`pl-`
    /// and 8 hex digits, the same for every endpoint to the service).
    pub fn prefix_list_id(&self) -> String {
        prefix_list_id(&self.service_name)
    }
}

/// The id of the prefix list of the AWS service `service_name`: `pl-` and 8 hex digits, fixed for
/// a given name (real ids are per region and service too, but not derived from the name).
pub fn prefix_list_id(service_name: &str) -> String {
    let hash = service_name.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("pl-{hash:08x}")
}

/// An elastic network interface: a plain one (CreateNetworkInterface) or one the AgentCore
/// mechanism manages.
#[derive(Clone, Debug)]
pub struct NetworkInterface {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub zone: Zone,
    /// Security group ids, sorted.
    pub groups: Vec<String>,
    pub private_ip: Ipv4Addr,
    pub mac: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub created_at: SystemTime,
    pub seq: u64,
    /// Who made the ENI and manages it.
    pub owner: EniOwner,
}

impl NetworkInterface {
    /// A new ENI in `subnet` at `ip` (a fresh id and MAC address), not yet in the region.
    pub fn new(subnet: &Subnet, groups: Vec<String>, ip: Ipv4Addr, description: String, owner: EniOwner) -> Self {
        Self {
            id: ids::ec2_id("eni"),
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            zone: subnet.zone,
            groups,
            private_ip: ip,
            mac: ids::mac_address(),
            description,
            tags: BTreeMap::new(),
            created_at: SystemTime::UNIX_EPOCH,
            seq: 0,
            owner,
        }
    }

    /// The AgentCore part of an ENI the AgentCore mechanism manages.
    pub fn agentcore(&self) -> Option<&ManagedEni> {
        match &self.owner {
            EniOwner::AgentCore(managed) => Some(managed),
            _ => None,
        }
    }

    /// The same, to change its linger.
    pub fn agentcore_mut(&mut self) -> Option<&mut ManagedEni> {
        match &mut self.owner {
            EniOwner::AgentCore(managed) => Some(managed),
            _ => None,
        }
    }

    /// Whether an AWS service made the ENI and manages it (`requesterManaged`): every ENI but the
    /// ones of CreateNetworkInterface.
    pub fn requester_managed(&self) -> bool {
        !matches!(self.owner, EniOwner::Account)
    }

    /// `interfaceType`.
    pub fn interface_type(&self) -> &'static str {
        match self.owner {
            EniOwner::Account => "interface",
            EniOwner::AgentCore(_) => AGENTCORE_INTERFACE_TYPE,
            EniOwner::VpcEndpoint { .. } => "vpc_endpoint",
            EniOwner::NatGateway { .. } => "nat_gateway",
        }
    }

    /// `status`: a service's ENI is attached to that service (`in-use`); the account's are
    /// `available` (nothing here attaches them).
    pub fn status(&self) -> &'static str {
        if self.requester_managed() { "in-use" } else { "available" }
    }

    /// The attachment id of a service's ENI (`ela-attach-…`).
    pub fn attachment_id(&self) -> Option<&str> {
        match &self.owner {
            EniOwner::Account => None,
            EniOwner::AgentCore(managed) => Some(&managed.attachment_id),
            EniOwner::VpcEndpoint { attachment_id, .. } | EniOwner::NatGateway { attachment_id, .. } => {
                Some(attachment_id)
            }
        }
    }

    /// `requesterId`: who created a service's ENI. AWS does not document the values; these are
    /// the emulator's guesses (README, "Not emulated").
    pub fn requester_id(&self) -> Option<&'static str> {
        match self.owner {
            EniOwner::Account => None,
            EniOwner::AgentCore(_) => Some("bedrock-agentcore.amazonaws.com"),
            EniOwner::VpcEndpoint { .. } => Some("vpce.amazonaws.com"),
            EniOwner::NatGateway { .. } => Some("natgateway.amazonaws.com"),
        }
    }

    /// The id of the VPC endpoint or NAT gateway the ENI belongs to.
    pub fn service_resource(&self) -> Option<&str> {
        match &self.owner {
            EniOwner::VpcEndpoint { endpoint_id: id, .. } | EniOwner::NatGateway { nat_id: id, .. } => Some(id),
            _ => None,
        }
    }
}

/// The `interfaceType` of AgentCore's ENIs (absent from the EC2 model's enum; the SDKs keep it as
/// an unknown value).
pub const AGENTCORE_INTERFACE_TYPE: &str = "agentic_ai";

/// Who made an ENI: the account (CreateNetworkInterface), or a service for one of its resources.
#[derive(Clone, Debug)]
pub enum EniOwner {
    /// CreateNetworkInterface: `interface`, `available`, not requester-managed.
    Account,
    /// AgentCore Runtime's mechanism ([`crate::eni`]): `agentic_ai`.
    AgentCore(ManagedEni),
    /// An interface VPC endpoint's ENI in one of its subnets: `vpc_endpoint`.
    VpcEndpoint { endpoint_id: String, attachment_id: String },
    /// A NAT gateway's ENI in its subnet: `nat_gateway`.
    NatGateway { nat_id: String, attachment_id: String },
}

/// What one managed ENI stands for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EniKey {
    pub subnet_id: String,
    /// Sorted and de-duplicated.
    pub security_groups: Vec<String>,
    /// Only under [`crate::eni::EniPolicy::PerRuntime`].
    pub runtime_id: Option<String>,
}

/// What makes an ENI an AgentCore one.
#[derive(Clone, Debug)]
pub struct ManagedEni {
    pub key: EniKey,
    pub attachment_id: String,
    /// Set while no runtime uses the ENI: the time it will be deleted.
    pub linger_until: Option<SystemTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuntimeStatus {
    Creating,
    CreateFailed,
    Updating,
    UpdateFailed,
    Ready,
    Deleting,
    /// The deletion failed (only through an outcome fault, [`crate::faults`]): the runtime stays,
    /// with its ENIs, until a DeleteAgentRuntime succeeds.
    DeleteFailed,
}

impl RuntimeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::CreateFailed => "CREATE_FAILED",
            Self::Updating => "UPDATING",
            Self::UpdateFailed => "UPDATE_FAILED",
            Self::Ready => "READY",
            Self::Deleting => "DELETING",
            Self::DeleteFailed => "DELETE_FAILED",
        }
    }
}

/// VPC-mode network placement of a runtime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcPlacement {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

/// One accepted Create/Update request: the stored document (returned by GetAgentRuntime) and the
/// parts the emulator acts on.
#[derive(Clone, Debug)]
pub struct RuntimeSpec {
    /// Configuration members as GetAgentRuntime returns them (artifact, roleArn, network,
    /// lifecycle, protocol, description, …), already normalised.
    pub document: Map<String, Value>,
    /// `None` for PUBLIC network mode.
    pub vpc: Option<VpcPlacement>,
    pub idle_timeout_secs: u64,
    pub max_lifetime_secs: u64,
}

#[derive(Clone, Debug)]
pub struct RuntimeVersion {
    pub version: u32,
    pub spec: RuntimeSpec,
    pub created_at: SystemTime,
    pub status: RuntimeStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// CREATING/UPDATING → READY.
    Ready,
    /// DELETING → removed.
    Gone,
    /// CREATING → CREATE_FAILED, UPDATING → UPDATE_FAILED or DELETING → DELETE_FAILED: the outcome
    /// an outcome fault ([`crate::faults`]) chose when the request was accepted.
    Fail(RuntimeStatus),
}

#[derive(Clone, Copy, Debug)]
pub struct Pending {
    pub at: SystemTime,
    pub transition: Transition,
}

#[derive(Clone, Debug)]
pub struct Runtime {
    pub id: String,
    pub name: String,
    pub arn: String,
    pub created_at: SystemTime,
    pub last_updated_at: SystemTime,
    pub status: RuntimeStatus,
    pub failure_reason: Option<String>,
    pub versions: Vec<RuntimeVersion>,
    /// The version the DEFAULT endpoint serves (0 before the first READY).
    pub live_version: u32,
    /// The network the ENI mechanism provides for this runtime (the last one that was applied
    /// successfully; `None` for PUBLIC or a failed creation).
    pub effective_vpc: Option<VpcPlacement>,
    pub pending: Option<Pending>,
    /// UpdateAgentRuntime `clientToken` → what it was used for.
    pub update_tokens: HashMap<String, TokenRecord>,
    /// Tags (CreateAgentRuntime `tags`, TagResource, UntagResource); gone with the runtime.
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
    /// The `id` of the implicit [`DEFAULT_ENDPOINT`] (`DEFAULT-` and 10 alphanumerics).
    pub default_endpoint_id: String,
    /// The endpoints created with CreateAgentRuntimeEndpoint, by name (never `DEFAULT`, whose
    /// state follows the runtime's); gone with the runtime.
    pub endpoints: BTreeMap<String, Endpoint>,
    /// CreateAgentRuntimeEndpoint `clientToken` → what it was used for.
    pub endpoint_tokens: HashMap<String, TokenRecord>,
}

impl Runtime {
    pub fn current_version(&self) -> &RuntimeVersion {
        self.versions.last().expect("a runtime has at least one version")
    }

    pub fn version(&self, v: u32) -> Option<&RuntimeVersion> {
        self.versions.iter().find(|x| x.version == v)
    }

    /// What the endpoint `name` serves now: `None` when the runtime has no such endpoint,
    /// `Some(None)` when it has but nothing is live behind it (still being created, failed, or
    /// going away with the runtime), else the live version.
    pub fn serving_version(&self, name: &str) -> Option<Option<u32>> {
        let live = if name == DEFAULT_ENDPOINT {
            (self.live_version > 0).then_some(self.live_version)
        } else {
            let endpoint = self.endpoints.get(name)?;
            endpoint.live_version.filter(|_| endpoint.status != RuntimeStatus::Deleting)
        };
        Some(live.filter(|_| !self.is_going()))
    }

    /// Whether the runtime is on its way out: DELETING, or DELETE_FAILED (it serves nothing and
    /// takes no new endpoint or change until a deletion succeeds).
    pub fn is_going(&self) -> bool {
        matches!(self.status, RuntimeStatus::Deleting | RuntimeStatus::DeleteFailed)
    }

    /// The endpoints that point at version `v` (live, or as the target of a change in flight):
    /// `DEFAULT` for the newest version and its live one, and any other endpoint by name.
    pub fn endpoints_using(&self, v: u32) -> Vec<&str> {
        let mut names = Vec::new();
        if self.live_version == v || self.current_version().version == v {
            names.push(DEFAULT_ENDPOINT);
        }
        names.extend(
            self.endpoints
                .values()
                .filter(|e| e.live_version == Some(v) || e.target_version == Some(v))
                .map(|e| e.name.as_str()),
        );
        names
    }
}

/// A runtime endpoint made with CreateAgentRuntimeEndpoint: a name that points at one version,
/// moved only by UpdateAgentRuntimeEndpoint.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub name: String,
    /// `<name>-` and 10 alphanumerics (the model's endpoint id pattern).
    pub id: String,
    /// `<runtime ARN>/runtime-endpoint/<name>`.
    pub arn: String,
    pub description: Option<String>,
    /// CREATING → READY, UPDATING → READY (or the `_FAILED` states), DELETING → gone.
    pub status: RuntimeStatus,
    /// The version the endpoint serves (`None` until its creation completes).
    pub live_version: Option<u32>,
    /// The version a creation or update in flight moves it to.
    pub target_version: Option<u32>,
    pub failure_reason: Option<String>,
    pub created_at: SystemTime,
    pub last_updated_at: SystemTime,
    pub pending: Option<Pending>,
    /// UpdateAgentRuntimeEndpoint `clientToken` → what it was used for.
    pub update_tokens: HashMap<String, TokenRecord>,
    /// CreateAgentRuntimeEndpoint `tags`, TagResource, UntagResource.
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}
