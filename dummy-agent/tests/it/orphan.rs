//! The `dummy-agent` binary exits by itself once the process named by `AGENTCORE_LOCAL_PARENT_PID`
//! is gone (agentcore-local SIGKILLed), whether that process is its parent or not.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use test_support::process::exited;

/// Waits (10 s at most) for the orphaned agent `pid` to exit; returns how long that took.
fn wait_exited(pid: u32) -> Duration {
    test_support::process::wait_exited(pid, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("dummy-agent {pid} still running 10 s after its parent died"))
}

#[test]
fn exits_when_its_parent_is_sigkilled() {
    // A shell standing in for agentcore-local: it starts the agent with its own pid, says the
    // agent's pid, and waits.
    let mut parent = Command::new("sh")
        .args([
            "-c",
            r#"AGENTCORE_LOCAL_PARENT_PID=$$ HOST=127.0.0.1 PORT=0 "$0" >/dev/null 2>&1 & echo $!; wait"#,
            env!("CARGO_BIN_EXE_dummy-agent"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(parent.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let agent: u32 = line.trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!exited(agent), "the agent runs while its parent does");
    parent.kill().unwrap();
    parent.wait().unwrap();
    let took = wait_exited(agent);
    eprintln!("orphaned dummy-agent exited {took:?} after its parent was SIGKILLed");
}

#[test]
fn exits_when_the_named_process_is_gone_even_if_it_is_not_its_parent() {
    let mut emulator = Command::new("sleep").arg("60").spawn().unwrap();
    let mut agent = Command::new(env!("CARGO_BIN_EXE_dummy-agent"))
        .env(dummy_agent::PARENT_PID_ENV, emulator.id().to_string())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(agent.try_wait().unwrap().is_none(), "the agent runs while the named process does");
    emulator.kill().unwrap();
    emulator.wait().unwrap();
    let since = Instant::now();
    let status = loop {
        if let Some(status) = agent.try_wait().unwrap() {
            break status;
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "dummy-agent still running 10 s after the named process died"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "a quiet exit: {status}");
}
