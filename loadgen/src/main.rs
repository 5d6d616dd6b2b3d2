//! `loadgen`: invocation load against AgentCore (`agentcore`), an agent URL (`http`) or nothing
//! (`noop`); `merge` joins the results of shards.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand, ValueEnum};
use loadgen::report::{self, Report};
use loadgen::run::{Tagged, print_line};
use loadgen::schedule::{self, Stage};
use loadgen::threshold::{Threshold, Verdict};
use loadgen::{Model, Plan, RunError, Sessions, Shard, Stop, Target};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

/// mimalloc: the AWS SDK allocates on every call, and glibc's malloc took a fifth of the `agentcore`
/// target's CPU in `perf` (allocation and free paths, `malloc_consolidate`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Rate-governed invocation load with corrected latency and every request accounted.
///
/// Load models: closed (`-c N`: N workers in a loop) or open (`-q R/s` or `--stages
/// "10/s:30s,10->200/s:1m,200/s:2m"`: requests sent on schedule whatever the target does, latency
/// measured from the intended send time). SIGINT (Ctrl-C) or SIGTERM (how Kubernetes and AWS Batch
/// stop a job) stops sending and drains in-flight requests for --drain-timeout; a second signal
/// cancels them at once. Either way every result is written (--out, the series, stdout).
///
/// Exit codes: 0 the run completed (interrupted runs too) and no --fail-if condition held; 1 a
/// --fail-if condition held; 2 the run could not be made or its results cannot be trusted (bad flags,
/// unreachable target, an accounting mismatch, a file that could not be written); 3 no request
/// succeeded.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Threads that send and receive (the runtime's workers). Default: 1 for `http` and `noop` (as
    /// `wrk -t1`: the other cores stay with a local target), every core for `agentcore` (SigV4
    /// signing is CPU work).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// InvokeAgentRuntime through the AWS SDK (AWS, or agentcore-local with --endpoint-url).
    #[cfg(feature = "agentcore")]
    Agentcore(AgentCoreArgs),
    /// POST /invocations straight to an agent on the AgentCore HTTP contract (http or https).
    Http(HttpArgs),
    /// No I/O at all: measures the generator itself.
    Noop(NoopArgs),
    /// Merge results of shards (`--out` files) exactly: counts summed, histograms added, per-second
    /// series aligned on absolute time.
    Merge(MergeArgs),
}

#[cfg(feature = "agentcore")]
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
    /// The agent's URL: `http://HOST:PORT` (POST /invocations) or the full invocation URL; https
    /// is verified against the system's root certificates (or --cacert).
    #[arg(long)]
    url: String,
    /// Verify an https server against the PEM certificates in this file only (a private CA, a
    /// self-signed test server), as curl's --cacert.
    #[arg(long, value_name = "PEM_FILE")]
    cacert: Option<PathBuf>,
    /// Open model: at most this many connections, a request waiting for a free one (wrk2's -c with
    /// -R). The wait counts in the corrected latency only, so a stalling target shows what
    /// coordinated omission hides. Default: a connection per request in flight.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    connections: Option<u32>,
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
    /// Results files (`--out` of each shard), or directories: every `*.json` directly inside that is
    /// a shard's results (not `--out` itself, not `*.series.jsonl`).
    #[arg(required = true, value_name = "RESULTS_JSON_OR_DIR")]
    inputs: Vec<PathBuf>,
    /// Merge only when these are exactly shards 0..N-1 of one run (each once, started within 60 s of
    /// each other); otherwise fail, saying which are missing.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    shards: Option<u32>,
    /// With --shards: wait up to this long for the missing shards' files to appear.
    #[arg(long, requires = "shards", value_parser = schedule::parse_duration)]
    wait: Option<Duration>,
    /// Write the merged results here.
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// What goes to stdout: `table` (for people) or `json` (the merged results). Default: json
    /// without --out, table with it.
    #[arg(long, value_enum)]
    output: Option<Output>,
    /// Messages kept per error class.
    #[arg(long, default_value_t = 5)]
    error_samples: usize,
    /// Check the flags, list the results files found now and exit without waiting or writing.
    #[arg(long)]
    dry_run: bool,
}

