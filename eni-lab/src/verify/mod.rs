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
//! Exit codes: 0 every phase matched, 1 a mismatch (or an error), 2 bad input, 130 / 143 stopped by
//! Ctrl-C / SIGTERM (both the same way: the results of the finished phases stay written).

pub mod aws;
pub mod chart;
pub mod emulator;
pub mod load;
pub mod network;
pub mod phases;
pub mod report;
pub mod settings;
pub mod teardown_phase;

use std::fmt;
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentcore_local::EniPolicy;
use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;
use eni_model::{Lifecycle, LifecycleEvent};
use eni_watch::{Eni, Item, JsonLines, Tee, WatchTask};
use serde::{Deserialize, Serialize};

use crate::run::{Connection, ConnectionArgs, EMULATOR_REGION, RunId};
use crate::state::RunState;
use network::Network;
use report::{PhaseReport, Report};
use settings::Settings;

/// Bad input (flags, region): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

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
    /// 5 s watch interval are divided by it. With `--endpoint-url`, give the endpoint's own
    /// `--time-scale`.
    #[arg(long, default_value_t = settings::OFFLINE_TIME_SCALE, value_parser = agentcore_local::clock::parse_time_scale)]
    pub time_scale: f64,
    /// Active-session quota (maxVms): set on the embedded emulator and used by the admission model.
    /// Every live session is an agent process on this machine, hence a default a 2-core CI runner
    /// handles. With `--endpoint-url`, give the endpoint's `--max-vms`.
    #[arg(long, default_value_t = settings::OFFLINE_MAX_VMS, value_parser = clap::value_parser!(u32).range(1..))]
    pub emulator_max_vms: u32,
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
    pub aws: aws::AwsArgs,
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

/// Where the run's calls go and what was started for it.
pub struct Target {
    pub connection: Connection,
    pub sdk: SdkConfig,
    pub region: String,
    pub endpoint: String,
    pub settings: Settings,
    /// The embedded emulator, when there is one.
    pub emulator: Option<agentcore_local::Handle>,
}

/// Checks the flags and starts what the run needs: the embedded emulator, or the endpoint's SDK config.
pub async fn connect(connection: &ConnectionArgs, args: &DeployArgs) -> anyhow::Result<Target> {
    let chosen = connection.connection().map_err(|e| UsageError(e.to_string()))?;
    args.aws.check(matches!(chosen, Some(Connection::Aws { .. })))?;
    let mut settings = Settings::offline(args.time_scale);
    settings.max_vms = args.emulator_max_vms;
    settings.eni_linger = args.emulator_eni_linger;
    settings.teardown_wait = settings.linger_window() * 2 + Duration::from_secs(30);
    match chosen {
        None => {
            let options = emulator::EmulatorOptions {
                eni_policy: args.emulator_eni_policy,
                agent_command: args.agent_cmd.clone(),
            };
            let handle = emulator::start(&settings, &options).await?;
            let endpoint = handle.endpoint_url();
            let region = connection.region.clone().unwrap_or_else(|| EMULATOR_REGION.to_owned());
            let sdk = Connection::Endpoint { url: endpoint.clone(), region: region.clone() }.sdk_config().await;
            preflight(&sdk, &region, args).await?;
            Ok(Target { connection: Connection::Embedded, sdk, region, endpoint, settings, emulator: Some(handle) })
        }
        Some(Connection::Endpoint { url, region }) => {
            if args.emulator_eni_policy != EniPolicy::Shared || args.agent_cmd.is_some() {
                return Err(UsageError(
                    "--emulator-eni-policy and --agent-cmd configure the embedded emulator; with --endpoint-url, \
                     start agentcore-local with --eni-policy / --agent-cmd instead"
                        .into(),
                )
                .into());
            }
            let connection = Connection::Endpoint { url: url.clone(), region: region.clone() };
            let sdk = connection.sdk_config().await;
            preflight(&sdk, &region, args).await?;
            Ok(Target { connection, sdk, region, endpoint: url, settings, emulator: None })
        }
        Some(connection @ Connection::Aws { .. }) => {
            // No call yet: the credentials are resolved lazily, on the first call (after the notice).
            let sdk = connection.sdk_config().await;
            let region = crate::aws::region(&sdk).map_err(|e| UsageError(e.to_string()))?;
            let settings = Settings::real_account();
            Ok(Target { connection, sdk, region, endpoint: "AWS".into(), settings, emulator: None })
        }
        Some(Connection::Embedded) => unreachable!("ConnectionArgs never names the embedded emulator"),
    }
}

