//! The `loadgen` binary: SIGINT and SIGTERM, a series file that cannot be written, shards and `merge`,
//! errors for bad flags and unreachable targets.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use loadgen::Report;
use tokio::process::Command;

use crate::support::{assert_accounted, assert_matches_server, counting_agent, dummy_agent, scratch};

fn loadgen() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    command.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE").kill_on_drop(true);
    command
}

async fn output(command: &mut Command) -> Output {
    tokio::time::timeout(Duration::from_secs(60), command.output()).await.expect("loadgen ends").expect("loadgen runs")
}

fn read_report(path: &Path) -> Report {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("a results document")
}

/// Sends SIGINT once the series file has a line, and returns the exit status.
async fn interrupt_after_first_second(mut child: tokio::process::Child, series: &Path) -> std::process::ExitStatus {
    let started = Instant::now();
    while std::fs::read_to_string(series).map_or(true, |s| s.lines().count() < 2) {
        assert!(started.elapsed() < Duration::from_secs(20), "no series lines");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().expect("running").to_string();
    let kill = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    assert!(kill.success());
    tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits after SIGINT").expect("wait")
}

/// Sends `signal` (`TERM`, `INT`) to the child with the `kill` command (no nix or libc dev-dependency).
fn send_signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("running").to_string();
    let kill = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().expect("kill");
    assert!(kill.success());
}

async fn exits(mut child: tokio::process::Child, within: Duration) -> std::process::ExitStatus {
    tokio::time::timeout(within, child.wait()).await.expect("loadgen exits").expect("wait")
}

