//! Python peers: the AWS CLI and boto3 against the `agentcore-local` binary, an EC2 conformance
//! run of the same boto3 scenario against moto's server and against agentcore-local, and every served
//! operation checked against botocore's service models (`model_conformance.py`).
//!
//! The venv comes from `cargo xtask test` (`AGENTCORE_LAB_VENV`, else `<workspace>/target/test-venv`);
//! the scripts live in `tests/py/`. Every server binds 127.0.0.1 and every process is killed on drop.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use test_support::process::Server;
use test_support::python::{start_moto, venv};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The folder the tests here share for logs and scripts' files.
fn scratch_dir() -> PathBuf {
    test_support::scratch::shared_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "python-peers")
}

/// Runs `tests/py/<script> <server URL>` with the venv's Python and a clean AWS environment; returns
/// its JSON output.
pub(crate) fn run_script(venv: &Path, script: &str, server: &Server) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py").join(script);
    test_support::python::run_script(venv, &script, server, &scratch_dir())
}

/// `agentcore-local --listen 127.0.0.1:0`, ready once it printed its listening line.
pub(crate) fn start_agentcore_local(name: &str) -> Server {
    start_agentcore_local_with(name, &[])
}

/// [`start_agentcore_local`] with more flags.
fn start_agentcore_local_with(name: &str, extra: &[&str]) -> Server {
    let log = scratch_dir().join(format!("{name}-agentcore-local.log"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentcore-local"))
        // 20x: CREATING → READY (5 s of service time) takes 0.25 s.
        .args(["--listen", "127.0.0.1:0", "--time-scale", "20"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&log).expect("create the server log"))
        .spawn()
        .expect("start agentcore-local");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, first_line) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = lines.send(line);
        // Keep draining so the server never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let mut server = Server { child, url: String::new(), log };
    let line = first_line.recv_timeout(STARTUP_TIMEOUT).unwrap_or_else(|_| {
        panic!("agentcore-local printed no listening line within {STARTUP_TIMEOUT:?}; log: {}", server.log.display())
    });
    let url = line
        .trim_end()
        .strip_prefix("agentcore-local listening on ")
        .unwrap_or_else(|| panic!("unexpected first stdout line {line:?}; log: {}", server.log.display()));
    assert!(url.starts_with("http://127.0.0.1:"), "not loopback: {url}");
    server.url = url.to_string();
    server
}

/// What both client scenarios must see: 3 runtimes READY, 2 shared `agentic_ai` ENIs in use (one per
/// subnet), the security group refused for deletion while they exist.
fn assert_two_shared_enis(summary: &Value) {
    assert_eq!(summary["runtime_statuses"], json!(["READY", "READY", "READY"]), "{summary:#}");
    assert_eq!(summary["listed_runtimes"], 3, "{summary:#}");
    let enis = summary["enis"].as_array().expect("enis");
    assert_eq!(enis.len(), 2, "3 runtimes x 2 subnets x 1 SG → 2 ENIs: {summary:#}");
    for (index, eni) in enis.iter().enumerate() {
        assert_eq!(eni["SubnetIndex"], index, "one ENI per subnet: {summary:#}");
        assert_eq!(eni["InterfaceType"], "agentic_ai", "{summary:#}");
        assert_eq!(eni["Status"], "in-use", "{summary:#}");
    }
}

#[test]
fn boto3_creates_vpc_runtimes_and_sees_their_shared_enis() {
    let venv = venv();
    let server = start_agentcore_local("boto3");
    let summary = run_script(&venv, "boto3_scenario.py", &server);
    assert_two_shared_enis(&summary);
    for eni in summary["enis"].as_array().unwrap() {
        assert_eq!(eni["RequesterManaged"], true, "{summary:#}");
        assert_eq!(eni["VpcMatches"], true, "{summary:#}");
        assert_eq!(eni["Groups"], json!([true]), "{summary:#}");
        assert_eq!(eni["ManagedTag"], "true", "{summary:#}");
        assert_eq!(eni["AttachmentOwner"], "amazon-aws", "{summary:#}");
        assert_eq!(eni["AttachmentDeviceIndex"], 1, "{summary:#}");
        assert_eq!(eni["AttachmentIdPrefix"], "ela-attach-", "{summary:#}");
    }
    assert_eq!(summary["delete_security_group_while_enis_exist"], "DependencyViolation", "{summary:#}");
    assert_eq!(summary["enis_after_runtimes_deleted"], 2, "ENIs linger after their runtimes are deleted: {summary:#}");
}

#[test]
fn aws_cli_creates_vpc_runtimes_and_sees_their_shared_enis() {
    let venv = venv();
    let server = start_agentcore_local("aws-cli");
    let summary = run_script(&venv, "cli_scenario.py", &server);
    assert_two_shared_enis(&summary);
    assert_eq!(
        summary["delete_security_group_error"],
        "An error occurred (DependencyViolation) when calling the DeleteSecurityGroup operation: \
         resource <sg> has a dependent object",
        "{summary:#}"
    );
}

/// One place where moto 5.2.5 is not real EC2 while agentcore-local follows real EC2.
struct MotoDeviation {
    /// Steps whose name starts with this.
    step_prefix: &'static str,
    /// JSON pointer inside the step's record (`/ok/Status`), or `""` for the whole record.
    pointer: &'static str,
    /// What real EC2 answers there — agentcore-local must answer exactly this.
    real_ec2: Value,
    /// What moto answers instead and why it is wrong.
    why: &'static str,
}

/// Moto 5.2.5 behaviour that differs from real EC2. Each entry is checked on agentcore-local (it
/// must give the real-EC2 value) and then blanked on both sides before the outputs are compared.
fn moto_deviations() -> Vec<MotoDeviation> {
    vec![
        MotoDeviation {
            step_prefix: "create_network_interface ",
            pointer: "/ok/Status",
            real_ec2: json!("pending"),
            why: "CreateNetworkInterface answers `pending` on real EC2 (the AWS CLI's own \
                  examples, awscli/examples/ec2/create-network-interface.rst, show \"Status\": \
                  \"pending\"); moto answers `available` at once",
        },
        MotoDeviation {
            step_prefix: "describe_network_interfaces MaxResults=5 pages",
            pointer: "/ok",
            real_ec2: json!({"page_sizes": [5, 1], "all_once": true}),
            why: "moto ignores MaxResults/NextToken on DescribeNetworkInterfaces and returns all \
                  6 ENIs in one page",
        },
        MotoDeviation {
            step_prefix: "describe_network_interfaces MaxResults with NetworkInterfaceIds",
            pointer: "",
            real_ec2: json!({
                "step": "describe_network_interfaces MaxResults with NetworkInterfaceIds",
                "error": {
                    "code": "InvalidParameterCombination",
                    "message": "The parameter NetworkInterfaceIds cannot be used with the parameter MaxResults",
                    "status": 400,
                },
            }),
            why: "the EC2 API reference says MaxResults cannot be combined with \
                  NetworkInterfaceIds; moto accepts the combination",
        },
        MotoDeviation {
            step_prefix: "delete_security_group in use",
            pointer: "",
            real_ec2: json!({
                "step": "delete_security_group in use",
                "error": {
                    "code": "DependencyViolation",
                    "message": "resource sg#2 has a dependent object",
                    "status": 400,
                },
            }),
            why: "real EC2 refuses to delete a security group a network interface uses \
                  (DeleteSecurityGroup API reference); moto deletes it",
        },
        MotoDeviation {
            step_prefix: "delete_security_group sg#",
            pointer: "",
            // Filled in per step below: `{"ok": {"GroupId": "sg#N", "Return": true}}`.
            real_ec2: Value::Null,
            why: "real EC2's DeleteSecurityGroup result carries `return` and `groupId` (EC2 API \
                  model, botocore 1.44.8); moto returns neither, and (following the previous \
                  deviation) answers InvalidGroup.NotFound for the group it already deleted",
        },
        MotoDeviation {
            step_prefix: "describe_vpcs after delete",
            pointer: "/error/message",
            real_ec2: json!("The vpc ID 'vpc#1' does not exist"),
            why: "moto's InvalidVpcID.NotFound message prints a Python set (\"VpcID {'vpc-…'} \
                  does not exist.\")",
        },
    ]
}

/// moto picks ENI addresses with `random.getrandbits` over the whole CIDR (moto/ec2/utils.py
/// `random_private_ip`): it can hand out the 5 addresses AWS reserves in every subnet and does not
/// check for duplicates. Real EC2 (and agentcore-local) hand out distinct usable host addresses. So
/// `{"usable_in_subnet": …}` and the distinctness step are checked on agentcore-local only.
fn blank_private_ip_checks(steps: &mut [Value], server: &str, check: bool) {
    fn walk(value: &mut Value, server: &str, check: bool) {
        match value {
            Value::Object(map) => {
                if let Some(ip) = map.get_mut("PrivateIpAddress")
                    && ip.get("usable_in_subnet").is_some()
                {
                    if check {
                        assert_eq!(ip["usable_in_subnet"], true, "{server}: unusable ENI address");
                    }
                    *ip = json!("<checked on agentcore-local only: moto picks random addresses>");
                }
                map.values_mut().for_each(|v| walk(v, server, check));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, server, check)),
            _ => {}
        }
    }
    for step in steps {
        if step["step"] == "private IPs are distinct" {
            if check {
                assert_eq!(step["ok"], true, "{server}: ENI addresses must be distinct");
            }
            step["ok"] = json!("<checked on agentcore-local only>");
        }
        walk(step, server, check);
    }
}

