//! AWS errors, one protocol-neutral type for every service. Each protocol renders it in its own
//! document: restJson1 in [`crate::rest_json`], the EC2 query protocol in [`crate::ec2`].

use axum::http::StatusCode;
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
