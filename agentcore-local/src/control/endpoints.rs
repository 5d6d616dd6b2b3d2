//! Runtime endpoints: CreateAgentRuntimeEndpoint, GetAgentRuntimeEndpoint,
//! UpdateAgentRuntimeEndpoint, DeleteAgentRuntimeEndpoint and ListAgentRuntimeEndpoints.
//!
//! | Operation | Route | Success |
//! |---|---|---|
//! | CreateAgentRuntimeEndpoint | `PUT /runtimes/{id}/runtime-endpoints` | 202 |
//! | ListAgentRuntimeEndpoints | `POST /runtimes/{id}/runtime-endpoints?maxResults&nextToken` | 200 |
//! | GetAgentRuntimeEndpoint | `GET /runtimes/{id}/runtime-endpoints/{endpointName}` | 200 |
//! | UpdateAgentRuntimeEndpoint | `PUT /runtimes/{id}/runtime-endpoints/{endpointName}` | 202 |
//! | DeleteAgentRuntimeEndpoint | `DELETE /runtimes/{id}/runtime-endpoints/{endpointName}?clientToken` | 202 |
//!
//! As the AgentCore developer guide ("AgentCore Runtime versioning and endpoints") describes them:
//! every runtime has the `DEFAULT` endpoint from its creation, which always points at the newest
//! version and goes only with the runtime (deleting it is a `ConflictException`: "Default endpoints
//! are removed when you delete the agent."); other endpoints point at the version they were created
//! with (the newest when none is given) and move only through UpdateAgentRuntimeEndpoint. An
//! endpoint is CREATING or UPDATING, with `targetVersion`, until that version is READY and the
//! status delay has passed; then READY with `liveVersion`. Ids are `<name>-` and 10 alphanumerics,
//! ARNs `<runtime ARN>/runtime-endpoint/<name>`, as the model's patterns have them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::common::{self, PageQuery, Result, accepted, fingerprint, list_response, page, remember, replay};
use super::validate::{self, parse_object};
use crate::app_state::AppState;
use crate::context::{RequestContext, route_both};
use crate::error::AwsError;
use crate::ids;
use crate::state::{DEFAULT_ENDPOINT, Endpoint, Pending, Runtime, RuntimeStatus, Transition};

/// Endpoints per runtime besides `DEFAULT` (the "Endpoints per agent" quota's default, which the
/// limits page lists as adjustable).
pub const MAX_ENDPOINTS_PER_RUNTIME: usize = 10;

/// Adds the endpoint routes to `router`.
pub fn routes(router: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    let router = route_both(
        router,
        "/runtimes/{id}/runtime-endpoints",
        put(create_agent_runtime_endpoint).post(list_agent_runtime_endpoints),
    );
    route_both(
        router,
        "/runtimes/{id}/runtime-endpoints/{endpoint}",
        get(get_agent_runtime_endpoint).put(update_agent_runtime_endpoint).delete(delete_agent_runtime_endpoint),
    )
}

/// `<runtime ARN>/runtime-endpoint/<name>`.
fn endpoint_arn(runtime: &Runtime, name: &str) -> String {
    format!("{}/runtime-endpoint/{name}", runtime.arn)
}

fn endpoint_not_found(runtime_id: &str, name: &str) -> AwsError {
    AwsError::not_found(format!("Endpoint {name} not found for agent runtime {runtime_id}"))
}

fn version_not_found(runtime_id: &str, version: u32) -> AwsError {
    AwsError::not_found(format!("Version {version} of agent runtime {runtime_id} not found"))
}

/// `ServiceQuotaExceededException` (402).
fn quota_exceeded(message: String) -> AwsError {
    AwsError::new(StatusCode::PAYMENT_REQUIRED, "ServiceQuotaExceededException", message)
}

/// The implicit `DEFAULT` endpoint as GetAgentRuntimeEndpoint shows it: it follows the runtime,
/// serving the newest READY version and moving to each new one.
fn default_endpoint(runtime: &Runtime) -> Value {
    let current = runtime.current_version().version;
    let status = match runtime.status {
        RuntimeStatus::CreateFailed => RuntimeStatus::CreateFailed,
        RuntimeStatus::Creating => RuntimeStatus::Creating,
        RuntimeStatus::Updating => RuntimeStatus::Updating,
        RuntimeStatus::Deleting => RuntimeStatus::Deleting,
        RuntimeStatus::DeleteFailed => RuntimeStatus::DeleteFailed,
        RuntimeStatus::Ready | RuntimeStatus::UpdateFailed => RuntimeStatus::Ready,
    };
    let mut endpoint = json!({
        "name": DEFAULT_ENDPOINT,
        "id": runtime.default_endpoint_id,
        "agentRuntimeEndpointArn": endpoint_arn(runtime, DEFAULT_ENDPOINT),
        "agentRuntimeArn": runtime.arn,
        "status": status,
        "createdAt": ids::iso8601(runtime.created_at),
        "lastUpdatedAt": ids::iso8601(runtime.last_updated_at),
    });
    if runtime.live_version > 0 {
        endpoint["liveVersion"] = json!(runtime.live_version.to_string());
    }
    if matches!(runtime.status, RuntimeStatus::Creating | RuntimeStatus::Updating) || runtime.live_version != current {
        endpoint["targetVersion"] = json!(current.to_string());
    }
    if status == RuntimeStatus::CreateFailed
        && let Some(reason) = &runtime.failure_reason
    {
        endpoint["failureReason"] = json!(reason);
    }
    endpoint
}

