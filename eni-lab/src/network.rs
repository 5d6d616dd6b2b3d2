//! The network a run deploys into, created through [`Calls`] (so `--plan` prints it) with every
//! resource tagged with the run's tags and recorded in its state file as soon as it exists:
//!
//! - [`create_offline`]: what agentcore-local models: a VPC and private subnets in distinct supported
//!   zones;
//! - [`create_report_network`]: the report's VPC for a real account: 2 public and 2 private /24
//!   subnets in two zones AgentCore supports, an internet gateway, one NAT gateway with an elastic IP,
//!   routes (what the agent needs to reach ECR), and an S3 gateway endpoint on the private route
//!   table (free of charge; ECR serves image layers from S3, and runtimes made since 2026-05-05 get no
//!   service-managed S3 endpoint: facts sheet, §5);
//! - [`check_existing`]: or an existing VPC and subnets (`--vpc-id`, `--subnet-ids`), checked with
//!   `eni-model` (supported zones, one VPC, address headroom) and shown before anything is created;
//! - [`create_security_group`]: the runtimes' groups (deploy's first, sg-split's second).
//!
//! Each returns or extends the one [`Network`] the phases use.

use std::time::Duration;

use anyhow::Context;
use aws_sdk_ec2::types::{DomainType, Filter, ResourceType, VpcEndpointType};
use eni_model::{AzId, EniPlan, Inventory, Runtime, RuntimeNetwork, SecurityGroup, Subnet, SubnetId, VpcId};

use crate::call;
use crate::calls::{Calls, created};
use crate::error::sdk_error;
use crate::run::RunId;
use crate::state::Kind;

/// The VPC's CIDR. A new VPC like the report's has public subnets `10.0.0.0/24`, `10.0.1.0/24` and
/// private ones `10.0.2.0/24`, `10.0.3.0/24` (the report's CDK layout); offline, private subnet `i` is
/// `10.0.(2 + i).0/24`.
pub const VPC_CIDR: &str = "10.0.0.0/16";
/// Zones the report's VPC spans.
pub const ZONES: usize = 2;
/// How long to wait for the NAT gateway to become available before routing through it.
pub const NAT_WAIT: Duration = Duration::from_secs(600);

/// What the runtimes are deployed into. With `--plan` the ids of what would be created are
/// placeholders (`<new vpc 1>`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    pub region: String,
    pub vpc_id: String,
    /// The subnets the runtimes' ENIs go in (the private ones of a new VPC, or `--subnet-ids`).
    pub private_subnet_ids: Vec<String>,
    /// The zone ids of `private_subnet_ids`, in the same order.
    pub az_ids: Vec<String>,
    /// The CIDR blocks of `private_subnet_ids`, in the same order.
    pub cidrs: Vec<String>,
    /// Public subnets of the report's VPC (the NAT gateway's); empty otherwise.
    pub public_subnet_ids: Vec<String>,
    /// The runtimes' security groups: `[0]` is shared by every runtime; sg-split adds `[1]`.
    pub security_group_ids: Vec<String>,
    /// True when this run created the VPC (false for `--vpc-id`).
    pub created: bool,
}

impl Network {
    fn new(region: &str, vpc_id: String, created: bool) -> Self {
        Self {
            region: region.to_owned(),
            vpc_id,
            private_subnet_ids: Vec::new(),
            az_ids: Vec::new(),
            cidrs: Vec::new(),
            public_subnet_ids: Vec::new(),
            security_group_ids: Vec::new(),
            created,
        }
    }

    /// The private subnets as the model sees them.
    pub fn subnets(&self) -> anyhow::Result<Vec<Subnet>> {
        let vpc: VpcId = self.vpc_id.parse()?;
        (0..self.private_subnet_ids.len())
            .map(|i| {
                Ok(Subnet {
                    id: self.private_subnet_ids[i].parse()?,
                    vpc: vpc.clone(),
                    az_id: self.az_ids[i].parse()?,
                    cidr: self.cidrs[i].parse().with_context(|| format!("CIDR {:?}", self.cidrs[i]))?,
                })
            })
            .collect()
    }