/// What can be checked before anything is created: the region has `--subnets` supported zones.
async fn preflight(sdk: &SdkConfig, region: &str, args: &DeployArgs) -> anyhow::Result<()> {
    network::supported_zones(&ec2::Client::new(sdk), region, args.subnets as usize).await.map(drop)
}

/// The runtime artifacts CreateAgentRuntime needs. Offline the emulator runs `--agent-cmd` whatever
/// the image; a real account (issue 9) pushes dummy-agent's image and creates the execution role.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifacts {
    pub container_uri: String,
    pub role_arn: String,
}

impl Artifacts {
    pub fn offline(region: &str) -> Self {
        Self {
            container_uri: format!("123456789012.dkr.ecr.{region}.amazonaws.com/agentcore-eni-lab/dummy-agent:latest"),
            role_arn: "arn:aws:iam::123456789012:role/agentcore-eni-lab-runtime".into(),
        }
    }
}

/// One deployed runtime.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    pub name: String,
    pub id: String,
    pub arn: String,
    /// Index into `network.security_groups` of its group.
    pub security_group: usize,
}

/// The ENI watch running through the whole run.
pub struct Timeline {
    task: WatchTask,
    /// Every item, as written to `timeline.jsonl`.
    pub items: Arc<Mutex<Vec<Item>>>,
    /// Run seconds at the watch's `t = 0`.
    pub offset_s: f64,
}

/// Everything the phases share.
pub struct Lab {
    pub run: RunId,
    pub sdk: SdkConfig,
    pub ec2: ec2::Client,
    /// For DescribeNetworkInterfaces: SDK retries off, so throttling shows (as eni-watch does).
    pub ec2_polling: ec2::Client,
    pub control: control::Client,
    pub region: String,
    pub settings: Settings,
    pub deploy_args: DeployArgs,
    pub concurrency: u32,
    pub artifacts: Artifacts,
    pub state: RunState,
    /// The start of the run: `t = 0` of the report and the chart.
    pub origin: Instant,
    pub network: Option<Network>,
    pub runtimes: Vec<Runtime>,
    /// What happened to the runtimes, for the model: `(service time since origin, event)`.
    pub events: Vec<(Duration, LifecycleEvent)>,
    pub timeline: Option<Timeline>,
    /// The ENIs the idle phase saw.
    pub idle_enis: Vec<Eni>,
    /// The load's results and when it ran (run seconds).
    pub load: Option<(loadgen::Report, f64)>,
    /// Whether the progress bars draw (stderr is a terminal).
    pub progress: bool,
    /// Notes for the report.
    pub notes: Vec<String>,
    /// A real account (`--aws`): what the deploy phase creates there besides the emulator's network.
    pub aws: Option<aws::AwsRun>,
}

impl Lab {
    pub fn new(run: RunId, target: &Target, deploy_args: DeployArgs, concurrency: u32) -> anyhow::Result<Self> {
        let state = RunState::new(run.clone(), target.connection.clone());
        state.save()?;
        Ok(Self {
            run,
            ec2: ec2::Client::new(&target.sdk),
            ec2_polling: eni_watch::polling_client(&target.sdk),
            control: control::Client::new(&target.sdk),
            sdk: target.sdk.clone(),
            region: target.region.clone(),
            settings: target.settings.clone(),
            deploy_args,
            concurrency,
            artifacts: Artifacts::offline(&target.region),
            state,
            origin: Instant::now(),
            network: None,
            runtimes: Vec::new(),
            events: Vec::new(),
            timeline: None,
            idle_enis: Vec::new(),
            load: None,
            progress: std::io::stderr().is_terminal(),
            notes: Vec::new(),
            aws: None,
        })
    }

