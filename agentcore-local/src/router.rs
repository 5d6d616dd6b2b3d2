//! One listener, several services, told apart by the request itself:
//!
//! * `POST /` (or `GET /?Action=…`): EC2 query protocol ([`crate::ec2`]), signing name `ec2`;
//! * `/runtimes…`: the AgentCore control plane ([`crate::control`]) and data plane
//!   ([`crate::data`]: `/runtimes/{arn}/invocations`, `…/invocations/.well-known/agent-card.json`,
//!   `/runtimes/{arn}/commands`, `/runtimes/{arn}/stopruntimesession`), signing name
//!   `bedrock-agentcore`;
//! * `/_local/state`, `/_local/reset`: emulator-only introspection, signed like the AgentCore routes
//!   (signing name `bedrock-agentcore`, the emulator's own credentials) unless auth is disabled;
//! * CloudWatch ([`crate::cloudwatch`]), signing name `monitoring`:
//!   `POST /service/GraniteServiceVersion20100801/operation/{Op}` (RPC v2 CBOR), and at `/` a request
//!   with `X-Amz-Target: GraniteServiceVersion20100801.{Op}` (AWS JSON 1.0) or one whose SigV4
//!   scope names `monitoring` (the query protocol); every other request at `/` is EC2's.
//!
//! Paths are accepted with and without a trailing slash. Every response carries
//! `x-amzn-RequestId`.
//!
//! The front door, outermost first (each step answers in the protocol's own error shape):
//! 1. [`tag_request`]: the request id and the protocol; turns a caught panic into 500
//!    `InternalServerException` (restJson1) or `InternalError` (EC2), and an axum extractor's
//!    plain-text rejection (bad percent-encoding in a path, a repeated query member) into the
//!    protocol's error shape;
//! 2. [`panic_layer`]: `tower-http`'s `CatchPanicLayer`, so a panicking handler answers instead of
//!    dropping the connection;
//! 3. [`authenticate`]: cheap header checks ([`auth::check_headers`]: the key, the date, the
//!    service, the scope's region), then the body, bounded by [`body_limit`] (refused on
//!    `Content-Length` before anything is read, and while streaming) and by
//!    `Config::body_read_timeout`, and the signature ([`verified_body`]): when the client signed
//!    `x-amz-content-sha256`, the signature is checked over that hash before the body is read;
//!    otherwise the body is read first, within the shared unverified-body budget
//!    ([`crate::body_budget`]; 503 when it is spent) and the signature is checked over its SHA-256;
//! 4. injected faults ([`crate::faults`], `--fault`), then the concurrency limit
//!    (`Config::max_concurrent_requests`: only verified requests take a slot; more wait), then the
//!    handler.
//!
//! The serve loop ([`crate::start`]) adds the connection-level limit: a header read timeout.
//!
//! Adding a service is one module with a `routes(Router) -> Router`
//! function called from [`app`], using [`crate::context::route_both`]; its requests reach the
//! handlers already authenticated (signing name `bedrock-agentcore`), with a
//! [`crate::context::RequestContext`] extension. Services import [`crate::context`], never this
//! module; each renders its own error document ([`crate::ec2::error_response`],
//! [`crate::rest_json::error_response`]), which [`Service::error_response`] picks from.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use futures_util::StreamExt;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app_state::AppState;
use crate::auth::{self, Caller, HeaderCheck};
use crate::body_budget::{BodyBudget, Reservation};
use crate::cloudwatch::{self, Protocol};
use crate::context::{RequestContext, route_both};
use crate::error::{AwsError, FieldError};
use crate::{control, data, ec2, faults, ids, rest_json};

/// Largest body accepted by EC2 (`/`). The slice's largest legitimate request (a
/// DescribeNetworkInterfaces with many filters, a CreateTags with 50 tags) is a few kilobytes.
pub const EC2_BODY_LIMIT: usize = 1024 * 1024;

