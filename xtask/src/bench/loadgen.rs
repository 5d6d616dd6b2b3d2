//! `cargo xtask bench loadgen`: the release `loadgen` side by side with the usual tools.
//!
//! 1. closed model: `loadgen http`, `wrk -t1` and `oha` (installed from crates.io into
//!    `target/bench-tools` the first time) at `--connections` and at 200 connections for `--duration`
//!    against a release `dummy-agent` on loopback (`POST /invocations`), each tool's CPU use and the
//!    server's beside its rate (they share the cores);
//! 2. open model: `loadgen http -q 2000/s` for 20 s (schedule lag p99, target ≤ 1 ms) and `-q 20000/s`
//!    for 10 s (offered rate, target within 1 %);
//! 3. four shards started together with `--start-at` and merged, against one run at the total rate:
//!    per-second series and totals must be equal;
//! 4. `agentcore` target against a release `agentcore-local`, 50 warm per-worker sessions, next to the
//!    report's approach: a Python pool of 50 boto3 threads (the test venv) calling
//!    `invoke_agent_runtime` in a loop, each on its own session (target ≥ 10×).
//!
//! Every tool shares the machine's cores with the server it loads. The table goes to stdout and to
//! `target/bench-loadgen/results.txt`; each run's JSON stays in that directory. A missing peer (wrk, oha,
//! the test venv's boto3) makes its comparison a skipped summary row; the others still run.

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::process::{Timed, cpu_seconds, timed};
use super::results::{number_at, read_json};
use super::settings::Settings;
use super::summary::{Better, Reference, Row};
use crate::util::{self, cargo, project_root};

const POST_SCRIPT: &str = r#"wrk.method = "POST"
wrk.body = '{"prompt":"load 1"}'
wrk.headers["Content-Type"] = "application/json"
"#;

/// The report's load loop, with boto3: a pool of threads invoking one runtime, each on its session.
const BOTO3_POOL: &str = r#"
import json, sys, threading, time
import boto3
from botocore.config import Config

endpoint, duration, workers = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
kw = dict(region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=workers)
control = boto3.client("bedrock-agentcore-control", config=cfg, **kw)
created = control.create_agent_runtime(
    agentRuntimeName="bench_loadgen",
    agentRuntimeArtifact={"containerConfiguration": {"containerUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest"}},
    roleArn="arn:aws:iam::123456789012:role/AgentRole",
)
while control.get_agent_runtime(agentRuntimeId=created["agentRuntimeId"])["status"] != "READY":
    time.sleep(0.05)
arn = created["agentRuntimeArn"]
data = boto3.client("bedrock-agentcore", config=cfg, **kw)
ok = [0] * workers
failed = [0] * workers

def worker(i):
    session = "bench-boto3-worker-%04d-%s" % (i, "0" * 16)
    end = time.monotonic() + duration
    while time.monotonic() < end:
        try:
            answer = data.invoke_agent_runtime(agentRuntimeArn=arn, runtimeSessionId=session,
                                               payload=b'{"prompt":"load 1"}', contentType="application/json")
            answer["response"].read()
            ok[i] += 1
        except Exception:
            failed[i] += 1

started = time.monotonic()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.monotonic() - started
print(json.dumps({"arn": arn, "ok": sum(ok), "failed": sum(failed), "seconds": elapsed}))
"#;

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Figure {
    label: String,
    value: f64,
    unit: &'static str,
    note: String,
}

const BENCH: &str = "loadgen";

