//! Request validation for the control plane, in AWS's words.
//!
//! Field constraints from the service model (botocore `bedrock-agentcore-control` 1.44.8, the
//! shapes in [`super::shape`]) are collected into one `ValidationException`
//! (`FieldValidationFailed`, with `fieldList`); checks against other resources (subnets, security
//! groups, zones) follow as their own `ValidationException`s. Members the model does not know are
//! ignored: they are neither refused nor stored, so no answer echoes them.

use serde_json::{Map, Value, json};

use super::shape::{self, Failures, is_client_token, is_name, is_tag_text, pattern_constraint as pattern};
use crate::catalog;
use crate::error::AwsError;
use crate::state::{RegionState, RuntimeSpec, VpcPlacement};

type Result<T, E = AwsError> = std::result::Result<T, E>;

pub const NAME_PATTERN: &str = "[a-zA-Z][a-zA-Z0-9_]{0,47}";
pub const CLIENT_TOKEN_PATTERN: &str = "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}";
/// Lifecycle bounds for microVM runtimes (seconds): the service's documented 8 hours, tighter than
/// the model's 1209600.
pub const LIFECYCLE_RANGE: std::ops::RangeInclusive<u64> = 60..=28_800;
pub const DEFAULT_IDLE_TIMEOUT: u64 = 900;
pub const DEFAULT_MAX_LIFETIME: u64 = 28_800;

/// Parses a JSON object body (an empty body counts as `{}`).
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AwsError::validation("CannotParse", "Request body must be a JSON object")),
        Err(e) => Err(AwsError::validation("CannotParse", format!("Could not parse request body into json: {e}"))),
    }
}

/// Checks a client token's length and pattern.
pub fn check_client_token(token: &str) -> Result<()> {
    let mut f = Failures::default();
    let value = Value::String(token.to_string());
    if !(33..=256).contains(&token.len()) {
        f.add("clientToken", Some(&value), "Member must have length between 33 and 256, inclusive");
    } else if !is_client_token(token) {
        f.add("clientToken", Some(&value), pattern(CLIENT_TOKEN_PATTERN));
    }
    f.into_result()
}

/// The request's `clientToken`, checked.
pub fn client_token(body: &Map<String, Value>) -> Result<Option<String>> {
    match body.get("clientToken") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(token)) => {
            check_client_token(token)?;
            Ok(Some(token.clone()))
        }
        Some(other) => Err(AwsError::field_validation(vec![(
            "clientToken".into(),
            Some(other.to_string()),
            "Member must be a string".into(),
        )])),
    }
}

/// A `version` query parameter (`[1-9][0-9]{0,4}`).
pub fn version(text: &str) -> Result<u32> {
    if !is_version(text) {
        return Err(AwsError::field_validation(vec![(
            "agentRuntimeVersion".into(),
            Some(text.into()),
            pattern("[1-9][0-9]{0,4}"),
        )]));
    }
    Ok(text.parse().expect("checked digits"))
}

const PAGE_TOKEN_PREFIX: &str = "AQICAH";

pub fn encode_page_token(offset: usize) -> String {
    format!("{PAGE_TOKEN_PREFIX}{offset:016x}")
}

pub fn decode_page_token(token: &str) -> Option<usize> {
    let hex = token.strip_prefix(PAGE_TOKEN_PREFIX)?;
    (hex.len() == 16).then_some(())?;
    usize::from_str_radix(hex, 16).ok()
}

/// Validates a CreateAgentRuntime body against the model's constraints: the runtime name and its
/// specification. The checks against other resources ([`check_network`]) come after the
/// duplicate-name check, so that a valid request for a taken name is a `ConflictException`.
pub fn create(body: &Map<String, Value>) -> Result<(String, RuntimeSpec)> {
    let mut f = Failures::default();
    let spec = spec_fields(body, &shape::CREATE_AGENT_RUNTIME, false, &mut f);
    f.into_result()?;
    let spec = spec.expect("no failures means a spec");
    let name = body.get("agentRuntimeName").and_then(Value::as_str).expect("validated").to_string();
    Ok((name, spec))
}