/// Largest body accepted by the control plane and `/_local/*`. The biggest valid
/// CreateAgentRuntime/UpdateAgentRuntime body is bounded by its model (botocore
/// `bedrock-agentcore-control` 2023-06-05): 50 environment variables of ≤ 100 + ≤ 5,000 characters
/// (255,000 characters), a description of ≤ 4,096, 50 tags of ≤ 128 + ≤ 256, 16 + 16 ids, a role ARN
/// of ≤ 2,048 and a container URI of ≤ 1,024: under 280,000 characters, so under 1.2 MB even if
/// every one is a 4-byte UTF-8 character, and under 1.7 MB if every one is a 6-byte `\uXXXX`
/// JSON escape. The data plane's other bodies fit too: InvokeAgentRuntimeCommand's command of ≤ 65,536
/// characters is under 800 KB even written as 12-byte surrogate-pair escapes.
pub const CONTROL_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Largest InvokeAgentRuntime payload: AgentCore's 100 MB (`payload` ≤ 100,000,000 bytes in the
/// model; "payload 100 MB" in the AgentCore quotas page).
pub const INVOKE_BODY_LIMIT: usize = data::MAX_PAYLOAD_BYTES;

/// Set by [`tag_request`] before anything else runs: the request id every response carries.
#[derive(Clone, Debug)]
struct RequestTag {
    request_id: String,
    /// When the request's head arrived.
    received: std::time::Instant,
}

/// Marks the response [`panic_layer`] made for a panic.
#[derive(Clone, Copy, Debug)]
struct Panicked;

/// Which protocol (and so which error format and signing name) a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Ec2,
    /// Control plane and data plane: restJson1, signing name `bedrock-agentcore`.
    AgentCore,
    /// `/_local/*`.
    Local,
    /// CloudWatch's metric reads, in one of its three wire formats.
    CloudWatch(Protocol),
}

impl Service {
    /// The service of a request to `path`, from the path alone (`/` is EC2's; see [`Self::of`]).
    pub fn of_path(path: &str) -> Self {
        if path == "/" || path.is_empty() {
            Self::Ec2
        } else if path.starts_with("/_local") {
            Self::Local
        } else if path.starts_with(cloudwatch::CBOR_PATH_PREFIX) {
            Self::CloudWatch(Protocol::Cbor)
        } else {
            Self::AgentCore
        }
    }

    /// The service of a request: [`Self::of_path`], except that at `/` a CloudWatch
    /// `X-Amz-Target` is AWS JSON 1.0 and a signature scoped to `monitoring` the query protocol.
    pub fn of(path: &str, query: Option<&str>, headers: &HeaderMap) -> Self {
        match Self::of_path(path) {
            Self::Ec2 if cloudwatch::is_json_target(headers) => Self::CloudWatch(Protocol::Json),
            Self::Ec2 if signed_for_cloudwatch(headers, query) => Self::CloudWatch(Protocol::Query),
            service => service,
        }
    }

    fn of_request(request: &Request) -> Self {
        Self::of(request.uri().path(), request.uri().query(), request.headers())
    }

    pub fn signing_name(self) -> &'static str {
        match self {
            Self::Ec2 => "ec2",
            Self::AgentCore | Self::Local => "bedrock-agentcore",
            Self::CloudWatch(_) => cloudwatch::SIGNING_NAME,
        }
    }

    /// Renders `error` in this service's format.
    pub fn error_response(self, error: AwsError, request_id: &str) -> Response {
        match self {
            Self::Ec2 => ec2::error_response(error, request_id),
            Self::AgentCore | Self::Local => rest_json::error_response(error, request_id),
            Self::CloudWatch(protocol) => cloudwatch::error_response(protocol, error, request_id),
        }
    }

    /// The error AWS answers when the service itself fails: restJson1 `InternalServerException`,
    /// EC2 `InternalError`, CloudWatch `InternalServiceError` (all 500).
    pub fn internal_error(self) -> AwsError {
        match self {
            Self::Ec2 => ec2::internal_error(),
            Self::AgentCore | Self::Local => rest_json::internal_error(),
            Self::CloudWatch(_) => cloudwatch::internal_error(),
        }
    }

    fn auth_error(self, failure: &auth::AuthFailure) -> AwsError {
        match self {
            Self::Ec2 => failure.ec2_error(),
            Self::AgentCore | Self::Local => failure.json_error(),
            Self::CloudWatch(protocol) => cloudwatch::auth_error(protocol, failure),
        }
    }
}

