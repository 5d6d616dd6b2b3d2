//! The data plane through the unmodified `aws-sdk-bedrockagentcore`: microVMs are real processes
//! of the built-in dummy agent (`agentcore-local agent`, which cargo always builds for these tests).

use std::time::{Duration, Instant};

use agentcore_local::{AgentCommand, Clock, Config, Fault, Handle};
use aws_config::retry::RetryConfig;
use aws_sdk_bedrockagentcore as data;
use aws_sdk_bedrockagentcore::primitives::Blob;
use aws_sdk_bedrockagentcorecontrol::types::LifecycleConfiguration;
use serde_json::{Value, json};

use crate::support::{Lab, STATUS_DELAY, code, http_status, sdk_config};

pub const ACCOUNT: &str = "123456789012";

/// The built-in dummy agent of the emulator binary.
pub fn builtin_agent() -> AgentCommand {
    AgentCommand::new(env!("CARGO_BIN_EXE_agentcore-local"), ["agent"])
}

/// A manual-clock config running the built-in agent.
pub fn data_config() -> Config {
    Config { agent_command: Some(builtin_agent()), ..crate::support::manual_config() }
}

/// A scaled-clock config (1 s of service time = 1 ms) running the built-in agent.
pub fn fast_config() -> Config {
    Config {
        clock: Clock::scaled(1000.0).unwrap(),
        status_delay: Duration::from_secs(1),
        agent_command: Some(builtin_agent()),
        ..Config::default()
    }
}

/// An emulator, its control-plane clients and a data-plane client with retries off.
pub struct DataLab {
    pub lab: Lab,
    pub data: data::Client,
}

impl DataLab {
    pub async fn start(config: Config) -> Self {
        let lab = Lab::start(config).await;
        let sdk = sdk_config(&lab.handle.endpoint_url()).await;
        let conf = data::config::Builder::from(&sdk).retry_config(RetryConfig::disabled()).build();
        Self { data: data::Client::from_conf(conf), lab }
    }

    pub fn handle(&self) -> &Handle {
        &self.lab.handle
    }

