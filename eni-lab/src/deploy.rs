//! `eni-lab deploy` (`cargo xtask deploy`): verify's deploy phase alone — network, runtimes, READY —
//! leaving everything in place for manual experiments; `cargo xtask destroy --run-id ID` removes it.
//!
//! Offline this is only useful against an agentcore-local started separately (`--endpoint-url`):
//! an embedded emulator stops, with everything in it, when the command ends.

use crate::run::{Connection, ConnectionArgs};
use crate::verify::{self, DeployArgs, Lab, Phase, report};

/// `eni-lab deploy`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Exit status: 0 deployed (or --plan printed), 1 failed, 2 bad input.\n\
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

/// Runs, prints, and returns the exit code.
pub fn main(args: Args) -> i32 {
    verify::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(deploy(args)) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(error) => verify::exit_code(&error),
    }
}

async fn deploy(args: Args) -> anyhow::Result<bool> {
    let mut target = verify::connect(&args.connection, &args.deploy).await?;
    if target.connection == Connection::Embedded {
        eprintln!(
            "note: no --endpoint-url: deploying into an embedded agentcore-local that stops, with everything in it, \
             when this command ends. To keep the runtimes, start `cargo run -p agentcore-local -- --time-scale 10` \
             and pass --endpoint-url URL (or use a real account with --aws)."
        );
    }
    let run = crate::run::RunId::new();
    verify::print_settings(&run, &target);
    let aws = match verify::start_aws(&target, &args.deploy, &run).await? {
        verify::AwsStart::Planned => return Ok(true),
        verify::AwsStart::Run(aws) => Some(*aws),
        verify::AwsStart::NotAws => None,
    };
    let mut lab = Lab::new(run.clone(), &target, args.deploy.clone(), 1)?;
    lab.aws = aws;
    let started = lab.now_s();
    let phase = verify::phases::deploy(&mut lab).await.unwrap_or_else(|error| {
        let check = report::Check::new("completed", "no error", format!("{error:#}"), false);
        report::PhaseReport::judged(
            Phase::Deploy,
            vec![check],
            Some(format!("{error:#}")),
            (started, lab.now_s()),
            Default::default(),
        )
    });
    println!("{}", report::terminal_table(&phase));
    lab.stop_watch().await;
    let mut summary = report::Report {
        run_id: run.to_string(),
        connection: format!("{:?}", target.connection),
        region: target.region.clone(),
        started_at: eni_watch::now_rfc3339(),
        duration_s: lab.now_s(),
        settings: lab.settings.lines(),
        settings_json: serde_json::to_value(&lab.settings)?,
        selected: vec![Phase::Deploy],
        phases: vec![phase],
        matched: false,
        first_mismatch: None,
        notes: vec!["eni-lab deploy: the deploy phase alone; resources are left in place".into()],
    };
    summary.update_verdict();
    summary.write(&run.dir())?;
    if let Some(handle) = target.emulator.take() {
        handle.shutdown().await;
        lab.state.finished = true;
        lab.state.set_phase("emulator-stopped")?;
        eprintln!("the embedded emulator stopped: run {run} left nothing behind");
    } else {
        lab.state.set_phase("deployed")?;
        println!("run id: {run}");
        let aws = if matches!(target.connection, Connection::Aws { .. }) { " --aws" } else { "" };
        println!("remove everything with: cargo xtask destroy{aws} --run-id {run}");
    }
    Ok(summary.matched)
}
