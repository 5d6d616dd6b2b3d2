//! `eni-watch`: watch AgentCore ENIs over time and hold them against the model.
//!
//! Exit status: 0 done (and every checked sample matched); 1 an expectation did not match, or
//! `--until-gone` ran out of `--duration`; 2 bad flags, no region or credentials, an unreachable
//! endpoint, an unreadable file; 130 `--until-gone` interrupted.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_types::error::display::DisplayErrorContext;
use clap::{Args, Parser, Subcommand, ValueEnum};
use eni_model::{SecurityGroupId, SubnetId, VpcId};
use eni_watch::{
    Expectation, FailureKind, FnSink, Item, JsonLines, PollError, RunOptions, Scope, Sink, StopReason, Summary, Tally,
    Tee, WatchError, Watcher, chart, polling_client, read_jsonl, render, run, table,
};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser, Debug)]
#[command(
    name = "eni-watch",
    version,
    about = "Watch AgentCore Runtime ENIs (DescribeNetworkInterfaces) over time and hold them against the model",
    long_about = "Polls DescribeNetworkInterfaces (filtered by security group, VPC, subnet; `agentic_ai` ENIs only \
                  unless --interface-type says otherwise), records samples, change events (added, removed, IP, \
                  status, security groups) and failed polls (gaps, after which it backs off and goes on), and \
                  checks each sample against --expect-count or --expect-plan.\n\n\
                  Credentials, region and endpoint come from the usual AWS configuration (AWS_PROFILE, \
                  AWS_REGION, AWS_ENDPOINT_URL, ~/.aws/config, …) or the flags below.\n\n\
                  Exit status: 0 done; 1 an expectation did not match, or --until-gone ran out of --duration; \
                  2 bad flags, no region or credentials, unreachable endpoint; 130 --until-gone interrupted.",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  eni-watch --sg sg-0123456789abcdef0 --once --output table\n  \
                  eni-watch --vpc vpc-0123456789abcdef0 --interval 5s --duration 2m --record enis.jsonl --summary\n  \
                  eni-watch --sg sg-0123456789abcdef0 --expect-count 2 --duration 1m\n  \
                  eni-watch --sg sg-0123456789abcdef0 --until-gone --duration 8h\n  \
                  eni-watch report enis.jsonl --svg enis.svg"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    watch: WatchArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Summarise a recorded timeline (--record FILE) and draw its chart.
    Report(ReportArgs),
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// The JSON Lines file written by --record.
    file: PathBuf,
    /// Write an SVG chart of the ENI count over time, per security-group set, gaps marked.
    #[arg(long, value_name = "OUT.svg")]
    svg: Option<PathBuf>,
    /// The chart's title.
    #[arg(long, default_value = "AgentCore ENIs over time")]
    title: String,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = ReportOutput::Text)]
    output: ReportOutput,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportOutput {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Output {
    /// Human-readable; with --once, the AWS CLI table (AZ, Id, InterfaceType, Ip, Status, Subnet).
    Table,
    /// With --once, one object with `count` and `enis`; otherwise the summary as one object at the end.
    Json,
    /// Every timeline item as one JSON object per line, as it happens.
    Jsonl,
}

#[derive(Args, Debug)]
struct WatchArgs {
    /// Use this profile from the AWS config and credentials files.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long)]
    region: Option<String>,
    /// Send requests to this endpoint instead of EC2's (for example agentcore-local's).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Only ENIs with this security group (repeatable: any of them).
    #[arg(long = "sg", value_name = "ID")]
    security_groups: Vec<SecurityGroupId>,
    /// Only ENIs in this VPC.
    #[arg(long, value_name = "ID")]
    vpc: Option<VpcId>,
    /// Only ENIs in this subnet (repeatable: any of them).
    #[arg(long = "subnet", value_name = "ID")]
    subnets: Vec<SubnetId>,
    /// Keep only ENIs of this interface type, checked client-side; `any` keeps every type.
    #[arg(long, default_value = "agentic_ai", value_name = "TYPE")]
    interface_type: String,
    /// Also send the interface type as a server-side `interface-type` filter (AWS does not document
    /// it for agentic_ai).
    #[arg(long)]
    server_side_type_filter: bool,
    /// MaxResults per DescribeNetworkInterfaces page (5-1000; all pages are read).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(5..=1000))]
    page_size: Option<i32>,
    /// Time between polls (`500ms`, `5s`, `1m`, or bare seconds; more than zero).
    #[arg(long, default_value = "5s", value_parser = duration_flag::parse_positive)]
    interval: Duration,
    /// Stop after this long (`2m`, `1h30m`, `1d`); default: until Ctrl-C (or, with --until-gone, until none is left).
    #[arg(long, value_parser = duration_flag::parse_positive)]
    duration: Option<Duration>,
    /// Take one snapshot and exit.
    #[arg(long, conflicts_with_all = ["until_gone", "duration"])]
    once: bool,
    /// Output format on standard output.
    #[arg(long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Write the timeline (JSON Lines, one item per line, flushed as it happens) to this file.
    #[arg(long, value_name = "FILE.jsonl")]
    record: Option<PathBuf>,
    /// Expect exactly N ENIs in every sample (exit 1 with a diff otherwise).
    #[arg(long, value_name = "N", conflicts_with = "expect_plan")]
    expect_count: Option<usize>,
    /// Expect the ENIs of an eni-model plan (EniPlan JSON), an ENI range (EniRange JSON) or a list
    /// of ranges over the watch's time (exit 1 with a diff otherwise).
    #[arg(long, value_name = "plan.json")]
    expect_plan: Option<PathBuf>,
    /// Wait, with progress, until no matching ENI is left (for teardown).
    #[arg(long)]
    until_gone: bool,
    /// Print a summary at the end.
    #[arg(long)]
    summary: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            // The SDK's own warnings (a config file that is not there, …) only with RUST_LOG.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,aws_config=error,aws_runtime=error,aws_smithy_runtime=error".into()),
        )
        .with_writer(io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("eni-watch: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Some(Command::Report(args)) => report(&args),
        None => runtime.block_on(watch(cli.watch)),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("eni-watch: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// The SDK configuration, checked: a region and credentials are there, the endpoint looks like one.
/// Returns it with the endpoint to name in errors.
async fn load_config(args: &WatchArgs) -> anyhow::Result<(SdkConfig, String)> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &args.endpoint_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!(
                "--endpoint-url `{url}` is not a URL: give one like http://127.0.0.1:4566 or https://ec2.us-east-1.amazonaws.com"
            );
        }
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    let from_profile = args.profile.as_deref().map(|p| format!(" (profile `{p}`)")).unwrap_or_default();
    let Some(region) = sdk.region() else {
        bail!("no AWS region{from_profile}: pass --region, set AWS_REGION, or set `region` in the profile");
    };
    let endpoint =
        sdk.endpoint_url().map(str::to_string).unwrap_or_else(|| format!("https://ec2.{region}.amazonaws.com"));
    let provider = sdk.credentials_provider().ok_or_else(|| anyhow!("no AWS credentials provider{from_profile}"))?;
    match provider.provide_credentials().await {
        Ok(_) => {}
        Err(CredentialsError::CredentialsNotLoaded(_)) => bail!(
            "no AWS credentials found{from_profile} (environment, profile, web identity, container, instance \
             metadata): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile with credentials \
             (`aws configure`, `aws sso login`)"
        ),
        Err(error) => {
            let detail = DisplayErrorContext(&error).to_string().replace('\n', " ");
            bail!("cannot load AWS credentials{from_profile}: {detail}")
        }
    }
    Ok((sdk, endpoint))
}

fn scope(args: &WatchArgs) -> Scope {
    Scope {
        security_groups: args.security_groups.clone(),
        vpc: args.vpc.clone(),
        subnets: args.subnets.clone(),
        interface_type: (args.interface_type != "any").then(|| args.interface_type.clone()),
        server_side_type_filter: args.server_side_type_filter,
        page_size: args.page_size,
    }
}

fn expectation(args: &WatchArgs) -> anyhow::Result<Option<Expectation>> {
    if let Some(n) = args.expect_count {
        return Ok(Some(Expectation::Count { min: n, max: n }));
    }
    let Some(path) = &args.expect_plan else { return Ok(None) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(Expectation::from_json(&path.display().to_string(), &text)?))
}

fn poll_failure(error: &PollError, endpoint: &str) -> anyhow::Error {
    match error.kind {
        FailureKind::Connect => anyhow!("cannot reach the EC2 endpoint {endpoint}: {}", error.message),
        FailureKind::Timeout => anyhow!("no answer from the EC2 endpoint {endpoint}: {}", error.message),
        _ => anyhow!("DescribeNetworkInterfaces failed at {endpoint}: {}: {}", error.code, error.message),
    }
}

fn record_sink(path: &Path) -> anyhow::Result<JsonLines<io::BufWriter<std::fs::File>>> {
    JsonLines::create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// Prints `line` on standard output; ignores a closed pipe (`| head`).
fn print_line(line: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    print_line(&serde_json::to_string_pretty(value)?)?;
    Ok(())
}

async fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let expectation = expectation(&args)?;
    let (sdk, endpoint) = load_config(&args).await?;
    let mut watcher = Watcher::new(polling_client(&sdk), scope(&args));
    if let Some(expectation) = expectation {
        watcher = watcher.expect(expectation);
    }
    if args.once { once(watcher, &args, &endpoint).await } else { continuous(watcher, &args, &endpoint).await }
}

/// Polls until one good sample (retrying throttling and server errors a few times).
async fn once(mut watcher: Watcher, args: &WatchArgs, endpoint: &str) -> anyhow::Result<ExitCode> {
    const ATTEMPTS: u32 = 4;
    let mut record = args.record.as_deref().map(record_sink).transpose()?;
    let start = watcher.start_item();
    if let Some(record) = &mut record {
        record.write(&start)?;
    }
    let mut attempt = 0;
    let sample = loop {
        attempt += 1;
        let polled = watcher.poll().await;
        if let Some(record) = &mut record {
            polled.items.iter().try_for_each(|item| record.write(item))?;
        }
        match polled.result {
            Ok(_) => match polled.items.into_iter().next() {
                Some(Item::Sample(sample)) => break sample,
                _ => unreachable!("a good poll starts with its sample"),
            },
            Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                tracing::warn!(%error, "poll failed, retrying");
                tokio::time::sleep(polled.retry_in.unwrap_or(Duration::from_secs(1))).await;
            }
            Err(error) => return Err(poll_failure(&error, endpoint)),
        }
    };
    let summary = watcher.summary(StopReason::Once);
    if let Some(record) = &mut record {
        record.write(&Item::Summary(summary.clone()))?;
    }
    match args.output {
        Output::Table => {
            print_line(table::eni_table(&sample.enis).trim_end())?;
            if args.summary {
                print_line(render::summary_text(&summary).trim_end())?;
            }
        }
        Output::Json => {
            let mut value = serde_json::json!({
                "at": sample.at,
                "count": sample.count,
                "enis": sample.enis,
            });
            if let Some(check) = &sample.check {
                value["check"] = serde_json::to_value(check)?;
            }
            if args.summary {
                value["summary"] = serde_json::to_value(&summary)?;
            }
            print_json(&value)?;
        }
        Output::Jsonl => {
            print_line(&serde_json::to_string(&Item::Sample(sample.clone()))?)?;
            if args.summary {
                print_line(&serde_json::to_string(&Item::Summary(summary.clone()))?)?;
            }
        }
    }
    Ok(verdict_exit(&summary))
}

/// Exit 1 with the first mismatch on standard error when a checked sample did not match.
fn verdict_exit(summary: &Summary) -> ExitCode {
    match &summary.expectation {
        Some(e) if !e.all_matched => {
            eprintln!("eni-watch: {} of {} samples did not match the expectation", e.mismatched, e.checked);
            if let Some(first) = &e.first_mismatch {
                eprintln!("first mismatch (sample #{} at {}):\n{}", first.seq, first.at, first.diff.trim_end());
            }
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn continuous(mut watcher: Watcher, args: &WatchArgs, endpoint: &str) -> anyhow::Result<ExitCode> {
    let mut sinks: Vec<Box<dyn Sink + Send>> = Vec::new();
    if let Some(path) = &args.record {
        sinks.push(Box::new(record_sink(path)?));
    }
    let progress = args.until_gone.then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or(ProgressStyle::default_spinner()),
        );
        bar.set_message("waiting for the first sample");
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    match args.output {
        Output::Table => {
            let bar = progress.clone();
            sinks.push(Box::new(FnSink(move |item: &Item| {
                let Some(line) = render::item_lines(item) else { return Ok(()) };
                match &bar {
                    Some(bar) => bar.suspend(|| print_line(&line)),
                    None => print_line(&line),
                }
            })));
        }
        Output::Jsonl => {
            sinks.push(Box::new(FnSink(|item: &Item| print_line(&serde_json::to_string(item)?))));
        }
        Output::Json => {}
    }
    if let Some(bar) = progress.clone() {
        sinks.push(Box::new(FnSink(move |item: &Item| {
            match item {
                Item::Sample(s) => bar.set_message(format!("{} matching ENIs left", s.count)),
                Item::Gap(g) => bar.set_message(format!("poll failed ({}), retrying in {:.0}s", g.code, g.retry_in_s)),
                _ => {}
            }
            Ok(())
        })));
    }
    let options =
        RunOptions { interval: args.interval, duration: args.duration, until_gone: args.until_gone, fail_fast: true };
    let mut tee = Tee(sinks);
    let result = run(&mut watcher, &options, &mut tee, interrupted()).await;
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let summary = match result {
        Ok(summary) => summary,
        Err(WatchError::FirstPoll(error)) => return Err(poll_failure(&error, endpoint)),
        Err(error) => return Err(error.into()),
    };
    match args.output {
        Output::Json => print_json(&summary)?,
        Output::Table if args.summary => print_line(render::summary_text(&summary).trim_end())?,
        _ => {}
    }
    if args.until_gone {
        match summary.stop {
            StopReason::Gone => eprintln!("eni-watch: no matching ENI left after {:.1}s", summary.duration_s),
            StopReason::Interrupted => {
                eprintln!("eni-watch: interrupted; {} matching ENIs were left", summary.last_count.unwrap_or(0));
                return Ok(ExitCode::from(130));
            }
            _ => {
                eprintln!(
                    "eni-watch: {} matching ENIs still there after {:.1}s",
                    summary.last_count.map_or("unknown".to_string(), |n| n.to_string()),
                    summary.duration_s
                );
                if let Some(enis) = watcher.last_sample() {
                    for eni in enis {
                        eprintln!("  {} {} {}", eni.id, eni.subnet, eni.private_ip.as_deref().unwrap_or("-"));
                    }
                }
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(verdict_exit(&summary))
}

fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let recording =
        read_jsonl(io::BufReader::new(file)).with_context(|| format!("cannot read {}", args.file.display()))?;
    if recording.truncated_last_line {
        eprintln!("eni-watch: {}: the last line was cut short and is skipped", args.file.display());
    }
    let summary = recording
        .items
        .iter()
        .rev()
        .find_map(|item| match item {
            Item::Summary(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| {
            let mut tally = Tally::new();
            recording.items.iter().for_each(|item| tally.add(item));
            tally.summary(StopReason::Truncated, None)
        });
    match args.output {
        ReportOutput::Text => print_line(render::summary_text(&summary).trim_end())?,
        ReportOutput::Json => print_json(&summary)?,
    }
    if let Some(svg_path) = &args.svg {
        let svg = chart::svg(&recording.items, &args.title)?;
        std::fs::write(svg_path, svg).with_context(|| format!("cannot write {}", svg_path.display()))?;
        eprintln!("eni-watch: wrote {}", svg_path.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_issue_writes_them() {
        let interval = |text: &str| {
            Cli::try_parse_from(["eni-watch", &format!("--interval={text}")]).map(|cli| cli.watch.interval)
        };
        assert_eq!(interval("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(interval("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(interval("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(interval("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(interval("2m 30s").unwrap(), Duration::from_secs(150));
        assert_eq!(interval("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(interval("1.5").unwrap(), Duration::from_millis(1500));
        // A zero interval (or duration) would poll in a busy loop (or never).
        for bad in ["", "0", "0s", "5x", "m", "-1s"] {
            let error = interval(bad).unwrap_err().to_string();
            assert!(error.contains("invalid duration") || error.contains("empty duration"), "{bad}: {error}");
        }
        let duration = Cli::try_parse_from(["eni-watch", "--duration", "1d"]).unwrap().watch.duration;
        assert_eq!(duration, Some(Duration::from_secs(86_400)));
        assert!(Cli::try_parse_from(["eni-watch", "--duration", "0s"]).is_err());
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