/// A CreateAgentRuntimeEndpoint or UpdateAgentRuntimeEndpoint body, checked.
#[derive(Clone, Debug, Default)]
pub struct EndpointRequest {
    /// `name` (CreateAgentRuntimeEndpoint only).
    pub name: Option<String>,
    /// `agentRuntimeVersion`: the version to point at.
    pub version: Option<u32>,
    pub description: Option<String>,
    /// `tags` (CreateAgentRuntimeEndpoint only).
    pub tags: std::collections::BTreeMap<String, String>,
}

/// Whether `text` is a valid `version` ([1-9][0-9]{0,4}).
fn is_version(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0')
}

/// Validates a CreateAgentRuntimeEndpoint body (`is_create`: `name` required, `tags` allowed) or
/// an UpdateAgentRuntimeEndpoint body.
pub fn endpoint(body: &Map<String, Value>, is_create: bool) -> Result<EndpointRequest> {
    let mut f = Failures::default();
    let mut out = EndpointRequest::default();
    if is_create {
        match body.get("name") {
            None | Some(Value::Null) => f.add("name", None, "Member must not be null"),
            Some(Value::String(s)) if is_name(s) => out.name = Some(s.clone()),
            Some(other) => f.add("name", Some(other), pattern(NAME_PATTERN)),
        }
        if let Some(tags) = body.get("tags").filter(|v| !v.is_null()) {
            shape::check(&shape::TAGS_MAP, tags, "tags", &mut f);
            out.tags = create_tags(body);
        }
    }
    match body.get("agentRuntimeVersion").filter(|v| !v.is_null()) {
        None => {}
        Some(Value::String(s)) if is_version(s) => out.version = s.parse().ok(),
        Some(other) => f.add("agentRuntimeVersion", Some(other), pattern("([1-9][0-9]{0,4})")),
    }
    match body.get("description").filter(|v| !v.is_null()) {
        None => {}
        Some(Value::String(d)) if (1..=256).contains(&d.chars().count()) => out.description = Some(d.clone()),
        Some(other) => f.add("description", Some(other), "Member must have length between 1 and 256, inclusive"),
    }
    f.into_result()?;
    Ok(out)
}

/// The model's pattern of an `agentRuntimeId` path label.
pub const RUNTIME_ID_PATTERN: &str = "[a-zA-Z][a-zA-Z0-9_]{0,99}-[a-zA-Z0-9]{10}";

