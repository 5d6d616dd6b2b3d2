//! Fault injection for testing clients: `--fault SERVICE:OPERATION:ERRORCODE:PROBABILITY`.
//!
//! * `SERVICE`: `ec2`, `bedrock-agentcore-control` (alias `control`) or `bedrock-agentcore`
//!   (alias `data`, the data plane).
//! * `OPERATION`: the API operation name as AWS spells it (`DescribeNetworkInterfaces`,
//!   `CreateAgentRuntime`, `InvokeAgentRuntime`, `GetAgentCard`, `InvokeAgentRuntimeCommand`, …),
//!   or `*` for every operation of the service.
//! * `ERRORCODE`: the error code to answer with (`RequestLimitExceeded`, `InternalError`,
//!   `ThrottlingException`, …). The HTTP status is the one AWS uses for that code (see
//!   [`status_for`]); codes it does not know get 400 (500 when they contain `Internal`, 503 when
//!   they contain `Unavailable`).
//! * `PROBABILITY`: 0–1, drawn independently for each request.
//!
//! Faults apply after authentication (an unsigned request still gets the signature error) and
//! before the operation runs, so an injected fault never changes state.
//!
//! **Outcome faults.** `ERRORCODE` may instead be a failed status, for the control-plane operation
//! that leads to it: `CreateAgentRuntime:CREATE_FAILED`, `UpdateAgentRuntime:UPDATE_FAILED`,
//! `DeleteAgentRuntime:DELETE_FAILED`. The request is then accepted as usual, and when the fault hits,
//! the asynchronous work it started ends in that status (with a `failureReason`) instead of READY or
//! gone: the way to see a runtime `DELETE_FAILED`, which AWS reports but never documents a cause for. The error has the
//! service's own shape: EC2's XML `<Response><Errors>…` or restJson1's `x-amzn-ErrorType` + JSON.

use std::fmt;
use std::str::FromStr;

use axum::http::{Method, StatusCode};

use crate::error::AwsError;
use crate::state::RuntimeStatus;

/// The service a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultService {
    Ec2,
    /// `bedrock-agentcore-control`.
    Control,
    /// `bedrock-agentcore` (InvokeAgentRuntime, GetAgentCard, InvokeAgentRuntimeCommand,
    /// StopRuntimeSession).
    Data,
}

impl FaultService {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ec2 => "ec2",
            Self::Control => "bedrock-agentcore-control",
            Self::Data => "bedrock-agentcore",
        }
    }
}

/// One `--fault` rule.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Fault {
    pub service: FaultService,
    /// Operation name, or `*`.
    pub operation: String,
    pub code: String,
    pub probability: f64,
}

/// A `--fault` value that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid fault {text:?}: {reason} (expected SERVICE:OPERATION:ERRORCODE:PROBABILITY, e.g. ec2:DescribeNetworkInterfaces:RequestLimitExceeded:0.2)"
)]
pub struct InvalidFault {
    pub text: String,
    pub reason: String,
}

/// The outcome faults: (operation, the failed status its asynchronous work ends in).
pub const OUTCOMES: [(&str, RuntimeStatus); 3] = [
    ("CreateAgentRuntime", RuntimeStatus::CreateFailed),
    ("UpdateAgentRuntime", RuntimeStatus::UpdateFailed),
    ("DeleteAgentRuntime", RuntimeStatus::DeleteFailed),
];

impl FromStr for Fault {
    type Err = InvalidFault;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| InvalidFault { text: text.to_string(), reason: reason.to_string() };
        let parts: Vec<&str> = text.split(':').collect();
        let [service, operation, code, probability] = parts.as_slice() else {
            return Err(invalid("it needs exactly four colon-separated parts"));
        };
        let service = match *service {
            "ec2" => FaultService::Ec2,
            "bedrock-agentcore-control" | "control" => FaultService::Control,
            "bedrock-agentcore" | "data" => FaultService::Data,
            _ => {
                return Err(invalid(
                    "SERVICE must be ec2, bedrock-agentcore-control (control) or bedrock-agentcore (data)",
                ));
            }
        };
        let is_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if *operation != "*" && !is_name(operation) {
            return Err(invalid("OPERATION must be an operation name like DescribeNetworkInterfaces, or *"));
        }
        if !is_name(code) {
            return Err(invalid("ERRORCODE must be an error code like RequestLimitExceeded"));
        }
        if code.ends_with("_FAILED") {
            let fits = service == FaultService::Control
                && OUTCOMES.iter().any(|(op, status)| op == operation && status.as_str() == *code);
            if !fits {
                return Err(invalid(
                    "a failed status is an outcome of one operation: control:CreateAgentRuntime:CREATE_FAILED, \
                     control:UpdateAgentRuntime:UPDATE_FAILED or control:DeleteAgentRuntime:DELETE_FAILED",
                ));
            }
        }
        let probability: f64 = probability.parse().map_err(|_| invalid("PROBABILITY must be a number"))?;
        if !(0.0..=1.0).contains(&probability) {
            return Err(invalid("PROBABILITY must be between 0 and 1"));
        }
        Ok(Self { service, operation: operation.to_string(), code: code.to_string(), probability })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}:{}", self.service.as_str(), self.operation, self.code, self.probability)
    }
}

