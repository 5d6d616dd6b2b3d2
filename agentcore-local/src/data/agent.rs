//! Agent processes ("microVMs"): the command, starting one, its health check, terminating it.
//!
//! Each microVM is one OS process of the agent command with `PORT` (a free loopback port),
//! `HOST=127.0.0.1` and `AGENTCORE_LOCAL_PARENT_PID` (this process's pid,
//! [`dummy_agent::PARENT_PID_ENV`]) in its environment, in a process group of its own so that
//! terminating it also reaches whatever it started (`sh -c …`, uvicorn workers). Its stderr goes
//! to the emulator's log (target `agentcore_local::agent`, level info); its stdout too at debug
//! level when that is enabled, else it is discarded. Pipes are always drained, so a chatty agent
//! never blocks.
//!
//! **Agents die with the emulator, whatever the agent is.** `kill_on_drop` and
//! [`crate::Handle`]'s drop end microVMs when the emulator stops, but nothing runs when its
//! process is SIGKILLed. So every agent is forked with `PR_SET_PDEATHSIG` = SIGKILL (set in the
//! child between fork and exec, see [`spawn`]), and checks right after that its parent is still
//! the emulator (else it exits at once: the emulator died during the fork). Linux sends the
//! parent-death signal when the *thread* that forked the child exits, not the process, so every
//! agent is forked by one dedicated thread ([`SPAWNER_THREAD`]) that lives as long as the
//! process: tokio's worker threads may stop with their runtime and its blocking-pool threads exit
//! when idle, which would kill agents early. The signal reaches the agent itself (the group
//! leader); dummy-agent also watches `AGENTCORE_LOCAL_PARENT_PID` as a second line.
//!
//! **Signals go to the group only while the leader is unreaped.** A process group id stays
//! reserved while its leader exists, zombie included; once the leader has been reaped
//! ([`Process::has_exited`]) its pid, and so the group id, may belong to another process, so
//! [`Process::signal_group`] does nothing then. Members of the group that outlive a leader that
//! exited by itself are therefore not reached by the emulator.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How microVMs are kept apart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Every microVM shares this machine's network; its agent gets a free loopback port in `PORT`
    /// (agents must read it).
    #[default]
    Port,
    /// Every microVM in a user and network namespace of its own, where its agent listens on the
    /// contract's port (8080, 8000, 9000 or `protocolConfiguration.port`) as on AWS; `shim` is the
    /// `agentcore-local` binary whose hidden `netns-shim` subcommand relays to it
    /// ([`crate::data::netns`]).
    Netns { shim: std::path::PathBuf },
}

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
    /// Whether `pid` is a netns relay whose namespaces the agent shares ([`session_namespaces`]).
    pub in_netns: bool,
    /// `Some(description)` once the process has exited (and been reaped).
    pub exit: watch::Receiver<Option<String>>,
}

impl Process {
    /// Whether the process has exited and been reaped (its pid may be reused since).
    pub fn has_exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Sends `signal` to the process group the agent leads, unless the agent has been reaped
    /// (see the module docs); `true` if the signal was sent.
    pub fn signal_group(&self, signal: Signal) -> bool {
        if !may_signal_group(self.has_exited()) {
            return false;
        }
        signal_group(self.pid, signal);
        true
    }
}

/// Whether the group of a leader may be signalled: only while the leader has not been reaped
/// (a zombie still reserves its pid and group id; a reaped one does not).
pub fn may_signal_group(leader_reaped: bool) -> bool {
    !leader_reaped
}

/// The name of the thread that forks every agent.
pub const SPAWNER_THREAD: &str = "agentcore-agent-spawner";

/// One fork for the spawner thread: the command, the runtime its child belongs to (pipes and
/// the exit watch register with that runtime's driver) and where the answer goes.
struct SpawnRequest {
    command: Command,
    runtime: tokio::runtime::Handle,
    reply: tokio::sync::oneshot::Sender<std::io::Result<Child>>,
}

