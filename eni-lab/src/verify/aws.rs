//! `--aws` for `verify` and `deploy`: a real account (issue 9). Before any call, the cost and quota
//! notice and its prompt ([`crate::aws::notice`]); then the deploy phase creates the execution role
//! ([`crate::aws::iam`], or `--role-arn`), the report's network ([`crate::aws::network::create`], or
//! `--vpc-id` + `--subnet-ids` checked by [`crate::aws::network::check_existing`]), the security group
//! and the runtimes on the private subnets, every one tagged and recorded in the state file.
//! `--plan` prints every call deploy would make and makes none of them (no state file either).
//!
//! The image is not built here: `--image-uri` names one pushed beforehand with
//! `cargo xtask build --image --push` (the runtimes' execution role may pull from `--repository`).

use anyhow::Context;
use eni_model::Subnet;

use super::network::{self as lab_network, Network};
use super::{DeployArgs, Lab, Target, UsageError};
use crate::aws::network::{self as aws_network, Checked, Existing};
use crate::aws::plan::{Call, Calls, Created, Mode, sdk_error};
use crate::aws::{iam, image, notice};
use crate::run::{RunId, run_tags};
use crate::state::{Kind, RunState};

/// The flags of a real-account run (`--aws`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// With --aws: print every call deploy would make (service, operation, parameters), make no
    /// mutating call and write no state file.
    #[arg(long)]
    pub plan: bool,
    /// With --aws: accept the cost and quota notice without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// With --aws: the container image the runtimes run (required with --aws). Build and push
    /// dummy-agent's arm64 image first with `cargo xtask build --image --push`, which prints it.
    #[arg(long, value_name = "URI")]
    pub image_uri: Option<String>,
    /// With --aws: use this existing execution role instead of creating one.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// With --aws: the ECR repository of --image-uri (the created execution role may pull from it only).
    #[arg(long, default_value = image::DEFAULT_REPOSITORY)]
    pub repository: String,
    /// With --aws: use this existing VPC instead of creating one like the report's (with --subnet-ids).
    #[arg(long, requires = "subnet_ids", value_name = "VPC_ID")]
    pub vpc_id: Option<String>,
    /// With --aws: the existing private subnets for the runtimes, comma-separated (with --vpc-id);
    /// checked (one VPC, supported zones, address headroom) and shown before anything is created.
    #[arg(long, requires = "vpc_id", value_delimiter = ',', value_name = "SUBNET_IDS")]
    pub subnet_ids: Vec<String>,
}

impl AwsArgs {
    /// These flags only make sense with `--aws`; `--aws` needs `--image-uri`.
    pub fn check(&self, aws: bool) -> Result<(), UsageError> {
        if !aws {
            let given = [
                (self.plan, "--plan"),
                (self.yes, "--yes"),
                (self.image_uri.is_some(), "--image-uri"),
                (self.role_arn.is_some(), "--role-arn"),
                (self.vpc_id.is_some(), "--vpc-id"),
                (!self.subnet_ids.is_empty(), "--subnet-ids"),
                (self.repository != image::DEFAULT_REPOSITORY, "--repository"),
            ];
            let named: Vec<&str> = given.iter().filter(|(set, _)| *set).map(|(_, name)| *name).collect();
            if !named.is_empty() {
                return Err(UsageError(format!("{} go(es) with --aws (a real account)", named.join(", "))));
            }
            return Ok(());
        }
        if self.image_uri.as_deref().is_none_or(str::is_empty) {
            return Err(UsageError(
                "--aws needs --image-uri URI: build and push dummy-agent's arm64 image with \
                 `cargo xtask build --image --push`, which prints the URI"
                    .into(),
            ));
        }
        Ok(())
    }

    fn existing(&self) -> Option<Existing> {
        self.vpc_id.as_ref().map(|vpc_id| Existing { vpc_id: vpc_id.clone(), subnet_ids: self.subnet_ids.clone() })
    }
}

