//! The one phase runner: [`run`] takes a [`Target`] and the phases to run, and does what every run
//! does around them — the real-account preamble (`--aws`: notice, checks, `--plan`), the state file,
//! one [`Report`], each phase's table and report files as it ends, a phase's error as its failed
//! check, later phases skipped after a mismatch, the ending (teardown, or keep, or the clean-up), the
//! chart. `verify` runs the phases it is asked for; `deploy` runs `[Deploy]` and keeps the resources.

use super::args::{DeployArgs, Phase};
use super::aws::AwsRun;
use super::lab::{Deployment, Lab};
use super::load::LoadRun;
use super::report::{self, PhaseReport, Report};
use super::target::{Target, print_settings};
use super::{chart, phases, teardown_phase};
use crate::aws::Preamble;
use crate::run::{Connection, RunId};

/// How a run goes besides its phases.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `verify` or `deploy`: names the run in the report and the last line.
    pub command: &'static str,
    pub deploy: DeployArgs,
    /// Load workers.
    pub concurrency: u32,
    /// Leave the run's resources when no teardown runs (`--keep`; always for `deploy`).
    pub keep: bool,
    /// Notes for the report from the start.
    pub notes: Vec<String>,
}

/// Runs `phases` (in the order given) against `target`; returns the report, already written.
pub async fn run(mut target: Target, phases: &[Phase], options: RunOptions) -> anyhow::Result<Report> {
    let run = RunId::new();
    print_settings(&run, &target);
    if options.keep && target.connection == Connection::Embedded {
        eprintln!(
            "note: the resources are kept, but no --endpoint-url: the embedded agentcore-local stops, with \
             everything in it, when this command ends. To keep them, start `cargo run -p agentcore-local -- \
             --time-scale 10` and pass --endpoint-url URL (or use a real account with --aws)."
        );
    }
    let aws = match start_aws(&target, &options.deploy, &run).await? {
        AwsStart::Planned => return Ok(Report::planned(&run, &target, options.command)),
        AwsStart::Run(aws) => Some(*aws),
        AwsStart::NotAws => None,
    };
    let mut lab = Lab::new(run, &target, options.deploy.clone(), options.concurrency, aws)?;
    let mut report = Report::new(&lab.run, &target, options.command, phases);
    report.notes.extend(options.notes.iter().cloned());
    let mut deployment: Option<Deployment> = None;
    let mut load: Option<LoadRun> = None;

    let mut failed = false;
    for &phase in phases {
        if failed {
            report.phases.push(PhaseReport::skipped(phase, "skipped: an earlier phase did not match"));
            continue;
        }
        lab.state.set_phase(phase.name())?;
        let started = lab.now_s();
        eprintln!("== {phase}");
        let outcome = run_phase(phase, &mut lab, &mut deployment, &mut load).await;
        let phase_report = outcome.unwrap_or_else(|error| PhaseReport::failed(phase, &error, (started, lab.now_s())));
        println!("{}", report::terminal_table(&phase_report));
        failed = !phase_report.matched();
        report.phases.push(phase_report);
        report.duration_s = lab.now_s();
        report.update_verdict();
        report.write(&lab.run.dir())?;
    }

    if !report.phases.iter().any(|p| p.phase == Phase::Teardown && p.was_run()) {
        finish_without_teardown(&mut lab, &target, options.keep).await?;
    }
    lab.await_next_sample().await;
    let (items, offset_s) = lab.stop_watch().await;
    let title = format!("eni-lab {} {}", options.command, lab.run);
    match chart::svg(&items, offset_s, load.as_ref(), &report.phases, &title) {
        Ok(svg) => report::write_atomic(&lab.run.dir().join("chart.svg"), &svg)?,
        Err(error) => lab.notes.push(format!("no chart: {error}")),
    }
    report.notes.append(&mut lab.notes);
    report.duration_s = lab.now_s();
    report.update_verdict();
    report.write(&lab.run.dir())?;
    if let Some(handle) = target.emulator.take() {
        handle.shutdown().await;
    }
    print_outcome(&report, &lab.run);
    Ok(report)
}

/// What a real-account run does before anything is created.
enum AwsStart {
    /// Not `--aws`.
    NotAws,
    /// `--aws --plan`: the calls were printed; nothing more happens.
    Planned,
    /// `--aws`: the notice was accepted, an existing network checked.
    Run(Box<AwsRun>),
}

