//! The data-plane benchmark behind `cargo xtask bench emulator` (run it through xtask, which builds
//! the release `dummy-agent` first):
//!
//! ```console
//! $ cargo run --release -p agentcore-local --example emulator_bench -- --agent target/release/dummy-agent
//! ```
//!
//! An in-process emulator (SigV4 on, as by default) with dummy-agent microVMs, driven through the
//! Rust SDK (`aws-sdk-bedrockagentcore`) on loopback. Prints, as each is measured: warm-session
//! invocations/s, new-session latency (process start to first answer, as the SDK sees it) p50/p99,
//! and the memory of 500 live microVMs (sum of their `VmRSS`). With `--shim PATH` (the
//! `agentcore-local` binary) every microVM runs in a network namespace of its own
//! (`Isolation::Netns`): a microVM is then the relay shim and its agent, and both count.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use agentcore_local::{AgentCommand, Config, Isolation};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_bedrockagentcore::primitives::Blob;
use aws_sdk_bedrockagentcorecontrol::types::{AgentRuntimeArtifact, ContainerConfiguration};

struct Args {
    agent: PathBuf,
    duration: Duration,
    concurrency: usize,
    warm_sessions: usize,
    new_sessions: usize,
    live_vms: usize,
    /// `--shim`: run every microVM in a network namespace through this binary's relay.
    shim: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut out = Args {
        agent: PathBuf::from("target/release/dummy-agent"),
        duration: Duration::from_secs(10),
        concurrency: 32,
        warm_sessions: 4,
        new_sessions: 200,
        live_vms: 500,
        shim: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--agent" => out.agent = value()?.into(),
            "--duration" => out.duration = duration_flag::parse(&value()?)?,
            "--concurrency" => out.concurrency = value()?.parse()?,
            "--warm-sessions" => out.warm_sessions = value()?.parse()?,
            "--new-sessions" => out.new_sessions = value()?.parse()?,
            "--live-vms" => out.live_vms = value()?.parse()?,
            "--shim" => out.shim = Some(std::fs::canonicalize(value()?)?),
            other => anyhow::bail!(
                "unknown flag {other} (--agent PATH --duration DURATION --concurrency N --warm-sessions N --new-sessions N --live-vms N --shim PATH)"
            ),
        }
    }
    Ok(out)
}

fn session_id(kind: &str, i: usize) -> String {
    format!("bench-{kind}-{i:030}")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The `VmRSS` of `pid` and of its children (a netns microVM: the shim and its agent).
fn microvm_rss_kib(pid: u64) -> Option<u64> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let children: u64 = children.split_whitespace().filter_map(|c| c.parse().ok()).filter_map(vm_rss_kib).sum();
    Some(vm_rss_kib(pid)? + children)
}

