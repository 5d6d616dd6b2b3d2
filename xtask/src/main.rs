//! `cargo xtask`: the project's automation, one small module per task.
//!
//! See `cargo xtask --help`. Each task is a plain function that shells out to `cargo` (and later to the
//! tools the tests need); nothing here is needed to *use* the other crates.

mod bench;
mod build;
mod fuzz;
mod lab;
mod test;
#[cfg(test)]
mod tidy;
mod util;
mod venv;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Everything CI runs: `cargo fmt --check`, `cargo clippy -D warnings`, and every test.
    Test(test::Args),
    /// Build the release `dummy-agent` binary (path, stripped size), or with `--image [--push]` its
    /// linux/arm64 container (docker buildx, finch or podman) and push it to ECR; `--image loadgen`
    /// builds loadgen's linux/amd64 + linux/arm64 container.
    Build(build::Args),
    /// The report's experiment end to end against the embedded emulator (or `--endpoint-url`, `--aws`):
    /// deploy, idle, load, sg-split, teardown, each phase checked against eni-model.
    #[command(disable_help_flag = true)]
    Verify(lab::Args),
    /// Create the experiment's resources (network, security group, runtimes) and leave them running.
    #[command(disable_help_flag = true)]
    Deploy(lab::Args),
    /// Delete everything a run created (found by its tags and state file), waiting out lingering ENIs.
    #[command(disable_help_flag = true)]
    Destroy(lab::Args),
    /// Print the IAM policy the deploy, verify and destroy tasks need in a real account.
    #[command(name = "iam-policy", disable_help_flag = true)]
    IamPolicy(lab::Args),
    /// Run every comparison benchmark (or those named: agent, emulator, loadgen, criterion) and print one
    /// summary table of ratios against the peers and targets (`--quick` for a smoke run).
    Bench(bench::Args),
    /// Run every fuzz target (the property tests named `fuzz_*`) with many more cases than CI
    /// (`--cases`, default 10 000), one at a time, and print a table: target, cases, seconds, result.
    Fuzz(fuzz::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Test(args) => test::run(&args),
        Task::Build(args) => build::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Fuzz(args) => fuzz::run(&args),
        Task::Verify(args) => lab::run("verify", &args),
        Task::Deploy(args) => lab::run("deploy", &args),
        Task::Destroy(args) => lab::run("destroy", &args),
        Task::IamPolicy(args) => lab::run("iam-policy", &args),
    }
}