fn steps_of(output: &Value, server: &str) -> Vec<Value> {
    output["steps"].as_array().unwrap_or_else(|| panic!("{server}: no steps in {output:#}")).clone()
}

#[test]
fn ec2_scenario_agrees_with_moto_except_where_moto_is_not_ec2() {
    let venv = venv();
    let moto = start_moto(&venv, &scratch_dir());
    let local = start_agentcore_local("conformance");
    // Both servers at once: the scenario takes about a second against each.
    let (moto_output, local_output) = std::thread::scope(|s| {
        let moto_run = s.spawn(|| run_script(&venv, "ec2_conformance.py", &moto));
        let local_output = run_script(&venv, "ec2_conformance.py", &local);
        (moto_run.join().expect("moto run"), local_output)
    });
    let mut moto_steps = steps_of(&moto_output, "moto");
    let mut local_steps = steps_of(&local_output, "agentcore-local");
    let names = |steps: &[Value]| -> Vec<String> {
        steps.iter().map(|s| s["step"].as_str().unwrap_or_default().to_string()).collect()
    };
    assert_eq!(names(&moto_steps), names(&local_steps), "both runs take the same steps");

    blank_private_ip_checks(&mut local_steps, "agentcore-local", true);
    blank_private_ip_checks(&mut moto_steps, "moto", false);

    let mut applied: BTreeMap<&str, usize> = BTreeMap::new();
    for deviation in moto_deviations() {
        for (local_step, moto_step) in local_steps.iter_mut().zip(moto_steps.iter_mut()) {
            let name = local_step["step"].as_str().unwrap_or_default().to_string();
            if !name.starts_with(deviation.step_prefix) {
                continue;
            }
            let expected = if deviation.real_ec2.is_null() {
                // DeleteSecurityGroup: {"ok": {"GroupId": <the group>, "Return": true}}.
                let group = name.rsplit(' ').next().unwrap_or_default();
                json!({"step": name, "ok": {"GroupId": group, "Return": true}})
            } else {
                deviation.real_ec2.clone()
            };
            assert_eq!(
                local_step.pointer(deviation.pointer),
                Some(&expected),
                "agentcore-local deviates from real EC2 at step {name:?} {:?} (an agentcore-local \
                 bug, not a moto difference); its record: {local_step:#}",
                deviation.pointer
            );
            let blank = json!(format!("<moto deviates: {}>", deviation.step_prefix.trim()));
            *local_step.pointer_mut(deviation.pointer).expect("checked above") = blank.clone();
            if let Some(moto_value) = moto_step.pointer_mut(deviation.pointer) {
                assert_ne!(
                    *moto_value, expected,
                    "moto now matches real EC2 at {name:?}; drop this deviation: {}",
                    deviation.why
                );
                *moto_value = blank;
            } else {
                // moto's record lacks the field (e.g. an error where EC2 answers): blank the step.
                *moto_step = json!({"step": name, "blank": blank});
                *local_step = moto_step.clone();
            }
            *applied.entry(deviation.step_prefix).or_default() += 1;
        }
    }
    for deviation in moto_deviations() {
        assert!(applied.contains_key(deviation.step_prefix), "deviation {:?} matched no step", deviation.step_prefix);
    }

    let differing: Vec<String> = local_steps
        .iter()
        .zip(&moto_steps)
        .filter(|(local, moto)| local != moto)
        .map(|(local, moto)| format!("agentcore-local: {local:#}\nmoto: {moto:#}"))
        .collect();
    assert!(
        differing.is_empty(),
        "agentcore-local and moto disagree beyond the documented moto deviations \
         ({} steps); if moto is right, agentcore-local has a bug:\n{}",
        differing.len(),
        differing.join("\n---\n")
    );
}

