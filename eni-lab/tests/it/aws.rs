//! The AWS-account pieces (issue 9) against moto's server: `aws-setup` (execution role + network,
//! `--plan`, `--vpc-id/--subnet-ids`), `push-image`'s repository step and ECR login, `iam-policy`
//! against every SDK operation the code calls, the cost notice's refusal, the Dockerfile.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use aws_config::SdkConfig;
use aws_sdk_ec2::types::Filter;
use eni_lab::run::{RUN_TAG, TOOL_TAG, TOOL_TAG_VALUE};
use serde_json::Value;

use crate::support::{eni_lab, scratch, sdk, start_moto};

fn run(runs: &Path, url: &str, args: &[&str]) -> Output {
    eni_lab(runs).args(args).args(["--endpoint-url", url]).output().expect("run eni-lab")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON document at the end of stdout (after any `would call` lines).
fn setup_json(output: &Output) -> Value {
    let text = stdout(output);
    let start = text.find("\n{").map_or(0, |i| i + 1);
    serde_json::from_str(&text[start..]).unwrap_or_else(|e| panic!("{e}: stdout {text}\nstderr {}", stderr(output)))
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned())).collect()
}

fn assert_run_tagged(what: &str, tags: &BTreeMap<String, String>, run_id: &str) {
    assert_eq!(tags.get(RUN_TAG).map(String::as_str), Some(run_id), "{what} tags: {tags:?}");
    assert_eq!(tags.get(TOOL_TAG).map(String::as_str), Some(TOOL_TAG_VALUE), "{what} tags: {tags:?}");
}

