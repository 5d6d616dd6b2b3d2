//! Agent processes ("microVMs"): the command, starting one, its health check, terminating it.
//!
//! Each microVM is one OS process of the agent command with `PORT` (a free loopback port),
//! `HOST=127.0.0.1` and `AGENTCORE_LOCAL_PARENT_PID` (this process's pid,
//! [`dummy_agent::PARENT_PID_ENV`]) in its environment, in a process group of its own so that
//! terminating it also reaches whatever it started (`sh -c …`, uvicorn workers). `kill_on_drop`
//! and [`crate::Handle`]'s drop end microVMs when the emulator stops, but nothing runs when its
//! process is SIGKILLed: then dummy-agent notices that the pid in `AGENTCORE_LOCAL_PARENT_PID` is
//! gone (it looks every second) and exits by itself. Its stderr goes to the
//! emulator's log (target `agentcore_local::agent`, level info); its stdout too at debug level
//! when that is enabled, else it is discarded. Pipes are always drained, so a chatty agent never
//! blocks.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

/// The name of the default agent binary.
pub const DEFAULT_AGENT_BINARY: &str = "dummy-agent";

/// What every microVM runs: a program and its arguments (no shell; write `sh -c '…'` for one).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AgentCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl AgentCommand {
    pub fn new(program: impl Into<PathBuf>, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { program: program.into(), args: args.into_iter().map(Into::into).collect() }
    }

    /// Splits a command line with POSIX shell quoting rules (`--agent-cmd "uvicorn app:app"`).
    pub fn parse(line: &str) -> Result<Self, String> {
        let words = shell_words::split(line).map_err(|e| format!("cannot split agent command {line:?}: {e}"))?;
        let mut words = words.into_iter();
        let program = words.next().ok_or_else(|| "the agent command is empty".to_string())?;
        Ok(Self { program: program.into(), args: words.collect() })
    }

    /// The workspace's `dummy-agent`: next to the current executable, one directory up (test
    /// binaries live in `target/<profile>/deps`), or on `PATH`.
    pub fn resolve_default() -> Result<Self, String> {
        let exe = std::env::current_exe().ok();
        let near =
            exe.as_deref().and_then(Path::parent).into_iter().flat_map(|dir| [Some(dir), dir.parent()]).flatten();
        let on_path =
            std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
        near.map(Path::to_path_buf)
            .chain(on_path)
            .map(|dir| dir.join(DEFAULT_AGENT_BINARY))
            .find(|candidate| candidate.is_file())
            .map(|program| Self::new(program, Vec::<String>::new()))
            .ok_or_else(|| {
                format!(
                    "no `{DEFAULT_AGENT_BINARY}` binary next to {} or on PATH: build it with \
                     `cargo build -p dummy-agent` or pass --agent-cmd",
                    exe.as_deref().and_then(Path::parent).map_or("the executable".into(), |d| d.display().to_string())
                )
            })
    }
}

impl std::fmt::Display for AgentCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let words = std::iter::once(self.program.to_string_lossy().into_owned()).chain(self.args.iter().cloned());
        f.write_str(&shell_words::join(words))
    }
}

/// A started agent process.
#[derive(Clone, Debug)]
pub struct Process {
    pub pid: u32,
    pub port: u16,
    /// `Some(description)` once the process has exited (and been reaped).
    pub exit: watch::Receiver<Option<String>>,
}

impl Process {
    pub fn has_exited(&self) -> bool {
        self.exit.borrow().is_some()
    }
}

