//! An in-process agentcore-local with AWS SDK clients, and the fixtures the tests build in it: a VPC
//! with two subnets and a security group, VPC-mode runtimes.

use std::time::Duration;

use agentcore_local::{Clock, Config, Handle};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;
use control::operation::create_agent_runtime::builders::CreateAgentRuntimeFluentBuilder;
use control::operation::update_agent_runtime::builders::UpdateAgentRuntimeFluentBuilder;
use control::types::{AgentRuntimeArtifact, ContainerConfiguration, NetworkConfiguration, NetworkMode, VpcConfig};

/// The region the fixtures use.
pub const REGION: &str = "us-east-1";
/// The execution role every fixture runtime names (the emulator's account, 123456789012).
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/AgentRole";
/// The container image every fixture runtime names.
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest";
/// CREATING → READY in [`manual_config`] (service time).
pub const STATUS_DELAY: Duration = Duration::from_secs(30);
/// How long an unused ENI lingers in [`manual_config`] (service time).
pub const LINGER: Duration = Duration::from_secs(8 * 3600);
/// The tag AgentCore puts on the ENIs it manages.
pub const MANAGED_TAG: &str = "AmazonBedrockAgentCoreManaged";

/// The subnets of [`Lab::network`]: (CIDR, zone id).
pub const NETWORK_SUBNETS: [(&str, &str); 2] = [("10.0.1.0/24", "use1-az1"), ("10.0.2.0/24", "use1-az2")];

/// A config with a manual clock (time moves only through [`Lab::advance`]), a 30 s status delay and
/// an 8 h linger.
pub fn manual_config() -> Config {
    Config { clock: Clock::manual(), status_delay: STATUS_DELAY, eni_linger: LINGER, ..Config::default() }
}

/// The SDK configuration for an emulator at `endpoint`: `test`/`test` credentials, [`REGION`].
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    sdk_config_as(endpoint, "test", "test", REGION).await
}

