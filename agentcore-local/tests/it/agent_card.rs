//! GetAgentCard through the unmodified `aws-sdk-bedrockagentcore`: the session's agent (the built-in
//! dummy agent) answers its A2A card, routed like InvokeAgentRuntime.

use agentcore_local::Config;
use aws_smithy_types::{Document, Number};
use serde_json::{Value, json};

use crate::data::{DataLab, data_config, sid};
use crate::support::{code, http_status};

/// A document as JSON, to compare with.
pub fn to_json(document: &Document) -> Value {
    match document {
        Document::Object(members) => Value::Object(members.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Document::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Document::Number(Number::PosInt(n)) => json!(n),
        Document::Number(Number::NegInt(n)) => json!(n),
        Document::Number(Number::Float(f)) => json!(f),
        Document::String(s) => json!(s),
        Document::Bool(b) => json!(b),
        Document::Null => Value::Null,
    }
}

#[tokio::test]
async fn get_agent_card_answers_the_session_agents_card() {
    let t = DataLab::start(data_config()).await;
    let arn = t.ready_runtime("card_agent", 900, 28_800).await;
    let session = sid("card");
    let out = t.data.get_agent_card().agent_runtime_arn(&arn).runtime_session_id(&session).send().await.unwrap();
    assert_eq!(out.runtime_session_id(), Some(session.as_str()));
    assert_eq!(out.status_code(), Some(200));
    let card = to_json(out.agent_card());
    assert_eq!(card["name"], "dummy-agent", "{card}");
    assert_eq!(card["protocolVersion"], dummy_agent::A2A_PROTOCOL_VERSION);
    let port = t.sessions()[0]["port"].as_u64().unwrap();
    assert_eq!(card["url"], format!("http://127.0.0.1:{port}/invocations"), "the agent's own address");
    assert_eq!(card["skills"][0]["id"], "echo");

    // The same session serves invocations: one microVM for both calls.
    t.echo(&arn, &session, json!({"after": "card"})).await;
    assert_eq!(t.counter("sessionsStarted"), 1);

    // Without a session id the SDK fills one in (an idempotency token): a session of its own.
    let out = t.data.get_agent_card().agent_runtime_arn(&arn).send().await.unwrap();
    let filled = out.runtime_session_id().expect("the session id header").to_string();
    assert_ne!(filled, session);
    assert!(t.pid_of(&filled).is_some(), "a session {filled} with its own microVM");
    assert_eq!(to_json(out.agent_card())["skills"], card["skills"]);
    assert_eq!(t.counter("sessionsStarted"), 2);

    // The runtime id with accountId, and the DEFAULT qualifier by name, address the same runtime.
    let id = arn.rsplit('/').next().unwrap();
    let out = t
        .data
        .get_agent_card()
        .agent_runtime_arn(&arn)
        .qualifier("DEFAULT")
        .runtime_session_id(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(to_json(out.agent_card())["name"], "dummy-agent");
    let err = t.data.get_agent_card().agent_runtime_arn(id).runtime_session_id(&session).send().await.unwrap_err();
    assert_eq!(code(err.as_service_error().unwrap()).0, "ValidationException", "an id needs accountId");
}

#[tokio::test]
async fn get_agent_card_refuses_like_invoke() {
    let t = DataLab::start(Config { max_vms: 1, ..data_config() }).await;
    let arn = t.ready_runtime("card_refusals", 900, 28_800).await;
    let card =
        |arn: &str, session: &str| t.data.get_agent_card().agent_runtime_arn(arn).runtime_session_id(session).send();

    let unknown = arn.replace("card_refusals-", "card_nothing-");
    let err = card(&unknown, &sid("u")).await.unwrap_err();
    assert_eq!(http_status(&err), 404);
    assert!(err.as_service_error().unwrap().is_resource_not_found_exception());
    let err = t
        .data
        .get_agent_card()
        .agent_runtime_arn(&arn)
        .qualifier("canary")
        .runtime_session_id(sid("q"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(http_status(&err), 404);
    let (c, message) = code(err.as_service_error().unwrap());
    assert_eq!(c, "ResourceNotFoundException");
    assert!(message.contains("Endpoint canary not found"), "{message}");

    let err = card(&arn, "too-short").await.unwrap_err();
    assert_eq!(http_status(&err), 400);
    assert!(err.as_service_error().unwrap().is_validation_exception());

    let creating = t.lab.create_runtime("card_creating").send().await.unwrap().agent_runtime_arn().to_string();
    let err = card(&creating, &sid("c")).await.unwrap_err();
    assert_eq!(http_status(&err), 409);
    assert!(err.as_service_error().unwrap().is_retryable_conflict_exception());
    assert!(t.sessions().is_empty(), "no session for refused calls");

    // The quota: one session is live, a second one is refused.
    card(&arn, &sid("first")).await.unwrap();
    let err = card(&arn, &sid("second")).await.unwrap_err();
    assert_eq!(http_status(&err), 402);
    assert!(err.as_service_error().unwrap().is_service_quota_exceeded_exception());
}