/// What the deploy phase of a real-account run needs besides the [`Lab`].
#[derive(Debug, Clone)]
pub struct AwsRun {
    pub args: AwsArgs,
    pub account: String,
    /// `--vpc-id`/`--subnet-ids`, already checked.
    pub checked: Option<Checked>,
    /// Whether this run creates the execution role (so CreateAgentRuntime may have to wait for it).
    pub creates_role: bool,
}

/// Before anything is created: the notice and its prompt (not with `--plan`), the existing network's
/// check and plan, the account id. With `--plan`, prints every call and returns `None`.
pub async fn prepare(target: &Target, deploy: &DeployArgs, run: &RunId) -> anyhow::Result<Option<AwsRun>> {
    let args = &deploy.aws;
    let existing = args.existing();
    if !args.plan {
        // Before any call: a refusal leaves the account untouched.
        let creates_network = existing.is_none() as u32;
        let notice = notice::Notice {
            region: Some(target.region.clone()),
            nat_gateways: creates_network,
            elastic_ips: creates_network,
            runtimes: deploy.runtimes,
        };
        notice::confirm(&notice, args.yes).map_err(|e| UsageError(e.to_string()))?;
    }
    let ec2 = aws_sdk_ec2::Client::new(&target.sdk);
    let checked = match &existing {
        Some(existing) => {
            let checked = aws_network::check_existing(&ec2, &target.region, existing, deploy.runtimes as usize)
                .await
                .map_err(|e| UsageError(e.to_string()))?;
            eprint!("{}", aws_network::describe_checked(&checked));
            Some(checked)
        }
        None => None,
    };
    let account =
        crate::aws::account_id(&target.sdk).await.context("finding the account id (STS GetCallerIdentity)")?;
    let aws = AwsRun { args: args.clone(), account, checked, creates_role: args.role_arn.is_none() };
    if args.plan {
        plan(target, deploy, run, &aws).await?;
        return Ok(None);
    }
    Ok(Some(aws))
}

/// `--plan`: every mutating call deploy would make, printed; none is made, no state file written.
async fn plan(target: &Target, deploy: &DeployArgs, run: &RunId, aws: &AwsRun) -> anyhow::Result<()> {
    println!("plan for run {run} in {} (account {}): no mutating call is made", target.region, aws.account);
    let mut state = RunState::new(run.clone(), target.connection.clone());
    let mut calls = Calls::new(Mode::Plan, &mut state);
    let (role, network) = crate::aws::role_and_network(
        &target.sdk,
        &mut calls,
        run,
        role_request(&target.region, aws),
        aws.checked.as_ref(),
    )
    .await?;
    let group = calls
        .create(
            Call::new("ec2", "CreateSecurityGroup")
                .param("VpcId", &network.vpc_id)
                .param("GroupName", format!("{}-sg-1", run.resource_prefix()))
                .tags(&run_tags(run)),
            Kind::SecurityGroup,
            std::future::pending::<anyhow::Result<Created>>(),
        )
        .await?;
    for index in 0..deploy.runtimes as usize {
        calls
            .create(
                Call::new("bedrock-agentcore", "CreateAgentRuntime")
                    .param("AgentRuntimeName", run.runtime_name(index))
                    .param("ContainerUri", aws.args.image_uri.as_deref().unwrap_or_default())
                    .param("RoleArn", &role.arn)
                    .param("Subnets", network.private_subnet_ids.join(","))
                    .param("SecurityGroups", &group.id)
                    .tags(&run_tags(run)),
                Kind::AgentRuntime,
                std::future::pending::<anyhow::Result<Created>>(),
            )
            .await?;
    }
    println!("{} mutating call(s) planned, none made (no state file written)", calls.calls().len());
    Ok(())
}

fn role_request<'a>(region: &'a str, aws: &'a AwsRun) -> iam::RoleRequest<'a> {
    iam::RoleRequest {
        account: &aws.account,
        region,
        repository: &aws.args.repository,
        existing: aws.args.role_arn.as_deref(),
    }
}

