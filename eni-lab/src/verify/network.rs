//! The network a run deploys into: a VPC, private subnets in distinct AgentCore-supported zones and
//! security groups, every one tagged with the run id and recorded in the state file as it is created.
//!
//! [`create_minimal`] is the emulator's network (what agentcore-local models: VPC, subnets, groups).
//! A real account needs more for the agent to reach ECR (public subnets, an internet gateway, a NAT
//! gateway and routes): `--aws` (issue 9) replaces the network step with its own function returning
//! the same [`Network`], and nothing after it changes.

use std::collections::BTreeSet;

use anyhow::Context;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::DisplayErrorContext;
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use eni_model::{Inventory, SecurityGroup, Subnet};
use serde::Serialize;

use crate::run::{RunId, run_tags};
use crate::state::{Kind, RunState};

/// The VPC CIDR; private subnet `i` is `10.0.(2 + i).0/24` (the report's /24 private subnets).
pub const VPC_CIDR: &str = "10.0.0.0/16";

/// What the runtimes are deployed into, as the model sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    pub region: String,
    pub vpc: String,
    /// The private subnets the runtimes use, one per zone.
    pub subnets: Vec<Subnet>,
    /// `[0]` is shared by every runtime; sg-split adds `[1]`.
    pub security_groups: Vec<SecurityGroup>,
}

impl Network {
    /// The model's inventory of this network.
    pub fn inventory(&self) -> Inventory {
        let mut inventory = Inventory::new(&self.region);
        for subnet in &self.subnets {
            inventory = inventory.with_subnet(subnet.clone());
        }
        for group in &self.security_groups {
            inventory = inventory.with_security_group(group.clone());
        }
        inventory
    }

    pub fn subnet_ids(&self) -> Vec<String> {
        self.subnets.iter().map(|s| s.id.to_string()).collect()
    }
}

/// An SDK error as one line: operation, error code and message.
pub fn sdk_error<E: std::error::Error + 'static>(operation: &str, error: E) -> anyhow::Error {
    anyhow::anyhow!("{operation} failed: {}", DisplayErrorContext(&error))
}

/// The run's tags plus `Name`, for `TagSpecifications`.
pub fn tag_spec(resource: ResourceType, run: &RunId, name: &str) -> TagSpecification {
    let mut spec =
        TagSpecification::builder().resource_type(resource).tags(Tag::builder().key("Name").value(name).build());
    for (key, value) in run_tags(run) {
        spec = spec.tags(Tag::builder().key(key).value(value).build());
    }
    spec.build()
}

/// The first `count` zone ids AgentCore supports in `region` that EC2 offers here
/// (`DescribeAvailabilityZones` ∩ [`eni_model::supported_az_ids`]), sorted by zone id.
pub async fn supported_zones(ec2: &Client, region: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let supported = eni_model::supported_az_ids(region)
        .ok_or_else(|| anyhow::anyhow!("AgentCore Runtime VPC mode is not available in {region}"))?;
    let zones =
        ec2.describe_availability_zones().send().await.map_err(|e| sdk_error("DescribeAvailabilityZones", e))?;
    let offered: BTreeSet<String> = zones
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_id())
        .filter(|id| supported.contains(id))
        .map(str::to_owned)
        .collect();
    if offered.len() < count {
        return Err(super::UsageError(format!(
            "--subnets {count}: {region} has only {} zone(s) where AgentCore accepts subnets ({})",
            offered.len(),
            offered.iter().cloned().collect::<Vec<_>>().join(", ")
        ))
        .into());
    }
    Ok(offered.into_iter().take(count).collect())
}

/// The emulator's network: a VPC, `subnets` private /24 subnets in distinct supported zones, one
/// security group. Each resource is in the state file before the next call.
pub async fn create_minimal(
    ec2: &Client,
    state: &mut RunState,
    region: &str,
    subnets: usize,
) -> anyhow::Result<Network> {
    let run = state.run_id.clone();
    let prefix = run.resource_prefix();
    let zones = supported_zones(ec2, region, subnets).await?;
    let vpc = ec2
        .create_vpc()
        .cidr_block(VPC_CIDR)
        .tag_specifications(tag_spec(ResourceType::Vpc, &run, &format!("{prefix}-vpc")))
        .send()
        .await
        .map_err(|e| sdk_error("CreateVpc", e))?;
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).context("CreateVpc answered no VpcId")?.to_owned();
    state.created(Kind::Vpc, &vpc, None)?;

    let mut network =
        Network { region: region.to_owned(), vpc: vpc.clone(), subnets: Vec::new(), security_groups: Vec::new() };
    for (i, zone) in zones.iter().enumerate() {
        let cidr = format!("10.0.{}.0/24", 2 + i);
        let created = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(&cidr)
            .availability_zone_id(zone)
            .tag_specifications(tag_spec(ResourceType::Subnet, &run, &format!("{prefix}-private-{i}")))
            .send()
            .await
            .map_err(|e| sdk_error("CreateSubnet", e))?;
        let subnet = created.subnet().context("CreateSubnet answered no Subnet")?;
        let id = subnet.subnet_id().context("CreateSubnet answered no SubnetId")?;
        state.created(Kind::Subnet, id, None)?;
        network.subnets.push(Subnet {
            id: id.parse()?,
            vpc: vpc.parse()?,
            az_id: subnet.availability_zone_id().unwrap_or(zone).parse()?,
            cidr: cidr.parse()?,
        });
    }
    create_security_group(ec2, state, &mut network).await?;
    Ok(network)
}

/// Creates the network's next security group (`<prefix>-sg-<n>`, all outbound allowed as AWS's
/// default egress rule does), tagged and recorded; returns its index in `network.security_groups`.
pub async fn create_security_group(ec2: &Client, state: &mut RunState, network: &mut Network) -> anyhow::Result<usize> {
    let run = state.run_id.clone();
    let n = network.security_groups.len() + 1;
    let name = format!("{}-sg-{n}", run.resource_prefix());
    let created = ec2
        .create_security_group()
        .vpc_id(&network.vpc)
        .group_name(&name)
        .description(format!("agentcore-eni-lab run {run}: agent runtimes, group {n}"))
        .tag_specifications(tag_spec(ResourceType::SecurityGroup, &run, &name))
        .send()
        .await
        .map_err(|e| sdk_error("CreateSecurityGroup", e))?;
    let id = created.group_id().context("CreateSecurityGroup answered no GroupId")?;
    state.created(Kind::SecurityGroup, id, None)?;
    network.security_groups.push(SecurityGroup { id: id.parse()?, vpc: network.vpc.parse()? });
    Ok(network.security_groups.len() - 1)
}
