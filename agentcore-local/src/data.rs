//! The AgentCore data plane (`bedrock-agentcore`, restJson1): InvokeAgentRuntime, GetAgentCard,
//! InvokeAgentRuntimeCommand and StopRuntimeSession, with real agent processes as microVMs
//! ([`sessions`], [`agent`]).
//!
//! | Operation | Route |
//! |---|---|
//! | InvokeAgentRuntime | `POST /runtimes/{agentRuntimeArn}/invocations?qualifier&accountId` |
//! | GetAgentCard | `GET /runtimes/{agentRuntimeArn}/invocations/.well-known/agent-card.json?qualifier` |
//! | InvokeAgentRuntimeCommand | `POST /runtimes/{agentRuntimeArn}/commands?qualifier&accountId` |
//! | StopRuntimeSession | `POST /runtimes/{agentRuntimeArn}/stopruntimesession?qualifier` |
//! | (WebSocket, not in the model) | `GET /runtimes/{agentRuntimeArn}/ws?qualifier` with `Upgrade: websocket` |
//!
//! `{agentRuntimeArn}` is the percent-encoded ARN, or the runtime id with `accountId`. The
//! `qualifier` names an endpoint (`DEFAULT` when absent) and the call goes to that endpoint's live
//! version: `DEFAULT` keeps serving its live version while the runtime updates; an unknown endpoint
//! is a `ResourceNotFoundException`. Every call but StopRuntimeSession enters its session (starting
//! its microVM on the first call, within the quota) the same way ([`enter_session`]). The
//! invocation body and the allowed headers go to the session's process (`POST /invocations`),
//! GetAgentCard asks it for `GET /.well-known/agent-card.json`; either answer streams back
//! unbuffered, chunk by chunk. InvokeAgentRuntimeCommand runs a shell command beside the agent
//! ([`command`]), only with `Config::allow_commands`.
//!
//! The `/ws` route is the one the Python SDK's `AgentCoreRuntimeClient` addresses
//! (`generate_ws_connection`: SigV4 in headers, the session id in its header;
//! `generate_presigned_url`: SigV4 in the query, the session id as the query parameter
//! `X-Amzn-Bedrock-AgentCore-Runtime-Session-Id`). It enters the session like an invocation, opens
//! the agent's `/ws` with the same forwarded headers and bridges the two sockets
//! ([`websocket`]); an agent that does not accept the WebSocket gives 424 `RuntimeClientError`
//! before the client's upgrade is answered.

pub mod agent;
pub mod command;
pub mod netns;
pub mod quota;
pub mod sessions;
pub mod throttle;
pub mod websocket;

use std::sync::Arc;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dummy_agent::AGENT_CARD_PATH;
use futures_util::StreamExt;

pub use agent::AgentCommand;
pub use sessions::{EndReason, RuntimeInfo, SessionKey, Sessions};

use self::agent::Process;
use self::sessions::{InFlight, Session};

use crate::app_state::AppState;
use crate::context::{RequestContext, route_both};
use crate::error::{AwsError, FieldError};
use crate::state::{DEFAULT_ENDPOINT, RuntimeStatus};

/// The session id header (request and response).
pub const SESSION_ID_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-session-id";
/// The request id header AgentCore gives the container.
pub const REQUEST_ID_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-request-id";
/// Largest InvokeAgentRuntime payload (100 MB).
pub const MAX_PAYLOAD_BYTES: usize = 100_000_000;
// A command's output is bounded by the same figure (see `command::MAX_OUTPUT_BYTES`).
const _: () = assert!(command::MAX_OUTPUT_BYTES == MAX_PAYLOAD_BYTES);
/// Prefix of the custom headers AgentCore passes to the container.
pub const CUSTOM_HEADER_PREFIX: &str = "x-amzn-bedrock-agentcore-runtime-custom-";

/// Request headers passed to the container (besides [`CUSTOM_HEADER_PREFIX`] ones). Never the
/// AWS authentication headers.
const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "accept",
    SESSION_ID_HEADER,
    "x-amzn-bedrock-agentcore-runtime-user-id",
    "x-amzn-trace-id",
    "traceparent",
    "tracestate",
    "baggage",
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
];

