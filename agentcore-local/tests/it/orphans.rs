//! A SIGKILLed emulator (or the `cargo xtask verify` process embedding one) cannot terminate its
//! microVMs; they notice by themselves (`AGENTCORE_LOCAL_PARENT_PID`) and exit.

use std::time::Duration;

use test_support::process::{exited, wait_all_exited};

use crate::support::{one_live_session, spawn_emulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microvms_exit_by_themselves_once_the_emulator_is_sigkilled() {
    // The built-in agent (always built with these tests; a `dummy-agent` binary next to the
    // emulator could be stale). dummy-agent's own tests check its binary the same way.
    let agent = format!("{} agent", env!("CARGO_BIN_EXE_agentcore-local"));
    let (mut emulator, url) =
        spawn_emulator(&["--time-scale", "3600", "--status-delay", "0s", "--agent-cmd", &agent]).await;
    let (pid, port) = one_live_session(&url, "orphan_check", "orphan-check-session-0000000000000001").await;
    assert!(!exited(pid));
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok(), "the agent listens");
    // The microVM's processes: the session's (the agent, or under --isolation netns its relay) and
    // its children (the relay's agent).
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut pids = vec![pid];
    pids.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));

    // SIGKILL: no destructor, no kill_on_drop, no Handle::drop runs in the emulator.
    emulator.start_kill().unwrap();
    emulator.wait().await.unwrap();
    // Whether the port is free afterwards is not asked: a test running beside this one may bind the
    // same port number once it is.
    let took = wait_all_exited(&pids, Duration::from_secs(10))
        .await
        .unwrap_or_else(|_| panic!("microVM processes {pids:?} still running 10 s after their emulator died"));
    eprintln!("the orphaned microVM ({pids:?}) exited {took:?} after its emulator was SIGKILLed");
}
