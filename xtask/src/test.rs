//! `cargo xtask test`: what CI runs, in the order that fails fastest.

use crate::util::{self, cargo};
use crate::venv;

#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo fmt --check` and clippy; run the tests only.
    #[arg(long)]
    pub no_lint: bool,
    /// Extra arguments passed to `cargo test` after `--` (for example a test name filter).
    #[arg(last = true)]
    pub test_args: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if !args.no_lint {
        util::run(cargo().args(["fmt", "--all", "--check"]))?;
        util::run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    }
    // The Python peers (AWS CLI, boto3, moto) some tests drive; they find it through this variable.
    let venv = venv::ensure_test_venv()?;
    let mut test = cargo();
    test.args(["test", "--workspace"]).env(venv::VENV_ENV, &venv);
    if !args.test_args.is_empty() {
        test.arg("--").args(&args.test_args);
    }
    util::run(&mut test)
}