/// The tracing headers a call carries, echoed in InvokeAgentRuntimeCommand's answer (its model
/// lists them among the response's headers).
const TRACE_HEADERS: &[&str] = &["x-amzn-trace-id", "traceparent", "tracestate", "baggage"];

/// Response headers passed back from the container (the session id is always set).
const FORWARDED_RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "mcp-session-id",
    "mcp-protocol-version",
    "x-amzn-trace-id",
    "traceparent",
    "tracestate",
    "baggage",
];

/// Adds the data-plane routes.
pub fn routes(router: axum::Router<Arc<AppState>>) -> axum::Router<Arc<AppState>> {
    // The path parameter is named like the control plane's (`{id}`): one router, one name per segment.
    // The router's middleware already bounded the body (`router::INVOKE_BODY_LIMIT`); the payload check here
    // gives AWS's ValidationException instead of axum's 2 MB default.
    let invoke = post(invoke_agent_runtime).layer(DefaultBodyLimit::disable());
    let router = route_both(router, "/runtimes/{id}/invocations", invoke);
    let router = route_both(router, "/runtimes/{id}/invocations/.well-known/agent-card.json", get(get_agent_card));
    let router = route_both(router, "/runtimes/{id}/commands", post(invoke_agent_runtime_command));
    let router = route_both(router, "/runtimes/{id}/ws", get(invoke_websocket));
    route_both(router, "/runtimes/{id}/stopruntimesession", post(stop_runtime_session))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataQuery {
    qualifier: Option<String>,
    account_id: Option<String>,
    /// The session id of a presigned `/ws` URL (its header does not survive presigning).
    #[serde(rename = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")]
    session_id: Option<String>,
}

type Result<T, E = AwsError> = std::result::Result<T, E>;

/// What every data-plane handler reads from its request: the shared state, the request context,
/// the runtime the path names (`{agentRuntimeArn}`), the query and the headers.
struct DataCall {
    state: Arc<AppState>,
    ctx: RequestContext,
    target: String,
    query: DataQuery,
    headers: HeaderMap,
}

impl FromRequestParts<Arc<AppState>> for DataCall {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Response> {
        let Extension(ctx) =
            Extension::<RequestContext>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Path(target) =
            Path::<String>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let Query(query) =
            Query::<DataQuery>::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        Ok(Self { state: state.clone(), ctx, target, query, headers: parts.headers.clone() })
    }
}

/// The runtime a data-plane call addresses, checked against the world.
fn resolve_runtime(call: &DataCall, for_invoke: bool) -> Result<(String, RuntimeInfo)> {
    let DataCall { state, ctx, target, query, .. } = call;
    let config = &state.config;
    let not_found = || AwsError::not_found(format!("Agent runtime {target} not found"));
    let runtime_id = if let Some(rest) = target.strip_prefix("arn:") {
        // arn:PARTITION:bedrock-agentcore:REGION:ACCOUNT:runtime/ID
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [_partition, service, region, account, resource] = parts.as_slice() else {
            return Err(invalid_arn(target));
        };
        let Some(id) = resource.strip_prefix("runtime/") else {
            return Err(invalid_arn(target));
        };
        if *service != "bedrock-agentcore" || id.is_empty() {
            return Err(invalid_arn(target));
        }
        if *account != config.account_id || *region != ctx.caller.region {
            return Err(not_found());
        }
        id.to_string()
    } else {
        match &query.account_id {
            None => {
                return Err(AwsError::validation(
                    "FieldValidationFailed",
                    "accountId is required when agentRuntimeArn is an agent runtime id",
                ));
            }
            Some(account) if *account != config.account_id => return Err(not_found()),
            Some(_) => target.to_string(),
        }
    };
    let qualifier = query.qualifier.as_deref().unwrap_or(DEFAULT_ENDPOINT);
    let (mut world, _) = state.world();
    let region = world.region(&ctx.caller.region);
    let runtime = region.runtimes.get(&runtime_id).ok_or_else(not_found)?;
    let live = runtime
        .serving_version(qualifier)
        .ok_or_else(|| AwsError::not_found(format!("Endpoint {qualifier} not found for agent runtime {runtime_id}")))?;
    if for_invoke && live.is_none() {
        return Err(nothing_to_serve(&runtime_id, qualifier, runtime.status));
    }
    let version = live.and_then(|v| runtime.version(v)).unwrap_or_else(|| runtime.current_version());
    let info = RuntimeInfo {
        agent_port: contract_port(&version.spec.document),
        agent_path: contract_path(&version.spec.document),
        header_allowlist: header_allowlist(&version.spec.document),
        mcp: server_protocol(&version.spec.document) == Some("MCP"),
        ping_contract: !matches!(server_protocol(&version.spec.document), Some("MCP" | "A2A")),
        environment: environment_variables(&version.spec.document),
        arn: runtime.arn.clone(),
        idle_timeout: std::time::Duration::from_secs(version.spec.idle_timeout_secs),
        max_lifetime: std::time::Duration::from_secs(version.spec.max_lifetime_secs),
    };
    Ok((runtime_id, info))
}

/// `environmentVariables` (a map of strings; validated at create and update).
fn environment_variables(document: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    let Some(variables) = document.get("environmentVariables").and_then(serde_json::Value::as_object) else {
        return Vec::new();
    };
    variables.iter().filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string()))).collect()
}

