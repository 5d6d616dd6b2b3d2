//! `--isolation netns`: every microVM in a network namespace of its own, its agent on the
//! contract's port. These tests need unprivileged user and network namespaces and fail, saying so,
//! where the kernel refuses them; they never skip.

use std::path::PathBuf;
use std::time::Duration;

use agentcore_local::data::netns;
use agentcore_local::{AgentCommand, Config, Isolation};
use aws_sdk_bedrockagentcorecontrol::types::{ProtocolConfiguration, ServerProtocol};
use serde_json::json;

use crate::data::{DataLab, fast_config, sid};
use crate::support::code;

pub(crate) fn shim() -> PathBuf {
    let shim = PathBuf::from(env!("CARGO_BIN_EXE_agentcore-local"));
    if let Err(why) = netns::probe(&shim) {
        panic!("this test needs unprivileged user and network namespaces, which this machine refuses: {why}");
    }
    shim
}

/// An agent that serves only on `port` whatever `PORT` says, the way `app.run()` and
/// `uvicorn --port 8080` do, and refuses to start unless `PORT` is `expected` (the port it was
/// told, which netns mode sets to the contract's).
fn fixed_port_agent(port: u16, expected: &str) -> AgentCommand {
    let bin = env!("CARGO_BIN_EXE_agentcore-local");
    let script = format!("test \"$PORT\" = {expected} || exit 3; PORT={port} exec '{bin}' agent");
    AgentCommand::new("sh", ["-c", script.as_str()])
}

fn config(isolation: Isolation, agent: AgentCommand) -> Config {
    Config { isolation, agent_command: Some(agent), agent_start_timeout: Duration::from_secs(10), ..fast_config() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_that_bind_the_contract_port_each_get_their_own_network() {
    let lab = DataLab::start(config(Isolation::Netns { shim: shim() }, fixed_port_agent(8080, "8080"))).await;
    let arn = lab.ready_runtime("netns_http", 900, 28_800).await;
    let answers = futures_util::future::join_all((0..5).map(|i| {
        let (lab, arn) = (&lab, &arn);
        async move { lab.echo(arn, &sid(&format!("netns-{i}")), json!({ "n": i })).await }
    }))
    .await;
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(answer, &json!({ "echo": { "n": i } }));
    }
    let pids: std::collections::BTreeSet<u64> = lab.sessions().iter().filter_map(|s| s["pid"].as_u64()).collect();
    assert_eq!(pids.len(), 5, "five microVMs, all on port 8080, side by side");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", 8080)).is_err(),
        "no agent listens on this machine's 8080: each is in its own network"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_port_mode_an_agent_that_ignores_port_fails_its_health_check() {
    // The negative control: the same agent without namespaces never answers on the port it is given.
    let script = format!("PORT=18080 exec '{}' agent", env!("CARGO_BIN_EXE_agentcore-local"));
    let agent = AgentCommand::new("sh", ["-c", script.as_str()]);
    let config = Config { agent_start_timeout: Duration::from_secs(1), ..config(Isolation::Port, agent) };
    let lab = DataLab::start(config).await;
    let arn = lab.ready_runtime("port_mode", 900, 28_800).await;
    let err = lab.invoke(&arn, &sid("port-mode"), json!({})).send().await.unwrap_err();
    assert_eq!(code(&err).0, "RuntimeClientError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_port_follows_the_protocol_and_its_port() {
    for (protocol, port, expected) in
        [(ServerProtocol::Mcp, None, 8000), (ServerProtocol::A2A, None, 9000), (ServerProtocol::Http, Some(8123), 8123)]
    {
        let agent = fixed_port_agent(expected, &expected.to_string());
        let lab = DataLab::start(config(Isolation::Netns { shim: shim() }, agent)).await;
        let mut configuration = ProtocolConfiguration::builder().server_protocol(protocol.clone());
        if let Some(port) = port {
            configuration = configuration.port(port);
        }
        let out = lab
            .lab
            .create_runtime("by_protocol")
            .protocol_configuration(configuration.build().unwrap())
            .send()
            .await
            .unwrap();
        let id = out.agent_runtime_id().to_string();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while lab.lab.status(&id).await != "READY" {
            assert!(std::time::Instant::now() < deadline, "{id} never READY");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let answer = lab.echo(out.agent_runtime_arn(), &sid("by-protocol"), json!({ "p": expected })).await;
        assert_eq!(answer, json!({ "echo": { "p": expected } }), "{protocol:?} listens on {expected}");
    }
}

/// StopRuntimeSession's SIGTERM reaches the agent inside its namespace, and the relay waits for it
/// to end gracefully instead of dying first (which would SIGKILL the agent at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_session_ends_its_agent_gracefully() {
    let mark = std::env::temp_dir().join(format!("agentcore-netns-graceful-{}", std::process::id()));
    let _ = std::fs::remove_file(&mark);
    let script = format!(
        "trap 'echo graceful > {mark}; exit 0' TERM; '{bin}' agent & wait",
        mark = mark.display(),
        bin = env!("CARGO_BIN_EXE_agentcore-local")
    );
    let agent = AgentCommand::new("sh", ["-c", script.as_str()]);
    let lab = DataLab::start(Config {
        agent_stop_grace: Duration::from_secs(5),
        ..config(Isolation::Netns { shim: shim() }, agent)
    })
    .await;
    let arn = lab.ready_runtime("graceful", 900, 28_800).await;
    lab.echo(&arn, &sid("graceful"), json!({})).await;
    lab.data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(sid("graceful")).send().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !mark.exists() {
        assert!(std::time::Instant::now() < deadline, "the agent's SIGTERM trap never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(std::fs::read_to_string(&mark).unwrap().trim(), "graceful");
    let _ = std::fs::remove_file(&mark);
}
