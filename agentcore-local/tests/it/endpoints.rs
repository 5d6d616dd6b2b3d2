//! Runtime endpoints and versions through the unmodified `aws-sdk-bedrockagentcorecontrol` and
//! `aws-sdk-bedrockagentcore`, on a manual clock: the `DEFAULT` endpoint, endpoints pinned to a
//! version, their status lifecycle, versions read and deleted one by one, the data plane's
//! `qualifier`, and the validation order that makes a taken name a `ConflictException`.

use aws_sdk_bedrockagentcorecontrol::types::{
    AgentRuntimeEndpointStatus, AgentRuntimeStatus, LifecycleConfiguration, NetworkConfiguration, NetworkMode,
};
use serde_json::{Value, json};

use crate::data::{DataLab, data_config, sid};
use crate::support::{Lab, STATUS_DELAY, SignOptions, code, http_status, sign, token, vpc_network};

fn public() -> NetworkConfiguration {
    NetworkConfiguration::builder().network_mode(NetworkMode::Public).build().unwrap()
}

/// Whether `id` has the model's endpoint id form: `<name>-` and 10 alphanumerics.
fn is_endpoint_id(id: &str, name: &str) -> bool {
    id.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|suffix| suffix.len() == 10 && suffix.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// UpdateAgentRuntime of `id` to a PUBLIC runtime with `lifecycle`; returns the new version.
async fn update(lab: &Lab, id: &str, lifecycle: Option<LifecycleConfiguration>) -> String {
    lab.update_runtime(id)
        .network_configuration(public())
        .set_lifecycle_configuration(lifecycle)
        .send()
        .await
        .expect("UpdateAgentRuntime")
        .agent_runtime_version()
        .to_string()
}

#[tokio::test]
async fn default_endpoint_exists_from_creation_and_follows_every_version() {
    let lab = Lab::manual().await;
    let created = lab.create_runtime("defaulted").send().await.unwrap();
    let id = created.agent_runtime_id().to_string();

    let default = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("DEFAULT").send().await;
    let default = default.unwrap();
    assert_eq!(default.name(), "DEFAULT");
    assert!(is_endpoint_id(default.id(), "DEFAULT"), "{}", default.id());
    assert_eq!(
        default.agent_runtime_endpoint_arn(),
        format!("{}/runtime-endpoint/DEFAULT", created.agent_runtime_arn())
    );
    assert_eq!(default.agent_runtime_arn(), created.agent_runtime_arn());
    assert_eq!(default.status(), &AgentRuntimeEndpointStatus::Creating);
    assert_eq!((default.live_version(), default.target_version()), (None, Some("1")));

    lab.advance(STATUS_DELAY);
    let default = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("DEFAULT").send().await;
    let default = default.unwrap();
    assert_eq!(default.status(), &AgentRuntimeEndpointStatus::Ready);
    assert_eq!((default.live_version(), default.target_version()), (Some("1"), None));
    let first_id = default.id().to_string();

    assert_eq!(update(&lab, &id, None).await, "2");
    let default = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("DEFAULT").send().await;
    let default = default.unwrap();
    assert_eq!(default.status(), &AgentRuntimeEndpointStatus::Updating);
    assert_eq!((default.live_version(), default.target_version()), (Some("1"), Some("2")));
    assert_eq!(default.id(), first_id, "the same endpoint, moving");
    lab.advance(STATUS_DELAY);
    let default = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("DEFAULT").send().await;
    let default = default.unwrap();
    assert_eq!((default.status(), default.live_version()), (&AgentRuntimeEndpointStatus::Ready, Some("2")));

    // DEFAULT goes only with the runtime, and only UpdateAgentRuntime moves it.
    let err = lab.control.delete_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("DEFAULT").send().await;
    let err = err.unwrap_err();
    assert_eq!(http_status(&err), 409);
    assert_eq!(
        code(&err),
        ("ConflictException".into(), "Default endpoints are removed when you delete the agent.".into())
    );
    let err = lab
        .control
        .update_agent_runtime_endpoint()
        .agent_runtime_id(&id)
        .endpoint_name("DEFAULT")
        .agent_runtime_version("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "ConflictException");
    let err = lab.control.create_agent_runtime_endpoint().agent_runtime_id(&id).name("DEFAULT").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ConflictException");

    lab.delete(&id).await;
    let default = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("DEFAULT").send().await;
    assert_eq!(default.unwrap().status(), &AgentRuntimeEndpointStatus::Deleting);
    lab.advance(STATUS_DELAY);
    let err = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("DEFAULT").send().await;
    let err = err.unwrap_err();
    assert_eq!((code(&err).0.as_str(), http_status(&err)), ("ResourceNotFoundException", 404));
}

#[tokio::test]
async fn endpoints_pin_a_version_and_move_only_when_updated() {
    let lab = Lab::manual().await;
    let created = lab.create_runtime("pinned").send().await.unwrap();
    let id = created.agent_runtime_id().to_string();
    lab.advance(STATUS_DELAY);
    assert_eq!(update(&lab, &id, None).await, "2");

    // While version 2 is being made: an endpoint on version 1, and one on the newest (2).
    let prod = lab
        .control
        .create_agent_runtime_endpoint()
        .agent_runtime_id(&id)
        .name("prod")
        .agent_runtime_version("1")
        .description("production")
        .send()
        .await
        .unwrap();
    assert_eq!(prod.status(), &AgentRuntimeEndpointStatus::Creating);
    assert_eq!(prod.target_version(), "1");
    assert_eq!(prod.endpoint_name(), Some("prod"));
    assert_eq!(prod.agent_runtime_id(), Some(id.as_str()));
    assert_eq!(prod.agent_runtime_arn(), created.agent_runtime_arn());
    assert_eq!(prod.agent_runtime_endpoint_arn(), format!("{}/runtime-endpoint/prod", created.agent_runtime_arn()));
    let latest = lab.control.create_agent_runtime_endpoint().agent_runtime_id(&id).name("latest").send().await;
    assert_eq!(latest.unwrap().target_version(), "2", "no version: the newest");

    let got = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("prod").send().await;
    let got = got.unwrap();
    assert!(is_endpoint_id(got.id(), "prod"), "{}", got.id());
    assert_eq!(got.description(), Some("production"));
    assert_eq!((got.live_version(), got.target_version()), (None, Some("1")));

    lab.advance(STATUS_DELAY);
    let listed = lab.control.list_agent_runtime_endpoints().agent_runtime_id(&id).send().await.unwrap();
    let rows: Vec<(&str, &str, Option<&str>, Option<&str>)> = listed
        .runtime_endpoints()
        .iter()
        .map(|e| (e.name(), e.status().as_str(), e.live_version(), e.target_version()))
        .collect();
    assert_eq!(
        rows,
        [
            ("DEFAULT", "READY", Some("2"), None),
            ("prod", "READY", Some("1"), None),
            ("latest", "READY", Some("2"), None)
        ]
    );
    let page = lab.control.list_agent_runtime_endpoints().agent_runtime_id(&id).max_results(2).send().await.unwrap();
    assert_eq!(page.runtime_endpoints().len(), 2);
    assert!(page.next_token().is_some());

    // A new runtime version moves DEFAULT, never the others.
    assert_eq!(update(&lab, &id, None).await, "3");
    lab.advance(STATUS_DELAY);
    let prod = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("prod").send().await;
    assert_eq!(prod.unwrap().live_version(), Some("1"));

    // UpdateAgentRuntimeEndpoint retargets: UPDATING (live 1, target 3) → READY (live 3).
    let updated = lab
        .control
        .update_agent_runtime_endpoint()
        .agent_runtime_id(&id)
        .endpoint_name("prod")
        .agent_runtime_version("3")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), &AgentRuntimeEndpointStatus::Updating);
    assert_eq!((updated.live_version(), updated.target_version()), (Some("1"), Some("3")));
    let again = lab
        .control
        .update_agent_runtime_endpoint()
        .agent_runtime_id(&id)
        .endpoint_name("prod")
        .agent_runtime_version("2")
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&again).0.as_str(), http_status(&again)), ("ConflictException", 409));
    lab.advance(STATUS_DELAY);
    let prod = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("prod").send().await;
    let prod = prod.unwrap();
    assert_eq!(
        (prod.status(), prod.live_version(), prod.target_version()),
        (&AgentRuntimeEndpointStatus::Ready, Some("3"), None)
    );
    assert_eq!(prod.description(), Some("production"), "kept when the update gives none");

    // DELETING, then gone.
    let deleted = lab.control.delete_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("prod").send().await;
    let deleted = deleted.unwrap();
    assert_eq!(deleted.status(), &AgentRuntimeEndpointStatus::Deleting);
    assert_eq!((deleted.agent_runtime_id(), deleted.endpoint_name()), (Some(id.as_str()), Some("prod")));
    let prod = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("prod").send().await;
    assert_eq!(prod.unwrap().status(), &AgentRuntimeEndpointStatus::Deleting);
    lab.advance(STATUS_DELAY);
    let err = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("prod").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ResourceNotFoundException");
    let listed = lab.control.list_agent_runtime_endpoints().agent_runtime_id(&id).send().await.unwrap();
    let names: Vec<&str> = listed.runtime_endpoints().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["DEFAULT", "latest"]);
}