/// `protocolConfiguration.serverProtocol`, when given.
fn server_protocol(document: &serde_json::Map<String, serde_json::Value>) -> Option<&str> {
    document.get("protocolConfiguration")?.get("serverProtocol")?.as_str()
}

/// The port the runtime contract has the agent listen on: `protocolConfiguration.port` when given,
/// else the protocol's (HTTP and AG-UI 8080, MCP 8000, A2A 9000; HTTP when no protocol is given),
/// as the model documents `ProtocolConfiguration.port`. Only `--isolation netns` gives it to the
/// agent (`--isolation port` gives a free port instead).
pub fn contract_port(document: &serde_json::Map<String, serde_json::Value>) -> u16 {
    let protocol = document.get("protocolConfiguration");
    if let Some(port) = protocol.and_then(|p| p.get("port")).and_then(serde_json::Value::as_u64) {
        return u16::try_from(port).unwrap_or(8080);
    }
    match server_protocol(document) {
        Some("MCP") => 8000,
        Some("A2A") => 9000,
        _ => 8080,
    }
}

/// The path InvokeAgentRuntime posts to: `protocolConfiguration.path` when given, else the
/// protocol's (`/invocations` for HTTP and AG-UI, `/mcp` for MCP, `/` for A2A), as the model
/// documents `ProtocolConfiguration.path`.
pub fn contract_path(document: &serde_json::Map<String, serde_json::Value>) -> String {
    let protocol = document.get("protocolConfiguration");
    if let Some(path) = protocol.and_then(|p| p.get("path")).and_then(serde_json::Value::as_str) {
        return path.to_string();
    }
    match server_protocol(document) {
        Some("MCP") => "/mcp".into(),
        Some("A2A") => "/".into(),
        _ => "/invocations".into(),
    }
}

/// The custom headers `requestHeaderConfiguration.requestHeaderAllowlist` lets through, lower-cased.
fn header_allowlist(document: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let list = document.get("requestHeaderConfiguration").and_then(|c| c.get("requestHeaderAllowlist"));
    let names = list.and_then(serde_json::Value::as_array).map(Vec::as_slice).unwrap_or_default();
    names.iter().filter_map(serde_json::Value::as_str).map(str::to_ascii_lowercase).collect()
}

