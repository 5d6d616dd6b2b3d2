//! `--aws` for `verify` and `deploy`: a real account (issue 9). Before any call, the cost and quota
//! notice and its prompt ([`crate::aws::notice`]); then the deploy phase creates the execution role
//! ([`crate::aws::iam`], or `--role-arn`), the report's network ([`crate::network::create_report_network`], or
//! `--vpc-id` + `--subnet-ids` checked by [`crate::network::check_existing`]), the security group
//! and the runtimes on the private subnets, every one tagged and recorded in the state file.
//! `--plan` prints every call deploy would make and makes none of them (no state file either).
//!
//! The image is not built here: `--image-uri` names one pushed beforehand with
//! `cargo xtask build --image --push` (the runtimes' execution role may pull from `--repository`).

use anyhow::Context;
use serde::Serialize;

use super::args::AwsArgs;
use crate::calls::Calls;
use crate::network::{Checked, Network};

/// The runtime artifacts CreateAgentRuntime needs. Offline the emulator runs `--agent-cmd` whatever
/// the image; a real account (issue 9) pushes dummy-agent's image and creates the execution role.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifacts {
    pub container_uri: String,
    pub role_arn: String,
}

impl Artifacts {
    pub fn offline(region: &str) -> Self {
        Self {
            container_uri: format!("123456789012.dkr.ecr.{region}.amazonaws.com/agentcore-eni-lab/dummy-agent:latest"),
            role_arn: "arn:aws:iam::123456789012:role/agentcore-eni-lab-runtime".into(),
        }
    }
}

/// What the deploy phase of a real-account run needs besides the [`Lab`](super::lab::Lab).
#[derive(Debug, Clone)]
pub struct AwsRun {
    pub args: AwsArgs,
    pub account: String,
    /// `--vpc-id`/`--subnet-ids`, already checked.
    pub checked: Option<Checked>,
    /// Whether this run creates the execution role (so CreateAgentRuntime may have to wait for it).
    pub creates_role: bool,
}

/// The deploy phase's network step in a real account: the execution role and the network (created
/// or checked), and the artifacts the runtimes get. Everything is in the state file right after it
/// is created (with `--plan`, printed instead).
pub async fn create_network(
    sdk: &aws_config::SdkConfig,
    calls: &mut Calls<'_>,
    region: &str,
    aws: &AwsRun,
) -> anyhow::Result<(Network, Artifacts)> {
    let run = calls.state().run_id.clone();
    let request = aws.args.account.role_request(&aws.account, region);
    let (role, network) = crate::aws::role_and_network(sdk, calls, &run, request, aws.checked.as_ref()).await?;
    let container_uri = aws.args.image_uri.clone().context("--aws needs --image-uri")?;
    Ok((network, Artifacts { container_uri, role_arn: role.arn }))
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
    fn only_a_validation_error_naming_the_role_is_waited_for() {
        let message = "Role validation failed for 'arn:aws:iam::1:role/x'. Please verify the trust policy";
        assert!(role_not_ready(Some("ValidationException"), Some(message)));
        assert!(!role_not_ready(Some("ValidationException"), Some("Invalid subnet")));
        assert!(!role_not_ready(Some("AccessDeniedException"), Some(message)));
        let malformed = "1 validation error detected: Value 'x' at 'roleArn' failed to satisfy constraint: pattern";
        assert!(!role_not_ready(Some("ValidationException"), Some(malformed)));
    }
}
