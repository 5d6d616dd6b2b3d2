//! Request validation from the service model (botocore `bedrock-agentcore-control` 1.44.8): each
//! rule with a valid value accepted and a bad one refused at the model's member path, through the
//! SDK or, where the SDK cannot send the bad input, a hand-signed request; unknown keys ignored and
//! never echoed; and a bounded property test (`fuzz_*`) of the validation functions.

use agentcore_local::control::validate;
use agentcore_local::state::World;
use aws_sdk_bedrockagentcorecontrol::types::{
    AllowedPort, FilesystemConfiguration, RequestHeaderConfiguration, RuntimeMetadataConfiguration,
    SessionStorageConfiguration,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::support::{IMAGE, Lab, ROLE_ARN, STATUS_DELAY, SignOptions, code, sign};

/// The container artifact with `uri`.
fn container_at(uri: &str) -> aws_sdk_bedrockagentcorecontrol::types::AgentRuntimeArtifact {
    aws_sdk_bedrockagentcorecontrol::types::AgentRuntimeArtifact::ContainerConfiguration(
        aws_sdk_bedrockagentcorecontrol::types::ContainerConfiguration::builder().container_uri(uri).build().unwrap(),
    )
}

/// Asserts that `message` is a validation failure at member path `path`.
fn assert_refused_at(err_code: &str, message: &str, path: &str) {
    assert_eq!(err_code, "ValidationException", "{message}");
    assert!(message.contains(&format!("at '{path}' failed to satisfy constraint")), "want {path}: {message}");
}

/// A hand-signed control-plane request: (status, JSON body).
async fn raw(lab: &Lab, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}{path}", lab.endpoint());
    let bytes = if body.is_null() { Vec::new() } else { serde_json::to_vec(body).unwrap() };
    let (headers, url) =
        sign(method, &url, &[("content-type", "application/json")], &bytes, SignOptions::new("bedrock-agentcore"));
    let response = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .headers(headers)
        .body(bytes)
        .send()
        .await
        .expect("the emulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Every object key anywhere in `value`.
fn all_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                all_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| all_keys(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn container_uris_follow_the_model_pattern() {
    let lab = Lab::manual().await;
    let good = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/agent_v2.x:1.0@sha256:abc";
    lab.create_runtime("good_uri").agent_runtime_artifact(container_at(good)).send().await.unwrap();
    for (name, bad) in [
        ("upper_case", "123456789012.dkr.ecr.us-east-1.amazonaws.com/MyAgent:latest"),
        ("two_tags", "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:b:c"),
        ("docker_hub", "docker.io/library/nginx:latest"),
    ] {
        let err = lab.create_runtime(name).agent_runtime_artifact(container_at(bad)).send().await.unwrap_err();
        let (c, message) = code(&err);
        assert_refused_at(&c, &message, "agentRuntimeArtifact.containerConfiguration.containerUri");
        assert!(message.contains(&format!("Value '{bad}'")), "{message}");
    }
    // Update checks it the same way.
    let id = lab.create_runtime("updated_uri").send().await.unwrap().agent_runtime_id().to_string();
    lab.advance(STATUS_DELAY);
    let err = lab
        .control
        .update_agent_runtime()
        .agent_runtime_id(&id)
        .agent_runtime_artifact(container_at("123456789012.dkr.ecr.us-east-1.amazonaws.com/MyAgent:latest"))
        .role_arn(ROLE_ARN)
        .send()
        .await
        .unwrap_err();
    let (c, message) = code(&err);
    assert_refused_at(&c, &message, "agentRuntimeArtifact.containerConfiguration.containerUri");
}

#[tokio::test]
async fn new_members_are_checked_and_echoed() {
    let lab = Lab::manual().await;
    let id = lab
        .create_runtime("full_agent")
        .allowed_ports(AllowedPort::Port(8080))
        .request_header_configuration(RequestHeaderConfiguration::RequestHeaderAllowlist(vec!["X-Custom_1".into()]))
        .filesystem_configurations(FilesystemConfiguration::SessionStorage(
            SessionStorageConfiguration::builder().mount_path("/mnt/data").build().unwrap(),
        ))
        .environment_variables("K".repeat(100), "v".repeat(5000))
        .tags("team", "a b._:/=+@-")
        .send()
        .await
        .unwrap()
        .agent_runtime_id()
        .to_string();
    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(got.allowed_ports(), [AllowedPort::Port(8080)]);
    assert_eq!(
        got.request_header_configuration(),
        Some(&RequestHeaderConfiguration::RequestHeaderAllowlist(vec!["X-Custom_1".into()]))
    );
    assert_eq!(got.filesystem_configurations().len(), 1);
    assert_eq!(got.environment_variables().unwrap()[&"K".repeat(100)].len(), 5000);

    let cases = [
        (lab.create_runtime("low_port").allowed_ports(AllowedPort::Port(7999)), "allowedPorts.member.port"),
        (
            lab.create_runtime("bad_header")
                .request_header_configuration(RequestHeaderConfiguration::RequestHeaderAllowlist(vec!["1x".into()])),
            "requestHeaderConfiguration.requestHeaderAllowlist.member",
        ),
        (
            lab.create_runtime("bad_mount").filesystem_configurations(FilesystemConfiguration::SessionStorage(
                SessionStorageConfiguration::builder().mount_path("/tmp/data").build().unwrap(),
            )),
            "filesystemConfigurations.member.sessionStorage.mountPath",
        ),
        (lab.create_runtime("long_env_key").environment_variables("K".repeat(101), "v"), "environmentVariables.key"),
        (lab.create_runtime("long_env_value").environment_variables("K", "v".repeat(5001)), "environmentVariables.K"),
        (lab.create_runtime("unicode_tag").tags("k", "caf\u{e9}"), "tags.k"),
        (lab.create_runtime("unicode_tag_key").tags("caf\u{e9}", "v"), "tags.key"),
        (lab.create_runtime("bad_platform").platform_version("has space"), "platformVersion"),
    ];
    for (request, path) in cases {
        let err = request.send().await.unwrap_err();
        let (c, message) = code(&err);
        assert_refused_at(&c, &message, path);
    }

    // metadataConfiguration is an UpdateAgentRuntime member.
    lab.advance(STATUS_DELAY);
    lab.update_runtime(&id)
        .metadata_configuration(RuntimeMetadataConfiguration::builder().require_mmdsv2(true).build().unwrap())
        .send()
        .await
        .unwrap();
    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert!(got.metadata_configuration().unwrap().require_mmdsv2());
    assert!(got.allowed_ports().is_empty(), "an update replaces the whole specification");
}

#[tokio::test]
async fn tags_are_ascii_everywhere() {
    let lab = Lab::manual().await;
    let created = lab.create_runtime("tagged").send().await.unwrap();
    let arn = created.agent_runtime_arn().to_string();
    lab.control.tag_resource().resource_arn(&arn).tags("plain", "v 1").send().await.unwrap();
    let err = lab.control.tag_resource().resource_arn(&arn).tags("k", "\u{3000}").send().await.unwrap_err();
    let (c, message) = code(&err);
    assert_refused_at(&c, &message, "tags.k");
    lab.advance(STATUS_DELAY);
    let err = lab
        .control
        .create_agent_runtime_endpoint()
        .agent_runtime_id(created.agent_runtime_id())
        .name("tagged_endpoint")
        .tags("\u{e9}", "v")
        .send()
        .await
        .unwrap_err();
    let (c, message) = code(&err);
    assert_refused_at(&c, &message, "tags.key");
}

#[tokio::test]
async fn unknown_keys_are_ignored_and_never_echoed() {
    let lab = Lab::manual().await;
    let body = json!({
        "agentRuntimeName": "surprised",
        "agentRuntimeArtifact": {"containerConfiguration": {"containerUri": IMAGE, "bogusNested": 1}},
        "roleArn": ROLE_ARN,
        "networkConfiguration": {"networkMode": "PUBLIC", "bogusNetwork": true},
        "protocolConfiguration": {"serverProtocol": "HTTP", "bogusProtocol": "x"},
        "lifecycleConfiguration": {"maxLifetime": 3600, "bogusLifecycle": 1},
        "metadataConfiguration": {"requireMMDSV2": true},
        "bogusTop": {"deep": [1, 2]},
    });
    let (status, created) = raw(&lab, "PUT", "/runtimes", &body).await;
    assert_eq!(status, 202, "{created}");
    let id = created["agentRuntimeId"].as_str().unwrap().to_string();
    lab.advance(STATUS_DELAY);
    let mut update = body.clone();
    update.as_object_mut().unwrap().remove("agentRuntimeName");
    update["description"] = json!("second");
    let (status, answer) = raw(&lab, "PUT", &format!("/runtimes/{id}"), &update).await;
    assert_eq!(status, 202, "{answer}");

    let mut answers = vec![created, answer];
    for path in [format!("/runtimes/{id}"), format!("/runtimes/{id}?version=1")] {
        let (status, got) = raw(&lab, "GET", &path, &Value::Null).await;
        assert_eq!(status, 200, "{got}");
        answers.push(got);
    }
    for path in ["/runtimes".to_string(), format!("/runtimes/{id}/versions")] {
        let (status, listed) = raw(&lab, "POST", &path, &Value::Null).await;
        assert_eq!(status, 200, "{listed}");
        answers.push(listed);
    }
    let (_, got) = raw(&lab, "GET", &format!("/runtimes/{id}?version=1"), &Value::Null).await;
    assert_eq!(got["protocolConfiguration"], json!({"serverProtocol": "HTTP"}));
    assert_eq!(got["agentRuntimeArtifact"], json!({"containerConfiguration": {"containerUri": IMAGE}}));
    for answer in &answers {
        let mut keys = Vec::new();
        all_keys(answer, &mut keys);
        let echoed: Vec<&String> = keys.iter().filter(|k| k.starts_with("bogus") || *k == "deep").collect();
        assert!(echoed.is_empty(), "{echoed:?} echoed in {answer}");
    }
    // metadataConfiguration is not a CreateAgentRuntime member: version 1 does not have it.
    assert!(answers[3].get("metadataConfiguration").is_none(), "{}", answers[3]);
    assert_eq!(answers[2]["metadataConfiguration"], json!({"requireMMDSV2": true}));
}

#[tokio::test]
async fn shapes_the_sdk_cannot_send_are_refused() {
    let lab = Lab::manual().await;
    let base = json!({"agentRuntimeName": "raw_agent", "agentRuntimeArtifact": {"containerConfiguration": {"containerUri": IMAGE}}, "roleArn": ROLE_ARN});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with(
                "agentRuntimeArtifact",
                json!({"containerConfiguration": {"containerUri": IMAGE}, "codeConfiguration": {}}),
            ),
            "agentRuntimeArtifact",
        ),
        (with("agentRuntimeArtifact", json!({"somethingElse": {}})), "agentRuntimeArtifact"),
        (with("description", json!(42)), "description"),
        (with("allowedPorts", json!([{"port": 8080, "portRange": {"from": 8000, "to": 8001}}])), "allowedPorts.member"),
        (with("allowedPorts", json!([])), "allowedPorts"),
        (with("allowedPorts", json!([{"portRange": {"from": 8000}}])), "allowedPorts.member.portRange.to"),
        (with("environmentVariables", json!({"K": 1})), "environmentVariables.K"),
        (
            with("requestHeaderConfiguration", json!({"requestHeaderAllowlist": []})),
            "requestHeaderConfiguration.requestHeaderAllowlist",
        ),
        (
            with(
                "agentRuntimeArtifact",
                json!({"codeConfiguration": {"code": {"s3": {"bucket": "B", "prefix": "p"}}, "runtime": "PYTHON_3_12", "entryPoint": ["main.py"]}}),
            ),
            "agentRuntimeArtifact.codeConfiguration.code.s3.bucket",
        ),
        (
            with(
                "authorizerConfiguration",
                json!({"customJWTAuthorizer": {"discoveryUrl": "https://idp.example.com/openid"}}),
            ),
            "authorizerConfiguration.customJWTAuthorizer.discoveryUrl",
        ),
        (with("protocolConfiguration", json!({"serverProtocol": "HTTP", "port": 80})), "protocolConfiguration.port"),
    ];
    for (body, path) in cases {
        let (status, answer) = raw(&lab, "PUT", "/runtimes", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("at '{path}' failed")), "want {path}: {message}");
        let fields: Vec<&str> =
            answer["fieldList"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
        assert!(fields.contains(&path), "{fields:?}");
    }
    // Valid managed code and a JWT authorizer are accepted.
    let code = with(
        "agentRuntimeArtifact",
        json!({"codeConfiguration": {"code": {"s3": {"bucket": "my-bucket", "prefix": "agent.zip"}}, "runtime": "PYTHON_3_12", "entryPoint": ["main.py"]}}),
    );
    let mut code = code;
    code["authorizerConfiguration"] = json!({"customJWTAuthorizer": {
        "discoveryUrl": "https://idp.example.com/.well-known/openid-configuration",
        "allowedClients": ["client"],
    }});
    let (status, answer) = raw(&lab, "PUT", "/runtimes", &code).await;
    assert_eq!(status, 202, "{answer}");
}

/// Arbitrary JSON, a few levels deep, with the model's member names among the keys so that the
/// walk goes past the top level.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("agentRuntimeName".to_string()),
        Just("agentRuntimeArtifact".to_string()),
        Just("containerConfiguration".to_string()),
        Just("containerUri".to_string()),
        Just("codeConfiguration".to_string()),
        Just("roleArn".to_string()),
        Just("networkConfiguration".to_string()),
        Just("networkMode".to_string()),
        Just("networkModeConfig".to_string()),
        Just("subnets".to_string()),
        Just("lifecycleConfiguration".to_string()),
        Just("maxLifetime".to_string()),
        Just("allowedPorts".to_string()),
        Just("portRange".to_string()),
        Just("environmentVariables".to_string()),
        Just("filesystemConfigurations".to_string()),
        Just("tags".to_string()),
        Just("name".to_string()),
        Just("description".to_string()),
        Just("agentRuntimeVersion".to_string()),
        "[a-zA-Z\u{e9}]{0,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::from),
        Just(Value::from(IMAGE)),
        Just(Value::from(ROLE_ARN)),
        Just(Value::from("VPC")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// The answer of a validation function is Ok or a `ValidationException`.
fn ok_or_validation<T>(answer: Result<T, agentcore_local::error::AwsError>) -> Result<(), TestCaseError> {
    if let Err(e) = answer {
        prop_assert_eq!(e.code, "ValidationException", "{}", e.message);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_control_validation_answers_ok_or_validation_exception(body in prop::collection::btree_map(
        "[a-zA-Z]{1,24}", arbitrary_json(), 0..8
    ), nested in arbitrary_json()) {
        let mut body: Map<String, Value> = body.into_iter().collect();
        if let Value::Object(extra) = nested {
            body.extend(extra);
        }
        let mut world = World::default();
        let region = world.region("us-east-1");
        ok_or_validation(validate::create(&body))?;
        ok_or_validation(validate::update(&body, region))?;
        ok_or_validation(validate::endpoint(&body, true))?;
        ok_or_validation(validate::endpoint(&body, false))?;
        ok_or_validation(validate::tags(&body))?;
        ok_or_validation(validate::client_token(&body))?;
    }
}
