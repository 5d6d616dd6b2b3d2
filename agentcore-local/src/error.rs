//! AWS error shapes, one type for every service, rendered per protocol.
//!
//! * restJson1 (AgentCore control and data plane): HTTP status, header `x-amzn-ErrorType: <Shape>`,
//!   body `{"message": …}` (plus `reason` and `fieldList` for `ValidationException`).
//! * EC2 query: `<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>
//!   <RequestID>…</RequestID></Response>`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One field that failed validation (`ValidationExceptionField`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub name: String,
    pub message: String,
}

/// An error as AWS reports it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    pub status: StatusCode,
    /// The error code / shape name (`ValidationException`, `InvalidVpcID.NotFound`, …).
    pub code: String,
    pub message: String,
    /// `ValidationException.reason` (restJson only).
    pub reason: Option<&'static str>,
    /// `ValidationException.fieldList` (restJson only).
    pub fields: Vec<FieldError>,
}

impl AwsError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into(), reason: None, fields: Vec::new() }
    }

    /// An EC2 client error (HTTP 400) with the given code.
    pub fn ec2(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `ValidationException` (400) with a reason and no field list.
    pub fn validation(reason: &'static str, message: impl Into<String>) -> Self {
        Self { reason: Some(reason), ..Self::new(StatusCode::BAD_REQUEST, "ValidationException", message) }
    }

    /// `ValidationException` with reason `FieldValidationFailed` in the wording AWS's request
    /// validation uses: `N validation error(s) detected: Value 'v' at 'field' failed to satisfy
    /// constraint: …; …`.
    pub fn field_validation(failures: Vec<(String, Option<String>, String)>) -> Self {
        let n = failures.len();
        let details: Vec<String> = failures
            .iter()
            .map(|(field, value, constraint)| match value {
                Some(v) => format!("Value '{v}' at '{field}' failed to satisfy constraint: {constraint}"),
                None => format!("Value null at '{field}' failed to satisfy constraint: {constraint}"),
            })
            .collect();
        let plural = if n == 1 { "error" } else { "errors" };
        let message = format!("{n} validation {plural} detected: {}", details.join("; "));
        Self {
            fields: failures.into_iter().map(|(name, _, message)| FieldError { name, message }).collect(),
            ..Self::validation("FieldValidationFailed", message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ConflictException", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerException", message)
    }

    /// Renders the restJson1 form.
    pub fn into_json_response(self, request_id: &str) -> Response {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            message: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            reason: Option<&'a str>,
            #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
            field_list: &'a [FieldError],
        }
        let body = serde_json::to_vec(&Body { message: &self.message, reason: self.reason, field_list: &self.fields })
            .expect("error bodies serialise");
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Ok(code) = HeaderValue::from_str(&self.code) {
            headers.insert("x-amzn-ErrorType", code);
        }
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-RequestId", id);
        }
        response
    }

    /// Renders the EC2 query form.
    pub fn into_ec2_response(self, request_id: &str) -> Response {
        let body = crate::ec2::xml::error_document(&self.code, &self.message, request_id);
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml;charset=UTF-8"));
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-RequestId", id);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_validation_message_matches_aws_wording() {
        let e = AwsError::field_validation(vec![(
            "agentRuntimeName".into(),
            Some("bad-name".into()),
            "Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}".into(),
        )]);
        assert_eq!(
            e.message,
            "1 validation error detected: Value 'bad-name' at 'agentRuntimeName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}"
        );
        assert_eq!(e.reason, Some("FieldValidationFailed"));
        assert_eq!(e.fields.len(), 1);
        let two = AwsError::field_validation(vec![
            ("a".into(), None, "Member must not be null".into()),
            ("b".into(), None, "Member must not be null".into()),
        ]);
        assert!(two.message.starts_with("2 validation errors detected: Value null at 'a'"));
    }
}
