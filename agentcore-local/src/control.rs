//! The AgentCore control plane (`bedrock-agentcore-control`, restJson1): agent runtimes, their
//! versions, their endpoints ([`endpoints`]) and tags ([`tags`]).
//!
//! | Operation | Route |
//! |---|---|
//! | CreateAgentRuntime | `PUT /runtimes` |
//! | ListAgentRuntimes | `POST /runtimes?maxResults&nextToken` |
//! | GetAgentRuntime | `GET /runtimes/{id}?version` |
//! | UpdateAgentRuntime | `PUT /runtimes/{id}` |
//! | DeleteAgentRuntime | `DELETE /runtimes/{id}?version&clientToken` |
//! | ListAgentRuntimeVersions | `POST /runtimes/{id}/versions?maxResults&nextToken` |
//! | Create/Get/Update/Delete/ListAgentRuntimeEndpoint(s) | `/runtimes/{id}/runtime-endpoints…` ([`endpoints`]) |
//! | TagResource | `POST /tags/{resourceArn}` |
//! | UntagResource | `DELETE /tags/{resourceArn}?tagKeys=…` |
//! | ListTagsForResource | `GET /tags/{resourceArn}` |
//!
//! Versions, as the developer guide ("AgentCore Runtime versioning and endpoints") has them:
//! CreateAgentRuntime makes version 1 and every UpdateAgentRuntime the next one, each a complete,
//! immutable configuration that GetAgentRuntime `?version=N` shows. DeleteAgentRuntime with a
//! version deletes only that version ("When you provide this value, only that version is
//! deleted"), refused with `ConflictException` while an endpoint points at it (the newest
//! version always has `DEFAULT`).
//!
//! Tags: agent runtimes and their endpoints are the taggable resources here (the real service
//! also tags gateways, browsers and code interpreters, which the emulator does not have); a
//! well-formed ARN of anything else answers `ResourceNotFoundException`.

pub mod common;
pub mod endpoints;
pub mod shape;
pub mod tags;
pub mod validate;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use self::common::{
    PageQuery, Result, accepted, fingerprint, list_response, not_found, page, remember, replay, runtime_arn,
    workload_identity,
};
use self::validate::parse_object;
use crate::app_state::AppState;
use crate::config::Config;
use crate::context::{RequestContext, route_both};
use crate::error::AwsError;
use crate::state::{DEFAULT_ENDPOINT, Pending, RegionState, Runtime, RuntimeStatus, RuntimeVersion, Transition};
use crate::{eni, faults, ids};

/// Adds the control-plane routes to `router`.
pub fn routes(router: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    let router = route_both(router, "/runtimes", put(create_agent_runtime).post(list_agent_runtimes));
    let router = route_both(
        router,
        "/runtimes/{id}",
        put(update_agent_runtime).get(get_agent_runtime).delete(delete_agent_runtime),
    );
    let router = route_both(router, "/runtimes/{id}/versions", post(list_agent_runtime_versions));
    let router = route_both(
        router,
        "/capacity-providers/{id}/runtime-versions",
        post(list_agent_runtime_versions_by_capacity_provider),
    );
    let router = endpoints::routes(router);
    tags::routes(router)
}

/// Starts the ENI mechanism for `runtime`'s newest version: on success the runtime's network
/// becomes that version's and a READY transition is scheduled; without enough free IPs it fails.
fn apply_network(region: &mut RegionState, runtime_id: &str, now: SystemTime, config: &Config, failed: RuntimeStatus) {
    let runtime = region.runtimes.get(runtime_id).expect("caller inserted it");
    let vpc = runtime.current_version().spec.vpc.clone();
    let shortfall = vpc.as_ref().and_then(|v| eni::shortfall(region, v, runtime_id, config.eni_policy));
    let runtime = region.runtimes.get_mut(runtime_id).expect("caller inserted it");
    match shortfall {
        Some(reason) => {
            runtime.status = failed;
            runtime.failure_reason = Some(reason);
            runtime.pending = None;
            if let Some(v) = runtime.versions.last_mut() {
                v.status = failed;
            }
        }
        None => {
            runtime.effective_vpc = vpc;
            runtime.failure_reason = None;
            runtime.pending = Some(Pending { at: now + config.status_delay, transition: Transition::Ready });
        }
    }
    eni::reconcile(region, now, config);
}