/// The seed experiment's agent, exactly as `seed-experiment.md` describes it (FastAPI + uvicorn:
/// `GET /ping` → `{"status": "ok"}`, `POST /invocations` → `{"echo": <request JSON>}`).
const SEED_FASTAPI_APP: &str = include_str!("../../../dummy-agent/seed_fastapi_app.py");

/// What `boto3_invoke.py` must see with any echo agent behind `--max-vms 4`.
fn assert_boto3_invocations(summary: &Value) {
    let answers = summary["answers"].as_array().expect("answers");
    assert_eq!(answers.len(), 12, "{summary:#}");
    for a in answers {
        let expected = json!({"echo": {"prompt": format!("call {}", a["n"]), "session": a["session"]}});
        assert_eq!(a["answer"], expected, "{summary:#}");
    }
    let live: Vec<String> = (0..4).map(|i| format!("boto3-session-{i:030}")).collect();
    assert_eq!(summary["live_sessions"], json!(live), "four sessions, each one microVM: {summary:#}");
    assert_eq!(
        summary["fifth_session"],
        json!({"code": "ServiceQuotaExceededException", "message": "maxVms limit exceeded for account 123456789012", "status": 402}),
        "{summary:#}"
    );
    assert_eq!(summary["after_stop"], json!({"echo": {"prompt": "call 1", "session": 4}}), "{summary:#}");
}