/// The spawner thread's queue, started on first use; the sender lives in a static, so the thread
/// never ends while the process lives.
fn spawner() -> std::io::Result<&'static mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Result<mpsc::Sender<SpawnRequest>, String>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, queue) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name(SPAWNER_THREAD.into())
            .spawn(move || {
                for SpawnRequest { mut command, runtime, reply } in queue {
                    let _context = runtime.enter();
                    let _ = reply.send(command.spawn());
                }
            })
            .map(|_| requests)
            .map_err(|e| format!("cannot start the agent spawner thread: {e}"))
    });
    spawner.as_ref().map_err(|e| std::io::Error::other(e.clone()))
}

/// Forks `command` on the spawner thread (see the module docs).
async fn spawn_on_spawner_thread(command: Command) -> std::io::Result<Child> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let request = SpawnRequest { command, runtime: tokio::runtime::Handle::current(), reply };
    spawner()?.send(request).map_err(|_| std::io::Error::other("the agent spawner thread is gone"))?;
    answer.await.map_err(|_| std::io::Error::other("the agent spawner thread dropped the request"))?
}

/// Makes the child die with this process: `PR_SET_PDEATHSIG` = SIGKILL, then a check that the
/// parent is still `parent` (it may have died before the `prctl`). Linux only; elsewhere agents
/// rely on their own parent watch.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(libc::pid_t::MAX);
    // The crate denies unsafe code; this is its one audited exception.
    #[allow(unsafe_code)]
    // SAFETY: `pre_exec` runs the closure in the forked child before `exec`, where only
    // async-signal-safe calls are allowed: `prctl` and `getppid` are system calls, and the
    // closure neither allocates (the errors are OS error codes) nor takes locks. It captures
    // only a `pid_t`. The signal fires when the thread that forked the child exits, which is why
    // the caller forks on the never-ending spawner thread.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                // Orphaned between fork and prctl: the emulator is gone.
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Lets the child of `command` inherit `listener` (its descriptor stays open across exec in the child
/// only); returns the descriptor's number, which the child reads from its arguments.
fn inherit(command: &mut Command, listener: &std::net::TcpListener) -> std::os::fd::RawFd {
    use std::os::fd::AsRawFd;
    let fd = listener.as_raw_fd();
    // The crate denies unsafe code; this is an audited exception.
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec and makes one system call on a
    // descriptor this process owns (and keeps open until the spawn returns); it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    fd
}

/// The user and network namespaces of a `--isolation netns` session (those of its relay, `pid`,
/// which its agent shares), opened so a process can join them ([`spawn_shell`]).
#[derive(Debug)]
pub struct SessionNamespaces {
    user: std::fs::File,
    net: std::fs::File,
}

/// Opens `/proc/PID/ns/user` and `/proc/PID/ns/net` of the session's relay `process`; fails if it
/// is gone (or, for a pid already reused, if the opened namespaces turn out to be this process's).
pub fn session_namespaces(process: &Process) -> std::io::Result<SessionNamespaces> {
    let open = |kind: &str| std::fs::File::open(format!("/proc/{}/ns/{kind}", process.pid));
    let namespaces = SessionNamespaces { user: open("user")?, net: open("net")? };
    let own = std::fs::metadata("/proc/self/ns/net")?;
    let theirs = namespaces.net.metadata()?;
    use std::os::unix::fs::MetadataExt;
    if process.has_exited() || (own.dev(), own.ino()) == (theirs.dev(), theirs.ino()) {
        return Err(std::io::Error::other("the session's relay is gone"));
    }
    Ok(namespaces)
}

/// Makes the child of `command` join `namespaces` (the user namespace first: it owns the network
/// one) before it execs.
fn join_namespaces(command: &mut Command, namespaces: &SessionNamespaces) {
    use std::os::fd::AsRawFd;
    let (user, net) = (namespaces.user.as_raw_fd(), namespaces.net.as_raw_fd());
    // The crate denies unsafe code; this is an audited exception.
    #[allow(unsafe_code)]
    // SAFETY: the closure runs in the forked child before exec, single-threaded, and makes two
    // `setns` system calls on descriptors this process owns and keeps open until the spawn returns
    // (the caller holds `namespaces`); it allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            if libc::setns(user, libc::CLONE_NEWUSER) == -1 || libc::setns(net, libc::CLONE_NEWNET) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `program args` as a process of the session whose agent listens on `port`: the environment and
/// working directory every process of a session gets (this process's, the runtime's
/// `environmentVariables`, then `PORT`, `HOST` and [`dummy_agent::PARENT_PID_ENV`]), no stdin, a
/// process group of its own, killed on drop and (Linux) when this process dies.
fn session_command(
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    port: u16,
    environment: &[(String, String)],
) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .envs(environment.iter().map(|(name, value)| (name, value)))
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .env(dummy_agent::PARENT_PID_ENV, std::process::id().to_string())
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    die_with_parent(&mut command);
    command
}

/// Starts `command` on a free loopback port, forked on the spawner thread with the parent-death
/// signal set (see the module docs). `label` names it in the logs. Under
/// [`Isolation::Netns`] the process is the shim ([`super::netns`]), which listens on that port and
/// starts the agent in a network namespace of its own, listening on `agent_port`.
pub async fn spawn(
    command: &AgentCommand,
    label: &str,
    isolation: &Isolation,
    agent_port: u16,
    environment: &[(String, String)],
) -> std::io::Result<Process> {
    // Under netns the listening socket is made here and handed to the shim, so no other session can
    // take its port between the choice and the bind; an agent that binds `PORT` itself (port mode)
    // gets a port that was free a moment ago.
    let listener = match isolation {
        Isolation::Netns { .. } => Some(std::net::TcpListener::bind(("127.0.0.1", 0))?),
        Isolation::Port => None,
    };
    let (port, lease) = match &listener {
        Some(listener) => (listener.local_addr()?.port(), None),
        None => {
            let lease = PortLease::take()?;
            (lease.0, Some(lease))
        }
    };
    let stdout = if tracing::enabled!(target: "agentcore_local::agent", tracing::Level::DEBUG) {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    let mut os_command = match isolation {
        Isolation::Port => {
            let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
            session_command(&command.program, &args, port, environment)
        }
        Isolation::Netns { shim } => {
            let listener = listener.as_ref().expect("made above for netns");
            let mut os_command = session_command(shim, &[], port, environment);
            let fd = inherit(&mut os_command, listener);
            os_command.args(super::netns::shim_arguments(fd, agent_port, &command.program, &command.args));
            os_command
        }
    };
    os_command.stdout(stdout).stderr(Stdio::piped());
    let mut child = spawn_on_spawner_thread(os_command).await?;
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
        // The port is free for another agent once this one is gone.
        drop(lease);
        let _ = exited.send(Some(status));
    });
    Ok(Process { pid, port, exit, in_netns: matches!(isolation, Isolation::Netns { .. }) })
}