#[tokio::test]
async fn endpoint_requests_are_refused_as_the_model_says() {
    let lab = Lab::manual().await;
    let id = lab.create_runtime("refusing").send().await.unwrap().agent_runtime_id().to_string();
    lab.advance(STATUS_DELAY);
    let create = || lab.control.create_agent_runtime_endpoint().agent_runtime_id(&id);

    let err = create().name("bad-name").send().await.unwrap_err();
    assert_eq!((code(&err).0.as_str(), http_status(&err)), ("ValidationException", 400));
    assert!(code(&err).1.contains("'name'"), "{:?}", code(&err));
    let err = create().name("long").description("x".repeat(257)).send().await.unwrap_err();
    assert!(code(&err).1.contains("'description'"), "{:?}", code(&err));
    let err = create().name("nine").agent_runtime_version("9").send().await.unwrap_err();
    assert_eq!((code(&err).0.as_str(), http_status(&err)), ("ResourceNotFoundException", 404));
    let err = lab.control.create_agent_runtime_endpoint().agent_runtime_id("ghost-AbCdEf1234").name("x").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ResourceNotFoundException");

    // Idempotent with a client token; a taken name otherwise.
    let first = create().name("blue").client_token(token(1)).send().await.unwrap();
    let again = create().name("blue").client_token(token(1)).send().await.unwrap();
    assert_eq!(first.created_at(), again.created_at());
    let err = create().name("blue").send().await.unwrap_err();
    assert_eq!((code(&err).0.as_str(), http_status(&err)), ("ConflictException", 409));

    // Ten endpoints besides DEFAULT, then ServiceQuotaExceededException (402).
    for i in 1..10 {
        create().name(format!("e{i}")).send().await.unwrap();
    }
    let err = create().name("eleventh").send().await.unwrap_err();
    assert_eq!((code(&err).0.as_str(), http_status(&err)), ("ServiceQuotaExceededException", 402));

    // Unknown endpoints and runtimes; malformed names.
    let err = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("nobody").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ResourceNotFoundException");
    let err = lab.control.get_agent_runtime_endpoint().agent_runtime_id("ghost-AbCdEf1234").endpoint_name("DEFAULT");
    assert_eq!(code(&err.send().await.unwrap_err()).0, "ResourceNotFoundException");
    let err = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("no-hyphens").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ValidationException");
    let err = lab.control.update_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("nobody").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ResourceNotFoundException");
    let err = lab.control.delete_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("nobody").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ResourceNotFoundException");

    // Updating an endpoint still CREATING conflicts, and to a version that does not exist is not found.
    let err = lab.control.update_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("blue").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ConflictException");
    lab.advance(STATUS_DELAY);
    let err = lab
        .control
        .update_agent_runtime_endpoint()
        .agent_runtime_id(&id)
        .endpoint_name("blue")
        .agent_runtime_version("4")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");

    // Endpoints go with their runtime, and a DELETING runtime takes no new one.
    lab.delete(&id).await;
    let err = create().name("late").send().await.unwrap_err();
    assert_eq!(code(&err).0, "ConflictException");
    lab.advance(STATUS_DELAY);
    let listed = lab.control.list_agent_runtime_endpoints().agent_runtime_id(&id).send().await.unwrap();
    assert!(listed.runtime_endpoints().is_empty());
}

