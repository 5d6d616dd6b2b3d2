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
///
/// `cargo metadata` runs offline and filtered to the host platform: the build downloaded exactly the
/// packages of this platform, so a fresh `CARGO_HOME` has those and nothing else (a Windows-only crate
/// such as `anstyle-wincon` would otherwise have to be downloaded).
fn sdk_operations() -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host_triple()])
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

/// The platform the tests run on, as rustc names it (`x86_64-unknown-linux-gnu`).
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = std::process::Command::new(rustc).arg("-vV").output().expect("run rustc -vV");
    let text = String::from_utf8(output.stdout).unwrap();
    let host = text.lines().find_map(|line| line.strip_prefix("host: "));
    host.unwrap_or_else(|| panic!("no host line in rustc -vV:\n{text}")).trim().to_owned()
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

/// The image build empties the workspace-hack (as `cargo hakari disable` does), so that dummy-agent's
/// image compiles only dummy-agent's own dependencies: pure Rust, no C toolchain for the arm64 target.
/// Without that step the hack would bring the AWS SDK's C crypto (aws-lc-sys) into the image build.
#[test]
fn the_image_build_leaves_out_the_workspace_hack_and_its_c_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dockerfile = std::fs::read_to_string(root.join("dummy-agent/Dockerfile")).unwrap();
    let disable = "sed -i '/^### BEGIN HAKARI SECTION/,/^### END HAKARI SECTION/{//!d}' workspace-hack/Cargo.toml";
    let build = dockerfile.find("cargo build --release -p dummy-agent").expect("the image builds dummy-agent");
    assert!(dockerfile.find(disable).is_some_and(|at| at < build), "the hack is emptied before the build");
    let hack = std::fs::read_to_string(root.join("workspace-hack/Cargo.toml")).unwrap();
    assert!(hack.contains("\n### BEGIN HAKARI SECTION\n") && hack.contains("\n### END HAKARI SECTION\n"), "{hack}");

    let packages = |prune: bool| -> BTreeSet<String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command.current_dir(root).args(["tree", "--offline", "-p", "dummy-agent", "-e", "normal,build"]);
        command.args(["--target", &host_triple(), "--prefix", "none", "--format", "{p}"]);
        if prune {
            command.args(["--prune", "workspace-hack"]);
        }
        let output = command.output().expect("run cargo tree");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        text.lines().filter_map(|line| line.split_whitespace().next()).map(str::to_owned).collect()
    };
    let with_hack = packages(false);
    assert!(with_hack.contains("aws-lc-sys"), "the hack brings the SDK's C crypto: {with_hack:?}");
    let own = packages(true);
    assert!(own.contains("tokio") && own.contains("axum"), "{own:?}");
    for c_crate in ["aws-lc-sys", "ring", "cc", "cmake", "openssl-sys"] {
        assert!(!own.contains(c_crate), "dummy-agent's own dependencies need {c_crate}: {own:?}");
    }
}

