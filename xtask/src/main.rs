//! `cargo xtask`: the project's automation, one small module per task.
//!
//! See `cargo xtask --help`. Each task is a plain function that shells out to `cargo` (and later to the
//! tools the tests need); nothing here is needed to *use* the other crates.

mod bench;
mod build;
mod test;
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
    /// Build the release `dummy-agent` binary and print its path and stripped size.
    Build(build::Args),
    /// Run a side-by-side benchmark (`cargo xtask bench agent`: dummy-agent vs the FastAPI original).
    Bench(bench::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Test(args) => test::run(&args),
        Task::Build(args) => build::run(&args),
        Task::Bench(args) => bench::run(&args),
    }
}
