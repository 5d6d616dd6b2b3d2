//! `eni-lab verify` and `eni-lab deploy` end to end: the binary as a subprocess, against its embedded
//! agentcore-local or against one in this test process (`--endpoint-url`), with small flags so that
//! each run takes seconds.

use std::path::Path;
use std::time::Duration;

use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;
use eni_lab::run::RUN_TAG;
use eni_lab::state::RunState;
use serde_json::Value;

use crate::support::{FAST_VERIFY, emulator, endpoint_emulator, run_eni_lab, run_eni_lab_alone, scratch, sdk_config};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The one run directory under `runs_dir`.
fn run_dir(runs_dir: &Path) -> std::path::PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(runs_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("state.json").is_file())
        .collect();
    assert_eq!(dirs.len(), 1, "one run directory in {}: {dirs:?}", runs_dir.display());
    dirs[0].clone()
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// The check `what` of `phase` (a report.json phase).
fn check<'a>(phase: &'a Value, what: &str) -> &'a Value {
    phase["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["what"] == what)
        .unwrap_or_else(|| panic!("no check {what:?} in {phase}"))
}

fn phases(report: &Value) -> Vec<(String, String, bool)> {
    report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (p["phase"].as_str().unwrap().to_owned(), p["verdict"].as_str().unwrap().to_owned(), p["matched"] == true)
        })
        .collect()
}

