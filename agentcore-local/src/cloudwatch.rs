//! CloudWatch's metric-read API for the one metric AWS offers on live AgentCore runtime sessions,
//! `AWS/Bedrock-AgentCore` `ActiveSessionCount` (`Service=AgentCore.Runtime`; AgentCore has no API
//! that lists runtime sessions): GetMetricData, GetMetricStatistics and ListMetrics
//! ([`metrics`]), computed from the data plane's own session table ([`series`]). Signing name
//! `monitoring`.
//!
//! Three wire formats, as botocore's model lists them (`smithy-rpc-v2-cbor`, `json`, `query`), each
//! decoded into one [`value::Value`] document that the operations read ([`input`]) and answer:
//! * Smithy RPC v2 CBOR ([`cbor`]): `POST /service/GraniteServiceVersion20100801/operation/{Op}`
//!   with `smithy-protocol: rpc-v2-cbor`; what `aws-sdk-cloudwatch` sends;
//! * AWS JSON 1.0 ([`json`]): `POST /` with `X-Amz-Target: GraniteServiceVersion20100801.{Op}`;
//!   what botocore (boto3, the AWS CLI) sends, since it prefers `json`;
//! * the query protocol ([`query`]): `POST /` (or `GET /?…`) with `Action={Op}` in a request
//!   signed for `monitoring` (at `/` the signature's scope is what tells it from EC2).
//!
//! Errors: CBOR and JSON answer `{"__type": "com.amazonaws.cloudwatch#Shape", "message": …}` with
//! `x-amzn-query-error: Code;Sender` for CloudWatch's own errors (`awsQueryCompatible`: the SDKs
//! take the error code from that header, e.g. `InvalidParameterValue` for
//! `InvalidParameterValueException`, and `ValidationError`, which GetMetricData answers and the
//! model does not list, with `__type` `ValidationError`); the query protocol answers
//! `<ErrorResponse><Error><Type>Sender</Type><Code>…`.
//!
//! **Locking.** The history has its own lock, held only to copy the part a request needs; the
//! aggregation runs on tokio's blocking pool (GetMetricData may compute 100,800 datapoints).

mod cbor;
mod input;
mod json;
pub mod metrics;
mod query;
pub mod series;
mod value;

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use self::metrics::Call;
use self::series::millis;
use self::value::Value;
use crate::app_state::AppState;
use crate::auth::AuthFailure;
use crate::context::RequestContext;
use crate::error::AwsError;

/// The service's Smithy name, in JSON's `X-Amz-Target` and RPC v2 CBOR's path.
pub const TARGET_PREFIX: &str = "GraniteServiceVersion20100801";
/// The SigV4 signing name.
pub const SIGNING_NAME: &str = "monitoring";
/// The path prefix of RPC v2 CBOR requests.
pub const CBOR_PATH_PREFIX: &str = "/service/";
/// Largest request body: CloudWatch's documented request size limit (1 MB, PutMetricData's);
/// GetMetricData's largest legitimate input is far smaller.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// `Version` of the query protocol.
pub const API_VERSION: &str = "2010-08-01";

/// How a CloudWatch request is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Cbor,
    Json,
    Query,
}

