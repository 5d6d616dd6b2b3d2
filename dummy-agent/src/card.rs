//! `GET /.well-known/agent-card.json`: an A2A agent card (A2A protocol 0.3.0, `AgentCard`)
//! describing the echo, so AgentCore's GetAgentCard works against dummy-agent out of the box.

use axum::Json;
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

/// Where A2A agents serve their card (A2A's well-known URI).
pub const AGENT_CARD_PATH: &str = "/.well-known/agent-card.json";

/// The A2A protocol version the card follows.
pub const A2A_PROTOCOL_VERSION: &str = "0.3.0";

/// The card, with `url` pointing at `/invocations` on the host the request was sent to (the agent
/// does not know its public address otherwise).
pub(crate) async fn agent_card(headers: HeaderMap) -> Json<Value> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost:8080");
    Json(card(&format!("http://{host}/invocations")))
}

/// The card with `url` as the agent's endpoint: every member A2A requires (`name`, `description`,
/// `url`, `version`, `protocolVersion`, `capabilities`, `defaultInputModes`, `defaultOutputModes`,
/// `skills`, and each skill's `id`, `name`, `description`, `tags`).
pub fn card(url: &str) -> Value {
    json!({
        "name": "dummy-agent",
        "description": "Echoes each invocation's JSON payload back as {\"echo\": <payload>}; test knobs under \
                        the reserved `_dummy` key set work time, streaming and the answer's status.",
        "url": url,
        "version": env!("CARGO_PKG_VERSION"),
        "protocolVersion": A2A_PROTOCOL_VERSION,
        "capabilities": {"streaming": true, "pushNotifications": false, "stateTransitionHistory": false},
        "defaultInputModes": ["application/json"],
        "defaultOutputModes": ["application/json", "text/event-stream"],
        "skills": [{
            "id": "echo",
            "name": "Echo",
            "description": "Answers {\"echo\": <payload>} for a JSON object payload, or streams it as server-sent \
                            events when asked to.",
            "tags": ["echo", "test"],
            "examples": ["{\"prompt\": \"hello\"}", "{\"_dummy\": {\"stream\": 3, \"sleep_ms\": 300}}"],
        }],
    })
}
