//! `deploy`, `destroy` and `verify` with `--aws` across two servers: IAM, ECR and STS in moto; EC2 and
//! the AgentCore control plane in an in-process agentcore-local (AgentCore needs the subnets in its own
//! EC2). The SDK picks the endpoints from the service-specific variables (`AWS_ENDPOINT_URL_<SERVICE
//! ID>`), so the binary runs its real `--aws` code path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use aws_config::SdkConfig;
use aws_sdk_ec2::types::Filter;
use eni_lab::run::RUN_TAG;
use serde_json::Value;

use crate::support::{census, eni_lab, scratch, sdk_config, start_moto, stderr, stdout};

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
        // implement answers `InvalidAction`, which destroy reads as "nothing there"
        // (error::OPERATION_NOT_SUPPORTED_CODES); the state file records `--aws`, so no answer ever
        // stands in for a tag check.
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
        // Available at the SDK waiter's first look, so a run with a new VPC does not sit out its 15 s poll.
        nat_gateway_delay: std::time::Duration::ZERO,
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
    (roles, groups, runtimes_tagged(local, run_id).await)
}

/// The runtimes in agentcore-local whose ListTagsForResource shows `run_id`'s tag.
async fn runtimes_tagged(local: &SdkConfig, run_id: &str) -> usize {
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(local);
    let mut runtimes = 0;
    for runtime in control.list_agent_runtimes().send().await.unwrap().agent_runtimes() {
        let tags = control.list_tags_for_resource().resource_arn(runtime.agent_runtime_arn()).send().await.unwrap();
        if tags.tags().and_then(|t| t.get(RUN_TAG)).is_some_and(|v| v == run_id) {
            runtimes += 1;
        }
    }
    runtimes
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

/// The state files under `runs`.
fn state_files(runs: &Path) -> Vec<PathBuf> {
    walk(runs).into_iter().filter(|p| p.ends_with("state.json")).collect()
}

/// The one run under `runs`: its directory and id.
fn only_run(runs: &Path) -> (PathBuf, String) {
    let state_files = state_files(runs);
    assert_eq!(state_files.len(), 1, "{state_files:?}");
    let dir = state_files[0].parent().unwrap().to_path_buf();
    let run_id = dir.file_name().unwrap().to_string_lossy().into_owned();
    (dir, run_id)
}

fn kinds(state: &Value) -> Vec<String> {
    state["resources"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_aws_creates_the_role_group_and_runtimes_tagged_and_destroy_aws_removes_them() {
    let moto = start_moto();
    let local = split_emulator().await;
    let (moto_sdk, local_sdk) = (sdk_config(&moto.url).await, sdk_config(&local.endpoint_url()).await);
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
    let (moto_sdk, local_sdk) = (sdk_config(&moto.url).await, sdk_config(&local.endpoint_url()).await);
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
    let written = state_files(&runs);
    assert!(written.is_empty(), "--plan wrote {written:?}");
    local.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_aws_after_a_half_finished_deploy_removes_what_exists() {
    let moto = start_moto();
    let local = split_emulator().await;
    let (moto_sdk, local_sdk) = (sdk_config(&moto.url).await, sdk_config(&local.endpoint_url()).await);
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
    let (_, run_id) = only_run(&runs);
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
    let (moto_sdk, local_sdk) = (sdk_config(&moto.url).await, sdk_config(&local.endpoint_url()).await);
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
    let (dir, run_id) = only_run(&runs);
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

/// Every EC2 resource of the report's network and every runtime in agentcore-local carrying `run_id`'s
/// tag, by kind.
async fn network_tagged_by_run(local: &SdkConfig, run_id: &str) -> BTreeMap<&'static str, usize> {
    let ec2 = aws_sdk_ec2::Client::new(local);
    let filter = || Filter::builder().name(format!("tag:{RUN_TAG}")).values(run_id).build();
    let mut counts = BTreeMap::new();
    counts.insert("vpcs", ec2.describe_vpcs().filters(filter()).send().await.unwrap().vpcs().len());
    counts.insert("subnets", ec2.describe_subnets().filters(filter()).send().await.unwrap().subnets().len());
    let gateways = ec2.describe_internet_gateways().filters(filter()).send().await.unwrap();
    counts.insert("internet gateways", gateways.internet_gateways().len());
    let tables = ec2.describe_route_tables().filters(filter()).send().await.unwrap();
    counts.insert("route tables", tables.route_tables().len());
    counts.insert("addresses", ec2.describe_addresses().filters(filter()).send().await.unwrap().addresses().len());
    let nat = ec2.describe_nat_gateways().filter(filter()).send().await.unwrap();
    let live = |n: &&aws_sdk_ec2::types::NatGateway| n.state().is_some_and(|s| s.as_str() != "deleted");
    counts.insert("NAT gateways", nat.nat_gateways().iter().filter(live).count());
    let endpoints = ec2.describe_vpc_endpoints().filters(filter()).send().await.unwrap();
    let live = |e: &&aws_sdk_ec2::types::VpcEndpoint| e.state().is_some_and(|s| s.as_str() != "deleted");
    counts.insert("VPC endpoints", endpoints.vpc_endpoints().iter().filter(live).count());
    let groups = ec2.describe_security_groups().filters(filter()).send().await.unwrap();
    counts.insert("security groups", groups.security_groups().len());
    counts.insert("runtimes", runtimes_tagged(local, run_id).await);
    counts
}

/// The real-account path as a whole, with a new VPC like the report's: deploy --aws builds the
/// network (VPC, internet gateway, 2 public and 2 private subnets, an Elastic IP, a NAT gateway it
/// waits for with the SDK's waiter, 2 route tables with their routes and associations, an S3 gateway
/// endpoint on the private table), the security
/// group and the runtimes, all in agentcore-local (only IAM, ECR and STS in moto); destroy --aws then
/// leaves nothing with the run's tag.
#[tokio::test(flavor = "multi_thread")]
async fn deploy_aws_builds_the_reports_network_in_agentcore_local_and_destroy_aws_leaves_nothing() {
    let moto = start_moto();
    let local = split_emulator().await;
    let local_sdk = sdk_config(&local.endpoint_url()).await;
    let runs = scratch("aws-split-new-vpc");
    let args = ["deploy", "--yes", "--runtimes", "2", "--image-uri", IMAGE_URI];
    let deploy = run_split(&runs, &moto.url, &local.endpoint_url(), &args).await;
    assert_eq!(deploy.status.code(), Some(0), "deploy --aws with a new VPC failed");
    let run_id = run_id_of(&deploy);
    let built = network_tagged_by_run(&local_sdk, &run_id).await;
    let expected: BTreeMap<&str, usize> = [
        ("vpcs", 1),
        ("subnets", 4),
        ("internet gateways", 1),
        ("route tables", 2),
        ("addresses", 1),
        ("NAT gateways", 1),
        ("VPC endpoints", 1),
        ("security groups", 1),
        ("runtimes", 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(built, expected, "the report's network, tagged with the run");
    let ec2 = aws_sdk_ec2::Client::new(&local_sdk);
    let nat = ec2.describe_nat_gateways().send().await.unwrap();
    assert_eq!(nat.nat_gateways()[0].state().map(|s| s.as_str()), Some("available"));
    // The S3 gateway endpoint routes the private subnets' S3 traffic (ECR's image layers).
    let endpoint = ec2.describe_vpc_endpoints().send().await.unwrap();
    let endpoint = &endpoint.vpc_endpoints()[0];
    assert_eq!(endpoint.service_name(), Some("com.amazonaws.us-east-1.s3"));
    let table = endpoint.route_table_ids()[0].clone();
    let tables = ec2.describe_route_tables().route_table_ids(&table).send().await.unwrap();
    let routes = tables.route_tables()[0].routes();
    assert!(routes.iter().any(|r| r.nat_gateway_id().is_some()), "the endpoint is on the private table: {routes:?}");
    assert!(routes.iter().any(|r| r.gateway_id() == endpoint.vpc_endpoint_id()), "{routes:?}");
    let state = state_of(&runs, &run_id);
    let recorded = kinds(&state);
    for kind in [
        "vpc",
        "internet-gateway",
        "subnet",
        "elastic-ip",
        "nat-gateway",
        "route-table",
        "vpc-endpoint",
        "security-group",
    ] {
        assert!(recorded.iter().any(|k| k == kind), "{kind} in the state file: {recorded:?}");
    }

    let destroy =
        run_split(&runs, &moto.url, &local.endpoint_url(), &["destroy", "--run-id", &run_id, "--wait", "60s"]).await;
    assert_eq!(destroy.status.code(), Some(0), "destroy --aws failed");
    let left = network_tagged_by_run(&local_sdk, &run_id).await;
    assert!(left.values().all(|n| *n == 0), "everything of the run is gone: {left:?}");
    local.shutdown().await;
}

/// `verify --aws` with a new VPC like the report's, in agentcore-local (only IAM, ECR and STS in
/// moto): deploy builds the network, idle sees the model's ENIs, teardown deletes everything (the
/// ENIs linger 1 s here, within its short look) and nothing with the run's tag is left.
#[tokio::test(flavor = "multi_thread")]
async fn verify_aws_with_a_new_vpc_runs_in_agentcore_local_and_leaves_nothing() {
    let moto = start_moto();
    let local = split_emulator().await;
    let local_sdk = sdk_config(&local.endpoint_url()).await;
    let runs = scratch("aws-split-verify-new-vpc");
    let args = ["verify", "--yes", "--phases", "deploy,idle,teardown", "--runtimes", "2", "--image-uri", IMAGE_URI];
    let verify = run_split(&runs, &moto.url, &local.endpoint_url(), &args).await;
    assert_eq!(verify.status.code(), Some(0), "verify --aws with a new VPC did not match");
    let (dir, run_id) = only_run(&runs);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let phases: Vec<(&str, bool)> = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["phase"].as_str().unwrap(), p["matched"] == true))
        .collect();
    assert_eq!(phases, [("deploy", true), ("idle", true), ("teardown", true)], "{report}");
    let network = &report["phases"][0]["facts"]["network"];
    assert_eq!(network["publicSubnetIds"].as_array().unwrap().len(), 2, "the report's public subnets: {network}");
    assert_eq!(network["created"], true, "{network}");
    let left = network_tagged_by_run(&local_sdk, &run_id).await;
    assert!(left.values().all(|n| *n == 0), "everything of the run is gone: {left:?}");
    local.shutdown().await;
}