#[test]
fn boto3_invokes_concurrently_through_dummy_agent_microvms() {
    let venv = venv();
    let agent = format!("'{}' agent", env!("CARGO_BIN_EXE_agentcore-local"));
    let server = start_agentcore_local_with("boto3-invoke", &["--max-vms", "4", "--agent-cmd", &agent]);
    assert_boto3_invocations(&run_script(&venv, "boto3_invoke.py", &server));
}

#[test]
fn boto3_gets_the_agent_card_and_runs_commands() {
    let venv = venv();
    let agent = format!("'{}' agent", env!("CARGO_BIN_EXE_agentcore-local"));
    let server = start_agentcore_local_with("boto3-commands", &["--allow-commands", "--agent-cmd", &agent]);
    let seen = run_script(&venv, "boto3_commands.py", &server);
    let session = "boto3-commands-session-00000000000000";
    assert_eq!(seen["card"]["session"], session, "{seen:#}");
    assert_eq!(seen["card"]["status"], 200, "{seen:#}");
    assert_eq!(seen["card"]["card"]["name"], "dummy-agent", "{seen:#}");
    assert_eq!(seen["card"]["card"]["skills"][0]["id"], "echo", "{seen:#}");
    for run in ["command", "timed_out"] {
        assert_eq!(seen[run]["content_type"], "application/vnd.amazon.eventstream", "{seen:#}");
        assert_eq!(seen[run]["session"], session, "{seen:#}");
        assert_eq!(seen[run]["events"][0], json!({"contentStart": {}}), "{seen:#}");
    }
    let events = seen["command"]["events"].as_array().unwrap();
    let text = |member: &str| -> String { events.iter().filter_map(|e| e["contentDelta"][member].as_str()).collect() };
    assert_eq!((text("stdout"), text("stderr")), ("hi\n".to_string(), "err\n".to_string()), "{seen:#}");
    assert_eq!(events.last().unwrap(), &json!({"contentStop": {"exitCode": 3, "status": "COMPLETED"}}));
    let timed_out = seen["timed_out"]["events"].as_array().unwrap();
    assert_eq!(timed_out.last().unwrap(), &json!({"contentStop": {"exitCode": -1, "status": "TIMED_OUT"}}));
}

/// `config` with `tests/py/busy_agent.py` (the venv's Python, standard library only) as the agent:
/// `/ping` always `HealthyBusy`, `POST` echoes, any other `GET` 404.
fn with_busy_agent(config: agentcore_local::Config) -> agentcore_local::Config {
    let busy_agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/busy_agent.py");
    let python = venv().join("bin").join("python");
    let agent = agentcore_local::AgentCommand::new(&python, [busy_agent.display().to_string()]);
    agentcore_local::Config { agent_command: Some(agent), ..config }
}

#[tokio::test]
async fn get_agent_card_of_an_agent_without_a_card_is_a_runtime_client_error() {
    use crate::data::{DataLab, data_config, sid};
    use crate::support::{code, http_status};
    let t = DataLab::start(with_busy_agent(data_config())).await;
    let arn = t.ready_runtime("cardless_agent", 900, 28_800).await;
    let err =
        t.data.get_agent_card().agent_runtime_arn(&arn).runtime_session_id(sid("cardless")).send().await.unwrap_err();
    assert_eq!(http_status(&err), 424);
    assert_eq!(
        code(err.as_service_error().unwrap()),
        (
            "RuntimeClientError".into(),
            "Received error (404) from runtime. Please check your CloudWatch logs for more information.".into()
        )
    );
    assert_eq!(t.counter("agentErrors"), 1);
}

#[test]
fn the_reports_fastapi_agent_runs_as_agent_cmd() {
    let venv = venv();
    let app_dir = scratch_dir().join("seed-fastapi");
    std::fs::create_dir_all(&app_dir).expect("create the app dir");
    std::fs::write(app_dir.join("app.py"), SEED_FASTAPI_APP).expect("write app.py");
    // The report's container command as it is (`uvicorn app:app --host 0.0.0.0 --port 8080`), every microVM
    // in its own network namespace; only the app's directory is added, as the image's WORKDIR.
    require_namespaces();
    let agent = format!(
        "'{}' -m uvicorn app:app --host 0.0.0.0 --port 8080 --app-dir '{}'",
        venv.join("bin").join("python").display(),
        app_dir.display()
    );
    let flags = ["--isolation", "netns", "--max-vms", "4", "--agent-cmd", &agent];
    let server = start_agentcore_local_with("fastapi-agent", &flags);
    assert_boto3_invocations(&run_script(&venv, "boto3_invoke.py", &server));
    drop(server);

    // 50 sessions at once, each its own uvicorn on port 8080 in its own network namespace, started
    // within the default new-sessions quota (25 a second) by boto3's retries.
    let flags = ["--isolation", "netns", "--max-vms", "50", "--agent-cmd", &agent];
    let server = start_agentcore_local_with("fastapi-50", &flags);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/boto3_sessions.py");
    let summary = test_support::python::run_script_with(&venv, &script, &server, &scratch_dir(), &[("SESSIONS", "50")]);
    let answers = summary["answers"].as_array().expect("answers");
    assert_eq!(answers.len(), 50, "{summary:#}");
    for a in answers {
        assert_eq!(a["answer"], json!({"echo": {"prompt": format!("hello {}", a["i"])}}), "{summary:#}");
    }
    assert_eq!(summary["live_sessions"].as_array().unwrap().len(), 50, "fifty microVMs: {summary:#}");
}

