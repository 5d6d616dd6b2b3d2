//! `eni-lab`: deploy, verify and destroy the report's experiment. Usually run as `cargo xtask verify`.

use clap::Parser;
use eni_lab::cli::{Cli, Task};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Destroy(args) => {
            let code = tokio::runtime::Runtime::new()?.block_on(eni_lab::destroy::destroy(&args))?;
            std::process::exit(code)
        }
        Task::AwsSetup(args) => {
            eni_lab::verify::init_tracing();
            let setup = tokio::runtime::Runtime::new()?.block_on(eni_lab::aws::setup(&args))?;
            println!("{}", serde_json::to_string_pretty(&setup)?);
            Ok(())
        }
        Task::PushImage(args) => {
            eni_lab::verify::init_tracing();
            println!("{}", tokio::runtime::Runtime::new()?.block_on(eni_lab::aws::push_image(&args))?);
            Ok(())
        }
        Task::IamPolicy(args) => {
            println!("{}", eni_lab::aws::permissions::print(&args));
            Ok(())
        }
        Task::Verify(args) => std::process::exit(eni_lab::verify::main(args)),
        Task::Deploy(args) => std::process::exit(eni_lab::deploy::main(args)),
    }
}