/// What a run prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// The summary table (the default).
    Table,
    /// The results document, one JSON object, at the end (the table goes to stderr).
    Json,
    /// JSON Lines as the run goes: `{"type":"second",…}` each second, then `{"type":"results",…}`.
    Jsonl,
}

#[derive(Args, Debug)]
struct LoadArgs {
    /// Closed model: this many workers, each sending its next request when the last one is done.
    #[arg(long, short = 'c', conflicts_with_all = ["rate", "stages"], help_heading = "Load")]
    concurrency: Option<u32>,
    /// Open model: requests per second (`200`, `200/s`, `600/m`), sent on schedule (oha's -q).
    #[arg(long, short = 'q', conflicts_with = "stages", help_heading = "Load")]
    rate: Option<String>,
    /// Open model in stages: `RATE:DURATION` plateaus and `FROM->TO/s:DURATION` ramps, comma-separated,
    /// e.g. `10/s:30s,10->200/s:1m,200/s:2m`.
    #[arg(long, help_heading = "Load")]
    stages: Option<String>,
    /// How long to send (`30s`, `2m`, `1h30m`, `1d`, or bare seconds); with --rate or --concurrency.
    #[arg(long, short = 'z', value_parser = schedule::parse_duration, help_heading = "Load")]
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
    #[arg(long, short = 't', default_value = "60s", value_parser = schedule::parse_duration, help_heading = "Load")]
    timeout: Duration,
    /// After the end or a first SIGINT/SIGTERM, how long in-flight requests may finish before they are
    /// cancelled (keep it under the platform's grace period: Kubernetes' terminationGracePeriodSeconds
    /// and ECS/AWS Batch's stop timeout both default to 30 s).
    #[arg(long, default_value = "10s", value_parser = schedule::parse_duration, help_heading = "Load")]
    drain_timeout: Duration,
    /// Start sending at this time, so that shards on several machines start together: RFC 3339
    /// (`2026-12-02T17:00:00Z`) or Unix seconds (`1796230800`). More than a second in the past is an error.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at, help_heading = "Load")]
    start_at: Option<SystemTime>,
    /// Request payload, JSON (repeat for several: request n sends payload n mod count; oha's -d).
    #[arg(long, short = 'd', help_heading = "Payload")]
    payload: Vec<String>,
    /// Read a JSON payload from a file (repeatable, after the --payload ones; oha's -D).
    #[arg(long, short = 'D', help_heading = "Payload")]
    payload_file: Vec<PathBuf>,
    /// This process's shard `I/N` (index from 0): 1/N of the rate, concurrency and requests, disjoint sessions.
    #[arg(long, conflicts_with = "shards", help_heading = "Shards")]
    shard: Option<String>,
    /// Number of shards, the index read from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or
    /// AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job).
    #[arg(long, help_heading = "Shards")]
    shards: Option<u32>,
    /// What goes to stdout: `table` (for people), `json` (the results document at the end) or `jsonl`
    /// (a line per second, then the results); with json and jsonl the table goes to stderr.
    #[arg(long, value_enum, default_value = "table", help_heading = "Output")]
    output: Output,
    /// Also write the results (summary, per-second series, histograms) to this JSON file. In every
    /// file name `{shard}` becomes the shard's index (for AWS Batch, whose arguments cannot carry it).
    #[arg(long, short = 'o', help_heading = "Output")]
    out: Option<PathBuf>,
    /// Append one JSON line per second here while running (default: next to --out, `.series.jsonl`).
    #[arg(long, help_heading = "Output")]
    series: Option<PathBuf>,
    /// Print the corrected latency's percentile spectrum (wrk2's --latency, HdrHistogram's `.hgrm` form).
    #[arg(long, help_heading = "Output")]
    latency: bool,
    /// Write that spectrum to this `.hgrm` file (HdrHistogram's plotter reads it).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    hgrm: Option<PathBuf>,
    /// Write an HdrHistogram interval log (`.hlog`): each second's corrected latency histogram, for
    /// HdrHistogram's HistogramLogProcessor and the other implementations' log readers.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    hlog: Option<PathBuf>,
    /// Fail the run (exit code 1) when this condition holds, as k6's thresholds; repeatable:
    /// `error_rate>0.01`, `errors>0`, `p99>250ms`, `p99.9>1s`, `rps<1000`, `lag_p99>1ms`, `dropped>0`.
    #[arg(long = "fail-if", value_name = "CONDITION", help_heading = "Output")]
    fail_if: Vec<Threshold>,
    /// Messages kept per error class.
    #[arg(long, default_value_t = 5, help_heading = "Output")]
    error_samples: usize,
    /// No progress bar.
    #[arg(long, help_heading = "Output")]
    quiet: bool,
    /// Check every flag, print the plan and exit without sending anything or calling AWS.
    #[arg(long, help_heading = "Output")]
    dry_run: bool,
}