/// An endpoint made with CreateAgentRuntimeEndpoint as GetAgentRuntimeEndpoint shows it (DELETING
/// or DELETE_FAILED while its runtime is).
fn custom_endpoint(runtime: &Runtime, endpoint: &Endpoint) -> Value {
    let status = if runtime.is_going() { runtime.status } else { endpoint.status };
    let mut out = json!({
        "name": endpoint.name,
        "id": endpoint.id,
        "agentRuntimeEndpointArn": endpoint.arn,
        "agentRuntimeArn": runtime.arn,
        "status": status,
        "createdAt": ids::iso8601(endpoint.created_at),
        "lastUpdatedAt": ids::iso8601(endpoint.last_updated_at),
    });
    if let Some(live) = endpoint.live_version {
        out["liveVersion"] = json!(live.to_string());
    }
    if let Some(target) = endpoint.target_version {
        out["targetVersion"] = json!(target.to_string());
    }
    if let Some(description) = &endpoint.description {
        out["description"] = json!(description);
    }
    if let Some(reason) = &endpoint.failure_reason {
        out["failureReason"] = json!(reason);
    }
    out
}

/// The endpoint `name` of `runtime` as GetAgentRuntimeEndpoint shows it, if there is one.
fn endpoint_view(runtime: &Runtime, name: &str) -> Option<Value> {
    if name == DEFAULT_ENDPOINT {
        Some(default_endpoint(runtime))
    } else {
        runtime.endpoints.get(name).map(|e| custom_endpoint(runtime, e))
    }
}

async fn create_agent_runtime_endpoint(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    validate::runtime_id(&id)?;
    let body = parse_object(&body)?;
    let token = validate::client_token(&body)?;
    let request = fingerprint(&body);
    let (mut world, now) = state.world();
    let region = world.region(&ctx.caller.region);
    let runtime = common::runtime(region, &id)?;
    if let Some(response) = replay(&runtime.endpoint_tokens, token.as_deref(), &request)? {
        return Ok(accepted(response));
    }
    let checked = validate::endpoint(&body, true)?;
    let name = checked.name.expect("validated: required on create");
    if runtime.is_going() {
        return Err(AwsError::conflict(format!("Agent runtime {id} is being deleted")));
    }
    if name == DEFAULT_ENDPOINT || runtime.endpoints.contains_key(&name) {
        return Err(AwsError::conflict(format!(
            "An endpoint with the name '{name}' already exists for agent runtime {id}"
        )));
    }
    if runtime.endpoints.len() >= MAX_ENDPOINTS_PER_RUNTIME {
        return Err(quota_exceeded(format!(
            "Agent runtime {id} already has {MAX_ENDPOINTS_PER_RUNTIME} endpoints besides DEFAULT"
        )));
    }
    let version = match checked.version {
        Some(v) => runtime.version(v).ok_or_else(|| version_not_found(&id, v))?.version,
        None => runtime.current_version().version,
    };
    let seq = region.next_seq();
    let runtime = common::runtime_mut(region, &id)?;
    let endpoint = Endpoint {
        id: ids::runtime_id(&name),
        arn: endpoint_arn(runtime, &name),
        name: name.clone(),
        description: checked.description,
        status: RuntimeStatus::Creating,
        live_version: None,
        target_version: Some(version),
        failure_reason: None,
        created_at: now,
        last_updated_at: now,
        pending: Some(Pending { at: now + state.config.status_delay, transition: Transition::Ready }),
        update_tokens: HashMap::new(),
        tags: checked.tags,
        seq,
    };
    let response = json!({
        "targetVersion": version.to_string(),
        "agentRuntimeEndpointArn": endpoint.arn,
        "agentRuntimeArn": runtime.arn,
        "agentRuntimeId": runtime.id,
        "endpointName": name,
        "status": endpoint.status,
        "createdAt": ids::iso8601(now),
    });
    runtime.endpoints.insert(name, endpoint);
    Ok(remember(&mut runtime.endpoint_tokens, token, request, response))
}

