//! `loadgen`: invocation load against AgentCore (`agentcore`), an agent URL (`http`) or nothing
//! (`noop`); `merge` joins the results of shards.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use loadgen::report::{self, Report};
use loadgen::schedule::{self, Stage};
use loadgen::{Model, Plan, RunError, Sessions, Shard, Stop, Target};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

/// Rate-governed invocation load with corrected latency and every request accounted.
///
/// Load models: closed (`--concurrency N`: N workers in a loop) or open (`--rate R/s` or
/// `--stages "10/s:30s,10->200/s:1m,200/s:2m"`: requests sent on schedule whatever the target does,
/// latency measured from the intended send time). SIGINT (Ctrl-C) or SIGTERM (how Kubernetes and AWS
/// Batch stop a job) stops sending and drains in-flight requests for --drain-timeout; a second signal
/// cancels them at once. Either way every result is written (--out, the series, the table).
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// InvokeAgentRuntime through the AWS SDK (AWS, or agentcore-local with --endpoint-url).
    Agentcore(AgentCoreArgs),
    /// POST /invocations straight to an agent on the AgentCore HTTP contract.
    Http(HttpArgs),
    /// No I/O at all: measures the generator itself.
    Noop(NoopArgs),
    /// Merge results of shards (`--out` files) exactly: counts summed, histograms added.
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
struct AgentCoreArgs {
    /// Runtime ARN to invoke (repeat for several: requests go round-robin).
    #[arg(long = "runtime-arn", value_name = "ARN", required_unless_present = "runtime_prefix")]
    runtime_arns: Vec<String>,
    /// Invoke every runtime whose name starts with this (listed with ListAgentRuntimes).
    #[arg(long, value_name = "PREFIX", conflicts_with = "runtime_arns")]
    runtime_prefix: Option<String>,
    /// Endpoint name (`qualifier`); the runtime's default endpoint if not given.
    #[arg(long)]
    qualifier: Option<String>,
    /// Call StopRuntimeSession after each request of a unique session (frees its quota slot).
    #[arg(long)]
    stop_sessions: bool,
    /// SDK retries per request (0: off, the raw picture); retries made are counted.
    #[arg(long, default_value_t = 0)]
    retries: u32,
    /// AWS profile (as the AWS CLI's --profile).
    #[arg(long, env = "AWS_PROFILE")]
    profile: Option<String>,
    /// AWS region (as the AWS CLI's --region).
    #[arg(long)]
    region: Option<String>,
    /// Endpoint URL, e.g. agentcore-local's http://127.0.0.1:PORT (AWS_ENDPOINT_URL works too).
    #[arg(long)]
    endpoint_url: Option<String>,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Args, Debug)]