/// Starts `command` on a free loopback port. `label` names it in the logs.
pub fn spawn(command: &AgentCommand, label: &str) -> std::io::Result<Process> {
    let port = free_port()?;
    let stdout = if tracing::enabled!(target: "agentcore_local::agent", tracing::Level::DEBUG) {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut child = Command::new(&command.program)
        .args(&command.args)
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env(dummy_agent::PARENT_PID_ENV, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().expect("a just-spawned child has a pid");
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_lines(out, label.to_string(), pid, false));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_lines(err, label.to_string(), pid, true));
    }
    let (exited, exit) = watch::channel(None);
    tokio::spawn(async move {
        let status = match child.wait().await {
            Ok(status) => status.to_string(),
            Err(error) => format!("unknown ({error})"),
        };
        let _ = exited.send(Some(status));
    });
    Ok(Process { pid, port, exit })
}

async fn forward_lines(stream: impl AsyncRead + Unpin, label: String, pid: u32, is_stderr: bool) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if is_stderr {
            tracing::info!(target: "agentcore_local::agent", session = %label, pid, "{line}");
        } else {
            tracing::debug!(target: "agentcore_local::agent", session = %label, pid, "{line}");
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// What `GET /ping` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    /// `"status": "HealthyBusy"`.
    pub busy: bool,
    /// `time_of_last_update` as it was written (any JSON value), if present.
    pub time_of_last_update: Option<String>,
}

/// One `GET /ping` (any 200 is healthy; a body that is not the contract's document counts as
/// `Healthy` without a timestamp, like the seed experiment's `{"status": "ok"}`).
pub async fn ping(client: &reqwest::Client, port: u16, timeout: Duration) -> Result<Ping, String> {
    let response = client
        .get(format!("http://127.0.0.1:{port}/ping"))
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| format!("GET /ping failed: {e}"))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("GET /ping answered {}", response.status()));
    }
    let body = response.bytes().await.map_err(|e| format!("GET /ping body: {e}"))?;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    Ok(Ping {
        busy: doc.get("status").and_then(|s| s.as_str()) == Some("HealthyBusy"),
        time_of_last_update: doc.get("time_of_last_update").map(|t| t.to_string()),
    })
}

/// Why a microVM did not become healthy.
#[derive(Debug)]
pub enum StartFailure {
    Exited(String),
    TimedOut(String),
}

/// Polls `/ping` until it answers 200, the process exits, or `timeout` passes.
pub async fn wait_healthy(
    client: &reqwest::Client,
    process: &Process,
    timeout: Duration,
) -> Result<Ping, StartFailure> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let mut last_error = String::from("no answer yet");
    loop {
        if let Some(status) = process.exit.borrow().clone() {
            return Err(StartFailure::Exited(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(StartFailure::TimedOut(last_error));
        }
        match ping(client, process.port, left.min(Duration::from_secs(2))).await {
            Ok(ping) => return Ok(ping),
            Err(error) => last_error = error,
        }
        let mut exit = process.exit.clone();
        let _ =
            tokio::time::timeout(pause.min(deadline.saturating_duration_since(Instant::now())), exit.changed()).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Sends `signal` to the process group `pid` leads (errors, such as a group already gone, are
/// ignored).
pub fn signal_group(pid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(raw), signal);
    }
}

/// SIGTERM to the process group, then SIGKILL once `grace` has passed without the process exiting.
pub async fn terminate(pid: u32, mut exit: watch::Receiver<Option<String>>, grace: Duration) {
    if exit.borrow().is_none() {
        signal_group(pid, Signal::SIGTERM);
        let _ = tokio::time::timeout(grace, exit.wait_for(Option::is_some)).await;
    }
    // Also reaches members of the group that outlived their leader.
    signal_group(pid, Signal::SIGKILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_command_lines_with_shell_quoting() {
        let c = AgentCommand::parse("uvicorn app:app --app-dir '/tmp/my dir'").unwrap();
        assert_eq!(c.program, PathBuf::from("uvicorn"));
        assert_eq!(c.args, ["app:app", "--app-dir", "/tmp/my dir"]);
        assert_eq!(c.to_string(), "uvicorn app:app --app-dir '/tmp/my dir'");
        assert!(AgentCommand::parse("").is_err());
        assert!(AgentCommand::parse("unterminated 'quote").is_err());
    }
}