    /// The runtimes' security groups as the model sees them.
    pub fn security_groups(&self) -> anyhow::Result<Vec<SecurityGroup>> {
        let vpc: VpcId = self.vpc_id.parse()?;
        self.security_group_ids.iter().map(|id| Ok(SecurityGroup { id: id.parse()?, vpc: vpc.clone() })).collect()
    }

    /// The model's inventory of this network.
    pub fn inventory(&self) -> anyhow::Result<Inventory> {
        let mut inventory = Inventory::new(&self.region);
        for subnet in self.subnets()? {
            inventory = inventory.with_subnet(subnet);
        }
        for group in self.security_groups()? {
            inventory = inventory.with_security_group(group);
        }
        Ok(inventory)
    }

    /// The model's view of a runtime in these subnets and security group `group`.
    pub fn runtime_network(&self, group: usize) -> anyhow::Result<RuntimeNetwork> {
        Ok(RuntimeNetwork::vpc(&self.private_subnet_ids, [self.security_group_ids[group].as_str()])?)
    }

    fn add_private_subnet(&mut self, id: String, az_id: &str, cidr: &str) {
        self.private_subnet_ids.push(id);
        self.az_ids.push(az_id.to_owned());
        self.cidrs.push(cidr.to_owned());
    }
}

/// An existing VPC and subnets to use instead of creating them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
}

