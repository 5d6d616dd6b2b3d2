//! `cargo xtask bench emulator`: agentcore-local's data plane with dummy-agent microVMs.
//!
//! Builds the release `dummy-agent`, then runs the `emulator_bench` example of agentcore-local in
//! release mode (it needs the Rust SDK, which xtask does not link): an in-process emulator driven
//! through `aws-sdk-bedrockagentcore` on loopback. It prints warm-session invocations/s (for
//! `--duration` seconds at `--connections` concurrent calls), new-session latency p50/p99 (process
//! start to first answer) and the summed `VmRSS` of 500 live microVMs, once with microVMs sharing
//! the machine's network (`--isolation port`) and once each in a network namespace of its own
//! behind the release binary's relay (`--isolation netns`). The figures go to stdout as measured
//! and to `target/bench-emulator/results-<isolation>.txt`, and return as summary rows against the
//! issue's targets (≥ 5,000 warm invocations/s, new-session p50 ≤ 20 ms, ≤ 6 MB per microVM).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;

use super::settings::Settings;
use super::summary::{Better, Reference, Row};
use crate::build;
use crate::util::{self, cargo, project_root};

const BENCH: &str = "emulator";

pub fn run(args: &Settings) -> anyhow::Result<Vec<Row>> {
    let agent = build::release_dummy_agent(None)?;
    let out_dir = project_root().join("target").join("bench-emulator");
    fs::create_dir_all(&out_dir)?;
    // The relay of `--isolation netns` is the release emulator binary's `netns-shim`.
    util::run(cargo().args(["build", "--release", "--locked", "-p", "agentcore-local", "--bin", "agentcore-local"]))?;
    let shim = agent.with_file_name("agentcore-local");
    let mut rows = Vec::new();
    let output = run_once(args, &agent, None, &out_dir.join("results-port.txt"))?;
    rows.extend(rows_of(&output, "port"));
    // Where the kernel refuses unprivileged namespaces the netns rows say so instead of failing.
    let probe = std::process::Command::new(&shim).args(["netns-shim", "--probe"]).output()?;
    if probe.status.success() {
        let output = run_once(args, &agent, Some(&shim), &out_dir.join("results-netns.txt"))?;
        rows.extend(rows_of(&output, "netns"));
    } else {
        let why = String::from_utf8_lossy(&probe.stderr).trim().to_string();
        rows.push(Row::skipped(BENCH, "--isolation netns", format!("no network namespaces here: {why}")));
    }
    Ok(rows)
}

/// One run of the example (microVMs in network namespaces through `shim` when given); its output.
fn run_once(args: &Settings, agent: &Path, shim: Option<&PathBuf>, results_file: &Path) -> anyhow::Result<String> {
    let mut bench = cargo();
    bench
        .args(["run", "--release", "--locked", "-p", "agentcore-local", "--example", "emulator_bench", "--"])
        .arg("--agent")
        .arg(agent)
        .args(["--duration", &args.duration.to_string(), "--concurrency", &args.connections.to_string()])
        .stdout(Stdio::piped());
    if args.quick {
        bench.args(["--new-sessions", "20", "--live-vms", "50"]);
    }
    if let Some(shim) = shim {
        bench.arg("--shim").arg(shim);
    }
    eprintln!("$ cargo run --release -p agentcore-local --example emulator_bench -- --agent {} …", agent.display());
    let mut child = bench.spawn().context("could not start the emulator benchmark")?;
    let mut results = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line?;
        println!("{line}");
        results.push_str(&line);
        results.push('\n');
        fs::write(results_file, &results)?;
    }
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "the emulator benchmark failed ({status})");
    Ok(results)
}

/// The summary rows from the example's three lines, named for `isolation`; a line that is missing
/// becomes a skipped row.
fn rows_of(output: &str, isolation: &str) -> Vec<Row> {
    let line = |prefix: &str| output.lines().find(|l| l.contains(prefix)).unwrap_or_default();
    let number_after = |text: &str, key: &str| -> Option<f64> {
        let rest = &text[text.find(key)? + key.len()..];
        let number: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        number.parse().ok()
    };
    let row = |comparison: &str, unit, better, figure: Option<f64>, target| match figure {
        Some(ours) => Row::measured(BENCH, comparison, unit, better, ours, Reference::target(target)),
        None => Row::skipped(BENCH, comparison, "not in the benchmark's output"),
    };
    let warm = line("warm-session invocations/s:");
    let latency = line("new-session latency");
    let live = line("live microVMs");
    let vms = live.split_whitespace().next().unwrap_or("?");
    vec![
        row(
            &format!("warm-session invocations/s through the Rust SDK (SigV4), --isolation {isolation}"),
            "inv/s",
            Better::Higher,
            number_after(warm, "invocations/s:"),
            5_000.0,
        ),
        row(
            &format!("new-session latency p50 (process start to first answer), --isolation {isolation}"),
            "ms",
            Better::Lower,
            number_after(latency, "p50"),
            20.0,
        ),
        row(
            &format!("VmRSS per live microVM ({vms} dummy-agents), --isolation {isolation}"),
            "MB",
            Better::Lower,
            number_after(live, "MiB,").map(|mib| mib * 1.048_576),
            6.0,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::summary::Verdict;

    #[test]
    fn reads_the_examples_output() {
        let output = "warm-session invocations/s: 4154 (41563 in 10.0 s, 50 concurrent, 4 warm sessions)
new-session latency (start to first answer): p50 4.6 ms, p99 8.3 ms, max 10.6 ms (200 sessions)
500 live microVMs (started in 1.1 s): total VmRSS 2045.7 MiB, 4.09 MiB per microVM (max 4.21); emulator+bench process 40.5 MiB
";
        let rows = rows_of(output, "port");
        let ours: Vec<f64> = rows
            .iter()
            .map(|r| match r.outcome {
                crate::bench::summary::Outcome::Measured { ours, .. } => ours,
                _ => panic!("{r:?}"),
            })
            .collect();
        assert_eq!(ours[..2], [4154.0, 4.6]);
        assert!((ours[2] - 4.289).abs() < 0.001, "MiB to MB: {}", ours[2]);
        assert_eq!(rows.iter().map(Row::verdict).collect::<Vec<_>>(), [Verdict::Missed, Verdict::Met, Verdict::Met]);
        assert!(rows[2].comparison.contains("500 dummy-agents"));
    }

    #[test]
    fn a_missing_line_is_skipped() {
        let rows = rows_of("warm-session invocations/s: 6000 (…)\n", "netns");
        assert_eq!(rows[0].verdict(), Verdict::Met);
        assert_eq!(rows[1].verdict(), Verdict::Skipped);
        assert_eq!(rows[2].verdict(), Verdict::Skipped);
    }
}