/// Whether `id` matches [`RUNTIME_ID_PATTERN`]: a name (a letter, then up to 99 letters, digits or
/// `_`), `-`, and 10 letters or digits.
fn is_runtime_id(id: &str) -> bool {
    let Some((name, suffix)) = id.rsplit_once('-') else { return false };
    let name_ok = name.len() <= 100
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    name_ok && suffix.len() == 10 && suffix.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Checks an `agentRuntimeId` path label against the model's pattern, for the operations that model
/// a `ValidationException` (a malformed id is then not "not found" but invalid).
pub fn runtime_id(id: &str) -> Result<()> {
    if is_runtime_id(id) {
        return Ok(());
    }
    let mut f = Failures::default();
    f.add("agentRuntimeId", Some(&Value::String(id.to_string())), pattern(RUNTIME_ID_PATTERN));
    f.into_result()
}

/// Checks a `capacityProviderId` path label against the model's pattern.
pub fn capacity_provider_id(id: &str) -> Result<()> {
    // A runtime id's shape with a name of at most 48 characters (59 in all).
    if is_runtime_id(id) && id.len() <= 59 {
        return Ok(());
    }
    let mut f = Failures::default();
    let expected = "[a-zA-Z][a-zA-Z0-9_]{0,47}-[a-zA-Z0-9]{10}";
    f.add("capacityProviderId", Some(&Value::String(id.to_string())), pattern(expected));
    f.into_result()
}

/// Checks an `endpointName` path label against the model's pattern.
pub fn endpoint_name(name: &str) -> Result<()> {
    if is_name(name) {
        return Ok(());
    }
    let mut f = Failures::default();
    f.add("endpointName", Some(&Value::String(name.to_string())), pattern(NAME_PATTERN));
    f.into_result()
}

pub const TAG_PATTERN: &str = "[a-zA-Z0-9\\s._:/=+@-]*";
pub const TAGGABLE_ARN_PATTERN: &str =
    "arn:(?:[^:]+)?:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:([a-z-]+/[^/]+)(?:/[a-z-]+/[^/]+)*";

/// Checks a `TagsMap` (at most 50 entries; keys 1–128 and values 0–256 characters of
/// [`TAG_PATTERN`], ASCII only) and adds its failures to `f`.
fn tag_map(tags: &Value, f: &mut Failures) {
    shape::check(&shape::TAGS_MAP, tags, "tags", f);
}

/// The `tags` of a TagResource body, checked (required, a valid `TagsMap`).
pub fn tags(body: &Map<String, Value>) -> Result<std::collections::BTreeMap<String, String>> {
    let mut f = Failures::default();
    match body.get("tags") {
        None | Some(Value::Null) => f.add("tags", None, "Member must not be null"),
        Some(tags) => tag_map(tags, &mut f),
    }
    f.into_result()?;
    let map = body["tags"].as_object().expect("validated");
    Ok(map.iter().map(|(k, v)| (k.clone(), v.as_str().expect("validated").to_owned())).collect())
}

/// The `tags` of a CreateAgentRuntime body (already validated by [`create`]).
pub fn create_tags(body: &Map<String, Value>) -> std::collections::BTreeMap<String, String> {
    body.get("tags")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

/// The `tagKeys` of an UntagResource request, checked (required; at most 200 keys of 1–128 characters).
pub fn tag_keys(keys: &[String]) -> Result<()> {
    let mut f = Failures::default();
    if keys.is_empty() {
        f.add("tagKeys", None, "Member must not be null");
    }
    if keys.len() > 200 {
        f.add("tagKeys", None, "Member must have length less than or equal to 200");
    }
    for key in keys {
        let value = Value::String(key.clone());
        if !(1..=128).contains(&key.chars().count()) {
            f.add("tagKeys.member", Some(&value), "Member must have length between 1 and 128, inclusive");
        } else if !is_tag_text(key) {
            f.add("tagKeys.member", Some(&value), pattern(TAG_PATTERN));
        }
    }
    f.into_result()
}

/// Checks a `resourceArn` path label against `TaggableResourcesArn` (20–1011 characters and
/// [`TAGGABLE_ARN_PATTERN`]).
pub fn taggable_arn(arn: &str) -> Result<()> {
    let ok = (20..=1011).contains(&arn.len()) && {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _partition, "bedrock-agentcore", region, account, resource] => {
                !region.is_empty()
                    && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit())
                    && {
                        let segments: Vec<&str> = resource.split('/').collect();
                        segments.len().is_multiple_of(2)
                            && segments.chunks(2).all(|pair| {
                                !pair[0].is_empty()
                                    && pair[0].bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                                    && !pair[1].is_empty()
                            })
                    }
            }
            _ => false,
        }
    };
    if ok {
        Ok(())
    } else {
        let value = Value::String(arn.to_owned());
        let mut f = Failures::default();
        if (20..=1011).contains(&arn.len()) {
            f.add("resourceArn", Some(&value), pattern(TAGGABLE_ARN_PATTERN));
        } else {
            f.add("resourceArn", Some(&value), "Member must have length between 20 and 1011, inclusive");
        }
        f.into_result()
    }
}

/// Validates an UpdateAgentRuntime body (a full replacement of the specification).
pub fn update(body: &Map<String, Value>, region: &RegionState) -> Result<RuntimeSpec> {
    let mut f = Failures::default();
    let spec = spec_fields(body, &shape::UPDATE_AGENT_RUNTIME, true, &mut f);
    f.into_result()?;
    let spec = spec.expect("no failures means a spec");
    check_network(&spec, region)?;
    Ok(spec)
}

