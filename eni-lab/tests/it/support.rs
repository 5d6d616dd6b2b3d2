//! Shared by the eni-lab tests: the `eni-lab` binary with a clean AWS environment and a scratch runs
//! directory, an in-process agentcore-local, moto's server from the test venv (test-support), SDK
//! configs and counts of what a server holds.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aws_config::SdkConfig;
pub use test_support::emulator::sdk_config;
use test_support::process::{Server, without_host_aws};

/// This test binary's scratch folders: `<CARGO_TARGET_TMPDIR>/eni-lab-it/`.
fn scratch_base() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("eni-lab-it")
}

/// A fresh scratch directory under the test target dir (removed first if it exists).
pub fn scratch(name: &str) -> PathBuf {
    test_support::scratch::fresh_dir(&scratch_base(), name)
}

/// `eni-lab` with nothing of the host's AWS setup (profiles, endpoints, tokens, proxies) and its runs
/// directory (`target/verify/` normally) in `runs_dir`.
pub fn eni_lab(runs_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eni-lab"));
    without_host_aws(&mut command)
        .env("AGENTCORE_LAB_RUNS_DIR", runs_dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", runs_dir.join("no-aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", runs_dir.join("no-aws-credentials"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// `eni-lab ARGS` with its runs directory in `runs_dir`, off the async runtime (an emulator in this
/// test process keeps serving meanwhile); its output is echoed for failing tests. Runs beside the
/// other `eni-lab` runs of this binary, but not beside one started with [`run_eni_lab_alone`].
pub async fn run_eni_lab(runs_dir: &Path, args: &[&str]) -> Output {
    run(runs_dir, args, false).await
}

/// [`run_eni_lab`] with no other `eni-lab` run of this test binary at the same time: for a run whose
/// verdicts depend on its calls taking the service time they are given (`--preset report`), which
/// other verify runs' agent processes, sharing the CI runner's two cores, would slow.
pub async fn run_eni_lab_alone(runs_dir: &Path, args: &[&str]) -> Output {
    run(runs_dir, args, true).await
}

/// Held shared by every `eni-lab` run of this binary, exclusively by [`run_eni_lab_alone`].
static RUNS: std::sync::RwLock<()> = std::sync::RwLock::new(());

async fn run(runs_dir: &Path, args: &[&str], alone: bool) -> Output {
    let mut command = eni_lab(runs_dir);
    command.args(args);
    let output = tokio::task::spawn_blocking(move || {
        let _shared;
        let _exclusive;
        if alone {
            _exclusive = RUNS.write().unwrap_or_else(|e| e.into_inner());
        } else {
            _shared = RUNS.read().unwrap_or_else(|e| e.into_inner());
        }
        command.output()
    })
    .await
    .unwrap()
    .expect("run eni-lab");
    eprintln!(
        "eni-lab {args:?} → {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A process's stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A process's stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An agentcore-local in this process on a free loopback port, with the workspace's dummy-agent as
/// the microVM program. `config` adjusts the defaults (time scale, linger, quota…).
pub async fn emulator(config: agentcore_local::Config) -> agentcore_local::Handle {
    let agent = agentcore_local::AgentCommand::resolve_default()
        .expect("dummy-agent is built by `cargo test --workspace` (or run `cargo build -p dummy-agent`)");
    let config = agentcore_local::Config { agent_command: Some(agent), ..config };
    agentcore_local::start(config).await.expect("agentcore-local starts")
}

/// Flags for a short verify against [`endpoint_emulator`] (its clock and quota) or the embedded one.
pub const FAST_VERIFY: &[&str] =
    &["--time-scale", "20", "--emulator-max-vms", "20", "--concurrency", "10", "--duration", "3s", "--runtimes", "4"];

/// The agentcore-local that verify runs against through `--endpoint-url` in the tests: a 20× clock,
/// 30 s (service time) from CREATING to READY, ENIs lingering 60 s, a quota of 20 microVMs. Verify is
/// told the same values with its flags (it cannot read them through the SDK).
pub async fn endpoint_emulator() -> agentcore_local::Handle {
    emulator(agentcore_local::Config {
        clock: agentcore_local::Clock::scaled(20.0).expect("a valid time scale"),
        status_delay: Duration::from_secs(30),
        eni_linger: Duration::from_secs(60),
        max_vms: 20,
        ..Default::default()
    })
    .await
}

/// `moto_server` from the test venv on a free loopback port (killed on drop); its logs go to
/// `eni-lab-it/moto-logs/`, shared by the tests running at the same time.
pub fn start_moto() -> Server {
    let logs = test_support::scratch::shared_dir(&scratch_base(), "moto-logs");
    test_support::python::start_moto(&test_support::python::venv(), &logs)
}

/// How many of each kind of resource moto holds: what `--plan` must leave unchanged.
pub async fn census(sdk: &SdkConfig) -> BTreeMap<&'static str, usize> {
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

/// The tags `RUN_TAG` and `TOOL_TAG` of a resource name run `run_id` and the tool.
pub fn assert_run_tagged(what: &str, tags: &BTreeMap<String, String>, run_id: &str) {
    use eni_lab::run::{RUN_TAG, TOOL_TAG, TOOL_TAG_VALUE};
    assert_eq!(tags.get(RUN_TAG).map(String::as_str), Some(run_id), "{what} tags: {tags:?}");
    assert_eq!(tags.get(TOOL_TAG).map(String::as_str), Some(TOOL_TAG_VALUE), "{what} tags: {tags:?}");
}

/// `eni-lab ARGS --endpoint-url URL` with its runs directory in `runs_dir` (blocking).
pub fn run_with_endpoint(runs_dir: &Path, url: &str, args: &[&str]) -> Output {
    eni_lab(runs_dir).args(args).args(["--endpoint-url", url]).output().expect("run eni-lab")
}