    /// A READY PUBLIC runtime with the given lifecycle; returns its ARN.
    pub async fn ready_runtime(&self, name: &str, idle: i32, max: i32) -> String {
        let out = self
            .lab
            .create_runtime(name)
            .lifecycle_configuration(
                LifecycleConfiguration::builder().idle_runtime_session_timeout(idle).max_lifetime(max).build(),
            )
            .send()
            .await
            .expect("CreateAgentRuntime");
        let id = out.agent_runtime_id().to_string();
        if self.handle().clock().scale().is_none() {
            self.lab.advance(STATUS_DELAY);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.lab.status(&id).await != "READY" {
            assert!(Instant::now() < deadline, "runtime {id} never became READY");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        out.agent_runtime_arn().to_string()
    }

    pub fn invoke(
        &self,
        arn: &str,
        session: &str,
        payload: Value,
    ) -> data::operation::invoke_agent_runtime::builders::InvokeAgentRuntimeFluentBuilder {
        self.data
            .invoke_agent_runtime()
            .agent_runtime_arn(arn)
            .runtime_session_id(session)
            .content_type("application/json")
            .accept("application/json")
            .payload(Blob::new(serde_json::to_vec(&payload).unwrap()))
    }

    /// Invokes and returns the JSON answer.
    pub async fn echo(&self, arn: &str, session: &str, payload: Value) -> Value {
        let out = self.invoke(arn, session, payload).send().await.expect("InvokeAgentRuntime");
        let body = out.response.collect().await.expect("the response body").into_bytes();
        serde_json::from_slice(&body).expect("a JSON answer")
    }

    pub fn sessions(&self) -> Vec<Value> {
        self.handle().snapshot()["dataPlane"]["sessions"].as_array().cloned().unwrap_or_default()
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.handle().snapshot()["dataPlane"]["counters"][name].as_u64().unwrap_or_else(|| panic!("counter {name}"))
    }

    pub fn pid_of(&self, session: &str) -> Option<u32> {
        self.sessions()
            .iter()
            .find(|s| s["runtimeSessionId"] == session)
            .and_then(|s| s["pid"].as_u64())
            .map(|p| p as u32)
    }

    /// Waits (bounded) until `done` holds.
    pub async fn wait_until(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A session id of `n` characters.
pub fn sid(tag: &str) -> String {
    format!("{tag:-<40}")
}

/// Waits (15 s at most) until every one of `pids` has exited.
pub async fn wait_gone(pids: &[u32]) {
    if let Err(running) = test_support::process::wait_all_exited(pids, Duration::from_secs(15)).await {
        panic!("processes still alive: {running:?}");
    }
}

#[tokio::test]
async fn echo_round_trip_through_a_microvm() {
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("echo_agent", 900, 28_800).await;
    let session = sid("echo");
    let out = t.invoke(&arn, &session, json!({"prompt": "hello"})).send().await.unwrap();
    assert_eq!(out.runtime_session_id(), Some(session.as_str()));
    assert_eq!(out.status_code(), Some(200));
    assert!(out.content_type().starts_with("application/json"), "{}", out.content_type());
    let body: Value = serde_json::from_slice(&out.response.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(body, json!({"echo": {"prompt": "hello"}}));

    // The runtime id with accountId addresses the same runtime.
    let id = arn.rsplit('/').next().unwrap();
    let out = t
        .data
        .invoke_agent_runtime()
        .agent_runtime_arn(id)
        .account_id(ACCOUNT)
        .runtime_session_id(&session)
        .payload(Blob::new(r#"{"n":1}"#))
        .content_type("application/json")
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&out.response.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(body, json!({"echo": {"n": 1}}));
    let sessions = t.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["status"], "READY");
    assert_eq!(t.counter("sessionsStarted"), 1);
}

#[tokio::test]
async fn sse_arrives_chunk_by_chunk() {
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("sse_agent", 900, 28_800).await;
    let out = t
        .invoke(&arn, &sid("sse"), json!({"_dummy": {"stream": 4, "sleep_ms": 600}}))
        .accept("text/event-stream")
        .send()
        .await
        .unwrap();
    assert!(out.content_type().starts_with("text/event-stream"), "{}", out.content_type());
    let mut stream = out.response;
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) =
        tokio::time::timeout(Duration::from_secs(10), stream.next()).await.expect("chunks keep coming")
    {
        let chunk = chunk.unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        arrivals.push(Instant::now());
    }
    assert_eq!(text.matches("data:").count(), 4, "{text}");
    assert!(arrivals.len() >= 3, "streamed in {} chunk(s): {text}", arrivals.len());
    let spread = *arrivals.last().unwrap() - arrivals[0];
    assert!(spread >= Duration::from_millis(250), "chunks were not streamed as produced: {spread:?}");
}

#[tokio::test]
async fn a_session_id_keeps_its_process_and_new_ones_get_their_own() {
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("reuse_agent", 900, 28_800).await;
    let (a, b) = (sid("a"), sid("b"));
    t.echo(&arn, &a, json!({"i": 1})).await;
    let pid_a = t.pid_of(&a).expect("a's pid");
    t.echo(&arn, &a, json!({"i": 2})).await;
    assert_eq!(t.pid_of(&a), Some(pid_a), "same session, same process");
    t.echo(&arn, &b, json!({"i": 3})).await;
    let pid_b = t.pid_of(&b).unwrap();
    assert_ne!(pid_a, pid_b);
    assert_eq!(t.counter("sessionsStarted"), 2);

    // Concurrent first calls on a new session share one start.
    let c = sid("c");
    let calls = (0..8).map(|i| t.echo(&arn, &c, json!({"i": i})));
    let answers = futures_util::future::join_all(calls).await;
    assert_eq!(answers.len(), 8);
    assert_eq!(t.counter("sessionsStarted"), 3, "one start for eight concurrent first calls");
}

#[tokio::test]
async fn quota_refuses_new_sessions_and_recovers_after_stop_and_reaping() {
    let t = DataLab::start(Config { max_vms: 2, ..data_config() }).await;
    let arn = t.ready_runtime("quota_agent", 60, 28_800).await;
    t.echo(&arn, &sid("q1"), json!({})).await;
    t.echo(&arn, &sid("q2"), json!({})).await;
    let err = t.invoke(&arn, &sid("q3"), json!({})).send().await.unwrap_err();
    assert_eq!(http_status(&err), 402);
    assert_eq!(
        code(err.as_service_error().unwrap()),
        ("ServiceQuotaExceededException".into(), format!("maxVms limit exceeded for account {ACCOUNT}"))
    );
    assert!(err.as_service_error().unwrap().is_service_quota_exceeded_exception());
    // An existing session still answers while the quota is full.
    t.echo(&arn, &sid("q1"), json!({})).await;
    assert_eq!(t.counter("refusedByQuota"), 1);

    // StopRuntimeSession frees a slot and terminates the process.
    let pid = t.pid_of(&sid("q1")).unwrap();
    let out = t.data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(sid("q1")).send().await.unwrap();
    assert_eq!(out.runtime_session_id(), Some(sid("q1").as_str()));
    wait_gone(&[pid]).await;
    t.echo(&arn, &sid("q3"), json!({})).await;

    // Both idle for the idle timeout: reaped on the next call, which then gets a slot.
    t.lab.advance(Duration::from_secs(60));
    t.echo(&arn, &sid("q4"), json!({})).await;
    assert_eq!(t.counter("reapedIdle"), 2);
    let live: Vec<String> = t.sessions().iter().map(|s| s["runtimeSessionId"].as_str().unwrap().to_string()).collect();
    assert_eq!(live, [sid("q4")]);

    // Stopping an unknown session is a ResourceNotFoundException.
    let err =
        t.data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(sid("none")).send().await.unwrap_err();
    assert_eq!(http_status(&err), 404);
    assert_eq!(code(err.as_service_error().unwrap()).0, "ResourceNotFoundException");
}

/// `cold_start` and `quota_refusal_delay` are service time, seen from the client: on a clock 100x
/// faster, 20 s of each take at least 200 ms of the client's time, for a new session's first call and
/// for a refusal; a call on a live session waits for neither. Only lower bounds: a slow machine can
/// only add time.
#[tokio::test]
async fn a_new_sessions_cold_start_and_a_quota_refusal_take_their_service_time() {
    let delay = Duration::from_secs(20);
    let config = Config {
        clock: Clock::scaled(100.0).unwrap(),
        cold_start: delay,
        quota_refusal_delay: delay,
        max_vms: 1,
        ..fast_config()
    };
    let t = DataLab::start(config).await;
    let arn = t.ready_runtime("timed_agent", 900, 28_800).await;
    let wall = Duration::from_millis(200);
    let started = std::time::Instant::now();
    t.echo(&arn, &sid("cold"), json!({})).await;
    let first = started.elapsed();
    assert!(first >= wall, "a new session's first call waits for its cold start: {first:?}");
    let started = std::time::Instant::now();
    let err = t.invoke(&arn, &sid("refused"), json!({})).send().await.unwrap_err();
    let refusal = started.elapsed();
    assert_eq!(code(err.as_service_error().unwrap()).0, "ServiceQuotaExceededException");
    assert!(refusal >= wall, "a refusal takes its delay: {refusal:?}");
    // The live session answers without either wait (no upper bound asserted: only that it is not
    // counted as a new session or a refusal).
    t.echo(&arn, &sid("cold"), json!({})).await;
    assert_eq!((t.counter("sessionsStarted"), t.counter("refusedByQuota")), (1, 1));
}

/// `session_teardown`: a stopped or reaped session's id answers `RetryableConflictException` until
/// its teardown time has passed on the service clock, then starts a new microVM; other ids are not
/// held up.
#[tokio::test]
async fn an_ended_session_is_torn_down_before_its_id_starts_a_new_microvm() {
    let teardown = Duration::from_secs(15);
    let t = DataLab::start(Config { session_teardown: teardown, ..data_config() }).await;
    let arn = t.ready_runtime("teardown_agent", 60, 28_800).await;
    t.echo(&arn, &sid("stopped"), json!({})).await;
    t.data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(sid("stopped")).send().await.unwrap();
    let err = t.invoke(&arn, &sid("stopped"), json!({})).send().await.unwrap_err();
    assert_eq!(http_status(&err), 409);
    let (code, message) = code(err.as_service_error().unwrap());
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("RetryableConflictException", "Session operation in progress, please retry")
    );
    t.echo(&arn, &sid("other"), json!({})).await;
    t.lab.advance(teardown - Duration::from_secs(1));
    assert!(t.invoke(&arn, &sid("stopped"), json!({})).send().await.is_err(), "still being torn down");
    t.lab.advance(Duration::from_secs(1));
    t.echo(&arn, &sid("stopped"), json!({})).await;
    assert_eq!(t.counter("sessionsStarted"), 3, "the stopped id got a new microVM");

    // Idle reaping tears down the same way (both sessions idle for 60 s).
    t.lab.advance(Duration::from_secs(60));
    t.echo(&arn, &sid("third"), json!({})).await;
    assert_eq!(t.counter("reapedIdle"), 2);
    let err = t.invoke(&arn, &sid("other"), json!({})).send().await.unwrap_err();
    assert_eq!(http_status(&err), 409);
}

#[tokio::test]
async fn idle_sessions_are_reaped_on_the_scaled_clock_and_busy_ones_are_not() {
    let t = DataLab::start(fast_config()).await;
    // 60 s of idleness = 60 ms of wall time.
    let arn = t.ready_runtime("idle_agent", 60, 28_800).await;
    let busy = sid("busy");
    let idle = sid("idle");
    t.echo(&arn, &idle, json!({})).await;
    let idle_pid = t.pid_of(&idle).unwrap();
    // An invocation of 600 ms (ten idle timeouts) keeps its session alive (HealthyBusy meanwhile).
    let started = Instant::now();
    let answer = t.echo(&arn, &busy, json!({"_dummy": {"sleep_ms": 600}})).await;
    assert_eq!(answer["echo"]["_dummy"]["sleep_ms"], 600);
    assert!(started.elapsed() >= Duration::from_millis(600));
    let busy_pid = t.pid_of(&busy).expect("the busy session outlived ten idle timeouts");
    // The idle one went long ago, with its process.
    assert_eq!(t.pid_of(&idle), None);
    wait_gone(&[idle_pid]).await;
    // Once idle, the busy one goes too.
    t.wait_until("the busy session is reaped once idle", |t| t.pid_of(&busy).is_none()).await;
    wait_gone(&[busy_pid]).await;
    assert!(t.counter("reapedIdle") >= 2);
    // The same id later starts a new process.
    t.echo(&arn, &idle, json!({})).await;
    assert!(t.pid_of(&idle).is_some_and(|p| p != idle_pid));
}

#[tokio::test]
async fn max_lifetime_ends_even_an_active_session() {
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("lifetime_agent", 60, 100).await;
    let s = sid("life");
    t.echo(&arn, &s, json!({})).await;
    let pid = t.pid_of(&s).unwrap();
    for _ in 0..2 {
        t.lab.advance(Duration::from_secs(45));
        t.echo(&arn, &s, json!({})).await;
        assert_eq!(t.pid_of(&s), Some(pid), "active within its lifetime");
    }
    t.lab.advance(Duration::from_secs(10)); // 100 s after the start
    t.handle().reap_due().await;
    assert_eq!(t.pid_of(&s), None);
    assert_eq!(t.counter("reapedMaxLifetime"), 1);
    wait_gone(&[pid]).await;
}

#[tokio::test]
async fn invalid_calls_get_aws_errors() {
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("valid_agent", 900, 28_800).await;
    for bad in ["short-session-id".to_string(), "x".repeat(257)] {
        let err = t.invoke(&arn, &bad, json!({})).send().await.unwrap_err();
        assert_eq!(http_status(&err), 400, "{bad}");
        let (code, message) = code(err.as_service_error().unwrap());
        assert_eq!(code, "ValidationException");
        assert!(message.contains("runtimeSessionId"), "{message}");
    }
    let big = vec![b' '; 100_000_001];
    let err = t
        .data
        .invoke_agent_runtime()
        .agent_runtime_arn(&arn)
        .runtime_session_id(sid("big"))
        .payload(Blob::new(big))
        .send()
        .await
        .unwrap_err();
    assert_eq!(http_status(&err), 400);
    let (code_, message) = code(err.as_service_error().unwrap());
    assert_eq!(code_, "ValidationException");
    assert!(message.contains("payload"), "{message}");

    let unknown = arn.replace("valid_agent-", "other_agent-");
    let err = t.invoke(&unknown, &sid("u"), json!({})).send().await.unwrap_err();
    assert_eq!(http_status(&err), 404);
    assert_eq!(code(err.as_service_error().unwrap()).0, "ResourceNotFoundException");
    let err = t.invoke(&arn, &sid("u"), json!({})).qualifier("canary").send().await.unwrap_err();
    assert_eq!(code(err.as_service_error().unwrap()).0, "ResourceNotFoundException");

    // Not READY yet.
    let creating = t.lab.create_runtime("creating_agent").send().await.unwrap().agent_runtime_arn().to_string();
    let err = t.invoke(&creating, &sid("c"), json!({})).send().await.unwrap_err();
    assert_eq!(http_status(&err), 409);
    assert_eq!(code(err.as_service_error().unwrap()).0, "RetryableConflictException");
    assert!(t.sessions().is_empty(), "no session for refused calls");
}

#[tokio::test]
async fn agents_that_fail_give_runtime_client_error() {
    // An agent answering 500.
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("failing_agent", 900, 28_800).await;
    let err = t.invoke(&arn, &sid("e"), json!({"_dummy": {"status": 500}})).send().await.unwrap_err();
    assert_eq!(http_status(&err), 424);
    assert_eq!(
        code(err.as_service_error().unwrap()),
        (
            "RuntimeClientError".into(),
            "Received error (500) from runtime. Please check your CloudWatch logs for more information.".into()
        )
    );
    assert!(err.as_service_error().unwrap().is_runtime_client_error());

    // An agent that never answers /ping: the health check times out.
    let never = Config {
        agent_command: Some(AgentCommand::new("sleep", ["30"])),
        agent_start_timeout: Duration::from_millis(300),
        ..data_config()
    };
    let t = DataLab::start(never).await;
    let arn = t.ready_runtime("silent_agent", 900, 28_800).await;
    let err = t.invoke(&arn, &sid("s"), json!({})).send().await.unwrap_err();
    assert_eq!(http_status(&err), 424);
    let (c, message) = code(err.as_service_error().unwrap());
    assert_eq!(c, "RuntimeClientError");
    assert!(message.starts_with("Runtime health check failed or timed out."), "{message}");
    assert!(t.sessions().is_empty(), "the failed start freed its slot");
    assert_eq!(t.counter("failedToStart"), 1);

    // No agent binary at all.
    let missing = Config {
        agent_command: Some(AgentCommand::new("/nonexistent/dummy-agent", Vec::<String>::new())),
        ..data_config()
    };
    let t = DataLab::start(missing).await;
    let arn = t.ready_runtime("missing_agent", 900, 28_800).await;
    let err = t.invoke(&arn, &sid("m"), json!({})).send().await.unwrap_err();
    assert_eq!(http_status(&err), 424);
    let (_, message) = code(err.as_service_error().unwrap());
    assert!(message.contains("/nonexistent/dummy-agent"), "{message}");
}

#[tokio::test]
async fn deleting_a_runtime_ends_its_sessions_and_dropping_the_handle_kills_every_microvm() {
    let t = DataLab::start(data_config()).await;
    let doomed = t.ready_runtime("doomed_agent", 900, 28_800).await;
    let kept = t.ready_runtime("kept_agent", 900, 28_800).await;
    t.echo(&doomed, &sid("d1"), json!({})).await;
    t.echo(&kept, &sid("k1"), json!({})).await;
    t.echo(&kept, &sid("k2"), json!({})).await;
    let doomed_pid = t.pid_of(&sid("d1")).unwrap();
    let kept_pids: Vec<u32> = [sid("k1"), sid("k2")].iter().map(|s| t.pid_of(s).unwrap()).collect();
    let id = doomed.rsplit('/').next().unwrap();
    t.lab.control.delete_agent_runtime().agent_runtime_id(id).send().await.unwrap();
    assert_eq!(t.pid_of(&sid("d1")), None);
    assert_eq!(t.counter("endedByRuntimeDeletion"), 1);
    wait_gone(&[doomed_pid]).await;
    assert!(kept_pids.iter().all(|&p| !test_support::process::exited(p)));

    drop(t);
    wait_gone(&kept_pids).await;
}

#[tokio::test]
async fn throttling_and_injected_faults() {
    let config = Config {
        invoke_tps: Some(3),
        faults: vec![
            "ec2:DescribeVpcs:RequestLimitExceeded:1".parse::<Fault>().unwrap(),
            "control:ListAgentRuntimes:InternalServerException:1".parse().unwrap(),
        ],
        ..data_config()
    };
    let t = DataLab::start(config).await;
    let arn = t.ready_runtime("throttled_agent", 900, 28_800).await;
    let mut throttled = 0;
    for i in 0..10 {
        match t.invoke(&arn, &sid("t"), json!({"i": i})).send().await {
            Ok(_) => {}
            Err(err) => {
                assert_eq!(http_status(&err), 429);
                assert_eq!(code(err.as_service_error().unwrap()).0, "ThrottlingException");
                throttled += 1;
            }
        }
    }
    assert!(
        throttled >= 4,
        "10 calls at 3 per second (a burst of 3, then one per 333 ms): at least 4 throttled, got {throttled}"
    );

    let sdk = sdk_config(&t.handle().endpoint_url()).await;
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&sdk).retry_config(RetryConfig::disabled()).build(),
    );
    let err = ec2.describe_vpcs().send().await.unwrap_err();
    assert_eq!(http_status(&err), 503);
    assert_eq!(
        code(err.as_service_error().unwrap()),
        ("RequestLimitExceeded".into(), "Request limit exceeded.".into())
    );
    ec2.describe_subnets().send().await.expect("other operations are untouched");
    let control = aws_sdk_bedrockagentcorecontrol::Client::from_conf(
        aws_sdk_bedrockagentcorecontrol::config::Builder::from(&sdk).retry_config(RetryConfig::disabled()).build(),
    );
    let err = control.list_agent_runtimes().send().await.unwrap_err();
    assert_eq!(http_status(&err), 500);
    assert_eq!(code(err.as_service_error().unwrap()).0, "InternalServerException");
}

#[tokio::test]
async fn sigterm_to_the_binary_leaves_no_microvm_behind() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let agent = format!("'{}' agent", env!("CARGO_BIN_EXE_agentcore-local"));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentcore-local"))
        .args(["--listen", "127.0.0.1:0", "--time-scale", "1000", "--status-delay", "0s", "--agent-cmd", &agent])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
    let url = line.strip_prefix("agentcore-local listening on ").unwrap().to_string();
    let sdk = sdk_config(&url).await;
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(&sdk);
    let data = data::Client::new(&sdk);
    let arn = control
        .create_agent_runtime()
        .agent_runtime_name("orphan_check")
        .agent_runtime_artifact(crate::support::container())
        .role_arn(crate::support::ROLE_ARN)
        .send()
        .await
        .unwrap()
        .agent_runtime_arn()
        .to_string();
    tokio::time::sleep(Duration::from_millis(50)).await; // READY after 0 s of service time
    for i in 0..3 {
        data.invoke_agent_runtime()
            .agent_runtime_arn(&arn)
            .runtime_session_id(sid(&format!("orphan{i}")))
            .payload(Blob::new("{}"))
            .send()
            .await
            .unwrap();
    }
    let state: Value = crate::support::local_state(&url).await;
    let pids: Vec<u32> =
        state["dataPlane"]["sessions"].as_array().unwrap().iter().map(|s| s["pid"].as_u64().unwrap() as u32).collect();
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|&p| !test_support::process::exited(p)));
    let kill =
        tokio::process::Command::new("kill").args(["-TERM", &child.id().unwrap().to_string()]).status().await.unwrap();
    assert!(kill.success());
    let status =
        tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exits after SIGTERM").unwrap();
    assert!(status.success(), "{status}");
    wait_gone(&pids).await;
}