type Operation = fn(&Call<'_>, &Value) -> Result<Value, AwsError>;

/// Every operation served, by name: dispatch and [`OPERATIONS_SERVED`] come from it.
const OPERATIONS: &[(&str, Operation)] = &[
    ("GetMetricData", metrics::get_metric_data),
    ("GetMetricStatistics", metrics::get_metric_statistics),
    ("ListMetrics", metrics::list_metrics),
];

/// The operations this service serves.
pub const OPERATIONS_SERVED: [&str; 3] = [OPERATIONS[0].0, OPERATIONS[1].0, OPERATIONS[2].0];

/// Registers the RPC v2 CBOR route (JSON and query requests come through the router's `/`).
pub fn routes(router: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    router.route("/service/{service}/operation/{operation}", post(handle_cbor))
}

/// Whether `headers` name a CloudWatch operation in `X-Amz-Target` (AWS JSON 1.0).
pub fn is_json_target(headers: &HeaderMap) -> bool {
    json_operation(headers).is_some()
}

fn json_operation(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-amz-target")?.to_str().ok()?.strip_prefix(TARGET_PREFIX)?.strip_prefix('.')
}

/// `POST /service/{service}/operation/{operation}` (RPC v2 CBOR).
async fn handle_cbor(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path((service, operation)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if service != TARGET_PREFIX {
        return error_response(Protocol::Cbor, unknown_operation(Protocol::Cbor, &operation), &ctx.request_id);
    }
    match cbor::decode(&body) {
        Ok(input) => run(state, ctx, Protocol::Cbor, operation, input).await,
        Err(e) => error_response(Protocol::Cbor, serialization(e.to_string()), &ctx.request_id),
    }
}

/// `POST /` with `X-Amz-Target: GraniteServiceVersion20100801.{Op}` (AWS JSON 1.0).
pub async fn handle_json(state: Arc<AppState>, ctx: RequestContext, headers: &HeaderMap, body: Bytes) -> Response {
    let operation = json_operation(headers).unwrap_or_default().to_string();
    match json::decode(&body) {
        Ok(input) => run(state, ctx, Protocol::Json, operation, input).await,
        Err(e) => error_response(Protocol::Json, serialization(e.to_string()), &ctx.request_id),
    }
}

/// A query-protocol request: `form` is the body of a `POST /`, or the query string of a `GET /`.
pub async fn handle_query(state: Arc<AppState>, ctx: RequestContext, form: Bytes) -> Response {
    match query::decode(&form) {
        Ok((operation, input)) => run(state, ctx, Protocol::Query, operation, input).await,
        Err(e) => error_response(
            Protocol::Query,
            AwsError::new(StatusCode::BAD_REQUEST, "MalformedQueryString", e.to_string()),
            &ctx.request_id,
        ),
    }
}

/// Runs `operation` on the blocking pool and renders its answer or error in `protocol`.
async fn run(
    state: Arc<AppState>,
    ctx: RequestContext,
    protocol: Protocol,
    operation: String,
    input: Value,
) -> Response {
    let request_id = ctx.request_id.clone();
    let Some(&(name, call)) = OPERATIONS.iter().find(|(name, _)| *name == operation) else {
        return error_response(protocol, unknown_operation(protocol, &operation), &request_id);
    };
    let answer = tokio::task::spawn_blocking(move || {
        let now = millis(state.config.clock.now());
        let series = state.sessions.active_sessions();
        let call_on = Call { series, region: &ctx.caller.region, account_id: &state.config.account_id, now };
        call(&call_on, &input)
    })
    .await;
    match answer {
        Ok(Ok(output)) => success(protocol, name, &output, &request_id),
        Ok(Err(error)) => error_response(protocol, error, &request_id),
        // A panic goes on to the router's panic layer, which answers it in this protocol's shape.
        Err(join_error) if join_error.is_panic() => std::panic::resume_unwind(join_error.into_panic()),
        Err(_cancelled) => error_response(protocol, internal_error(), &request_id),
    }
}

fn with_headers(mut response: Response, headers: &[(&'static str, &str)]) -> Response {
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

/// The content type of `protocol`'s answers (errors included).
pub fn content_type(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Cbor => "application/cbor",
        Protocol::Json => "application/x-amz-json-1.0",
        Protocol::Query => "text/xml",
    }
}

fn success(protocol: Protocol, operation: &str, output: &Value, request_id: &str) -> Response {
    let body = match protocol {
        Protocol::Cbor => cbor::encode(output),
        Protocol::Json => json::encode(output),
        Protocol::Query => query::response(operation, output, request_id),
    };
    let response = (StatusCode::OK, body).into_response();
    let mut headers = vec![("content-type", content_type(protocol)), ("x-amzn-RequestId", request_id)];
    if protocol == Protocol::Cbor {
        headers.push(("smithy-protocol", "rpc-v2-cbor"));
    }
    with_headers(response, &headers)
}

/// How CloudWatch's JSON protocols name an error it writes query-style (`awsQueryCompatible`): the
/// model's shape for its code (`None` for `ValidationError`, which the model does not list), and
/// whether the sender is at fault; `None` for errors that are not CloudWatch's own (SigV4, routing).
fn query_compatible(code: &str) -> Option<(Option<&'static str>, bool)> {
    Some(match code {
        "InvalidParameterValue" => (Some("InvalidParameterValueException"), true),
        "MissingParameter" => (Some("MissingRequiredParameterException"), true),
        "InvalidParameterCombination" => (Some("InvalidParameterCombinationException"), true),
        "InvalidNextToken" => (Some("InvalidNextToken"), true),
        "InternalServiceError" => (Some("InternalServiceFault"), false),
        "ValidationError" => (None, true),
        _ => return None,
    })
}

/// The query protocol's name for an error the JSON protocols name otherwise (SigV4 refusals).
fn query_code(code: &str) -> &str {
    match code {
        "MissingAuthenticationTokenException" => "MissingAuthenticationToken",
        "IncompleteSignatureException" => "IncompleteSignature",
        "UnrecognizedClientException" => "InvalidClientTokenId",
        "InvalidSignatureException" => "SignatureDoesNotMatch",
        "UnknownOperationException" => "InvalidAction",
        "RequestTimeoutException" => "RequestTimeout",
        "ServiceUnavailableException" => "ServiceUnavailable",
        other => other,
    }
}

/// Renders `error` in `protocol`'s shape, with `x-amzn-RequestId: request_id`.
pub fn error_response(protocol: Protocol, error: AwsError, request_id: &str) -> Response {
    let compatible = query_compatible(&error.code);
    let sender = compatible.is_none_or(|(_, sender)| sender) && !error.status.is_server_error();
    let body = match protocol {
        Protocol::Query => query::error_document(query_code(&error.code), &error.message, sender, request_id),
        Protocol::Cbor | Protocol::Json => {
            let kind = match compatible {
                Some((Some(shape), _)) => format!("com.amazonaws.cloudwatch#{shape}"),
                _ => error.code.clone(),
            };
            let document = Value::map([("__type", Value::Str(kind)), ("message", Value::str(error.message.clone()))]);
            if protocol == Protocol::Cbor { cbor::encode(&document) } else { json::encode(&document) }
        }
    };
    let query_error = format!("{};{}", error.code, if sender { "Sender" } else { "Receiver" });
    let mut headers = vec![("content-type", content_type(protocol)), ("x-amzn-RequestId", request_id)];
    if protocol == Protocol::Cbor {
        headers.push(("smithy-protocol", "rpc-v2-cbor"));
    }
    // The header the SDKs take the query-style code from.
    if compatible.is_some() && protocol != Protocol::Query {
        headers.push(("x-amzn-query-error", &query_error));
    }
    with_headers((error.status, body).into_response(), &headers)
}

/// CloudWatch's own failure: 500 `InternalServiceError` (the model's `InternalServiceFault`).
pub fn internal_error() -> AwsError {
    AwsError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServiceError", "An internal error has occurred")
}

/// A SigV4 refusal in `protocol`'s vocabulary.
pub fn auth_error(protocol: Protocol, failure: &AuthFailure) -> AwsError {
    let error = failure.json_error();
    match protocol {
        Protocol::Query => AwsError { code: query_code(&error.code).to_string(), ..error },
        Protocol::Cbor | Protocol::Json => error,
    }
}

/// An operation this service does not serve (CloudWatch has dozens; only the metric reads are
/// here): RPC v2 CBOR 404 `UnknownOperationException`, JSON 400 `UnknownOperationException`,
/// query 400 `InvalidAction`.
pub fn unknown_operation(protocol: Protocol, operation: &str) -> AwsError {
    let served = OPERATIONS_SERVED.join(", ");
    let message = format!("agentcore-local serves only {served} of CloudWatch, not {operation:?}.");
    match protocol {
        Protocol::Cbor => AwsError::new(StatusCode::NOT_FOUND, "UnknownOperationException", message),
        Protocol::Json => AwsError::new(StatusCode::BAD_REQUEST, "UnknownOperationException", message),
        Protocol::Query => AwsError::new(StatusCode::BAD_REQUEST, "InvalidAction", message),
    }
}

/// A body that is not a document of the protocol: 400 `SerializationException`.
fn serialization(message: String) -> AwsError {
    AwsError::new(StatusCode::BAD_REQUEST, "SerializationException", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_query_compatible_code() {
        let error = input::invalid("bad");
        let response = error_response(Protocol::Cbor, error, "req");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["x-amzn-query-error"], "InvalidParameterValue;Sender");
        assert_eq!(response.headers()["content-type"], "application/cbor");
        let response = error_response(Protocol::Json, internal_error(), "req");
        assert_eq!(response.headers()["x-amzn-query-error"], "InternalServiceError;Receiver");
        let response = error_response(Protocol::Json, AwsError::new(StatusCode::FORBIDDEN, "X", "y"), "req");
        assert!(!response.headers().contains_key("x-amzn-query-error"));
        let response = error_response(Protocol::Cbor, input::validation(input::invalid("bad")), "req");
        assert_eq!(response.headers()["x-amzn-query-error"], "ValidationError;Sender");
        assert_eq!(query_code("UnrecognizedClientException"), "InvalidClientTokenId");
    }
}
