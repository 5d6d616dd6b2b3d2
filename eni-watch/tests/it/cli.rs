//! The `eni-watch` binary against an in-process agentcore-local on a loopback port.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use eni_model::{Runtime, RuntimeNetwork, plan};
use eni_watch::{Backoff, Item, JsonLines, RunOptions, StopReason, Summary, read_jsonl, spawn};

use crate::support::{FaultProxy, Faults, LINGER, Lab, Net, STATUS_DELAY, inventory, temp_dir, watcher_on};

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// An environment with nothing from the machine: no ~/.aws, no instance metadata.
fn command(home: &Path, credentials: bool) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_eni-watch"));
    cmd.env_clear()
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if credentials {
        cmd.env("AWS_ACCESS_KEY_ID", "test").env("AWS_SECRET_ACCESS_KEY", "test");
    }
    cmd
}

async fn eni_watch(home: &Path, args: &[&str]) -> Output {
    run_with(command(home, true), args).await
}

async fn run_with(mut cmd: tokio::process::Command, args: &[&str]) -> Output {
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.args(args).output())
        .await
        .expect("eni-watch ends within 30 s")
        .expect("eni-watch runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Two runtimes on both subnets, one group: two ENIs.
async fn two_enis() -> (Lab, Net) {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    for name in ["agent_a", "agent_b"] {
        lab.runtime(name, &net.subnets, &net.security_groups).await;
    }
    (lab, net)
}

fn redactions() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"eni-[0-9a-f]{17}", "eni-xxxxxxxxxxxxxxxxx"),
        (r"subnet-[0-9a-f]{17}", "subnet-xxxxxxxxxxxxxxxxx"),
        (r"sg-[0-9a-f]{17}", "sg-xxxxxxxxxxxxxxxxx"),
        (r"vpc-[0-9a-f]{17}", "vpc-xxxxxxxxxxxxxxxxx"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[time]"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_prints_the_aws_cli_table_and_json() {
    let (lab, net) = two_enis().await;
    let home = temp_dir("once");
    let endpoint = lab.endpoint();
    let base = ["--endpoint-url", &endpoint, "--vpc", &net.vpc, "--once"];
    let table = eni_watch(&home, &[&base[..], &["--output", "table"]].concat()).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let json = eni_watch(&home, &[&base[..], &["--output", "json"]].concat()).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["count"], 2);
    assert_eq!(value["enis"].as_array().unwrap().len(), 2);
    insta::with_settings!({ filters => redactions() }, {
        insta::assert_snapshot!("once_table", table.stdout);
        insta::assert_snapshot!("once_json", json.stdout);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_count_passes_and_fails_with_a_diff() {
    let (lab, net) = two_enis().await;
    let home = temp_dir("expect-count");
    let endpoint = lab.endpoint();
    let base = ["--endpoint-url", &endpoint, "--sg", &net.security_groups[0]];

    let ok = eni_watch(&home, &[&base[..], &["--once", "--expect-count", "2"]].concat()).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let bad = eni_watch(&home, &[&base[..], &["--once", "--expect-count", "3"]].concat()).await;
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("ENIs: expected 3, observed 2: MISMATCH"), "{}", bad.stderr);
    assert!(bad.stderr.contains(&format!("? {} [{}]", net.subnets[0], net.security_groups[0])), "{}", bad.stderr);

    let watch = ["--interval", "50ms", "--duration", "400ms", "--summary"];
    let ok = eni_watch(&home, &[&base[..], &watch[..], &["--expect-count", "2"]].concat()).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("expectation: all "), "{}", ok.stdout);
    let bad = eni_watch(&home, &[&base[..], &watch[..], &["--expect-count", "1"]].concat()).await;
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("samples did not match the expectation"), "{}", bad.stderr);
    assert!(bad.stdout.contains("MISMATCH"), "{}", bad.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_plan_reads_an_eni_model_plan() {
    let (lab, net) = two_enis().await;
    let home = temp_dir("expect-plan");
    let endpoint = lab.endpoint();
    let network = RuntimeNetwork::vpc(&net.subnets, &net.security_groups).unwrap();
    let runtimes = [Runtime::new("agent_a", network.clone()), Runtime::new("agent_b", network)];
    let matching = home.join("plan.json");
    std::fs::write(&matching, serde_json::to_string(&plan(&inventory(&net, &[]), &runtimes).unwrap()).unwrap())
        .unwrap();
    // A plan that puts the runtimes on the first subnet only.
    let one_subnet = RuntimeNetwork::vpc(&net.subnets[..1], &net.security_groups).unwrap();
    let other = home.join("other.json");
    let other_plan = plan(&inventory(&net, &[]), &[Runtime::new("agent_a", one_subnet)]).unwrap();
    std::fs::write(&other, serde_json::to_string(&other_plan).unwrap()).unwrap();

    let base = ["--endpoint-url", &endpoint, "--vpc", &net.vpc, "--once"];
    let ok = eni_watch(&home, &[&base[..], &["--expect-plan", matching.to_str().unwrap()]].concat()).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let bad = eni_watch(&home, &[&base[..], &["--expect-plan", other.to_str().unwrap()]].concat()).await;
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("ENIs: expected 1, observed 2: MISMATCH"), "{}", bad.stderr);
    assert!(bad.stderr.contains(&format!("+ {} [", net.subnets[1])), "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_one_clear_error_and_exit_2() {
    let home = temp_dir("errors");
    let cases: &[(&[&str], &str)] = &[
        (&["--sg", "default"], "sg-0123456789abcdef0"),
        (&["--interval", "5x"], "invalid duration \"5x\": unknown unit \"x\"; use a number with a unit"),
        (&["--interval", "0s"], "must be more than zero"),
        (&["--once", "--until-gone"], "cannot be used with"),
        (&["--expect-count", "2", "--expect-plan", "p.json"], "cannot be used with"),
        (&["--page-size", "3"], "5..=1000"),
        (&["--frobnicate"], "unexpected argument"),
        (&["--once", "--endpoint-url", "localhost:4566"], "is not a URL"),
        (&["--once", "--expect-plan", "/nonexistent/plan.json"], "cannot read /nonexistent/plan.json"),
    ];
    for (args, message) in cases {
        let out = eni_watch(&home, args).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }

    // No credentials anywhere.
    let out = run_with(command(&home, false), &["--once", "--endpoint-url", "http://127.0.0.1:9"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.starts_with("eni-watch: no AWS credentials found"), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    // No region.
    let mut cmd = command(&home, true);
    cmd.env_remove("AWS_REGION");
    let out = run_with(cmd, &["--once"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no AWS region"), "{}", out.stderr);

    // Nothing listens on the endpoint: one line naming it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    for mode in [&["--once"][..], &["--interval", "50ms", "--duration", "5s"][..]] {
        let out = eni_watch(&home, &[&["--endpoint-url", endpoint.as_str()][..], mode].concat()).await;
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!("eni-watch: cannot reach the EC2 endpoint {endpoint}: ")),
            "{}",
            out.stderr
        );
    }
}

fn items_of(path: &Path) -> Vec<Item> {
    read_jsonl(std::fs::read(path).unwrap_or_default().as_slice()).map(|r| r.items).unwrap_or_default()
}

fn samples_in(path: &Path) -> usize {
    items_of(path).iter().filter(|i| matches!(i, Item::Sample(_))).count()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_leaves_a_complete_jsonl_file_that_report_reads() {
    let (lab, net) = two_enis().await;
    let home = temp_dir("sigint");
    let record = home.join("watch.jsonl");
    let endpoint = lab.endpoint();
    let mut cmd = command(&home, true);
    cmd.args(["--endpoint-url", &endpoint, "--vpc", &net.vpc, "--interval", "20ms", "--output", "jsonl"])
        .arg("--record")
        .arg(&record);
    let child = cmd.spawn().unwrap();
    wait_for("three samples", || samples_in(&record) >= 3).await;
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await.unwrap().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let recording = read_jsonl(std::fs::read(&record).unwrap().as_slice()).unwrap();
    assert!(!recording.truncated_last_line);
    let items = recording.items;
    assert!(matches!(items.first(), Some(Item::Start(_))));
    let Some(Item::Summary(summary)) = items.last() else { panic!("no summary: {items:?}") };
    assert_eq!(summary.stop, StopReason::Interrupted);
    assert_eq!(summary.samples as usize, items.iter().filter(|i| matches!(i, Item::Sample(_))).count());
    assert_eq!(summary.last_count, Some(2));
    // Standard output carried the same items.
    let stdout = read_jsonl(out.stdout.as_slice()).unwrap().items;
    assert_eq!(stdout, items);

    let report = eni_watch(&home, &["report", record.to_str().unwrap(), "--output", "json"]).await;
    assert_eq!(report.code, 0, "{}", report.stderr);
    let reported: Summary = serde_json::from_str(&report.stdout).unwrap();
    assert_eq!(&reported, summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_gone_waits_out_the_linger() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let id = lab.runtime("short_lived", &net.subnets[..1], &net.security_groups).await;
    lab.advance(STATUS_DELAY);
    lab.delete(&id).await;
    lab.advance(STATUS_DELAY);
    let home = temp_dir("until-gone");
    let endpoint = lab.endpoint();
    let sg = net.security_groups[0].as_str();

    // Still lingering when the duration runs out: exit 1, naming the ENI.
    let out = eni_watch(
        &home,
        &["--endpoint-url", &endpoint, "--sg", sg, "--until-gone", "--duration", "200ms", "--interval", "20ms"],
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("1 matching ENIs still there"), "{}", out.stderr);
    assert!(out.stderr.contains(&net.subnets[0]), "{}", out.stderr);

    let record = home.join("gone.jsonl");
    let mut cmd = command(&home, true);
    cmd.args(["--endpoint-url", &endpoint, "--sg", sg, "--until-gone", "--duration", "30s", "--interval", "20ms"])
        .arg("--record")
        .arg(&record);
    let child = cmd.spawn().unwrap();
    wait_for("a sample with the lingering ENI", || samples_in(&record) >= 2).await;
    lab.advance(LINGER);
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output()).await.unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no matching ENI left"), "{stderr}");
    let items = items_of(&record);
    let Some(Item::Summary(summary)) = items.last() else { panic!("{items:?}") };
    assert_eq!((summary.stop, summary.last_count, summary.max_count), (StopReason::Gone, Some(0), Some(1)));
    assert!(String::from_utf8_lossy(&out.stdout).contains("- eni-"), "the removal is printed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_draws_counts_per_security_group_set_with_gaps() {
    let (lab, net) = two_enis().await;
    let sg2 = lab.security_group(&net.vpc, "agents-2").await;
    let proxy =
        FaultProxy::start(&lab.endpoint(), Faults { throttle: 0.2, internal_error: 0.05, bare_500: 0.1, seed: 3 })
            .await;
    let home = temp_dir("report");
    let record: PathBuf = home.join("faulty.jsonl");
    let watcher =
        watcher_on(&proxy.endpoint(), eni_watch::Scope { vpc: Some(net.vpc.parse().unwrap()), ..Default::default() })
            .await
            .backoff(Backoff { initial: Duration::from_millis(2), max: Duration::from_millis(10) });
    let options = RunOptions { interval: Duration::from_millis(10), ..RunOptions::default() };
    let task = spawn(watcher, options, Box::new(JsonLines::create(&record).unwrap()));
    wait_for("a few samples", || samples_in(&record) >= 5).await;
    lab.advance(STATUS_DELAY);
    lab.runtime("agent_c", &net.subnets[..1], std::slice::from_ref(&sg2)).await;
    wait_for("the new ENI and a gap", || {
        let items = items_of(&record);
        items.iter().any(|i| matches!(i, Item::Sample(s) if s.count == 3))
            && items.iter().any(|i| matches!(i, Item::Gap(_)))
    })
    .await;
    let summary = task.stop().await.unwrap();
    assert!(summary.gaps > 0);

    let svg_path = home.join("chart.svg");
    let out = eni_watch(&home, &["report", record.to_str().unwrap(), "--svg", svg_path.to_str().unwrap()]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("summary: "), "{}", out.stdout);
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..200.min(svg.len())]);
    assert!(svg.contains(&format!("[{}]", net.security_groups[0])), "legend names the first set");
    assert!(svg.contains(&format!("[{sg2}]")), "legend names the second set");
    assert!(svg.contains(&format!("failed poll ({} gaps)", summary.gaps)), "gaps are marked");
    assert!(svg.contains("all ENIs"));

    // A recording cut off mid-line (no summary): still reported, as truncated.
    let text = std::fs::read_to_string(&record).unwrap();
    let cut = home.join("cut.jsonl");
    let without_summary = &text[..text.trim_end().rfind('\n').unwrap()];
    std::fs::write(&cut, &without_summary[..without_summary.len() - 10]).unwrap();
    let out = eni_watch(&home, &["report", cut.to_str().unwrap(), "--output", "json"]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("the last line was cut short"), "{}", out.stderr);
    let reported: Summary = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(reported.stop, StopReason::Truncated);
    assert!(reported.samples >= 5);
}
