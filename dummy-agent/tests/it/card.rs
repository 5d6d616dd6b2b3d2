use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::send;

fn app() -> axum::Router {
    dummy_agent::app(dummy_agent::Config::default())
}

/// The members A2A 0.3.0 requires of an `AgentCard`, and of each `AgentSkill`.
const CARD_MEMBERS: [&str; 9] = [
    "name",
    "description",
    "url",
    "version",
    "protocolVersion",
    "capabilities",
    "defaultInputModes",
    "defaultOutputModes",
    "skills",
];
const SKILL_MEMBERS: [&str; 4] = ["id", "name", "description", "tags"];

#[tokio::test]
async fn serves_a_valid_a2a_agent_card_pointing_at_the_host_asked() {
    let request = Request::get(dummy_agent::AGENT_CARD_PATH)
        .header(header::HOST, "127.0.0.1:4321")
        .header(dummy_agent::SESSION_ID_HEADER, "card-session")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app(), request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(answer.headers[&dummy_agent::SESSION_ID_HEADER], "card-session");
    let card = answer.json();
    for member in CARD_MEMBERS {
        assert!(card.get(member).is_some_and(|v| !v.is_null()), "card lacks {member}: {card}");
    }
    assert_eq!(card["url"], "http://127.0.0.1:4321/invocations");
    assert_eq!(card["protocolVersion"], dummy_agent::A2A_PROTOCOL_VERSION);
    assert_eq!(card["version"], env!("CARGO_PKG_VERSION"));
    assert!(card["capabilities"].is_object());
    for modes in ["defaultInputModes", "defaultOutputModes"] {
        let modes = card[modes].as_array().expect("a list of media types");
        assert!(!modes.is_empty() && modes.iter().all(|m| m.as_str().is_some_and(|m| m.contains('/'))));
    }
    let skills = card["skills"].as_array().expect("skills");
    assert!(!skills.is_empty());
    for skill in skills {
        for member in SKILL_MEMBERS {
            assert!(skill.get(member).is_some_and(|v| !v.is_null()), "skill lacks {member}: {skill}");
        }
        assert!(skill["tags"].as_array().is_some_and(|tags| tags.iter().all(serde_json::Value::is_string)));
    }
}

#[tokio::test]
async fn without_a_host_the_card_still_names_an_url_and_only_get_is_served() {
    let answer = send(&app(), Request::get(dummy_agent::AGENT_CARD_PATH).body(Body::empty()).unwrap()).await;
    assert_eq!(answer.json()["url"], "http://localhost:8080/invocations");
    let post = Request::post(dummy_agent::AGENT_CARD_PATH).body(Body::empty()).unwrap();
    let answer = send(&app(), post).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.content_type(), "application/json");
}
