//! `eni-lab verify` (`cargo xtask verify`): the report's experiment end to end, phase by phase, each
//! judged against what `eni-model` predicts.
//!
//! Without `--endpoint-url` / `--aws` an agentcore-local is started in this process (dummy-agent as
//! the microVM program, a fast clock). The phases talk to it — or to any endpoint — only through the
//! AWS SDK, exactly as they would to a real account:
//!
//! 1. [`phases::deploy`]: VPC, private subnets in distinct supported zones, one security group,
//!    `--runtimes` VPC runtimes, all tagged with the run id; wait for READY.
//! 2. [`phases::idle`]: ENIs predicted by [`eni_model::plan`] vs observed (the report: 2).
//! 3. [`phases::load`]: loadgen's closed model (50 workers, a new session per call, round-robin) while
//!    the watch samples ENIs: ENIs unchanged, quota refusals as [`eni_model::admit`] predicts
//!    (see [`load`] for the tolerance).
//! 4. [`phases::sg_split`]: runtime 0 moved to a second security group (the report: 4 ENIs).
//! 5. [`teardown_phase::teardown`]: [`crate::teardown`] deletes everything; the security group is
//!    refused (`DependencyViolation`) while ENIs linger, the ENIs go within the linger window, nothing
//!    is left with the run's tag.
//!
//! An ENI watch ([`eni_watch::spawn`], scoped to the run's VPC) runs from deploy to the end and writes
//! `timeline.jsonl` as it goes; `report.json`/`report.md` are rewritten after every phase; `load.json`
//! and `chart.svg` complete the run directory `target/verify/<run-id>/`.
//!
//! With `--aws` ([`aws`]) the same phases run in a real account with the real-account preset
//! ([`Settings::real_account`]: real READY waits, the report's 5 s watch interval and 120 s load):
//! the cost notice is confirmed first (`--yes`), deploy creates the execution role, the network (or
//! checks `--vpc-id`/`--subnet-ids`), the security group and the runtimes with `--image-uri`;
//! `--plan` prints those calls and makes none. Two judgements differ there:
//! - the load's quota checks are advisory: the report itself saw 768 successes against a quota of
//!   500 (sessions end on the service side before the client sees it), so a quota mismatch is a
//!   warning in the report's notes and checks, not a failed verdict;
//! - teardown does not wait for the ENIs (AWS keeps them up to 8 h): it deletes the runtimes, tries
//!   the security group (the `DependencyViolation` is recorded), deletes what it can, reports what
//!   is left as "pending destroy" (not a mismatch) and advises `cargo xtask destroy --aws --resume`.
//!
//! The modules: [`args`] the flags, [`target`] where the calls go, [`lab`] what the phases work with
//! and hand on, [`runner`] the loop every run goes through (`deploy` too), [`phases`] and
//! [`teardown_phase`] the phases, [`report`] and [`chart`] what is written.
//!
//! Exit codes (set in `main.rs`): 0 every phase matched, 1 a mismatch (or an error), 2 bad input, 130 / 143 stopped by
//! Ctrl-C / SIGTERM (both the same way: the results of the finished phases stay written).

pub mod args;
pub mod aws;
pub mod chart;
pub mod emulator;
pub mod lab;
pub mod load;
pub mod phases;
pub mod quota_choice;
pub mod quota_study;
pub mod report;
pub mod runner;
pub mod settings;
pub mod target;
pub mod teardown_phase;

pub use args::{Args, DeployArgs, Phase};
pub use lab::{Deployment, Lab, Runtime};
pub use report::Report;
pub use runner::{RunOptions, run};
pub use settings::Settings;
pub use target::{Target, connect, print_settings};

/// `eni-lab verify`: the phases `args` asks for, against the target it names.
pub async fn verify(args: Args) -> anyhow::Result<Report> {
    let phases = args.selected_phases()?;
    let target = connect(&args.connection, &args.deploy, args.duration).await?;
    let options = RunOptions {
        command: "verify",
        deploy: args.deploy.clone(),
        concurrency: args.concurrency,
        keep: args.keep,
        notes: Vec::new(),
    };
    run(target, &phases, options).await
}