fn vm_rss_kib(pid: u64) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    anyhow::ensure!(
        args.agent.is_file(),
        "no agent binary at {} (build it: cargo build --release -p dummy-agent)",
        args.agent.display()
    );
    let config = Config {
        status_delay: Duration::ZERO,
        max_vms: (args.live_vms + args.new_sessions + args.warm_sessions + 10) as u32,
        agent_command: Some(AgentCommand::new(std::fs::canonicalize(&args.agent)?, Vec::<String>::new())),
        isolation: args.shim.clone().map_or(Isolation::Port, |shim| Isolation::Netns { shim }),
        ..Config::default()
    };
    let handle = agentcore_local::start(config).await?;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_bedrockagentcore::config::Credentials::new("test", "test", None, None, "bench"))
        .endpoint_url(handle.endpoint_url())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(&sdk);
    let data = aws_sdk_bedrockagentcore::Client::new(&sdk);
    let arn = control
        .create_agent_runtime()
        .agent_runtime_name("bench_agent")
        .agent_runtime_artifact(AgentRuntimeArtifact::ContainerConfiguration(
            ContainerConfiguration::builder()
                .container_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1")
                .build()?,
        ))
        .role_arn("arn:aws:iam::123456789012:role/AgentRole")
        .send()
        .await?
        .agent_runtime_arn()
        .to_string();
    let (data_for_invoke, arn_for_invoke) = (data.clone(), arn.clone());
    let invoke = move |session: String| {
        let data = data_for_invoke.clone();
        let arn = arn_for_invoke.clone();
        async move {
            let out = data
                .invoke_agent_runtime()
                .agent_runtime_arn(arn)
                .runtime_session_id(session)
                .content_type("application/json")
                .payload(Blob::new(&br#"{"prompt":"bench"}"#[..]))
                .send()
                .await?;
            let body = out.response.collect().await?.into_bytes();
            anyhow::ensure!(body.starts_with(b"{\"echo\""), "unexpected answer {body:?}");
            anyhow::Ok(())
        }
    };

    // 1. Warm sessions.
    for i in 0..args.warm_sessions {
        invoke(session_id("warm", i)).await?;
    }
    let started = Instant::now();
    let stop_at = started + args.duration;
    let workers: Vec<_> = (0..args.concurrency)
        .map(|w| {
            let invoke = invoke.clone();
            let sessions = args.warm_sessions;
            tokio::spawn(async move {
                let mut done = 0u64;
                let mut i = w;
                while Instant::now() < stop_at {
                    invoke(session_id("warm", i % sessions)).await?;
                    done += 1;
                    i += 1;
                }
                anyhow::Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await??;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "warm-session invocations/s: {rate:.0} ({total} in {:.1} s, {} concurrent, {} warm sessions)",
        started.elapsed().as_secs_f64(),
        args.concurrency,
        args.warm_sessions
    );

    // 2. New sessions, one at a time, each stopped afterwards.
    let mut latencies = Vec::with_capacity(args.new_sessions);
    for i in 0..args.new_sessions {
        let t0 = Instant::now();
        invoke(session_id("new", i)).await?;
        latencies.push(t0.elapsed());
        data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(session_id("new", i)).send().await?;
    }
    latencies.sort();
    println!(
        "new-session latency (start to first answer): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} sessions)",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
        latencies.len()
    );

    // 3. Many live microVMs (the warm ones stopped first, so exactly `--live-vms` are counted).
    for i in 0..args.warm_sessions {
        data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(session_id("warm", i)).send().await?;
    }
    let started = Instant::now();
    let mut next = 0usize;
    while next < args.live_vms {
        let batch: Vec<_> = (next..(next + 16).min(args.live_vms)).map(|i| invoke(session_id("live", i))).collect();
        for r in futures_util::future::join_all(batch).await {
            r?;
        }
        next += 16;
    }
    let spawn_time = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let state = handle.snapshot();
    let pids: Vec<u64> =
        state["dataPlane"]["sessions"].as_array().unwrap().iter().filter_map(|s| s["pid"].as_u64()).collect();
    let rss: Vec<u64> = pids.iter().filter_map(|&p| microvm_rss_kib(p)).collect();
    let total_kib: u64 = rss.iter().sum();
    let own = vm_rss_kib(std::process::id().into()).unwrap_or(0);
    let counters = &state["dataPlane"]["counters"];
    eprintln!(
        "sessions listed {}, with a readable VmRSS {}; exited by themselves {}, failed to start {}",
        pids.len(),
        rss.len(),
        counters["exitedByThemselves"],
        counters["failedToStart"]
    );
    println!(
        "{} live microVMs (started in {:.1} s): total VmRSS {:.1} MiB, {:.2} MiB per microVM (max {:.2}); emulator+bench process {:.1} MiB",
        rss.len(),
        spawn_time.as_secs_f64(),
        total_kib as f64 / 1024.0,
        total_kib as f64 / 1024.0 / rss.len().max(1) as f64,
        rss.iter().max().copied().unwrap_or(0) as f64 / 1024.0,
        own as f64 / 1024.0
    );
    handle.shutdown().await;
    Ok(())
}
