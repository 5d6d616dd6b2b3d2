//! `eni-lab destroy` (and the teardown under it) against an in-process agentcore-local on a fast
//! clock and against moto's server, checked through the AWS SDK by tag.

use std::path::Path;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;
use ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use eni_lab::run::{Connection, RUN_TAG, RunId, run_tags};
use eni_lab::state::{Kind, Resource, RunState};
use test_support::emulator::{ROLE_ARN, container, vpc_network};

use crate::support::{
    FAST_VERIFY, emulator, endpoint_emulator, eni_lab, run_eni_lab, scratch, sdk_config, start_moto, stdout,
};

/// agentcore-local 60× faster than real time: status changes in 0.1 s, ENIs linger `linger` (service).
async fn fast_emulator(linger: Duration) -> agentcore_local::Handle {
    emulator(agentcore_local::Config {
        clock: agentcore_local::Clock::scaled(60.0).unwrap(),
        status_delay: Duration::from_secs(6),
        eni_linger: linger,
        ..Default::default()
    })
    .await
}

fn tag_spec(run: Option<&RunId>, resource: ResourceType, name: &str) -> TagSpecification {
    let mut spec =
        TagSpecification::builder().resource_type(resource).tags(Tag::builder().key("Name").value(name).build());
    if let Some(run) = run {
        for (key, value) in run_tags(run) {
            spec = spec.tags(Tag::builder().key(key).value(value).build());
        }
    }
    spec.build()
}

fn write_state(runs_dir: &Path, state: &RunState) {
    let dir = runs_dir.join(state.run_id.as_str());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), serde_json::to_string_pretty(state).unwrap()).unwrap();
}

fn read_state(runs_dir: &Path, run: &RunId) -> RunState {
    RunState::load(&runs_dir.join(run.as_str()).join("state.json")).unwrap()
}

fn record(state: &mut RunState, kind: Kind, id: &str, arn: Option<&str>) {
    state.resources.push(Resource { kind, id: id.into(), arn: arn.map(str::to_owned), deleted: false });
}

/// A network like the experiment's in the emulator: VPC, 2 subnets, 1 SG, tagged for `run` when given.
struct Net {
    vpc: String,
    subnets: Vec<String>,
    group: String,
}

async fn network(ec2: &ec2::Client, run: Option<&RunId>, cidr: u8) -> Net {
    let prefix = run.map_or("eni-lab-lookalike".to_owned(), RunId::resource_prefix);
    let vpc = ec2
        .create_vpc()
        .cidr_block(format!("10.{cidr}.0.0/16"))
        .tag_specifications(tag_spec(run, ResourceType::Vpc, &prefix))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let mut subnets = Vec::new();
    for (i, zone) in ["use1-az1", "use1-az2"].into_iter().enumerate() {
        let out = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.{cidr}.{}.0/24", i + 1))
            .availability_zone_id(zone)
            .tag_specifications(tag_spec(run, ResourceType::Subnet, &format!("{prefix}-private-{i}")))
            .send()
            .await
            .unwrap();
        subnets.push(out.subnet().unwrap().subnet_id().unwrap().to_owned());
    }
    let group = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name(format!("{prefix}-agents"))
        .description("agents")
        .tag_specifications(tag_spec(run, ResourceType::SecurityGroup, &prefix))
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    Net { vpc, subnets, group }
}

/// A VPC-mode runtime in `net`, tagged for `run` when given; (id, arn).
async fn runtime(control: &control::Client, name: &str, net: &Net, run: Option<&RunId>) -> (String, String) {
    let network = vpc_network(&net.subnets, std::slice::from_ref(&net.group));
    let mut request = control
        .create_agent_runtime()
        .agent_runtime_name(name)
        .agent_runtime_artifact(container())
        .role_arn(ROLE_ARN)
        .network_configuration(network);
    if let Some(run) = run {
        for (key, value) in run_tags(run) {
            request = request.tags(key, value);
        }
    }
    let out = request.send().await.unwrap();
    (out.agent_runtime_id().to_owned(), out.agent_runtime_arn().to_owned())
}

