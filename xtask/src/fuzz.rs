//! `cargo xtask fuzz`: the workspace's fuzz targets, deeper than CI runs them.
//!
//! A fuzz target is a property test whose function name starts with `fuzz_`, written with proptest's
//! default config so that `PROPTEST_CASES` sets its depth: `cargo xtask test` runs each with
//! proptest's default (256 cases), this task with `--cases` (default 10 000). Each target runs alone,
//! in its own test process, so the table shows its own time; the first failure is reported with
//! proptest's minimal failing input, and the run goes on with the other targets.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::util::cargo;

#[derive(clap::Args)]
pub struct Args {
    /// Cases per target (proptest's `PROPTEST_CASES`).
    #[arg(long, default_value_t = 10_000)]
    pub cases: u32,
    /// Run only the targets whose name contains this (for example `ec2` or `sigv4`).
    pub filter: Option<String>,
    /// List the targets and stop.
    #[arg(long)]
    pub list: bool,
}

/// One fuzz target: a `fuzz_*` test in one test executable.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    package: String,
    executable: PathBuf,
    /// Where cargo would run it (the package's directory).
    package_dir: PathBuf,
    /// The test's full path inside the executable, e.g. `ec2::fuzz_ec2_query_parser`.
    name: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut targets = Vec::new();
    for (package, executable, package_dir) in test_executables()? {
        let output = Command::new(&executable)
            .args(["--list", "--format", "terse"])
            .current_dir(&package_dir)
            .output()
            .with_context(|| format!("listing the tests of {}", executable.display()))?;
        for name in fuzz_tests(&String::from_utf8_lossy(&output.stdout)) {
            targets.push(Target {
                package: package.clone(),
                executable: executable.clone(),
                package_dir: package_dir.clone(),
                name,
            });
        }
    }
    if let Some(filter) = &args.filter {
        targets.retain(|target| target.name.contains(filter.as_str()));
    }
    if targets.is_empty() {
        bail!("no fuzz target (a test named `fuzz_*`) matches");
    }
    if args.list {
        for target in &targets {
            println!("{:<16} {}", target.package, target.name);
        }
        return Ok(());
    }
    eprintln!("{} fuzz targets, {} cases each", targets.len(), args.cases);
    let mut rows = Vec::new();
    for target in &targets {
        eprintln!("$ PROPTEST_CASES={} {} {} --exact", args.cases, target.executable.display(), target.name);
        let started = Instant::now();
        let status = Command::new(&target.executable)
            .args([target.name.as_str(), "--exact", "--nocapture"])
            .env("PROPTEST_CASES", args.cases.to_string())
            .env("CARGO_MANIFEST_DIR", &target.package_dir)
            .current_dir(&target.package_dir)
            .status()
            .with_context(|| format!("running {}", target.executable.display()))?;
        rows.push((target, started.elapsed(), status.success()));
    }
    println!("\n{:<16} {:<56} {:>8} {:>9}  result", "package", "target", "cases", "seconds");
    for (target, elapsed, passed) in &rows {
        let result = if *passed { "ok" } else { "FAILED" };
        println!(
            "{:<16} {:<56} {:>8} {:>9.1}  {result}",
            target.package,
            target.name,
            args.cases,
            elapsed.as_secs_f64()
        );
    }
    let failed = rows.iter().filter(|(_, _, passed)| !passed).count();
    if failed > 0 {
        bail!("{failed} of {} fuzz targets failed (the minimal failing input is printed above)", rows.len());
    }
    Ok(())
}

/// Builds every test executable of the workspace and returns (package, executable, package directory).
fn test_executables() -> anyhow::Result<Vec<(String, PathBuf, PathBuf)>> {
    let mut command = cargo();
    command.args(["test", "--workspace", "--locked", "--no-run", "--message-format=json"]);
    let shown = format!("{command:?}");
    eprintln!("$ cargo test --workspace --locked --no-run");
    let output = command.stderr(std::process::Stdio::inherit()).output().context("could not start cargo")?;
    if !output.status.success() {
        bail!("{shown} failed ({})", output.status);
    }
    Ok(executables(&String::from_utf8_lossy(&output.stdout)))
}

/// The test executables in cargo's JSON messages.
fn executables(messages: &str) -> Vec<(String, PathBuf, PathBuf)> {
    let mut found = Vec::new();
    for line in messages.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
            continue;
        }
        let (Some(executable), Some(manifest)) = (message["executable"].as_str(), message["manifest_path"].as_str())
        else {
            continue;
        };
        let package = message["target"]["name"].as_str().unwrap_or_default().to_owned();
        let package_dir = PathBuf::from(manifest).parent().map(PathBuf::from).unwrap_or_default();
        found.push((package_of(&package_dir, &package), PathBuf::from(executable), package_dir));
    }
    found
}

/// The package's directory name (the workspace's packages live in directories named after them),
/// or the target's name.
fn package_of(package_dir: &std::path::Path, target: &str) -> String {
    package_dir.file_name().map_or_else(|| target.to_owned(), |name| name.to_string_lossy().into_owned())
}

/// The `fuzz_*` tests in a libtest `--list --format terse` listing (`path::name: test` lines).
fn fuzz_tests(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .filter(|name| name.rsplit("::").next().is_some_and(|last| last.starts_with("fuzz_")))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_targets_are_the_tests_named_fuzz() {
        let listing = "ec2::fuzz_ec2_query_parser: test\nec2::parses_filters: test\n\
                       fuzz::fuzz_timeline_jsonl_reader: test\nfuzz_helpers::not_a_target: test\n\
                       auth::fuzz_sigv4: bench\n";
        assert_eq!(fuzz_tests(listing), ["ec2::fuzz_ec2_query_parser", "fuzz::fuzz_timeline_jsonl_reader"]);
    }

    #[test]
    fn executables_come_from_test_artifacts_only() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","profile":{"test":true},"target":{"name":"it"},"#,
            r#""manifest_path":"/w/agentcore-local/Cargo.toml","executable":"/w/target/debug/deps/it-1"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","profile":{"test":false},"target":{"name":"loadgen"},"#,
            r#""manifest_path":"/w/loadgen/Cargo.toml","executable":"/w/target/debug/loadgen"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","profile":{"test":true},"target":{"name":"serde"},"#,
            r#""manifest_path":"/r/serde/Cargo.toml","executable":null}"#,
            "\nnot json\n",
        );
        assert_eq!(
            executables(messages),
            [(
                "agentcore-local".to_owned(),
                PathBuf::from("/w/target/debug/deps/it-1"),
                PathBuf::from("/w/agentcore-local")
            )]
        );
    }
}