/// The lifecycle settings, with the documented defaults, checked against [`LIFECYCLE_RANGE`].
fn lifecycle(value: Option<&Value>, f: &mut Failures) -> (u64, u64) {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return (DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_LIFETIME);
    };
    let Some(obj) = value.as_object() else {
        f.add("lifecycleConfiguration", Some(value), "Member must be a structure");
        return (DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_LIFETIME);
    };
    let mut number = |key: &str| -> Option<u64> {
        let v = obj.get(key).filter(|v| !v.is_null())?;
        let field = format!("lifecycleConfiguration.{key}");
        match v.as_u64() {
            Some(n) if LIFECYCLE_RANGE.contains(&n) => Some(n),
            _ => {
                f.add(
                    &field,
                    Some(v),
                    format!("Member must have value between {} and {}", LIFECYCLE_RANGE.start(), LIFECYCLE_RANGE.end()),
                );
                None
            }
        }
    };
    let idle = number("idleRuntimeSessionTimeout");
    let max = number("maxLifetime");
    let (idle, max) = match (idle, max) {
        (Some(i), Some(m)) => (i, m),
        (Some(i), None) => (i, DEFAULT_MAX_LIFETIME),
        (None, Some(m)) if m <= DEFAULT_IDLE_TIMEOUT => (m, m),
        (None, Some(m)) => (DEFAULT_IDLE_TIMEOUT, m),
        (None, None) => (DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_LIFETIME),
    };
    if idle > max {
        f.add(
            "lifecycleConfiguration.idleRuntimeSessionTimeout",
            obj.get("idleRuntimeSessionTimeout"),
            "idleRuntimeSessionTimeout must be less than or equal to maxLifetime",
        );
    }
    (idle, max)
}
/// The specification of a Create or Update body checked against `request` (the operation's input
/// shape); `None` when something failed. The stored document holds only the members the model
/// knows (and GetAgentRuntime's output has), without the name, the client token and the tags.
fn spec_fields(
    body: &Map<String, Value>,
    request: &shape::Shape,
    is_update: bool,
    f: &mut Failures,
) -> Option<RuntimeSpec> {
    let before = f.0.len();
    let Value::Object(mut document) = shape::check(request, &Value::Object(body.clone()), "", f) else {
        unreachable!("a structure checks into an object");
    };
    // networkConfiguration: required on update ("full PUT"), PUBLIC by default on create.
    let network = match document.get("networkConfiguration") {
        None if is_update => {
            f.add("networkConfiguration", None, "Member must not be null");
            json!({ "networkMode": "PUBLIC" })
        }
        None => json!({ "networkMode": "PUBLIC" }),
        Some(network) => network.clone(),
    };
    let mut vpc = None;
    if network.get("networkMode").and_then(Value::as_str) == Some("VPC") {
        match network.get("networkModeConfig") {
            None => f.0.push((
                "networkConfiguration.networkModeConfig".into(),
                None,
                "NetworkModeConfig is required for VPC mode".into(),
            )),
            Some(config) => {
                let ids = |key: &str| -> Vec<String> {
                    config.get(key).and_then(Value::as_array).map_or_else(Vec::new, |items| {
                        items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
                    })
                };
                vpc = Some(VpcPlacement { subnets: ids("subnets"), security_groups: ids("securityGroups") });
            }
        }
    }
    let (idle, max) = lifecycle(body.get("lifecycleConfiguration"), f);
    if f.0.len() > before {
        return None;
    }
    for key in ["agentRuntimeName", "clientToken", "tags"] {
        document.remove(key);
    }
    document.insert("networkConfiguration".into(), network);
    document.insert("lifecycleConfiguration".into(), json!({ "idleRuntimeSessionTimeout": idle, "maxLifetime": max }));
    Some(RuntimeSpec { document, vpc, idle_timeout_secs: idle, max_lifetime_secs: max })
}

