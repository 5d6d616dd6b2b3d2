//! The errors every command shares: bad input ([`UsageError`], exit code 2) and an AWS API error
//! reduced to what the code decides on ([`ApiError`]: code, message, HTTP status, whether an answer
//! came at all). Creation ([`crate::calls`]), the phases and teardown all read SDK errors through
//! [`ApiError::from_sdk`] (or [`sdk_error`], its `anyhow` form), so an error reads the same everywhere:
//! `InvalidVpcID.NotFound: The vpc ID … does not exist`, not the SDK's generic "service error".

use std::fmt;

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Bad input (flags, region): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Error codes meaning "this endpoint does not implement that operation" (not a refusal, not a
/// failure of it). Only these, and [`FOREIGN_STATUSES`] without any error code, let discovery skip a
/// service and, against an emulator only, let the state file stand in for a tag check. Never
/// throttling, 5xx, `AccessDenied`/`UnauthorizedOperation` or any other error.
pub const OPERATION_NOT_SUPPORTED_CODES: [&str; 2] = [
    // The query protocols' "the action or operation requested is invalid" (not offered by the
    // service"): AWS's own code, answered by agentcore-local and moto for the EC2 actions they lack.
    "InvalidAction",
    // The JSON protocols' "no operation matches the request": agentcore-local's answer for a route it
    // does not serve (AWS's common error for an unknown operation).
    "UnknownOperationException",
];

/// HTTP statuses that, with no error code the service's SDK can read in the answer, mean another
/// service answered: 404, nothing is routed there (moto's empty 404 for AgentCore); 401, the
/// endpoint does not accept this service's signing name (agentcore-local answers IAM and ECR calls
/// with EC2's `AuthFailure`, in EC2's XML, which neither SDK can read). AWS's own 401/404 answers
/// always carry a code. A code-less 403 (a proxy or firewall) or 5xx is not in this list.
pub const FOREIGN_STATUSES: [u16; 2] = [401, 404];

/// An AWS API error, reduced to what the code decides on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The service's error code (`DependencyViolation`); empty when the answer had none the SDK could read.
    pub code: String,
    pub message: String,
    /// The request never got an answer (connection refused, timeout).
    pub transport: bool,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code.is_empty(), self.status) {
            (false, _) => write!(f, "{}: {}", self.code, self.message),
            (true, Some(status)) => write!(f, "HTTP {status}: {}", self.message),
            (true, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Any SDK's error (every `aws-sdk-*` crate shares these smithy types).
    pub fn from_sdk<E>(error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let transport = matches!(error, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_));
        let status = error.raw_response().map(|response| response.status().as_u16());
        let code = error.code().unwrap_or_default().to_owned();
        let message = match error.message() {
            Some(message) => message.to_owned(),
            None => DisplayErrorContext(&error).to_string(),
        };
        ApiError { code, message, transport, status }
    }

    pub fn is_not_found(&self) -> bool {
        self.code.contains("NotFound") || self.code == "NoSuchEntity"
    }

    /// No error code the SDK could read, with a status of [`FOREIGN_STATUSES`]: another service
    /// answered.
    pub fn foreign_answer(&self) -> bool {
        self.code.is_empty() && self.status.is_some_and(|status| FOREIGN_STATUSES.contains(&status))
    }

    /// The endpoint does not implement the operation (see [`OPERATION_NOT_SUPPORTED_CODES`]).
    pub fn operation_not_supported(&self) -> bool {
        !self.transport && (OPERATION_NOT_SUPPORTED_CODES.contains(&self.code.as_str()) || self.foreign_answer())
    }
}

/// An SDK error as an [`ApiError`] inside `anyhow` (`Code: message`).
pub fn sdk_error<E>(error: SdkError<E, HttpResponse>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    ApiError::from_sdk(error).into()
}

/// The error code of an SDK error (`RepositoryNotFoundException`), if the service sent one.
pub fn error_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    error.code()
}
