//! InvokeAgentRuntimeCommand through the unmodified `aws-sdk-bedrockagentcore` (its event-stream
//! reader decodes every frame), and a property test of the request body parser.

use std::time::{Duration, Instant};

use agentcore_local::Config;
use agentcore_local::data::command::{MAX_COMMAND_CHARS, TIMEOUT_RANGE_SECS, parse_request};
use aws_sdk_bedrockagentcore::operation::invoke_agent_runtime_command::InvokeAgentRuntimeCommandOutput;
use aws_sdk_bedrockagentcore::operation::invoke_agent_runtime_command::builders::InvokeAgentRuntimeCommandFluentBuilder;
use aws_sdk_bedrockagentcore::types::{CommandExecutionStatus, InvokeAgentRuntimeCommandRequestBody};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::data::{DataLab, data_config, sid, wait_gone};
use crate::support::{code, http_status};

/// Commands allowed, the built-in dummy agent, a manual clock.
fn commands_config() -> Config {
    Config { allow_commands: true, ..data_config() }
}

/// What a command's event stream said.
#[derive(Debug, Default)]
struct Ran {
    /// The events, in order, as `ResponseChunk` JSON.
    events: Vec<Value>,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn stop(&self) -> &Value {
        &self.events.last().expect("events")["contentStop"]
    }
}

fn command(
    t: &DataLab,
    arn: &str,
    session: &str,
    line: &str,
    timeout: Option<i32>,
) -> InvokeAgentRuntimeCommandFluentBuilder {
    let body = InvokeAgentRuntimeCommandRequestBody::builder().command(line).set_timeout(timeout).build().unwrap();
    t.data.invoke_agent_runtime_command().agent_runtime_arn(arn).runtime_session_id(session).body(body)
}