    /// Wall seconds since the start of the run.
    pub fn now_s(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    /// Service time since the start of the run (the model's clock).
    pub fn service_now(&self) -> Duration {
        self.settings.service(self.origin.elapsed())
    }

    pub fn network(&self) -> anyhow::Result<&Network> {
        self.network.as_ref().context("no network: the deploy phase did not run")
    }

    /// Records `event` (now) for the model.
    pub fn record(&mut self, event: LifecycleEvent) {
        let at = self.service_now();
        self.events.push((at, event));
    }

    /// The model of the runtimes so far, over the network as it is now (sg-split adds a group).
    pub fn lifecycle(&self) -> anyhow::Result<Lifecycle> {
        let mut lifecycle = Lifecycle::new(self.network()?.inventory(), self.settings.eni_linger)?;
        for (at, event) in &self.events {
            lifecycle.apply(*at, event)?;
        }
        Ok(lifecycle)
    }

    /// Starts the ENI watch over the run's VPC, writing `timeline.jsonl` as it goes.
    pub fn start_watch(&mut self) -> anyhow::Result<()> {
        let vpc = self.network()?.vpc.parse()?;
        let scope = eni_watch::Scope { vpc: Some(vpc), ..eni_watch::Scope::default() };
        let path = self.run.dir().join("timeline.jsonl");
        let file = JsonLines::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let items: Arc<Mutex<Vec<Item>>> = Arc::default();
        let kept = Arc::clone(&items);
        let keep = eni_watch::FnSink(move |item: &Item| {
            kept.lock().expect("timeline lock").push(item.clone());
            Ok(())
        });
        let offset_s = self.now_s();
        let watcher = eni_watch::Watcher::new(self.ec2_polling.clone(), scope);
        let options = eni_watch::RunOptions { interval: self.settings.watch_interval, ..Default::default() };
        let task = eni_watch::spawn(watcher, options, Box::new(Tee(vec![Box::new(file), Box::new(keep)])));
        self.timeline = Some(Timeline { task, items, offset_s });
        Ok(())
    }

    /// `(run seconds, ENIs)` of every good sample the watch took between `from_s` and `to_s`.
    pub fn samples_between(&self, from_s: f64, to_s: f64) -> Vec<(f64, Vec<Eni>)> {
        let Some(timeline) = &self.timeline else { return Vec::new() };
        let items = timeline.items.lock().expect("timeline lock");
        items
            .iter()
            .filter_map(|item| match item {
                Item::Sample(s) => Some((s.t + timeline.offset_s, s.enis.clone())),
                _ => None,
            })
            .filter(|(t, _)| (from_s..=to_s).contains(t))
            .collect()
    }

    /// The failed polls (gaps) of the watch between `from_s` and `to_s` (run seconds).
    pub fn gaps_between(&self, from_s: f64, to_s: f64) -> usize {
        let Some(timeline) = &self.timeline else { return 0 };
        let items = timeline.items.lock().expect("timeline lock");
        items
            .iter()
            .filter(|item| match item {
                Item::Gap(g) => (from_s..=to_s).contains(&(g.t + timeline.offset_s)),
                _ => false,
            })
            .count()
    }

    /// Waits (at most two watch intervals and a second) for the watch to take a sample that starts
    /// after now, so that the timeline ends with what the run left (the chart shows the ENIs gone).
    pub async fn await_next_sample(&self) {
        let Some(timeline) = &self.timeline else { return };
        let after = self.now_s() - timeline.offset_s;
        let deadline = Instant::now() + self.settings.watch_interval * 2 + Duration::from_secs(1);
        while Instant::now() < deadline {
            let seen = timeline.items.lock().expect("timeline lock").iter().rev().any(|item| match item {
                Item::Sample(s) => s.t > after,
                _ => false,
            });
            if seen {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the watch (its summary closes `timeline.jsonl`); returns every item.
    pub async fn stop_watch(&mut self) -> (Vec<Item>, f64) {
        let Some(timeline) = self.timeline.take() else { return (Vec::new(), 0.0) };
        if let Err(error) = timeline.task.stop().await {
            tracing::warn!(%error, "the ENI watch failed");
            self.notes.push(format!("the ENI watch stopped with an error: {error}"));
        }
        let items = std::mem::take(&mut *timeline.items.lock().expect("timeline lock"));
        (items, timeline.offset_s)
    }
}

impl Drop for Lab {
    /// An embedded emulator goes with this process, and everything the run created with it: the
    /// state file says so (also when the run is interrupted).
    fn drop(&mut self) {
        if self.state.connection == Connection::Embedded && !self.state.finished {
            self.state.finished = true;
            let _ = self.state.set_phase("emulator-stopped");
        }
    }
}

/// Prints the settings block.
pub fn print_settings(run: &RunId, target: &Target) {
    eprintln!("run {run}: {}", run.dir().display());
    let what = match &target.connection {
        Connection::Embedded => format!("embedded agentcore-local at {}", target.endpoint),
        Connection::Endpoint { url, .. } => format!("endpoint {url}"),
        Connection::Aws { .. } => "AWS account".into(),
    };
    eprintln!("target: {what} ({})", target.region);
    let lines = target.settings.lines();
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (name, value) in lines {
        eprintln!("  {name:width$}  {value}");
    }
}

/// `eni-lab verify`: runs, prints, and returns the exit code.
pub fn main(args: Args) -> i32 {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = verify(args) => Ok(outcome),
            signal = stop_signal() => Err(signal),
        }
    });
    match outcome {
        Ok(Ok(report)) if report.matched => 0,
        Ok(Ok(_)) => 1,
        Ok(Err(error)) => exit_code(&error),
        Err(signal) => {
            // The run's future is dropped: an embedded emulator stops and its microVMs are killed;
            // report.json/.md were written after every finished phase and stay.
            eprintln!(
                "verify interrupted ({}): its state file and results are under {}; what an --endpoint-url run \
                 created is removed by `cargo xtask destroy` (it finds unfinished runs)",
                signal.name(),
                crate::run::runs_dir().display()
            );
            signal.exit_code()
        }
    }
}

/// The signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`, a CI job's cancellation, `docker stop`.
    Terminate,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }

    /// 128 + the signal number, as a shell reports a process the signal ended.
    pub fn exit_code(self) -> i32 {
        match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
        }
    }
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM: both stop verify the same way.
pub async fn stop_signal() -> StopSignal {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops verify cleanly");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => StopSignal::Interrupt,
        () = terminate => StopSignal::Terminate,
    }
}