/// The answer to an invocation whose endpoint has no live version (the runtime or endpoint is
/// still being created, failed, or is being deleted): `RetryableConflictException` (409), which
/// InvokeAgentRuntime models ("a temporary condition that may resolve itself with retries").
fn nothing_to_serve(runtime_id: &str, qualifier: &str, status: RuntimeStatus) -> AwsError {
    AwsError::new(
        StatusCode::CONFLICT,
        "RetryableConflictException",
        format!(
            "Endpoint {qualifier} of agent runtime {runtime_id} has no live version to serve yet (runtime status {}); \
             retry once it is READY",
            status.as_str()
        ),
    )
}

fn invalid_arn(target: &str) -> AwsError {
    AwsError::validation("FieldValidationFailed", format!("Invalid agent runtime ARN: {target}"))
}

/// The length `runtimeSessionId` must have (the model's constraint).
const SESSION_ID_LENGTH: std::ops::RangeInclusive<usize> = 33..=256;

/// `runtimeSessionId` from its header, checked like the model (33–256 characters); `None` when
/// absent (the SDKs fill the idempotency token with a UUID, so a caller then makes one).
fn session_id(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get(SESSION_ID_HEADER) else {
        return Ok(None);
    };
    let id = value.to_str().map_err(|_| {
        AwsError::validation("FieldValidationFailed", "runtimeSessionId must be printable ASCII".to_string())
    })?;
    let len = id.chars().count();
    let constraint = if len < *SESSION_ID_LENGTH.start() {
        Some("Member must have length greater than or equal to 33")
    } else if len > *SESSION_ID_LENGTH.end() {
        Some("Member must have length less than or equal to 256")
    } else {
        None
    };
    match constraint {
        Some(c) => Err(AwsError::field_validation(vec![("runtimeSessionId".into(), Some(id.to_string()), c.into())])),
        None => Ok(Some(id.to_string())),
    }
}

fn payload_too_large(len: usize) -> AwsError {
    let constraint = format!("Member must have length less than or equal to {MAX_PAYLOAD_BYTES}");
    AwsError {
        fields: vec![FieldError { name: "payload".into(), message: constraint.clone() }],
        ..AwsError::validation(
            "FieldValidationFailed",
            format!(
                "1 validation error detected: Value of {len} bytes at 'payload' failed to satisfy constraint: {constraint}"
            ),
        )
    }
}

/// A call admitted to its session: in flight on it (until [`Self::in_flight`] drops), with the
/// session's started process.
struct Entered {
    session_id: String,
    /// The runtime version the call goes to, as the call resolved it.
    runtime: RuntimeInfo,
    session: Arc<Session>,
    in_flight: InFlight,
    process: Process,
}

/// What InvokeAgentRuntime, GetAgentCard and InvokeAgentRuntimeCommand share: `--invoke-tps`, the
/// session id (a new one when absent, as the SDKs fill the idempotency token), the runtime and
/// qualifier, then the session (entered in flight, a new one within the quota) and its process.
async fn enter_session(call: &DataCall) -> Result<Entered> {
    let sessions = &call.state.sessions;
    sessions.throttle()?;
    let from_header = session_id(&call.headers)?;
    let (runtime_id, info) = resolve_runtime(call, true)?;
    let session_id = match from_header {
        Some(id) => id,
        None if info.mcp => mcp_affinity(call, &runtime_id),
        None => crate::ids::request_id(),
    };
    let key = SessionKey { region: call.ctx.caller.region.clone(), runtime_id, session_id: session_id.clone() };
    // In flight from the moment it enters (a session is not idle while its first call waits for
    // the start, and the reaper never ends a session with a call in flight).
    let (session, in_flight) = sessions.enter(key, &info, call.ctx.received).await?;
    let process = sessions.process(&session).await?;
    Ok(Entered { session_id, runtime: info, session, in_flight, process })
}