/// Everything in the emulator tagged for `run`, looked up through the SDK (independently of
/// eni-lab's own discovery): "kind id" strings.
async fn tagged_in_emulator(sdk: &SdkConfig, run: &RunId) -> Vec<String> {
    let ec2 = ec2::Client::new(sdk);
    let control = control::Client::new(sdk);
    let filter = || Filter::builder().name(format!("tag:{RUN_TAG}")).values(run.as_str()).build();
    let mut out = Vec::new();
    for vpc in ec2.describe_vpcs().filters(filter()).send().await.unwrap().vpcs() {
        out.push(format!("vpc {}", vpc.vpc_id().unwrap()));
    }
    for subnet in ec2.describe_subnets().filters(filter()).send().await.unwrap().subnets() {
        out.push(format!("subnet {}", subnet.subnet_id().unwrap()));
    }
    for group in ec2.describe_security_groups().filters(filter()).send().await.unwrap().security_groups() {
        out.push(format!("security-group {}", group.group_id().unwrap()));
    }
    for runtime in control.list_agent_runtimes().send().await.unwrap().agent_runtimes() {
        let tags = control.list_tags_for_resource().resource_arn(runtime.agent_runtime_arn()).send().await.unwrap();
        if tags.tags().and_then(|t| t.get(RUN_TAG)).is_some_and(|v| v == run.as_str()) {
            out.push(format!("runtime {}", runtime.agent_runtime_id()));
        }
    }
    out
}

async fn agentic_enis(ec2: &ec2::Client, group: &str) -> usize {
    let out = ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("group-id").values(group).build())
        .filters(Filter::builder().name("interface-type").values("agentic_ai").build())
        .send()
        .await
        .unwrap();
    out.network_interfaces().len()
}

/// A run with a state file listing the network and two runtimes, a third runtime only tagged
/// (as if the process died between CreateAgentRuntime and the state save), and untagged
/// look-alikes next to it.
struct Fixture {
    run: RunId,
    net: Net,
    lookalike: Net,
    lookalike_runtime: String,
}

async fn fixture(sdk: &SdkConfig, url: &str, runs_dir: &Path) -> Fixture {
    let ec2 = ec2::Client::new(sdk);
    let control = control::Client::new(sdk);
    let run = RunId::new();
    let mut state = RunState::new(run.clone(), Connection::Endpoint { url: url.into(), region: "us-east-1".into() });
    let net = network(&ec2, Some(&run), 0).await;
    record(&mut state, Kind::Vpc, &net.vpc, None);
    for subnet in &net.subnets {
        record(&mut state, Kind::Subnet, subnet, None);
    }
    record(&mut state, Kind::SecurityGroup, &net.group, None);
    for i in 0..2 {
        let (id, arn) = runtime(&control, &run.runtime_name(i), &net, Some(&run)).await;
        record(&mut state, Kind::AgentRuntime, &id, Some(&arn));
    }
    runtime(&control, &run.runtime_name(2), &net, Some(&run)).await;
    write_state(runs_dir, &state);

    let lookalike = network(&ec2, None, 1).await;
    let (lookalike_runtime, _) =
        runtime(&control, &format!("eni_test_runtime_0_{}x", run.compact()), &lookalike, None).await;
    assert!(agentic_enis(&ec2, &net.group).await > 0, "the runtimes placed agentic_ai ENIs");
    Fixture { run, net, lookalike, lookalike_runtime }
}

