//! `eni-lab`: deploy, verify and destroy the report's experiment. Usually run as `cargo xtask verify`.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "eni-lab", about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Create the execution role and the network of a new run in an AWS account (or with --plan, print
    /// every call that would be made); recorded in a state file for `destroy`.
    AwsSetup(eni_lab::aws::SetupArgs),
    /// Push an image built by `cargo xtask build --image` to ECR (creating the repository if missing).
    PushImage(eni_lab::aws::PushArgs),
    /// Print the IAM policy this tool needs to deploy, verify and destroy in a real account.
    IamPolicy(eni_lab::aws::permissions::Args),
    /// The report's experiment end to end (deploy, idle, load, sg-split, teardown), each phase judged
    /// against eni-model; offline against an embedded agentcore-local unless --endpoint-url / --aws.
    Verify(eni_lab::verify::Args),
    /// The deploy phase alone (network, runtimes, READY), leaving the resources for `destroy`.
    Deploy(eni_lab::deploy::Args),
    /// Delete what runs left (by state file under target/verify/ and by tag), waiting for lingering
    /// agentic_ai ENIs up to --wait; exit 3 with `--resume` advice when something is left.
    Destroy(eni_lab::destroy::DestroyArgs),
}

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