/// Reads the stream to its end (bounded: 30 s).
async fn read_all(mut out: InvokeAgentRuntimeCommandOutput) -> Ran {
    let mut ran = Ran::default();
    let read = async {
        while let Some(event) = out.stream.recv().await.expect("a well-formed event stream") {
            let chunk = event.as_chunk().expect("only chunk events");
            let event = if chunk.content_start().is_some() {
                json!({"contentStart": {}})
            } else if let Some(delta) = chunk.content_delta() {
                ran.stdout.push_str(delta.stdout().unwrap_or_default());
                ran.stderr.push_str(delta.stderr().unwrap_or_default());
                json!({"contentDelta": {"stdout": delta.stdout(), "stderr": delta.stderr()}})
            } else {
                let stop = chunk.content_stop().expect("one member per chunk");
                let known = [CommandExecutionStatus::Completed, CommandExecutionStatus::TimedOut];
                assert!(known.contains(stop.status()), "a status the SDK knows: {:?}", stop.status());
                json!({"contentStop": {"exitCode": stop.exit_code(), "status": stop.status().as_str()}})
            };
            ran.events.push(event);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read).await.expect("the stream ends within 30 s");
    ran
}

#[tokio::test]
async fn a_command_streams_stdout_stderr_and_its_exit_code_in_the_sessions_environment() {
    let t = DataLab::start(commands_config()).await;
    let arn = t.ready_runtime("command_agent", 900, 28_800).await;
    let session = sid("cmd");
    t.echo(&arn, &session, json!({"first": "invoke"})).await;
    let port = t.sessions()[0]["port"].as_u64().unwrap();

    let out =
        command(&t, &arn, &session, "echo hi; echo err >&2; echo \"$PORT $HOST\"; exit 3", None).send().await.unwrap();
    assert_eq!(out.content_type(), "application/vnd.amazon.eventstream");
    assert_eq!(out.runtime_session_id(), Some(session.as_str()));
    assert_eq!(out.status_code(), Some(200));
    let ran = read_all(out).await;
    assert_eq!(ran.events[0], json!({"contentStart": {}}));
    assert_eq!(ran.stdout, format!("hi\n{port} 127.0.0.1\n"), "the agent's environment: {ran:?}");
    assert_eq!(ran.stderr, "err\n");
    assert_eq!(ran.stop(), &json!({"exitCode": 3, "status": "COMPLETED"}));
    assert!(ran.events[1..ran.events.len() - 1].iter().all(|e| e.get("contentDelta").is_some()), "{ran:?}");
    assert_eq!(t.counter("sessionsStarted"), 1, "the command ran in the invocation's session");

    // The agent's working directory (the emulator's).
    let ran = read_all(command(&t, &arn, &session, "pwd", None).send().await.unwrap()).await;
    assert_eq!(ran.stdout, format!("{}\n", std::env::current_dir().unwrap().display()));
    assert_eq!(ran.stop()["exitCode"], 0);

    // A new session id starts a microVM for the command, as InvokeAgentRuntime would.
    let ran = read_all(command(&t, &arn, &sid("fresh"), "printf x", Some(5)).send().await.unwrap()).await;
    assert_eq!((ran.stdout.as_str(), ran.stop()["status"].as_str()), ("x", Some("COMPLETED")));
    assert_eq!(t.counter("sessionsStarted"), 2);
}

/// Under `--isolation netns` a command runs in its session's network namespace (only a loopback),
/// where the agent listens on the contract's port, which its `PORT` names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_netns_a_command_runs_in_its_sessions_network() {
    let isolation = agentcore_local::Isolation::Netns { shim: crate::netns::shim() };
    let t = DataLab::start(Config { isolation, ..commands_config() }).await;
    let arn = t.ready_runtime("netns_command", 900, 28_800).await;
    let line = "echo \"$PORT\"; readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '";
    let ran = read_all(command(&t, &arn, &sid("netns-cmd"), line, Some(10)).send().await.unwrap()).await;
    assert_eq!(ran.stop()["exitCode"], 0, "{ran:?}");
    let lines: Vec<&str> = ran.stdout.lines().collect();
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!(lines[0], "8080", "the contract's port: {ran:?}");
    assert_ne!(lines[1], host_net.to_str().unwrap(), "another network namespace than this machine's: {ran:?}");
    assert_eq!(&lines[2..], ["lo"], "the session's network has only a loopback: {ran:?}");
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed_and_reported_timed_out() {
    let t = DataLab::start(commands_config()).await;
    let arn = t.ready_runtime("timeout_agent", 900, 28_800).await;
    let started = Instant::now();
    let out = command(&t, &arn, &sid("slow"), "echo started; sleep 30; echo never", Some(1)).send().await.unwrap();
    let ran = read_all(out).await;
    assert!(started.elapsed() < Duration::from_secs(20), "killed at its 1 s timeout, not after 30 s");
    assert_eq!(ran.stdout, "started\n");
    assert_eq!(ran.stop(), &json!({"exitCode": -1, "status": "TIMED_OUT"}));
}

#[tokio::test]
async fn ending_the_session_kills_its_running_command() {
    let t = DataLab::start(commands_config()).await;
    let arn = t.ready_runtime("stopped_agent", 900, 28_800).await;
    let session = sid("stop");
    let mut out = command(&t, &arn, &session, "echo $$; exec sleep 30", None).send().await.unwrap();
    // The command's first line says it runs (and which pid it has).
    let command_pid = first_line_pid(&mut out).await;
    let agent = t.pid_of(&session).expect("the session's agent");
    t.data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(&session).send().await.unwrap();
    let ran = read_all(out).await;
    assert_eq!(ran.stop(), &json!({"exitCode": 137, "status": "COMPLETED"}), "SIGKILLed: {ran:?}");
    wait_gone(&[agent, command_pid]).await;
}

#[tokio::test]
async fn commands_are_refused_unless_allowed_and_validated_like_the_model() {
    // Off by default: AccessDeniedException naming the flag, before anything else is looked at.
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("closed_agent", 900, 28_800).await;
    let err = command(&t, &arn, &sid("no"), "touch /tmp/never", None).send().await.unwrap_err();
    assert_eq!(http_status(&err), 403);
    let (c, message) = code(err.as_service_error().unwrap());
    assert_eq!(c, "AccessDeniedException");
    assert!(message.contains("--allow-commands"), "{message}");
    assert!(err.as_service_error().unwrap().is_access_denied_exception());
    assert!(t.sessions().is_empty());

    let t = DataLab::start(commands_config()).await;
    let arn = t.ready_runtime("open_agent", 900, 28_800).await;
    let unknown = arn.replace("open_agent-", "none_agent-");
    for err in [
        command(&t, &unknown, &sid("u"), "true", None).send().await.unwrap_err(),
        command(&t, &arn, &sid("u"), "true", None).qualifier("canary").send().await.unwrap_err(),
    ] {
        assert_eq!(http_status(&err), 404);
        assert!(err.as_service_error().unwrap().is_resource_not_found_exception(), "{err:?}");
    }
    for (line, timeout, field) in
        [("", None, "body.command"), ("true", Some(0), "body.timeout"), ("true", Some(3601), "body.timeout")]
    {
        let err = command(&t, &arn, &sid("v"), line, timeout).send().await.unwrap_err();
        assert_eq!(http_status(&err), 400);
        let (c, message) = code(err.as_service_error().unwrap());
        assert_eq!(c, "ValidationException");
        assert!(message.contains(&format!("at '{field}'")), "{message}");
    }
    let long = "x".repeat(MAX_COMMAND_CHARS + 1);
    let err = command(&t, &arn, &sid("v"), &long, None).send().await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_validation_exception());
    assert!(t.sessions().is_empty(), "no session for refused calls");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any body: a request within the model's bounds, or a `ValidationException`; never a panic.
    #[test]
    fn fuzz_command_body_parser(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            (
                prop_oneof![Just(json!(null)), any::<i64>().prop_map(Value::from), "\\PC{0,40}".prop_map(Value::from)],
                prop_oneof![Just(json!(null)), any::<i64>().prop_map(Value::from), (0i64..4000).prop_map(Value::from),
                            any::<f64>().prop_map(Value::from), "[0-9]{0,4}".prop_map(Value::from)],
                prop::collection::btree_map("[a-z]{1,8}", any::<i32>(), 0..3),
            )
                .prop_map(|(command, timeout, extra)| {
                    let mut body = serde_json::Map::new();
                    body.insert("command".into(), command);
                    body.insert("timeout".into(), timeout);
                    body.extend(extra.into_iter().map(|(k, v)| (k, Value::from(v))));
                    serde_json::to_vec(&body).unwrap()
                }),
        ],
    ) {
        match parse_request(&body) {
            Ok(request) => {
                let chars = request.command.chars().count();
                prop_assert!((1..=MAX_COMMAND_CHARS).contains(&chars));
                let seconds = i64::try_from(request.timeout.as_secs()).unwrap();
                prop_assert!(TIMEOUT_RANGE_SECS.contains(&seconds));
            }
            Err(error) => {
                prop_assert_eq!(error.code.as_str(), "ValidationException");
                prop_assert!(error.reason.is_some());
            }
        }
    }
}

/// A client that goes away while its command prints nothing: the command is killed at once, not
/// left running until its timeout.
#[tokio::test]
async fn a_silent_command_is_killed_when_its_client_goes_away() {
    let t = DataLab::start(commands_config()).await;
    let arn = t.ready_runtime("left_agent", 900, 28_800).await;
    let session = sid("left");
    let mut out = command(&t, &arn, &session, "echo $$; exec sleep 300", None).send().await.unwrap();
    let command_pid = first_line_pid(&mut out).await;
    drop(out);
    wait_gone(&[command_pid]).await;
}

/// The pid a command (`echo $$; …`) prints on its first line, read from its stream (bounded).
async fn first_line_pid(out: &mut InvokeAgentRuntimeCommandOutput) -> u32 {
    let mut first_line = String::new();
    let first = async {
        while !first_line.ends_with('\n') {
            let event = out.stream.recv().await.expect("events").expect("more events");
            if let Some(delta) = event.as_chunk().expect("a chunk").content_delta() {
                first_line.push_str(delta.stdout().unwrap_or_default());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), first).await.expect("the command prints its pid");
    first_line.trim().parse().expect("the shell's pid")
}