/// The push with a stand-in `docker` on PATH that records its arguments and stdin: the password goes
/// to `login --password-stdin`, never on a command line; then tag and push to the repository.
#[tokio::test(flavor = "multi_thread")]
async fn push_image_logs_in_with_the_password_on_stdin_then_tags_and_pushes() {
    use std::os::unix::fs::PermissionsExt;
    let moto = start_moto();
    let runs = scratch("push-image-fake-docker");
    let bin = runs.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = runs.join("docker.log");
    let script = format!(
        "#!/bin/sh\necho \"ARGS $*\" >> '{log}'\nif [ \"$1\" = login ]; then echo \"STDIN $(cat)\" >> '{log}'; fi\n",
        log = log.display()
    );
    std::fs::write(bin.join("docker"), script).unwrap();
    std::fs::set_permissions(bin.join("docker"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = eni_lab(&runs)
        .args(["push-image", "--image", "dummy-agent:v2", "--repository", "lab/pushed", "--container-tool", "docker"])
        .args(["--endpoint-url", &moto.url])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(output.status.success(), "stdout {}\nstderr {}", stdout(&output), stderr(&output));
    let image = stdout(&output).trim().to_owned();
    assert!(image.ends_with(".amazonaws.com/lab/pushed:v2"), "{image}");

    let ecr = aws_sdk_ecr::Client::new(&sdk(&moto.url).await);
    let login = eni_lab::aws::image::registry_login(&ecr).await.unwrap();
    let password = login.password.expose();
    let calls = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 4, "{calls}");
    assert_eq!(lines[0], format!("ARGS login --username AWS --password-stdin {}", login.registry));
    assert_eq!(lines[1], format!("STDIN {password}"));
    assert_eq!(lines[2], format!("ARGS tag dummy-agent:v2 {image}"));
    assert_eq!(lines[3], format!("ARGS push {image}"));
    for line in lines.iter().filter(|l| l.starts_with("ARGS")) {
        assert!(!line.contains(password), "the password on a command line: {line}");
    }
    assert!(!stderr(&output).contains(password) && !stdout(&output).contains(password), "the password in the output");
}

// ---- `deploy --aws` / `destroy --aws` across two servers: IAM, ECR and STS in moto; EC2 and the
// AgentCore control plane in an in-process agentcore-local (AgentCore needs the subnets in its own
// EC2). The SDK picks the endpoints from the service-specific variables (`AWS_ENDPOINT_URL_<SERVICE
// ID>`), so the binary runs its real `--aws` code path.

const IMAGE_URI: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agentcore-eni-lab/dummy-agent:test";

/// `eni-lab ARGS --aws --region us-east-1` with each service's endpoint set, off the async runtime.
async fn run_split(runs: &Path, moto: &str, local: &str, args: &[&str]) -> Output {
    let mut command = eni_lab(runs);
    command
        .args(args)
        .args(["--aws", "--region", "us-east-1"])
        .env("AWS_ENDPOINT_URL_IAM", moto)
        .env("AWS_ENDPOINT_URL_ECR", moto)
        .env("AWS_ENDPOINT_URL_STS", moto)
        .env("AWS_ENDPOINT_URL_EC2", local)
        .env("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE_CONTROL", local)
        // The catch-all endpoint too, for any other service. A listing agentcore-local does not
        // implement (internet gateways, NAT gateways) answers `InvalidAction`, which destroy reads as
        // "nothing there" (teardown::OPERATION_NOT_SUPPORTED_CODES); the state file records `--aws`,
        // so no answer ever stands in for a tag check.
        .env("AWS_ENDPOINT_URL", local);
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("run eni-lab");
    eprintln!(
        "eni-lab {args:?} → {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        stdout(&output),
        stderr(&output)
    );
    output
}

async fn split_emulator() -> agentcore_local::Handle {
    lingering_emulator(std::time::Duration::from_secs(60)).await
}

/// agentcore-local at 60× with ENIs lingering `linger` of service time (`linger / 60` of wall time).
async fn lingering_emulator(linger: std::time::Duration) -> agentcore_local::Handle {
    crate::support::emulator(agentcore_local::Config {
        clock: agentcore_local::Clock::scaled(60.0).unwrap(),
        status_delay: std::time::Duration::from_secs(6),
        eni_linger: linger,
        ..Default::default()
    })
    .await
}

/// A VPC with two private subnets in supported zones of us-east-1, untagged (the user's own).
async fn users_network(ec2: &aws_sdk_ec2::Client) -> (String, Vec<String>) {
    let vpc =
        ec2.create_vpc().cidr_block("10.7.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_owned();
    let mut subnets = Vec::new();
    for (i, zone) in ["use1-az1", "use1-az4"].into_iter().enumerate() {
        let out = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.7.{}.0/24", i + 1))
            .availability_zone_id(zone)
            .send()
            .await
            .unwrap();
        subnets.push(out.subnet().unwrap().subnet_id().unwrap().to_owned());
    }
    (vpc, subnets)
}

/// What a run left, seen through the SDK: (roles, security groups, runtimes) carrying its tag.
async fn tagged_by_run(moto: &SdkConfig, local: &SdkConfig, run_id: &str) -> (usize, usize, usize) {
    let iam = aws_sdk_iam::Client::new(moto);
    let mut roles = 0;
    for role in iam.list_roles().send().await.unwrap().roles() {
        let tags = iam.list_role_tags().role_name(role.role_name()).send().await.unwrap();
        if tags.tags().iter().any(|t| t.key() == RUN_TAG && t.value() == run_id) {
            roles += 1;
        }
    }
    let ec2 = aws_sdk_ec2::Client::new(local);
    let filter = Filter::builder().name(format!("tag:{RUN_TAG}")).values(run_id).build();
    let groups = ec2.describe_security_groups().filters(filter).send().await.unwrap().security_groups().len();
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(local);
    let mut runtimes = 0;
    for runtime in control.list_agent_runtimes().send().await.unwrap().agent_runtimes() {
        let tags = control.list_tags_for_resource().resource_arn(runtime.agent_runtime_arn()).send().await.unwrap();
        if tags.tags().and_then(|t| t.get(RUN_TAG)).is_some_and(|v| v == run_id) {
            runtimes += 1;
        }
    }
    (roles, groups, runtimes)
}

fn run_id_of(output: &Output) -> String {
    let text = stdout(output);
    text.lines()
        .find_map(|l| l.strip_prefix("run id: "))
        .unwrap_or_else(|| panic!("no `run id:` line in {text}"))
        .trim()
        .to_owned()
}

fn state_of(runs: &Path, run_id: &str) -> Value {
    let path = runs.join(run_id).join("state.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn kinds(state: &Value) -> Vec<String> {
    state["resources"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_aws_creates_the_role_group_and_runtimes_tagged_and_destroy_aws_removes_them() {
    let moto = start_moto();
    let local = split_emulator().await;
    let (moto_sdk, local_sdk) = (sdk(&moto.url).await, sdk(&local.endpoint_url()).await);
    let (vpc, subnets) = users_network(&aws_sdk_ec2::Client::new(&local_sdk)).await;
    let runs = scratch("aws-split-deploy");
    let subnet_ids = subnets.join(",");
    let deploy = run_split(
        &runs,
        &moto.url,
        &local.endpoint_url(),
        &[
            "deploy",
            "--yes",
            "--runtimes",
            "2",
            "--vpc-id",
            &vpc,
            "--subnet-ids",
            &subnet_ids,
            "--image-uri",
            IMAGE_URI,
        ],
    )
    .await;
    assert_eq!(deploy.status.code(), Some(0), "deploy --aws failed");
    assert!(stderr(&deploy).contains("NAT") || stderr(&deploy).contains("AgentCore runtime(s)"), "the cost notice");
    assert!(stderr(&deploy).contains("network plan: existing VPC"), "the existing network is shown as a plan");
    let run_id = run_id_of(&deploy);
    assert_eq!(tagged_by_run(&moto_sdk, &local_sdk, &run_id).await, (1, 1, 2), "role in moto, group + runtimes local");
    let state = state_of(&runs, &run_id);
    let recorded = kinds(&state);
    for kind in ["iam-role", "security-group", "agent-runtime"] {
        assert!(recorded.iter().any(|k| k == kind), "{kind} in the state file: {recorded:?}");
    }
    assert!(!recorded.iter().any(|k| k == "vpc"), "the user's VPC is not the run's: {recorded:?}");
    let text = std::fs::read_to_string(runs.join(&run_id).join("state.json")).unwrap();
    assert!(!text.contains("\"test\""), "no credentials in the state file");
    // The runtimes run the given image with the created role.
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(&local_sdk);
    let listed = control.list_agent_runtimes().send().await.unwrap();
    let got = control
        .get_agent_runtime()
        .agent_runtime_id(listed.agent_runtimes()[0].agent_runtime_id())
        .send()
        .await
        .unwrap();
    assert!(got.role_arn().contains(":role/"), "{}", got.role_arn());

    let destroy =
        run_split(&runs, &moto.url, &local.endpoint_url(), &["destroy", "--run-id", &run_id, "--wait", "60s"]).await;
    assert_eq!(destroy.status.code(), Some(0), "destroy --aws failed");
    assert_eq!(tagged_by_run(&moto_sdk, &local_sdk, &run_id).await, (0, 0, 0), "everything of the run is gone");
    let ec2 = aws_sdk_ec2::Client::new(&local_sdk);
    assert_eq!(ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap().vpcs().len(), 1, "the user's VPC stays");
    local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_aws_plan_prints_every_call_and_changes_nothing() {
    let moto = start_moto();
    let local = split_emulator().await;
    let (moto_sdk, local_sdk) = (sdk(&moto.url).await, sdk(&local.endpoint_url()).await);
    let before = (census(&moto_sdk).await, local_census(&local_sdk).await);
    let runs = scratch("aws-split-plan");
    let plan = run_split(
        &runs,
        &moto.url,
        &local.endpoint_url(),
        &["deploy", "--plan", "--runtimes", "3", "--image-uri", IMAGE_URI],
    )
    .await;
    assert_eq!(plan.status.code(), Some(0), "deploy --aws --plan failed");
    let text = stdout(&plan);
    for call in
        ["iam:CreateRole", "iam:PutRolePolicy", "ec2:CreateVpc", "ec2:CreateNatGateway", "ec2:CreateSecurityGroup"]
    {
        assert!(text.contains(&format!("would call {call}")), "{call} planned: {text}");
    }
    assert_eq!(text.matches("would call bedrock-agentcore:CreateAgentRuntime").count(), 3, "{text}");
    assert_eq!((census(&moto_sdk).await, local_census(&local_sdk).await), before, "--plan changed something");
    let state_files: Vec<PathBuf> = walk(&runs).into_iter().filter(|p| p.ends_with("state.json")).collect();
    assert!(state_files.is_empty(), "--plan wrote {state_files:?}");
    local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_aws_after_a_half_finished_deploy_removes_what_exists() {
    let moto = start_moto();
    let local = split_emulator().await;
    let (moto_sdk, local_sdk) = (sdk(&moto.url).await, sdk(&local.endpoint_url()).await);
    let (vpc, subnets) = users_network(&aws_sdk_ec2::Client::new(&local_sdk)).await;
    let runs = scratch("aws-split-half");
    let subnet_ids = subnets.join(",");
    // AgentCore refuses the image URI: the role and the security group exist, no runtime does.
    let deploy = run_split(
        &runs,
        &moto.url,
        &local.endpoint_url(),
        &["deploy", "--yes", "--vpc-id", &vpc, "--subnet-ids", &subnet_ids, "--image-uri", "docker.io/library/nginx"],
    )
    .await;
    assert_ne!(deploy.status.code(), Some(0), "a refused runtime fails the deploy");
    assert!(
        format!("{}{}", stdout(&deploy), stderr(&deploy)).contains("CreateAgentRuntime"),
        "the error names the call"
    );
    let state_files: Vec<PathBuf> = walk(&runs).into_iter().filter(|p| p.ends_with("state.json")).collect();
    assert_eq!(state_files.len(), 1, "{state_files:?}");
    let run_id = state_files[0].parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(tagged_by_run(&moto_sdk, &local_sdk, &run_id).await, (1, 1, 0), "half-finished: role and group");

    let destroy = run_split(&runs, &moto.url, &local.endpoint_url(), &["destroy", "--wait", "30s"]).await;
    assert_eq!(destroy.status.code(), Some(0), "destroy --aws failed");
    assert_eq!(tagged_by_run(&moto_sdk, &local_sdk, &run_id).await, (0, 0, 0), "what existed is gone");
    local.shutdown().await;
}

/// agentcore-local's VPCs, subnets, security groups and runtimes.
async fn local_census(sdk: &SdkConfig) -> BTreeMap<&'static str, usize> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(sdk);
    let mut counts = BTreeMap::new();
    counts.insert("vpcs", ec2.describe_vpcs().send().await.unwrap().vpcs().len());
    counts.insert("subnets", ec2.describe_subnets().send().await.unwrap().subnets().len());
    counts.insert("security groups", ec2.describe_security_groups().send().await.unwrap().security_groups().len());
    counts.insert("runtimes", control.list_agent_runtimes().send().await.unwrap().agent_runtimes().len());
    counts
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// verify --aws: the same phases with the real-account preset; its teardown does not wait for the
/// lingering ENIs (AWS: up to 8 h) but reports them as "pending destroy" (not a mismatch) and
/// advises `destroy --aws --resume`, which then finishes.
#[tokio::test(flavor = "multi_thread")]
async fn verify_aws_leaves_lingering_enis_pending_destroy_and_destroy_resume_finishes() {
    let moto = start_moto();
    // 20 s of wall time: longer than the --aws teardown's 10 s look.
    let local = lingering_emulator(std::time::Duration::from_secs(1200)).await;
    let (moto_sdk, local_sdk) = (sdk(&moto.url).await, sdk(&local.endpoint_url()).await);
    let (vpc, subnets) = users_network(&aws_sdk_ec2::Client::new(&local_sdk)).await;
    let runs = scratch("aws-split-verify");
    let subnet_ids = subnets.join(",");
    let args = [
        "verify",
        "--yes",
        "--phases",
        "deploy,idle,teardown",
        "--runtimes",
        "2",
        "--vpc-id",
        &vpc,
        "--subnet-ids",
        &subnet_ids,
        "--image-uri",
        IMAGE_URI,
    ];
    let verify = run_split(&runs, &moto.url, &local.endpoint_url(), &args).await;
    assert_eq!(verify.status.code(), Some(0), "verify --aws did not match");
    assert!(stderr(&verify).contains("destroy --aws --resume"), "the advice");
    let state_files: Vec<PathBuf> = walk(&runs).into_iter().filter(|p| p.ends_with("state.json")).collect();
    assert_eq!(state_files.len(), 1, "{state_files:?}");
    let dir = state_files[0].parent().unwrap();
    let run_id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["settingsJson"]["preset"], "aws", "the real-account preset");
    assert_eq!(report["settingsJson"]["watchInterval"], 5.0, "the report's 5 s watch interval");
    let teardown = report["phases"].as_array().unwrap().iter().find(|p| p["phase"] == "teardown").unwrap();
    assert_eq!(teardown["facts"]["pendingDestroy"], true, "{teardown}");
    assert_eq!(teardown["matched"], true, "{teardown}");
    // With --aws each of these outcomes is expected: information rows, never a verdict.
    let checks = teardown["checks"].as_array().unwrap();
    let verdict =
        |what: &str| checks.iter().find(|c| c["what"] == what).unwrap_or_else(|| panic!("{what}"))["matched"].clone();
    for info in
        ["security group deletion while ENIs linger", "agentic_ai ENIs after the runtimes are deleted", "what is left"]
    {
        assert_eq!(verdict(info), Value::Null, "{info}: {teardown}");
    }
    assert_eq!(verdict("agent runtimes deleted"), true, "{teardown}");
    let refused = teardown["facts"]["refusals"].as_array().unwrap();
    assert!(refused.iter().any(|r| r["code"] == "DependencyViolation"), "the SG refusal is recorded: {teardown}");
    assert_eq!(tagged_by_run(&moto_sdk, &local_sdk, &run_id).await.2, 0, "the runtimes are deleted");
    assert_eq!(tagged_by_run(&moto_sdk, &local_sdk, &run_id).await.1, 1, "the group waits for its ENIs");

    let destroy = run_split(
        &runs,
        &moto.url,
        &local.endpoint_url(),
        &["destroy", "--resume", "--run-id", &run_id, "--wait", "60s"],
    )
    .await;
    assert_eq!(destroy.status.code(), Some(0), "destroy --aws --resume failed");
    assert_eq!(tagged_by_run(&moto_sdk, &local_sdk, &run_id).await, (0, 0, 0), "everything of the run is gone");
    local.shutdown().await;
}
