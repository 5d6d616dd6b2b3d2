//! `dummy-agent`: serves [`dummy_agent::app`] on `0.0.0.0:8080` (the AgentCore contract), or on
//! `--host`/`HOST` and `--port`/`PORT`. Logs are JSON lines on stdout, filtered by `RUST_LOG`.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// An echo agent on the Amazon Bedrock AgentCore Runtime HTTP contract: `GET /ping`,
/// `POST /invocations` (answers `{"echo": <payload>}`; test knobs in `{"_dummy": {"sleep_ms": N,
/// "stream": N, "status": N}}`). SIGTERM or SIGINT drains in-flight requests, then exits 0; so does
/// the end of the process named by `AGENTCORE_LOCAL_PARENT_PID` (set by agentcore-local).
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// Address to listen on (the contract requires 0.0.0.0; agentcore-local uses 127.0.0.1).
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    host: String,
    /// Port to listen on (0 picks a free one; the "listening" log line tells which).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    port: u16,
    /// Largest accepted /invocations body in bytes (default: AgentCore's 100 MB payload limit).
    #[arg(long, env = "DUMMY_AGENT_BODY_LIMIT", default_value_t = dummy_agent::DEFAULT_BODY_LIMIT)]
    body_limit: usize,
    /// How long in-flight requests get to finish after SIGTERM/SIGINT (`500ms`, `10s`, `1m`, or bare
    /// seconds).
    #[arg(
        long,
        alias = "drain-timeout-secs",
        env = "DUMMY_AGENT_DRAIN_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION",
        value_parser = duration_flag::parse
    )]
    drain_timeout: Duration,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    // One thread serves everything: every microVM of agentcore-local runs one of these, so start-up
    // time and memory matter more than parallelism. Large bodies are parsed on the blocking pool.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
        .context("could not start the tokio runtime")?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let drain_timeout = args.drain_timeout;
    // Signal handlers before the socket, so a SIGTERM right after "listening" is a clean shutdown.
    let mut terminate = signal(SignalKind::terminate()).context("could not install SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("could not install SIGINT")?;
    let parent = parent_pid();
    let shutdown = async move {
        let orphaned = async {
            match parent {
                Some(pid) => dummy_agent::parent_gone(pid, dummy_agent::PARENT_POLL).await,
                None => std::future::pending().await,
            }
        };
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
            () = orphaned => "parent process gone",
        };
        tracing::info!(signal = name, drain_timeout_secs = drain_timeout.as_secs_f64(), "draining");
    };
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("could not listen on {}:{}", args.host, args.port))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, body_limit = args.body_limit, "listening");
    let config = dummy_agent::Config { body_limit: args.body_limit, ..Default::default() };
    match dummy_agent::serve(listener, dummy_agent::app(config), shutdown, drain_timeout).await? {
        dummy_agent::Drain::Complete => tracing::info!("drained, exiting"),
        dummy_agent::Drain::DeadlinePassed => {
            tracing::warn!("drain deadline passed with requests in flight; exiting anyway")
        }
    }
    Ok(())
}

/// The pid in `AGENTCORE_LOCAL_PARENT_PID`, if set (a value that is not a pid is ignored, with a warning).
fn parent_pid() -> Option<u32> {
    let text = std::env::var(dummy_agent::PARENT_PID_ENV).ok()?;
    match text.trim().parse() {
        Ok(pid) => Some(pid),
        Err(_) => {
            tracing::warn!(value = %text, "{} is not a pid: ignored", dummy_agent::PARENT_PID_ENV);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_timeout_takes_the_workspace_duration_grammar() {
        let drain = |argv: &[&str]| Args::try_parse_from([&["dummy-agent"], argv].concat()).map(|a| a.drain_timeout);
        assert_eq!(drain(&[]).unwrap(), Duration::from_secs(10));
        assert_eq!(drain(&["--drain-timeout", "1m"]).unwrap(), Duration::from_secs(60));
        assert_eq!(drain(&["--drain-timeout", "1h30m"]).unwrap(), Duration::from_secs(5400));
        assert_eq!(drain(&["--drain-timeout", "0"]).unwrap(), Duration::ZERO);
        // The old flag name still works, with bare seconds as before.
        assert_eq!(drain(&["--drain-timeout-secs", "0.3"]).unwrap(), Duration::from_millis(300));
        let error = drain(&["--drain-timeout=-1"]).unwrap_err().to_string();
        assert!(error.contains(duration_flag::GRAMMAR), "{error}");
    }
}