/// Starts `sh -c LINE` beside the agent of a session (listening on `port`), with the same
/// environment and working directory as that agent and in a process group of its own (see
/// [`session_command`]), inside the session's `namespaces` when it has its own network (then
/// `port` is the contract's); stdout and stderr are piped. The caller must signal the group only
/// while the child is unreaped ([`may_signal_group`]).
pub async fn spawn_shell(
    line: &str,
    port: u16,
    environment: &[(String, String)],
    namespaces: Option<&SessionNamespaces>,
) -> std::io::Result<Child> {
    let mut command = session_command("sh", &["-c", line], port, environment);
    if let Some(namespaces) = namespaces {
        join_namespaces(&mut command, namespaces);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    spawn_on_spawner_thread(command).await
}

/// SIGKILL to the process group `pid` leads; the caller guarantees the leader is not reaped yet.
pub fn kill_group(pid: u32) {
    signal_group(pid, Signal::SIGKILL);
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

/// A loopback port handed to one port-mode agent until its process has exited. The kernel may hand
/// the same free port to two concurrent `bind(0)` probes before either agent binds it: the second
/// agent then fails to bind, while its health check reaches the first agent and passes, and calls
/// meant for one session go to another. Leases make the choices distinct.
struct PortLease(u16);

/// Ports leased to agents that have not exited.
static LEASED: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

impl PortLease {
    fn take() -> std::io::Result<Self> {
        for _ in 0..64 {
            let port = std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
            if LEASED.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
                return Ok(Self(port));
            }
        }
        Err(std::io::Error::new(std::io::ErrorKind::AddrInUse, "no loopback port free of other agents"))
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        LEASED.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.0);
    }
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
/// `Healthy` without a timestamp, like the seed experiment's `{"status": "ok"}`). Without
/// `contract`, any HTTP answer is `Healthy`: the MCP and A2A contracts ask for no `/ping`, and
/// AWS's own examples of them (FastMCP, a2a-sdk) serve none.
pub async fn ping(client: &reqwest::Client, port: u16, timeout: Duration, contract: bool) -> Result<Ping, String> {
    let response = client
        .get(format!("http://127.0.0.1:{port}/ping"))
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| format!("GET /ping failed: {e}"))?;
    if !contract {
        return Ok(Ping { busy: false, time_of_last_update: None });
    }
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

/// Polls `/ping` until it answers 200 (any HTTP answer without `contract`, see [`ping`]), the
/// process exits, or `timeout` passes.
pub async fn wait_healthy(
    client: &reqwest::Client,
    process: &Process,
    timeout: Duration,
    contract: bool,
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
        match ping(client, process.port, left.min(Duration::from_secs(2)), contract).await {
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
/// ignored). Callers make sure the leader has not been reaped ([`Process::signal_group`]).
fn signal_group(pid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(raw), signal);
    }
}

/// SIGTERM to the process group, then SIGKILL once `grace` has passed without the process
/// exiting; neither once the agent has been reaped.
pub async fn terminate(process: &Process, grace: Duration) {
    if process.signal_group(Signal::SIGTERM) {
        let mut exit = process.exit.clone();
        let _ = tokio::time::timeout(grace, exit.wait_for(Option::is_some)).await;
        // Also reaches members of the group that still run beside an unreaped leader.
        process.signal_group(Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leased_ports_are_never_handed_out_twice_until_released() {
        let leases: Vec<PortLease> = (0..200).map(|_| PortLease::take().unwrap()).collect();
        let ports: BTreeSet<u16> = leases.iter().map(|l| l.0).collect();
        assert_eq!(ports.len(), leases.len(), "every lease a distinct port");
        assert!(ports.iter().all(|p| LEASED.lock().unwrap().contains(p)));
        drop(leases);
        assert!(ports.iter().all(|p| !LEASED.lock().unwrap().contains(p)), "released with the lease");
    }

    #[test]
    fn parses_command_lines_with_shell_quoting() {
        let c = AgentCommand::parse("uvicorn app:app --app-dir '/tmp/my dir'").unwrap();
        assert_eq!(c.program, PathBuf::from("uvicorn"));
        assert_eq!(c.args, ["app:app", "--app-dir", "/tmp/my dir"]);
        assert_eq!(c.to_string(), "uvicorn app:app --app-dir '/tmp/my dir'");
        assert!(AgentCommand::parse("").is_err());
        assert!(AgentCommand::parse("unterminated 'quote").is_err());
    }

    #[test]
    fn process_groups_are_signalled_only_before_the_leader_is_reaped() {
        assert!(may_signal_group(false));
        assert!(!may_signal_group(true));
    }

    /// The real path: a started agent can be signalled; once it exited and was reaped, its
    /// (possibly recycled) group is never signalled again.
    #[tokio::test]
    async fn no_signal_after_the_agent_was_reaped() {
        let sleeper = AgentCommand::new("sleep", ["30"]);
        let process = spawn(&sleeper, "unit", &Isolation::Port, 8080, &[]).await.expect("sleep starts");
        assert!(!process.has_exited());
        assert!(process.signal_group(Signal::SIGKILL), "a live agent's group is signalled");
        let mut exit = process.exit.clone();
        tokio::time::timeout(Duration::from_secs(10), exit.wait_for(Option::is_some))
            .await
            .expect("SIGKILL ends it")
            .expect("the watch lives");
        assert!(process.has_exited());
        assert!(!process.signal_group(Signal::SIGKILL), "no signal to a reaped agent's group");
        // terminate() on a reaped agent returns at once without signalling.
        tokio::time::timeout(Duration::from_millis(100), terminate(&process, Duration::from_secs(30)))
            .await
            .expect("nothing to wait for");
    }
}