/// When an outcome fault for `operation` hits ([`faults::roll_outcome`]), the transition `runtime`
/// just scheduled ends in the operation's failed status instead (CREATE_FAILED, UPDATE_FAILED,
/// DELETE_FAILED) at the same time.
fn fail_if_injected(runtime: &mut Runtime, config: &Config, operation: &str) {
    let Some(pending) = runtime.pending.as_mut() else { return };
    if faults::roll_outcome(&config.faults, operation)
        && let Some((_, failed)) = faults::OUTCOMES.iter().find(|(op, _)| *op == operation)
    {
        pending.transition = Transition::Fail(*failed);
    }
}

// ---------------------------------------------------------------------------------------------

async fn create_agent_runtime(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> Result<Response> {
    let body = parse_object(&body)?;
    let config = &state.config;
    let token = validate::client_token(&body)?;
    let request = fingerprint(&body);
    let (mut world, now) = state.world();
    let region = world.region(&ctx.caller.region);
    if let Some(response) = replay(&region.create_tokens, token.as_deref(), &request)? {
        return Ok(accepted(response));
    }
    // The model's constraints first, then the name, then the other resources the request names.
    let (name, spec) = validate::create(&body)?;
    let tags = validate::create_tags(&body);
    if region.runtimes.values().any(|r| r.name == name) {
        return Err(AwsError::conflict(format!("An agent runtime with the name '{name}' already exists")));
    }
    validate::check_network(&spec, region)?;
    let id = ids::runtime_id(&name);
    let arn = runtime_arn(&region.name, &config.account_id, &id);
    let seq = region.next_seq();
    let runtime = Runtime {
        id: id.clone(),
        name,
        arn: arn.clone(),
        created_at: now,
        last_updated_at: now,
        status: RuntimeStatus::Creating,
        failure_reason: None,
        versions: vec![RuntimeVersion { version: 1, spec, created_at: now, status: RuntimeStatus::Creating }],
        live_version: 0,
        effective_vpc: None,
        pending: None,
        update_tokens: HashMap::new(),
        tags,
        seq,
        default_endpoint_id: ids::runtime_id(DEFAULT_ENDPOINT),
        endpoints: BTreeMap::new(),
        endpoint_tokens: HashMap::new(),
    };
    region.runtimes.insert(id.clone(), runtime);
    apply_network(region, &id, now, config, RuntimeStatus::CreateFailed);
    fail_if_injected(region.runtimes.get_mut(&id).expect("inserted"), config, "CreateAgentRuntime");
    let runtime = &region.runtimes[&id];
    let response = json!({
        "agentRuntimeArn": arn,
        "agentRuntimeId": id,
        "agentRuntimeVersion": "1",
        "createdAt": ids::iso8601(now),
        "status": runtime.status,
        "workloadIdentityDetails": workload_identity(&region.name, &config.account_id, runtime),
    });
    Ok(remember(&mut region.create_tokens, token, request, response))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionQuery {
    version: Option<String>,
}

async fn get_agent_runtime(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Query(query): Query<VersionQuery>,
) -> Result<Response> {
    validate::runtime_id(&id)?;
    let config = &state.config;
    let (mut world, _) = state.world();
    let region = world.region(&ctx.caller.region);
    let runtime = region.runtimes.get(&id).ok_or_else(|| not_found(&id))?;
    let version = match query.version.as_deref() {
        None => runtime.current_version(),
        Some(v) => {
            let n = validate::version(v)?;
            runtime
                .version(n)
                .ok_or_else(|| AwsError::not_found(format!("Version {n} of agent runtime {id} not found")))?
        }
    };
    let is_current = version.version == runtime.current_version().version;
    let mut out = version.spec.document.clone();
    out.insert("agentRuntimeArn".into(), json!(runtime.arn));
    out.insert("agentRuntimeName".into(), json!(runtime.name));
    out.insert("agentRuntimeId".into(), json!(runtime.id));
    out.insert("agentRuntimeVersion".into(), json!(version.version.to_string()));
    out.insert("createdAt".into(), json!(ids::iso8601(runtime.created_at)));
    let last_updated = if is_current { runtime.last_updated_at } else { version.created_at };
    out.insert("lastUpdatedAt".into(), json!(ids::iso8601(last_updated)));
    let status = if is_current { runtime.status } else { version.status };
    out.insert("status".into(), json!(status));
    if is_current && let Some(reason) = &runtime.failure_reason {
        out.insert("failureReason".into(), json!(reason));
    }
    out.insert("workloadIdentityDetails".into(), workload_identity(&region.name, &config.account_id, runtime));
    Ok(Json(Value::Object(out)).into_response())
}

async fn update_agent_runtime(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    validate::runtime_id(&id)?;
    let body = parse_object(&body)?;
    let config = &state.config;
    let token = validate::client_token(&body)?;
    let request = fingerprint(&body);
    let (mut world, now) = state.world();
    let region = world.region(&ctx.caller.region);
    let runtime = region.runtimes.get(&id).ok_or_else(|| not_found(&id))?;
    if let Some(response) = replay(&runtime.update_tokens, token.as_deref(), &request)? {
        return Ok(accepted(response));
    }
    // networkConfiguration is optional in the model (botocore 1.44.8): absent keeps the current one.
    let mut body = body;
    if body.get("networkConfiguration").is_none_or(Value::is_null)
        && let Some(network) = runtime.current_version().spec.document.get("networkConfiguration")
    {
        body.insert("networkConfiguration".into(), network.clone());
    }
    let spec = validate::update(&body, region)?;
    let runtime = region.runtimes.get_mut(&id).expect("looked up above");
    if runtime.is_going() || matches!(runtime.status, RuntimeStatus::Creating | RuntimeStatus::Updating) {
        return Err(AwsError::conflict(format!(
            "Agent runtime {id} cannot be updated while its status is {}",
            runtime.status.as_str()
        )));
    }
    let version = runtime.current_version().version + 1;
    runtime.versions.push(RuntimeVersion { version, spec, created_at: now, status: RuntimeStatus::Updating });
    runtime.status = RuntimeStatus::Updating;
    runtime.last_updated_at = now;
    apply_network(region, &id, now, config, RuntimeStatus::UpdateFailed);
    let runtime = region.runtimes.get_mut(&id).expect("still there");
    fail_if_injected(runtime, config, "UpdateAgentRuntime");
    let response = json!({
        "agentRuntimeArn": runtime.arn,
        "agentRuntimeId": runtime.id,
        "agentRuntimeVersion": version.to_string(),
        "createdAt": ids::iso8601(runtime.created_at),
        "lastUpdatedAt": ids::iso8601(now),
        "status": runtime.status,
        "workloadIdentityDetails": workload_identity(&ctx.caller.region, &config.account_id, runtime),
    });
    Ok(remember(&mut runtime.update_tokens, token, request, response))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteQuery {
    version: Option<String>,
    client_token: Option<String>,
}

async fn delete_agent_runtime(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Result<Response> {
    if let Some(token) = &query.client_token {
        validate::check_client_token(token)?;
    }
    let version = query.version.as_deref().map(validate::version).transpose()?;
    let config = &state.config;
    let (mut world, now) = state.world();
    let region = world.region(&ctx.caller.region);
    let runtime = region.runtimes.get_mut(&id).ok_or_else(|| not_found(&id))?;
    if let Some(version) = version {
        return delete_version(runtime, version).map(accepted);
    }
    let newly_deleting = runtime.status != RuntimeStatus::Deleting;
    if newly_deleting {
        runtime.status = RuntimeStatus::Deleting;
        runtime.failure_reason = None;
        runtime.last_updated_at = now;
        runtime.pending = Some(Pending { at: now + config.status_delay, transition: Transition::Gone });
        fail_if_injected(runtime, config, "DeleteAgentRuntime");
    }
    let answer = json!({
        "status": "DELETING",
        "agentRuntimeId": runtime.id,
        "agentRuntimeVersion": runtime.current_version().version.to_string(),
    });
    drop(world);
    if newly_deleting {
        // Deleting a runtime ends its sessions (their microVMs are terminated). Outside the world
        // lock: a DELETING runtime accepts no new invocation, so no new session can start.
        state.sessions.end_runtime(&ctx.caller.region, &id);
    }
    Ok(accepted(answer))
}

/// DeleteAgentRuntime `?version=N`: deletes that version only. Refused with `ConflictException`
/// while the runtime is being deleted or an endpoint points at the version (the newest always has
/// `DEFAULT`, so the last version cannot go this way).
fn delete_version(runtime: &mut Runtime, version: u32) -> Result<Value> {
    let id = runtime.id.clone();
    runtime
        .version(version)
        .ok_or_else(|| AwsError::not_found(format!("Version {version} of agent runtime {id} not found")))?;
    if runtime.status == RuntimeStatus::Deleting {
        return Err(AwsError::conflict(format!("Agent runtime {id} is being deleted")));
    }
    let users = runtime.endpoints_using(version);
    if !users.is_empty() {
        return Err(AwsError::conflict(format!(
            "Version {version} of agent runtime {id} cannot be deleted while endpoints point at it: {}",
            users.join(", ")
        )));
    }
    runtime.versions.retain(|v| v.version != version);
    Ok(json!({ "status": "DELETING", "agentRuntimeId": id, "agentRuntimeVersion": version.to_string() }))
}

fn summary(runtime: &Runtime, version: &RuntimeVersion, is_current: bool) -> Value {
    let mut item = json!({
        "agentRuntimeArn": runtime.arn,
        "agentRuntimeId": runtime.id,
        "agentRuntimeVersion": version.version.to_string(),
        "agentRuntimeName": runtime.name,
        "lastUpdatedAt": ids::iso8601(if is_current { runtime.last_updated_at } else { version.created_at }),
        "status": if is_current { runtime.status } else { version.status },
    });
    // Required in the list's `AgentRuntime` shape: empty when the version has none.
    item["description"] = version.spec.document.get("description").cloned().unwrap_or_else(|| json!(""));
    item
}

async fn list_agent_runtimes(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Query(query): Query<PageQuery>,
) -> Result<Response> {
    let (mut world, _) = state.world();
    let region = world.region(&ctx.caller.region);
    let mut runtimes: Vec<&Runtime> = region.runtimes.values().collect();
    runtimes.sort_by_key(|r| r.seq);
    let (page, next) = page(runtimes, &query)?;
    let items: Vec<Value> = page.into_iter().map(|r| summary(r, r.current_version(), true)).collect();
    Ok(list_response("agentRuntimes", items, next))
}

/// ListAgentRuntimeVersionsByCapacityProvider: every version, of every runtime in the region,
/// whose `capacityProviderConfiguration` names the capacity provider `id` (newest runtimes' first,
/// each runtime's newest version first). Capacity providers themselves are not emulated, so an id
/// nothing names lists nothing (the model gives this operation no ResourceNotFoundException).
async fn list_agent_runtime_versions_by_capacity_provider(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response> {
    validate::capacity_provider_id(&id)?;
    let suffix = format!(":capacity-provider/{id}");
    let (mut world, _) = state.world();
    let region = world.region(&ctx.caller.region);
    let mut runtimes: Vec<&Runtime> = region.runtimes.values().collect();
    runtimes.sort_by_key(|r| std::cmp::Reverse(r.seq));
    let uses_provider = |v: &RuntimeVersion| {
        let arn = v.spec.document.get("capacityProviderConfiguration").and_then(|c| c.get("capacityProviderArn"));
        arn.and_then(Value::as_str).is_some_and(|a| a.ends_with(&suffix))
    };
    let versions: Vec<(&Runtime, &RuntimeVersion)> = runtimes
        .into_iter()
        .flat_map(|r| r.versions.iter().rev().filter(|v| uses_provider(v)).map(move |v| (r, v)))
        .collect();
    let (page, next) = page(versions, &query)?;
    let items: Vec<Value> = page
        .into_iter()
        .map(|(r, v)| {
            let status = if v.version == r.current_version().version { r.status } else { v.status };
            json!({ "agentRuntimeArn": r.arn, "agentRuntimeVersion": v.version.to_string(), "status": status })
        })
        .collect();
    Ok(list_response("agentRuntimes", items, next))
}

async fn list_agent_runtime_versions(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response> {
    validate::runtime_id(&id)?;
    let (mut world, _) = state.world();
    let region = world.region(&ctx.caller.region);
    let runtime = region.runtimes.get(&id).ok_or_else(|| not_found(&id))?;
    let current = runtime.current_version().version;
    let versions: Vec<&RuntimeVersion> = runtime.versions.iter().rev().collect();
    let (page, next) = page(versions, &query)?;
    let items: Vec<Value> = page.into_iter().map(|v| summary(runtime, v, v.version == current)).collect();
    Ok(list_response("agentRuntimes", items, next))
}