pub fn run(args: &Settings) -> anyhow::Result<Vec<Row>> {
    util::run(
        cargo()
            .args(["build", "--release", "--locked", "-p", "dummy-agent", "-p", "loadgen", "-p"])
            .args(["agentcore-local", "--bins"]),
    )?;
    let release = project_root().join("target").join("release");
    let (loadgen, agent, emulator) =
        (release.join("loadgen"), release.join("dummy-agent"), release.join("agentcore-local"));
    let out = project_root().join("target").join("bench-loadgen");
    fs::create_dir_all(&out)?;
    let mut figures = Vec::new();
    let mut rows = Vec::new();
    let record = |figure: Figure, figures: &mut Vec<Figure>| {
        eprintln!("  {}: {} {} {}", figure.label, format_value(figure.value), figure.unit, figure.note);
        figures.push(figure);
    };
    let oha = ensure_oha();

    // 1: closed model against a release dummy-agent, at the bench's connections and at 200.
    let port = free_port()?;
    let server = Running(
        Command::new(&agent)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting dummy-agent")?,
    );
    let server_pid = server.0.id();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    wait_listening(address)?;
    let url = format!("http://{address}");
    let duration = format!("{}s", args.duration);
    // Runs a tool and returns it with the server's CPU use (percent of one core) over the same time.
    let server_cpu = |run: &dyn Fn() -> anyhow::Result<Timed>| -> anyhow::Result<(Timed, f64)> {
        let before = cpu_seconds(server_pid)?;
        let timed = run()?;
        let server = cpu_percent(cpu_seconds(server_pid)? - before, timed.wall_s);
        Ok((timed, server))
    };
    let mut connection_counts = vec![args.connections];
    if args.connections != 200 {
        connection_counts.push(200);
    }
    for connections in connection_counts {
        let c = connections.to_string();
        let json = out.join(format!("http-closed-c{connections}.json"));
        let ours = server_cpu(&|| {
            let mut run_args: Vec<String> =
                ["http", "--url", &url, "-c", &c, "-z", &duration, "--quiet", "--out"].map(String::from).to_vec();
            run_args.push(json.display().to_string());
            run_args.extend(["-d".into(), r#"{"prompt":"load 1"}"#.into()]);
            timed(&loadgen, &run_args)
        })?;
        let loadgen_rps = number_at(&read_json(&json)?, "/achieved_rps")?;
        let cpu_note = |timed: &Timed, server: f64| format!("CPU {:.0} %, server {server:.0} %", timed.cpu_percent());
        record(
            Figure {
                label: format!("loadgen http, closed c={connections}"),
                value: loadgen_rps,
                unit: "req/s",
                note: cpu_note(&ours.0, ours.1),
            },
            &mut figures,
        );
        let http_vs = |tool: &str| format!("loadgen http vs {tool}, closed c={connections}, POST /invocations");
        let wrk = which("wrk").context("install wrk (Debian: `apt-get install -y wrk`)").and_then(|wrk| {
            let script = out.join("post.lua");
            fs::write(&script, POST_SCRIPT)?;
            let wrk_args: Vec<String> = vec![
                format!("-t{}", args.threads),
                format!("-c{connections}"),
                format!("-d{duration}"),
                "-s".into(),
                script.display().to_string(),
                format!("{url}/invocations"),
            ];
            let (timed, server) = server_cpu(&|| timed(&wrk, &wrk_args))?;
            let text = timed.stdout();
            let rps = text
                .lines()
                .find_map(|l| l.strip_prefix("Requests/sec:").and_then(|v| v.trim().parse::<f64>().ok()))
                .with_context(|| format!("no Requests/sec in wrk's output: {}", text.trim()))?;
            Ok((rps, cpu_note(&timed, server)))
        });
        let oha = oha.as_ref().map_err(|e| anyhow::anyhow!("{e:#}")).and_then(|oha| {
            let oha_args: Vec<String> = ["-z", &duration, "-c", &c, "-m", "POST", "-d", r#"{"prompt":"load 1"}"#]
                .into_iter()
                .chain(["-T", "application/json", "--no-tui", "--output-format", "json"])
                .map(String::from)
                .chain([format!("{url}/invocations")])
                .collect();
            let (timed, server) = server_cpu(&|| timed(oha, &oha_args))?;
            let summary: serde_json::Value = serde_json::from_slice(&timed.output.stdout)
                .with_context(|| format!("oha's output is not JSON: {}", timed.stdout().trim()))?;
            Ok((number_at(&summary, "/summary/requestsPerSec")?, cpu_note(&timed, server)))
        });
        for (tool, result) in [(format!("wrk -t{}", args.threads), wrk), ("oha".to_string(), oha)] {
            match result {
                Ok((rps, cpu)) => {
                    let note = format!("{cpu}; loadgen/{tool} = {:.2}× (target ≥ 1.0×)", loadgen_rps / rps);
                    record(
                        Figure { label: format!("{tool} c={connections}"), value: rps, unit: "req/s", note },
                        &mut figures,
                    );
                    let peer = Reference::peer(tool.clone(), rps, Some(1.0));
                    rows.push(Row::measured(BENCH, http_vs(&tool), "req/s", Better::Higher, loadgen_rps, peer));
                }
                Err(error) => rows.push(Row::skipped(BENCH, http_vs(&tool), format!("{error:#}"))),
            }
        }
    }

    // 2: the open model's precision: schedule lag at 2,000/s, rate error at 20,000/s.
    for (rate, seconds) in [(2_000u32, if args.quick { 5 } else { 20 }), (20_000, if args.quick { 5 } else { 10 })] {
        let json = out.join(format!("http-open-{rate}.json"));
        util::run(
            Command::new(&loadgen)
                .args(["http", "--url", &url, "-q", &format!("{rate}/s"), "-z", &format!("{seconds}s"), "--quiet"])
                .arg("--out")
                .arg(&json)
                .args(["-d", r#"{"prompt":"load 1"}"#])
                .stdout(Stdio::null()),
        )?;
        let open = read_json(&json)?;
        let offered = number_at(&open, "/offered_rps")?;
        let dropped = number_at(&open, "/dropped")?;
        let lag_p99 = number_at(&open, "/latency_ms/schedule_lag/p99")?;
        let error = (offered - f64::from(rate)).abs() / f64::from(rate) * 100.0;
        let model = format!("open model {rate}/s for {seconds} s");
        record(
            Figure {
                label: format!("{model}: offered"),
                value: offered,
                unit: "req/s",
                note: format!("{error:.2} % off (target ≤ 1 %), {dropped} dropped"),
            },
            &mut figures,
        );
        record(
            Figure {
                label: "  schedule lag p99".into(),
                value: lag_p99,
                unit: "ms",
                note: if rate == 2_000 { verdict("≤ 1 ms", lag_p99 <= 1.0) } else { String::new() },
            },
            &mut figures,
        );
        rows.push(Row::measured(
            BENCH,
            format!("{model}: offered rate off by"),
            "%",
            Better::Lower,
            error,
            Reference::target(1.0),
        ));
        if rate == 2_000 {
            rows.push(Row::measured(
                BENCH,
                format!("{model}: schedule lag p99"),
                "ms",
                Better::Lower,
                lag_p99,
                Reference::target(1.0),
            ));
        }
    }

    // 3: shards on loopback started together with --start-at, merged, vs one run at the total rate.
    match shards_vs_one_run(args, &loadgen, &url, &out) {
        Ok(ShardCheck { seconds, matching, total_difference }) => {
            let note = format!("{matching} of {seconds} seconds equal, totals differ by {total_difference}");
            let figure = Figure { label: "4 shards merged vs one run".into(), value: matching as f64, unit: "s", note };
            record(figure, &mut figures);
            // Equal totals are required too: a total that differs counts as one more unequal second.
            let equal = if total_difference == 0 { matching } else { matching.saturating_sub(1) };
            rows.push(Row::measured(
                BENCH,
                "4 shards (--start-at) merged vs one run: per-second series equal",
                "s",
                Better::Higher,
                equal as f64,
                Reference::target(seconds as f64),
            ));
        }
        Err(error) => rows.push(Row::skipped(BENCH, "4 shards (--start-at) merged vs one run", format!("{error:#}"))),
    }
    drop(server);

    // 4: agentcore target vs boto3 threads against agentcore-local.
    let agentcore_vs_boto3 = "loadgen agentcore c=50 vs 50 boto3 threads, warm sessions";
    match agentcore_side_by_side(args, &loadgen, &agent, &emulator, &out) {
        Ok((ours, boto3)) => {
            record(
                Figure {
                    label: "loadgen agentcore c=50 (per-worker sessions)".into(),
                    value: ours,
                    unit: "inv/s",
                    note: String::new(),
                },
                &mut figures,
            );
            record(
                Figure {
                    label: "boto3, 50 threads (the report's approach)".into(),
                    value: boto3,
                    unit: "inv/s",
                    note: format!("loadgen/boto3 = {:.1}× (target ≥ 10×)", ours / boto3),
                },
                &mut figures,
            );
            let boto3 = Reference::peer("boto3 pool", boto3, Some(10.0));
            rows.push(Row::measured(BENCH, agentcore_vs_boto3, "inv/s", Better::Higher, ours, boto3));
        }
        Err(error) => {
            eprintln!("agentcore side by side skipped: {error:#}");
            rows.push(Row::skipped(BENCH, agentcore_vs_boto3, format!("{error:#}")));
        }
    }

    let mut table = String::new();
    let _ = writeln!(
        table,
        "\ncargo xtask bench loadgen: {} s per closed case, {} connections, {} cores shared by tool and server",
        args.duration,
        args.connections,
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    for figure in &figures {
        let _ = writeln!(
            table,
            "| {:<48} | {:>12} {:<5} | {:<36} |",
            figure.label,
            format_value(figure.value),
            figure.unit,
            figure.note
        );
    }
    print!("{table}");
    fs::write(out.join("results.txt"), table)?;
    Ok(rows)
}

/// `oha`, installed from crates.io into `target/bench-tools` the first time (it compiles for a few
/// minutes); the one on PATH if there is one.
fn ensure_oha() -> anyhow::Result<PathBuf> {
    if let Ok(oha) = which("oha") {
        return Ok(oha);
    }
    let root = project_root().join("target").join("bench-tools");
    let oha = root.join("bin").join("oha");
    if !oha.is_file() {
        eprintln!("installing oha from crates.io into {} (once)", root.display());
        util::run(cargo().args(["install", "--locked", "oha", "--root"]).arg(&root))
            .context("installing oha (`cargo install oha`)")?;
    }
    Ok(oha)
}

/// How a merged sharded run compares with one run.
struct ShardCheck {
    /// Seconds in the one run's series.
    seconds: usize,
    /// Seconds whose `sent` is the same in both series.
    matching: usize,
    total_difference: u64,
}

/// Four shards of 500/s, started together with --start-at and merged, against one run at 2,000/s.
fn shards_vs_one_run(args: &Settings, loadgen: &Path, url: &str, out: &Path) -> anyhow::Result<ShardCheck> {
    let dir = out.join("shards");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let seconds = if args.quick { "3s" } else { "5s" };
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    let at = format!("{:.3}", at.duration_since(std::time::UNIX_EPOCH)?.as_secs_f64());
    let shards: Vec<Running> = (0..4)
        .map(|index| {
            Command::new(loadgen)
                .args(["http", "--url", url, "-q", "2000/s", "-z", seconds, "--quiet", "--start-at", &at])
                .args(["--shard", &format!("{index}/4"), "-d", r#"{"prompt":"load 1"}"#, "--out"])
                .arg(dir.join("shard-{shard}.json"))
                .stdout(Stdio::null())
                .spawn()
                .map(Running)
                .context("starting a shard")
        })
        .collect::<anyhow::Result<_>>()?;
    for mut shard in shards {
        let status = shard.0.wait()?;
        if !status.success() {
            bail!("a shard failed: {status}");
        }
    }
    let merged = out.join("shards-merged.json");
    util::run(
        Command::new(loadgen)
            .args(["merge", "--shards", "4", "--output", "table", "--out"])
            .arg(&merged)
            .arg(&dir)
            .stdout(Stdio::null()),
    )?;
    let one = out.join("shards-one-run.json");
    util::run(
        Command::new(loadgen)
            .args([
                "http",
                "--url",
                url,
                "-q",
                "2000/s",
                "-z",
                seconds,
                "--quiet",
                "-d",
                r#"{"prompt":"load 1"}"#,
                "--out",
            ])
            .arg(&one)
            .stdout(Stdio::null()),
    )?;
    let (merged, one) = (read_json(&merged)?, read_json(&one)?);
    let series = |report: &serde_json::Value| -> Vec<(u64, u64)> {
        report["series"]
            .as_array()
            .map(|seconds| {
                seconds.iter().map(|s| (s["second"].as_u64().unwrap_or(0), s["sent"].as_u64().unwrap_or(0))).collect()
            })
            .unwrap_or_default()
    };
    let (merged_series, one_series) = (series(&merged), series(&one));
    let matching = merged_series.iter().zip(&one_series).filter(|(x, y)| x == y).count();
    let total_difference = (number_at(&merged, "/total")? as u64).abs_diff(number_at(&one, "/total")? as u64);
    Ok(ShardCheck { seconds: one_series.len().max(merged_series.len()), matching, total_difference })
}

/// (loadgen, boto3) invocations/s against a release agentcore-local.
fn agentcore_side_by_side(
    args: &Settings,
    loadgen: &Path,
    agent: &Path,
    emulator: &Path,
    out: &Path,
) -> anyhow::Result<(f64, f64)> {
    let venv = project_root().join("target").join("test-venv");
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        bail!("no test venv at {} (run `cargo xtask test` once)", venv.display());
    }
    let port = free_port()?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let _emulator = Running(
        Command::new(emulator)
            // Throughput, not quotas: no new-session rate (its default, AWS's 25/s, would refuse most of
            // the 50 workers' first calls), no emulated cold start or refusal time, and the machine's
            // network for every microVM.
            .args(["--listen", &address.to_string(), "--status-delay", "0s", "--max-vms", "1000"])
            .args(["--new-sessions-tps", "0", "--cold-start", "0s", "--quota-refusal-delay", "0s"])
            .args(["--isolation", "port", "--agent-cmd"])
            .arg(agent)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting agentcore-local")?,
    );
    wait_listening(address)?;
    let endpoint = format!("http://{address}");
    let workers = "50";
    let duration = args.duration.to_string();
    eprintln!("$ python boto3 pool: {workers} threads for {duration} s");
    let pool = Command::new(&python).args(["-c", BOTO3_POOL, &endpoint, &duration, workers]).output()?;
    let text = String::from_utf8_lossy(&pool.stdout);
    if !pool.status.success() {
        bail!("the boto3 pool failed: {}", String::from_utf8_lossy(&pool.stderr));
    }
    // The pool's last line: {"arn": …, "ok": …, "failed": …, "seconds": …}.
    let last = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or_default();
    let pool: serde_json::Value =
        serde_json::from_str(last).with_context(|| format!("the boto3 pool printed no result: {text}"))?;
    let arn = pool["arn"].as_str().with_context(|| format!("no arn in {last}"))?.to_owned();
    let boto3_ok = number_at(&pool, "/ok")?;
    let boto3_seconds = number_at(&pool, "/seconds")?;
    let json = out.join("agentcore.json");
    util::run(
        Command::new(loadgen)
            // One thread, as the boto3 pool gets one core under the GIL; the other core stays with the
            // emulator and its agents (loadgen's default for agentcore is every core, for real endpoints).
            .args([
                "--threads",
                "1",
                "agentcore",
                "--runtime-arn",
                &arn,
                "--region",
                "us-east-1",
                "--endpoint-url",
                &endpoint,
            ])
            .args([
                "--concurrency",
                workers,
                "--duration",
                &format!("{duration}s"),
                "--sessions",
                "per-worker",
                "--quiet",
            ])
            .args(["--payload", r#"{"prompt":"load 1"}"#, "--out"])
            .arg(&json)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("AWS_PROFILE")
            .stdout(Stdio::null()),
    )?;
    let ours = number_at(&read_json(&json)?, "/achieved_rps")?;
    Ok((ours, boto3_ok / boto3_seconds))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(address: SocketAddr) -> anyhow::Result<()> {
    let started = Instant::now();
    while TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_err() {
        if started.elapsed() > Duration::from_secs(20) {
            bail!("nothing listens on {address} after 20 s");
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn which(tool: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("`{tool}` is not on PATH"))
}

fn verdict(target: &str, met: bool) -> String {
    format!("{target} {}", if met { "met" } else { "MISSED" })
}

fn format_value(value: f64) -> String {
    if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.3}") }
}

/// CPU seconds over wall seconds, in percent of one core.
fn cpu_percent(cpu_s: f64, wall_s: f64) -> f64 {
    cpu_s / wall_s * 100.0
}
