//! Agents end with their emulator whatever the agent is, and the reaper never cuts a call in
//! flight.

use std::time::Duration;

use agentcore_local::Config;
use serde_json::json;

use test_support::process::{exited, wait_all_exited};
use test_support::scratch::fresh_dir;

use crate::data::{DataLab, data_config, sid, wait_gone};
use crate::support::{one_live_session, spawn_emulator};

/// A SIGKILLed emulator runs no destructor; its agents still die (the parent-death signal set
/// when they were forked), in both isolations: under netns the relay dies with the emulator and the
/// agent with the relay. The agent here does not watch its parent: the built-in agent told to
/// watch pid 1 (which never exits), behind `sh -c`, which writes the agent's pid to a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_agent_dies_with_a_sigkilled_emulator() {
    for isolation in ["port", "netns"] {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = fresh_dir(dir, format!("pdeathsig-{isolation}-{}", std::process::id()));
        let pid_file = dir.join("agent.pid");
        let agent = format!(
            "sh -c 'echo $$ > \"{}\"; AGENTCORE_LOCAL_PARENT_PID=1 exec \"{}\" agent'",
            pid_file.display(),
            env!("CARGO_BIN_EXE_agentcore-local")
        );
        let flags = ["--time-scale", "3600", "--status-delay", "0s", "--isolation", isolation, "--agent-cmd", &agent];
        let (mut emulator, url) = spawn_emulator(&flags).await;
        let (session_pid, _) = one_live_session(&url, "pdeathsig_check", &sid("pdeathsig")).await;
        let pid: u32 = std::fs::read_to_string(&pid_file).expect("the agent wrote its pid").trim().parse().unwrap();
        if isolation == "port" {
            assert_eq!(session_pid, pid, "the session's process");
        } else {
            assert_eq!(parent_of(pid), Some(session_pid), "the session's process is the agent's relay");
        }
        assert!(!exited(pid));

        emulator.start_kill().unwrap(); // SIGKILL
        emulator.wait().await.unwrap();
        let took = wait_all_exited(&[pid], Duration::from_secs(10))
            .await
            .unwrap_or_else(|_| panic!("{isolation}: agent {pid} still running 10 s after its emulator died"));
        // Not its own parent watch (told to watch pid 1, which never goes): the parent-death signal.
        assert!(took < Duration::from_secs(5), "{isolation}: gone only after {took:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The parent of process `pid` (`/proc/PID/stat`'s fourth field).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// A call enters a session just before its idle timeout and lifetime pass: the reaper, due while
/// the call is in flight, ends the session only once the call has finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reaper_never_cuts_a_call_in_flight() {
    // A short stop grace: a session ended under the call would lose its process at once.
    let t = DataLab::start(Config { agent_stop_grace: Duration::from_millis(50), ..data_config() }).await;
    let arn = t.ready_runtime("race_agent", 60, 60).await;
    let s = sid("race");
    t.echo(&arn, &s, json!({})).await;
    let pid = t.pid_of(&s).unwrap();

    // 59 s later (both deadlines 1 s away) a slow call enters.
    t.lab.advance(Duration::from_secs(59));
    let slow = t.invoke(&arn, &s, json!({"_dummy": {"sleep_ms": 1500}})).send();
    let slow = tokio::spawn(slow);
    t.wait_until("the slow call is in flight", |t| {
        t.sessions().iter().any(|x| x["runtimeSessionId"] == s && x["invocationsInFlight"] == 1)
    })
    .await;

    // The idle timeout and the max lifetime pass while it is in flight; the reaper runs.
    t.lab.advance(Duration::from_secs(2));
    t.handle().reap_due().await;
    assert_eq!(t.pid_of(&s), Some(pid), "the session lives while its call is in flight");
    assert_eq!(t.counter("reapedMaxLifetime") + t.counter("reapedIdle"), 0);

    let out = tokio::time::timeout(Duration::from_secs(15), slow).await.expect("the call ends").unwrap();
    let out = out.expect("the call in flight was not cut");
    let body = out.response.collect().await.expect("the whole answer").into_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["echo"]["_dummy"]["sleep_ms"], 1500);

    // Once it finished, the session goes (its last call woke the reaper).
    t.wait_until("the session ends after its last call", |t| t.pid_of(&s).is_none()).await;
    assert_eq!(t.counter("reapedMaxLifetime"), 1);
    wait_gone(&[pid]).await;
}