/// The text of every `<text>` element, after checking that the document parses and is an SVG.
fn svg_texts(svg: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut root, mut texts) = (None, Vec::new());
    loop {
        match reader.read_event().expect("chart.svg is well-formed XML") {
            Event::Start(e) if root.is_none() => root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned()),
            Event::Text(t) => {
                let t = t.decode().unwrap().trim().to_owned();
                if !t.is_empty() {
                    texts.push(t);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_against_the_embedded_emulator_matches_every_phase() {
    let runs = scratch("verify-embedded");
    let output = run_eni_lab(&runs, &[&["verify"], FAST_VERIFY].concat()).await;
    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("every phase matched"), "{stdout}");
    for table in ["deploy: match", "idle: match", "load: match", "sg-split: match", "teardown: match"] {
        assert!(stdout.contains(table), "{table} in {stdout}");
    }

    let dir = run_dir(&runs);
    let report = report(&dir);
    assert_eq!(report["matched"], true);
    let names: Vec<String> = phases(&report)
        .into_iter()
        .map(|(name, verdict, matched)| {
            assert!(matched && verdict == "match", "{name}: {verdict}");
            name
        })
        .collect();
    assert_eq!(names, ["deploy", "idle", "load", "sg-split", "teardown"]);
    for phase in report["phases"].as_array().unwrap() {
        assert!(phase["expected"].is_string() && phase["observed"].is_string(), "{phase}");
        assert!(!phase["checks"].as_array().unwrap().is_empty(), "{phase}");
    }
    // The report's numbers: 2 ENIs idle, 4 after the split, the quota's worth of successes.
    let idle = &report["phases"][1]["facts"];
    assert_eq!(idle["enis"].as_array().unwrap().len(), 2);
    assert_eq!(report["phases"][3]["facts"]["enis"].as_array().unwrap().len(), 4);
    let admission = &report["phases"][2]["facts"]["admission"];
    assert_eq!(admission["maxVms"], 20);
    assert!(admission["observedRefused"].as_u64().unwrap() > 0, "the load reached the quota: {admission}");
    let teardown = &report["phases"][4]["facts"];
    assert!(!teardown["refusals"].as_array().unwrap().is_empty(), "SG refused while ENIs lingered: {teardown}");

    // The files.
    let load: loadgen::Report = serde_json::from_str(&std::fs::read_to_string(dir.join("load.json")).unwrap()).unwrap();
    assert_eq!(load.total, load.ok + load.failed_total + load.cancelled);
    assert_eq!(load.ok, admission["observedOk"].as_u64().unwrap());
    assert!(load.failed.contains_key("ServiceQuotaExceededException"), "{:?}", load.failed);
    let timeline = std::fs::File::open(dir.join("timeline.jsonl")).unwrap();
    let recording = eni_watch::read_jsonl(std::io::BufReader::new(timeline)).unwrap();
    let counts: Vec<usize> = recording
        .items
        .iter()
        .filter_map(|i| match i {
            eni_watch::Item::Sample(s) => Some(s.count),
            _ => None,
        })
        .collect();
    assert!(counts.contains(&2) && counts.contains(&4), "{counts:?}");
    assert_eq!(counts.last(), Some(&0), "the timeline ends with the ENIs gone: {counts:?}");
    assert!(matches!(recording.items.last(), Some(eni_watch::Item::Summary(_))));
    let texts = svg_texts(&std::fs::read_to_string(dir.join("chart.svg")).unwrap());
    for marker in ["deploy ✓", "idle ✓", "load ✓", "sg-split ✓", "teardown ✓"] {
        assert!(texts.iter().any(|t| t == marker), "phase marker {marker:?} in {texts:?}");
    }
    assert!(texts.iter().any(|t| t.contains("invocations ok per second")), "{texts:?}");
    let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(markdown.contains("| sg-split | 4: one per subnet and security-group set |"), "{markdown}");
    // Rows whose outcome cannot differ (the phase would have failed with an error first) are shown
    // as information, never as a match.
    for (phase, what) in [(0, "VPC-mode runtimes"), (3, "runtime 0 READY in the second group")] {
        let check = check(&report["phases"][phase], what);
        assert_eq!(check["matched"], Value::Null, "{check}");
        let row = markdown.lines().find(|l| l.starts_with(&format!("| {what} |"))).unwrap();
        assert!(row.ends_with("| info |"), "{row}");
        let line = stdout.lines().find(|l| l.contains(what)).unwrap();
        assert!(line.contains("info") && !line.contains("match"), "{line}");
    }
    // The load was watched while it ran.
    let watched = check(&report["phases"][2], "ENI watch samples during the load");
    assert_eq!(watched["matched"], true, "{watched}");
    let state = RunState::load(&dir.join("state.json")).unwrap();
    assert!(state.finished && state.live().next().is_none(), "{state:?}");
}

/// `--preset report`: the report's load (50 workers, a new session per call, quota 500, 10
/// runtimes, every call the report's mean time) under the default quota model (lagged, fitted to the
/// report) gives the report's table within its tolerance, and the run's per-second profile is
/// closest to the model the emulator ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_preset_reproduces_the_reports_table() {
    let runs = scratch("verify-report-preset");
    let args = ["verify", "--preset", "report", "--phases", "deploy,load"];
    let output = run_eni_lab_alone(&runs, &args).await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", text(&output.stderr));
    let report = report(&run_dir(&runs));
    let load = &report["phases"][1];
    for what in ["calls", "successes", "ServiceQuotaExceededException", "duration"] {
        let row = check(load, &format!("report's table: {what}"));
        assert_eq!(row["matched"], true, "{row}");
    }
    let closest = check(load, "quota model closest to this run's per-second profile");
    assert_eq!((closest["expected"].as_str(), &closest["matched"]), (Some("lagged"), &Value::Bool(true)), "{closest}");
    let study = &load["facts"]["quotaStudy"];
    assert_eq!(study["variants"].as_array().unwrap().len(), 4, "{study}");
    let markdown = std::fs::read_to_string(run_dir(&runs).join("report.md")).unwrap();
    assert!(
        markdown.contains("### Quota models") && markdown.contains("| **the report** | 2148 | 768 | 1380 |"),
        "{markdown}"
    );
    let texts = svg_texts(&std::fs::read_to_string(run_dir(&runs).join("quota-models.svg")).unwrap());
    assert!(texts.iter().any(|t| t.starts_with("lagged:")), "{texts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_negative_control_fails_at_idle_naming_the_extra_enis() {
    let runs = scratch("verify-negative-control");
    let args = ["verify", "--emulator-eni-policy", "per-runtime", "--runtimes", "3", "--time-scale", "20"];
    let output = run_eni_lab(&runs, &args).await;
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("MISMATCH at the idle phase"), "{stdout}");
    assert!(stdout.contains("ENIs: expected 2, observed 6: MISMATCH"), "{stdout}");

    let report = report(&run_dir(&runs));
    assert_eq!(report["matched"], false);
    assert_eq!(report["firstMismatch"], "idle");
    let verdicts: Vec<(String, String)> = phases(&report).into_iter().map(|(n, v, _)| (n, v)).collect();
    assert_eq!(verdicts[0], ("deploy".into(), "match".into()));
    assert_eq!(verdicts[1], ("idle".into(), "MISMATCH".into()));
    assert!(verdicts[2..].iter().all(|(_, v)| v == "skipped"), "{verdicts:?}");
    // Each of the 4 extra ENIs is named in the printed diff, with the reason.
    let unexpected = report["phases"][1]["facts"]["verdict"]["unexpected"].as_array().unwrap();
    assert_eq!(unexpected.len(), 4, "{unexpected:?}");
    for extra in unexpected {
        let id = extra["eni"]["id"].as_str().unwrap();
        let line = stdout.lines().find(|l| l.contains(id)).unwrap_or_else(|| panic!("{id} not in {stdout}"));
        assert!(line.starts_with("+ ") && line.contains("a second ENI for one subnet"), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subset_of_phases_runs_in_order_and_reports_only_those() {
    let runs = scratch("verify-subset");
    let output =
        run_eni_lab(&runs, &["verify", "--phases", "idle,deploy", "--runtimes", "2", "--time-scale", "20"]).await;
    assert_eq!(output.status.code(), Some(0));
    let dir = run_dir(&runs);
    let report = report(&dir);
    assert_eq!(report["matched"], true);
    let names: Vec<String> = phases(&report).into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, ["deploy", "idle"]);
    assert!(!dir.join("load.json").exists());
    assert!(dir.join("chart.svg").is_file() && dir.join("timeline.jsonl").is_file());
    let notes = report["notes"].to_string();
    assert!(notes.contains("teardown not run"), "{notes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_exit_2_with_a_clear_message() {
    let runs = scratch("verify-bad-flags");
    let cases: &[(&[&str], &str)] = &[
        (&["verify", "--phases", "deploy,bogus"], "invalid value 'bogus' for '--phases"),
        (&["verify", "--phases", "idle,load"], "deploy is required"),
        (&["verify", "--keep", "--phases", "deploy,teardown"], "--keep skips teardown"),
        (&["verify", "--runtimes", "0"], "--runtimes"),
        (&["verify", "--time-scale", "0"], "time scale must be a finite number between"),
        (&["verify", "--time-scale", "1e300"], "time scale must be a finite number between"),
        (&["verify", "--time-scale", "NaN"], "time scale must be a finite number between"),
        (&["verify", "--duration", "soon"], "--duration"),
        (
            &["verify", "--endpoint-url", "http://127.0.0.1:9", "--emulator-eni-policy", "per-runtime"],
            "configure the embedded emulator",
        ),
        (&["verify", "--aws"], "--aws needs --image-uri"),
        (&["deploy", "--plan"], "--plan go(es) with --aws"),
        (&["verify", "--subnets", "4"], "us-east-1 has only 3 zone(s)"),
        (&["deploy", "--subnets", "0"], "--subnets"),
    ];
    for (args, message) in cases {
        let output = run_eni_lab(&runs, args).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {message:?} not in {stderr}");
    }
}

/// The same phases through `--endpoint-url` (as `destroy`'s SIGKILL test runs them); afterwards
/// nothing with the run's tag is left in the emulator, checked through the SDK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_through_an_endpoint_url_leaves_nothing_behind() {
    let handle = endpoint_emulator().await;
    let url = handle.endpoint_url();
    let runs = scratch("verify-endpoint");
    let output = run_eni_lab(&runs, &[&["verify", "--endpoint-url", url.as_str()], FAST_VERIFY].concat()).await;
    assert_eq!(output.status.code(), Some(0));
    let run = report(&run_dir(&runs))["runId"].as_str().unwrap().to_owned();

    let sdk = sdk_config(&url).await;
    let tag = ec2::types::Filter::builder().name(format!("tag:{RUN_TAG}")).values(&run).build();
    let ec2 = ec2::Client::new(&sdk);
    assert!(ec2.describe_vpcs().filters(tag.clone()).send().await.unwrap().vpcs().is_empty());
    assert!(ec2.describe_subnets().filters(tag.clone()).send().await.unwrap().subnets().is_empty());
    assert!(ec2.describe_security_groups().filters(tag).send().await.unwrap().security_groups().is_empty());
    let enis = ec2.describe_network_interfaces().send().await.unwrap();
    assert!(enis.network_interfaces().is_empty(), "{enis:?}");
    let runtimes = control::Client::new(&sdk).list_agent_runtimes().send().await.unwrap();
    assert!(runtimes.agent_runtimes().is_empty(), "{runtimes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_leaves_tagged_runtimes_and_says_how_to_destroy_them() {
    let handle = emulator(agentcore_local::Config {
        clock: agentcore_local::Clock::scaled(20.0).unwrap(),
        status_delay: Duration::from_secs(20),
        ..Default::default()
    })
    .await;
    let url = handle.endpoint_url();
    let runs = scratch("deploy-endpoint");
    let output = run_eni_lab(&runs, &["deploy", "--endpoint-url", &url, "--runtimes", "3"]).await;
    assert_eq!(output.status.code(), Some(0));
    let stdout = text(&output.stdout);
    let dir = run_dir(&runs);
    let run = dir.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(stdout.contains(&format!("cargo xtask destroy --run-id {run}")), "{stdout}");
    let state = RunState::load(&dir.join("state.json")).unwrap();
    assert!(!state.finished);
    assert_eq!(state.live().count(), 1 + 2 + 1 + 3, "VPC, subnets, group, runtimes: {state:?}");

    let sdk = sdk_config(&url).await;
    let control = control::Client::new(&sdk);
    let listed = control.list_agent_runtimes().send().await.unwrap();
    assert_eq!(listed.agent_runtimes().len(), 3);
    for runtime in listed.agent_runtimes() {
        assert_eq!(runtime.status().as_str(), "READY");
        assert!(runtime.agent_runtime_name().ends_with(&run.replace('-', "_")), "{runtime:?}");
        let tags = control.list_tags_for_resource().resource_arn(runtime.agent_runtime_arn()).send().await.unwrap();
        assert_eq!(tags.tags().and_then(|t| t.get(RUN_TAG)).map(String::as_str), Some(run.as_str()));
    }
    let enis = ec2::Client::new(&sdk).describe_network_interfaces().send().await.unwrap();
    assert_eq!(enis.network_interfaces().len(), 2);

    // Without --endpoint-url it says the embedded emulator takes everything with it.
    let runs = scratch("deploy-embedded");
    let output = run_eni_lab(&runs, &["deploy", "--runtimes", "1", "--time-scale", "20"]).await;
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stderr).contains("no --endpoint-url"), "{}", text(&output.stderr));
    assert!(RunState::load(&run_dir(&runs).join("state.json")).unwrap().finished);
}

/// A load shorter than the watch interval has no sample taken during it: the phase fails saying so
/// instead of judging the ENIs from the describes before and after alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_the_watch_did_not_sample_fails_the_load_phase() {
    // READY at once (the emulator's 60× clock); verify told time scale 1, so its watch polls every
    // 5 s of wall time while the load lasts 1 s.
    let handle = emulator(agentcore_local::Config {
        clock: agentcore_local::Clock::scaled(60.0).unwrap(),
        status_delay: Duration::from_secs(6),
        max_vms: 20,
        ..Default::default()
    })
    .await;
    let url = handle.endpoint_url();
    let runs = scratch("verify-unwatched-load");
    let args = [
        "verify",
        "--endpoint-url",
        url.as_str(),
        "--phases",
        "deploy,idle,load",
        "--runtimes",
        "2",
        "--time-scale",
        "1",
        "--emulator-max-vms",
        "20",
        "--concurrency",
        "2",
        "--duration",
        "1s",
        // No clean-up: on verify's slow clock it would wait minutes for the ENIs; the emulator goes
        // with the test.
        "--keep",
    ];
    let output = run_eni_lab(&runs, &args).await;
    assert_eq!(output.status.code(), Some(1));
    let report = report(&run_dir(&runs));
    assert_eq!(report["firstMismatch"], "load", "{report}");
    let load = &report["phases"][2];
    let watched = check(load, "ENI watch samples during the load");
    assert_eq!(watched["matched"], false, "{watched}");
    assert!(watched["observed"].as_str().unwrap().contains("too few to judge the ENIs during the load"), "{watched}");
    assert!(text(&output.stdout).contains("ENI watch samples during the load"), "the reason is printed");
}

/// SIGTERM stops verify as Ctrl-C does: the results written so far stay, the exit status says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_verify_cleanly_keeping_the_results_so_far() {
    let runs = scratch("verify-sigterm");
    let mut command = crate::support::eni_lab(&runs);
    command.args([&["verify"], FAST_VERIFY].concat()).stdout(std::process::Stdio::null());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("start eni-lab verify");
    // Once the deploy phase's results are written, send SIGTERM.
    let started = std::time::Instant::now();
    let dir = loop {
        let written = std::fs::read_dir(&runs)
            .into_iter()
            .flatten()
            .filter_map(|e| Some(e.ok()?.path()))
            .find(|dir| dir.join("report.json").is_file());
        if let Some(dir) = written {
            break dir;
        }
        assert!(child.try_wait().unwrap().is_none(), "verify ended before its first phase was written");
        assert!(started.elapsed() < Duration::from_secs(120), "no report.json within 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let kill = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("verify interrupted (SIGTERM)"), "{stderr}");
    let written = report(&dir);
    assert_eq!(phases(&written)[0].0, "deploy", "the finished phases stay: {written}");
    let state = RunState::load(&dir.join("state.json")).unwrap();
    assert!(state.finished, "the embedded emulator took the run's resources with it: {state:?}");
}