/// Why an existing network cannot host the experiment. Each message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("region `{0}` has no zone where AgentCore Runtime supports VPC mode: pick one of {1}")]
    UnsupportedRegion(String, String),
    #[error("{region} has only {found} zone(s) where AgentCore accepts subnets ({zones}); {needed} needed")]
    TooFewZones { region: String, found: usize, zones: String, needed: usize },
    #[error("VPC {0} does not exist in this account and region: check --vpc-id and --region")]
    UnknownVpc(String),
    #[error("subnet(s) {0} do not exist in this account and region: check --subnet-ids and --region")]
    UnknownSubnets(String),
    #[error("subnet {subnet} belongs to {subnet_vpc}, not to --vpc-id {vpc}: give subnets of that one VPC")]
    OtherVpc { subnet: String, subnet_vpc: String, vpc: String },
    #[error("{0}")]
    Model(#[from] eni_model::PlanError),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    OutOfAddresses(Vec<eni_model::Warning>),
    #[error("--subnet-ids needs at least one subnet id (comma-separated)")]
    NoSubnets,
    #[error(transparent)]
    Api(#[from] anyhow::Error),
}

/// Placeholder security groups for the plan of an existing network: the shared one and runtime 0's
/// second one at the SG-split phase (the deploy creates them).
const PLANNED_SHARED_GROUP: &str = "sg-plannedshared";
const PLANNED_SPLIT_GROUP: &str = "sg-plannedsplit0";

/// The zone ids of `region` where a new network's subnets go: the available zones EC2 lists that
/// AgentCore supports (`eni_model::supported_az_ids`), the first `count` in the supported list's order.
pub async fn choose_zones(ec2: &aws_sdk_ec2::Client, region: &str, count: usize) -> Result<Vec<String>, NetworkError> {
    let supported = eni_model::supported_az_ids(region).ok_or_else(|| {
        NetworkError::UnsupportedRegion(
            region.to_owned(),
            eni_model::supported_regions().collect::<Vec<_>>().join(", "),
        )
    })?;
    let zones = ec2
        .describe_availability_zones()
        .filters(Filter::builder().name("state").values("available").build())
        .send()
        .await
        .map_err(sdk_error)?;
    let available: Vec<&str> = zones
        .availability_zones()
        .iter()
        .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
        .filter_map(|z| z.zone_id())
        .collect();
    let chosen: Vec<String> = supported.iter().filter(|id| available.contains(id)).map(|id| (*id).to_owned()).collect();
    if chosen.len() < count {
        return Err(NetworkError::TooFewZones {
            region: region.to_owned(),
            found: chosen.len(),
            zones: chosen.join(", "),
            needed: count,
        });
    }
    Ok(chosen.into_iter().take(count).collect())
}

fn missing(what: &str) -> anyhow::Error {
    anyhow::anyhow!("EC2 answered without the {what}")
}

/// The offline network (what agentcore-local models): a VPC and `subnets` private /24 subnets in
/// distinct supported zones. Each resource is in the state file before the next call.
pub async fn create_offline(
    ec2: &aws_sdk_ec2::Client,
    calls: &mut Calls<'_>,
    region: &str,
    subnets: usize,
) -> anyhow::Result<Network> {
    let run = calls.state().run_id.clone();
    let zones = choose_zones(ec2, region, subnets).await?;
    let mut network = Network::new(region, create_vpc(ec2, calls, &run).await?, true);
    for (i, zone) in zones.iter().enumerate() {
        let cidr = format!("10.0.{}.0/24", 2 + i);
        let id = create_subnet(ec2, calls, &run, &network.vpc_id, &cidr, zone, &format!("private-{i}")).await?;
        network.add_private_subnet(id, zone, &cidr);
    }
    Ok(network)
}

async fn create_vpc(ec2: &aws_sdk_ec2::Client, calls: &mut Calls<'_>, run: &RunId) -> anyhow::Result<String> {
    let (call, request) = call!("ec2", ec2.create_vpc().cidr_block(VPC_CIDR); tags(ResourceType::Vpc, run, "vpc"));
    let sent = created(request.send(), |out| out.vpc().and_then(|v| v.vpc_id()), "VPC id");
    Ok(calls.create(call, Kind::Vpc, sent).await?.id)
}

async fn create_subnet(
    ec2: &aws_sdk_ec2::Client,
    calls: &mut Calls<'_>,
    run: &RunId,
    vpc: &str,
    cidr: &str,
    zone: &str,
    name: &str,
) -> anyhow::Result<String> {
    let (call, request) = call!("ec2", ec2.create_subnet().vpc_id(vpc).cidr_block(cidr).availability_zone_id(zone);
        tags(ResourceType::Subnet, run, name));
    let sent = created(request.send(), |out| out.subnet().and_then(|s| s.subnet_id()), "subnet id");
    Ok(calls.create(call, Kind::Subnet, sent).await?.id)
}

/// Creates the network's next security group (`<prefix>-sg-<n>`, all outbound allowed as AWS's
/// default egress rule does), tagged and recorded; returns its index in `network.security_group_ids`.
pub async fn create_security_group(
    ec2: &aws_sdk_ec2::Client,
    calls: &mut Calls<'_>,
    network: &mut Network,
) -> anyhow::Result<usize> {
    let run = calls.state().run_id.clone();
    let n = network.security_group_ids.len() + 1;
    let name = format!("sg-{n}");
    let group_name = format!("{}-{name}", run.resource_prefix());
    let description = format!("agentcore-eni-lab run {run}: agent runtimes, group {n}");
    let (call, request) = call!("ec2", ec2.create_security_group().vpc_id(&network.vpc_id).group_name(&group_name);
        unshown .description(description); tags(ResourceType::SecurityGroup, &run, name));
    let sent = created(request.send(), |out| out.group_id(), "group id");
    let id = calls.create(call, Kind::SecurityGroup, sent).await?.id;
    network.security_group_ids.push(id);
    Ok(network.security_group_ids.len() - 1)
}

/// Creates the report's network (see the module docs) through `calls`: each resource is recorded in
/// the run's state file right after it is created; with `--plan` nothing is created and the ids in
/// the result are placeholders.
pub async fn create_report_network(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    run: &RunId,
    calls: &mut Calls<'_>,
) -> Result<Network, NetworkError> {
    let zones = choose_zones(ec2, region, ZONES).await?;
    let mut network = Network::new(region, create_vpc(ec2, calls, run).await?, true);
    let vpc = network.vpc_id.clone();

    let (call, request) = call!("ec2", ec2.create_internet_gateway(); tags(ResourceType::InternetGateway, run, "igw"));
    let sent =
        created(request.send(), |out| out.internet_gateway().and_then(|g| g.internet_gateway_id()), "gateway id");
    let igw = calls.create(call, Kind::InternetGateway, sent).await?.id;
    let (call, request) = call!("ec2", ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc));
    calls.mutate(call, (), async { request.send().await.map(drop).map_err(sdk_error) }).await?;

    for (index, zone) in zones.iter().enumerate() {
        let (cidr, name) = (format!("10.0.{index}.0/24"), format!("public-{zone}"));
        network.public_subnet_ids.push(create_subnet(ec2, calls, run, &vpc, &cidr, zone, &name).await?);
        let cidr = format!("10.0.{}.0/24", ZONES + index);
        let private = create_subnet(ec2, calls, run, &vpc, &cidr, zone, &format!("private-{zone}")).await?;
        network.add_private_subnet(private, zone, &cidr);
    }

    let (call, request) =
        call!("ec2", ec2.allocate_address().domain(DomainType::Vpc); tags(ResourceType::ElasticIp, run, "nat-eip"));
    let sent = created(request.send(), |out| out.allocation_id(), "allocation id");
    let allocation = calls.create(call, Kind::ElasticIp, sent).await?.id;
    let public_subnet = network.public_subnet_ids[0].clone();
    let (call, request) = call!("ec2", ec2.create_nat_gateway().subnet_id(&public_subnet).allocation_id(&allocation);
        tags(ResourceType::Natgateway, run, "nat"));
    let sent = created(request.send(), |out| out.nat_gateway().and_then(|n| n.nat_gateway_id()), "NAT gateway id");
    let nat = calls.create(call, Kind::NatGateway, sent).await?.id;
    if !calls.is_plan() {
        wait_for_nat(ec2, &nat).await?;
    }

    let public = network.public_subnet_ids.clone();
    let private = network.private_subnet_ids.clone();
    let mut private_table = None;
    for (name, subnets, target) in
        [("public-rt", &public, RouteTarget::Gateway(&igw)), ("private-rt", &private, RouteTarget::Nat(&nat))]
    {
        let (call, request) =
            call!("ec2", ec2.create_route_table().vpc_id(&vpc); tags(ResourceType::RouteTable, run, name));
        let sent = created(request.send(), |out| out.route_table().and_then(|t| t.route_table_id()), "route table id");
        let table = calls.create(call, Kind::RouteTable, sent).await?.id;
        let (call, request) = match target {
            RouteTarget::Gateway(igw) => call!(
                "ec2",
                ec2.create_route().route_table_id(&table).destination_cidr_block("0.0.0.0/0").gateway_id(igw)
            ),
            RouteTarget::Nat(nat) => call!(
                "ec2",
                ec2.create_route().route_table_id(&table).destination_cidr_block("0.0.0.0/0").nat_gateway_id(nat)
            ),
        };
        calls.mutate(call, (), async { request.send().await.map(drop).map_err(sdk_error) }).await?;
        if matches!(target, RouteTarget::Nat(_)) {
            private_table = Some(table.clone());
        }
        for subnet in subnets.iter() {
            let (call, request) = call!("ec2", ec2.associate_route_table().route_table_id(&table).subnet_id(subnet));
            calls.mutate(call, (), async { request.send().await.map(drop).map_err(sdk_error) }).await?;
        }
    }
    let private_table = private_table.expect("the private route table is made above");
    let s3 = format!("com.amazonaws.{region}.s3");
    let (call, request) = call!("ec2", ec2.create_vpc_endpoint().vpc_id(&vpc).service_name(&s3)
        .vpc_endpoint_type(VpcEndpointType::Gateway).route_table_ids(&private_table);
        tags(ResourceType::VpcEndpoint, run, "s3-endpoint"));
    let sent = created(request.send(), |out| out.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()), "endpoint id");
    calls.create(call, Kind::VpcEndpoint, sent).await?;
    Ok(network)
}