/// The session of an MCP call without a runtime session id, by its `Mcp-Session-Id` (AgentCore's
/// microVM affinity, "MCP session management and microVM stickiness" in the MCP protocol
/// contract): the session whose stateful server gave that id; else the id itself when it can be a
/// runtime session id (33 to 256 characters: the one the platform gave a stateless server, see
/// [`invoke_agent_runtime`]); else a new session.
fn mcp_affinity(call: &DataCall, runtime_id: &str) -> String {
    let Some(mcp_id) = call.headers.get("mcp-session-id").and_then(|v| v.to_str().ok()) else {
        return crate::ids::request_id();
    };
    let alias =
        SessionKey { region: call.ctx.caller.region.clone(), runtime_id: runtime_id.into(), session_id: mcp_id.into() };
    if let Some(session_id) = call.state.sessions.session_of_mcp_id(&alias) {
        return session_id;
    }
    if SESSION_ID_LENGTH.contains(&mcp_id.chars().count()) { mcp_id.to_string() } else { crate::ids::request_id() }
}

/// The headers of the call the agent gets ([`FORWARDED_REQUEST_HEADERS`], and custom ones the
/// runtime's `requestHeaderAllowlist` names), plus the session id and the call's request id. Never
/// `Authorization` (SigV4 here; AWS forwards it only to JWT agents), other `x-amz-*`/`x-amzn-*`.
fn agent_headers(call: &DataCall, entered: &Entered) -> reqwest::header::HeaderMap {
    let mut forwarded = reqwest::header::HeaderMap::new();
    for (name, value) in &call.headers {
        let name_str = name.as_str();
        let listed_custom = name_str.starts_with(CUSTOM_HEADER_PREFIX)
            && entered.runtime.header_allowlist.iter().any(|allowed| allowed == name_str);
        if FORWARDED_REQUEST_HEADERS.contains(&name_str) || listed_custom {
            forwarded.append(name.clone(), value.clone());
        }
    }
    forwarded.insert(SESSION_ID_HEADER, header_value(&entered.session_id));
    forwarded.insert(REQUEST_ID_HEADER, header_value(&call.ctx.request_id));
    forwarded
}

/// The answer to a call whose agent could not be reached (or refused what it was asked, `failed`
/// saying what): 424 `RuntimeClientError`, counted and logged with `error`.
fn unreachable_agent(sessions: &Sessions, entered: &Entered, error: &str, failed: &str) -> AwsError {
    let (session, pid) = (&entered.session_id, entered.process.pid);
    tracing::warn!(%session, pid, %error, "could not reach the agent");
    sessions.count_agent_error();
    sessions::runtime_client_error(format!("Runtime connection failed: the agent process (pid {pid}) did not {failed}"))
}

/// Sends `request` to the session's agent: its 2xx answer, or 424 `RuntimeClientError` when the
/// agent cannot be reached (`what` names the route in the message) or answers anything else.
async fn ask_agent(
    sessions: &Sessions,
    entered: &Entered,
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<reqwest::Response> {
    let session = &entered.session_id;
    let answer = request.send().await;
    sessions.cold_start_over(&entered.session).await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => return Err(unreachable_agent(sessions, entered, &error.to_string(), &format!("answer {what}"))),
    };
    let status = answer.status();
    if !status.is_success() {
        sessions.count_agent_error();
        let code = status.as_u16();
        let detail = answer.bytes().await.unwrap_or_default();
        tracing::info!(%session, status = code, body = %String::from_utf8_lossy(&detail[..detail.len().min(512)]), "agent answered an error");
        return Err(sessions::runtime_client_error(format!(
            "Received error ({code}) from runtime. Please check your CloudWatch logs for more information."
        )));
    }
    Ok(answer)
}

/// The agent's `answer` streamed back unbuffered with its status, the
/// [`FORWARDED_RESPONSE_HEADERS`] and the session id; `content_type` replaces the agent's (else
/// `application/octet-stream` when it gave none). The call stays in flight until the last chunk.
fn stream_back(answer: reqwest::Response, entered: Entered, content_type: Option<&'static str>) -> Response {
    let mut response =
        Response::builder().status(StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::OK));
    let out = response.headers_mut().expect("a fresh builder");
    for name in FORWARDED_RESPONSE_HEADERS {
        if let Some(value) = answer.headers().get(*name) {
            out.insert(HeaderName::from_static(name), value.clone());
        }
    }
    out.insert(SESSION_ID_HEADER, header_value(&entered.session_id));
    if let Some(content_type) = content_type {
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    } else if !out.contains_key(header::CONTENT_TYPE) {
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    }
    // The in-flight guard lives as long as the body stream: activity ends with the last chunk.
    let in_flight = entered.in_flight;
    let stream = answer.bytes_stream().map(move |chunk| {
        let _still_in_flight = &in_flight;
        chunk
    });
    response.body(Body::from_stream(stream)).expect("valid response parts")
}