/// Whether a SigV4 signature is scoped to CloudWatch (`Credential=KEY/DATE/REGION/monitoring/…` in
/// `Authorization`, or a presigned query's `X-Amz-Credential`), unchecked: this only tells which
/// service the request is for; [`authenticate`] then verifies the signature for that service.
fn signed_for_cloudwatch(headers: &HeaderMap, query: Option<&str>) -> bool {
    let scoped = |credential: &str| credential.split('/').nth(3) == Some(cloudwatch::SIGNING_NAME);
    if let Some(authorization) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return authorization.split([' ', ',']).filter_map(|part| part.strip_prefix("Credential=")).any(scoped);
    }
    let Some(query) = query else { return false };
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .is_ok_and(|pairs| pairs.iter().any(|(name, value)| name == "X-Amz-Credential" && scoped(value)))
}

/// Whether `path` is InvokeAgentRuntime's (`/runtimes/{arn}/invocations`, with or without `/`).
fn is_invocation(path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    path.strip_prefix("/runtimes/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
        .is_some_and(|target| !target.is_empty() && !target.contains('/'))
}

/// The largest body a request to `path` may carry.
pub fn body_limit(path: &str) -> usize {
    match Service::of_path(path) {
        Service::Ec2 => EC2_BODY_LIMIT,
        Service::AgentCore if is_invocation(path) => INVOKE_BODY_LIMIT,
        Service::AgentCore | Service::Local => CONTROL_BODY_LIMIT,
        Service::CloudWatch(_) => cloudwatch::BODY_LIMIT,
    }
}

/// The answer to a body over [`body_limit`]: InvokeAgentRuntime's modeled `payload` constraint
/// (400 `ValidationException`, as for a payload the handler measures), else AWS's common
/// `RequestEntityTooLargeException` (413, "The request entity is too large").
fn body_too_large(path: &str, limit: usize, declared: Option<u64>) -> AwsError {
    if is_invocation(path) {
        let constraint = format!("Member must have length less than or equal to {limit}");
        let value = declared.map_or_else(|| format!("more than {limit} bytes"), |n| format!("{n} bytes"));
        return AwsError {
            fields: vec![FieldError { name: "payload".into(), message: constraint.clone() }],
            ..AwsError::validation(
                "FieldValidationFailed",
                format!(
                    "1 validation error detected: Value of {value} at 'payload' failed to satisfy constraint: {constraint}"
                ),
            )
        };
    }
    AwsError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLargeException",
        format!("The request entity is too large: at most {limit} bytes are accepted on {path}"),
    )
}

/// Why a body could not be buffered.
enum BodyError {
    TooLarge,
    Unreadable,
    TimedOut,
    /// The unverified-body budget ([`crate::body_budget`]) has no room for it right now.
    OverBudget,
    /// The signature (or the body's hash) does not check out.
    Refused(auth::AuthFailure),
}

/// Reads at most `limit` bytes of `body`, within `timeout`; with a `reservation`, every byte read
/// must fit in it (it grows as the body streams; a body that does not fit is cut off at once).
async fn read_body(
    body: Body,
    limit: usize,
    timeout: Duration,
    mut reservation: Option<&mut Reservation<'_>>,
) -> Result<Bytes, BodyError> {
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buffer = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
            let length = buffer.len() + chunk.len();
            if length > limit {
                return Err(BodyError::TooLarge);
            }
            if let Some(reservation) = reservation.as_deref_mut()
                && !reservation.try_grow_to(length as u64)
            {
                return Err(BodyError::OverBudget);
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buffer))
    };
    tokio::time::timeout(timeout, read).await.unwrap_or(Err(BodyError::TimedOut))
}

