//! `cargo xtask`: the project's automation, one small module per task.
//!
//! See `cargo xtask --help`. Each task is a plain function that shells out to `cargo` (and later to the
//! tools the tests need); nothing here is needed to *use* the other crates.

mod test;
mod util;

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Test(args) => test::run(&args),
    }
}
