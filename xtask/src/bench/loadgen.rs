//! `cargo xtask bench loadgen`: the release `loadgen` side by side with the usual tools.
//!
//! 1. closed model: `loadgen http` and `wrk` (and `oha`, when it is on PATH) at `--connections` for
//!    `--duration` seconds against a release `dummy-agent` on loopback (`POST /invocations`);
//! 2. open model: `loadgen http --rate 2000/s` for 20 s (5 s with `--quick`): achieved rate and schedule
//!    lag p99;
//! 3. `agentcore` target against a release `agentcore-local`, 50 warm per-worker sessions, next to the
//!    report's approach: a Python pool of 50 boto3 threads (the test venv) calling
//!    `invoke_agent_runtime` in a loop, each on its own session.
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

    // 1 + 2: against a release dummy-agent.
    let port = free_port()?;
    let _server = Running(
        Command::new(&agent)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting dummy-agent")?,
    );
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    wait_listening(address)?;
    let url = format!("http://{address}");
    let connections = args.connections.to_string();
    let duration = format!("{}s", args.duration);

    let closed_json = out.join("http-closed.json");
    util::run(
        Command::new(&loadgen)
            .args(["http", "--url", &url, "--concurrency", &connections, "--duration", &duration, "--quiet", "--out"])
            .arg(&closed_json)
            .args(["--payload", r#"{"prompt":"load 1"}"#])
            .stdout(Stdio::null()),
    )?;
    let loadgen_rps = number_at(&read_json(&closed_json)?, "/achieved_rps")?;
    record(
        Figure {
            label: format!("loadgen http, closed c={connections}"),
            value: loadgen_rps,
            unit: "req/s",
            note: String::new(),
        },
        &mut figures,
    );

    let http_vs = |tool: &str| format!("loadgen http vs {tool}, closed c={connections}, POST /invocations");
    match wrk_rps(args, &out, &url, &connections, &duration) {
        Ok(wrk_rps) => {
            record(
                Figure {
                    label: format!("wrk -t{} c={connections}", args.threads),
                    value: wrk_rps,
                    unit: "req/s",
                    note: format!("loadgen/wrk = {:.2}× (target ≥ 1.0×)", loadgen_rps / wrk_rps),
                },
                &mut figures,
            );
            let wrk = Reference::peer(format!("wrk -t{}", args.threads), wrk_rps, Some(1.0));
            rows.push(Row::measured(BENCH, http_vs("wrk"), "req/s", Better::Higher, loadgen_rps, wrk));
        }
        Err(error) => rows.push(Row::skipped(BENCH, http_vs("wrk"), format!("{error:#}"))),
    }
    match oha_rps(&url, &connections, &duration) {
        Ok(rps) => {
            let note = format!("loadgen/oha = {:.2}× (target ≥ 1.0×)", loadgen_rps / rps);
            record(Figure { label: format!("oha c={connections}"), value: rps, unit: "req/s", note }, &mut figures);
            let oha = Reference::peer("oha", rps, Some(1.0));
            rows.push(Row::measured(BENCH, http_vs("oha"), "req/s", Better::Higher, loadgen_rps, oha));
        }
        Err(error) => rows.push(Row::skipped(BENCH, http_vs("oha"), format!("{error:#}"))),
    }

    let open_seconds = if args.quick { 5 } else { 20 };
    let open_json = out.join("http-open.json");
    util::run(
        Command::new(&loadgen)
            .args(["http", "--url", &url, "--rate", "2000/s", "--duration", &format!("{open_seconds}s"), "--quiet"])
            .arg("--out")
            .arg(&open_json)
            .args(["--payload", r#"{"prompt":"load 1"}"#])
            .stdout(Stdio::null()),
    )?;
    let open = read_json(&open_json)?;
    let achieved = number_at(&open, "/achieved_rps")?;
    let lag_p99 = number_at(&open, "/latency_ms/schedule_lag/p99")?;
    let corrected_p99 = number_at(&open, "/latency_ms/corrected/p99")?;
    let error = (achieved - 2000.0).abs() / 2000.0 * 100.0;
    record(
        Figure {
            label: format!("loadgen open 2000/s for {open_seconds} s: achieved"),
            value: achieved,
            unit: "req/s",
            note: format!("{error:.2} % off (target ≤ 1 %)"),
        },
        &mut figures,
    );
    record(
        Figure {
            label: "  schedule lag p99".into(),
            value: lag_p99,
            unit: "ms",
            note: verdict("≤ 2 ms", lag_p99 <= 2.0),
        },
        &mut figures,
    );
    record(
        Figure { label: "  latency p99 (corrected)".into(), value: corrected_p99, unit: "ms", note: String::new() },
        &mut figures,
    );
    let open_model = format!("open model 2,000/s for {open_seconds} s");
    rows.push(Row::measured(
        BENCH,
        format!("{open_model}: achieved rate off by"),
        "%",
        Better::Lower,
        error,
        Reference::target(1.0),
    ));
    rows.push(Row::measured(
        BENCH,
        format!("{open_model}: schedule lag p99"),
        "ms",
        Better::Lower,
        lag_p99,
        Reference::target(2.0),
    ));

    // 3: agentcore target vs boto3 threads against agentcore-local.
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
                    note: format!("loadgen/boto3 = {:.1}× (target ≥ 5×)", ours / boto3),
                },
                &mut figures,
            );
            let boto3 = Reference::peer("boto3 pool", boto3, Some(5.0));
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

/// wrk's requests/s on `POST /invocations`; an error when wrk is not installed or its output unreadable.
fn wrk_rps(args: &Settings, out: &Path, url: &str, connections: &str, duration: &str) -> anyhow::Result<f64> {
    let wrk = which("wrk").context("install wrk (Debian: `apt-get install -y wrk`)")?;
    let script = out.join("post.lua");
    fs::write(&script, POST_SCRIPT)?;
    let output = Command::new(wrk)
        .args(["-t", &args.threads.to_string(), "-c", connections, "-d", duration, "-s"])
        .arg(&script)
        .arg(format!("{url}/invocations"))
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:").and_then(|v| v.trim().parse::<f64>().ok()))
        .with_context(|| format!("no Requests/sec in wrk's output: {}", text.trim()))
}

/// oha's requests/s on `POST /invocations`; an error when oha is not installed.
fn oha_rps(url: &str, connections: &str, duration: &str) -> anyhow::Result<f64> {
    let oha = which("oha").context("install oha (`cargo install oha`) to compare with it too")?;
    let result = Command::new(oha)
        .args(["-z", duration, "-c", connections, "-m", "POST", "-d", r#"{"prompt":"load 1"}"#])
        .args(["-T", "application/json", "--no-tui", "--output-format", "json"])
        .arg(format!("{url}/invocations"))
        .output()
        .context("running oha")?;
    let summary: serde_json::Value = serde_json::from_slice(&result.stdout)
        .with_context(|| format!("oha's output is not JSON: {}", String::from_utf8_lossy(&result.stdout).trim()))?;
    number_at(&summary, "/summary/requestsPerSec")
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
            .args(["agentcore", "--runtime-arn", &arn, "--region", "us-east-1", "--endpoint-url", &endpoint])
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