/// [`read_body`], then checks the body against the SHA-256 the client signed.
async fn read_body_matching(body: Body, limit: usize, timeout: Duration, claim: &str) -> Result<Bytes, BodyError> {
    let body = read_body(body, limit, timeout, None).await?;
    auth::check_body_hash(claim, &body).map_err(BodyError::Refused)?;
    Ok(body)
}

/// How a body is read: at most `limit` bytes within `timeout`; `declared` is its `Content-Length`.
#[derive(Clone, Copy, Debug)]
struct BodyRead {
    limit: usize,
    timeout: Duration,
    declared: Option<u64>,
}

/// Reads the body and verifies the signature, spending as little as possible on a request that
/// may not be genuine:
/// * auth disabled: the body, bounded;
/// * the client signed the body's hash (`x-amz-content-sha256`): the signature first, over that
///   hash, before a byte of body is read; then the body, which must hash to it;
/// * otherwise the body must be read before the signature can be checked: its bytes are reserved
///   from `budget` (its `Content-Length` at once, else as it streams) and refused with
///   [`BodyError::OverBudget`] when the budget cannot take them now.
async fn verified_body(
    checked: HeaderCheck,
    body: Body,
    method: &str,
    uri: &str,
    read: BodyRead,
    budget: &BodyBudget,
) -> Result<(Caller, Bytes), BodyError> {
    let pending = match checked {
        HeaderCheck::Accepted(caller) => return Ok((caller, read_body(body, read.limit, read.timeout, None).await?)),
        HeaderCheck::Pending(pending) => pending,
    };
    if let Some(claim) = pending.signed_body_hash().map(str::to_string) {
        let caller = pending.verify_over_hash(method, uri, &claim).map_err(BodyError::Refused)?;
        return Ok((caller, read_body_matching(body, read.limit, read.timeout, &claim).await?));
    }
    let mut reservation = budget.try_reserve(read.declared.unwrap_or(0)).ok_or(BodyError::OverBudget)?;
    let body = read_body(body, read.limit, read.timeout, Some(&mut reservation)).await?;
    let caller = pending.verify(method, uri, &body).map_err(BodyError::Refused)?;
    Ok((caller, body))
}

/// The answer to a request the unverified-body budget cannot take now: AWS's answer when it is
/// overloaded, 503 (EC2 `Unavailable`, "The server is overloaded and can't handle the request.",
/// EC2 API reference, "Error codes"; restJson1 `ServiceUnavailableException`, modeled by
/// `bedrock-agentcore` 2024-02-28). The SDKs retry it with backoff.
fn budget_spent(service: Service) -> AwsError {
    let message = "The server is overloaded and can't handle the request (its budget of bytes buffered for \
                   requests whose signature is not verified yet is spent; see --unverified-body-budget).";
    let code = match service {
        Service::Ec2 => "Unavailable",
        Service::AgentCore | Service::Local | Service::CloudWatch(_) => "ServiceUnavailableException",
    };
    AwsError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
}

/// `Content-Length`, when the request declares one.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// The whole emulator as one axum router.
pub fn app(state: Arc<AppState>) -> Router {
    let router = Router::new().route("/", post(root_post).get(root_get));
    let router = control::routes(router);
    let router = data::routes(router);
    let router = cloudwatch::routes(router);
    let router = route_both(router, "/_local/state", get(local_state));
    let router = route_both(router, "/_local/reset", post(local_reset));
    let router = router
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        // Inside authentication: a slot is taken only by a request whose signature (and body) has
        // been verified, so clients without the secret (a stalled body, a wrong signature) never
        // hold one. Global: one semaphore shared by every route's clone of the layer.
        .layer(GlobalConcurrencyLimitLayer::new(state.config.max_concurrent_requests.max(1)))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state);
    protect(router)
}

