//! `agentcore-local`: run the emulator until Ctrl-C / SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use clap::builder::TypedValueParser as _;

use agentcore_local::data::netns;
use agentcore_local::{AgentCommand, Auth, Clock, Config, EniPolicy, Fault, Isolation};

/// Offline Amazon Bedrock AgentCore control plane + EC2 slice for the AWS SDKs, AWS CLI and boto3.
///
/// Prints exactly one line, `agentcore-local listening on http://ADDR`, on stdout once it accepts
/// requests; logs go to stderr (`RUST_LOG=agentcore_local=debug` for more).
/// Point clients at it with `--endpoint-url` / `AWS_ENDPOINT_URL`.
///
/// Security: keep it on loopback and keep authentication on. Every route, `/_local/*` included,
/// needs a SigV4 signature made with `--credentials`; `--no-auth` or a non-loopback `--listen`
/// lets others create resources, wipe the state and run or end agent processes as this user (a
/// warning is logged at start-up). `--allow-commands` lets signed requests run shell commands.
#[derive(Debug, Parser)]
#[command(name = "agentcore-local", version, about, long_about)]
struct Cli {
    /// Address to listen on; port 0 picks a free port. WARNING: a non-loopback address exposes
    /// the emulator (and the agent processes it starts) to other machines.
    #[arg(long, default_value = "127.0.0.1:9797")]
    listen: SocketAddr,
    /// Credentials requests must be SigV4-signed with, as ACCESS_KEY_ID:SECRET_ACCESS_KEY.
    #[arg(long, default_value = "test:test", value_name = "KEY:SECRET")]
    credentials: String,
    /// Accept unsigned and badly signed requests. WARNING: then any local process or web page
    /// can call every API, including `POST /_local/reset`.
    #[arg(long)]
    no_auth: bool,
    /// Account id used in ARNs and `ownerId`.
    #[arg(long, default_value = agentcore_local::DEFAULT_ACCOUNT_ID)]
    account_id: String,
    /// Run every service clock (status delays, ENI linger) K times faster than real time
    /// (0.001 to 1e9).
    #[arg(long, default_value_t = 1.0, value_name = "K", allow_negative_numbers = true,
          value_parser = agentcore_local::clock::parse_time_scale)]
    time_scale: f64,
    /// Service time for CREATING/UPDATING → READY and DELETING → gone, e.g. `5s`, `30s`, `0s`.
    #[arg(long, default_value = "5s", value_parser = duration_flag::parse)]
    status_delay: Duration,
    /// Service time an unused AgentCore ENI lingers before it is deleted, e.g. `8h`, `90m`.
    #[arg(long, default_value = "8h", value_parser = duration_flag::parse)]
    eni_linger: Duration,
    /// Service time from a runtime needing a new ENI (CreateAgentRuntime, UpdateAgentRuntime) to
    /// the ENI appearing (about 27 s in a real deployment's CloudTrail); an ENI that already exists
    /// for the same subnet and security groups serves at once. E.g. `27s`, `0s`.
    #[arg(long, default_value = "27s", value_parser = duration_flag::parse)]
    eni_create_delay: Duration,
    /// Service time a NAT gateway takes from pending to available and from deleting to deleted,
    /// e.g. `2m`, `0s`.
    #[arg(long, default_value = "2m", value_parser = duration_flag::parse)]
    nat_gateway_delay: Duration,
    /// Service time an interface VPC endpoint takes from pending to available and from deleting
    /// to deleted, e.g. `1m`, `0s` (gateway endpoints are available at once).
    #[arg(long, default_value = "1m", value_parser = duration_flag::parse)]
    vpc_endpoint_delay: Duration,
    /// Show AgentCore's ENIs as managed resources of this principal (`operator.managed`), e.g.
    /// `bedrock-agentcore.amazonaws.com`: ModifyManagedResourceVisibility `hidden` then hides them
    /// from DescribeNetworkInterfaces unless it asks with IncludeManagedResources. Off by default:
    /// AWS does not say they are managed resources.
    #[arg(long, value_name = "PRINCIPAL")]
    agentcore_eni_operator: Option<String>,
    /// `shared`: one ENI per (subnet, security-group set), AWS's documented behaviour.
    /// `per-runtime`: each runtime its own ENIs (a deliberately wrong world for negative controls).
    #[arg(long, value_enum, default_value_t = EniPolicy::Shared)]
    eni_policy: EniPolicy,
    /// Start every region without the default VPC a real account has (172.31.0.0/16 with a
    /// default subnet per zone and an attached internet gateway).
    #[arg(long)]
    no_default_vpc: bool,
    /// Region for requests without a signature scope (only matters with --no-auth).
    #[arg(long, default_value = "us-east-1")]
    default_region: String,
    /// The agent every microVM (session) runs, split with shell quoting rules, e.g.
    /// `--agent-cmd "uvicorn app:app"`. It gets PORT and HOST=127.0.0.1 and must answer
    /// `GET /ping` and `POST /invocations`. Default: a `dummy-agent` binary next to this one or on
    /// PATH, else this binary's built-in copy of it (`agentcore-local agent`).
    #[arg(long, value_name = "COMMAND")]
    agent_cmd: Option<String>,
    /// How microVMs are kept apart. `netns`: each in a user and network namespace of its own,
    /// where its agent listens on the contract's port (8080 HTTP/AG-UI, 8000 MCP, 9000 A2A, or
    /// protocolConfiguration.port) exactly as on AWS, so agents that ignore PORT (the Python SDK's
    /// `app.run()`, `uvicorn --port 8080`) work; no outbound network. `port`: all share this
    /// machine's network and each agent must listen on the free port in PORT. `auto`: netns where
    /// the kernel allows unprivileged namespaces, else port (saying why at start-up).
    #[arg(long, value_enum, default_value_t = IsolationChoice::Auto)]
    isolation: IsolationChoice,
    /// Live sessions (microVMs) allowed per region; more → ServiceQuotaExceededException.
    #[arg(long, default_value_t = agentcore_local::DEFAULT_MAX_VMS)]
    max_vms: u32,
    /// How --max-vms is enforced. `exact` (default) is AWS's documented rule: the live count now.
    /// The others are hypotheses for the seed report's 768 successes under a quota of 500 (see the
    /// README): `lagged:15s` (the check reads the live count 15 s ago), `reclaimed:102s` (sessions
    /// reclaimed after 102 s idle), `per-cell:2` (two cells, each enforcing the quota on its own
    /// sessions, placed by a hash of runtime and session id).
    #[arg(long, default_value = "exact", value_name = "MODEL")]
    quota_model: agentcore_local::QuotaModel,
    /// Data-plane calls allowed per wall-clock second (not scaled by --time-scale), as a burst of up
    /// to N that refills evenly at N per second; more → ThrottlingException (default: unlimited).
    #[arg(long, value_name = "N")]
    invoke_tps: Option<u32>,
    /// New sessions (microVMs) allowed per wall-clock second, account-wide, as a burst of up to N
    /// refilled evenly; more → ThrottlingException. AWS's quota is 25 per second (adjustable); 0
    /// turns the limit off.
    #[arg(long, value_name = "N", default_value_t = agentcore_local::config::DEFAULT_NEW_SESSIONS_TPS)]
    new_sessions_tps: u32,
    /// Service time a new session's microVM takes to boot, counted from the arrival of the call
    /// that starts it: no call on the session is answered sooner. The agent's start and its answer
    /// run within it, and add only when they take longer. AWS publishes none: 3 s is the seed
    /// report's mean time a call took (see the README), e.g. `3s`, `0s`.
    #[arg(long, default_value = "3s", value_parser = duration_flag::parse)]
    cold_start: Duration,
    /// Service time a call refused by the active-session quota (ServiceQuotaExceededException)
    /// takes from its arrival: refusals are not instant on AWS (the seed report's calls took 3 s each, refusals
    /// included), e.g. `3s`, `0s`.
    #[arg(long, default_value = "3s", value_parser = duration_flag::parse)]
    quota_refusal_delay: Duration,
    /// Service time an ended session takes to be torn down (AWS: "up to 15 seconds"): calls with its
    /// id meanwhile get RetryableConflictException ("Session operation in progress, please retry"),
    /// which the SDKs retry. E.g. `15s`, `0s`.
    #[arg(long, default_value = "15s", value_parser = duration_flag::parse)]
    session_teardown: Duration,
    /// Wall-clock time a new microVM gets to answer GET /ping with 200 (then RuntimeClientError).
    #[arg(long, default_value = "60s", value_parser = duration_flag::parse)]
    agent_start_timeout: Duration,
    /// Wall-clock time between SIGTERM and SIGKILL when a microVM ends.
    #[arg(long, default_value = "2s", value_parser = duration_flag::parse)]
    agent_stop_grace: Duration,
    /// Let InvokeAgentRuntimeCommand run the shell commands clients send (`sh -c COMMAND` beside
    /// the session's agent). WARNING: whoever can sign requests (or anyone, with --no-auth or a
    /// non-loopback --listen) then runs commands as this user. Off: the operation answers
    /// AccessDeniedException.
    #[arg(long)]
    allow_commands: bool,
    /// Wall-clock time a WebSocket connection to a runtime's /ws may last; then both sides are
    /// closed (1000). AgentCore's quota: 60 minutes, fixed.
    #[arg(long, default_value = "60m", value_parser = duration_flag::parse)]
    websocket_max_duration: Duration,
    /// Inject errors: SERVICE:OPERATION:ERRORCODE:PROBABILITY, e.g.
    /// `ec2:DescribeNetworkInterfaces:RequestLimitExceeded:0.2` (SERVICE: ec2, control, data;
    /// OPERATION may be `*`). Repeatable.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<Fault>,
    /// Wall-clock time a client gets to send a request's headers; slower connections (and
    /// keep-alive connections idle that long) are closed.
    #[arg(long, default_value = "60s", value_parser = duration_flag::parse)]
    header_read_timeout: Duration,
    /// Wall-clock time a client gets to send a whole request body; slower → 408.
    #[arg(long, default_value = "60s", value_parser = duration_flag::parse)]
    body_read_timeout: Duration,
    /// Requests handled at once; more wait for a slot.
    #[arg(long, value_name = "N", default_value_t = agentcore_local::DEFAULT_MAX_CONCURRENT_REQUESTS,
          value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    max_concurrent_requests: usize,
    /// MiB of request body buffered, all requests together, before their signature can be checked
    /// (clients that do not sign x-amz-content-sha256: botocore, the AWS CLI, the SDKs); a request
    /// that does not fit at once → 503 (EC2 Unavailable, ServiceUnavailableException). Below 96 it
    /// refuses InvokeAgentRuntime's largest (100 MB) payloads.
    #[arg(long, value_name = "MIB", default_value_t = agentcore_local::DEFAULT_UNVERIFIED_BODY_BUDGET >> 20,
          value_parser = clap::value_parser!(u64).range(1..=4_000_000))]
    unverified_body_budget: u64,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum IsolationChoice {
    Auto,
    Netns,
    Port,
}

