//! Every error the agent answers is JSON: `{"error": <short reason>, "detail": <what exactly>}`.

use std::any::Any;

use axum::Json;
use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    detail: &'a str,
}

/// A JSON error answer.
pub(crate) fn json_error(status: StatusCode, error: &str, detail: &str) -> Response {
    (status, Json(ErrorBody { error, detail })).into_response()
}

/// Fallback for paths no route matches.
pub(crate) async fn not_found(request: Request) -> Response {
    let detail = format!("no route for {} {}", request.method(), request.uri().path());
    json_error(StatusCode::NOT_FOUND, "not found", &detail)
}

/// Fallback for a known path with a method it does not serve (axum adds the `Allow` header).
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let detail = format!("{method} is not allowed on {} (see the Allow header)", uri.path());
    json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed", &detail)
}

/// Turns a handler panic into a 500 (the process keeps serving).
pub(crate) fn panicked(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("panic with a non-string payload");
    tracing::error!(panic = message, "handler panicked");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error", message)
}