/// Wraps `router` in [`panic_layer`] and [`tag_request`]: every response gets `x-amzn-RequestId`,
/// and a panic anywhere inside answers 500 in the protocol's shape instead of dropping the
/// connection. [`app`] uses it; it is public so a test can wrap a panicking router the same way.
pub fn protect(router: Router) -> Router {
    router.layer(panic_layer()).layer(middleware::from_fn(tag_request))
}

/// `tower-http`'s `CatchPanicLayer`, answering a bare 500 marked [`Panicked`] (and logging the
/// panic); [`tag_request`] renders it in the protocol's shape.
pub fn panic_layer() -> CatchPanicLayer<fn(Box<dyn Any + Send + 'static>) -> Response> {
    CatchPanicLayer::custom(answer_panic as fn(Box<dyn Any + Send + 'static>) -> Response)
}

fn answer_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = detail, "a handler panicked; answering 500");
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(Panicked);
    response
}

/// Gives the request its id, and every response the `x-amzn-RequestId` header; renders a caught
/// panic as the protocol's internal error.
async fn tag_request(mut request: Request, next: Next) -> Response {
    let request_id = ids::request_id();
    let service = Service::of_request(&request);
    request.extensions_mut().insert(RequestTag { request_id: request_id.clone(), received: std::time::Instant::now() });
    let response = next.run(request).await;
    let response = if response.extensions().get::<Panicked>().is_some() {
        service.error_response(service.internal_error(), &request_id)
    } else if lacks_error_shape(service, &response) {
        reshape(service, response, &request_id).await
    } else {
        response
    };
    with_request_id(response, &request_id)
}

/// Whether `response` is an error not in the protocol's shape: an axum extractor's plain-text
/// rejection (a path segment that is not valid percent-encoded UTF-8, a query with a repeated or
/// unparsable member, …).
fn lacks_error_shape(service: Service, response: &Response) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return false;
    }
    match service {
        Service::Ec2 => !response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/xml")),
        Service::AgentCore | Service::Local => !response.headers().contains_key("x-amzn-errortype"),
        // Every CloudWatch error the emulator writes carries its protocol's content type.
        Service::CloudWatch(protocol) => {
            response.headers().get(header::CONTENT_TYPE).is_none_or(|v| v != cloudwatch::content_type(protocol))
        }
    }
}

/// Largest rejection text quoted in a reshaped error.
const REJECTION_TEXT_LIMIT: usize = 64 * 1024;

/// Renders an unshaped error in the protocol's shape, keeping its status and quoting its text:
/// 413 → `RequestEntityTooLargeException`, 5xx → the internal error, other 4xx →
/// `ValidationException` (restJson1) or `MalformedQueryString` (EC2: "The query string contains a
/// syntax error").
async fn reshape(service: Service, response: Response, request_id: &str) -> Response {
    let status = response.status();
    let text = axum::body::to_bytes(response.into_body(), REJECTION_TEXT_LIMIT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("Bad request").to_string() } else { text };
    let error = if status == StatusCode::PAYLOAD_TOO_LARGE {
        AwsError::new(status, "RequestEntityTooLargeException", message)
    } else if status.is_server_error() {
        service.internal_error()
    } else {
        let code = match service {
            Service::Ec2 | Service::CloudWatch(Protocol::Query) => "MalformedQueryString",
            Service::AgentCore | Service::Local => "ValidationException",
            Service::CloudWatch(_) => "SerializationException",
        };
        AwsError::new(status, code, message)
    };
    service.error_response(error, request_id)
}