async fn assert_lookalikes_untouched(sdk: &SdkConfig, f: &Fixture) {
    let ec2 = ec2::Client::new(sdk);
    let control = control::Client::new(sdk);
    let vpcs = ec2.describe_vpcs().vpc_ids(&f.lookalike.vpc).send().await.unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let subnets = ec2.describe_subnets().set_subnet_ids(Some(f.lookalike.subnets.clone())).send().await.unwrap();
    assert_eq!(subnets.subnets().len(), 2);
    let groups = ec2.describe_security_groups().group_ids(&f.lookalike.group).send().await.unwrap();
    assert_eq!(groups.security_groups().len(), 1);
    let runtime = control.get_agent_runtime().agent_runtime_id(&f.lookalike_runtime).send().await.unwrap();
    assert_eq!(runtime.status().as_str(), "READY", "the look-alike runtime was not deleted");
    assert!(agentic_enis(&ec2, &f.lookalike.group).await > 0, "the look-alike's ENIs are still in use");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_everything_tagged_records_the_refusal_and_a_second_run_is_clean() {
    // ENIs linger 2 s (wall) after their last runtime: the SG deletion is refused at first.
    let handle = fast_emulator(Duration::from_secs(120)).await;
    let url = handle.endpoint_url();
    let sdk = sdk_config(&url).await;
    let runs_dir = scratch("destroy-clean");
    let f = fixture(&sdk, &url, &runs_dir).await;

    let dry = run_eni_lab(&runs_dir, &["destroy", "--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(0));
    let listed = stdout(&dry);
    assert!(listed.contains("7 resource(s) would be deleted"), "{listed}");
    assert_eq!(tagged_in_emulator(&sdk, &f.run).await.len(), 7, "--dry-run deletes nothing");

    let output = run_eni_lab(&runs_dir, &["destroy", "--wait", "60s", "--poll", "100ms"]).await;
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.contains(&format!("security-group {} refused", f.net.group)), "{text}");
    assert!(text.contains("DependencyViolation"), "{text}");
    assert!(text.contains("7 deleted, 0 left"), "{text}");
    assert!(text.contains("run finished"), "{text}");

    assert_eq!(tagged_in_emulator(&sdk, &f.run).await, Vec::<String>::new());
    assert_eq!(eni_lab::teardown::discover(&sdk, &f.run).await.unwrap(), Vec::new());
    let state = read_state(&runs_dir, &f.run);
    assert!(state.finished);
    assert_eq!(state.phase, "destroy");
    assert_eq!(state.resources.len(), 7, "the runtime found by tag was added: {:?}", state.resources);
    assert!(state.resources.iter().all(|r| r.deleted), "{:?}", state.resources);
    assert_lookalikes_untouched(&sdk, &f).await;

    let again = run_eni_lab(&runs_dir, &["destroy"]).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout(&again).contains("nothing to destroy"), "{}", stdout(&again));
    let by_id = run_eni_lab(&runs_dir, &["destroy", "--run-id", f.run.as_str()]).await;
    assert_eq!(by_id.status.code(), Some(0));
    assert!(stdout(&by_id).contains("0 deleted, 0 left"), "{}", stdout(&by_id));
    assert_lookalikes_untouched(&sdk, &f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_wait_leaves_the_network_with_resume_advice_and_resume_finishes() {
    // ENIs linger 4 s (wall): a 1 s wait cannot see them go.
    let handle = fast_emulator(Duration::from_secs(240)).await;
    let url = handle.endpoint_url();
    let sdk = sdk_config(&url).await;
    let runs_dir = scratch("destroy-resume");
    let f = fixture(&sdk, &url, &runs_dir).await;

    let output = run_eni_lab(&runs_dir, &["destroy", "--wait", "1s", "--poll", "100ms"]).await;
    assert_eq!(output.status.code(), Some(eni_lab::destroy::EXIT_LEFT));
    let text = stdout(&output);
    assert!(text.contains("cargo xtask destroy --resume"), "{text}");
    assert!(text.contains(&f.net.group) && text.contains("agentic_ai ENI(s) still attached"), "{text}");
    let state = read_state(&runs_dir, &f.run);
    assert!(!state.finished);
    let live: Vec<Kind> = state.live().map(|r| r.kind).collect();
    assert_eq!(
        live,
        vec![Kind::Vpc, Kind::Subnet, Kind::Subnet, Kind::SecurityGroup],
        "runtimes went, the network is left"
    );
    assert_eq!(tagged_in_emulator(&sdk, &f.run).await.len(), 4);

    let resumed = run_eni_lab(&runs_dir, &["destroy", "--resume", "--wait", "60s", "--poll", "100ms"]).await;
    assert_eq!(resumed.status.code(), Some(0));
    assert!(stdout(&resumed).contains("4 deleted, 0 left"), "{}", stdout(&resumed));
    assert_eq!(tagged_in_emulator(&sdk, &f.run).await, Vec::<String>::new());
    assert!(read_state(&runs_dir, &f.run).finished);
    assert_lookalikes_untouched(&sdk, &f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_without_the_run_tag_are_left_alone_even_when_the_state_file_lists_them() {
    let handle = fast_emulator(Duration::from_secs(60)).await;
    let url = handle.endpoint_url();
    let sdk = sdk_config(&url).await;
    let ec2 = ec2::Client::new(&sdk);
    let runs_dir = scratch("destroy-untagged");
    let run = RunId::new();
    let other = RunId::parse("20200101-000000-abcd").unwrap();
    let mine = network(&ec2, Some(&run), 0).await;
    let foreign = network(&ec2, Some(&other), 1).await;
    let untagged = network(&ec2, None, 2).await;
    let mut state = RunState::new(run.clone(), Connection::Endpoint { url: url.clone(), region: "us-east-1".into() });
    record(&mut state, Kind::SecurityGroup, &mine.group, None);
    record(&mut state, Kind::SecurityGroup, &foreign.group, None);
    record(&mut state, Kind::SecurityGroup, &untagged.group, None);
    write_state(&runs_dir, &state);

    let output = run_eni_lab(&runs_dir, &["destroy", "--wait", "5s", "--poll", "100ms"]).await;
    assert_eq!(output.status.code(), Some(eni_lab::destroy::EXIT_LEFT));
    let text = stdout(&output);
    assert!(text.contains(&format!("tagged {RUN_TAG}={other}, not this run: left alone")), "{text}");
    assert!(text.contains(&format!("not tagged {RUN_TAG}={run}: left alone")), "{text}");
    // Its own network (found by tag) is gone; the others are all there.
    assert_eq!(tagged_in_emulator(&sdk, &run).await, Vec::<String>::new());
    for group in [&foreign.group, &untagged.group] {
        assert_eq!(ec2.describe_security_groups().group_ids(group).send().await.unwrap().security_groups().len(), 1);
    }
    assert_eq!(tagged_in_emulator(&sdk, &other).await.len(), 4);
    let state = read_state(&runs_dir, &run);
    assert!(!state.finished);
    assert_eq!(state.live().count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_tagged_sweeps_runs_without_a_state_file_and_embedded_runs_are_marked_finished() {
    let handle = fast_emulator(Duration::from_secs(60)).await;
    let url = handle.endpoint_url();
    let sdk = sdk_config(&url).await;
    let ec2 = ec2::Client::new(&sdk);
    let control = control::Client::new(&sdk);
    let runs_dir = scratch("destroy-all-tagged");
    let orphan = RunId::new();
    let net = network(&ec2, Some(&orphan), 0).await;
    runtime(&control, &orphan.runtime_name(0), &net, Some(&orphan)).await;
    let embedded = RunState::new(RunId::parse("20250101-000000-0001").unwrap(), Connection::Embedded);
    write_state(&runs_dir, &embedded);

    // Without a connection, --all-tagged cannot look.
    let refused = run_eni_lab(&runs_dir, &["destroy", "--all-tagged"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--endpoint-url"));

    // Without a terminal to ask on and without --yes, it lists what it found and deletes nothing.
    let unconfirmed = run_eni_lab(&runs_dir, &["destroy", "--all-tagged", "--endpoint-url", &url]).await;
    assert_eq!(unconfirmed.status.code(), Some(eni_lab::destroy::EXIT_NOT_CONFIRMED));
    let listing = stdout(&unconfirmed);
    assert!(listing.contains(&format!("run {orphan}")) && listing.contains(&net.group), "{listing}");
    let refusal = String::from_utf8_lossy(&unconfirmed.stderr);
    assert!(refusal.contains("stdin is not a terminal") && refusal.contains("--yes"), "{refusal}");
    assert_eq!(tagged_in_emulator(&sdk, &orphan).await.len(), 5, "nothing deleted without confirmation");
    assert!(!read_state(&runs_dir, &embedded.run_id).finished, "nothing touched");

    let output =
        run_eni_lab(&runs_dir, &["destroy", "--all-tagged", "--yes", "--endpoint-url", &url, "--poll", "100ms"]).await;
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.contains(&format!("found by tag: run {orphan} (5 resource(s))")), "{text}");
    assert!(text.contains("embedded emulator"), "{text}");
    assert_eq!(tagged_in_emulator(&sdk, &orphan).await, Vec::<String>::new());
    assert!(read_state(&runs_dir, &orphan).finished, "a state file records the sweep");
    assert!(read_state(&runs_dir, &embedded.run_id).finished);

    let again = run_eni_lab(&runs_dir, &["destroy", "--all-tagged", "--endpoint-url", &url]).await;
    assert_eq!(again.status.code(), Some(0), "nothing found by tag: nothing to confirm");
    assert!(stdout(&again).contains("nothing to destroy"), "{}", stdout(&again));
}

/// A run whose VPC, subnets and security group are tagged and listed in its state file.
async fn tagged_run(sdk: &SdkConfig, url: &str, runs_dir: &Path, cidr: u8) -> (RunId, Net) {
    let run = RunId::new();
    let net = network(&ec2::Client::new(sdk), Some(&run), cidr).await;
    let mut state = RunState::new(run.clone(), Connection::Endpoint { url: url.into(), region: "us-east-1".into() });
    record(&mut state, Kind::Vpc, &net.vpc, None);
    for subnet in &net.subnets {
        record(&mut state, Kind::Subnet, subnet, None);
    }
    record(&mut state, Kind::SecurityGroup, &net.group, None);
    write_state(runs_dir, &state);
    (run, net)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_whose_tag_is_removed_after_stock_taking_is_not_deleted() {
    let handle = fast_emulator(Duration::from_secs(60)).await;
    let url = handle.endpoint_url();
    let sdk = sdk_config(&url).await;
    let ec2 = ec2::Client::new(&sdk);
    let runs_dir = scratch("destroy-tag-removed");
    let (run, net) = tagged_run(&sdk, &url, &runs_dir, 0).await;

    let mut state = read_state(&runs_dir, &run);
    let options = eni_lab::teardown::Options { wait: Duration::from_secs(10), poll: Duration::from_millis(100) };
    let teardown = eni_lab::teardown::take_stock(&sdk, &mut state, &options).await.unwrap();
    let planned: Vec<String> = teardown.planned().into_iter().map(|r| r.id).collect();
    assert!(planned.contains(&net.subnets[0]), "tagged at stock-taking: {planned:?}");
    // Between stock-taking and the deletes, someone removes the run tag from one subnet.
    ec2.delete_tags().resources(&net.subnets[0]).tags(Tag::builder().key(RUN_TAG).build()).send().await.unwrap();
    let report = teardown.execute().await.unwrap();

    let described = ec2.describe_subnets().subnet_ids(&net.subnets[0]).send().await;
    assert!(described.is_ok_and(|out| out.subnets().len() == 1), "the untagged subnet is still there");
    let (_, why) = report.left.iter().find(|(r, _)| r.id == net.subnets[0]).expect("reported as left");
    assert!(why.contains(&format!("not tagged {RUN_TAG}={run}: left alone")), "{why}");
    assert!(report.deleted.iter().any(|r| r.id == net.subnets[1]), "the other subnet went: {report:?}");
    assert!(report.deleted.iter().any(|r| r.id == net.group), "the group went: {report:?}");
    assert!(!report.deleted.iter().any(|r| r.id == net.subnets[0]), "{report:?}");
    let state = read_state(&runs_dir, &run);
    assert!(!state.finished && state.live().any(|r| r.id == net.subnets[0]), "{state:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_reading_the_tag_keeps_the_resource_whatever_the_error() {
    // Throttling, a 500 and an access refusal: none of them makes the group deletable.
    for code in ["RequestLimitExceeded", "InternalError", "UnauthorizedOperation"] {
        let fault = format!("ec2:DescribeSecurityGroups:{code}:1").parse().unwrap();
        let handle = emulator(agentcore_local::Config {
            clock: agentcore_local::Clock::scaled(60.0).unwrap(),
            status_delay: Duration::from_secs(6),
            faults: vec![fault],
            ..Default::default()
        })
        .await;
        let url = handle.endpoint_url();
        let sdk = sdk_config(&url).await;
        let runs_dir = scratch(&format!("destroy-fault-{code}"));
        let (run, net) = tagged_run(&sdk, &url, &runs_dir, 0).await;

        let output = run_eni_lab(&runs_dir, &["destroy", "--wait", "2s", "--poll", "100ms"]).await;
        assert_eq!(output.status.code(), Some(eni_lab::destroy::EXIT_LEFT), "{code}");
        let text = stdout(&output);
        let line = text.lines().find(|l| l.contains(&net.group)).unwrap_or_else(|| panic!("{code}: {text}"));
        assert!(line.contains("kept: its tags could not be read") && line.contains(code), "{line}");
        // DescribeSecurityGroups answers only errors: look in the emulator itself.
        let groups = handle.snapshot()["regions"]["us-east-1"]["securityGroups"].clone();
        assert!(groups.as_array().unwrap().iter().any(|g| g == net.group.as_str()), "{code}: kept: {groups}");
        let state = read_state(&runs_dir, &run);
        assert!(!state.finished, "{code}");
        assert!(state.live().any(|r| r.id == net.group), "{code}: {state:?}");
        handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_state_files_are_skipped_and_the_good_run_is_destroyed() {
    let handle = fast_emulator(Duration::from_secs(60)).await;
    let url = handle.endpoint_url();
    let sdk = sdk_config(&url).await;
    let runs_dir = scratch("destroy-corrupt-state");
    let (good, _) = tagged_run(&sdk, &url, &runs_dir, 0).await;
    let corrupt = runs_dir.join("20250101-000000-0bad");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::write(corrupt.join("state.json"), r#"{"runId": "20250101-000000-0bad", "resources": [tru"#).unwrap();
    // A run id that is not one (it would name a directory outside target/verify/).
    let escaping = runs_dir.join("20250101-000000-0002");
    std::fs::create_dir_all(&escaping).unwrap();
    let mut text = serde_json::to_value(RunState::new(
        RunId::parse("20250101-000000-0002").unwrap(),
        Connection::Endpoint { url: url.clone(), region: "us-east-1".into() },
    ))
    .unwrap();
    text["runId"] = "../../../escape".into();
    std::fs::write(escaping.join("state.json"), text.to_string()).unwrap();

    let output = run_eni_lab(&runs_dir, &["destroy", "--wait", "30s", "--poll", "100ms"]).await;
    assert_eq!(output.status.code(), Some(eni_lab::destroy::EXIT_SKIPPED));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("skipped {}", corrupt.join("state.json").display())), "{stderr}");
    let bad_id = stderr.lines().find(|l| l.contains(&escaping.join("state.json").display().to_string()));
    assert!(bad_id.is_some_and(|l| l.contains("run id must look like")), "{stderr}");
    assert!(stderr.contains("2 state file(s) skipped"), "{stderr}");
    assert_eq!(tagged_in_emulator(&sdk, &good).await, Vec::<String>::new(), "the good run is destroyed");
    assert!(read_state(&runs_dir, &good).finished);
    assert!(!runs_dir.join("../escape").exists() && !runs_dir.join("../../escape").exists());

    // Named with --run-id, an unusable file is skipped the same way.
    let named = run_eni_lab(&runs_dir, &["destroy", "--run-id", "20250101-000000-0bad"]).await;
    assert_eq!(named.status.code(), Some(eni_lab::destroy::EXIT_SKIPPED));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_moto_the_aws_only_kinds_are_deleted_in_order_and_untagged_ones_kept() {
    let moto = start_moto();
    let sdk = sdk_config(&moto.url).await;
    let ec2 = ec2::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let runs_dir = scratch("destroy-moto");
    let run = RunId::new();
    let prefix = run.resource_prefix();
    let mut state =
        RunState::new(run.clone(), Connection::Endpoint { url: moto.url.clone(), region: "us-east-1".into() });

    let net = network(&ec2, Some(&run), 0).await;
    record(&mut state, Kind::Vpc, &net.vpc, None);
    let igw = ec2
        .create_internet_gateway()
        .tag_specifications(tag_spec(Some(&run), ResourceType::InternetGateway, &prefix))
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_owned();
    ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&net.vpc).send().await.unwrap();
    record(&mut state, Kind::InternetGateway, &igw, None);
    let eip = ec2
        .allocate_address()
        .domain(ec2::types::DomainType::Vpc)
        .tag_specifications(tag_spec(Some(&run), ResourceType::ElasticIp, &prefix))
        .send()
        .await
        .unwrap()
        .allocation_id()
        .unwrap()
        .to_owned();
    record(&mut state, Kind::ElasticIp, &eip, None);
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&net.subnets[0])
        .allocation_id(&eip)
        .tag_specifications(tag_spec(Some(&run), ResourceType::Natgateway, &prefix))
        .send()
        .await
        .unwrap()
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_owned();
    record(&mut state, Kind::NatGateway, &nat, None);
    let table = ec2
        .create_route_table()
        .vpc_id(&net.vpc)
        .tag_specifications(tag_spec(Some(&run), ResourceType::RouteTable, &prefix))
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_owned();
    ec2.create_route()
        .route_table_id(&table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    ec2.associate_route_table().route_table_id(&table).subnet_id(&net.subnets[0]).send().await.unwrap();
    // The route table, subnets and SG only by tag (not in the state file).
    let role = format!("{prefix}-runtime");
    let tags: Vec<aws_sdk_iam::types::Tag> = run_tags(&run)
        .into_iter()
        .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().unwrap())
        .collect();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"bedrock-agentcore.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role().role_name(&role).assume_role_policy_document(trust).set_tags(Some(tags)).send().await.unwrap();
    iam.put_role_policy()
        .role_name(&role)
        .policy_name("runtime")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let repo = format!("{prefix}-agent");
    let ecr_tags: Vec<aws_sdk_ecr::types::Tag> = run_tags(&run)
        .into_iter()
        .map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build().unwrap())
        .collect();
    ecr.create_repository().repository_name(&repo).set_tags(Some(ecr_tags)).send().await.unwrap();
    record(&mut state, Kind::EcrRepository, &repo, None);
    write_state(&runs_dir, &state);

    // Look-alikes without the tag.
    let other_igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_owned();
    let other_role = format!("{prefix}-lookalike");
    iam.create_role().role_name(&other_role).assume_role_policy_document(trust).send().await.unwrap();
    ecr.create_repository().repository_name(format!("{prefix}-lookalike")).send().await.unwrap();

    let output = run_eni_lab(&runs_dir, &["destroy", "--wait", "60s", "--poll", "200ms"]).await;
    assert_eq!(output.status.code(), Some(0));
    let state = read_state(&runs_dir, &run);
    assert!(state.finished);
    let kinds: std::collections::BTreeSet<Kind> = state.resources.iter().map(|r| r.kind).collect();
    assert_eq!(kinds.len(), 9, "every kind but runtimes, found by state or tag: {:?}", state.resources);
    assert!(state.resources.iter().all(|r| r.deleted));

    let filter = || Filter::builder().name(format!("tag:{RUN_TAG}")).values(run.as_str()).build();
    assert!(ec2.describe_vpcs().filters(filter()).send().await.unwrap().vpcs().is_empty());
    assert!(ec2.describe_subnets().filters(filter()).send().await.unwrap().subnets().is_empty());
    assert!(ec2.describe_internet_gateways().filters(filter()).send().await.unwrap().internet_gateways().is_empty());
    assert!(ec2.describe_route_tables().filters(filter()).send().await.unwrap().route_tables().is_empty());
    assert!(ec2.describe_addresses().filters(filter()).send().await.unwrap().addresses().is_empty());
    let nats = ec2.describe_nat_gateways().filter(filter()).send().await.unwrap();
    assert!(nats.nat_gateways().iter().all(|n| n.state() == Some(&ec2::types::NatGatewayState::Deleted)), "{nats:?}");
    assert!(iam.get_role().role_name(&role).send().await.is_err(), "role deleted");
    assert!(ecr.describe_repositories().repository_names(&repo).send().await.is_err(), "repository deleted");
    assert!(eni_lab::teardown::discover(&sdk, &run).await.unwrap().is_empty());

    // The untagged ones are all there.
    assert_eq!(
        ec2.describe_internet_gateways()
            .internet_gateway_ids(&other_igw)
            .send()
            .await
            .unwrap()
            .internet_gateways()
            .len(),
        1
    );
    iam.get_role().role_name(&other_role).send().await.unwrap();
    ecr.describe_repositories().repository_names(format!("{prefix}-lookalike")).send().await.unwrap();

    let again = run_eni_lab(&runs_dir, &["destroy", "--run-id", run.as_str()]).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout(&again).contains("0 deleted, 0 left"), "{}", stdout(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_after_a_sigkilled_verify_leaves_nothing_and_twice_is_clean() {
    let handle = endpoint_emulator().await;
    let url = handle.endpoint_url();
    let sdk = sdk_config(&url).await;
    let runs_dir = scratch("destroy-after-sigkill");
    let mut verify = eni_lab(&runs_dir);
    verify.args([&["verify", "--endpoint-url", url.as_str()], FAST_VERIFY].concat());
    verify.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = verify.spawn().expect("start eni-lab verify");

    // Kill it (SIGKILL: nothing of it runs after) as soon as its state file shows runtimes.
    let started = std::time::Instant::now();
    let run = loop {
        let states: Vec<RunState> = std::fs::read_dir(&runs_dir)
            .into_iter()
            .flatten()
            .filter_map(|e| RunState::load(&e.ok()?.path().join("state.json")).ok())
            .collect();
        if let Some(state) = states.iter().find(|s| s.resources.iter().any(|r| r.kind == Kind::AgentRuntime)) {
            break state.run_id.clone();
        }
        assert!(child.try_wait().unwrap().is_none(), "verify ended before creating runtimes");
        assert!(started.elapsed() < Duration::from_secs(120), "no runtime in a state file within 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let left = tagged_in_emulator(&sdk, &run).await;
    assert!(left.iter().any(|r| r.starts_with("runtime ")) && left.iter().any(|r| r.starts_with("vpc ")), "{left:?}");

    let output = run_eni_lab(&runs_dir, &["destroy", "--endpoint-url", &url, "--wait", "60s", "--poll", "100ms"]).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(tagged_in_emulator(&sdk, &run).await, Vec::<String>::new());
    let ec2 = ec2::Client::new(&sdk);
    let enis = ec2.describe_network_interfaces().send().await.unwrap();
    assert!(enis.network_interfaces().is_empty(), "{enis:?}");
    assert!(control::Client::new(&sdk).list_agent_runtimes().send().await.unwrap().agent_runtimes().is_empty());
    assert!(read_state(&runs_dir, &run).finished);

    let again = run_eni_lab(&runs_dir, &["destroy", "--endpoint-url", &url]).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(stdout(&again).contains("nothing to destroy"), "{}", stdout(&again));
}

/// A runtime whose deletion AWS gives up on (DELETE_FAILED, injected with an outcome fault) is
/// deleted again a few times, then left for `destroy --resume` with the reason, instead of holding
/// destroy until its `--wait` runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_that_ends_delete_failed_is_retried_then_reported_without_waiting_out_the_deadline() {
    let handle = emulator(agentcore_local::Config {
        clock: agentcore_local::Clock::scaled(60.0).unwrap(),
        status_delay: Duration::from_secs(6),
        eni_linger: Duration::from_secs(60),
        faults: vec!["control:DeleteAgentRuntime:DELETE_FAILED:1".parse().unwrap()],
        ..Default::default()
    })
    .await;
    let url = handle.endpoint_url();
    let sdk = sdk_config(&url).await;
    let runs_dir = scratch("destroy-delete-failed");
    let f = fixture(&sdk, &url, &runs_dir).await;
    // A 10-minute wait: finishing within the bound below shows destroy did not sit it out.
    let mut destroy = tokio::process::Command::from(eni_lab(&runs_dir));
    destroy.args(["destroy", "--wait", "10m", "--poll", "100ms"]).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(240), destroy.output()).await;
    let output = output.expect("destroy came back before its wait ran out").unwrap();
    assert_eq!(output.status.code(), Some(eni_lab::destroy::EXIT_LEFT));
    let text = stdout(&output);
    let attempts = eni_lab::teardown::DELETE_FAILED_RETRIES + 1;
    assert!(text.contains(&format!("DELETE_FAILED after {attempts} deletion attempts")), "{text}");
    assert!(text.contains("could not be deleted"), "AWS's failureReason is shown: {text}");
    let control = control::Client::new(&sdk);
    let listed = control.list_agent_runtimes().send().await.unwrap();
    let ours: Vec<_> = listed.agent_runtimes().iter().filter(|r| r.agent_runtime_id() != f.lookalike_runtime).collect();
    assert_eq!(ours.len(), 3, "the run's runtimes are still there");
    assert!(ours.iter().all(|r| r.status().as_str() == "DELETE_FAILED"), "{ours:?}");
    assert!(!read_state(&runs_dir, &f.run).finished);
}