enum RouteTarget<'a> {
    Gateway(&'a str),
    Nat(&'a str),
}

async fn wait_for_nat(ec2: &aws_sdk_ec2::Client, nat: &str) -> anyhow::Result<()> {
    use aws_sdk_ec2::client::Waiters;
    // Hidden when stderr is not a terminal.
    let spinner = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        spinner.set_style(style);
    }
    spinner.set_message(format!("waiting for NAT gateway {nat} to become available (usually 1 to 3 minutes)"));
    spinner.enable_steady_tick(Duration::from_millis(200));
    let waited = ec2.wait_until_nat_gateway_available().nat_gateway_ids(nat).wait(NAT_WAIT).await;
    spinner.finish_and_clear();
    waited.map_err(|e| anyhow::anyhow!("NAT gateway {nat} did not become available within {NAT_WAIT:?}: {e}"))?;
    Ok(())
}

/// An existing network checked for the experiment: the network deploy would use and the ENI plan
/// (with `runtimes` runtimes, at the SG-split peak) that proves it fits.
#[derive(Clone, Debug)]
pub struct Checked {
    pub network: Network,
    pub plan: EniPlan,
    pub inventory: Inventory,
}

/// Checks `--vpc-id`/`--subnet-ids` with eni-model: the subnets exist, all belong to the VPC, sit in
/// zones AgentCore supports in `region`, and have addresses for the ENIs of `runtimes` runtimes at
/// the experiment's peak (one shared security group plus runtime 0's own at the SG split).
/// Read-only: makes only Describe calls.
pub async fn check_existing(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    existing: &Existing,
    runtimes: usize,
) -> Result<Checked, NetworkError> {
    if existing.subnet_ids.is_empty() {
        return Err(NetworkError::NoSubnets);
    }
    let vpcs = ec2.describe_vpcs().vpc_ids(&existing.vpc_id).send().await;
    match vpcs {
        Ok(out) if !out.vpcs().is_empty() => {}
        Ok(_) => return Err(NetworkError::UnknownVpc(existing.vpc_id.clone())),
        Err(e) if crate::error::error_code(&e).is_some_and(|c| c.starts_with("InvalidVpcID")) => {
            return Err(NetworkError::UnknownVpc(existing.vpc_id.clone()));
        }
        Err(e) => return Err(sdk_error(e).into()),
    }
    let out = match ec2.describe_subnets().set_subnet_ids(Some(existing.subnet_ids.clone())).send().await {
        Ok(out) => out,
        Err(e) if crate::error::error_code(&e).is_some_and(|c| c.starts_with("InvalidSubnetID")) => {
            // Name every missing subnet (EC2's message names one).
            let mut absent = Vec::new();
            for id in &existing.subnet_ids {
                if let Err(e) = ec2.describe_subnets().subnet_ids(id).send().await {
                    match crate::error::error_code(&e) {
                        Some(code) if code.starts_with("InvalidSubnetID") => absent.push(id.as_str()),
                        _ => return Err(sdk_error(e).into()),
                    }
                }
            }
            let text = if absent.is_empty() { sdk_error(e).to_string() } else { absent.join(", ") };
            return Err(NetworkError::UnknownSubnets(text));
        }
        Err(e) => return Err(sdk_error(e).into()),
    };
    let described = out.subnets();
    let absent: Vec<&str> = existing
        .subnet_ids
        .iter()
        .filter(|id| !described.iter().any(|s| s.subnet_id() == Some(id.as_str())))
        .map(String::as_str)
        .collect();
    if !absent.is_empty() {
        return Err(NetworkError::UnknownSubnets(absent.join(", ")));
    }

    let vpc = VpcId::new(&existing.vpc_id).map_err(|e| NetworkError::Api(e.into()))?;
    let mut inventory = Inventory::new(region);
    let mut network = Network::new(region, existing.vpc_id.clone(), false);
    for id in &existing.subnet_ids {
        let subnet = described.iter().find(|s| s.subnet_id() == Some(id.as_str())).expect("checked above");
        let subnet_vpc = subnet.vpc_id().unwrap_or_default();
        if subnet_vpc != existing.vpc_id {
            return Err(NetworkError::OtherVpc {
                subnet: id.clone(),
                subnet_vpc: subnet_vpc.to_owned(),
                vpc: existing.vpc_id.clone(),
            });
        }
        let az_id = subnet.availability_zone_id().ok_or_else(|| missing("subnet's zone id"))?;
        let cidr: ipnet::Ipv4Net = subnet
            .cidr_block()
            .ok_or_else(|| missing("subnet's CIDR block"))?
            .parse()
            .map_err(|e| anyhow::anyhow!("subnet {id} has CIDR {:?}: {e}", subnet.cidr_block()))?;
        network.add_private_subnet(id.clone(), az_id, &cidr.to_string());
        let usable = eni_model::usable_ips(cidr);
        let available = subnet.available_ip_address_count().unwrap_or(usable as i32).max(0) as u32;
        let id = SubnetId::new(id).map_err(|e| NetworkError::Api(e.into()))?;
        inventory.ips_in_use.push((id.clone(), usable.saturating_sub(available)));
        inventory.subnets.push(Subnet {
            id,
            vpc: vpc.clone(),
            az_id: AzId::new(az_id).map_err(|e| NetworkError::Api(e.into()))?,
            cidr,
        });
    }
    for group in [PLANNED_SHARED_GROUP, PLANNED_SPLIT_GROUP] {
        inventory = inventory.with_security_group(SecurityGroup {
            id: group.parse().map_err(|e: eni_model::IdError| NetworkError::Api(e.into()))?,
            vpc: vpc.clone(),
        });
    }
    let plan = eni_model::plan(&inventory, &experiment_runtimes(&existing.subnet_ids, runtimes)?)?;
    let out_of_addresses: Vec<_> =
        plan.warnings.iter().filter(|w| matches!(w, eni_model::Warning::SubnetOutOfIps { .. })).cloned().collect();
    if !out_of_addresses.is_empty() {
        return Err(NetworkError::OutOfAddresses(out_of_addresses));
    }
    Ok(Checked { network, plan, inventory })
}