/// Bounds and buffers the body, checks the signature for the service the path belongs to, rolls
/// the injected faults and hands the handler a [`RequestContext`].
async fn authenticate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let (request_id, received) = request
        .extensions()
        .get::<RequestTag>()
        .map_or_else(|| (ids::request_id(), std::time::Instant::now()), |t| (t.request_id.clone(), t.received));
    let service = Service::of_request(&request);
    let refuse = |error: AwsError| service.error_response(error, &request_id);
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    let limit = body_limit(&path);
    let declared = declared_length(&parts.headers);
    if declared.is_some_and(|n| n > limit as u64) {
        tracing::debug!(path, declared, limit, "body over the limit refused before reading it");
        return refuse(body_too_large(&path, limit, declared));
    }
    let config = &state.config;
    let uri = parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_string();
    let checked = auth::check_headers(
        &config.auth,
        &config.default_region,
        service.signing_name(),
        &uri,
        &parts.headers,
        SystemTime::now(),
    );
    let refuse_auth = |failure: auth::AuthFailure| {
        tracing::debug!(%failure, path, "request refused");
        refuse(service.auth_error(&failure))
    };
    let refuse_body = |error: BodyError, declared: Option<u64>| match error {
        BodyError::TooLarge => refuse(body_too_large(&path, limit, declared)),
        BodyError::TimedOut => refuse(body_timed_out(service, config.body_read_timeout)),
        BodyError::Unreadable => refuse(body_unreadable()),
        BodyError::OverBudget => {
            tracing::debug!(path, declared, "unverified-body budget spent: request refused");
            refuse(budget_spent(service))
        }
        BodyError::Refused(failure) => refuse_auth(failure),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(failure) => return refuse_auth(failure),
    };
    let read = BodyRead { limit, timeout: config.body_read_timeout, declared };
    let (caller, body) =
        match verified_body(checked, body, parts.method.as_str(), &uri, read, &state.unverified_bodies).await {
            Ok(verified) => verified,
            Err(error) => return refuse_body(error, declared),
        };
    // `--fault` names EC2 and AgentCore operations only.
    if matches!(service, Service::Ec2 | Service::AgentCore) && !config.faults.is_empty() {
        let operation = faults::operation(&parts.method, &path, parts.uri.query(), &body);
        if let Some(error) = operation.and_then(|(s, op)| faults::roll(&config.faults, s, &op)) {
            tracing::debug!(code = %error.code, path, "fault injected");
            return refuse(error);
        }
    }
    parts.extensions.insert(RequestContext { caller, request_id: request_id.clone(), received });
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// A body that did not arrive within `--body-read-timeout` (AWS documents no error for this; the
/// code follows the protocol's naming, the status is HTTP's 408).
fn body_timed_out(service: Service, timeout: Duration) -> AwsError {
    let code = match service {
        Service::Ec2 => "RequestTimeout",
        Service::AgentCore | Service::Local | Service::CloudWatch(_) => "RequestTimeoutException",
    };
    AwsError::new(StatusCode::REQUEST_TIMEOUT, code, format!("The request body was not received within {timeout:?}"))
}

/// A body the connection failed to deliver: AWS's common `MalformedHttpRequestException` (400).
fn body_unreadable() -> AwsError {
    AwsError::new(StatusCode::BAD_REQUEST, "MalformedHttpRequestException", "The request body could not be read")
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

async fn unknown_operation(request: Request) -> Response {
    let service = Service::of_request(&request);
    let error = AwsError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!("No operation matches {} {}", request.method(), request.uri().path()),
    );
    match service {
        Service::Ec2 => ec2::error_response(
            AwsError::ec2(
                "InvalidAction",
                format!("The action {} is not valid for this web service.", request.method()),
            ),
            "",
        ),
        Service::CloudWatch(protocol) => cloudwatch::error_response(
            protocol,
            cloudwatch::unknown_operation(protocol, &format!("{} {}", request.method(), request.uri().path())),
            "",
        ),
        Service::AgentCore | Service::Local => rest_json::error_response(error, ""),
    }
}