/// Open-model load against the counting agent, every other call sleeping 30 s in the agent.
fn half_slow_load(url: &str, out: &Path, drain: &str) -> tokio::process::Child {
    loadgen()
        .args(["http", "--url", url, "--rate", "50/s", "--duration", "5m", "--quiet", "--drain-timeout", drain])
        .args(["--payload", r#"{"sleep_ms":0}"#, "--payload", r#"{"sleep_ms":30000}"#, "--out"])
        .arg(out)
        .spawn()
        .expect("spawn")
}

/// SIGTERM (how Kubernetes and AWS Batch stop a job) drains like SIGINT and leaves a complete `--out`
/// file. Compared with the server: ok ≤ answered (a full response was read only for what the server
/// answered) and answered − ok ≤ cancelled (what the server answered but loadgen did not read to the
/// end was in flight when loadgen cancelled it); every call the server still held is cancelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_writes_results_matching_the_server() {
    let (url, served) = counting_agent().await;
    let dir = scratch("sigterm");
    let out = dir.join("results.json");
    let child = half_slow_load(&url, &out, "300ms");
    served.wait_for_received(20).await;
    send_signal(&child, "TERM");
    let status = exits(child, Duration::from_secs(30)).await;
    assert!(status.success(), "{status}");
    let report = read_report(&out);
    assert_accounted(&report);
    assert!(report.interrupted);
    assert!(report.cancelled >= 9 && report.ok >= 9, "{report:#?}");
    assert_matches_server(&report, &served);
    let series = std::fs::read_to_string(dir.join("results.series.jsonl")).expect("the series file");
    let sent: u64 = series.lines().map(|l| serde_json::from_str::<loadgen::report::Second>(l).unwrap().sent).sum();
    assert_eq!(sent, report.total, "the series file has every second");
}

/// A second signal cancels in-flight calls at once (well before a 5-minute drain) and still writes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_cancels_at_once_and_still_writes() {
    let (url, served) = counting_agent().await;
    let dir = scratch("sigterm-twice");
    let out = dir.join("results.json");
    let child = half_slow_load(&url, &out, "5m");
    served.wait_for_received(10).await;
    send_signal(&child, "TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_signal(&child, "INT");
    let status = exits(child, Duration::from_secs(20)).await;
    assert!(status.success(), "{status}");
    let report = read_report(&out);
    assert_accounted(&report);
    assert!(report.interrupted && report.cancelled >= 5, "{report:#?}");
    assert_matches_server(&report, &served);
}

/// A per-second series file that cannot be written (its directory is missing, or it is a directory)
/// does not lose the run: the `--out` report is complete and names the failure, and the exit code
/// says something failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_series_file_keeps_the_report_and_names_the_failure() {
    let dir = scratch("series-failure");
    for (name, series) in [("missing-dir.json", dir.join("missing").join("s.jsonl")), ("a-dir.json", dir.clone())] {
        let out = dir.join(name);
        let done = output(
            loadgen().args(["noop", "-c", "2", "-n", "500", "--quiet", "--out"]).arg(&out).arg("--series").arg(&series),
        )
        .await;
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(!done.status.success(), "{name}: {stderr}");
        let named = format!("the per-second series could not be written to {}", series.display());
        assert!(stderr.contains(&named), "{name}: {stderr}");
        let report = read_report(&out);
        assert_accounted(&report);
        assert_eq!((report.total, report.ok), (500, 500));
        assert!(!report.series.is_empty());
        let failure = report.series_error.expect("the report names the failure");
        assert_eq!(failure.path, series.display().to_string());
        assert!(!failure.error.is_empty());
        assert!(String::from_utf8_lossy(&done.stdout).contains("WARNING    the per-second series"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_drains_and_writes_complete_results() {
    let url = dummy_agent().await;
    let dir = scratch("sigint");
    let out = dir.join("results.json");
    let child = loadgen()
        .args(["http", "--url", &url, "--rate", "40/s", "--duration", "5m", "--quiet", "--out"])
        .arg(&out)
        .args(["--payload", r#"{"_dummy":{"sleep_ms":300}}"#])
        .spawn()
        .expect("spawn");
    let status = interrupt_after_first_second(child, &dir.join("results.series.jsonl")).await;
    assert!(status.success(), "{status}");
    let report = read_report(&out);
    assert_accounted(&report);
    assert!(report.interrupted);
    assert!(report.total > 0 && report.ok == report.total, "drained: {report:#?}");
    assert_eq!(report.cancelled, 0);
    assert!(report.duration_s < 60.0);
    assert!(!report.series.is_empty());
    // Every request slept 300 ms in the agent.
    assert!(report.latency_ms.uncorrected.p50 >= 300.0, "{:?}", report.latency_ms);
    assert!(report.latency_ms.corrected.p50 >= report.latency_ms.uncorrected.p50 * 0.99, "{:?}", report.latency_ms);
    // The series file has every second, each a JSON object.
    let lines = std::fs::read_to_string(dir.join("results.series.jsonl")).unwrap();
    for line in lines.lines() {
        let second: loadgen::report::Second = serde_json::from_str(line).expect("a series line");
        assert!(second.second >= 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_past_the_drain_deadline_cancels_and_still_accounts() {
    let url = dummy_agent().await;
    let dir = scratch("sigint-cancel");
    let out = dir.join("results.json");
    let child = loadgen()
        .args(["http", "--url", &url, "--concurrency", "4", "--duration", "5m", "--quiet", "--drain-timeout", "200ms"])
        .args(["--payload", r#"{"prompt":"fast"}"#, "--payload", r#"{"_dummy":{"sleep_ms":30000}}"#, "--out"])
        .arg(&out)
        .spawn()
        .expect("spawn");
    let status = interrupt_after_first_second(child, &dir.join("results.series.jsonl")).await;
    assert!(status.success(), "{status}");
    let report = read_report(&out);
    assert_accounted(&report);
    assert!(report.interrupted);
    assert_eq!(report.cancelled, 4, "the four workers were each waiting on a slow request: {report:#?}");
    assert!(report.ok >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_shards_equal_one_run_over_the_same_requests() {
    let url = dummy_agent().await;
    let dir = scratch("merge");
    let run = |name: &str, shard: Option<&str>| {
        let mut command = loadgen();
        command
            .args(["http", "--url", &url, "--concurrency", "4", "--requests", "61", "--quiet", "--sessions", "unique"])
            .args(["--payload", r#"{"prompt":"ok"}"#, "--payload", r#"{"_dummy":{"status":503}}"#])
            .args(["--payload", r#"{"_dummy":{"status":429}}"#, "--out"])
            .arg(dir.join(name));
        if let Some(shard) = shard {
            command.args(["--shard", shard]);
        }
        command
    };
    for (name, shard) in [("one.json", None), ("a.json", Some("0/2")), ("b.json", Some("1/2"))] {
        let done = output(&mut run(name, shard)).await;
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    }
    let merged = output(
        loadgen()
            .arg("merge")
            .arg(dir.join("a.json"))
            .arg(dir.join("b.json"))
            .arg("--out")
            .arg(dir.join("merged.json")),
    )
    .await;
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    let [one, a, b, merged] = ["one.json", "a.json", "b.json", "merged.json"].map(|n| read_report(&dir.join(n)));
    assert_accounted(&merged);
    assert_eq!((a.total, b.total), (31, 30));
    assert_eq!(merged.total, one.total);
    assert_eq!(merged.ok, one.ok);
    assert_eq!(merged.failed, one.failed);
    assert_eq!(one.failed.get("HTTP 503"), Some(&20));
    assert_eq!(one.failed.get("HTTP 429"), Some(&20));
    assert_eq!(merged.shards.len(), 2);
    // Histograms add exactly: the merged one is the sum of the shards' and counts every request.
    let (ha, hb, hm) =
        (a.decode_histograms().unwrap(), b.decode_histograms().unwrap(), merged.decode_histograms().unwrap());
    let mut sum = ha.corrected.clone();
    sum.add(&hb.corrected).unwrap();
    assert_eq!(hm.corrected, sum);
    assert_eq!(hm.corrected.len(), one.decode_histograms().unwrap().corrected.len());
    let mut ttfb = ha.ttfb.clone();
    ttfb.add(&hb.ttfb).unwrap();
    assert_eq!(hm.ttfb, ttfb);
    assert_eq!(merged.latency_ms.corrected.max, a.latency_ms.corrected.max.max(b.latency_ms.corrected.max));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_come_from_the_job_index() {
    let dir = scratch("job-index");
    let done = output(
        loadgen()
            .args(["noop", "--concurrency", "2", "--requests", "11", "--shards", "2", "--quiet", "--out"])
            .arg(dir.join("r.json"))
            .env("JOB_COMPLETION_INDEX", "1"),
    )
    .await;
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let report = read_report(&dir.join("r.json"));
    assert_eq!(report.shards, vec![loadgen::Shard { index: 1, count: 2 }]);
    assert_eq!(report.total, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_and_unreachable_targets_get_clear_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["noop", "--stages", "10/s:30s,10->200/s"], "stage 2 (\"10->200/s\")"),
        (&["noop", "--rate", "fast", "-z", "1s"], "invalid rate \"fast\""),
        (&["noop", "-c", "2", "-z", "soon"], "invalid duration \"soon\""),
        (&["noop", "-c", "2", "-z", "0s"], "--duration must be more than zero"),
        (&["noop", "--requests", "5"], "choose a load model"),
        (&["noop", "-c", "2"], "--duration or --requests"),
        (&["noop", "-c", "2", "-n", "2", "--shard", "2/2"], "out of range"),
        (&["noop", "-c", "2", "-n", "2", "--shards", "2"], "JOB_COMPLETION_INDEX"),
        (&["noop", "-c", "2", "-n", "2", "--payload", "{nope"], "--payload #1 is not valid JSON"),
        (&["noop", "-c", "2", "-n", "2", "--sessions", "pool:0"], "pool:K"),
        (
            &["http", "--url", "http://127.0.0.1:1", "-c", "1", "-n", "1"],
            "cannot reach http://127.0.0.1:1/ (127.0.0.1:1)",
        ),
        (&["http", "--url", "ftp://127.0.0.1:1", "-c", "1", "-n", "1"], "scheme must be http or https"),
        (&["agentcore", "-c", "1", "-n", "1"], "--runtime-arn"),
    ];
    for (args, expected) in cases {
        let done =
            output(loadgen().args(*args).env_remove("JOB_COMPLETION_INDEX").env_remove("AWS_BATCH_JOB_ARRAY_INDEX"))
                .await;
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(!done.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("Stack backtrace"), "{stderr}");
    }
}

/// `--output json` prints the results document on stdout (the table goes to stderr); `--output
/// jsonl` prints a line per second as it ends, then the results.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_go_to_stdout_as_json_or_json_lines() {
    let done = output(loadgen().args(["noop", "-c", "2", "-n", "500", "--quiet", "--output", "json"])).await;
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let report: Report = serde_json::from_slice(&done.stdout).expect("stdout is the results document");
    assert_eq!((report.total, report.ok), (500, 500));
    assert!(String::from_utf8_lossy(&done.stderr).contains("accounting total = ok + failed + cancelled"));

    let done = output(loadgen().args(["noop", "-q", "100/s", "-z", "2500ms", "--quiet", "--output", "jsonl"])).await;
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&done.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let (results, seconds) = lines.split_last().expect("lines");
    assert_eq!(results["type"], "results");
    assert_eq!(results["total"], 250);
    assert!(seconds.len() >= 3 && seconds.iter().all(|l| l["type"] == "second"), "{seconds:?}");
    let sent: u64 = seconds.iter().map(|l| l["sent"].as_u64().unwrap()).sum();
    assert_eq!(sent, 250);
}

/// Exit codes: 0 when the run is done and no --fail-if condition holds, 1 when one holds, 3 when no
/// request succeeded; the conditions' verdicts are in the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_follow_thresholds_and_outcomes() {
    let noop = |condition: &str| {
        let mut command = loadgen();
        command.args(["noop", "-c", "1", "-n", "100", "--quiet", "--fail-if", condition, "--fail-if", "dropped>0"]);
        command
    };
    let held = output(&mut noop("total>=100")).await;
    assert_eq!(held.status.code(), Some(1), "{}", String::from_utf8_lossy(&held.stderr));
    assert!(String::from_utf8_lossy(&held.stderr).contains("--fail-if held: total>=100"));
    let stdout = String::from_utf8_lossy(&held.stdout);
    assert!(stdout.contains("total>=100") && stdout.contains("FAILED") && stdout.contains("passed"), "{stdout}");
    let passed = output(&mut noop("total>100")).await;
    assert_eq!(passed.status.code(), Some(0), "{}", String::from_utf8_lossy(&passed.stderr));
    let json = output(noop("p99>1h").args(["--output", "json"])).await;
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(document["fail_if"][0]["condition"], "p99>3600000ms");
    assert_eq!(document["fail_if"][0]["crossed"], false);

    let url = dummy_agent().await;
    let refused = output(
        loadgen()
            .args(["http", "--url", &url, "-c", "2", "-n", "10", "--quiet"])
            .args(["-d", r#"{"_dummy":{"status":503}}"#]),
    )
    .await;
    assert_eq!(refused.status.code(), Some(3), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no request succeeded (10 sent)"));
    let bad = output(loadgen().args(["noop", "-c", "1", "-n", "1", "--fail-if", "p99>250"])).await;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("give the latency a unit"));
}

/// Shards started with --start-at begin together (their recorded starts within 100 ms of the time
/// given); `merge --shards 2 --wait` on their directory waits for both, and the merged run equals
/// one run at the total rate: the same counts and the same per-second series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_started_at_one_time_merge_into_one_run() {
    let dir = scratch("start-at");
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    let at_unix_ms = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let at_arg = format!("{:.3}", at_unix_ms as f64 / 1000.0);
    let out = dir.join("shard-{shard}.json");
    let merge = loadgen()
        .args(["merge", "--shards", "2", "--wait", "30s", "--output", "json"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("merge starts");
    let shards: Vec<_> = (0..2)
        .map(|index| {
            loadgen()
                .args(["noop", "--rate", "400/s", "-z", "3s", "--quiet", "--start-at", &at_arg, "--shards", "2"])
                .arg("--out")
                .arg(&out)
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .spawn()
                .expect("shard starts")
        })
        .collect();
    for shard in shards {
        assert!(exits(shard, Duration::from_secs(30)).await.success());
    }
    let merged = tokio::time::timeout(Duration::from_secs(40), merge.wait_with_output()).await.unwrap().unwrap();
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));
    let merged: Report = serde_json::from_slice(&merged.stdout).expect("the merged results");
    let shards = [0, 1].map(|i| read_report(&dir.join(format!("shard-{i}.json"))));
    for shard in &shards {
        let off = shard.started_unix_ms.abs_diff(at_unix_ms);
        assert!(off <= 100, "a shard started {off} ms away from --start-at");
    }
    let one = scratch("start-at-one").join("one.json");
    let done = output(loadgen().args(["noop", "--rate", "400/s", "-z", "3s", "--quiet", "--out"]).arg(&one)).await;
    assert!(done.status.success());
    let one = read_report(&one);
    assert_eq!((merged.total, merged.ok), (one.total, one.ok));
    assert_eq!(merged.total, 1200);
    let sent = |r: &Report| r.series.iter().map(|s| (s.second, s.sent)).collect::<Vec<_>>();
    assert_eq!(sent(&merged), sent(&one));
    // Without every shard, merge says which is missing.
    std::fs::remove_file(dir.join("shard-1.json")).unwrap();
    let partial = output(loadgen().args(["merge", "--shards", "2"]).arg(&dir)).await;
    assert_eq!(partial.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&partial.stderr).contains("missing shards: 1/2"));
}

/// `--latency` prints the percentile spectrum in wrk2's form, `--hgrm` writes it, `--hlog` writes an
/// interval log whose histograms add up to every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_spectrum_and_interval_log() {
    let dir = scratch("hdr");
    let (hgrm, hlog) = (dir.join("run.hgrm"), dir.join("run.hlog"));
    let done = output(
        loadgen()
            .args(["noop", "-q", "500/s", "-z", "2s", "--quiet", "--latency", "--hgrm"])
            .arg(&hgrm)
            .arg("--hlog")
            .arg(&hlog),
    )
    .await;
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.contains("1/(1-Percentile)") && stdout.contains("Total count    =         1000]"), "{stdout}");
    assert!(std::fs::read_to_string(&hgrm).unwrap().contains("#[Buckets ="));
    let log = std::fs::read_to_string(&hlog).unwrap();
    assert!(log.contains("#[Histogram log format version 1.3]") && log.contains("#[BaseTime: "), "{log}");
    let counted: u64 = log
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('"'))
        .map(|line| {
            use base64::Engine as _;
            use hdrhistogram::serialization::Deserializer;
            let encoded = line.rsplit(',').next().unwrap();
            let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).unwrap();
            let h: hdrhistogram::Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap();
            h.len()
        })
        .sum();
    assert_eq!(counted, 1000);
    // HdrHistogram's Python implementation (HdrHistogram_py) reads the log too.
    let python = test_support::python::venv().join("bin").join("python");
    let read = std::process::Command::new(python).arg("-c").arg(HLOG_READER).arg(&hlog).output().expect("python runs");
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    let (intervals, total) = String::from_utf8_lossy(&read.stdout)
        .trim()
        .split_once(' ')
        .map(|(i, t)| (i.parse::<u64>().unwrap(), t.parse::<u64>().unwrap()))
        .expect("two numbers");
    assert!(intervals >= 2, "{intervals} intervals");
    assert_eq!(total, 1000);
}

/// Reads an `.hlog` with HdrHistogram_py's `HistogramLogReader`: prints the intervals and total count.
const HLOG_READER: &str = r#"
import sys
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader
reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 3600 * 1000 * 1000, 3))
intervals, total = 0, 0
while True:
    histogram = reader.get_next_interval_histogram()
    if histogram is None:
        break
    intervals += 1
    total += histogram.get_total_count()
print(intervals, total)
"#;

/// `--dry-run` checks the flags and prints the plan without sending anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_sends_nothing() {
    let (url, served) = counting_agent().await;
    let dir = scratch("dry-run");
    let done = output(
        loadgen()
            .args(["http", "--url", &url, "-q", "10/s", "-z", "1m", "--dry-run", "--output", "json", "--shard", "1/4"])
            .arg("--out")
            .arg(dir.join("s-{shard}.json")),
    )
    .await;
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!((plan["dry_run"].as_bool(), plan["shard"].as_str()), (Some(true), Some("1/4")));
    assert!(plan["out"].as_str().unwrap().ends_with("s-1.json"), "{plan}");
    assert_eq!(served.received(), 0);
    assert!(!dir.join("s-1.json").exists());
}