/// The experiment's runtimes at its peak: all on `subnets`, runtime 0 with its own security group
/// (the SG-split phase), the others sharing one.
fn experiment_runtimes(subnets: &[String], runtimes: usize) -> Result<Vec<Runtime>, NetworkError> {
    (0..runtimes.max(1))
        .map(|i| {
            let group = if i == 0 && runtimes > 1 { PLANNED_SPLIT_GROUP } else { PLANNED_SHARED_GROUP };
            let network = RuntimeNetwork::vpc(subnets, [group]).map_err(|e| {
                NetworkError::Model(eni_model::PlanError::Network {
                    runtime: format!("runtime {i}"),
                    error: Box::new(e),
                })
            })?;
            Ok(Runtime::new(format!("eni_test_runtime_{i}"), network))
        })
        .collect()
}

/// The plan of an existing network as printed before anything is created.
pub fn describe_checked(checked: &Checked) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let _ =
        writeln!(text, "network plan: existing VPC {} (nothing of it is created or deleted)", checked.network.vpc_id);
    for usage in &checked.plan.subnets {
        let _ = writeln!(
            text,
            "  subnet {} in {} ({}): {} usable addresses, {} used by others, {} AgentCore ENI(s) at the peak, {} left",
            usage.subnet,
            usage.az_id,
            usage.cidr,
            usage.usable_ips,
            usage.other_ips_in_use,
            usage.agentcore_enis,
            usage.headroom
        );
    }
    let _ = writeln!(
        text,
        "  ENIs at the peak (SG split): {} = {} subnet(s) x 2 security-group sets",
        checked.plan.total_enis,
        checked.plan.subnets.len()
    );
    for warning in &checked.plan.warnings {
        let _ = writeln!(text, "  warning: {warning}");
    }
    text
}
