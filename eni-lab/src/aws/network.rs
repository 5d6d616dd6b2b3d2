//! The experiment's network in a real account: by default a new VPC like the report's (2 public and
//! 2 private /24 subnets in two zones AgentCore supports, an internet gateway, one NAT gateway with an
//! elastic IP, routes), every piece tagged with the run's tags and recorded in its state file as soon
//! as it exists. Or an existing VPC and subnets (`--vpc-id`, `--subnet-ids`), checked with `eni-model`
//! (supported zones, one VPC, address headroom) and shown as a plan before anything is created.

use std::time::Duration;

use aws_sdk_ec2::types::{DomainType, Filter, ResourceType, TagSpecification};
use eni_model::{AzId, EniPlan, Inventory, Runtime, RuntimeNetwork, SecurityGroup, Subnet, SubnetId, VpcId};

use crate::aws::plan::{Call, Calls, Created, sdk_error};
use crate::run::{RunId, run_tags};
use crate::state::Kind;

/// The VPC's CIDR; public subnets take `10.0.0.0/24`, `10.0.1.0/24`, private ones `10.0.2.0/24`,
/// `10.0.3.0/24` (the report's CDK layout).
pub const VPC_CIDR: &str = "10.0.0.0/16";
/// Zones the new VPC spans (the report's two).
pub const ZONES: usize = 2;
/// How long to wait for the NAT gateway to become available before routing through it.
pub const NAT_WAIT: Duration = Duration::from_secs(600);

/// What deploy needs from the network: the VPC and the private subnets the runtimes go in.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    pub vpc_id: String,
    /// The subnets the runtimes' ENIs go in (the private ones of a new VPC, or `--subnet-ids`).
    pub private_subnet_ids: Vec<String>,
    /// Public subnets of a new VPC (the NAT gateway's); empty for an existing network.
    pub public_subnet_ids: Vec<String>,
    /// The zone ids of `private_subnet_ids`, in the same order.
    pub az_ids: Vec<String>,
    /// True when this run created the VPC (false for `--vpc-id`).
    pub created: bool,
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
    #[error(
        "region {region} has {found} available zone(s) AgentCore supports ({zones}); the experiment needs {ZONES}: pick another region"
    )]
    TooFewZones { region: String, found: usize, zones: String },
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

/// The zone ids of `region` where a new VPC goes: the available zones EC2 lists that AgentCore
/// supports (`eni_model::supported_az_ids`), the first [`ZONES`] in the supported list's order.
pub async fn choose_zones(ec2: &aws_sdk_ec2::Client, region: &str) -> Result<Vec<String>, NetworkError> {
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
    let chosen: Vec<String> =
        supported.iter().filter(|id| available.contains(id)).take(ZONES).map(|id| (*id).to_owned()).collect();
    if chosen.len() < ZONES {
        return Err(NetworkError::TooFewZones {
            region: region.to_owned(),
            found: chosen.len(),
            zones: chosen.join(", "),
        });
    }
    Ok(chosen)
}

/// EC2 tags for a resource of `run`: the run tags plus `Name`.
/// The run's tags and a `Name` of `<resource prefix>-<name>` (see [`crate::verify::network::tag_spec`]).
fn tag_spec(run: &RunId, resource: ResourceType, name: &str) -> TagSpecification {
    crate::verify::network::tag_spec(resource, run, &format!("{}-{name}", run.resource_prefix()))
}

fn shown_tags(run: &RunId, name: &str) -> Vec<(String, String)> {
    let mut tags = vec![("Name".to_owned(), format!("{}-{name}", run.resource_prefix()))];
    tags.extend(run_tags(run).into_iter().map(|(k, v)| (k.to_owned(), v)));
    tags
}

fn missing(what: &str) -> anyhow::Error {
    anyhow::anyhow!("EC2 answered without the {what}")
}