/// Fails, saying so, where the kernel refuses unprivileged namespaces (never skips).
fn require_namespaces() {
    if let Err(why) = agentcore_local::data::netns::probe(Path::new(env!("CARGO_BIN_EXE_agentcore-local"))) {
        panic!("this test needs unprivileged user and network namespaces, which this machine refuses: {why}");
    }
}

/// Runs `tests/py/<client>` against an agentcore-local whose microVMs run `tests/py/<agent>` with the
/// venv's Python, each in its own network namespace (the agent on the contract's port, as on AWS).
fn run_against_python_agent(name: &str, agent: &str, client: &str) -> Value {
    require_namespaces();
    let venv = venv();
    let agent_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py").join(agent);
    let agent = format!("'{}' '{}'", venv.join("bin").join("python").display(), agent_file.display());
    let server = start_agentcore_local_with(name, &["--isolation", "netns", "--agent-cmd", &agent]);
    run_script(&venv, client, &server)
}

/// AWS's Python SDK agent, unmodified (`app.run()` on 8080, no PORT read), 20 sessions at once
/// through boto3, JSON and streamed, each microVM in its own network namespace.
#[test]
fn the_python_sdk_agent_runs_unmodified_in_20_concurrent_sessions() {
    let summary = run_against_python_agent("sdk-agent", "sdk_agent.py", "boto3_sdk_agent.py");
    let sessions = summary["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 20, "{summary:#}");
    for s in sessions {
        let i = s["i"].as_u64().unwrap();
        let expected = json!({"echo": {"prompt": format!("hello {i}")}, "port": "8080"});
        assert_eq!(s["json"], expected, "{summary:#}");
        if i % 4 == 0 {
            let events: Vec<Value> = (0..3).map(|n| json!({"chunk": n, "of": 3})).collect();
            assert_eq!(s["stream"]["events"], json!(events), "the generator's events, streamed: {summary:#}");
            assert!(s["stream"]["content_type"].as_str().unwrap().starts_with("text/event-stream"), "{summary:#}");
        }
    }
}

/// The SDK agent's `@app.websocket` through `/runtimes/{arn}/ws`, opened with the URL and headers
/// `AgentCoreRuntimeClient` generates: SigV4 headers and a presigned URL each echo three messages with
/// their session id; a presigned URL whose session id was changed is refused.
#[test]
fn websockets_open_with_the_python_sdks_signed_and_presigned_urls() {
    let summary = run_against_python_agent("sdk-websocket", "sdk_agent.py", "sdk_websocket.py");
    for form in ["signed", "presigned"] {
        let session = summary[form]["session_id"].as_str().expect("session id");
        let expected: Vec<Value> =
            (0..3).map(|i| json!({"echo": format!("message {i}"), "session": session})).collect();
        let echoes: Vec<Value> = summary[form]["echoes"]
            .as_array()
            .expect("echoes")
            .iter()
            .map(|text| serde_json::from_str(text.as_str().expect("a text message")).expect("JSON"))
            .collect();
        assert_eq!(echoes, expected, "{form}: {summary:#}");
        assert_eq!(summary[form]["host"], "bedrock-agentcore.us-east-1.amazonaws.com", "{summary:#}");
    }
    assert!(summary["signed"]["signed_headers"].as_array().unwrap().contains(&json!("Authorization")), "{summary:#}");
    assert_eq!(summary["presigned"]["query_auth"], true, "{summary:#}");
    assert_eq!(summary["tampered"]["status"], 403, "a changed presigned URL is refused: {summary:#}");
    assert!(
        summary["tampered"]["body"].as_str().unwrap().contains("signature we calculated does not match"),
        "{summary:#}"
    );
}

/// An MCP server made with the official `mcp` package (FastMCP, streamable HTTP, as AWS's guide
/// writes it) on `serverProtocol: MCP` runtimes, used by the official `mcp` client through the data
/// plane: tools listed and called; every call of one client session reaches the same microVM
/// (`Mcp-Session-Id` affinity), for a stateless server (the platform's id) and a stateful one (the
/// server's own); two client sessions get two microVMs.
#[test]
fn the_official_mcp_client_uses_an_mcp_server_through_the_data_plane() {
    let summary = run_against_python_agent("mcp", "mcp_server.py", "mcp_client.py");
    for mode in ["stateless", "stateful"] {
        let sessions = summary[mode].as_array().expect("client sessions");
        assert_eq!(sessions.len(), 2, "{summary:#}");
        let mut microvms = Vec::new();
        for session in sessions {
            assert_eq!(session["tools"], json!(["add_numbers", "microvm"]), "{mode}: {summary:#}");
            assert_eq!(session["sum"], "42", "{mode}: {summary:#}");
            let seen = session["microvms"].as_array().expect("microvm answers");
            assert!(seen.iter().all(|m| *m == seen[0]), "{mode}: one client session, one microVM: {summary:#}");
            assert!(session["mcp_session_id"].is_string(), "{mode}: the client got an Mcp-Session-Id: {summary:#}");
            microvms.push(seen[0].clone());
        }
        assert_ne!(microvms[0], microvms[1], "{mode}: two client sessions, two microVMs: {summary:#}");
    }
    let stateless_id = summary["stateless"][0]["mcp_session_id"].as_str().unwrap();
    assert!(
        stateless_id.len() >= 33,
        "the platform's id (a runtime session id) for a stateless server: {stateless_id}"
    );
}

/// An A2A agent made with the official `a2a-sdk` on an `serverProtocol: A2A` runtime: its card fetched
/// through GetAgentCard by the SDK's card resolver, then `message/send` by the SDK's client to the
/// card's URL (the data plane), answered by the agent.
#[test]
fn the_official_a2a_client_fetches_the_card_and_talks_to_an_a2a_agent() {
    let summary = run_against_python_agent("a2a", "a2a_server.py", "a2a_client.py");
    assert_eq!(summary["card"]["name"], "echo", "{summary:#}");
    assert_eq!(summary["card"]["url"], summary["runtime_url"], "the card names the runtime's URL: {summary:#}");
    let answers = summary["answers"].as_array().expect("answers");
    assert_eq!(answers.len(), 1, "{summary:#}");
    assert!(answers[0].as_str().unwrap().starts_with("echo: hello ("), "{summary:#}");
}

/// AG-UI on an `serverProtocol: AGUI` runtime: the SDK's `AGUIApp` agent answers one run over SSE
/// (InvokeAgentRuntime) and one over `/ws` (a presigned `AgentCoreRuntimeClient` URL), and every event
/// of both parses as the `ag-ui-protocol` package's own event models, in the protocol's order.
#[test]
fn ag_ui_runs_stream_over_sse_and_websocket() {
    let summary = run_against_python_agent("agui", "agui_agent.py", "agui_client.py");
    let order = ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED"];
    for (transport, said) in [("sse", "over SSE"), ("ws", "over WebSocket")] {
        assert_eq!(summary[transport]["types"], json!(order), "{transport}: {summary:#}");
        let session = summary[format!("{transport}_session")].as_str().unwrap();
        assert_eq!(summary[transport]["text"], format!("echo: {said} ({session})"), "{transport}: {summary:#}");
    }
    assert!(summary["sse"]["content_type"].as_str().unwrap().starts_with("text/event-stream"), "{summary:#}");
}

/// What reaches the agent: a custom header only when `requestHeaderAllowlist` lists it, never
/// `Authorization` or `x-amz-*`; the session id, the call's request id and trace headers always; and
/// the path the protocol has (`/invocations`, `/mcp`, `/`, or `protocolConfiguration.path`).
#[tokio::test]
async fn the_agent_gets_the_allowed_headers_on_its_protocols_path() {
    use aws_sdk_bedrockagentcorecontrol::types::{ProtocolConfiguration, RequestHeaderConfiguration, ServerProtocol};

    use crate::data::{DataLab, data_config, sid};
    let agent_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/headers_agent.py");
    let agent =
        agentcore_local::AgentCommand::new(venv().join("bin").join("python"), [agent_file.display().to_string()]);
    let t = DataLab::start(agentcore_local::Config { agent_command: Some(agent), ..data_config() }).await;
    const LISTED: &str = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Tenant";
    const UNLISTED: &str = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Other";
    let cases = [
        (ServerProtocol::Http, None, "/invocations"),
        (ServerProtocol::Mcp, None, "/mcp"),
        (ServerProtocol::A2A, None, "/"),
        (ServerProtocol::Agui, Some("/agui"), "/agui"),
    ];
    for (n, (protocol, path, expected_path)) in cases.into_iter().enumerate() {
        let mut protocol_configuration = ProtocolConfiguration::builder().server_protocol(protocol);
        if let Some(path) = path {
            protocol_configuration = protocol_configuration.path(path);
        }
        let out = t
            .lab
            .create_runtime(&format!("headers_{n}"))
            .protocol_configuration(protocol_configuration.build().unwrap())
            .request_header_configuration(RequestHeaderConfiguration::RequestHeaderAllowlist(vec![LISTED.into()]))
            .send()
            .await
            .unwrap();
        t.lab.advance(crate::support::STATUS_DELAY);
        let session = sid(&format!("headers-{n}"));
        let answer = t
            .invoke(out.agent_runtime_arn(), &session, json!({}))
            .trace_parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            .customize()
            .mutate_request(|request| {
                let headers = request.headers_mut();
                headers.insert(LISTED, "acme");
                headers.insert(UNLISTED, "nope");
                headers.insert("X-Amz-Custom-Thing", "nope");
            })
            .send()
            .await
            .expect("InvokeAgentRuntime");
        let body = answer.response.collect().await.unwrap().into_bytes();
        let seen: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(seen["path"], expected_path, "{seen:#}");
        let headers = &seen["headers"];
        assert_eq!(headers[LISTED.to_ascii_lowercase()], "acme", "a listed custom header: {seen:#}");
        assert!(headers.get(UNLISTED.to_ascii_lowercase()).is_none(), "an unlisted one: {seen:#}");
        assert!(headers.get("x-amz-custom-thing").is_none() && headers.get("x-amz-date").is_none(), "{seen:#}");
        assert!(headers.get("authorization").is_none(), "SigV4's Authorization never: {seen:#}");
        assert_eq!(headers["x-amzn-bedrock-agentcore-runtime-session-id"], session.as_str(), "{seen:#}");
        assert!(headers["x-amzn-bedrock-agentcore-runtime-request-id"].is_string(), "{seen:#}");
        assert_eq!(headers["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    }
}

#[tokio::test]
async fn a_healthy_busy_agent_is_never_reaped_as_idle() {
    use crate::data::{DataLab, fast_config, sid};
    let t = DataLab::start(with_busy_agent(fast_config())).await;
    // Idle timeout 60 s = 60 ms of wall time on this clock.
    let arn = t.ready_runtime("busy_agent", 60, 28_800).await;
    let session = sid("healthy-busy");
    let answer = t.echo(&arn, &session, json!({"work": "background"})).await;
    assert_eq!(answer, json!({"echo": {"work": "background"}}));
    let pid = t.pid_of(&session).expect("a live session");
    // 600 ms = ten idle timeouts without an invocation; /ping keeps saying HealthyBusy.
    tokio::time::sleep(Duration::from_millis(600)).await;
    t.handle().reap_due().await;
    assert_eq!(t.pid_of(&session), Some(pid), "HealthyBusy keeps the session");
    assert_eq!(t.counter("reapedIdle"), 0);
}

/// A problem `model_conformance.py` reports today, and why it is accepted for now.
struct KnownGap {
    service: &'static str,
    operation: &'static str,
    /// The script's problem string, exactly.
    problem: &'static str,
    why: &'static str,
}

/// Every problem the model conformance run may report (botocore 1.44.8). A problem not listed here
/// fails the test, and so does an entry that no longer happens (drop it once the gap is closed).
const KNOWN_GAPS: &[KnownGap] = &[];

#[test]
fn served_operations_conform_to_the_botocore_service_models() {
    let venv = venv();
    // InvokeAgentRuntimeCommand is served only with --allow-commands; the built-in agent (never a
    // stale dummy-agent binary next to the emulator) answers GetAgentCard.
    let agent = format!("'{}' agent", env!("CARGO_BIN_EXE_agentcore-local"));
    let server = start_agentcore_local_with("model-conformance", &["--allow-commands", "--agent-cmd", &agent]);
    // Step 4 of the script starts emulators of its own, one per round of injected errors.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/model_conformance.py");
    let bin = [("AGENTCORE_LOCAL_BIN", env!("CARGO_BIN_EXE_agentcore-local"))];
    let report = test_support::python::run_script_with(&venv, &script, &server, &scratch_dir(), &bin);
    let table = report["coverage_table"].as_str().expect("coverage_table");
    // Every error every served AgentCore operation models was answered, injected, as the model
    // writes it; the README quotes the count.
    let (answered, modeled) = (&report["modeled_errors"]["answered"], &report["modeled_errors"]["modeled"]);
    let agentcore_served: u64 = ["bedrock-agentcore-control", "bedrock-agentcore"]
        .iter()
        .map(|s| report["services"][s]["served"].as_u64().expect("served"))
        .sum();
    // Each AgentCore operation models at least 4 errors (access, throttling, internal, one more).
    assert!(modeled.as_u64().is_some_and(|m| m >= 4 * agentcore_served), "{modeled} for {agentcore_served}");
    assert_eq!(answered, modeled, "modeled errors answered as the model writes them");
    let sentence = format!("all {modeled} errors the {agentcore_served} served AgentCore operations model");
    let readme_text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme_text.contains(&sentence), "agentcore-local/README.md must say: {sentence}");
    println!("{table}");
    // The README quotes this table: it must be this run's.
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.contains(table.trim()), "agentcore-local/README.md must quote the coverage table:\n{table}");

    let services = report["services"].as_object().expect("services");
    let names: Vec<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(names, ["bedrock-agentcore", "bedrock-agentcore-control", "ec2"], "{table}");
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for (service, summary) in services {
        let served = summary["served"].as_u64().expect("served");
        let in_model = summary["in_model"].as_u64().expect("in_model");
        assert!(served > 0 && served <= in_model, "{service}: {served} served of {in_model}\n{table}");
        let operations = summary["operations"].as_object().expect("operations");
        assert_eq!(operations.len() as u64, in_model, "{service}: every modeled operation is reported");
        assert_eq!(operations.values().filter(|o| o["served"] == true).count() as u64, served, "{service}");
        for (operation, record) in operations {
            let problems = record["problems"].as_array().expect("problems");
            assert_eq!(record["ok"], record["served"] == true && problems.is_empty(), "{service} {operation}");
            for problem in problems {
                let problem = problem.as_str().expect("a problem is a string").to_string();
                seen.push((service.clone(), operation.clone(), problem));
            }
        }
    }

    // The script finds the EC2 actions by asking, not from a list: it must find exactly the table's.
    let ec2_served: Vec<&str> = services["ec2"]["operations"]
        .as_object()
        .expect("ec2 operations")
        .iter()
        .filter(|(_, record)| record["served"] == true)
        .map(|(name, _)| name.as_str())
        .collect();
    let mut actions = agentcore_local::ec2::ACTIONS.to_vec();
    actions.sort_unstable();
    assert_eq!(ec2_served, actions, "EC2 actions served by the emulator vs found by the script");

    let known = |s: &str, o: &str, p: &str| {
        KNOWN_GAPS.iter().any(|gap| gap.service == s && gap.operation == o && gap.problem == p)
    };
    let new_gaps: Vec<String> =
        seen.iter().filter(|(s, o, p)| !known(s, o, p)).map(|(s, o, p)| format!("{s} {o}: {p}")).collect();
    assert!(new_gaps.is_empty(), "operations that do not follow the model:\n{}\n{table}", new_gaps.join("\n"));
    let closed: Vec<String> = KNOWN_GAPS
        .iter()
        .filter(|gap| {
            !seen
                .iter()
                .any(|(s, o, p)| (s.as_str(), o.as_str(), p.as_str()) == (gap.service, gap.operation, gap.problem))
        })
        .map(|gap| format!("{} {}: {} ({})", gap.service, gap.operation, gap.problem, gap.why))
        .collect();
    assert!(closed.is_empty(), "known gaps that no longer happen; drop them from KNOWN_GAPS:\n{}", closed.join("\n"));
}

/// AWS's starter toolkit (`bedrock-agentcore-starter-toolkit`, the runtime client of `agentcore
/// launch/invoke/destroy`), unmodified, through its endpoint overrides: deploy, wait for the DEFAULT
/// endpoint, invoke (JSON and a server-sent-event stream), stop the session, redeploy by name (a
/// ConflictException the toolkit answers with an update that carries no network configuration),
/// invoke the new version, DEFAULT refused for deletion, destroy.
#[test]
fn the_starter_toolkit_deploys_invokes_redeploys_and_destroys() {
    let venv = venv();
    let agent = format!("'{}' agent", env!("CARGO_BIN_EXE_agentcore-local"));
    let server = start_agentcore_local_with("starter-toolkit", &["--agent-cmd", &agent]);
    let seen = run_script(&venv, "starter_toolkit.py", &server);

    let id = seen["deployed"]["id"].as_str().expect("an id");
    assert!(id.starts_with("toolkit_agent-"), "{seen}");
    assert!(seen["endpoint_arn"].as_str().unwrap().ends_with("/runtime-endpoint/DEFAULT"), "{seen}");
    assert_eq!(seen["endpoint"], serde_json::json!({"name": "DEFAULT", "status": "READY", "liveVersion": "1"}));
    assert_eq!(seen["json_answer"], serde_json::json!([r#"{"echo":{"prompt": "hello"}}"#]));
    let streamed = seen["stream_text"].as_str().unwrap();
    assert_eq!(streamed.matches("\"total\": 3").count(), 3, "three events: {streamed}");
    assert!(streamed.contains(r#""echo": {"prompt": "stream""#), "{streamed}");
    assert_eq!(seen["stop_status"], 200);

    assert_eq!(seen["redeployed"]["id"], id, "redeploying by name updates the same runtime: {seen}");
    assert_eq!(
        seen["runtime_after_redeploy"],
        serde_json::json!({"status": "READY", "version": "2", "networkMode": "PUBLIC"})
    );
    assert_eq!(seen["endpoint_after_redeploy"], serde_json::json!({"status": "READY", "liveVersion": "2"}));
    assert_eq!(seen["json_answer_after_redeploy"], serde_json::json!([r#"{"echo":{"prompt": "again"}}"#]));
    assert_eq!(seen["delete_default"], "ConflictException");
    assert_eq!(seen["destroyed"], true);
    assert_eq!(seen["agents_left"], serde_json::json!([]));
}
