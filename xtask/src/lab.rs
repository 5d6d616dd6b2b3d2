//! `cargo xtask verify|deploy|destroy|iam-policy`: forwarded to the `eni-lab` binary.
//!
//! The experiment needs the AWS SDK; xtask stays free of it (it is built before anything else, alone,
//! and a dependency on the SDK here would compile the SDK a second time with xtask's own feature set).
//! `eni-lab` is built in the dev profile; cargo shows the build (the first one compiles the AWS SDK:
//! minutes), then eni-lab runs.

use crate::util::cargo;

/// Everything after the task name, passed through (`cargo xtask verify --help` shows eni-lab's help).
#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Runs `eni-lab <task> <args…>` through `cargo run`, exiting with its exit code.
pub fn run(task: &str, args: &Args) -> anyhow::Result<()> {
    let mut command = cargo();
    command.args(["run", "--locked", "-p", "eni-lab", "--bin", "eni-lab", "--", task]).args(&args.args);
    let shown = format!("cargo run -p eni-lab -- {task} {}", args.args.join(" "));
    eprintln!("$ {}", shown.trim_end());
    let status = command.status().map_err(|e| anyhow::anyhow!("could not start cargo: {e}"))?;
    if !status.success() {
        // eni-lab printed why; keep its exit code (1: a phase did not match, 2: bad input).
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
