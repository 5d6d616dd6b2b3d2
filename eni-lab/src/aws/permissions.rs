//! `cargo xtask iam-policy`: the IAM policy the tool itself needs in a real account to deploy, verify
//! and destroy (every action it calls, and those its container tool and AgentCore call on its behalf).
//! A test keeps it in step with the code: every AWS SDK operation called anywhere in eni-lab (and the
//! eni-watch and loadgen clients it drives) must be allowed here.
//!
//! Mutations of EC2 networking and deletions are limited to resources carrying the tool's tag
//! ([`crate::run::TOOL_TAG`]): even with this policy attached, the tool cannot delete what it did not
//! create.

use serde_json::{Value, json};

use crate::aws::iam::{ROLE_PREFIX, SERVICE_PRINCIPAL};
use crate::run::{TOOL_TAG, TOOL_TAG_VALUE};

/// EC2 read calls (Describe* cannot be limited to resources).
pub const EC2_READ: &[&str] = &[
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeNatGateways",
    "ec2:DescribeAddresses",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeRouteTables",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeTags",
];

/// EC2 creations (tagged at creation through TagSpecifications).
pub const EC2_CREATE: &[&str] = &[
    "ec2:CreateVpc",
    "ec2:CreateSubnet",
    "ec2:CreateInternetGateway",
    "ec2:AllocateAddress",
    "ec2:CreateNatGateway",
    "ec2:CreateRouteTable",
    "ec2:CreateVpcEndpoint",
    "ec2:CreateSecurityGroup",
];

/// EC2 changes and deletions, only on resources with the tool's tag.
pub const EC2_CHANGE_TAGGED: &[&str] = &[
    "ec2:AttachInternetGateway",
    "ec2:DetachInternetGateway",
    "ec2:CreateRoute",
    "ec2:AssociateRouteTable",
    "ec2:DisassociateRouteTable",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:DeleteSecurityGroup",
    "ec2:DeleteVpcEndpoints",
    "ec2:DeleteRouteTable",
    "ec2:DeleteSubnet",
    "ec2:DeleteNatGateway",
    "ec2:ReleaseAddress",
    "ec2:DeleteInternetGateway",
    "ec2:DeleteVpc",
];

/// IAM calls on the execution roles the tool creates (`eni-lab-*`).
pub const IAM_OWN_ROLES: &[&str] = &[
    "iam:CreateRole",
    "iam:TagRole",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DeleteRole",
];

/// ECR calls on repositories (the pushes are the container tool's calls).
pub const ECR_REPOSITORY: &[&str] = &[
    "ecr:DescribeRepositories",
    "ecr:CreateRepository",
    "ecr:TagResource",
    "ecr:ListTagsForResource",
    "ecr:DescribeImages",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];

/// AgentCore control and data plane calls.
pub const AGENTCORE: &[&str] = &[
    "bedrock-agentcore:CreateAgentRuntime",
    "bedrock-agentcore:GetAgentRuntime",
    "bedrock-agentcore:ListAgentRuntimes",
    "bedrock-agentcore:ListAgentRuntimeVersions",
    "bedrock-agentcore:ListAgentRuntimeEndpoints",
    "bedrock-agentcore:GetAgentRuntimeEndpoint",
    "bedrock-agentcore:InvokeAgentRuntime",
    "bedrock-agentcore:StopRuntimeSession",
    "bedrock-agentcore:TagResource",
    "bedrock-agentcore:UntagResource",
    "bedrock-agentcore:ListTagsForResource",
];

/// AgentCore changes and deletions, only on runtimes with the tool's tag.
pub const AGENTCORE_CHANGE_TAGGED: &[&str] =
    &["bedrock-agentcore:UpdateAgentRuntime", "bedrock-agentcore:DeleteAgentRuntime"];

/// Operations the code calls that IAM does not authorize (allowed to every principal).
pub const NO_PERMISSION_NEEDED: &[&str] = &["sts:GetCallerIdentity"];

