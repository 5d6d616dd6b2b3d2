//! `cargo xtask bench emulator`: agentcore-local's data plane with dummy-agent microVMs.
//!
//! Builds the release `dummy-agent`, then runs the `emulator_bench` example of agentcore-local in
//! release mode (it needs the Rust SDK, which xtask does not link): an in-process emulator driven
//! through `aws-sdk-bedrockagentcore` on loopback. It prints warm-session invocations/s (for
//! `--duration` seconds at `--connections` concurrent calls), new-session latency p50/p99 (process
//! start to first answer) and the summed `VmRSS` of 500 live microVMs. The figures go to stdout
//! as measured and to `target/bench-emulator/results.txt`.

use std::fs;
use std::process::Stdio;

use anyhow::Context;

use super::Args;
use crate::build;
use crate::util::{cargo, project_root};

pub fn run(args: &Args) -> anyhow::Result<()> {
    let agent = build::release_dummy_agent(None)?;
    let out_dir = project_root().join("target").join("bench-emulator");
    fs::create_dir_all(&out_dir)?;
    let mut bench = cargo();
    bench
        .args(["run", "--release", "--locked", "-p", "agentcore-local", "--example", "emulator_bench", "--"])
        .arg("--agent")
        .arg(&agent)
        .args(["--duration", &args.duration.to_string(), "--concurrency", &args.connections.to_string()])
        .stdout(Stdio::piped());
    eprintln!("$ cargo run --release -p agentcore-local --example emulator_bench -- --agent {} …", agent.display());
    let mut child = bench.spawn().context("could not start the emulator benchmark")?;
    let mut results = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line?;
        println!("{line}");
        results.push_str(&line);
        results.push('\n');
        fs::write(out_dir.join("results.txt"), &results)?;
    }
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "the emulator benchmark failed ({status})");
    Ok(())
}