/// What `--isolation` comes to on this machine: network namespaces need this binary as their shim
/// and a kernel that lets it make them (tried once, `netns-shim --probe`).
fn isolation(choice: IsolationChoice) -> anyhow::Result<Isolation> {
    if choice == IsolationChoice::Port {
        return Ok(Isolation::Port);
    }
    let shim = std::env::current_exe().context("cannot find this executable, the network-namespace shim")?;
    match (netns::probe(&shim), choice) {
        (Ok(()), _) => Ok(Isolation::Netns { shim }),
        (Err(why), IsolationChoice::Netns) => bail!("--isolation netns: {why}"),
        (Err(why), _) => {
            tracing::warn!(
                "microVMs share this machine's network (--isolation port): {why}. Agents must listen on the \
                 PORT they are given."
            );
            Ok(Isolation::Port)
        }
    }
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Serve the built-in dummy agent on HOST:PORT (what microVMs run when no dummy-agent binary
    /// is found); it exits when its parent does.
    #[command(hide = true)]
    Agent,
}

fn config(cli: Cli) -> anyhow::Result<Config> {
    let auth = if cli.no_auth {
        Auth::Disabled
    } else {
        let Some((key, secret)) = cli.credentials.split_once(':') else {
            bail!("--credentials must be KEY:SECRET, got {:?}", cli.credentials);
        };
        if key.is_empty() || secret.is_empty() {
            bail!("--credentials needs a non-empty key and secret");
        }
        Auth::SigV4 { access_key_id: key.into(), secret_access_key: secret.into() }
    };
    Ok(Config {
        listen: cli.listen,
        auth,
        account_id: cli.account_id,
        clock: Clock::scaled(cli.time_scale).context("--time-scale")?,
        status_delay: cli.status_delay,
        eni_linger: cli.eni_linger,
        eni_create_delay: cli.eni_create_delay,
        nat_gateway_delay: cli.nat_gateway_delay,
        vpc_endpoint_delay: cli.vpc_endpoint_delay,
        agentcore_eni_operator: cli.agentcore_eni_operator,
        eni_policy: cli.eni_policy,
        default_vpc: !cli.no_default_vpc,
        default_region: cli.default_region,
        agent_command: Some(match cli.agent_cmd {
            Some(line) => AgentCommand::parse(&line).map_err(anyhow::Error::msg).context("--agent-cmd")?,
            None => AgentCommand::resolve_default().or_else(|_| -> anyhow::Result<AgentCommand> {
                let me = std::env::current_exe().context("cannot find this executable for the built-in agent")?;
                Ok(AgentCommand::new(me, ["agent"]))
            })?,
        }),
        max_vms: cli.max_vms,
        quota_model: cli.quota_model,
        // Decided in `serve` (`isolation`), which may run a probe.
        isolation: Isolation::Port,
        invoke_tps: cli.invoke_tps,
        new_sessions_tps: (cli.new_sessions_tps > 0).then_some(cli.new_sessions_tps),
        agent_start_timeout: cli.agent_start_timeout,
        agent_stop_grace: cli.agent_stop_grace,
        cold_start: cli.cold_start,
        quota_refusal_delay: cli.quota_refusal_delay,
        session_teardown: cli.session_teardown,
        allow_commands: cli.allow_commands,
        websocket_max_duration: cli.websocket_max_duration,
        faults: cli.faults,
        header_read_timeout: cli.header_read_timeout,
        body_read_timeout: cli.body_read_timeout,
        max_concurrent_requests: cli.max_concurrent_requests,
        unverified_body_budget: cli.unverified_body_budget << 20,
    })
}

/// `agentcore-local agent`: dummy-agent's server on HOST (default 127.0.0.1) and PORT (default
/// 8080), until SIGTERM/SIGINT or until the emulator (`AGENTCORE_LOCAL_PARENT_PID`, else the
/// parent process) is gone.
fn run_builtin_agent() -> anyhow::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port: u16 = std::env::var("PORT").ok().map(|p| p.parse()).transpose().context("PORT")?.unwrap_or(8080);
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host.as_str(), port))
            .await
            .with_context(|| format!("agent: cannot listen on {host}:{port}"))?;
        let parent = std::env::var(dummy_agent::PARENT_PID_ENV)
            .ok()
            .and_then(|pid| pid.trim().parse().ok())
            .unwrap_or_else(std::os::unix::process::parent_id);
        let orphaned = dummy_agent::parent_gone(parent, dummy_agent::PARENT_POLL);
        let stop = async move {
            tokio::select! {
                () = shutdown_signal() => {},
                () = orphaned => {},
            }
        };
        dummy_agent::serve(listener, dummy_agent::app(dummy_agent::Config::default()), stop, Duration::from_secs(2))
            .await?;
        Ok(())
    })
}