#[tokio::test]
async fn an_endpoint_on_a_version_being_made_waits_for_it() {
    let lab = Lab::manual().await;
    let id = lab.create_runtime("waiting").send().await.unwrap().agent_runtime_id().to_string();
    lab.advance(STATUS_DELAY / 2);
    // Version 1 becomes READY at STATUS_DELAY; the endpoint's own delay ends at 1.5 × STATUS_DELAY.
    lab.control.create_agent_runtime_endpoint().agent_runtime_id(&id).name("early").send().await.unwrap();
    lab.advance(STATUS_DELAY / 2);
    assert_eq!(lab.status(&id).await, "READY");
    let early = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("early").send().await;
    assert_eq!(early.unwrap().status(), &AgentRuntimeEndpointStatus::Creating);
    lab.advance(STATUS_DELAY / 2);
    let early = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("early").send().await;
    let early = early.unwrap();
    assert_eq!((early.status(), early.live_version()), (&AgentRuntimeEndpointStatus::Ready, Some("1")));

    // An endpoint created with an update in flight waits past its own delay for the version.
    assert_eq!(update(&lab, &id, None).await, "2");
    lab.advance(STATUS_DELAY / 2);
    lab.control.create_agent_runtime_endpoint().agent_runtime_id(&id).name("next").send().await.unwrap();
    lab.advance(STATUS_DELAY / 2);
    let next = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("next").send().await;
    assert_eq!(
        next.unwrap().status(),
        &AgentRuntimeEndpointStatus::Creating,
        "version 2 is READY, its delay is not over"
    );
    lab.advance(STATUS_DELAY / 2);
    let next = lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("next").send().await;
    assert_eq!(next.unwrap().live_version(), Some("2"));
}

