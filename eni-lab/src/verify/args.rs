//! verify's and deploy's command-line flags, and which phases a verify run asks for.

use std::fmt;
use std::time::Duration;

use agentcore_local::EniPolicy;
use serde::{Deserialize, Serialize};

use super::quota_choice::QuotaChoice;
use crate::aws::AccountArgs;
use crate::error::UsageError;
use crate::run::ConnectionArgs;

/// The phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Deploy,
    Idle,
    Load,
    SgSplit,
    Teardown,
}

impl Phase {
    pub const ALL: [Phase; 5] = [Phase::Deploy, Phase::Idle, Phase::Load, Phase::SgSplit, Phase::Teardown];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Deploy => "deploy",
            Phase::Idle => "idle",
            Phase::Load => "load",
            Phase::SgSplit => "sg-split",
            Phase::Teardown => "teardown",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the deploy phase builds (shared by `verify` and `deploy`).
#[derive(clap::Args, Debug, Clone)]
pub struct DeployArgs {
    /// VPC-mode agent runtimes to deploy (the report: 10).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runtimes: u32,
    /// Private subnets, each in a distinct AgentCore-supported zone (the report: 2).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub subnets: u32,
    /// Speed of the emulator's clock: service seconds per wall second. The report's 120 s load and
    /// 5 s watch interval are divided by it. Default: 10; with `--preset report`, 2 (the machine's
    /// own time per call counts that many times over). With `--endpoint-url`, give the endpoint's
    /// own `--time-scale`.
    #[arg(long, value_name = "K", value_parser = agentcore_local::clock::parse_time_scale)]
    pub time_scale: Option<f64>,
    /// Timings and limits of an offline run. `offline`: a quick run (zero call latency, quota 100).
    /// `report`: the report's load phase as the report measured it: quota 500, every call taking
    /// the report's mean (120 s × 50 / 2,148 = 2.79 s of service time) for a new session and for a
    /// refusal, the quota enforced as `--quota-model` says (default: `lagged` fitted to the
    /// report); the load phase then prints the report's table beside the run's.
    #[arg(long, value_enum, default_value_t = Preset::Offline)]
    pub preset: Preset,
    /// How the quota is enforced, by the embedded emulator and by the admission model: `exact`
    /// (AWS's rule), `lagged:DURATION`, `reclaimed:DURATION`, `per-cell:N`, or a name alone
    /// (`lagged`, `reclaimed`, `per-cell`) for its parameter fitted to the report's totals.
    /// Default: `exact`; with `--preset report`, `lagged`. With `--endpoint-url`, give the
    /// endpoint's `--quota-model`.
    #[arg(long, value_name = "MODEL")]
    pub quota_model: Option<QuotaChoice>,
    /// Active-session quota (maxVms): set on the embedded emulator and used by the admission model.
    /// Every live session is an agent process on this machine, hence a default a 2-core CI runner
    /// handles: 100 (with `--preset report`, the report's 500). With `--endpoint-url`, give the
    /// endpoint's `--max-vms`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub emulator_max_vms: Option<u32>,
    /// How long an unused ENI lingers, in service time (embedded emulator; with `--endpoint-url`,
    /// the endpoint's `--eni-linger`). AWS: up to 8 h.
    #[arg(long, value_parser = duration_flag::parse, default_value = "60s", value_name = "DURATION")]
    pub emulator_eni_linger: Duration,
    /// Embedded emulator's ENI policy. `per-runtime` is a deliberately wrong world (each runtime its
    /// own ENIs): verify must then fail at the idle phase (the negative control).
    #[arg(long, value_enum, default_value_t = EniPolicy::Shared)]
    pub emulator_eni_policy: EniPolicy,
    /// The program each microVM of the embedded emulator runs (default: the workspace's
    /// dummy-agent, built if missing). Split with shell quoting rules.
    #[arg(long, value_name = "CMD")]
    pub agent_cmd: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `--preset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    Offline,
    Report,
}

impl DeployArgs {
    /// `--quota-model`, or the preset's default.
    pub fn quota_choice(&self) -> QuotaChoice {
        self.quota_model.unwrap_or(match self.preset {
            Preset::Offline => QuotaChoice::Given(eni_model::QuotaModel::Exact),
            Preset::Report => QuotaChoice::FittedToReport(eni_model::QuotaModel::Lagged { lag: Duration::ZERO }),
        })
    }
}

/// `eni-lab verify`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Exit status: 0 when every phase matched, 1 on a mismatch or an error, 2 on bad input, \
130 / 143 when stopped by Ctrl-C / SIGTERM (the finished phases' results stay written).\n\
Results: target/verify/<run-id>/ (report.md, report.json, timeline.jsonl, load.json, chart.svg, state.json).\n\
With --aws (a real account; --image-uri required, push it first with `cargo xtask build --image --push`): \
the real-account timings, the load's quota check is advisory (information rows, a warning when outside the \
tolerance, never a mismatch), and teardown leaves \
lingering ENIs as \"pending destroy\" for `cargo xtask destroy --aws --resume`.")]
pub struct Args {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Load workers (closed model; the report: 50).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,
    /// Load duration, wall time (default: the report's 120 s divided by the time scale).
    #[arg(long, value_parser = duration_flag::parse, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Phases to run, comma-separated, always in the order deploy,idle,load,sg-split,teardown.
    /// deploy is required (the others work on what it creates).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PHASE,…")]
    pub phases: Option<Vec<Phase>>,
    /// Skip teardown: leave the run's resources (remove them later with `cargo xtask destroy --run-id ID`).
    #[arg(long)]
    pub keep: bool,
}

impl Args {
    /// The phases to run, in run order: `--phases` (deploy required), without teardown under `--keep`.
    pub fn selected_phases(&self) -> Result<Vec<Phase>, UsageError> {
        let mut selected = self.phases.clone().unwrap_or_else(|| Phase::ALL.to_vec());
        selected.sort();
        selected.dedup();
        let listed = || selected.iter().map(|p| p.name()).collect::<Vec<_>>().join(",");
        if !selected.contains(&Phase::Deploy) {
            return Err(UsageError(format!(
                "--phases {}: deploy is required (every other phase works on what it creates); e.g. --phases deploy,idle",
                listed()
            )));
        }
        if self.keep {
            if self.phases.is_some() && selected.contains(&Phase::Teardown) {
                return Err(UsageError(format!("--keep skips teardown, but --phases {} asks for it", listed())));
            }
            selected.retain(|p| *p != Phase::Teardown);
        }
        if self.duration.is_some_and(|d| d.is_zero()) {
            return Err(UsageError("--duration must be above 0".into()));
        }
        Ok(selected)
    }
}

/// The flags of a real-account run (`--aws`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AwsArgs {
    #[command(flatten)]
    pub account: AccountArgs,
    /// With --aws: the container image the runtimes run (required with --aws). Build and push
    /// dummy-agent's arm64 image first with `cargo xtask build --image --push`, which prints it.
    #[arg(long, value_name = "URI")]
    pub image_uri: Option<String>,
}

impl AwsArgs {
    /// These flags only make sense with `--aws`; `--aws` needs `--image-uri`.
    pub fn check(&self, aws: bool) -> Result<(), UsageError> {
        if !aws {
            let mut named = self.account.given();
            if self.image_uri.is_some() {
                // After --plan and --yes, as the flags are listed.
                named.insert(self.account.plan as usize + self.account.yes as usize, "--image-uri");
            }
            if !named.is_empty() {
                return Err(UsageError(format!("{} go(es) with --aws (a real account)", named.join(", "))));
            }
            return Ok(());
        }
        if self.image_uri.as_deref().is_none_or(str::is_empty) {
            return Err(UsageError(
                "--aws needs --image-uri URI: build and push dummy-agent's arm64 image with \
                 `cargo xtask build --image --push`, which prints the URI"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_flags_need_aws_and_aws_needs_an_image() {
        let plain = AwsArgs::default();
        assert!(plain.check(false).is_ok());
        let err = plain.check(true).unwrap_err().to_string();
        assert!(err.contains("--image-uri"), "{err}");
        let planned =
            AwsArgs { account: AccountArgs { plan: true, yes: true, ..AccountArgs::default() }, ..plain.clone() };
        let err = planned.check(false).unwrap_err().to_string();
        assert!(err.contains("--plan, --yes") && err.contains("--aws"), "{err}");
        let with_image = AwsArgs { image_uri: Some("x.dkr.ecr/y:z".into()), ..plain };
        assert!(with_image.check(true).is_ok());
    }
}
