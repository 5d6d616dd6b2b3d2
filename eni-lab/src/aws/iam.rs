//! The agent runtimes' execution role: trusted by `bedrock-agentcore.amazonaws.com` for this account
//! (and AgentCore resources of this region), with only what an agent runtime needs: pull the image
//! from its one ECR repository, write its logs, traces and metrics (the CDK construct's grants,
//! scoped down). `--role-arn` uses an existing role instead.
//!
//! Source: AgentCore developer guide, "IAM Permissions for AgentCore Runtime", section "Execution role
//! for running an agent in AgentCore Runtime", and the `@aws-cdk/aws-bedrock-agentcore-alpha` runtime
//! permissions (`RUNTIME_ECR_*`, `RUNTIME_LOGS_*`, `RUNTIME_XRAY_ACTIONS`, `RUNTIME_CLOUDWATCH_*`).
//! Workload-identity permissions are left out: the dummy agent calls no other service.

use serde_json::{Value, json};

use crate::call;
use crate::calls::{Calls, Created};
use crate::error::sdk_error;
use crate::run::{RunId, run_tags};
use crate::state::Kind;

/// The service principal AgentCore Runtime assumes the role as.
pub const SERVICE_PRINCIPAL: &str = "bedrock-agentcore.amazonaws.com";
/// The inline policy's name on the role.
pub const POLICY_NAME: &str = "agent-runtime";
/// Roles the tool creates are named `eni-lab-<run-id>-runtime` (the tool's own policy allows only
/// `eni-lab-*` roles).
pub const ROLE_PREFIX: &str = "eni-lab-";

/// The role name of `run`'s execution role (36 characters, under IAM's 64).
pub fn role_name(run: &RunId) -> String {
    format!("{}-runtime", run.resource_prefix())
}

/// The ARN partition of `region` (`aws`, `aws-us-gov`, `aws-cn`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

/// The trust policy: only AgentCore, only on behalf of `account`, only for AgentCore resources of
/// `region` in that account (the confused-deputy conditions the developer guide shows).
pub fn trust_policy(account: &str, region: &str) -> Value {
    let partition = partition(region);
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AgentCoreRuntimeAssumeRole",
            "Effect": "Allow",
            "Principal": { "Service": SERVICE_PRINCIPAL },
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": { "aws:SourceAccount": account },
                "ArnLike": { "aws:SourceArn": format!("arn:{partition}:bedrock-agentcore:{region}:{account}:*") }
            }
        }]
    })
}

/// The role's permissions: what an agent runtime needs and nothing else.
pub fn execution_policy(account: &str, region: &str, repository: &str) -> Value {
    let partition = partition(region);
    let log_groups = format!("arn:{partition}:logs:{region}:{account}:log-group:/aws/bedrock-agentcore/runtimes/*");
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PullTheAgentImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": format!("arn:{partition}:ecr:{region}:{account}:repository/{repository}")
            },
            {
                "Sid": "EcrLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*"
            },
            {
                "Sid": "RuntimeLogGroups",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                "Resource": log_groups
            },
            {
                "Sid": "DescribeLogGroups",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": format!("arn:{partition}:logs:{region}:{account}:log-group:*")
            },
            {
                "Sid": "RuntimeLogStreams",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": format!("{log_groups}:log-stream:*")
            },
            {
                "Sid": "Traces",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
                "Resource": "*"
            },
            {
                "Sid": "Metrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": { "StringEquals": { "cloudwatch:namespace": "bedrock-agentcore" } }
            }
        ]
    })
}

/// The execution role deploy gives the runtimes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRole {
    pub name: String,
    pub arn: String,
    /// True when this run created it (false for `--role-arn`).
    pub created: bool,
}

/// Where the role comes from.
#[derive(Clone, Copy, Debug)]
pub struct RoleRequest<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// The ECR repository the runtimes pull from.
    pub repository: &'a str,
    /// `--role-arn`: use this role (checked with GetRole) instead of creating one.
    pub existing: Option<&'a str>,
}

/// The execution role for `run`: `--role-arn` checked (it must exist and trust AgentCore), or a new
/// role created through `calls` (recorded in the state file) with its inline policy.
pub async fn ensure_execution_role(
    iam: &aws_sdk_iam::Client,
    calls: &mut Calls<'_>,
    run: &RunId,
    request: RoleRequest<'_>,
) -> anyhow::Result<ExecutionRole> {
    if let Some(arn) = request.existing {
        return check_existing_role(iam, arn).await;
    }
    let name = role_name(run);
    let trust = trust_policy(request.account, request.region).to_string();
    let mut tags = Vec::new();
    for (key, value) in run_tags(run) {
        tags.push(aws_sdk_iam::types::Tag::builder().key(key).value(value).build()?);
    }
    let (call, create) = call!("iam", iam.create_role().role_name(&name).assume_role_policy_document(&trust);
        unshown .description(format!("AgentCore runtimes of agentcore-eni-lab run {run}")).set_tags(Some(tags)));
    let created = calls
        .create(call.tags(&run_tags(run)), Kind::IamRole, async {
            let out = create.send().await.map_err(sdk_error)?;
            let role = out.role().ok_or_else(|| anyhow::anyhow!("IAM answered CreateRole without the role"))?;
            Ok::<_, anyhow::Error>(Created { id: role.role_name().to_owned(), arn: Some(role.arn().to_owned()) })
        })
        .await?;
    let policy = execution_policy(request.account, request.region, request.repository).to_string();
    let (call, put) =
        call!("iam", iam.put_role_policy().role_name(&name).policy_name(POLICY_NAME).policy_document(&policy));
    calls.mutate(call, (), async { put.send().await.map(drop).map_err(sdk_error) }).await?;
    let arn = created
        .arn
        .unwrap_or_else(|| format!("arn:{}:iam::{}:role/{name}", partition(request.region), request.account));
    Ok(ExecutionRole { name, arn, created: true })
}

/// `--role-arn`: the role must exist and trust `bedrock-agentcore.amazonaws.com`.
async fn check_existing_role(iam: &aws_sdk_iam::Client, arn: &str) -> anyhow::Result<ExecutionRole> {
    let name = arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":role/"))
        .map(|(_, path)| path.rsplit('/').next().unwrap_or(path))
        .filter(|name| !name.is_empty())
        .ok_or_else(|| anyhow::anyhow!("--role-arn {arn:?} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"))?;
    let out = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| sdk_error(e).context(format!("--role-arn {arn}: cannot read the role")))?;
    let role = out.role().ok_or_else(|| anyhow::anyhow!("IAM answered GetRole without the role"))?;
    let trust = role.assume_role_policy_document().map(percent_decode).unwrap_or_default();
    anyhow::ensure!(
        trust.contains(SERVICE_PRINCIPAL),
        "--role-arn {arn}: its trust policy does not name {SERVICE_PRINCIPAL}, so AgentCore could not assume it; \
         add the trust policy `cargo xtask iam-policy --execution-role --account ACCOUNT --region REGION` prints, or omit --role-arn to create one"
    );
    Ok(ExecutionRole { name: role.role_name().to_owned(), arn: role.arn().to_owned(), created: false })
}

/// IAM returns policy documents URL-encoded (RFC 3986: `%XX` escapes).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