/// The SDK configuration for an emulator at `endpoint` with the given credentials and region.
pub async fn sdk_config_as(endpoint: &str, key: &str, secret: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(ec2::config::Credentials::new(key, secret, None, None, "test"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// An emulator plus SDK clients for it (region [`REGION`]).
pub struct Lab {
    pub handle: Handle,
    pub ec2: ec2::Client,
    pub control: control::Client,
}

/// A network built by [`Lab::network`].
pub struct Net {
    pub vpc: String,
    /// 10.0.1.0/24 in use1-az1, 10.0.2.0/24 in use1-az2 ([`NETWORK_SUBNETS`]).
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

impl Lab {
    /// Starts an emulator with `config` on a free loopback port.
    pub async fn start(config: Config) -> Self {
        let handle = agentcore_local::start(config).await.expect("emulator starts");
        let sdk = sdk_config(&handle.endpoint_url()).await;
        Self { ec2: ec2::Client::new(&sdk), control: control::Client::new(&sdk), handle }
    }

    /// With [`manual_config`]: a manual clock, a 30 s status delay and an 8 h linger.
    pub async fn manual() -> Self {
        Self::start(manual_config()).await
    }

    /// The emulator's endpoint URL.
    pub fn endpoint(&self) -> String {
        self.handle.endpoint_url()
    }

    /// Moves the manual clock on.
    pub fn advance(&self, by: Duration) {
        self.handle.advance(by);
    }

    /// Clients for another region of the same emulator.
    pub async fn clients_in(&self, region: &str) -> (ec2::Client, control::Client) {
        let sdk = sdk_config_as(&self.handle.endpoint_url(), "test", "test", region).await;
        (ec2::Client::new(&sdk), control::Client::new(&sdk))
    }

    /// Creates a VPC and returns its id.
    pub async fn vpc(&self, cidr: &str) -> String {
        self.ec2
            .create_vpc()
            .cidr_block(cidr)
            .send()
            .await
            .expect("CreateVpc")
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_string()
    }

    /// Creates a subnet and returns its id.
    pub async fn subnet(&self, vpc: &str, cidr: &str, zone_id: &str) -> String {
        self.ec2
            .create_subnet()
            .vpc_id(vpc)
            .cidr_block(cidr)
            .availability_zone_id(zone_id)
            .send()
            .await
            .expect("CreateSubnet")
            .subnet()
            .and_then(|s| s.subnet_id())
            .expect("subnet id")
            .to_string()
    }

    /// Creates a security group and returns its id.
    pub async fn security_group(&self, vpc: &str, name: &str) -> String {
        self.ec2
            .create_security_group()
            .vpc_id(vpc)
            .group_name(name)
            .description(format!("{name} for tests"))
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("group id")
            .to_string()
    }

    /// A VPC 10.0.0.0/16 with the subnets of [`NETWORK_SUBNETS`] and one security group.
    pub async fn network(&self) -> Net {
        let vpc = self.vpc("10.0.0.0/16").await;
        let mut subnets = Vec::new();
        for (cidr, zone) in NETWORK_SUBNETS {
            subnets.push(self.subnet(&vpc, cidr, zone).await);
        }
        let security_groups = vec![self.security_group(&vpc, "agents").await];
        Net { vpc, subnets, security_groups }
    }

    /// Creates a VPC-mode runtime and returns its id.
    pub async fn runtime(&self, name: &str, subnets: &[String], groups: &[String]) -> String {
        self.create_runtime(name)
            .network_configuration(vpc_network(subnets, groups))
            .send()
            .await
            .expect("CreateAgentRuntime")
            .agent_runtime_id()
            .to_string()
    }

    /// A CreateAgentRuntime request with the required members set (no network configuration).
    pub fn create_runtime(&self, name: &str) -> CreateAgentRuntimeFluentBuilder {
        self.control
            .create_agent_runtime()
            .agent_runtime_name(name)
            .agent_runtime_artifact(container())
            .role_arn(ROLE_ARN)
    }

    /// An UpdateAgentRuntime request of runtime `id` with the required members set (the same
    /// artifact and role as [`Self::create_runtime`], no network configuration).
    pub fn update_runtime(&self, id: &str) -> UpdateAgentRuntimeFluentBuilder {
        self.control.update_agent_runtime().agent_runtime_id(id).agent_runtime_artifact(container()).role_arn(ROLE_ARN)
    }

    /// Moves runtime `id` to another VPC configuration (UpdateAgentRuntime).
    pub async fn renetwork(&self, id: &str, subnets: &[String], groups: &[String]) {
        self.update_runtime(id)
            .network_configuration(vpc_network(subnets, groups))
            .send()
            .await
            .expect("UpdateAgentRuntime");
    }

    /// Deletes runtime `id`.
    pub async fn delete(&self, id: &str) {
        self.control.delete_agent_runtime().agent_runtime_id(id).send().await.expect("DeleteAgentRuntime");
    }

    /// Every `agentic_ai` ENI in `vpc`, through DescribeNetworkInterfaces.
    pub async fn managed_enis(&self, vpc: &str) -> Vec<ec2::types::NetworkInterface> {
        let out = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("vpc-id", [vpc]))
            .filters(filter(&format!("tag:{MANAGED_TAG}"), ["true"]))
            .send()
            .await
            .expect("DescribeNetworkInterfaces");
        out.network_interfaces()
            .iter()
            .filter(|n| n.interface_type().map(|t| t.as_str()) == Some("agentic_ai"))
            .cloned()
            .collect()
    }

    /// Runtime `runtime_id`'s status (GetAgentRuntime).
    pub async fn status(&self, runtime_id: &str) -> String {
        self.control
            .get_agent_runtime()
            .agent_runtime_id(runtime_id)
            .send()
            .await
            .expect("GetAgentRuntime")
            .status()
            .as_str()
            .to_string()
    }
}

/// The container artifact of [`IMAGE`].
pub fn container() -> AgentRuntimeArtifact {
    AgentRuntimeArtifact::ContainerConfiguration(
        ContainerConfiguration::builder().container_uri(IMAGE).build().expect("container uri set"),
    )
}

/// A VPC-mode network configuration with these subnets and security groups.
pub fn vpc_network(subnets: &[String], groups: &[String]) -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .network_mode(NetworkMode::Vpc)
        .network_mode_config(
            VpcConfig::builder()
                .set_subnets(Some(subnets.to_vec()))
                .set_security_groups(Some(groups.to_vec()))
                .build()
                .expect("vpc config"),
        )
        .build()
        .expect("network configuration")
}

/// An EC2 filter `name` with `values`.
pub fn filter<const N: usize>(name: &str, values: [&str; N]) -> ec2::types::Filter {
    ec2::types::Filter::builder().name(name).set_values(Some(values.iter().map(|v| v.to_string()).collect())).build()
}