async fn invoke_agent_runtime(call: DataCall, body: Bytes) -> Result<Response> {
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(payload_too_large(body.len()));
    }
    let entered = enter_session(&call).await?;
    let sessions = &call.state.sessions;
    let request = sessions
        .client
        .post(format!("http://127.0.0.1:{}{}", entered.process.port, entered.runtime.agent_path))
        .headers(agent_headers(&call, &entered))
        .body(body);
    let answer = ask_agent(sessions, &entered, request, &format!("POST {}", entered.runtime.agent_path)).await?;
    if !entered.runtime.mcp {
        return Ok(stream_back(answer, entered, None));
    }
    // MCP: a stateful server's own Mcp-Session-Id routes later calls here; a stateless server
    // gives none, and the platform's (the runtime session id) goes back instead, which the client
    // then sends with every call (MCP protocol contract, "microVM stickiness").
    let given = answer.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    match &given {
        Some(mcp_id) if *mcp_id != entered.session_id => sessions.remember_mcp_session_id(&entered.session, mcp_id),
        _ => {}
    }
    let session_id = entered.session_id.clone();
    let mut response = stream_back(answer, entered, None);
    if given.is_none() {
        response.headers_mut().insert("mcp-session-id", header_value(&session_id));
    }
    Ok(response)
}

/// GetAgentCard: the session's agent's `GET /.well-known/agent-card.json`, answered as the
/// `agentCard` document payload (JSON).
async fn get_agent_card(call: DataCall) -> Result<Response> {
    let entered = enter_session(&call).await?;
    let sessions = &call.state.sessions;
    let request = sessions
        .client
        .get(format!("http://127.0.0.1:{}{AGENT_CARD_PATH}", entered.process.port))
        .headers(agent_headers(&call, &entered));
    let answer = ask_agent(sessions, &entered, request, &format!("GET {AGENT_CARD_PATH}")).await?;
    Ok(stream_back(answer, entered, Some("application/json")))
}

/// `/runtimes/{arn}/ws`: the session's agent's `/ws`, bridged ([`websocket::bridge`]). The session
/// id comes from its header, else from the query (a presigned URL's); the call stays in flight, so
/// the session stays active, while the connection lasts.
async fn invoke_websocket(mut call: DataCall, upgrade: WebSocketUpgrade) -> Result<Response> {
    if !call.headers.contains_key(SESSION_ID_HEADER)
        && let Some(id) = &call.query.session_id
    {
        let id = HeaderValue::from_str(id).map_err(|_| {
            AwsError::validation("FieldValidationFailed", "runtimeSessionId must be printable ASCII".to_string())
        })?;
        call.headers.insert(SESSION_ID_HEADER, id);
    }
    let entered = enter_session(&call).await?;
    let sessions = &call.state.sessions;
    sessions.cold_start_over(&entered.session).await;
    let refused = |detail: String| {
        unreachable_agent(sessions, &entered, &detail, &format!("accept a WebSocket on /ws ({detail})"))
    };
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://127.0.0.1:{}/ws",
        entered.process.port
    ))
    .map_err(|e| refused(e.to_string()))?;
    request.headers_mut().extend(agent_headers(&call, &entered));
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(websocket::agent_config()), true);
    let (agent_socket, _) = tokio::time::timeout(call.state.config.agent_start_timeout, connect)
        .await
        .map_err(|_| refused("no answer to the upgrade".into()))?
        .map_err(|e| refused(e.to_string()))?;
    let max_duration = call.state.config.websocket_max_duration;
    let Entered { session_id, session, in_flight, .. } = entered;
    let mut response = upgrade
        .max_frame_size(websocket::MAX_FRAME_BYTES)
        .max_message_size(websocket::MAX_FRAME_BYTES)
        .on_upgrade(move |client| async move {
            let _in_flight = in_flight;
            let end = websocket::bridge(client, agent_socket, max_duration, session.ended()).await;
            tracing::debug!(session = %session.key.session_id, ?end, "WebSocket bridge ended");
        });
    response.headers_mut().insert(SESSION_ID_HEADER, header_value(&session_id));
    Ok(response)
}

