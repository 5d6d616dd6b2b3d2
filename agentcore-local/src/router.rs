//! One listener, several services, told apart by the request itself:
//!
//! * `POST /` (or `GET /?Action=…`): EC2 query protocol ([`crate::ec2`]), signing name `ec2`;
//! * `/runtimes…`: the AgentCore control plane ([`crate::control`]) and data plane
//!   ([`crate::data`]: `/runtimes/{arn}/invocations`, `/runtimes/{arn}/stopruntimesession`), signing
//!   name `bedrock-agentcore`;
//! * `/_local/state`, `/_local/reset`: emulator-only introspection, never authenticated.
//!
//! Paths are accepted with and without a trailing slash. Every response carries
//! `x-amzn-RequestId`.
//!
//! Injected faults ([`crate::faults`], `--fault`) answer after authentication, before the handler.
//!
//! Adding a service is one module with a `routes(Router) -> Router`
//! function called from [`app`], using [`route_both`]; its requests reach the handlers already
//! authenticated (signing name `bedrock-agentcore`), with a [`RequestContext`] extension.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use crate::auth::{self, Caller};
use crate::error::AwsError;
use crate::state::AppState;
use crate::{control, data, ec2, faults, ids};

/// Largest request body accepted (the data plane's 100 MB payload limit, plus headroom).
pub const MAX_BODY_BYTES: usize = 101 * 1024 * 1024;

/// Per-request facts every handler gets as an extension.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub caller: Caller,
    pub request_id: String,
}

/// Which protocol (and so which error format and signing name) a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Ec2,
    /// Control plane and data plane: restJson1, signing name `bedrock-agentcore`.
    AgentCore,
    /// `/_local/*`.
    Local,
}

impl Service {
    pub fn of_path(path: &str) -> Self {
        if path == "/" || path.is_empty() {
            Self::Ec2
        } else if path.starts_with("/_local") {
            Self::Local
        } else {
            Self::AgentCore
        }
    }

    pub fn signing_name(self) -> &'static str {
        match self {
            Self::Ec2 => "ec2",
            Self::AgentCore | Self::Local => "bedrock-agentcore",
        }
    }

    /// Renders `error` in this service's format.
    pub fn error_response(self, error: AwsError, request_id: &str) -> Response {
        match self {
            Self::Ec2 => error.into_ec2_response(request_id),
            Self::AgentCore | Self::Local => error.into_json_response(request_id),
        }
    }
}

/// Registers `route` at `path` and at `path/`.
pub fn route_both<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    path: &str,
    route: MethodRouter<S>,
) -> Router<S> {
    router.route(path, route.clone()).route(&format!("{path}/"), route)
}

/// The whole emulator as one axum router.
pub fn app(state: Arc<AppState>) -> Router {
    let router = Router::new().route("/", post(ec2::handle_post).get(ec2::handle_get));
    let router = control::routes(router);
    let router = data::routes(router);
    let router = route_both(router, "/_local/state", get(local_state));
    let router = route_both(router, "/_local/reset", post(local_reset));
    router
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

/// Buffers the body, checks the signature for the service the path belongs to, and hands the
/// handler a [`RequestContext`].
async fn authenticate(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let request_id = ids::request_id();
    let service = Service::of_path(request.uri().path());
    let (mut parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let error = AwsError::validation(
                "CannotParse",
                format!("request body larger than {MAX_BODY_BYTES} bytes or unreadable"),
            );
            return with_request_id(service.error_response(error, &request_id), &request_id);
        }
    };
    let caller = if service == Service::Local {
        Caller { region: state.config.default_region.clone(), access_key_id: None }
    } else {
        let uri = parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_string();
        match auth::authenticate(
            &state.config.auth,
            &state.config.default_region,
            service.signing_name(),
            parts.method.as_str(),
            &uri,
            &parts.headers,
            &body,
            SystemTime::now(),
        ) {
            Ok(caller) => caller,
            Err(failure) => {
                tracing::debug!(%failure, path = %parts.uri.path(), "request refused");
                let error = match service {
                    Service::Ec2 => failure.ec2_error(),
                    _ => failure.json_error(),
                };
                return with_request_id(service.error_response(error, &request_id), &request_id);
            }
        }
    };
    if service != Service::Local && !state.config.faults.is_empty() {
        let operation = faults::operation(&parts.method, parts.uri.path(), parts.uri.query(), &body);
        if let Some(error) = operation.and_then(|(s, op)| faults::roll(&state.config.faults, s, &op)) {
            tracing::debug!(code = %error.code, path = %parts.uri.path(), "fault injected");
            return with_request_id(service.error_response(error, &request_id), &request_id);
        }
    }
    parts.extensions.insert(RequestContext { caller, request_id: request_id.clone() });
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    with_request_id(response, &request_id)
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-RequestId", value);
    }
    response
}

impl IntoResponse for AwsError {
    /// The restJson1 form (the request id header is added by the router).
    fn into_response(self) -> Response {
        self.into_json_response("")
    }
}

async fn unknown_operation(request: Request) -> Response {
    let service = Service::of_path(request.uri().path());
    let error = AwsError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!("No operation matches {} {}", request.method(), request.uri().path()),
    );
    match service {
        Service::Ec2 => AwsError::ec2(
            "InvalidAction",
            format!("The action {} is not valid for this web service.", request.method()),
        )
        .into_ec2_response(""),
        _ => error.into_json_response(""),
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