struct HttpArgs {
    /// The agent's URL: `http://HOST:PORT` (POST /invocations) or the full invocation URL.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Args, Debug)]
struct NoopArgs {
    #[command(flatten)]
    load: LoadArgs,
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// Results files (`--out` of each shard).
    #[arg(required = true, value_name = "RESULTS_JSON")]
    inputs: Vec<PathBuf>,
    /// Where to write the merged results (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Messages kept per error class.
    #[arg(long, default_value_t = 5)]
    error_samples: usize,
}

#[derive(Args, Debug)]
struct LoadArgs {
    /// Closed model: this many workers, each sending its next request when the last one is done.
    #[arg(long, short = 'c', conflicts_with_all = ["rate", "stages"], help_heading = "Load")]
    concurrency: Option<u32>,
    /// Open model: requests per second (`200`, `200/s`, `600/m`), sent on schedule.
    #[arg(long, short = 'r', conflicts_with = "stages", help_heading = "Load")]
    rate: Option<String>,
    /// Open model in stages: `RATE:DURATION` plateaus and `FROM->TO/s:DURATION` ramps, comma-separated,
    /// e.g. `10/s:30s,10->200/s:1m,200/s:2m`.
    #[arg(long, help_heading = "Load")]
    stages: Option<String>,
    /// How long to send (`30s`, `2m`, `1h30m`, `1d`, or bare seconds); with --rate or --concurrency.
    #[arg(long, short = 'd', value_parser = schedule::parse_duration, help_heading = "Load")]
    duration: Option<Duration>,
    /// Stop after this many requests (over all shards).
    #[arg(long, short = 'n', help_heading = "Load")]
    requests: Option<u64>,
    /// Open model: most requests in flight at once; scheduled requests beyond it are dropped (counted).
    #[arg(long, default_value_t = 10_000, help_heading = "Load")]
    max_in_flight: usize,
    /// Session ids: `unique` (a new id per request), `pool:K` (K ids reused), `per-worker` (closed model).
    /// Default: unique for agentcore, none (no session header) for http.
    #[arg(long, help_heading = "Load")]
    sessions: Option<Sessions>,
    /// Per-request timeout.
    #[arg(long, default_value = "60s", value_parser = schedule::parse_duration, help_heading = "Load")]
    timeout: Duration,
    /// After the end or a first SIGINT/SIGTERM, how long in-flight requests may finish before they are
    /// cancelled (keep it under the platform's grace period: Kubernetes' terminationGracePeriodSeconds
    /// and ECS/AWS Batch's stop timeout both default to 30 s).
    #[arg(long, default_value = "10s", value_parser = schedule::parse_duration, help_heading = "Load")]
    drain_timeout: Duration,
    /// Request payload, JSON (repeat for several: request n sends payload n mod count).
    #[arg(long, help_heading = "Payload")]
    payload: Vec<String>,
    /// Read a JSON payload from a file (repeatable, after the --payload ones).
    #[arg(long, help_heading = "Payload")]
    payload_file: Vec<PathBuf>,
    /// This process's shard `I/N` (index from 0): 1/N of the rate, concurrency and requests, disjoint sessions.
    #[arg(long, conflicts_with = "shards", help_heading = "Shards")]
    shard: Option<String>,
    /// Number of shards, the index read from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
    /// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job).
    #[arg(long, help_heading = "Shards")]
    shards: Option<u32>,
    /// Write the results (summary, per-second series, histograms) to this JSON file.
    #[arg(long, short = 'o', help_heading = "Output")]
    out: Option<PathBuf>,
    /// Append one JSON line per second here while running (default: next to --out, `.series.jsonl`).
    #[arg(long, help_heading = "Output")]
    series: Option<PathBuf>,
    /// Messages kept per error class.
    #[arg(long, default_value_t = 5, help_heading = "Output")]
    error_samples: usize,
    /// No progress line.
    #[arg(long, short = 'q', help_heading = "Output")]
    quiet: bool,
}

fn main() -> std::process::ExitCode {
    match main_inner() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn main_inner() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        match cli.command {
            Command::Merge(args) => merge(&args),
            Command::Noop(args) => {
                let stop = stop_on_signals()?;
                let plan = plan(&args.load, "noop", None)?;
                execute(loadgen::Noop, plan, &args.load, stop).await
            }
            Command::Http(args) => {
                let stop = stop_on_signals()?;
                let plan = plan(&args.load, "http", None)?;
                let target = loadgen::Http::new(&args.url, plan_concurrency(&plan)).map_err(anyhow::Error::msg)?;
                preflight_http(target.url()).await?;
                execute(target, plan, &args.load, stop).await
            }
            Command::Agentcore(args) => {
                let stop = stop_on_signals()?;
                agentcore(args, stop).await
            }
        }
    })
}

/// The first SIGINT or SIGTERM drains the run, the second aborts it (installed before any setup, so a
/// signal during setup still ends in a written, empty report rather than a killed process).
fn stop_on_signals() -> anyhow::Result<watch::Receiver<Stop>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let (stop_tx, stop_rx) = watch::channel(Stop::Run);
    tokio::spawn(async move {
        for stop in [Stop::Drain, Stop::Abort] {
            let name = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            };
            match stop {
                Stop::Drain => eprintln!(
                    "\n{name}: no new requests; draining in-flight ones (a second SIGINT/SIGTERM cancels them)"
                ),
                _ => eprintln!("{name}: cancelling in-flight requests; writing the results"),
            }
            let _ = stop_tx.send(stop);
        }
        // Keep the sender alive so the run never mistakes a dropped sender for a signal.
        std::future::pending::<()>().await;
    });
    Ok(stop_rx)
}

async fn agentcore(args: AgentCoreArgs, stop: watch::Receiver<Stop>) -> anyhow::Result<()> {
    let mut plan = plan(&args.load, "agentcore", Some(Sessions::Unique))?;
    plan.stop_sessions = args.stop_sessions;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &args.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(url) = &args.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        bail!("no AWS region: give --region, set AWS_REGION, or set one in the profile");
    }
    let runtimes = match &args.runtime_prefix {
        Some(prefix) => {
            let found = loadgen::agentcore::runtimes_with_prefix(&sdk, prefix).await.map_err(anyhow::Error::msg)?;
            if found.is_empty() {
                bail!("no runtime name starts with {prefix:?} (ListAgentRuntimes)");
            }
            eprintln!("{} runtimes start with {prefix:?}", found.len());
            found
        }
        None => args.runtime_arns.clone(),
    };
    plan.target_name = format!("agentcore ({} runtimes)", runtimes.len());
    let target = loadgen::agentcore::AgentCore::new(&sdk, runtimes, args.qualifier.clone(), args.retries);
    execute(target, plan, &args.load, stop).await
}

fn plan_concurrency(plan: &Plan) -> usize {
    match &plan.model {
        Model::Closed { concurrency, .. } => *concurrency as usize,
        Model::Open { max_in_flight, .. } => (*max_in_flight).min(1024),
    }
}