/// VPC mode: the subnets and security groups exist, sit in one VPC, and the subnets are in
/// AZs AgentCore supports.
pub fn check_network(spec: &RuntimeSpec, region: &RegionState) -> Result<()> {
    let Some(vpc) = &spec.vpc else {
        return Ok(());
    };
    let invalid = |field: &str, message: String| AwsError {
        fields: vec![crate::error::FieldError { name: field.into(), message: message.clone() }],
        ..AwsError::validation("FieldValidationFailed", message)
    };
    let subnets_field = "networkConfiguration.networkModeConfig.subnets";
    let groups_field = "networkConfiguration.networkModeConfig.securityGroups";
    let mut vpc_ids = std::collections::BTreeSet::new();
    for id in &vpc.subnets {
        let subnet = region
            .subnets
            .get(id)
            .ok_or_else(|| invalid(subnets_field, format!("The subnet ID '{id}' does not exist")))?;
        vpc_ids.insert(subnet.vpc_id.clone());
        if !subnet.zone.agentcore_supported {
            let supported = catalog::supported_zone_ids(&region.name);
            return Err(invalid(
                subnets_field,
                format!(
                    "Subnet {id} is in Availability Zone {} ({}), which Amazon Bedrock AgentCore \
                     does not support in {}. Supported Availability Zone IDs: {}.",
                    subnet.zone.id,
                    subnet.zone.name,
                    region.name,
                    if supported.is_empty() { "none".to_string() } else { supported.join(", ") }
                ),
            ));
        }
    }
    for id in &vpc.security_groups {
        let group = region
            .security_groups
            .get(id)
            .ok_or_else(|| invalid(groups_field, format!("The security group '{id}' does not exist")))?;
        vpc_ids.insert(group.vpc_id.clone());
    }
    if vpc_ids.len() > 1 {
        return Err(invalid(
            "networkConfiguration.networkModeConfig",
            format!(
                "All subnets and security groups must belong to the same VPC; found {}",
                vpc_ids.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::shape::{is_container_uri, is_role_arn};
    use super::*;

    #[test]
    fn runtime_ids_follow_the_model_pattern() {
        for good in ["agent-abcdefghij", "a_b1-0123456789", &format!("a{}-0123456789", "b".repeat(99))] {
            assert!(is_runtime_id(good), "{good}");
        }
        for bad in [
            "!",
            "agent",
            "agent-short",
            "1agent-0123456789",
            "a-b-0123456789",
            "agent-01234567890",
            "",
            &format!("a{}-0123456789", "b".repeat(100)),
        ] {
            assert!(!is_runtime_id(bad), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(is_name("my_agent"));
        assert!(is_name(&"a".repeat(48)));
        assert!(!is_name(&"a".repeat(49)));
        assert!(!is_name("my-agent"));
        assert!(!is_name("1agent"));
        assert!(!is_name(""));
    }

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/AgentRole"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/a/b"));
        assert!(is_role_arn("arn:aws:iam:::role/x"));
        assert!(!is_role_arn("arn:aws:iam::123:role/x"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/x"));
        assert!(!is_role_arn("arn:aws:s3:::bucket"));
    }

    #[test]
    fn container_uris() {
        assert!(is_container_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest"));
        assert!(is_container_uri("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/agent@sha256:abc"));
        assert!(is_container_uri("public.ecr.aws/x/y:1"));
        assert!(!is_container_uri("docker.io/library/nginx"));
        assert!(!is_container_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/"));
    }

    #[test]
    fn client_tokens() {
        assert!(check_client_token("fdd45531-e27e-443d-8718-42677280dd3a").is_ok());
        assert!(check_client_token("short").is_err());
        assert!(check_client_token(&format!("-{}", "a".repeat(40))).is_err());
    }

    #[test]
    fn lifecycle_defaults_follow_the_documented_rules() {
        let mut f = Failures::default();
        assert_eq!(lifecycle(None, &mut f), (900, 28_800));
        assert_eq!(lifecycle(Some(&json!({"maxLifetime": 600})), &mut f), (600, 600));
        assert_eq!(lifecycle(Some(&json!({"maxLifetime": 3600})), &mut f), (900, 3600));
        assert!(f.0.is_empty());
        lifecycle(Some(&json!({"idleRuntimeSessionTimeout": 1000, "maxLifetime": 900})), &mut f);
        assert_eq!(f.0.len(), 1);
        lifecycle(Some(&json!({"maxLifetime": 30})), &mut f);
        assert_eq!(f.0.len(), 2);
    }

    #[test]
    fn page_tokens_round_trip() {
        assert_eq!(decode_page_token(&encode_page_token(42)), Some(42));
        assert_eq!(decode_page_token("nope"), None);
    }
}