/// ListAgentRuntimeVersions on the wire (signed by hand): the items as JSON, to see which members
/// are present (the SDK fills a missing required string with "").
async fn versions_on_the_wire(lab: &Lab, id: &str) -> Vec<Value> {
    let url = format!("{}/runtimes/{id}/versions", lab.endpoint());
    let (headers, url) = sign("POST", &url, &[], b"", SignOptions::new("bedrock-agentcore"));
    let response = reqwest::Client::new().post(url).headers(headers).send().await.expect("ListAgentRuntimeVersions");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    body["agentRuntimes"].as_array().cloned().expect("agentRuntimes")
}

#[tokio::test]
async fn every_update_makes_a_version_and_versions_are_deleted_one_at_a_time() {
    let lab = Lab::manual().await;
    let id = lab.create_runtime("versioned").description("first").send().await.unwrap().agent_runtime_id().to_string();
    lab.advance(STATUS_DELAY);
    assert_eq!(update(&lab, &id, None).await, "2");
    lab.advance(STATUS_DELAY);
    let v3 = Some(LifecycleConfiguration::builder().max_lifetime(600).build());
    assert_eq!(update(&lab, &id, v3).await, "3");
    lab.advance(STATUS_DELAY);

    let v1 = lab.control.get_agent_runtime().agent_runtime_id(&id).agent_runtime_version("1").send().await.unwrap();
    assert_eq!((v1.agent_runtime_version(), v1.description()), ("1", Some("first")));
    let v3 = lab.control.get_agent_runtime().agent_runtime_id(&id).agent_runtime_version("3").send().await.unwrap();
    assert_eq!(v3.lifecycle_configuration().unwrap().max_lifetime(), Some(600));
    let items = versions_on_the_wire(&lab, &id).await;
    let required = ["agentRuntimeArn", "agentRuntimeId", "agentRuntimeVersion", "agentRuntimeName", "description"];
    for item in &items {
        for member in required.iter().chain(&["lastUpdatedAt", "status"]) {
            assert!(item.get(*member).is_some(), "{member} missing in {item}");
        }
    }
    let versions: Vec<(&str, &str)> = items
        .iter()
        .map(|i| (i["agentRuntimeVersion"].as_str().unwrap(), i["description"].as_str().unwrap()))
        .collect();
    assert_eq!(versions, [("3", ""), ("2", ""), ("1", "first")]);
    let runtimes = lab.control.list_agent_runtimes().send().await.unwrap();
    assert_eq!(runtimes.agent_runtimes()[0].agent_runtime_version(), "3");

    // A version an endpoint points at stays: DEFAULT has the newest, "pinned" version 2.
    lab.control
        .create_agent_runtime_endpoint()
        .agent_runtime_id(&id)
        .name("pinned")
        .agent_runtime_version("2")
        .send()
        .await
        .unwrap();
    let delete = |v: &str| lab.control.delete_agent_runtime().agent_runtime_id(&id).agent_runtime_version(v).send();
    for (version, expected) in [("3", "DEFAULT"), ("2", "pinned")] {
        let err = delete(version).await.unwrap_err();
        let (c, message) = code(&err);
        assert_eq!((c.as_str(), http_status(&err)), ("ConflictException", 409), "{version}");
        assert!(message.contains(expected), "{message}");
    }
    let err = delete("9").await.unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");
    let err = delete("0").await.unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");

    // Deleting version 1 leaves the runtime and its other versions.
    let deleted = delete("1").await.unwrap();
    assert_eq!(deleted.status(), &AgentRuntimeStatus::Deleting);
    assert_eq!((deleted.agent_runtime_id(), deleted.agent_runtime_version()), (Some(id.as_str()), Some("1")));
    let err = lab.control.get_agent_runtime().agent_runtime_id(&id).agent_runtime_version("1").send().await;
    assert_eq!(code(&err.unwrap_err()).0, "ResourceNotFoundException");
    assert_eq!(lab.status(&id).await, "READY");
    let listed = lab.control.list_agent_runtime_versions().agent_runtime_id(&id).send().await.unwrap();
    let listed: Vec<&str> = listed.agent_runtimes().iter().map(|v| v.agent_runtime_version()).collect();
    assert_eq!(listed, ["3", "2"]);

    // Once nothing points at version 2 it can go too; the next update is version 4.
    lab.control.delete_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("pinned").send().await.unwrap();
    lab.advance(STATUS_DELAY);
    delete("2").await.unwrap();
    assert_eq!(update(&lab, &id, None).await, "4");
}