/// `POST /`: EC2's query protocol, or CloudWatch's AWS JSON 1.0 or query protocol ([`Service::of`]).
async fn root_post(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match Service::of("/", query.as_deref(), &headers) {
        Service::CloudWatch(Protocol::Json) => cloudwatch::handle_json(state, ctx, &headers, body).await,
        Service::CloudWatch(_) => cloudwatch::handle_query(state, ctx, body).await,
        _ => ec2::handle_post(State(state), Extension(ctx), body).await,
    }
}

/// `GET /?Action=…`: EC2's, or CloudWatch's query protocol for a request signed for `monitoring`.
async fn root_get(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    match Service::of("/", query.as_deref(), &headers) {
        Service::CloudWatch(_) => cloudwatch::handle_query(state, ctx, Bytes::from(query.unwrap_or_default())).await,
        _ => ec2::handle_get(State(state), Extension(ctx), RawQuery(query)).await,
    }
}

/// `GET /_local/state`: runtimes, ENIs, subnets… as JSON (emulator-only).
async fn local_state(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(state.snapshot()).into_response()
}

/// `POST /_local/reset`: forget every resource (emulator-only).
async fn local_reset(State(state): State<Arc<AppState>>) -> Response {
    state.reset();
    (StatusCode::OK, axum::Json(serde_json::json!({ "reset": true }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_at_the_root_are_told_apart_by_target_and_signature() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_str(value).unwrap());
            }
            map
        };
        let signed = |service: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260601/us-east-1/{service}/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=00"
            )
        };
        let cases = [
            (headers(&[("x-amz-target", "GraniteServiceVersion20100801.GetMetricData")]), None, Protocol::Json),
            (headers(&[("authorization", &signed("monitoring"))]), None, Protocol::Query),
            (
                HeaderMap::new(),
                Some("Action=ListMetrics&X-Amz-Credential=test%2F20260601%2Fus-east-1%2Fmonitoring%2Faws4_request"),
                Protocol::Query,
            ),
        ];
        for (headers, query, protocol) in cases {
            assert_eq!(Service::of("/", query, &headers), Service::CloudWatch(protocol), "{headers:?} {query:?}");
        }
        assert_eq!(Service::of("/", None, &headers(&[("authorization", &signed("ec2"))])), Service::Ec2);
        assert_eq!(Service::of("/", Some("Action=DescribeVpcs"), &HeaderMap::new()), Service::Ec2);
        assert_eq!(Service::of("/", None, &headers(&[("x-amz-target", "DynamoDB_20120810.ListTables")])), Service::Ec2);
        let cbor = "/service/GraniteServiceVersion20100801/operation/GetMetricData";
        assert_eq!(Service::of(cbor, None, &HeaderMap::new()), Service::CloudWatch(Protocol::Cbor));
        assert_eq!(body_limit(cbor), cloudwatch::BODY_LIMIT);
        assert_eq!(Service::CloudWatch(Protocol::Json).signing_name(), "monitoring");
    }

    #[test]
    fn body_limits_per_route() {
        assert_eq!(body_limit("/"), EC2_BODY_LIMIT);
        assert_eq!(body_limit("/runtimes"), CONTROL_BODY_LIMIT);
        assert_eq!(body_limit("/runtimes/r-1"), CONTROL_BODY_LIMIT);
        assert_eq!(body_limit("/_local/reset"), CONTROL_BODY_LIMIT);
        for path in ["/runtimes/arn%3Aaws%3Ax/invocations", "/runtimes/id/invocations/"] {
            assert_eq!(body_limit(path), INVOKE_BODY_LIMIT, "{path}");
        }
        for path in [
            "/runtimes//invocations",
            "/runtimes/a/b/invocations",
            "/runtimes/invocations",
            "/runtimes/a/invocations/.well-known/agent-card.json",
            "/runtimes/a/commands",
        ] {
            assert_eq!(body_limit(path), CONTROL_BODY_LIMIT, "{path}");
        }
    }
}
