//! The agentcore target against agentcore-local: real SDK calls, real microVM processes (dummy-agent).

use std::time::{Duration, Instant};

use agentcore_local::{AgentCommand, Config, Handle};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;
use control::types::{AgentRuntimeArtifact, ContainerConfiguration, NetworkConfiguration, NetworkMode, VpcConfig};
use loadgen::Sessions;
use loadgen::agentcore::AgentCore;
use serde_json::Value;

use crate::support::{closed, run};

const QUOTA: &str = "ServiceQuotaExceededException";

/// The workspace's dummy-agent binary (built on demand when `cargo test -p loadgen` ran alone).
fn agent() -> AgentCommand {
    AgentCommand::resolve_default().unwrap_or_else(|_| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "dummy-agent", "--bin", "dummy-agent"])
            .status()
            .expect("cargo build -p dummy-agent");
        assert!(status.success());
        AgentCommand::resolve_default().expect("dummy-agent built")
    })
}

struct Emulator {
    handle: Handle,
    sdk: SdkConfig,
}

impl Emulator {
    async fn start(max_vms: u32) -> Self {
        Self::with(Config { max_vms, ..Config::default() }).await
    }

    async fn with(config: Config) -> Self {
        let config = Config { status_delay: Duration::from_millis(20), agent_command: Some(agent()), ..config };
        let handle = agentcore_local::start(config).await.expect("agentcore-local starts");
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(ec2::config::Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(handle.endpoint_url())
            .load()
            .await;
        Self { handle, sdk }
    }

    /// A READY runtime (VPC mode when `network` is given); its ARN.
    async fn runtime(&self, name: &str, network: Option<&(Vec<String>, Vec<String>)>) -> String {
        let client = control::Client::new(&self.sdk);
        let artifact = AgentRuntimeArtifact::ContainerConfiguration(
            ContainerConfiguration::builder()
                .container_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest")
                .build()
                .unwrap(),
        );
        let mut create = client
            .create_agent_runtime()
            .agent_runtime_name(name)
            .agent_runtime_artifact(artifact)
            .role_arn("arn:aws:iam::123456789012:role/AgentRole");
        if let Some((subnets, groups)) = network {
            let vpc = VpcConfig::builder()
                .set_subnets(Some(subnets.clone()))
                .set_security_groups(Some(groups.clone()))
                .build()
                .unwrap();
            create = create.network_configuration(
                NetworkConfiguration::builder()
                    .network_mode(NetworkMode::Vpc)
                    .network_mode_config(vpc)
                    .build()
                    .unwrap(),
            );
        }
        let created = create.send().await.expect("CreateAgentRuntime");
        let started = Instant::now();
        loop {
            let got = client.get_agent_runtime().agent_runtime_id(created.agent_runtime_id()).send().await.unwrap();
            if got.status().as_str() == "READY" {
                return created.agent_runtime_arn().to_string();
            }
            assert!(started.elapsed() < Duration::from_secs(20), "runtime never READY");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A VPC with two subnets and one security group: (subnets, groups).
    async fn network(&self) -> (Vec<String>, Vec<String>) {
        let ec2 = ec2::Client::new(&self.sdk);
        let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
        let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
        let mut subnets = Vec::new();
        for (cidr, zone) in [("10.0.1.0/24", "use1-az1"), ("10.0.2.0/24", "use1-az2")] {
            let subnet =
                ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).availability_zone_id(zone).send().await.unwrap();
            subnets.push(subnet.subnet().and_then(|s| s.subnet_id()).unwrap().to_string());
        }
        let group =
            ec2.create_security_group().vpc_id(&vpc).group_name("agents").description("agents").send().await.unwrap();
        (subnets, vec![group.group_id().unwrap().to_string()])
    }

    fn state(&self) -> Value {
        self.handle.snapshot()
    }

    /// (network interface id, private IP) of every managed ENI.
    fn enis(&self) -> Vec<(String, String)> {
        let state = self.state();
        let mut enis: Vec<(String, String)> = state["regions"]["us-east-1"]["networkInterfaces"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|n| n["managed"] == true)
                    .map(|n| (n["networkInterfaceId"].to_string(), n["privateIpAddress"].to_string()))
                    .collect()
            })
            .unwrap_or_default();
        enis.sort();
        enis
    }