async fn get_agent_runtime_endpoint(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response> {
    validate::runtime_id(&id)?;
    validate::endpoint_name(&name)?;
    let (mut world, _) = state.world();
    let runtime = common::runtime(world.region(&ctx.caller.region), &id)?;
    let view = endpoint_view(runtime, &name).ok_or_else(|| endpoint_not_found(&id, &name))?;
    Ok(Json(view).into_response())
}

async fn update_agent_runtime_endpoint(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    validate::runtime_id(&id)?;
    validate::endpoint_name(&name)?;
    let body = parse_object(&body)?;
    let token = validate::client_token(&body)?;
    let request = fingerprint(&body);
    let (mut world, now) = state.world();
    let runtime = common::runtime_mut(world.region(&ctx.caller.region), &id)?;
    if name == DEFAULT_ENDPOINT {
        return Err(AwsError::conflict(
            "The DEFAULT endpoint always points at the newest version; update the agent runtime to move it",
        ));
    }
    let endpoint = runtime.endpoints.get(&name).ok_or_else(|| endpoint_not_found(&id, &name))?;
    if let Some(response) = replay(&endpoint.update_tokens, token.as_deref(), &request)? {
        return Ok(accepted(response));
    }
    let checked = validate::endpoint(&body, false)?;
    let busy = [RuntimeStatus::Creating, RuntimeStatus::Updating, RuntimeStatus::Deleting];
    if runtime.is_going() || busy.contains(&endpoint.status) {
        let status = if runtime.is_going() { runtime.status } else { endpoint.status };
        return Err(AwsError::conflict(format!(
            "Endpoint {name} of agent runtime {id} cannot be updated while its status is {}",
            status.as_str()
        )));
    }
    // Without a version the endpoint keeps its own (the newest one if it never had a live one).
    let version = checked.version.or(endpoint.live_version).unwrap_or_else(|| runtime.current_version().version);
    if runtime.version(version).is_none() {
        return Err(version_not_found(&id, version));
    }
    let delay = state.config.status_delay;
    let runtime_arn = runtime.arn.clone();
    let endpoint = runtime.endpoints.get_mut(&name).expect("looked up above");
    if let Some(description) = checked.description {
        endpoint.description = Some(description);
    }
    endpoint.status = RuntimeStatus::Updating;
    endpoint.target_version = Some(version);
    endpoint.failure_reason = None;
    endpoint.last_updated_at = now;
    endpoint.pending = Some(Pending { at: now + delay, transition: Transition::Ready });
    let mut response = json!({
        "targetVersion": version.to_string(),
        "agentRuntimeEndpointArn": endpoint.arn,
        "agentRuntimeArn": runtime_arn,
        "status": endpoint.status,
        "createdAt": ids::iso8601(endpoint.created_at),
        "lastUpdatedAt": ids::iso8601(now),
    });
    if let Some(live) = endpoint.live_version {
        response["liveVersion"] = json!(live.to_string());
    }
    Ok(remember(&mut endpoint.update_tokens, token, request, response))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteEndpointQuery {
    client_token: Option<String>,
}

async fn delete_agent_runtime_endpoint(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, name)): Path<(String, String)>,
    Query(query): Query<DeleteEndpointQuery>,
) -> Result<Response> {
    if let Some(token) = &query.client_token {
        validate::check_client_token(token)?;
    }
    let (mut world, now) = state.world();
    let runtime = common::runtime_mut(world.region(&ctx.caller.region), &id)?;
    if name == DEFAULT_ENDPOINT {
        // The real service's words (AgentCore CLI skill text, third-party captures).
        return Err(AwsError::conflict("Default endpoints are removed when you delete the agent."));
    }
    // DeleteAgentRuntimeEndpoint models no ValidationException: a malformed name names nothing.
    let endpoint = runtime.endpoints.get_mut(&name).ok_or_else(|| endpoint_not_found(&id, &name))?;
    if endpoint.status != RuntimeStatus::Deleting {
        endpoint.status = RuntimeStatus::Deleting;
        endpoint.last_updated_at = now;
        endpoint.pending = Some(Pending { at: now + state.config.status_delay, transition: Transition::Gone });
    }
    Ok(accepted(json!({ "status": "DELETING", "agentRuntimeId": id, "endpointName": name })))
}

async fn list_agent_runtime_endpoints(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response> {
    validate::runtime_id(&id)?;
    let (mut world, _) = state.world();
    let region = world.region(&ctx.caller.region);
    // The model lists no ResourceNotFoundException here: an unknown runtime has no endpoints.
    let endpoints: Vec<Value> = match region.runtimes.get(&id) {
        None => vec![],
        Some(runtime) => {
            let mut custom: Vec<&Endpoint> = runtime.endpoints.values().collect();
            custom.sort_by_key(|e| e.seq);
            std::iter::once(default_endpoint(runtime))
                .chain(custom.into_iter().map(|e| custom_endpoint(runtime, e)))
                .map(list_item)
                .collect()
        }
    };
    let (page, next) = page(endpoints, &query)?;
    Ok(list_response("runtimeEndpoints", page, next))
}

/// A GetAgentRuntimeEndpoint view cut to the list's `AgentRuntimeEndpoint` members (no
/// `failureReason`).
fn list_item(mut view: Value) -> Value {
    if let Some(map) = view.as_object_mut() {
        map.remove("failureReason");
    }
    view
}
