//! The command line: one subcommand per task. `cargo xtask verify|deploy|destroy|iam-policy` forward
//! here; xtask answers their `--help` from the files [`HELP_DIR`] holds (rendered by [`help`], kept
//! current by a test), so that asking for help never compiles the AWS SDK.

use clap::{CommandFactory, Parser, Subcommand};

/// `eni-lab`'s arguments.
#[derive(Parser)]
#[command(name = "eni-lab", about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub task: Task,
}

/// What to run.
#[derive(Subcommand)]
pub enum Task {
    /// Deploy's first step alone: create the execution role and the network of a new run in an AWS
    /// account (or with --plan, print every call that would be made); recorded in a state file for
    /// `destroy`.
    AwsSetup(crate::aws::SetupArgs),
    /// Push an image built by `cargo xtask build --image` to ECR (creating the repository if missing).
    PushImage(crate::aws::PushArgs),
    /// Print the IAM policy this tool needs to deploy, verify and destroy in a real account.
    IamPolicy(crate::aws::permissions::Args),
    /// The report's experiment end to end (deploy, idle, load, sg-split, teardown), each phase judged
    /// against eni-model; offline against an embedded agentcore-local unless --endpoint-url / --aws.
    Verify(crate::verify::Args),
    /// The deploy phase alone (network, runtimes, READY), leaving the resources for `destroy`.
    Deploy(crate::deploy::Args),
    /// Delete what runs left (by state file under target/verify/ and by tag), each resource only
    /// after a fresh check of its run tag, waiting for lingering agentic_ai ENIs up to --wait; exit 3
    /// with `--resume` advice when something is left, 4 when a state file could not be used (skipped).
    Destroy(crate::destroy::DestroyArgs),
    /// Live AgentCore runtime sessions over a window, from CloudWatch's ActiveSessionCount
    /// (AWS/Bedrock-AgentCore, Service=AgentCore.Runtime; AWS has no API that lists runtime sessions),
    /// at an endpoint (--endpoint-url, e.g. agentcore-local) or in an account (--aws).
    Sessions(crate::sessions::Args),
}

/// The tasks `cargo xtask` forwards, whose help it shows from [`HELP_DIR`].
pub const XTASK_TASKS: [&str; 4] = ["verify", "deploy", "destroy", "iam-policy"];

/// Where the rendered help of each of [`XTASK_TASKS`] is kept (`<task>.txt`), relative to the crate.
pub const HELP_DIR: &str = "help";

/// The long help of `task` as `cargo xtask <task> --help` shows it, or `None` for an unknown task.
pub fn help(task: &str) -> Option<String> {
    let mut command = Cli::command().bin_name("cargo xtask");
    command.build();
    let subcommand = command.find_subcommand_mut(task)?.clone();
    // The same text whatever the environment holds: `[env: AWS_ENDPOINT_URL]`, never its value.
    let with_env: Vec<clap::Id> =
        subcommand.get_arguments().filter(|arg| arg.get_env().is_some()).map(|arg| arg.get_id().clone()).collect();
    let mut subcommand =
        with_env.into_iter().fold(subcommand, |command, id| command.mut_arg(id, |arg| arg.hide_env_values(true)));
    Some(subcommand.render_long_help().to_string())
}