/// The tool's policy document.
pub fn tool_policy() -> Value {
    let tagged = json!({ "StringEquals": { format!("aws:ResourceTag/{TOOL_TAG}"): TOOL_TAG_VALUE } });
    let own_roles = format!("arn:aws:iam::*:role/{ROLE_PREFIX}*");
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "Ec2Read", "Effect": "Allow", "Action": EC2_READ, "Resource": "*" },
            { "Sid": "Ec2Create", "Effect": "Allow", "Action": EC2_CREATE, "Resource": "*" },
            {
                "Sid": "Ec2TagOnCreate",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": "*",
                "Condition": { "StringEquals": { "ec2:CreateAction": EC2_CREATE.iter().map(|a| a.trim_start_matches("ec2:")).collect::<Vec<_>>() } }
            },
            { "Sid": "Ec2ChangeOnlyWhatTheToolTagged", "Effect": "Allow", "Action": EC2_CHANGE_TAGGED, "Resource": "*", "Condition": tagged },
            { "Sid": "ExecutionRoles", "Effect": "Allow", "Action": IAM_OWN_ROLES, "Resource": own_roles },
            { "Sid": "FindTheToolsRoles", "Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*" },
            { "Sid": "ReadAnExistingRole", "Effect": "Allow", "Action": "iam:GetRole", "Resource": "arn:aws:iam::*:role/*" },
            {
                "Sid": "PassTheExecutionRoleToAgentCore",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::*:role/*",
                "Condition": { "StringEquals": { "iam:PassedToService": SERVICE_PRINCIPAL } }
            },
            {
                "Sid": "AgentCoreNetworkServiceLinkedRole",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "arn:aws:iam::*:role/aws-service-role/network.bedrock-agentcore.amazonaws.com/AWSServiceRoleForBedrockAgentCoreNetwork",
                "Condition": { "StringEquals": { "iam:AWSServiceName": "network.bedrock-agentcore.amazonaws.com" } }
            },
            { "Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*" },
            { "Sid": "EcrRepository", "Effect": "Allow", "Action": ECR_REPOSITORY, "Resource": "arn:aws:ecr:*:*:repository/*" },
            {
                "Sid": "EcrDeleteOnlyWhatTheToolTagged",
                "Effect": "Allow",
                "Action": "ecr:DeleteRepository",
                "Resource": "arn:aws:ecr:*:*:repository/*",
                "Condition": tagged
            },
            { "Sid": "AgentCore", "Effect": "Allow", "Action": AGENTCORE, "Resource": "*" },
            // `eni-lab sessions` and verify's load: ActiveSessionCount (CloudWatch's reads cannot be limited to resources).
            { "Sid": "ReadSessionMetrics", "Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*" },
            {
                "Sid": "AgentCoreChangeOnlyWhatTheToolTagged",
                "Effect": "Allow",
                "Action": AGENTCORE_CHANGE_TAGGED,
                "Resource": "*",
                "Condition": tagged
            }
        ]
    })
}

/// Every action the policy allows (`service:Operation`), sorted.
pub fn allowed_actions() -> Vec<String> {
    let mut actions = Vec::new();
    for statement in tool_policy()["Statement"].as_array().expect("statements") {
        match &statement["Action"] {
            Value::String(action) => actions.push(action.clone()),
            Value::Array(list) => actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_owned))),
            _ => {}
        }
    }
    actions.sort();
    actions.dedup();
    actions
}

/// The policy as printed by `iam-policy`: pretty JSON.
pub fn tool_policy_json() -> String {
    serde_json::to_string_pretty(&tool_policy()).expect("the policy serializes")
}

/// `eni-lab iam-policy`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the agent runtimes' execution role instead (trust policy and permissions), for a role
    /// made outside the tool and given with `--role-arn`.
    #[arg(long)]
    pub execution_role: bool,
    /// Account id in the execution role's policies.
    #[arg(long, default_value = "123456789012", requires = "execution_role")]
    pub account: String,
    /// Region in the execution role's policies.
    #[arg(long, default_value = "us-east-1", requires = "execution_role")]
    pub region: String,
    /// The ECR repository the runtimes pull from.
    #[arg(long, default_value = crate::aws::image::DEFAULT_REPOSITORY, requires = "execution_role")]
    pub repository: String,
}

/// What `iam-policy` prints.
pub fn print(args: &Args) -> String {
    if !args.execution_role {
        return tool_policy_json();
    }
    let both = json!({
        "trustPolicy": crate::aws::iam::trust_policy(&args.account, &args.region),
        "permissionsPolicy": crate::aws::iam::execution_policy(&args.account, &args.region, &args.repository),
    });
    serde_json::to_string_pretty(&both).expect("the policies serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_is_well_formed_and_no_action_is_listed_twice() {
        let policy = tool_policy();
        let mut seen = std::collections::BTreeSet::new();
        for statement in policy["Statement"].as_array().unwrap() {
            assert_eq!(statement["Effect"], "Allow");
            assert!(statement["Resource"].is_string(), "{statement}");
            let actions: Vec<&str> = match &statement["Action"] {
                Value::String(a) => vec![a],
                Value::Array(list) => list.iter().map(|a| a.as_str().unwrap()).collect(),
                other => panic!("{other}"),
            };
            for action in actions {
                let (service, operation) = action.split_once(':').unwrap();
                assert!(["ec2", "iam", "ecr", "bedrock-agentcore", "cloudwatch"].contains(&service), "{action}");
                assert!(operation.chars().next().unwrap().is_ascii_uppercase() && !operation.contains('*'), "{action}");
                assert!(seen.insert(action.to_owned()), "{action} appears twice");
            }
        }
    }

    #[test]
    fn deletions_are_limited_to_what_the_tool_tagged() {
        let policy = tool_policy();
        for statement in policy["Statement"].as_array().unwrap() {
            let text = statement["Action"].to_string();
            if text.contains(":Delete") && !text.contains("DeleteRolePolicy") {
                assert_eq!(
                    statement["Condition"]["StringEquals"][format!("aws:ResourceTag/{TOOL_TAG}")],
                    TOOL_TAG_VALUE,
                    "{statement}"
                );
            }
        }
    }
}
