//! `eni-lab deploy` (`cargo xtask deploy`): verify's deploy phase alone — network, runtimes, READY —
//! through the same runner ([`crate::verify::run`] with `[Deploy]`), keeping everything in place for
//! manual experiments; `cargo xtask destroy --run-id ID` removes it.
//!
//! Offline this is only useful against an agentcore-local started separately (`--endpoint-url`):
//! an embedded emulator stops, with everything in it, when the command ends.

use crate::run::ConnectionArgs;
use crate::verify::{self, DeployArgs, Phase, Report, RunOptions};

/// `eni-lab deploy`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Exit status: 0 deployed (or --plan printed), 1 failed, 2 bad input, 130 / 143 when \
stopped by Ctrl-C / SIGTERM (what was created so far is in the state file for destroy).\n\
Remove with: cargo xtask destroy --run-id ID (add --aws for a real account).\n\
With --aws: the cost notice is confirmed first (--yes skips it), then the execution role (or --role-arn), the \
network (a new VPC like the report's, or --vpc-id + --subnet-ids), a security group and the runtimes on the \
private subnets with the image --image-uri (push it first with `cargo xtask build --image --push`), all tagged \
and recorded in the state file; --plan prints those calls and makes none.")]
pub struct Args {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

/// `eni-lab deploy`: the deploy phase, resources kept.
pub async fn deploy(args: Args) -> anyhow::Result<Report> {
    let target = verify::connect(&args.connection, &args.deploy, None).await?;
    let options = RunOptions {
        command: "deploy",
        deploy: args.deploy.clone(),
        concurrency: 1,
        keep: true,
        notes: vec!["eni-lab deploy: the deploy phase alone; resources are left in place".into()],
    };
    verify::run(target, &[Phase::Deploy], options).await
}