/// The answer to InvokeAgentRuntimeCommand without `--allow-commands`.
fn commands_disabled() -> AwsError {
    AwsError::new(
        StatusCode::FORBIDDEN,
        "AccessDeniedException",
        "InvokeAgentRuntimeCommand is disabled in this emulator: it runs the shell commands clients send, as the \
         user running agentcore-local, on this machine. Start agentcore-local with --allow-commands \
         (Config::allow_commands) to enable it.",
    )
}

/// InvokeAgentRuntimeCommand: `sh -c COMMAND` beside the session's agent, its output as an event
/// stream ([`command`]).
async fn invoke_agent_runtime_command(call: DataCall, body: Bytes) -> Result<Response> {
    if !call.state.config.allow_commands {
        return Err(commands_disabled());
    }
    let request = command::parse_request(&body)?;
    let entered = enter_session(&call).await?;
    call.state.sessions.cold_start_over(&entered.session).await;
    // Under --isolation netns the command runs in the session's network, where the agent listens
    // on the contract's port.
    let cannot_start =
        |e: std::io::Error| sessions::runtime_client_error(format!("cannot start `sh -c` for the command: {e}"));
    let (port, namespaces) = if entered.process.in_netns {
        (entered.runtime.agent_port, Some(agent::session_namespaces(&entered.process).map_err(cannot_start)?))
    } else {
        (entered.process.port, None)
    };
    let child = agent::spawn_shell(&request.command, port, &entered.runtime.environment, namespaces.as_ref())
        .await
        .map_err(cannot_start)?;
    drop(namespaces);
    tracing::debug!(session = %entered.session_id, pid = child.id(), "command started");
    let (sender, mut receiver) = tokio::sync::mpsc::channel(16);
    let limits = command::Limits { timeout: request.timeout, max_output: command::MAX_OUTPUT_BYTES };
    let Entered { session_id, session, in_flight, .. } = entered;
    tokio::spawn(async move {
        // The command is the session's activity while it runs.
        let _in_flight = in_flight;
        command::run(child, limits, session.ended(), sender).await;
    });
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, command::EVENT_STREAM_CONTENT_TYPE)
        .header(SESSION_ID_HEADER, header_value(&session_id));
    for name in TRACE_HEADERS {
        if let Some(value) = call.headers.get(*name) {
            response = response.header(*name, value.clone());
        }
    }
    let frames = futures_util::stream::poll_fn(move |cx| {
        receiver.poll_recv(cx).map(|frame| frame.map(Ok::<_, std::convert::Infallible>))
    });
    Ok(response.body(Body::from_stream(frames)).expect("valid response parts"))
}

async fn stop_runtime_session(call: DataCall) -> Result<Response> {
    let sessions = &call.state.sessions;
    sessions.throttle()?;
    let session_id = session_id(&call.headers)?.ok_or_else(|| {
        AwsError::field_validation(vec![("runtimeSessionId".into(), None, "Member must not be null".into())])
    })?;
    let (runtime_id, _) = resolve_runtime(&call, false)?;
    let key = SessionKey { region: call.ctx.caller.region.clone(), runtime_id, session_id: session_id.clone() };
    let session = sessions.find(&key).ok_or_else(|| {
        AwsError::not_found(format!("Session {session_id} not found for agent runtime {}", key.runtime_id))
    })?;
    sessions.end(&session, EndReason::Stopped);
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{}").into_response();
    response.headers_mut().insert(SESSION_ID_HEADER, header_value(&session_id));
    Ok(response)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}
