//! Processes in tests: whether one has exited, bounded waits for that, a child killed and reaped on
//! drop, and commands that see nothing of the host's AWS set-up.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// Whether `pid` has exited: `kill(pid, 0)` finds no such process, or `/proc/<pid>/stat` shows a
/// zombie that its parent has not reaped yet. Anything else (a live process, or one this user may
/// not signal) counts as running: the answer is "exited" only on positive evidence.
pub fn exited(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return false };
    let gone = matches!(kill(Pid::from_raw(raw), None), Err(Errno::ESRCH));
    gone || is_zombie(pid)
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(false)
}

/// Waits until `pid` has [`exited`], polling every 50 ms, for at most `timeout`. Returns how long the
/// wait took, or `None` when the process still ran at the end. Blocks the thread: from async tests
/// that need their runtime meanwhile use `wait_all_exited` (feature `emulator`).
pub fn wait_exited(pid: u32, timeout: Duration) -> Option<Duration> {
    let since = Instant::now();
    while !exited(pid) {
        if since.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(since.elapsed())
}

/// Waits until every one of `pids` has [`exited`], polling every 20 ms without blocking the async
/// runtime, for at most `timeout`. Returns how long the wait took, or the pids still running at the
/// end.
#[cfg(feature = "emulator")]
pub async fn wait_all_exited(pids: &[u32], timeout: Duration) -> Result<Duration, Vec<u32>> {
    let since = Instant::now();
    loop {
        let running: Vec<u32> = pids.iter().copied().filter(|&pid| !exited(pid)).collect();
        if running.is_empty() {
            return Ok(since.elapsed());
        }
        if since.elapsed() >= timeout {
            return Err(running);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server started by a test: killed and reaped on drop.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Where it serves (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its stdout and stderr, or whatever a failure message should point at.
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes from `command`'s environment every `AWS_*` variable and every `*_proxy` / `*_PROXY`
/// variable of this process, so that nothing of the host's AWS set-up (profiles, endpoints, tokens)
/// and no proxy reaches the child. The caller then sets what the child should see.
pub fn without_host_aws(command: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("AWS_") || key.to_ascii_lowercase().ends_with("_proxy") {
            command.env_remove(&*key);
        }
    }
    command
}