impl Fault {
    fn matches(&self, service: FaultService, operation: &str) -> bool {
        self.service == service && (self.operation == "*" || self.operation == operation)
    }

    /// Whether this fault chooses an outcome (a failed status) rather than an error answer.
    pub fn is_outcome(&self) -> bool {
        self.code.ends_with("_FAILED")
    }

    /// The error this fault answers with.
    pub fn error(&self) -> AwsError {
        let message = match self.code.as_str() {
            "RequestLimitExceeded" => "Request limit exceeded.".to_string(),
            "InternalError" => "An internal error has occurred".to_string(),
            "Unavailable" | "ServiceUnavailable" => "The service is unavailable. Please try again shortly.".into(),
            "ThrottlingException" | "Throttling" | "TooManyRequestsException" => "Rate exceeded".into(),
            "InternalServerException" => "Internal server error".into(),
            code => format!("{code} (injected by agentcore-local --fault)"),
        };
        let mut error = AwsError::new(status_for(self.service, &self.code), self.code.clone(), message);
        if self.service != FaultService::Ec2 && self.code == "ValidationException" {
            // The model requires a reason; an injected failure names no field.
            error.reason = Some("CannotParse");
        }
        error
    }
}

/// The HTTP status AWS uses for `code` in `service`.
pub fn status_for(service: FaultService, code: &str) -> StatusCode {
    let known = match (service, code) {
        (FaultService::Ec2, "RequestLimitExceeded" | "Unavailable" | "ServiceUnavailable") => {
            Some(StatusCode::SERVICE_UNAVAILABLE)
        }
        (FaultService::Ec2, "InternalError" | "InternalFailure") => Some(StatusCode::INTERNAL_SERVER_ERROR),
        (FaultService::Ec2, "AuthFailure" | "UnauthorizedOperation") => Some(StatusCode::FORBIDDEN),
        (_, "ThrottlingException" | "Throttling" | "TooManyRequestsException") => Some(StatusCode::TOO_MANY_REQUESTS),
        (_, "InternalServerException" | "InternalFailure") => Some(StatusCode::INTERNAL_SERVER_ERROR),
        (_, "ServiceUnavailableException") => Some(StatusCode::SERVICE_UNAVAILABLE),
        (_, "ServiceQuotaExceededException") => Some(StatusCode::PAYMENT_REQUIRED),
        (_, "AccessDeniedException") => Some(StatusCode::FORBIDDEN),
        (_, "UnauthorizedException") => Some(StatusCode::UNAUTHORIZED),
        (_, "ResourceNotFoundException") => Some(StatusCode::NOT_FOUND),
        (_, "ConflictException" | "RetryableConflictException") => Some(StatusCode::CONFLICT),
        (_, "RuntimeClientError") => Some(StatusCode::FAILED_DEPENDENCY),
        _ => None,
    };
    known.unwrap_or(if code.contains("Internal") {
        StatusCode::INTERNAL_SERVER_ERROR
    } else if code.contains("Unavailable") {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_REQUEST
    })
}

/// The first fault among `faults` that matches and whose dice roll hits.
pub fn roll(faults: &[Fault], service: FaultService, operation: &str) -> Option<AwsError> {
    faults
        .iter()
        .find(|f| !f.is_outcome() && f.matches(service, operation) && fastrand::f64() < f.probability)
        .map(Fault::error)
}

