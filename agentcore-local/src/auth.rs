//! SigV4 verification with the `aws-sigv4` crate (the SDK's own signer): the request is re-signed
//! with the configured secret over exactly the headers the client signed, and the signatures are
//! compared. The region comes from the credential scope.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::http::{HeaderMap, StatusCode};

use crate::Auth;
use crate::error::AwsError;

/// Largest accepted difference between the request's `X-Amz-Date` and the wall clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Who sent a request, as far as the emulator cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// From the credential scope (or the default region when auth is off and nothing was signed).
    pub region: String,
    pub access_key_id: Option<String>,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("missing authentication token")]
    Missing,
    #[error("incomplete signature: {0}")]
    Malformed(String),
    #[error("unknown access key")]
    UnknownAccessKey,
    #[error("signature mismatch")]
    SignatureMismatch,
    #[error("signature expired: {0}")]
    Expired(String),
    #[error("credential scoped to service {got:?}, expected {expected:?}")]
    WrongService { expected: String, got: String },
}

impl AuthFailure {
    /// The error a restJson1 AWS service answers with.
    pub fn json_error(&self) -> AwsError {
        let forbidden = StatusCode::FORBIDDEN;
        match self {
            Self::Missing => {
                AwsError::new(forbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
            }
            Self::Malformed(detail) => AwsError::new(forbidden, "IncompleteSignatureException", detail.clone()),
            Self::UnknownAccessKey => AwsError::new(
                forbidden,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            Self::SignatureMismatch => AwsError::new(
                forbidden,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details.",
            ),
            Self::Expired(detail) => {
                AwsError::new(forbidden, "InvalidSignatureException", format!("Signature expired: {detail}"))
            }
            Self::WrongService { expected, .. } => AwsError::new(
                forbidden,
                "InvalidSignatureException",
                format!("Credential should be scoped to correct service: '{expected}'. "),
            ),
        }
    }

    /// The error EC2 answers with.
    pub fn ec2_error(&self) -> AwsError {
        match self {
            Self::Missing => AwsError::new(
                StatusCode::UNAUTHORIZED,
                "MissingAuthenticationToken",
                "The request must contain either a valid (registered) AWS access key ID or X.509 \
                 certificate.",
            ),
            Self::Malformed(detail) => AwsError::new(StatusCode::BAD_REQUEST, "IncompleteSignature", detail.clone()),
            Self::UnknownAccessKey | Self::SignatureMismatch | Self::WrongService { .. } => AwsError::new(
                StatusCode::UNAUTHORIZED,
                "AuthFailure",
                "AWS was not able to validate the provided access credentials",
            ),
            Self::Expired(_) => AwsError::ec2("RequestExpired", "Request has expired."),
        }
    }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthFailure> {
    let malformed = |what: &str| AuthFailure::Malformed(format!("Authorization header {what}"));
    let rest =
        value.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| malformed("must use the AWS4-HMAC-SHA256 algorithm"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let credential = credential.ok_or_else(|| malformed("requires a 'Credential' parameter"))?;
    let signed = signed.ok_or_else(|| malformed("requires a 'SignedHeaders' parameter"))?;
    let signature = signature.ok_or_else(|| malformed("requires a 'Signature' parameter"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(malformed("Credential must have the form KEY/DATE/REGION/SERVICE/aws4_request"));
    };
    Ok(Authorization { access_key_id, date, region, service, signed_headers: signed.split(';').collect(), signature })
}

/// The signing region of a request, if it carries a parsable SigV4 `Authorization` header.
pub fn scope_region(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    parse_authorization(value).ok().map(|a| a.region.to_string())
}

fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = time::PrimitiveDateTime::parse(value, &format).ok()?;
    Some(t.assume_utc().into())
}

/// Checks the request's SigV4 signature.
///
/// `uri` is the request target as received (`/path?query`), `expected_service` the signing name
/// (`ec2`, `bedrock-agentcore`), `wall_now` the real time for the skew check.
#[allow(clippy::too_many_arguments)]
pub fn authenticate(
    auth: &Auth,
    default_region: &str,
    expected_service: &str,
    method: &str,
    uri: &str,
    headers: &HeaderMap,
    body: &[u8],
    wall_now: SystemTime,
) -> Result<Caller, AuthFailure> {
    let (access_key, secret) = match auth {
        Auth::Disabled => {
            return Ok(Caller {
                region: scope_region(headers).unwrap_or_else(|| default_region.to_string()),
                access_key_id: None,
            });
        }
        Auth::SigV4 { access_key_id, secret_access_key } => (access_key_id, secret_access_key),
    };
    let header = headers
        .get("authorization")
        .ok_or(AuthFailure::Missing)?
        .to_str()
        .map_err(|_| AuthFailure::Malformed("Authorization header is not ASCII".into()))?;
    let parsed = parse_authorization(header)?;
    if parsed.access_key_id != access_key {
        return Err(AuthFailure::UnknownAccessKey);
    }
    if parsed.service != expected_service {
        return Err(AuthFailure::WrongService { expected: expected_service.into(), got: parsed.service.into() });
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AuthFailure::Malformed("the X-Amz-Date header is required".into()))?;
    let time =
        parse_amz_date(amz_date).ok_or_else(|| AuthFailure::Malformed(format!("invalid X-Amz-Date {amz_date:?}")))?;
    if !amz_date.starts_with(parsed.date) {
        return Err(AuthFailure::Malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{}' != '{}'",
            parsed.date,
            &amz_date[..amz_date.len().min(8)]
        )));
    }
    let skew = match wall_now.duration_since(time) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if skew > MAX_CLOCK_SKEW {
        return Err(AuthFailure::Expired(format!(
            "{amz_date} is more than {} minutes away from the server time",
            MAX_CLOCK_SKEW.as_secs() / 60
        )));
    }

    let mut signed: Vec<(&str, &str)> = Vec::new();
    for name in &parsed.signed_headers {
        let values = headers.get_all(*name);
        let mut any = false;
        for value in values {
            let value = value.to_str().map_err(|_| AuthFailure::Malformed(format!("header {name} is not ASCII")))?;
            signed.push((name, value));
            any = true;
        }
        if !any {
            return Err(AuthFailure::SignatureMismatch);
        }
    }
    let payload_hash = headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok());
    let body = match payload_hash {
        Some(hash) => SignableBody::Precomputed(hash.to_string()),
        None => SignableBody::Bytes(body),
    };
    let request = SignableRequest::new(method, uri, signed.into_iter(), body)
        .map_err(|e| AuthFailure::Malformed(format!("cannot canonicalise request: {e}")))?;
    let identity: Identity = Credentials::new(access_key, secret, None, None, "agentcore-local").into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(parsed.region)
        .name(parsed.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| AuthFailure::Malformed(e.to_string()))?;
    let output =
        sign(request, &params.into()).map_err(|e| AuthFailure::Malformed(format!("cannot compute signature: {e}")))?;
    if !constant_time_eq(output.signature().as_bytes(), parsed.signature.as_bytes()) {
        return Err(AuthFailure::SignatureMismatch);
    }
    Ok(Caller { region: parsed.region.to_string(), access_key_id: Some(parsed.access_key_id.to_string()) })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn signed_headers(secret: &str, body: &[u8], when: SystemTime) -> HeaderMap {
        let identity: Identity = Credentials::new("test", secret, None, None, "t").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("ec2")
            .time(when)
            .settings(SigningSettings::default())
            .build()
            .unwrap();
        let request = SignableRequest::new(
            "POST",
            "http://127.0.0.1:4566/",
            [("host", "127.0.0.1:4566"), ("content-type", "application/x-www-form-urlencoded")].into_iter(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params.into()).unwrap().into_parts();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:4566"));
        headers.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
        for (name, value) in instructions.headers() {
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn check(headers: &HeaderMap, body: &[u8], service: &str) -> Result<Caller, AuthFailure> {
        authenticate(&Auth::default(), "us-east-1", service, "POST", "/", headers, body, SystemTime::now())
    }

    #[test]
    fn accepts_a_good_signature_and_reads_the_region() {
        let body = b"Action=DescribeVpcs&Version=2016-11-15";
        let headers = signed_headers("test", body, SystemTime::now());
        let caller = check(&headers, body, "ec2").unwrap();
        assert_eq!(caller.region, "us-east-1");
        assert_eq!(caller.access_key_id.as_deref(), Some("test"));
    }

    #[test]
    fn rejects_wrong_secret_tampered_body_wrong_service_and_old_dates() {
        let body = b"Action=DescribeVpcs&Version=2016-11-15";
        let wrong = signed_headers("nope", body, SystemTime::now());
        assert_eq!(check(&wrong, body, "ec2"), Err(AuthFailure::SignatureMismatch));
        let good = signed_headers("test", body, SystemTime::now());
        assert_eq!(check(&good, b"Action=DeleteVpc", "ec2"), Err(AuthFailure::SignatureMismatch));
        assert!(matches!(check(&good, body, "bedrock-agentcore"), Err(AuthFailure::WrongService { .. })));
        let old = signed_headers("test", body, SystemTime::now() - Duration::from_secs(3600));
        assert!(matches!(check(&old, body, "ec2"), Err(AuthFailure::Expired(_))));
        assert_eq!(check(&HeaderMap::new(), body, "ec2"), Err(AuthFailure::Missing));
    }

    #[test]
    fn parses_authorization_headers() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20251018/ap-northeast-1/ec2/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .unwrap();
        assert_eq!(a.region, "ap-northeast-1");
        assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
        assert!(parse_authorization("Basic dGVzdA==").is_err());
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=AK/x, SignedHeaders=a, Signature=b").is_err());
    }
}