    fn live_sessions(&self) -> u64 {
        self.state()["dataPlane"]["liveSessions"].as_u64().expect("dataPlane.liveSessions")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_refusals_are_classified_with_unique_sessions() {
    let emulator = Emulator::start(3).await;
    let arn = emulator.runtime("quota_agent", None).await;
    let mut plan = closed(4, 20, "agentcore");
    plan.sessions = Some(Sessions::Unique);
    let report = run(AgentCore::new(&emulator.sdk, vec![arn], None, 0), plan).await;
    assert_eq!(report.total, 20);
    assert_eq!(report.ok, 3, "{report:#?}");
    assert_eq!(report.failed.get(QUOTA), Some(&17), "{:?}", report.failed);
    assert!(report.error_samples[QUOTA][0].contains("maxVms"), "{:?}", report.error_samples);
    assert_eq!(report.retries, 0);
    assert_eq!(emulator.live_sessions(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_counted_and_stop_sessions_frees_slots() {
    let emulator = Emulator::start(2).await;
    let arn = emulator.runtime("stop_agent", None).await;
    let mut plan = closed(1, 6, "agentcore");
    plan.sessions = Some(Sessions::Unique);
    plan.stop_sessions = true;
    let report = run(AgentCore::new(&emulator.sdk, vec![arn.clone()], None, 0), plan).await;
    assert_eq!(report.stopped_sessions.ok + report.stopped_sessions.failed, 6);
    assert!(report.ok > 2, "stopping sessions frees quota: {report:#?}");

    // A missing runtime is ResourceNotFoundException (not retryable: no retries even with --retries).
    let missing = arn.replace("stop_agent", "gone_agent");
    let report = run(AgentCore::new(&emulator.sdk, vec![missing], None, 2), closed(1, 2, "agentcore")).await;
    assert_eq!(report.failed.get("ResourceNotFoundException"), Some(&2), "{:?}", report.failed);
    assert_eq!(report.retries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_classified_and_retries_are_counted() {
    let emulator = Emulator::with(Config { invoke_tps: Some(2), ..Config::default() }).await;
    let arn = emulator.runtime("tps_agent", None).await;
    let mut plan = closed(4, 12, "agentcore");
    plan.sessions = Some(Sessions::Pool(1));
    let report = run(AgentCore::new(&emulator.sdk, vec![arn.clone()], None, 0), plan.clone()).await;
    assert!(report.failed.get("ThrottlingException").is_some_and(|&n| n > 0), "{report:#?}");
    assert_eq!(report.retries, 0, "retries are off by default");

    let report = run(AgentCore::new(&emulator.sdk, vec![arn], None, 3), plan).await;
    assert!(report.retries > 0, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_k_never_holds_more_than_k_sessions() {
    let emulator = Emulator::start(10).await;
    let arn = emulator.runtime("pool_agent", None).await;
    let mut plan = closed(3, 30, "agentcore");
    plan.sessions = Some(Sessions::Pool(3));
    let report = run(AgentCore::new(&emulator.sdk, vec![arn], None, 0), plan).await;
    assert!(!report.failed.contains_key(QUOTA), "{:?}", report.failed);
    assert!(report.ok >= 3, "{report:#?}");
    assert_eq!(emulator.live_sessions(), 3);
}

/// The report's load phase in miniature: 10 VPC runtimes, 50 workers, a new session per request,
/// a quota of 100 microVMs: quota refusals, and the two ENIs never change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_scenario_in_miniature() {
    let emulator = Emulator::start(100).await;
    let network = emulator.network().await;
    let mut arns = Vec::new();
    for n in 0..10 {
        arns.push(emulator.runtime(&format!("eni_test_runtime_{n}"), Some(&network)).await);
    }
    let before = emulator.enis();
    assert_eq!(before.len(), 2, "one ENI per subnet: {before:?}");
    let mut plan = closed(50, 250, "agentcore");
    plan.sessions = Some(Sessions::Unique);
    let report = run(AgentCore::new(&emulator.sdk, arns, None, 0), plan).await;
    assert_eq!(report.total, 250);
    // Every success is a new microVM and every failure a quota refusal. A session that ends during the
    // run (its process exited: counted by the emulator) frees its slot for one more success, so the
    // exact split is read from the emulator's own counters rather than assumed to be 100 / 150.
    let counters = emulator.state()["dataPlane"]["counters"].clone();
    let count = |name: &str| counters[name].as_u64().unwrap_or_else(|| panic!("counter {name}: {counters}"));
    let ended = ["reapedIdle", "reapedMaxLifetime", "stopped", "endedByRuntimeDeletion", "exitedByThemselves"]
        .iter()
        .copied()
        .map(&count)
        .sum::<u64>();
    assert_eq!(report.ok, count("sessionsStarted"), "{:?} {counters}", report.failed);
    assert_eq!(report.ok, 100 + ended, "{:?} {counters}", report.failed);
    assert_eq!(report.failed.get(QUOTA), Some(&(250 - report.ok)), "{:?}", report.failed);
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert_eq!(emulator.enis(), before, "ENIs (ids and private IPs) unchanged by the load");
    assert_eq!(emulator.live_sessions(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_lists_runtimes_by_prefix_through_the_endpoint_url() {
    let emulator = Emulator::start(10).await;
    for name in ["lg_one", "lg_two", "other"] {
        emulator.runtime(name, None).await;
    }
    let dir = crate::support::scratch("agentcore-cli");
    let out = dir.join("r.json");
    let command = |prefix: &str| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"));
        command
            .args(["agentcore", "--runtime-prefix", prefix, "--region", "us-east-1", "--endpoint-url"])
            .arg(emulator.handle.endpoint_url())
            .args(["-c", "2", "-n", "6", "--sessions", "pool:2", "--quiet", "--out"])
            .arg(&out)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("AWS_PROFILE")
            .kill_on_drop(true);
        command
    };
    let done = tokio::time::timeout(Duration::from_secs(60), command("lg_").output()).await.unwrap().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let report: loadgen::Report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report.target, "agentcore (2 runtimes)");
    assert_eq!((report.total, report.ok), (6, 6), "{report:#?}");
    // Both runtimes got sessions (round-robin): 2 pool ids × 2 runtimes is at most 4 microVMs.
    let sessions = emulator.state()["dataPlane"]["sessions"].as_array().unwrap().clone();
    let runtimes: std::collections::BTreeSet<String> =
        sessions.iter().map(|s| s["agentRuntimeId"].to_string()).collect();
    assert_eq!(runtimes.len(), 2, "{sessions:?}");

    let done = tokio::time::timeout(Duration::from_secs(60), command("nope_").output()).await.unwrap().unwrap();
    assert!(!done.status.success());
    assert!(String::from_utf8_lossy(&done.stderr).contains("no runtime name starts with \"nope_\""));
}