/// Creates the report's network (see the module docs) through `calls`: each resource is recorded in
/// the run's state file right after it is created; with `--plan` nothing is created and the ids in
/// the result are placeholders.
pub async fn create(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    run: &RunId,
    calls: &mut Calls<'_>,
) -> Result<Network, NetworkError> {
    let zones = choose_zones(ec2, region).await?;

    let vpc = calls
        .create(
            Call::new("ec2", "CreateVpc").param("CidrBlock", VPC_CIDR).tags(&shown_tags(run, "vpc")),
            Kind::Vpc,
            async {
                let out = ec2
                    .create_vpc()
                    .cidr_block(VPC_CIDR)
                    .tag_specifications(tag_spec(run, ResourceType::Vpc, "vpc"))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                let id = out.vpc().and_then(|v| v.vpc_id()).ok_or_else(|| missing("VPC id"))?;
                Ok::<_, anyhow::Error>(Created::id(id))
            },
        )
        .await?
        .id;

    let igw = calls
        .create(Call::new("ec2", "CreateInternetGateway").tags(&shown_tags(run, "igw")), Kind::InternetGateway, async {
            let out = ec2
                .create_internet_gateway()
                .tag_specifications(tag_spec(run, ResourceType::InternetGateway, "igw"))
                .send()
                .await
                .map_err(sdk_error)?;
            let id =
                out.internet_gateway().and_then(|g| g.internet_gateway_id()).ok_or_else(|| missing("gateway id"))?;
            Ok::<_, anyhow::Error>(Created::id(id))
        })
        .await?
        .id;
    calls
        .mutate(
            Call::new("ec2", "AttachInternetGateway").param("InternetGatewayId", &igw).param("VpcId", &vpc),
            (),
            async {
                ec2.attach_internet_gateway()
                    .internet_gateway_id(&igw)
                    .vpc_id(&vpc)
                    .send()
                    .await
                    .map(drop)
                    .map_err(sdk_error)
            },
        )
        .await?;

    let mut public = Vec::new();
    let mut private = Vec::new();
    for (index, zone) in zones.iter().enumerate() {
        for (list, kind, third_octet) in [(&mut public, "public", index), (&mut private, "private", ZONES + index)] {
            let cidr = format!("10.0.{third_octet}.0/24");
            let name = format!("{kind}-{zone}");
            let id = calls
                .create(
                    Call::new("ec2", "CreateSubnet")
                        .param("VpcId", &vpc)
                        .param("CidrBlock", &cidr)
                        .param("AvailabilityZoneId", zone)
                        .tags(&shown_tags(run, &name)),
                    Kind::Subnet,
                    async {
                        let out = ec2
                            .create_subnet()
                            .vpc_id(&vpc)
                            .cidr_block(&cidr)
                            .availability_zone_id(zone)
                            .tag_specifications(tag_spec(run, ResourceType::Subnet, &name))
                            .send()
                            .await
                            .map_err(sdk_error)?;
                        let id = out.subnet().and_then(|s| s.subnet_id()).ok_or_else(|| missing("subnet id"))?;
                        Ok::<_, anyhow::Error>(Created::id(id))
                    },
                )
                .await?
                .id;
            list.push(id);
        }
    }

    let allocation = calls
        .create(
            Call::new("ec2", "AllocateAddress").param("Domain", "vpc").tags(&shown_tags(run, "nat-eip")),
            Kind::ElasticIp,
            async {
                let out = ec2
                    .allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(tag_spec(run, ResourceType::ElasticIp, "nat-eip"))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                let id = out.allocation_id().ok_or_else(|| missing("allocation id"))?;
                Ok::<_, anyhow::Error>(Created::id(id))
            },
        )
        .await?
        .id;
    let nat = calls
        .create(
            Call::new("ec2", "CreateNatGateway")
                .param("SubnetId", &public[0])
                .param("AllocationId", &allocation)
                .tags(&shown_tags(run, "nat")),
            Kind::NatGateway,
            async {
                let out = ec2
                    .create_nat_gateway()
                    .subnet_id(&public[0])
                    .allocation_id(&allocation)
                    .tag_specifications(tag_spec(run, ResourceType::Natgateway, "nat"))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                let id = out.nat_gateway().and_then(|n| n.nat_gateway_id()).ok_or_else(|| missing("NAT gateway id"))?;
                Ok::<_, anyhow::Error>(Created::id(id))
            },
        )
        .await?
        .id;
    if !calls.is_plan() {
        wait_for_nat(ec2, &nat).await?;
    }

    for (name, subnets, target) in
        [("public-rt", &public, Target::Gateway(&igw)), ("private-rt", &private, Target::Nat(&nat))]
    {
        let table = calls
            .create(
                Call::new("ec2", "CreateRouteTable").param("VpcId", &vpc).tags(&shown_tags(run, name)),
                Kind::RouteTable,
                async {
                    let out = ec2
                        .create_route_table()
                        .vpc_id(&vpc)
                        .tag_specifications(tag_spec(run, ResourceType::RouteTable, name))
                        .send()
                        .await
                        .map_err(sdk_error)?;
                    let id =
                        out.route_table().and_then(|t| t.route_table_id()).ok_or_else(|| missing("route table id"))?;
                    Ok::<_, anyhow::Error>(Created::id(id))
                },
            )
            .await?
            .id;
        let route = ec2.create_route().route_table_id(&table).destination_cidr_block("0.0.0.0/0");
        let (call, route) = match target {
            Target::Gateway(igw) => (Call::new("ec2", "CreateRoute").param("GatewayId", igw), route.gateway_id(igw)),
            Target::Nat(nat) => (Call::new("ec2", "CreateRoute").param("NatGatewayId", nat), route.nat_gateway_id(nat)),
        };
        let call = call.param("RouteTableId", &table).param("DestinationCidrBlock", "0.0.0.0/0");
        calls.mutate(call, (), async { route.send().await.map(drop).map_err(sdk_error) }).await?;
        for subnet in subnets.iter() {
            calls
                .mutate(
                    Call::new("ec2", "AssociateRouteTable").param("RouteTableId", &table).param("SubnetId", subnet),
                    (),
                    async {
                        ec2.associate_route_table()
                            .route_table_id(&table)
                            .subnet_id(subnet)
                            .send()
                            .await
                            .map(drop)
                            .map_err(sdk_error)
                    },
                )
                .await?;
        }
    }

    Ok(Network { vpc_id: vpc, private_subnet_ids: private, public_subnet_ids: public, az_ids: zones, created: true })
}

enum Target<'a> {
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
        Err(e) if crate::aws::plan::error_code(&e).is_some_and(|c| c.starts_with("InvalidVpcID")) => {
            return Err(NetworkError::UnknownVpc(existing.vpc_id.clone()));
        }
        Err(e) => return Err(sdk_error(e).into()),
    }
    let out = match ec2.describe_subnets().set_subnet_ids(Some(existing.subnet_ids.clone())).send().await {
        Ok(out) => out,
        Err(e) if crate::aws::plan::error_code(&e).is_some_and(|c| c.starts_with("InvalidSubnetID")) => {
            // Name every missing subnet (EC2's message names one).
            let mut absent = Vec::new();
            for id in &existing.subnet_ids {
                if let Err(e) = ec2.describe_subnets().subnet_ids(id).send().await {
                    match crate::aws::plan::error_code(&e) {
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
    let mut az_ids = Vec::new();
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
        az_ids.push(az_id.to_owned());
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
    let network = Network {
        vpc_id: existing.vpc_id.clone(),
        private_subnet_ids: existing.subnet_ids.clone(),
        public_subnet_ids: Vec::new(),
        az_ids,
        created: false,
    };
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
