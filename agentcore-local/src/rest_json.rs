//! The restJson1 error document (the AgentCore control and data planes, `/_local/*`): HTTP status,
//! header `x-amzn-ErrorType: <Shape>`, body `{"message": …}` (plus `reason` and `fieldList` for
//! `ValidationException`).
//!
//! Handlers return `Result<Response, AwsError>`; the [`IntoResponse`] implementation here renders
//! their errors (the router adds the request id header).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{AwsError, FieldError};

/// The error restJson1 services answer when they fail themselves: 500 `InternalServerException`.
pub fn internal_error() -> AwsError {
    AwsError::internal("An internal error has occurred")
}

/// Renders `error` as restJson1, with `x-amzn-RequestId: request_id`.
pub fn error_response(error: AwsError, request_id: &str) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
        #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
        field_list: &'a [FieldError],
    }
    let body = serde_json::to_vec(&Body { message: &error.message, reason: error.reason, field_list: &error.fields })
        .expect("error bodies serialise");
    let mut response = (error.status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(code) = HeaderValue::from_str(&error.code) {
        headers.insert("x-amzn-ErrorType", code);
    }
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

impl IntoResponse for AwsError {
    /// The restJson1 form (the request id header is added by the router).
    fn into_response(self) -> Response {
        error_response(self, "")
    }
}