/// The deploy phase's network step in a real account: the execution role, the network (created or
/// checked), the first security group; sets the lab's artifacts. Everything is in the state file
/// right after it is created.
pub async fn create_network(lab: &mut Lab, aws: &AwsRun) -> anyhow::Result<Network> {
    let run = lab.run.clone();
    let region = lab.region.clone();
    let mut calls = Calls::new(Mode::Execute, &mut lab.state);
    let (role, created) =
        crate::aws::role_and_network(&lab.sdk, &mut calls, &run, role_request(&region, aws), aws.checked.as_ref())
            .await?;
    lab.artifacts.role_arn = role.arn;
    lab.artifacts.container_uri = aws.args.image_uri.clone().context("--aws needs --image-uri")?;
    let mut network = Network {
        region,
        vpc: created.vpc_id.clone(),
        subnets: subnets(lab, &created).await?,
        security_groups: vec![],
    };
    lab_network::create_security_group(&lab.ec2, &mut lab.state, &mut network).await?;
    Ok(network)
}

/// The private subnets as the model sees them (DescribeSubnets), in the order of `network`.
async fn subnets(lab: &Lab, network: &aws_network::Network) -> anyhow::Result<Vec<Subnet>> {
    let out = lab
        .ec2
        .describe_subnets()
        .set_subnet_ids(Some(network.private_subnet_ids.clone()))
        .send()
        .await
        .map_err(sdk_error)?;
    network
        .private_subnet_ids
        .iter()
        .map(|id| {
            let subnet = out
                .subnets()
                .iter()
                .find(|s| s.subnet_id() == Some(id.as_str()))
                .with_context(|| format!("DescribeSubnets does not list subnet {id}"))?;
            Ok(Subnet {
                id: id.parse()?,
                vpc: network.vpc_id.parse()?,
                az_id: subnet.availability_zone_id().context("a subnet without a zone id")?.parse()?,
                cidr: subnet.cidr_block().context("a subnet without a CIDR block")?.parse()?,
            })
        })
        .collect()
}

/// Whether a CreateAgentRuntime error says the (freshly created) execution role is not usable yet:
/// IAM is eventually consistent, AgentCore answers a ValidationException naming the role.
pub fn role_not_ready(code: Option<&str>, message: Option<&str>) -> bool {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    // A malformed request ("failed to satisfy constraint") is never retried.
    code == Some("ValidationException") && message.contains("role") && !message.contains("failed to satisfy constraint")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_flags_need_aws_and_aws_needs_an_image() {
        let plain = AwsArgs { repository: image::DEFAULT_REPOSITORY.into(), ..AwsArgs::default() };
        assert!(plain.check(false).is_ok());
        let err = plain.check(true).unwrap_err().to_string();
        assert!(err.contains("--image-uri"), "{err}");
        let planned = AwsArgs { plan: true, yes: true, ..plain.clone() };
        let err = planned.check(false).unwrap_err().to_string();
        assert!(err.contains("--plan, --yes") && err.contains("--aws"), "{err}");
        let with_image = AwsArgs { image_uri: Some("x.dkr.ecr/y:z".into()), ..plain };
        assert!(with_image.check(true).is_ok());
    }

    #[test]
    fn only_a_validation_error_naming_the_role_is_waited_for() {
        let message = "Role validation failed for 'arn:aws:iam::1:role/x'. Please verify the trust policy";
        assert!(role_not_ready(Some("ValidationException"), Some(message)));
        assert!(!role_not_ready(Some("ValidationException"), Some("Invalid subnet")));
        assert!(!role_not_ready(Some("AccessDeniedException"), Some(message)));
        let malformed = "1 validation error detected: Value 'x' at 'roleArn' failed to satisfy constraint: pattern";
        assert!(!role_not_ready(Some("ValidationException"), Some(malformed)));
    }
}
