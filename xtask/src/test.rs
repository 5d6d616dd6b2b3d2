//! `cargo xtask test`: what CI runs, in the order that fails fastest.

use crate::util::{self, cargo};

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
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    if !args.test_args.is_empty() {
        test.arg("--").args(&args.test_args);
    }
    util::run(&mut test)
}