/// How many of each kind of resource moto holds: what `--plan` must leave unchanged.
async fn census(sdk: &SdkConfig) -> BTreeMap<&'static str, usize> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let iam = aws_sdk_iam::Client::new(sdk);
    let ecr = aws_sdk_ecr::Client::new(sdk);
    let mut counts = BTreeMap::new();
    counts.insert("vpcs", ec2.describe_vpcs().send().await.unwrap().vpcs().len());
    counts.insert("subnets", ec2.describe_subnets().send().await.unwrap().subnets().len());
    counts.insert("igws", ec2.describe_internet_gateways().send().await.unwrap().internet_gateways().len());
    counts.insert("route tables", ec2.describe_route_tables().send().await.unwrap().route_tables().len());
    counts.insert("nat gateways", ec2.describe_nat_gateways().send().await.unwrap().nat_gateways().len());
    counts.insert("addresses", ec2.describe_addresses().send().await.unwrap().addresses().len());
    counts.insert("security groups", ec2.describe_security_groups().send().await.unwrap().security_groups().len());
    counts.insert("roles", iam.list_roles().send().await.unwrap().roles().len());
    counts.insert("repositories", ecr.describe_repositories().send().await.unwrap().repositories().len());
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_setup_creates_the_reports_network_and_the_execution_role_all_tagged_and_recorded() {
    let moto = start_moto();
    let runs = scratch("aws-setup-create");
    let output = run(&runs, &moto.url, &["aws-setup", "--yes"]);
    assert!(output.status.success(), "stdout {}\nstderr {}", stdout(&output), stderr(&output));
    let setup = setup_json(&output);
    let run_id = setup["runId"].as_str().unwrap().to_owned();
    let sdk = sdk(&moto.url).await;
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
            Kind::RouteTable
        ]
    );
    assert!(state.resources.iter().any(|r| r.id == vpc_id));
    assert!(state.resources.iter().any(|r| r.id == allocation));
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_lists_every_call_and_makes_no_mutating_call() {
    let moto = start_moto();
    let sdk = sdk(&moto.url).await;
    let before = census(&sdk).await;
    let runs = scratch("aws-setup-plan");
    let output = run(&runs, &moto.url, &["aws-setup", "--plan"]);
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
    ] {
        assert!(operations.contains(&expected), "{expected} not planned:\n{text}");
    }
    assert_eq!(operations.iter().filter(|o| **o == "ec2:CreateSubnet").count(), 4);
    assert_eq!(operations.len(), 19, "{text}");
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
    let sdk = sdk(&moto.url).await;
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
        let output = run(&runs, &moto.url, &["aws-setup", "--yes", "--vpc-id", &mine, "--subnet-ids", &subnets]);
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

    let output = run(&runs, &moto.url, &["aws-setup", "--yes", "--vpc-id", &mine, "--subnet-ids", &format!("{a},{b}")]);
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
    let sdk = sdk(&moto.url).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let trust = eni_lab::aws::iam::trust_policy("123456789012", "us-east-1").to_string();
    let good = iam.create_role().role_name("mine").assume_role_policy_document(&trust).send().await.unwrap();
    let good = good.role().unwrap().arn().to_owned();
    let ec2_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let bad = iam.create_role().role_name("ec2-only").assume_role_policy_document(ec2_trust).send().await.unwrap();
    let bad = bad.role().unwrap().arn().to_owned();
    let runs = scratch("aws-setup-role-arn");

    let output = run(&runs, &moto.url, &["aws-setup", "--plan", "--role-arn", &bad]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("does not name bedrock-agentcore.amazonaws.com"), "{}", stderr(&output));

    let output = run(&runs, &moto.url, &["aws-setup", "--plan", "--role-arn", &good]);
    assert!(output.status.success(), "{}", stderr(&output));
    let setup = setup_json(&output);
    assert_eq!(setup["role"]["arn"], good.as_str());
    assert_eq!(setup["role"]["created"], false);
    assert!(!stdout(&output).contains("iam:CreateRole"), "{}", stdout(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn push_image_creates_the_repository_once_tagged_and_decodes_the_login() {
    let moto = start_moto();
    let sdk = sdk(&moto.url).await;
    let runs = scratch("push-image");
    let args = ["push-image", "--image", "dummy-agent:v1", "--repository", "lab/agent", "--repository-only"];
    let output = run(&runs, &moto.url, &args);
    assert!(output.status.success(), "stdout {}\nstderr {}", stdout(&output), stderr(&output));
    let uri = stdout(&output).trim().to_owned();
    assert!(uri.ends_with(".amazonaws.com/lab/agent") && uri.starts_with("123456789012.dkr.ecr.us-east-1"), "{uri}");
    assert!(stderr(&output).contains("created ECR repository lab/agent"), "{}", stderr(&output));

    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let repos = ecr.describe_repositories().repository_names("lab/agent").send().await.unwrap();
    let arn = repos.repositories()[0].repository_arn().unwrap();
    let tags = ecr.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
    let tags: BTreeMap<String, String> =
        tags.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    let states: Vec<_> = std::fs::read_dir(&runs).unwrap().map(|e| e.unwrap().path().join("state.json")).collect();
    assert_eq!(states.len(), 1);
    let state = eni_lab::state::RunState::load(&states[0]).unwrap();
    assert_run_tagged("repository", &tags, state.run_id.as_str());
    assert_eq!(state.resources.len(), 1);
    assert_eq!(
        (state.resources[0].kind, state.resources[0].id.as_str()),
        (eni_lab::state::Kind::EcrRepository, "lab/agent")
    );

    // A second push uses the repository as it is: not created, not recorded again.
    let output = run(&runs, &moto.url, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("created ECR repository"), "{}", stderr(&output));
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 1);

    // The registry login from moto's authorization token.
    let login = eni_lab::aws::image::registry_login(&ecr).await.unwrap();
    assert_eq!(login.username, "AWS");
    assert!(!login.password.expose().is_empty());
    assert!(login.registry.starts_with("123456789012.dkr.ecr.us-east-1.amazonaws.com"), "{}", login.registry);
    assert!(!format!("{login:?}").contains(login.password.expose()), "the password shows in Debug");
    assert!(!stderr(&output).contains(login.password.expose()) && !stdout(&output).contains(login.password.expose()));
}

#[test]
fn authorization_tokens_decode_or_fail_clearly() {
    use eni_lab::aws::image::decode_authorization;
    let login =
        decode_authorization("QVdTOnNlY3JldDpwYXJ0", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com").unwrap();
    assert_eq!(login.username, "AWS");
    assert_eq!(login.password.expose(), "secret:part", "only the first colon separates");
    assert_eq!(login.registry, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
    let error = decode_authorization("not base64!", "https://x").unwrap_err().to_string();
    assert!(error.contains("not base64"), "{error}");
    let error = decode_authorization("bm9jb2xvbg==", "https://x").unwrap_err().to_string(); // "nocolon"
    assert!(error.contains("user:password"), "{error}");
    assert_eq!(eni_lab::aws::image::image_tag("dummy-agent:v1"), "v1");
    assert_eq!(eni_lab::aws::image::image_tag("localhost:5000/dummy-agent"), "latest");
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

// ---- iam-policy against the code -------------------------------------------------------------

/// IAM service prefix of each AWS SDK crate the workspace uses.
const SDK_SERVICES: &[(&str, &str)] = &[
    ("aws-sdk-ec2", "ec2"),
    ("aws-sdk-iam", "iam"),
    ("aws-sdk-ecr", "ecr"),
    ("aws-sdk-sts", "sts"),
    ("aws-sdk-bedrockagentcorecontrol", "bedrock-agentcore"),
    ("aws-sdk-bedrockagentcore", "bedrock-agentcore"),
];

/// For each SDK crate: its client methods (`create_vpc`) and operation names (`CreateVpc`), read from
/// the crate sources cargo resolved (`src/operation/<method>.rs` holds `Layer::new("<Operation>")`).
fn sdk_operations() -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(root)
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut operations: BTreeMap<&'static str, BTreeMap<String, String>> = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let Some((crate_name, _)) = SDK_SERVICES.iter().find(|(name, _)| package["name"] == *name) else { continue };
        let dir = Path::new(package["manifest_path"].as_str().unwrap()).parent().unwrap().join("src/operation");
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let Some(start) = text.find("config_bag::Layer::new(\"") else { continue };
            let rest = &text[start + "config_bag::Layer::new(\"".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            let method = path.file_stem().unwrap().to_string_lossy().into_owned();
            operations.entry(crate_name).or_default().insert(method, name.to_owned());
        }
    }
    for (crate_name, _) in SDK_SERVICES {
        assert!(operations.get(crate_name).is_some_and(|ops| ops.len() > 5), "no operations found for {crate_name}");
    }
    operations
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.method(` in `text`.
fn method_calls(text: &str) -> BTreeSet<&str> {
    let mut calls = BTreeSet::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('.') {
        let start = i + 1;
        let end = start + bytes[start..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
        if end > start && bytes.get(end) == Some(&b'(') {
            calls.insert(&text[start..end]);
        }
    }
    calls
}

#[test]
fn iam_policy_allows_every_sdk_operation_the_code_calls() {
    let operations = sdk_operations();
    let output = eni_lab(&scratch("iam-policy")).arg("iam-policy").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("iam-policy prints JSON");
    assert_eq!(printed, eni_lab::aws::permissions::tool_policy());
    let output = eni_lab(&scratch("iam-policy"))
        .args(["iam-policy", "--execution-role", "--account", "111122223333", "--region", "eu-west-1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let role: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(role["trustPolicy"]["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"], "111122223333");
    assert!(role["permissionsPolicy"].to_string().contains("arn:aws:ecr:eu-west-1:111122223333:repository/"));
    let allowed: BTreeSet<String> = eni_lab::aws::permissions::allowed_actions().into_iter().collect();
    let free: BTreeSet<&str> = eni_lab::aws::permissions::NO_PERMISSION_NEEDED.iter().copied().collect();

    // Every policy action of a service with an SDK crate names a real operation (catches typos),
    // except those the container tool and AgentCore call on the tool's behalf.
    let on_behalf = [
        "iam:PassRole",
        "iam:CreateServiceLinkedRole",
        "ec2:CreateTags",
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ];
    let real: BTreeSet<String> = SDK_SERVICES
        .iter()
        .flat_map(|(krate, service)| operations[krate].values().map(move |op| format!("{service}:{op}")))
        .collect();
    for action in &allowed {
        assert!(
            real.contains(action) || on_behalf.contains(&action.as_str()),
            "{action} is not an operation of the SDK"
        );
    }

    // Every SDK operation called in eni-lab, eni-watch and loadgen sources is allowed.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in ["eni-lab/src", "eni-watch/src", "loadgen/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut missing = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // The SDKs a file names; a file naming none may use any.
        let named: Vec<&(&str, &str)> =
            SDK_SERVICES.iter().filter(|(krate, _)| text.contains(&krate.replace('-', "_"))).collect();
        let candidates: Vec<&(&str, &str)> = if named.is_empty() { SDK_SERVICES.iter().collect() } else { named };
        for method in method_calls(&text) {
            let actions: Vec<String> = candidates
                .iter()
                .filter_map(|(krate, service)| operations[krate].get(method).map(|op| format!("{service}:{op}")))
                .collect();
            if actions.is_empty() {
                continue;
            }
            seen.extend(actions.iter().cloned());
            if !actions.iter().any(|a| allowed.contains(a) || free.contains(a.as_str())) {
                missing.insert(format!(
                    "{} (.{method}() in {})",
                    actions.join(" or "),
                    file.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "add to eni-lab/src/aws/permissions.rs: {missing:#?}");
    // The scan finds calls of every layer: network, role, image, and the clients the runs drive.
    for expected in [
        "ec2:CreateNatGateway",
        "iam:PutRolePolicy",
        "ecr:GetAuthorizationToken",
        "sts:GetCallerIdentity",
        "bedrock-agentcore:InvokeAgentRuntime",
        "ec2:DescribeNetworkInterfaces",
    ] {
        assert!(seen.contains(expected), "{expected} not found by the scan: {seen:?}");
    }
}

// ---- the container image -----------------------------------------------------------------------

/// The Dockerfile read without Docker (hadolint is not in Debian's packages): what it must state
/// for AgentCore — an arm64 build, a non-root user, port 8080, an exec-form entrypoint.
#[test]
fn dockerfile_builds_an_arm64_non_root_agent_on_port_8080() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let text = std::fs::read_to_string(root.join("dummy-agent/Dockerfile")).unwrap();
    // Instructions, with continuation lines joined and comments dropped.
    let mut instructions: Vec<(String, String)> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(body) = line.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        if !current.trim().is_empty() {
            let (keyword, rest) = current.trim().split_once(char::is_whitespace).unwrap_or((current.trim(), ""));
            instructions.push((keyword.to_ascii_uppercase(), rest.trim().to_owned()));
        }
        current.clear();
    }
    const KNOWN: &[&str] = &[
        "FROM",
        "ARG",
        "RUN",
        "ENV",
        "WORKDIR",
        "COPY",
        "ADD",
        "USER",
        "EXPOSE",
        "STOPSIGNAL",
        "ENTRYPOINT",
        "CMD",
        "LABEL",
        "HEALTHCHECK",
        "SHELL",
        "VOLUME",
        "ONBUILD",
    ];
    for (keyword, rest) in &instructions {
        assert!(KNOWN.contains(&keyword.as_str()), "unknown instruction {keyword} {rest}");
    }
    let stages: Vec<&str> = instructions.iter().filter(|(k, _)| k == "FROM").map(|(_, rest)| rest.as_str()).collect();
    assert!(stages.len() >= 2, "a build stage and a runtime stage: {stages:?}");
    assert!(stages[0].starts_with("--platform=$BUILDPLATFORM"), "the builder runs natively: {}", stages[0]);
    assert!(text.contains("aarch64-unknown-linux-musl"), "cross-compiles for arm64");
    assert!(text.contains("arm64)"), "maps TARGETARCH arm64");
    let last_stage = instructions.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let runtime: Vec<&(String, String)> = instructions[last_stage..].iter().collect();
    let user = runtime.iter().rev().find(|(k, _)| k == "USER").map(|(_, u)| u.as_str()).expect("the image sets USER");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "0" && uid != "root", "the agent must not run as root: USER {user}");
    assert!(
        runtime.iter().any(|(k, v)| k == "EXPOSE" && v.split_whitespace().any(|p| p == "8080" || p == "8080/tcp")),
        "EXPOSE 8080"
    );
    let entrypoint = runtime.iter().find(|(k, _)| k == "ENTRYPOINT").map(|(_, v)| v.as_str()).expect("ENTRYPOINT");
    assert!(serde_json::from_str::<Vec<String>>(entrypoint).is_ok(), "exec form ENTRYPOINT: {entrypoint}");
    for (k, v) in &instructions {
        assert!(!(k == "FROM" && v.contains(":latest")), "pinned base images: {v}");
    }

    // The README says how to build it for arm64, with and without xtask.
    let readme = std::fs::read_to_string(root.join("dummy-agent/README.md")).unwrap();
    assert!(readme.contains("--platform linux/arm64"), "the README shows the arm64 build");
    assert!(readme.contains("cargo xtask build --image"), "the README shows `cargo xtask build --image`");
}