/// The run did not do what it was asked: exit code 1 (thresholds) or 3 (nothing succeeded).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Verdicts {
    code: u8,
    message: String,
}

fn main() -> ExitCode {
    match main_inner() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => match error.downcast_ref::<Verdicts>() {
            Some(verdicts) => {
                eprintln!("{}", verdicts.message);
                ExitCode::from(verdicts.code)
            }
            None => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn main_inner() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    #[cfg(feature = "agentcore")]
    let sdk_target = matches!(cli.command, Command::Agentcore(_));
    #[cfg(not(feature = "agentcore"))]
    let sdk_target = false;
    let threads = cli.threads.map_or_else(
        || if sdk_target { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { 1 },
        usize::from,
    );
    let runtime = match threads {
        1 => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        n => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build(),
    }
    .context("starting tokio")?;
    runtime.block_on(async {
        match cli.command {
            Command::Merge(args) => merge(&args).await,
            Command::Noop(args) => {
                let stop = stop_on_signals()?;
                let plan = plan(&args.load, "noop", None)?;
                execute(loadgen::Noop, plan, &args.load, stop).await
            }
            Command::Http(args) => {
                let stop = stop_on_signals()?;
                let plan = plan(&args.load, "http", None)?;
                let pool = plan_concurrency(&plan);
                let target = match &args.cacert {
                    Some(path) => {
                        let pem =
                            std::fs::read(path).with_context(|| format!("cannot read --cacert {}", path.display()))?;
                        loadgen::Http::with_ca(&args.url, pool, &pem)
                    }
                    None => loadgen::Http::new(&args.url, pool),
                }
                .map_err(anyhow::Error::msg)?;
                let target = match args.connections {
                    Some(limit) => target.with_connection_limit(limit as usize),
                    None => target,
                };
                if !args.load.dry_run {
                    preflight_http(target.address(), target.url()).await?;
                }
                execute(target, plan, &args.load, stop).await
            }
            #[cfg(feature = "agentcore")]
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

#[cfg(feature = "agentcore")]
async fn agentcore(args: AgentCoreArgs, stop: watch::Receiver<Stop>) -> anyhow::Result<()> {
    let mut plan = plan(&args.load, "agentcore", Some(Sessions::Unique))?;
    plan.stop_sessions = args.stop_sessions;
    if args.load.dry_run {
        let runtimes = match &args.runtime_prefix {
            Some(prefix) => format!("every runtime named {prefix}* (listed when run)"),
            None => format!("{} runtime(s)", args.runtime_arns.len()),
        };
        plan.target_name = format!("agentcore ({runtimes})");
        return dry_run(&plan, &args.load);
    }
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
    let out = args.out.as_deref().map(|path| for_shard(path, shard));
    plan.series_path =
        args.series.as_deref().map(|path| for_shard(path, shard)).or_else(|| out.as_deref().map(series_next_to));
    plan.hlog_path = args.hlog.as_deref().map(|path| for_shard(path, shard));
    plan.stream_seconds = args.output == Output::Jsonl;
    plan.progress = !args.quiet && std::io::stderr().is_terminal();
    plan.validate()?;
    if let Some(at) = args.start_at {
        start_delay(at, SystemTime::now())?;
    }
    Ok(plan)
}

/// `path` with every `{shard}` replaced by the shard's index.
fn for_shard(path: &Path, shard: Shard) -> PathBuf {
    PathBuf::from(path.to_string_lossy().replace("{shard}", &shard.index.to_string()))
}

fn series_next_to(out: &Path) -> PathBuf {
    let stem = out.file_stem().map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.series.jsonl"))
}

/// `--start-at`: RFC 3339 or Unix seconds.
fn parse_start_at(text: &str) -> Result<SystemTime, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return Err(format!("invalid time {text:?}"));
        }
        return Ok(UNIX_EPOCH + Duration::from_secs_f64(seconds));
    }
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|e| {
        format!("invalid time {text:?}: {e} (expected RFC 3339 such as 2026-12-02T17:00:00Z, or Unix seconds)")
    })?;
    let nanos = at.unix_timestamp_nanos();
    u64::try_from(nanos)
        .map(|n| UNIX_EPOCH + Duration::from_nanos(n))
        .map_err(|_| format!("invalid time {text:?}: before 1970"))
}

/// How long to wait for `--start-at`; an error when it is more than a second in the past (a shard
/// that late would not start with the others).
fn start_delay(at: SystemTime, now: SystemTime) -> anyhow::Result<Duration> {
    match at.duration_since(now) {
        Ok(wait) => Ok(wait),
        Err(past) if past.duration() <= Duration::from_secs(1) => Ok(Duration::ZERO),
        Err(past) => bail!(
            "--start-at is {:.1} s in the past: give a time far enough ahead for every shard to be ready",
            past.duration().as_secs_f64()
        ),
    }
}

/// Refuses an agent that cannot even be connected to.
async fn preflight_http(address: &str, url: &impl std::fmt::Display) -> anyhow::Result<()> {
    let connect = tokio::net::TcpStream::connect(address);
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => bail!("cannot reach {url} ({address}): {e}"),
        Err(_) => bail!("cannot reach {url} ({address}): no connection within 5 s"),
    }
}

/// `--dry-run`: what would be sent, and where results would go.
fn dry_run(plan: &Plan, args: &LoadArgs) -> anyhow::Result<()> {
    let start_at = args.start_at.map(|at| {
        let seconds = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        format!("{seconds:.3} (Unix seconds)")
    });
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let facts = serde_json::json!({
        "dry_run": true,
        "target": plan.target_name,
        "model": plan.describe(),
        "shard": plan.shard.to_string(),
        "sessions": plan.sessions.map_or_else(|| "none".to_string(), |s| s.to_string()),
        "payloads": plan.payloads.len(),
        "start_at": start_at,
        "out": path(&args.out.as_deref().map(|p| for_shard(p, plan.shard))),
        "series": path(&plan.series_path),
        "hlog": path(&plan.hlog_path),
        "fail_if": args.fail_if.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    match args.output {
        Output::Table => {
            println!("dry run: nothing sent");
            for (key, value) in facts.as_object().into_iter().flatten().filter(|(k, _)| *k != "dry_run") {
                if !value.is_null() {
                    println!("  {key:<9} {}", value.as_str().map_or_else(|| value.to_string(), str::to_owned));
                }
            }
        }
        Output::Json | Output::Jsonl => println!("{facts}"),
    }
    Ok(())
}

/// Waits for `--start-at` (a signal meanwhile ends the run before it starts).
async fn wait_for_start(at: SystemTime, stop: &mut watch::Receiver<Stop>) -> anyhow::Result<()> {
    let wait = start_delay(at, SystemTime::now())?;
    if wait.is_zero() {
        return Ok(());
    }
    eprintln!("waiting {:.1} s for --start-at", wait.as_secs_f64());
    let deadline = tokio::time::Instant::now() + wait;
    tokio::select! {
        () = tokio::time::sleep_until(deadline) => {}
        _ = stop.wait_for(|s| *s != Stop::Run) => bail!("stopped before --start-at: nothing was sent"),
    }
    // The runtime's timer is coarse (1 ms); the last stretch on the system clock.
    while let Ok(left) = at.duration_since(SystemTime::now()) {
        std::thread::sleep(left.min(Duration::from_millis(1)));
    }
    Ok(())
}

/// Runs the load and writes everything it has (`--out`, stdout, `.hgrm`) even when part of it failed;
/// then fails if anything did (exit 2: a file, the accounting check, an unreachable target), if no
/// request succeeded (exit 3) or if a --fail-if condition holds (exit 1).
async fn execute<T: Target>(
    target: T,
    plan: Plan,
    args: &LoadArgs,
    mut stop: watch::Receiver<Stop>,
) -> anyhow::Result<()> {
    if args.dry_run {
        return dry_run(&plan, args);
    }
    if let Some(at) = args.start_at {
        wait_for_start(at, &mut stop).await?;
    }
    let shard = plan.shard;
    let (report, mut problems) = match loadgen::run(target, plan, stop).await {
        Ok(report) => (report, Vec::new()),
        Err(RunError::Unaccounted { message, report }) => (*report, vec![message]),
        Err(error) => return Err(error.into()),
    };
    let out = args.out.as_deref().map(|path| for_shard(path, shard));
    if let Some(out) = &out
        && let Err(error) = write_json(out, &report)
    {
        problems.insert(0, format!("{error:#}"));
    }
    let verdicts: Vec<Verdict> = args.fail_if.iter().map(|threshold| threshold.check(&report)).collect();
    let mut table = report::summary(&report);
    if args.latency || args.hgrm.is_some() {
        let spectrum = report.decode_histograms().map(|h| loadgen::hdr::spectrum(&h.corrected));
        match spectrum {
            Ok(spectrum) => {
                if args.latency {
                    table.push_str("\n  corrected latency, percentile spectrum (ms)\n");
                    table.push_str(&spectrum);
                }
                if let Some(path) = &args.hgrm {
                    let path = for_shard(path, shard);
                    if let Err(e) = std::fs::write(&path, spectrum) {
                        problems.push(format!("cannot write {}: {e}", path.display()));
                    }
                }
            }
            Err(e) => problems.push(e),
        }
    }
    for verdict in &verdicts {
        let state = if verdict.crossed { "FAILED" } else { "passed" };
        table.push_str(&format!("\n  --fail-if {:<24} {state} (actual {:.4})", verdict.condition, verdict.actual));
    }
    if let Some(out) = &out
        && problems.is_empty()
    {
        table.push_str(&format!("\nresults: {}", out.display()));
    }
    match args.output {
        Output::Table => println!("{table}"),
        Output::Json => {
            eprintln!("{table}");
            println!("{}", serde_json::to_string_pretty(&WithVerdicts { report: &report, fail_if: &verdicts })?);
        }
        Output::Jsonl => {
            eprintln!("{table}");
            print_line(&Tagged { kind: "results", value: &WithVerdicts { report: &report, fail_if: &verdicts } });
        }
    }
    if let Some(series) = &report.series_error {
        problems.push(format!("the per-second series could not be written to {}: {}", series.path, series.error));
    }
    let only_connect = report.failed.keys().all(|class| class == loadgen::target::CONNECT);
    if report.total > 0 && report.ok == 0 && report.failed_total > 0 && only_connect {
        problems.push("the target could not be reached: every request failed to connect".into());
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    if report.total > 0 && report.ok == 0 {
        return Err(Verdicts { code: 3, message: format!("no request succeeded ({} sent)", report.total) }.into());
    }
    let crossed: Vec<&str> = verdicts.iter().filter(|v| v.crossed).map(|v| v.condition.as_str()).collect();
    if !crossed.is_empty() {
        return Err(Verdicts { code: 1, message: format!("--fail-if held: {}", crossed.join(", ")) }.into());
    }
    Ok(())
}

/// The results document, with the --fail-if verdicts when there are any.
#[derive(serde::Serialize)]
struct WithVerdicts<'a> {
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "<[Verdict]>::is_empty")]
    fail_if: &'a [Verdict],
}

/// Writes `value` as pretty JSON through a temporary file and a rename (never half a file).
fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The results files among `inputs`: files as given, directories' `*.json` (not `exclude`).
fn results_files(inputs: &[PathBuf], exclude: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            files.push(input.clone());
            continue;
        }
        let entries = std::fs::read_dir(input).with_context(|| format!("cannot read {}", input.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "json"))
            .filter(|path| exclude.is_none_or(|out| !same_file(path, out)))
            .collect();
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn read_reports(files: &[PathBuf]) -> anyhow::Result<Vec<Report>> {
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not a loadgen results file", path.display()))
        })
        .collect()
}

