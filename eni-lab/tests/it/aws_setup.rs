//! `eni-lab aws-setup` against moto's server: the report's network and the execution role, all
//! tagged and recorded; `--plan`; an existing network (`--vpc-id/--subnet-ids`) checked with the model;
//! `--role-arn`; the cost notice's refusal without `--yes` and without a terminal.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use aws_sdk_ec2::types::Filter;
use eni_lab::run::RUN_TAG;
use serde_json::Value;

use crate::support::{
    assert_run_tagged, census, eni_lab, run_with_endpoint, scratch, sdk_config, start_moto, stderr, stdout,
};

/// The JSON document at the end of stdout (after any `would call` lines).
fn setup_json(output: &Output) -> Value {
    let text = stdout(output);
    let start = text.find("\n{").map_or(0, |i| i + 1);
    serde_json::from_str(&text[start..]).unwrap_or_else(|e| panic!("{e}: stdout {text}\nstderr {}", stderr(output)))
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_setup_creates_the_reports_network_and_the_execution_role_all_tagged_and_recorded() {
    let moto = start_moto();
    let runs = scratch("aws-setup-create");
    let output = run_with_endpoint(&runs, &moto.url, &["aws-setup", "--yes"]);
    assert!(output.status.success(), "stdout {}\nstderr {}", stdout(&output), stderr(&output));
    let setup = setup_json(&output);
    let run_id = setup["runId"].as_str().unwrap().to_owned();
    let sdk = sdk_config(&moto.url).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);

    // The VPC and its four /24 subnets in two supported zones, two public and two private.
    let vpc_id = setup["network"]["vpcId"].as_str().unwrap();
    let vpc = ec2.describe_vpcs().vpc_ids(vpc_id).send().await.unwrap();
    assert_eq!(vpc.vpcs()[0].cidr_block(), Some("10.0.0.0/16"));
    assert_run_tagged("vpc", &ec2_tags(vpc.vpcs()[0].tags()), &run_id);
    let subnets =
        ec2.describe_subnets().filters(Filter::builder().name("vpc-id").values(vpc_id).build()).send().await.unwrap();
    assert_eq!(subnets.subnets().len(), 4);
    let supported = eni_model::supported_az_ids("us-east-1").unwrap();
    let mut zones = BTreeSet::new();
    for subnet in subnets.subnets() {
        assert_run_tagged("subnet", &ec2_tags(subnet.tags()), &run_id);
        assert!(subnet.cidr_block().unwrap().ends_with("/24"));
        let zone = subnet.availability_zone_id().unwrap();
        assert!(supported.contains(&zone), "{zone} is not a zone AgentCore supports");
        zones.insert(zone.to_owned());
    }
    assert_eq!(zones.len(), 2, "two zones: {zones:?}");
    let private: Vec<&str> =
        setup["network"]["privateSubnetIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let public: Vec<&str> =
        setup["network"]["publicSubnetIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!((private.len(), public.len()), (2, 2));

    // Internet gateway attached; one NAT gateway with an elastic IP in a public subnet.
    let igws = ec2
        .describe_internet_gateways()
        .filters(Filter::builder().name("attachment.vpc-id").values(vpc_id).build())
        .send()
        .await
        .unwrap();
    assert_eq!(igws.internet_gateways().len(), 1);
    let igw = &igws.internet_gateways()[0];
    assert_run_tagged("internet gateway", &ec2_tags(igw.tags()), &run_id);
    let nats = ec2
        .describe_nat_gateways()
        .filter(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .unwrap();
    assert_eq!(nats.nat_gateways().len(), 1);
    let nat = &nats.nat_gateways()[0];
    assert_run_tagged("NAT gateway", &ec2_tags(nat.tags()), &run_id);
    assert!(public.contains(&nat.subnet_id().unwrap()), "NAT gateway in a public subnet");
    let allocation = nat.nat_gateway_addresses()[0].allocation_id().unwrap();
    let addresses = ec2.describe_addresses().allocation_ids(allocation).send().await.unwrap();
    assert_run_tagged("elastic IP", &ec2_tags(addresses.addresses()[0].tags()), &run_id);

    // Routes: public subnets → IGW, private subnets → NAT.
    let tables = ec2
        .describe_route_tables()
        .filters(Filter::builder().name(format!("tag:{RUN_TAG}")).values(&run_id).build())
        .send()
        .await
        .unwrap();
    assert_eq!(tables.route_tables().len(), 2);
    for table in tables.route_tables() {
        let associated: BTreeSet<&str> = table.associations().iter().filter_map(|a| a.subnet_id()).collect();
        let default =
            table.routes().iter().find(|r| r.destination_cidr_block() == Some("0.0.0.0/0")).expect("a default route");
        if default.gateway_id() == igw.internet_gateway_id() {
            assert_eq!(associated, public.iter().copied().collect());
        } else {
            assert_eq!(default.nat_gateway_id(), nat.nat_gateway_id());
            assert_eq!(associated, private.iter().copied().collect());
        }
    }

    // The execution role: trust policy for AgentCore on this account, the runtime's permissions.
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role_name = setup["role"]["name"].as_str().unwrap();
    let role = iam.get_role().role_name(role_name).send().await.unwrap();
    let role = role.role().unwrap();
    let trust: Value =
        serde_json::from_str(&eni_lab::aws::iam::percent_decode(role.assume_role_policy_document().unwrap())).unwrap();
    let statement = &trust["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "bedrock-agentcore.amazonaws.com");
    assert_eq!(statement["Action"], "sts:AssumeRole");
    assert_eq!(statement["Condition"]["StringEquals"]["aws:SourceAccount"], "123456789012");
    assert_eq!(
        statement["Condition"]["ArnLike"]["aws:SourceArn"],
        "arn:aws:bedrock-agentcore:us-east-1:123456789012:*"
    );
    let role_tags: BTreeMap<String, String> =
        role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    assert_run_tagged("role", &role_tags, &run_id);
    let policy =
        iam.get_role_policy().role_name(role_name).policy_name(eni_lab::aws::iam::POLICY_NAME).send().await.unwrap();
    let policy: Value = serde_json::from_str(&eni_lab::aws::iam::percent_decode(policy.policy_document())).unwrap();
    let text = policy.to_string();
    for needed in [
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "cloudwatch:PutMetricData",
    ] {
        assert!(text.contains(needed), "{needed} missing from {text}");
    }
    assert!(
        text.contains("repository/agentcore-eni-lab/dummy-agent"),
        "ECR pull limited to the one repository: {text}"
    );
    assert!(text.contains("log-group:/aws/bedrock-agentcore/runtimes/*"), "{text}");
    assert!(!text.contains("\"ecr:*\"") && !text.contains("\"*:*\""), "{text}");

    // Everything is in the state file, in creation order, role first.
    let state = eni_lab::state::RunState::load(&runs.join(&run_id).join("state.json")).unwrap();
    let kinds: Vec<_> = state.resources.iter().map(|r| r.kind).collect();
    use eni_lab::state::Kind;
    assert_eq!(
        kinds,
        [
            Kind::IamRole,
            Kind::Vpc,
            Kind::InternetGateway,
            Kind::Subnet,
            Kind::Subnet,
            Kind::Subnet,
            Kind::Subnet,
            Kind::ElasticIp,
            Kind::NatGateway,
            Kind::RouteTable,
            Kind::RouteTable,
            Kind::VpcEndpoint
        ]
    );
    assert!(state.resources.iter().any(|r| r.id == vpc_id));
    assert!(state.resources.iter().any(|r| r.id == allocation));
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_lists_every_call_and_makes_no_mutating_call() {
    let moto = start_moto();
    let sdk = sdk_config(&moto.url).await;
    let before = census(&sdk).await;
    let runs = scratch("aws-setup-plan");
    let output = run_with_endpoint(&runs, &moto.url, &["aws-setup", "--plan"]);
    assert!(output.status.success(), "stdout {}\nstderr {}", stdout(&output), stderr(&output));
    assert_eq!(census(&sdk).await, before, "--plan changed moto's state");
    let text = stdout(&output);
    let planned: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("would call ")).collect();
    let operations: Vec<&str> = planned.iter().map(|l| l.split_whitespace().next().unwrap()).collect();
    for expected in [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "ec2:CreateVpc",
        "ec2:CreateInternetGateway",
        "ec2:AttachInternetGateway",
        "ec2:CreateSubnet",
        "ec2:AllocateAddress",
        "ec2:CreateNatGateway",
        "ec2:CreateRouteTable",
        "ec2:CreateRoute",
        "ec2:AssociateRouteTable",
        "ec2:CreateVpcEndpoint",
    ] {
        assert!(operations.contains(&expected), "{expected} not planned:\n{text}");
    }
    assert_eq!(operations.iter().filter(|o| **o == "ec2:CreateSubnet").count(), 4);
    assert_eq!(operations.len(), 20, "{text}");
    assert!(
        planned.iter().any(|l| l.contains("AvailabilityZoneId=use1-az") && l.contains("CidrBlock=10.0.2.0/24")),
        "{text}"
    );
    assert!(text.contains("none made"), "{text}");
    assert!(std::fs::read_dir(&runs).unwrap().next().is_none(), "--plan wrote a state file");
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_network_is_checked_with_the_model_before_anything_is_created() {
    let moto = start_moto();
    let sdk = sdk_config(&moto.url).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = |cidr: &'static str| {
        let ec2 = ec2.clone();
        async move { ec2.create_vpc().cidr_block(cidr).send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_owned() }
    };
    let subnet = |vpc: String, cidr: &'static str, zone: &'static str| {
        let ec2 = ec2.clone();
        async move {
            ec2.create_subnet()
                .vpc_id(vpc)
                .cidr_block(cidr)
                .availability_zone_id(zone)
                .send()
                .await
                .unwrap()
                .subnet()
                .unwrap()
                .subnet_id()
                .unwrap()
                .to_owned()
        }
    };
    let mine = vpc("10.1.0.0/16").await;
    let other = vpc("10.2.0.0/16").await;
    let a = subnet(mine.clone(), "10.1.1.0/24", "use1-az1").await;
    let b = subnet(mine.clone(), "10.1.2.0/24", "use1-az4").await;
    let unsupported = subnet(mine.clone(), "10.1.3.0/24", "use1-az6").await;
    let foreign = subnet(other, "10.2.1.0/24", "use1-az2").await;
    let runs = scratch("aws-setup-existing");
    let before = census(&sdk).await;

    let refused = |subnets: String| {
        let output =
            run_with_endpoint(&runs, &moto.url, &["aws-setup", "--yes", "--vpc-id", &mine, "--subnet-ids", &subnets]);
        assert!(!output.status.success(), "accepted {subnets}: {}", stdout(&output));
        stderr(&output)
    };
    let message = refused(format!("{a},{unsupported}"));
    assert!(
        message.contains(&unsupported) && message.contains("use1-az6") && message.contains("does not run"),
        "{message}"
    );
    let message = refused(format!("{a},{foreign}"));
    assert!(message.contains(&foreign) && message.contains("not to --vpc-id"), "{message}");
    let message = refused(format!("{a},subnet-0123456789abcdef0"));
    assert!(message.contains("subnet(s) subnet-0123456789abcdef0 do not exist"), "{message}");
    assert!(!message.contains(&a), "names only the missing subnet: {message}");
    assert_eq!(census(&sdk).await, before, "a refused network created something");

    let output = run_with_endpoint(
        &runs,
        &moto.url,
        &["aws-setup", "--yes", "--vpc-id", &mine, "--subnet-ids", &format!("{a},{b}")],
    );
    assert!(output.status.success(), "stdout {}\nstderr {}", stdout(&output), stderr(&output));
    let plan = stderr(&output);
    assert!(plan.contains(&format!("existing VPC {mine}")), "{plan}");
    assert!(plan.contains("ENIs at the peak (SG split): 4"), "{plan}");
    assert!(plan.contains(&a) && plan.contains("use1-az1") && plan.contains("251 usable"), "{plan}");
    let setup = setup_json(&output);
    assert_eq!(setup["network"]["vpcId"], mine.as_str());
    assert_eq!(setup["network"]["privateSubnetIds"], serde_json::json!([a, b]));
    assert_eq!(setup["network"]["created"], false);
    let after = census(&sdk).await;
    assert_eq!(after["vpcs"], before["vpcs"], "no VPC created");
    assert_eq!(after["subnets"], before["subnets"], "no subnet created");
    assert_eq!(after["roles"], before["roles"] + 1, "the execution role is still created");
}

#[tokio::test(flavor = "multi_thread")]
async fn role_arn_uses_an_existing_role_that_trusts_agentcore() {
    let moto = start_moto();
    let sdk = sdk_config(&moto.url).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let trust = eni_lab::aws::iam::trust_policy("123456789012", "us-east-1").to_string();
    let good = iam.create_role().role_name("mine").assume_role_policy_document(&trust).send().await.unwrap();
    let good = good.role().unwrap().arn().to_owned();
    let ec2_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let bad = iam.create_role().role_name("ec2-only").assume_role_policy_document(ec2_trust).send().await.unwrap();
    let bad = bad.role().unwrap().arn().to_owned();
    let runs = scratch("aws-setup-role-arn");

    let output = run_with_endpoint(&runs, &moto.url, &["aws-setup", "--plan", "--role-arn", &bad]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("does not name bedrock-agentcore.amazonaws.com"), "{}", stderr(&output));

    let output = run_with_endpoint(&runs, &moto.url, &["aws-setup", "--plan", "--role-arn", &good]);
    assert!(output.status.success(), "{}", stderr(&output));
    let setup = setup_json(&output);
    assert_eq!(setup["role"]["arn"], good.as_str());
    assert_eq!(setup["role"]["created"], false);
    assert!(!stdout(&output).contains("iam:CreateRole"), "{}", stdout(&output));
}

#[test]
fn a_real_account_without_yes_and_without_a_terminal_creates_nothing() {
    let runs = scratch("aws-setup-notice");
    let output = eni_lab(&runs)
        .args(["aws-setup", "--aws", "--region", "eu-west-1"])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains("NAT gateway") && text.contains("2,500 in eu-west-1"), "{text}");
    assert!(text.contains("pass --yes"), "{text}");
    assert!(std::fs::read_dir(&runs).unwrap().next().is_none(), "a state file was written");
}
