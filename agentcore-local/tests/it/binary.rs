//! The `agentcore-local` binary: prints its one line once it accepts requests, then serves.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::sdk_config;

#[tokio::test]
async fn prints_the_listening_line_and_serves_the_sdk() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentcore-local"))
        .args(["--listen", "127.0.0.1:0", "--time-scale", "3600", "--status-delay", "0s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a line within 30 s")
        .unwrap()
        .expect("one line");
    let url = line.strip_prefix("agentcore-local listening on ").unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let port: u16 = url.strip_prefix("http://127.0.0.1:").unwrap().parse().unwrap();
    assert_ne!(port, 0);

    let sdk = sdk_config(url).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(&sdk);
    let zones = ec2.describe_availability_zones().send().await.unwrap();
    assert_eq!(zones.availability_zones().len(), 6);
    let runtimes = control.list_agent_runtimes().send().await.unwrap();
    assert!(runtimes.agent_runtimes().is_empty());

    // SIGTERM stops it cleanly even with the SDK's keep-alive connections open.
    let pid = child.id().unwrap().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(lines.next_line().await.unwrap(), None, "exactly one line on stdout");
}

#[tokio::test]
async fn bad_flags_fail_clearly() {
    // Each absurd scale is a clap usage error (exit 2) naming the flag, never a panic or a server
    // that starts and panics later (1e300 overflowed the clock's arithmetic).
    for scale in ["0", "inf", "NaN", "-1", "1e300", "1e-320"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentcore-local"));
        command.args(["--listen", "127.0.0.1:0", "--time-scale", scale]).kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(10), command.output())
            .await
            .unwrap_or_else(|_| panic!("--time-scale {scale}: still running after 10 s"))
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--time-scale {scale}: {stderr}");
        assert!(stderr.contains("--time-scale") && stderr.contains("time scale must be"), "{scale}: {stderr}");
        assert!(!stderr.contains("panicked"), "{scale}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[tokio::test]
async fn exposure_is_warned_about_in_help_and_at_start_up() {
    let help = Command::new(env!("CARGO_BIN_EXE_agentcore-local")).arg("--help").output().await.unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("WARNING: a non-loopback address"), "{help}");
    assert!(help.contains("WARNING: then any local process"), "{help}");
    assert!(help.contains("--allow-commands") && help.contains("runs commands as this user"), "{help}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_agentcore-local"))
        .args(["--listen", "127.0.0.1:0", "--no-auth", "--allow-commands"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let warned = tokio::time::timeout(Duration::from_secs(30), async {
        let (mut auth, mut commands) = (false, false);
        while let Some(line) = stderr.next_line().await.unwrap() {
            auth |= line.contains("WARN") && line.contains("authentication is disabled");
            commands |= line.contains("WARN") && line.contains("InvokeAgentRuntimeCommand is enabled");
            if auth && commands {
                return true;
            }
        }
        false
    })
    .await
    .expect("a warning within 30 s");
    assert!(warned);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