/// `new_sessions_tps` (the binary's `--new-sessions-tps`, AWS's 25 new sessions per second): new
/// sessions beyond the rate are refused with ThrottlingException and start no microVM, while calls
/// on sessions already live go on.
#[tokio::test]
async fn new_sessions_beyond_their_rate_are_throttled_and_live_ones_are_not() {
    let t = DataLab::start(Config { new_sessions_tps: Some(1), ..data_config() }).await;
    let arn = t.ready_runtime("new_session_rate", 900, 28_800).await;
    let mut refused = 0;
    for i in 0..8 {
        if let Err(err) = t.invoke(&arn, &sid(&format!("new-{i}")), json!({})).send().await {
            assert_eq!(
                (http_status(&err), code(err.as_service_error().unwrap()).0),
                (429, "ThrottlingException".into())
            );
            refused += 1;
        }
    }
    // A burst of 1, then one a second: 8 new sessions within a few seconds see at least 4 refusals.
    assert!(refused >= 4, "{refused} refused");
    assert_eq!(t.counter("newSessionsThrottled"), refused);
    assert_eq!(t.sessions().len() as u64, 8 - refused, "a refused session starts no microVM");
    for _ in 0..5 {
        t.echo(&arn, &sid("new-0"), json!({"again": true})).await;
    }
}