#[tokio::test]
async fn a_valid_request_for_a_taken_name_is_a_conflict() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    lab.create_runtime("taken").send().await.unwrap();
    // No networkConfiguration (optional in the model: PUBLIC).
    let err = lab.create_runtime("taken").send().await.unwrap_err();
    assert_eq!((code(&err).0.as_str(), http_status(&err)), ("ConflictException", 409));
    // A subnet that does not exist is checked after the name.
    let missing = vpc_network(&["subnet-0123456789abcdef0".into()], &net.security_groups);
    let err = lab.create_runtime("taken").network_configuration(missing.clone()).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ConflictException");
    let err = lab.create_runtime("fresh").network_configuration(missing).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");
    // The model's own constraints come first.
    let err = lab
        .create_runtime("taken")
        .lifecycle_configuration(LifecycleConfiguration::builder().max_lifetime(30).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");
}

#[tokio::test]
async fn the_qualifier_routes_to_its_endpoints_live_version() {
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("routed", 900, 28_800).await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    let lab = &t.lab;
    let idle_of = |t: &DataLab, session: &str| {
        t.sessions().iter().find(|s| s["runtimeSessionId"] == session).map(|s| s["idleTimeoutSeconds"].clone())
    };

    // While version 2 is being made, DEFAULT keeps serving version 1 (idle timeout 900 s).
    let v2 = Some(LifecycleConfiguration::builder().idle_runtime_session_timeout(120).max_lifetime(600).build());
    assert_eq!(update(lab, &id, v2).await, "2");
    assert_eq!(lab.status(&id).await, "UPDATING");
    t.echo(&arn, &sid("during-update"), json!({"n": 1})).await;
    assert_eq!(idle_of(&t, &sid("during-update")), Some(json!(900.0)));

    // An endpoint still being created has nothing to serve yet.
    lab.control
        .create_agent_runtime_endpoint()
        .agent_runtime_id(&id)
        .name("stable")
        .agent_runtime_version("1")
        .send()
        .await
        .unwrap();
    let err = t.invoke(&arn, &sid("too-early"), json!({})).qualifier("stable").send().await.unwrap_err();
    assert_eq!(http_status(&err), 409);
    assert_eq!(code(err.as_service_error().unwrap()).0, "RetryableConflictException");

    lab.advance(STATUS_DELAY);
    t.echo(&arn, &sid("default-v2"), json!({})).await;
    assert_eq!(idle_of(&t, &sid("default-v2")), Some(json!(120.0)), "DEFAULT moved to version 2");
    let out = t.invoke(&arn, &sid("stable-v1"), json!({"n": 2})).qualifier("stable").send().await.unwrap();
    let body: Value = serde_json::from_slice(&out.response.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(body["echo"]["n"], 2, "{body}");
    assert_eq!(idle_of(&t, &sid("stable-v1")), Some(json!(900.0)), "stable stays on version 1");
    let out = t.invoke(&arn, &sid("explicit-default"), json!({})).qualifier("DEFAULT").send().await;
    out.unwrap();
    assert_eq!(idle_of(&t, &sid("explicit-default")), Some(json!(120.0)));

    let err = t.invoke(&arn, &sid("unknown"), json!({})).qualifier("nobody").send().await.unwrap_err();
    assert_eq!(http_status(&err), 404);
    let (c, message) = code(err.as_service_error().unwrap());
    assert_eq!(c, "ResourceNotFoundException");
    assert!(message.contains("nobody"), "{message}");
}