fn main() -> anyhow::Result<()> {
    // The network-namespace shim runs before anything can start a thread (see `data::netns`).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == netns::SHIM_SUBCOMMAND) {
        match netns::parse_shim_arguments(&args[2..]) {
            Ok(shim) => netns::run_shim(shim),
            Err(why) => anyhow::bail!("{} {}: {why}", args[0].to_string_lossy(), netns::SHIM_SUBCOMMAND),
        }
    }
    let cli = Cli::parse();
    if let Some(Sub::Agent) = cli.command {
        return run_builtin_agent();
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(cli))
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "agentcore_local=info".into()),
        )
        .init();
    let choice = cli.isolation;
    let mut config = config(cli)?;
    // Not in `config`: the probe runs this binary (the unit tests' `config` calls must not).
    config.isolation = isolation(choice)?;
    tracing::info!(isolation = ?config.isolation, "microVM isolation");
    if matches!(config.isolation, Isolation::Netns { .. }) {
        tracing::info!(
            "each microVM has a network of its own with only a loopback: agents that call out (to Bedrock models, \
             say) need --isolation port"
        );
    }
    let handle = agentcore_local::start(config).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "agentcore-local listening on {}", handle.endpoint_url())?;
        stdout.flush()?;
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_flags_take_the_workspace_grammar() {
        let cli = |args: &[&str]| Cli::try_parse_from([&["agentcore-local"], args].concat());
        let c = cli(&["--eni-linger", "1h30m", "--status-delay", "0s", "--agent-start-timeout", "1.5"]).unwrap();
        assert_eq!(c.eni_linger, Duration::from_secs(5400));
        assert_eq!(c.status_delay, Duration::ZERO);
        assert_eq!(c.agent_start_timeout, Duration::from_millis(1500));
        let c = cli(&["--eni-linger", "1d", "--agent-stop-grace", "500ms"]).unwrap();
        assert_eq!(c.eni_linger, Duration::from_secs(86_400));
        assert_eq!(c.agent_stop_grace, Duration::from_millis(500));
        let defaults = cli(&[]).unwrap();
        assert_eq!(defaults.eni_linger, Duration::from_secs(28_800));
        assert_eq!(defaults.status_delay, Duration::from_secs(5));
        assert_eq!(defaults.nat_gateway_delay, agentcore_local::config::DEFAULT_NAT_GATEWAY_DELAY);
        assert_eq!(cli(&["--nat-gateway-delay", "90s"]).unwrap().nat_gateway_delay, Duration::from_secs(90));
        assert_eq!(defaults.vpc_endpoint_delay, agentcore_local::config::DEFAULT_VPC_ENDPOINT_DELAY);
        assert_eq!(cli(&["--vpc-endpoint-delay", "0s"]).unwrap().vpc_endpoint_delay, Duration::ZERO);
        assert_eq!(defaults.agentcore_eni_operator, None);
        assert!(!defaults.no_default_vpc && cli(&["--no-default-vpc"]).unwrap().no_default_vpc);
        assert!(!config(cli(&[]).unwrap()).unwrap().allow_commands, "commands are opt-in");
        assert_eq!(
            config(cli(&[]).unwrap()).unwrap().websocket_max_duration,
            agentcore_local::data::websocket::DEFAULT_MAX_DURATION
        );
        let defaults = config(cli(&[]).unwrap()).unwrap();
        assert_eq!(defaults.cold_start, agentcore_local::config::DEFAULT_NEW_SESSION_DELAY);
        assert_eq!(defaults.quota_refusal_delay, agentcore_local::config::DEFAULT_NEW_SESSION_DELAY);
        assert_eq!(defaults.session_teardown, agentcore_local::config::DEFAULT_SESSION_TEARDOWN);
        assert_eq!(defaults.eni_create_delay, agentcore_local::config::DEFAULT_ENI_CREATE_DELAY);
        let none = config(cli(&["--cold-start", "0s", "--quota-refusal-delay", "0s"]).unwrap()).unwrap();
        assert_eq!((none.cold_start, none.quota_refusal_delay), (Duration::ZERO, Duration::ZERO));
        let short = config(cli(&["--websocket-max-duration", "90s"]).unwrap()).unwrap();
        assert_eq!(short.websocket_max_duration, Duration::from_secs(90));
        assert!(config(cli(&["--allow-commands"]).unwrap()).unwrap().allow_commands);
        for bad in ["", "8 parsecs", "-1s"] {
            let error = cli(&[&format!("--eni-linger={bad}")]).unwrap_err().to_string();
            assert!(error.contains(duration_flag::GRAMMAR), "{bad:?}: {error}");
        }
    }

    #[test]
    fn absurd_time_scales_are_clap_errors() {
        for bad in ["inf", "NaN", "0", "-1", "1e300", "-inf", "1e-320"] {
            let error =
                Cli::try_parse_from(["agentcore-local".to_string(), format!("--time-scale={bad}")]).unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert!(error.to_string().contains("time scale must be"), "{bad}: {error}");
        }
        let cli = Cli::try_parse_from(["agentcore-local", "--time-scale", "1e9"]).unwrap();
        assert_eq!(config(cli).unwrap().clock.scale(), Some(1e9));
    }

    #[test]
    fn limit_flags_and_their_defaults() {
        let defaults = config(Cli::parse_from(["agentcore-local"])).unwrap();
        assert_eq!(defaults.header_read_timeout, agentcore_local::DEFAULT_HEADER_READ_TIMEOUT);
        assert_eq!(defaults.body_read_timeout, agentcore_local::DEFAULT_BODY_READ_TIMEOUT);
        assert_eq!(defaults.max_concurrent_requests, agentcore_local::DEFAULT_MAX_CONCURRENT_REQUESTS);
        assert_eq!(defaults.unverified_body_budget, agentcore_local::DEFAULT_UNVERIFIED_BODY_BUDGET);
        let cli = Cli::parse_from([
            "agentcore-local",
            "--header-read-timeout",
            "5s",
            "--body-read-timeout",
            "2m",
            "--max-concurrent-requests",
            "8",
            "--unverified-body-budget",
            "3",
        ]);
        let c = config(cli).unwrap();
        assert_eq!(c.header_read_timeout, Duration::from_secs(5));
        assert_eq!(c.body_read_timeout, Duration::from_secs(120));
        assert_eq!(c.max_concurrent_requests, 8);
        assert_eq!(c.unverified_body_budget, 3 << 20);
        assert!(Cli::try_parse_from(["agentcore-local", "--unverified-body-budget", "0"]).is_err());
        assert!(Cli::try_parse_from(["agentcore-local", "--max-concurrent-requests", "0"]).is_err());
    }

    #[test]
    fn credentials_flag() {
        let cli = Cli::parse_from(["agentcore-local", "--credentials", "AK:SK"]);
        let c = config(cli).unwrap();
        assert!(matches!(c.auth, Auth::SigV4 { ref access_key_id, .. } if access_key_id == "AK"));
        let bad = Cli::parse_from(["agentcore-local", "--credentials", "nocolon"]);
        assert!(config(bad).is_err());
        let off = Cli::parse_from(["agentcore-local", "--no-auth", "--time-scale", "3600"]);
        let c = config(off).unwrap();
        assert_eq!(c.auth, Auth::Disabled);
        assert_eq!(c.clock.scale(), Some(3600.0));
    }
}
