//! A SIGKILLed emulator (or the `cargo xtask verify` process embedding one) cannot terminate its
//! microVMs; they notice by themselves (`AGENTCORE_LOCAL_PARENT_PID`) and exit.

use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_bedrockagentcore::primitives::Blob;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::{IMAGE, REGION, ROLE_ARN, sdk_config};

/// Whether `pid` has exited: no such process, or a zombie nobody reaped yet.
fn exited(pid: u32) -> bool {
    let gone =
        matches!(nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None), Err(nix::errno::Errno::ESRCH));
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with('Z')))
        .unwrap_or(false);
    gone || zombie
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microvms_exit_by_themselves_once_the_emulator_is_sigkilled() {
    let mut emulator = Command::new(env!("CARGO_BIN_EXE_agentcore-local"))
        .args(["--listen", "127.0.0.1:0", "--time-scale", "3600", "--status-delay", "0s", "--agent-cmd"])
        // The built-in agent (always built with these tests; a `dummy-agent` binary next to the
        // emulator could be stale). dummy-agent's own tests check its binary the same way.
        .arg(format!("{} agent", env!("CARGO_BIN_EXE_agentcore-local")))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(emulator.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
    let url = line.strip_prefix("agentcore-local listening on ").unwrap().to_owned();

    let sdk = sdk_config(&url, "test", "test", REGION).await;
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(&sdk);
    let created = control
        .create_agent_runtime()
        .agent_runtime_name("orphan_check")
        .agent_runtime_artifact(crate::support::container())
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap();
    assert!(IMAGE.contains("dkr.ecr"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = control.get_agent_runtime().agent_runtime_id(created.agent_runtime_id()).send().await.unwrap();
        if got.status().as_str() == "READY" {
            break;
        }
        assert!(Instant::now() < deadline, "never READY");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let data = aws_sdk_bedrockagentcore::Client::new(&sdk);
    data.invoke_agent_runtime()
        .agent_runtime_arn(created.agent_runtime_arn())
        .runtime_session_id("orphan-check-session-0000000000000001")
        .content_type("application/json")
        .payload(Blob::new(br#"{"prompt":"hi"}"#.to_vec()))
        .send()
        .await
        .expect("the invocation starts a microVM");
    let state = crate::support::local_state(&url).await;
    let session = &state["dataPlane"]["sessions"][0];
    let pid = session["pid"].as_u64().expect("a microVM pid") as u32;
    let port = session["port"].as_u64().expect("a microVM port") as u16;
    assert!(!exited(pid));
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok(), "the agent listens");

    // SIGKILL: no destructor, no kill_on_drop, no Handle::drop runs in the emulator.
    emulator.start_kill().unwrap();
    emulator.wait().await.unwrap();
    let killed = Instant::now();
    while !exited(pid) {
        assert!(killed.elapsed() < Duration::from_secs(10), "microVM {pid} still running 10 s after its emulator died");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("the orphaned microVM exited {:?} after its emulator was SIGKILLed", killed.elapsed());
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err(), "nothing listens on its port");
}
