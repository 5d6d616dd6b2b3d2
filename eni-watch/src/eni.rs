//! One network interface as the watcher records it, and its conversion from the EC2 SDK type.

use std::collections::BTreeMap;

use eni_model::{EniView, ObservedEni, SecurityGroupId, SubnetId, VpcId};
use serde::{Deserialize, Serialize};

/// An ENI in a sample: what `DescribeNetworkInterfaces` says about it that matters here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eni {
    /// The network interface id (`eni-…`).
    pub id: String,
    /// The subnet the ENI is in.
    pub subnet: SubnetId,
    /// Zone name (`us-east-1a`), as the AWS CLI table shows it.
    pub az: String,
    /// Zone id (`use1-az1`), the same physical zone in every account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub az_id: String,
    /// The VPC the ENI is in.
    pub vpc: VpcId,
    /// Sorted, without duplicates.
    pub security_groups: Vec<SecurityGroupId>,
    /// The primary private IPv4 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    /// EC2's `InterfaceType` (`agentic_ai` for AgentCore Runtime).
    pub interface_type: String,
    /// EC2's `Status` (`in-use`, `available`, …).
    pub status: String,
    /// Whether an AWS service (here AgentCore) manages the ENI on the account's behalf.
    pub requester_managed: bool,
    /// The ENI's tags, key → value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Eni {
    /// The view `eni_model::compare` judges.
    pub fn observed(&self) -> ObservedEni {
        ObservedEni {
            id: self.id.clone(),
            subnet: self.subnet.clone(),
            security_groups: self.security_groups.clone(),
            interface_type: self.interface_type.clone(),
            status: self.status.clone(),
            private_ip: self.private_ip.clone(),
        }
    }

    /// The security-group set as one label, `sg-a,sg-b` (sorted).
    pub fn security_group_set(&self) -> String {
        sg_set_label(&self.security_groups)
    }
}

/// What `eni_model::judge` reads, borrowed: a sample is judged without a copy of its ENIs.
impl EniView for Eni {
    fn id(&self) -> &str {
        &self.id
    }
    fn subnet(&self) -> &SubnetId {
        &self.subnet
    }
    fn security_groups(&self) -> &[SecurityGroupId] {
        &self.security_groups
    }
    fn interface_type(&self) -> &str {
        &self.interface_type
    }
    fn status(&self) -> &str {
        &self.status
    }
    fn private_ip(&self) -> Option<&str> {
        self.private_ip.as_deref()
    }
}

/// `sg-a,sg-b`: the label of a security-group set in summaries and charts.
pub fn sg_set_label(groups: &[SecurityGroupId]) -> String {
    groups.iter().map(SecurityGroupId::as_str).collect::<Vec<_>>().join(",")
}

/// Converts what the SDK parsed. Fails with a message when a field the watcher needs is missing
/// or an id does not have the format AWS uses.
#[cfg(feature = "client")]
pub fn from_sdk(ni: &aws_sdk_ec2::types::NetworkInterface) -> Result<Eni, String> {
    let id = ni.network_interface_id().ok_or("a network interface without networkInterfaceId")?.to_string();
    let subnet = ni.subnet_id().ok_or_else(|| format!("{id} has no subnetId"))?;
    let subnet = SubnetId::new(subnet).map_err(|e| format!("{id}: {e}"))?;
    let vpc = ni.vpc_id().ok_or_else(|| format!("{id} has no vpcId"))?;
    let vpc = VpcId::new(vpc).map_err(|e| format!("{id}: {e}"))?;
    let mut security_groups = ni
        .groups()
        .iter()
        .filter_map(|g| g.group_id())
        .map(SecurityGroupId::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{id}: {e}"))?;
    security_groups.sort();
    security_groups.dedup();
    Ok(Eni {
        subnet,
        az: ni.availability_zone().unwrap_or_default().to_string(),
        az_id: ni.availability_zone_id().unwrap_or_default().to_string(),
        vpc,
        security_groups,
        private_ip: ni.private_ip_address().map(str::to_string),
        interface_type: ni.interface_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        status: ni.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        requester_managed: ni.requester_managed().unwrap_or(false),
        tags: ni
            .tag_set()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect(),
        id,
    })
}