async fn merge(args: &MergeArgs) -> anyhow::Result<()> {
    if args.dry_run {
        let files = results_files(&args.inputs, args.out.as_deref())?;
        println!("dry run: would merge {} results file(s) found now", files.len());
        for file in files {
            println!("  {}", file.display());
        }
        if let Some(count) = args.shards {
            let wait = args.wait.map(schedule::format_duration).unwrap_or_else(|| "0s".into());
            println!("  once shards 0..{count} of one run are all there (waiting up to {wait})");
        }
        return Ok(());
    }
    let waited = Instant::now();
    let reports = loop {
        let files = results_files(&args.inputs, args.out.as_deref())?;
        let reports = read_reports(&files)?;
        let Some(count) = args.shards else { break reports };
        match report::check_shards(&reports, count) {
            Ok(()) => break reports,
            Err(why) if args.wait.is_some_and(|wait| waited.elapsed() < wait) => {
                tracing::info!(%why, "waiting for shards");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(why) => bail!("{why}"),
        }
    };
    if reports.is_empty() {
        bail!(
            "no results files found in {}",
            args.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let merged = report::merge(&reports, args.error_samples).map_err(anyhow::Error::msg)?;
    if let Some(out) = &args.out {
        write_json(out, &merged)?;
    }
    let output = args.output.unwrap_or(if args.out.is_some() { Output::Table } else { Output::Json });
    match output {
        Output::Table => println!("{}", report::summary(&merged)),
        Output::Json | Output::Jsonl => {
            eprintln!("{}", report::summary(&merged));
            println!("{}", serde_json::to_string_pretty(&merged)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_times_are_rfc3339_or_unix_seconds_and_not_long_past() {
        let at = parse_start_at("2026-12-02T17:00:00Z").unwrap();
        assert_eq!(at, parse_start_at("1796230800").unwrap());
        assert_eq!(parse_start_at("2026-12-02T18:00:00.5+01:00").unwrap(), at + Duration::from_millis(500));
        assert!(parse_start_at("tomorrow").unwrap_err().contains("RFC 3339"));
        assert!(parse_start_at("-5").is_err());
        assert_eq!(start_delay(at, at - Duration::from_secs(3)).unwrap(), Duration::from_secs(3));
        assert_eq!(start_delay(at, at + Duration::from_millis(900)).unwrap(), Duration::ZERO);
        assert!(start_delay(at, at + Duration::from_secs(5)).unwrap_err().to_string().contains("5.0 s in the past"));
    }

    #[test]
    fn shard_placeholders_become_the_index() {
        let shard = Shard::new(2, 4).unwrap();
        assert_eq!(for_shard(Path::new("/results/shard-{shard}.json"), shard), Path::new("/results/shard-2.json"));
        assert_eq!(for_shard(Path::new("plain.json"), shard), Path::new("plain.json"));
    }
}