/// Prints `error` and picks the exit code (2 for bad input).
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.downcast_ref::<UsageError>().is_some() {
        eprintln!("error: {error}");
        2
    } else {
        eprintln!("error: {error:#}");
        1
    }
}

/// Logs to stderr (`RUST_LOG`, default warnings only).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// The whole verify run.
pub async fn verify(args: Args) -> anyhow::Result<Report> {
    let mut selected = args.phases.clone().unwrap_or_else(|| Phase::ALL.to_vec());
    selected.sort();
    selected.dedup();
    let listed = || selected.iter().map(|p| p.name()).collect::<Vec<_>>().join(",");
    if !selected.contains(&Phase::Deploy) {
        return Err(UsageError(format!(
            "--phases {}: deploy is required (every other phase works on what it creates); e.g. --phases deploy,idle",
            listed()
        ))
        .into());
    }
    if args.keep {
        if args.phases.is_some() && selected.contains(&Phase::Teardown) {
            return Err(UsageError(format!("--keep skips teardown, but --phases {} asks for it", listed())).into());
        }
        selected.retain(|p| *p != Phase::Teardown);
    }
    let mut target = connect(&args.connection, &args.deploy).await?;
    if let Some(duration) = args.duration {
        anyhow::ensure!(!duration.is_zero(), UsageError("--duration must be above 0".into()));
        target.settings.load_duration = duration;
    }
    let run = RunId::new();
    print_settings(&run, &target);
    let aws = match start_aws(&target, &args.deploy, &run).await? {
        AwsStart::Planned => return Ok(planned_report(&run, &target)),
        AwsStart::Run(aws) => Some(*aws),
        AwsStart::NotAws => None,
    };
    let mut lab = Lab::new(run, &target, args.deploy.clone(), args.concurrency)?;
    lab.aws = aws;
    let started_at = eni_watch::now_rfc3339();
    let mut report = Report {
        run_id: lab.run.to_string(),
        connection: match &target.connection {
            Connection::Embedded => "embedded".into(),
            Connection::Endpoint { url, .. } => format!("endpoint {url}"),
            Connection::Aws { .. } => "aws".into(),
        },
        region: target.region.clone(),
        started_at,
        duration_s: 0.0,
        settings: lab.settings.lines(),
        settings_json: serde_json::to_value(&lab.settings)?,
        selected: selected.clone(),
        phases: Vec::new(),
        matched: false,
        first_mismatch: None,
        notes: Vec::new(),
    };

    let mut failed = false;
    for phase in Phase::ALL {
        if !selected.contains(&phase) {
            continue;
        }
        if failed {
            report.phases.push(PhaseReport::skipped(phase, "skipped: an earlier phase did not match"));
            continue;
        }
        lab.state.set_phase(phase.name())?;
        let started = lab.now_s();
        eprintln!("== {phase}");
        let result = match phase {
            Phase::Deploy => phases::deploy(&mut lab).await,
            Phase::Idle => phases::idle(&mut lab).await,
            Phase::Load => phases::load(&mut lab).await,
            Phase::SgSplit => phases::sg_split(&mut lab).await,
            Phase::Teardown => teardown_phase::teardown(&mut lab).await,
        };
        let phase_report = result.unwrap_or_else(|error| {
            let check = report::Check::new("completed", "no error", format!("{error:#}"), false);
            PhaseReport::judged(
                phase,
                vec![check],
                Some(format!("{error:#}")),
                (started, lab.now_s()),
                Default::default(),
            )
        });
        println!("{}", report::terminal_table(&phase_report));
        failed = !phase_report.matched;
        report.phases.push(phase_report);
        report.duration_s = lab.now_s();
        report.update_verdict();
        report.write(&lab.run.dir())?;
    }

    if !report.phases.iter().any(|p| p.phase == Phase::Teardown && p.was_run()) {
        finish_without_teardown(&mut lab, &target, args.keep).await;
    }
    lab.await_next_sample().await;
    let (items, offset_s) = lab.stop_watch().await;
    let chart_path = lab.run.dir().join("chart.svg");
    match chart::svg(&items, offset_s, lab.load.as_ref(), &report.phases, &format!("eni-lab verify {}", lab.run)) {
        Ok(svg) => report::write_atomic(&chart_path, &svg)?,
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
pub enum AwsStart {
    /// Not `--aws`.
    NotAws,
    /// `--aws --plan`: the calls were printed; nothing more happens.
    Planned,
    /// `--aws`: the notice was accepted, an existing network checked.
    Run(Box<aws::AwsRun>),
}

/// With `--aws`: the cost notice and prompt, the existing network's check, or the whole `--plan`.
pub async fn start_aws(target: &Target, deploy: &DeployArgs, run: &RunId) -> anyhow::Result<AwsStart> {
    if !matches!(target.connection, Connection::Aws { .. }) {
        return Ok(AwsStart::NotAws);
    }
    Ok(match aws::prepare(target, deploy, run).await? {
        Some(aws) => AwsStart::Run(Box::new(aws)),
        None => AwsStart::Planned,
    })
}

/// The (unwritten) report of `--plan`: nothing ran, nothing failed.
pub fn planned_report(run: &RunId, target: &Target) -> Report {
    Report {
        run_id: run.to_string(),
        connection: "aws".into(),
        region: target.region.clone(),
        started_at: eni_watch::now_rfc3339(),
        duration_s: 0.0,
        settings: target.settings.lines(),
        settings_json: serde_json::to_value(&target.settings).unwrap_or_default(),
        selected: Vec::new(),
        phases: Vec::new(),
        matched: true,
        first_mismatch: None,
        notes: vec!["--plan: every call printed, none made".into()],
    }
}

/// Without a teardown phase: the embedded emulator takes everything with it; an endpoint's
/// resources are removed (unjudged) unless `--keep`.
async fn finish_without_teardown(lab: &mut Lab, target: &Target, keep: bool) {
    match (&target.connection, keep) {
        (Connection::Embedded, keep) => {
            if keep {
                eprintln!(
                    "--keep: the embedded emulator stops with this command and keeps nothing; to keep a run's \
                     resources, start agentcore-local yourself and pass --endpoint-url"
                );
            }
            lab.notes
                .push("teardown not run: the run's resources lived in the embedded emulator and went with it".into());
            lab.state.finished = true;
            let _ = lab.state.set_phase("emulator-stopped");
        }
        (_, true) => {
            let aws = if lab.aws.is_some() { " --aws" } else { "" };
            eprintln!(
                "--keep: the run's resources are left; remove them with: cargo xtask destroy{aws} --run-id {}",
                lab.run
            );
            lab.notes.push(format!("--keep: resources left; cargo xtask destroy --run-id {}", lab.run));
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
}

fn print_outcome(report: &Report, run: &RunId) {
    let dir = run.dir();
    if report.matched {
        println!(
            "verify {run}: every phase matched ({:.1} s). Report: {}",
            report.duration_s,
            dir.join("report.md").display()
        );
        return;
    }
    match report.phases.iter().find(|p| p.was_run() && !p.matched) {
        Some(phase) => {
            println!("verify {run}: MISMATCH at the {} phase", phase.phase);
            if let Some(diff) = &phase.diff {
                println!("{}", diff.trim_end());
            }
        }
        None => println!("verify {run}: not every selected phase ran"),
    }
    println!("Report: {}", dir.join("report.md").display());
}