/// With `--aws`: the cost notice and prompt, the existing network's check, or the whole `--plan`.
async fn start_aws(target: &Target, deploy: &DeployArgs, run: &RunId) -> anyhow::Result<AwsStart> {
    if !matches!(target.connection, Connection::Aws { .. }) {
        return Ok(AwsStart::NotAws);
    }
    let args = &deploy.aws;
    let Preamble { account, checked } =
        crate::aws::preamble(&target.sdk, &target.region, true, &args.account, deploy.runtimes, true).await?;
    let aws = AwsRun { args: args.clone(), account, checked, creates_role: args.account.role_arn.is_none() };
    if args.account.plan {
        phases::plan_deploy(target, deploy, run, &aws).await?;
        return Ok(AwsStart::Planned);
    }
    Ok(AwsStart::Run(Box::new(aws)))
}

/// What deploy made, for the phases after it.
fn deployed(deployment: &mut Option<Deployment>) -> anyhow::Result<&mut Deployment> {
    deployment.as_mut().ok_or_else(|| anyhow::anyhow!("nothing deployed: the deploy phase did not run"))
}

/// One phase; what it made or measured is handed to the phases after it through `deployment` and
/// `load`.
async fn run_phase(
    phase: Phase,
    lab: &mut Lab,
    deployment: &mut Option<Deployment>,
    load: &mut Option<LoadRun>,
) -> anyhow::Result<PhaseReport> {
    match phase {
        Phase::Deploy => {
            let (report, made) = phases::deploy(lab).await?;
            *deployment = Some(made);
            Ok(report)
        }
        Phase::Idle => phases::idle(lab, deployed(deployment)?).await,
        Phase::Load => {
            let (report, measured) = phases::load(lab, deployed(deployment)?).await?;
            *load = Some(measured);
            Ok(report)
        }
        Phase::SgSplit => phases::sg_split(lab, deployed(deployment)?).await,
        Phase::Teardown => teardown_phase::teardown(lab, deployed(deployment)?).await,
    }
}

/// Without a teardown phase: the embedded emulator takes everything with it; an endpoint's or an
/// account's resources are kept (`keep`, with how to remove them) or removed, unjudged.
async fn finish_without_teardown(lab: &mut Lab, target: &Target, keep: bool) -> anyhow::Result<()> {
    match (&target.connection, keep) {
        (Connection::Embedded, _) => {
            lab.notes
                .push("teardown not run: the run's resources lived in the embedded emulator and went with it".into());
            lab.state.finished = true;
            let _ = lab.state.set_phase("emulator-stopped");
        }
        (_, true) => {
            let aws = if lab.aws.is_some() { " --aws" } else { "" };
            println!("run id: {}", lab.run);
            println!("remove everything with: cargo xtask destroy{aws} --run-id {}", lab.run);
            lab.notes.push(format!("resources left in place; cargo xtask destroy{aws} --run-id {}", lab.run));
            lab.state.set_phase("deployed")?;
        }
        (_, false) => {
            eprintln!("cleaning up the run's resources (not judged: the teardown phase was not selected)");
            match teardown_phase::clean_up(lab).await {
                Ok(note) => lab.notes.push(note),
                Err(error) => {
                    eprintln!("clean-up failed: {error:#}; finish with: cargo xtask destroy --run-id {}", lab.run);
                    lab.notes.push(format!("clean-up failed: {error:#}"));
                }
            }
        }
    }
    Ok(())
}

fn print_outcome(report: &Report, run: &RunId) {
    let dir = run.dir();
    let command = &report.command;
    if report.matched {
        println!(
            "{command} {run}: every phase matched ({:.1} s). Report: {}",
            report.duration_s,
            dir.join("report.md").display()
        );
        return;
    }
    match report.phases.iter().find(|p| p.was_run() && !p.matched()) {
        Some(phase) => {
            println!("{command} {run}: MISMATCH at the {} phase", phase.phase);
            if let Some(diff) = &phase.diff {
                println!("{}", diff.trim_end());
            }
        }
        None => println!("{command} {run}: not every selected phase ran"),
    }
    println!("Report: {}", dir.join("report.md").display());
}