/// Whether an outcome fault for the control-plane `operation` hits: its asynchronous work is then
/// to end in the operation's failed status ([`OUTCOMES`]).
pub fn roll_outcome(faults: &[Fault], operation: &str) -> bool {
    faults
        .iter()
        .any(|f| f.is_outcome() && f.matches(FaultService::Control, operation) && fastrand::f64() < f.probability)
}

/// The service and operation name of a request, as fault rules name them. `None` for paths that
/// are no operation (`/_local/*`, unknown routes).
pub fn operation(method: &Method, path: &str, query: Option<&str>, body: &[u8]) -> Option<(FaultService, String)> {
    if path == "/" || path.is_empty() {
        let action = [body, query.unwrap_or("").as_bytes()].into_iter().find_map(|bytes| {
            form::<Vec<(String, String)>>(bytes).into_iter().flatten().find(|(k, _)| k == "Action").map(|(_, v)| v)
        })?;
        return Some((FaultService::Ec2, action));
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let operation = match (method, segments.as_slice()) {
        (_, ["runtimes", _, "invocations"]) => return Some((FaultService::Data, "InvokeAgentRuntime".into())),
        (_, ["runtimes", _, "stopruntimesession"]) => {
            return Some((FaultService::Data, "StopRuntimeSession".into()));
        }
        (_, ["runtimes", _, "invocations", ".well-known", "agent-card.json"]) => {
            return Some((FaultService::Data, "GetAgentCard".into()));
        }
        (_, ["runtimes", _, "commands"]) => return Some((FaultService::Data, "InvokeAgentRuntimeCommand".into())),
        (&Method::PUT, ["runtimes"]) => "CreateAgentRuntime",
        (&Method::POST, ["runtimes"]) => "ListAgentRuntimes",
        (&Method::GET, ["runtimes", _]) => "GetAgentRuntime",
        (&Method::PUT, ["runtimes", _]) => "UpdateAgentRuntime",
        (&Method::DELETE, ["runtimes", _]) => "DeleteAgentRuntime",
        (_, ["runtimes", _, "versions"]) => "ListAgentRuntimeVersions",
        (_, ["capacity-providers", _, "runtime-versions"]) => "ListAgentRuntimeVersionsByCapacityProvider",
        (&Method::PUT, ["runtimes", _, "runtime-endpoints"]) => "CreateAgentRuntimeEndpoint",
        (_, ["runtimes", _, "runtime-endpoints"]) => "ListAgentRuntimeEndpoints",
        (&Method::GET, ["runtimes", _, "runtime-endpoints", _]) => "GetAgentRuntimeEndpoint",
        (&Method::PUT, ["runtimes", _, "runtime-endpoints", _]) => "UpdateAgentRuntimeEndpoint",
        (&Method::DELETE, ["runtimes", _, "runtime-endpoints", _]) => "DeleteAgentRuntimeEndpoint",
        (&Method::POST, ["tags", _]) => "TagResource",
        (&Method::DELETE, ["tags", _]) => "UntagResource",
        (&Method::GET, ["tags", _]) => "ListTagsForResource",
        _ => return None,
    };
    Some((FaultService::Control, operation.to_string()))
}

fn form<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_urlencoded::from_bytes(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_syntax() {
        let f: Fault = "ec2:DescribeNetworkInterfaces:RequestLimitExceeded:0.2".parse().unwrap();
        assert_eq!(f.service, FaultService::Ec2);
        assert_eq!(f.operation, "DescribeNetworkInterfaces");
        assert_eq!(f.code, "RequestLimitExceeded");
        assert_eq!(f.probability, 0.2);
        assert_eq!(f.error().status, StatusCode::SERVICE_UNAVAILABLE);
        let f: Fault = "data:*:InternalServerException:1".parse().unwrap();
        assert_eq!(f.service, FaultService::Data);
        assert_eq!(f.error().status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(f.to_string(), "bedrock-agentcore:*:InternalServerException:1");
        let f: Fault = "control:GetAgentRuntime:ValidationException:1".parse().unwrap();
        assert_eq!(f.error().reason, Some("CannotParse"), "the model requires a ValidationException's reason");
        for bad in ["ec2:X:Y", "s3:X:Y:0.5", "ec2:X:Y:1.5", "ec2:X:Y:abc", "ec2::Y:0.1", "ec2:X:Y:0.1:extra"] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_operations_from_requests() {
        let op = |m: Method, p: &str, q: Option<&str>, b: &str| operation(&m, p, q, b.as_bytes());
        assert_eq!(
            op(Method::POST, "/", None, "Action=DescribeNetworkInterfaces&Version=2016-11-15"),
            Some((FaultService::Ec2, "DescribeNetworkInterfaces".into()))
        );
        assert_eq!(
            op(Method::GET, "/", Some("Action=DescribeVpcs"), ""),
            Some((FaultService::Ec2, "DescribeVpcs".into()))
        );
        assert_eq!(op(Method::PUT, "/runtimes/", None, ""), Some((FaultService::Control, "CreateAgentRuntime".into())));
        assert_eq!(
            op(Method::DELETE, "/runtimes/a-1", None, ""),
            Some((FaultService::Control, "DeleteAgentRuntime".into()))
        );
        let data_plane = [
            (Method::POST, "/runtimes/arn%3Aaws%3Ax%2Fy/invocations", "InvokeAgentRuntime"),
            (Method::GET, "/runtimes/arn%3Aaws%3Ax%2Fy/invocations/.well-known/agent-card.json", "GetAgentCard"),
            (Method::GET, "/runtimes/a-1/invocations/.well-known/agent-card.json/", "GetAgentCard"),
            (Method::POST, "/runtimes/arn%3Aaws%3Ax%2Fy/commands", "InvokeAgentRuntimeCommand"),
            (Method::POST, "/runtimes/a-1/commands/", "InvokeAgentRuntimeCommand"),
            (Method::POST, "/runtimes/a-1/stopruntimesession", "StopRuntimeSession"),
        ];
        for (method, path, name) in data_plane {
            assert_eq!(op(method, path, None, ""), Some((FaultService::Data, name.into())), "{path}");
        }
        let endpoints = [
            (Method::PUT, "/runtimes/a-1/runtime-endpoints", "CreateAgentRuntimeEndpoint"),
            (Method::POST, "/runtimes/a-1/runtime-endpoints/", "ListAgentRuntimeEndpoints"),
            (Method::GET, "/runtimes/a-1/runtime-endpoints/live", "GetAgentRuntimeEndpoint"),
            (Method::PUT, "/runtimes/a-1/runtime-endpoints/live", "UpdateAgentRuntimeEndpoint"),
            (Method::DELETE, "/runtimes/a-1/runtime-endpoints/live", "DeleteAgentRuntimeEndpoint"),
        ];
        for (method, path, name) in endpoints {
            assert_eq!(op(method, path, None, ""), Some((FaultService::Control, name.into())), "{path}");
        }
        assert_eq!(op(Method::GET, "/_local/state", None, ""), None);
    }

    #[test]
    fn outcome_faults_belong_to_their_operation_and_never_answer_an_error() {
        let delete: Fault = "control:DeleteAgentRuntime:DELETE_FAILED:1".parse().unwrap();
        assert!(delete.is_outcome());
        let faults = std::slice::from_ref(&delete);
        assert!(roll(faults, FaultService::Control, "DeleteAgentRuntime").is_none(), "the request is accepted");
        assert!(roll_outcome(faults, "DeleteAgentRuntime"));
        assert!(!roll_outcome(faults, "CreateAgentRuntime"));
        let error: Fault = "control:DeleteAgentRuntime:ConflictException:1".parse().unwrap();
        assert!(!roll_outcome(std::slice::from_ref(&error), "DeleteAgentRuntime"), "an error is no outcome");
        for (operation, status) in OUTCOMES {
            let text = format!("control:{operation}:{}:0.5", status.as_str());
            assert!(text.parse::<Fault>().is_ok(), "{text}");
        }
        for bad in [
            "control:CreateAgentRuntime:DELETE_FAILED:1",
            "control:*:DELETE_FAILED:1",
            "ec2:DeleteVpc:DELETE_FAILED:1",
            "data:InvokeAgentRuntime:CREATE_FAILED:1",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }

    #[test]
    fn probability_zero_never_fires_and_one_always_does() {
        let never: Fault = "ec2:*:InternalError:0".parse().unwrap();
        let always: Fault = "ec2:DescribeVpcs:InternalError:1".parse().unwrap();
        for _ in 0..100 {
            assert!(roll(std::slice::from_ref(&never), FaultService::Ec2, "DescribeVpcs").is_none());
            assert!(roll(std::slice::from_ref(&always), FaultService::Ec2, "DescribeVpcs").is_some());
            assert!(roll(std::slice::from_ref(&always), FaultService::Ec2, "DescribeSubnets").is_none());
        }
    }
}