/// Builds the plan from the flags, with the errors users need.
fn plan(args: &LoadArgs, target: &str, default_sessions: Option<Sessions>) -> anyhow::Result<Plan> {
    let duration = args.duration;
    if duration.is_some_and(|d| d.is_zero()) {
        bail!("--duration must be more than zero");
    }
    let model = match (args.concurrency, &args.rate, &args.stages) {
        (Some(concurrency), _, _) => Model::Closed { concurrency, duration },
        (None, Some(rate), _) => {
            let rate = schedule::parse_rate(rate)?;
            // Without --duration the run is bounded by --requests: a plateau long enough to send them.
            let length = match (duration, args.requests) {
                (Some(d), _) => d,
                (None, Some(_)) => Duration::from_secs(100 * 365 * 24 * 3600),
                (None, None) => bail!("give --duration or --requests (or both) to bound the run"),
            };
            Model::Open { stages: vec![Stage::plateau(rate, length)], max_in_flight: args.max_in_flight }
        }
        (None, None, Some(stages)) => {
            if duration.is_some() {
                bail!("--stages sets the duration itself; drop --duration");
            }
            Model::Open { stages: schedule::parse_stages(stages)?, max_in_flight: args.max_in_flight }
        }
        (None, None, None) => bail!("choose a load model: --concurrency N (closed), --rate R/s or --stages (open)"),
    };
    let shard = Shard::resolve(args.shard.as_deref(), args.shards, |name| std::env::var(name).ok())
        .map_err(anyhow::Error::msg)?;
    let mut payloads = Vec::new();
    for (n, text) in args.payload.iter().enumerate() {
        serde_json::from_str::<serde_json::Value>(text)
            .with_context(|| format!("--payload #{} is not valid JSON: {text:?}", n + 1))?;
        payloads.push(Bytes::from(text.clone()));
    }
    for path in &args.payload_file {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read --payload-file {}", path.display()))?;
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .with_context(|| format!("--payload-file {} is not valid JSON", path.display()))?;
        payloads.push(Bytes::from(bytes));
    }
    let mut plan = Plan::new(model, target);
    if !payloads.is_empty() {
        plan.payloads = payloads;
    }
    plan.requests = args.requests;
    if args.requests == Some(0) {
        bail!("--requests must be at least 1");
    }
    plan.sessions = args.sessions.or(default_sessions);
    plan.shard = shard;
    plan.timeout = Some(args.timeout);
    plan.drain_timeout = args.drain_timeout;
    plan.max_samples = args.error_samples;
    plan.series_path = args.series.clone().or_else(|| args.out.as_deref().map(series_next_to));
    plan.progress = !args.quiet && std::io::stderr().is_terminal();
    plan.validate()?;
    Ok(plan)
}

fn series_next_to(out: &Path) -> PathBuf {
    let stem = out.file_stem().map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.series.jsonl"))
}

/// Refuses an agent that cannot even be connected to.
async fn preflight_http(url: &reqwest::Url) -> anyhow::Result<()> {
    let host = url.host_str().context("--url has no host")?;
    let port = url.port_or_known_default().context("--url has no port")?;
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => bail!("cannot reach {url}: {e}"),
        Err(_) => bail!("cannot reach {url}: no connection within 5 s"),
    }
}

/// Runs the load and writes everything it has (`--out`, the table) even when part of it failed; then
/// fails if anything did (the series file, the `--out` file, the accounting check, an unreachable target).
async fn execute<T: Target>(target: T, plan: Plan, args: &LoadArgs, stop: watch::Receiver<Stop>) -> anyhow::Result<()> {
    let (report, mut problems) = match loadgen::run(target, plan, stop).await {
        Ok(report) => (report, Vec::new()),
        Err(RunError::Unaccounted { message, report }) => (*report, vec![message]),
        Err(error) => return Err(error.into()),
    };
    let written = args.out.as_deref().map(|out| write_json(out, &report));
    println!("{}", report::summary(&report));
    match (&args.out, written) {
        (Some(out), Some(Ok(()))) => println!("results: {}", out.display()),
        (_, Some(Err(error))) => problems.insert(0, format!("{error:#}")),
        _ => {}
    }
    if let Some(series) = &report.series_error {
        problems.push(format!("the per-second series could not be written to {}: {}", series.path, series.error));
    }
    let only_connect = report.failed.keys().all(|class| class == loadgen::target::CONNECT);
    if report.total > 0 && report.ok == 0 && report.failed_total > 0 && only_connect {
        problems.push("the target could not be reached: every request failed to connect".into());
    }
    if problems.is_empty() { Ok(()) } else { bail!("{}", problems.join("; ")) }
}

/// Writes `value` as pretty JSON through a temporary file and a rename (never half a file).
fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn merge(args: &MergeArgs) -> anyhow::Result<()> {
    let mut reports: Vec<Report> = Vec::new();
    for path in &args.inputs {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let report =
            serde_json::from_str(&text).with_context(|| format!("{} is not a loadgen results file", path.display()))?;
        reports.push(report);
    }
    let merged = report::merge(&reports, args.error_samples).map_err(anyhow::Error::msg)?;
    eprintln!("{}", report::summary(&merged));
    match &args.out {
        Some(out) => write_json(out, &merged)?,
        None => println!("{}", serde_json::to_string_pretty(&merged)?),
    }
    Ok(())
}
