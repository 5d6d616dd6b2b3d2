//! What the control plane's operation families share: ARNs, client-token idempotency, pages, the
//! 202 answer and the runtime lookup.
//!
//! A sibling of the operation modules, so that none of them imports its parent.

use std::collections::HashMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::validate;
use crate::error::AwsError;
use crate::state::{RegionState, Runtime, TokenRecord};

pub type Result<T, E = AwsError> = std::result::Result<T, E>;

/// Default page size when `maxResults` is absent (the model's maximum).
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// `arn:aws:bedrock-agentcore:<region>:<account>:runtime/<id>`.
pub fn runtime_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:bedrock-agentcore:{region}:{account}:runtime/{id}")
}

/// The runtime's `workloadIdentityDetails`.
pub fn workload_identity(region: &str, account: &str, runtime: &Runtime) -> Value {
    json!({
        "workloadIdentityArn": format!(
            "arn:aws:bedrock-agentcore:{region}:{account}:workload-identity-directory/default/workload-identity/{}",
            runtime.id
        )
    })
}

/// `ResourceNotFoundException` for the runtime `id`.
pub fn not_found(id: &str) -> AwsError {
    AwsError::not_found(format!("Agent runtime {id} not found"))
}

/// The runtime `id` of `region`, or `ResourceNotFoundException`.
pub fn runtime<'a>(region: &'a RegionState, id: &str) -> Result<&'a Runtime> {
    region.runtimes.get(id).ok_or_else(|| not_found(id))
}

/// The runtime `id` of `region` for a change, or `ResourceNotFoundException`.
pub fn runtime_mut<'a>(region: &'a mut RegionState, id: &str) -> Result<&'a mut Runtime> {
    region.runtimes.get_mut(id).ok_or_else(|| not_found(id))
}

/// HTTP 202 with `body`.
pub fn accepted(body: Value) -> Response {
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// The request without its client token, for idempotency comparisons.
pub fn fingerprint(body: &Map<String, Value>) -> Value {
    let mut body = body.clone();
    body.remove("clientToken");
    Value::Object(body)
}

/// Checks a client token against earlier uses: `Ok(Some(response))` replays the earlier answer.
pub fn replay(tokens: &HashMap<String, TokenRecord>, token: Option<&str>, request: &Value) -> Result<Option<Value>> {
    let Some(record) = token.and_then(|t| tokens.get(t)) else {
        return Ok(None);
    };
    if &record.request == request {
        Ok(Some(record.response.clone()))
    } else {
        Err(AwsError::validation(
            "IdempotentParameterMismatchException",
            "The client token was already used with different request parameters.",
        ))
    }
}

/// Records the answer to a request that came with client `token` (for [`replay`]) and answers it
/// with 202.
pub fn remember(
    tokens: &mut HashMap<String, TokenRecord>,
    token: Option<String>,
    request: Value,
    response: Value,
) -> Response {
    if let Some(token) = token {
        tokens.insert(token, TokenRecord { request, response: response.clone() });
    }
    accepted(response)
}

/// The `maxResults` and `nextToken` query members of the List operations.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    max_results: Option<String>,
    next_token: Option<String>,
}

/// One page of `items` and the token for the next.
pub fn page<T>(items: Vec<T>, query: &PageQuery) -> Result<(Vec<T>, Option<String>)> {
    let max = match &query.max_results {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=100) => n,
            _ => {
                return Err(AwsError::field_validation(vec![(
                    "maxResults".into(),
                    Some(text.clone()),
                    "Member must have value between 1 and 100".into(),
                )]));
            }
        },
    };
    let start = match &query.next_token {
        None => 0,
        Some(token) => validate::decode_page_token(token)
            .ok_or_else(|| AwsError::validation("FieldValidationFailed", format!("Invalid nextToken: {token}")))?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let end = start + page.len();
    Ok((page, (end < total).then(|| validate::encode_page_token(end))))
}

/// `{"<key>": items, "nextToken": …}`.
pub fn list_response(key: &str, items: Vec<Value>, next: Option<String>) -> Response {
    let mut out = Map::new();
    out.insert(key.into(), Value::Array(items));
    if let Some(token) = next {
        out.insert("nextToken".into(), Value::String(token));
    }
    Json(Value::Object(out)).into_response()
}
