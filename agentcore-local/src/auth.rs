//! SigV4 verification with the `aws-sigv4` crate (the SDK's own signer): the request is re-signed
//! with the configured secret over exactly the headers the client signed and over the SHA-256 of
//! the body actually received, and the signatures are compared. The region comes from the
//! credential scope.
//!
//! The check runs in two steps so the router can refuse cheaply before it reads a body:
//! [`check_headers`] (the `Authorization` header, the signed-header list, the date and its skew,
//! the key, the service and the scope's region: no body needed) and [`PendingSignature::verify`]
//! (hashes the body and compares signatures). [`authenticate`] does both. When the client signed
//! `x-amz-content-sha256` ([`PendingSignature::signed_body_hash`]), the router checks the
//! signature over that claim before reading the body ([`PendingSignature::verify_over_hash`]) and
//! the body against it afterwards ([`check_body_hash`]), so a stranger's body is never buffered.
//!
//! Rules, as AWS applies them to services other than S3:
//! * the signature must cover the body: `X-Amz-Content-SHA256`, when sent, must be the SHA-256 of
//!   the body received (`UNSIGNED-PAYLOAD` and the `STREAMING-…` forms are refused), and without it
//!   the body is hashed anyway;
//! * `host` and `x-amz-date` must be among `SignedHeaders`;
//! * the scope's region must be in [`crate::catalog`] (also with auth disabled): "Credential should
//!   be scoped to a valid region, not 'R'. ", as AWS words it;
//! * the date must be within [`MAX_CLOCK_SKEW`] (5 minutes) of the wall clock;
//! * query-string (presigned) signatures are verified the same way ([`check_presigned`]): every
//!   `X-Amz-*` authentication parameter present once, `host` signed, `X-Amz-Expires` at most 7 days
//!   and not passed (nor the date more than [`MAX_CLOCK_SKEW`] ahead), the signature over the
//!   query's other parameters; the payload hash is the body's (as botocore's `SigV4QueryAuth`
//!   signs it) or, for an empty body, `UNSIGNED-PAYLOAD` (as S3-style presigners do).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::http::{HeaderMap, StatusCode};

use crate::config::Auth;
use crate::error::AwsError;

/// Largest accepted difference between the request's `X-Amz-Date` and the wall clock. AWS: "In
/// most cases, a request must reach AWS within five minutes of the time stamp in the request.
/// Otherwise, AWS denies the request." (IAM User Guide, "AWS Signature Version 4 for API
/// requests", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html>); the
/// restJson1 services' own message says "(… - 5 min.)".
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The `X-Amz-Content-SHA256` values that leave the body unsigned (S3 only; refused here).
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const STREAMING_PREFIX: &str = "STREAMING-";

/// Query parameters that mark a presigned (query-string) signature.
const PRESIGN_PARAMETERS: &[&str] = &["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date"];
/// Every query parameter of a presigned signature: the signer adds them, so the re-signing leaves
/// them out of the URI it is given.
const PRESIGN_AUTH_PARAMETERS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
];
/// Longest validity of a presigned signature: 7 days (SigV4: "X-Amz-Expires … maximum 604800").
pub const MAX_PRESIGNED_EXPIRES: Duration = Duration::from_secs(604_800);
/// SHA-256 of the empty body.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

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
    /// The whole message, e.g. `Signature expired: 20260101T000000Z is now earlier than … (… - 5 min.)`.
    #[error("{0}")]
    Expired(String),
    #[error("credential scoped to service {got:?}, expected {expected:?}")]
    WrongService { expected: String, got: String },
    /// The credential scope names a region the emulator does not know ([`crate::catalog`]).
    #[error("credential scoped to unknown region {0:?}")]
    UnknownRegion(String),
    /// `X-Amz-Content-SHA256` is not the SHA-256 of the body received.
    #[error("x-amz-content-sha256 {claimed:?} does not match the body's SHA-256 {computed}")]
    PayloadHashMismatch { claimed: String, computed: String },
    /// `X-Amz-Content-SHA256: UNSIGNED-PAYLOAD` (or a `STREAMING-…` form): only S3 accepts those.
    #[error("unsigned payload {0:?} refused")]
    UnsignedPayload(String),
}

const PAYLOAD_MISMATCH_MESSAGE: &str = "The provided 'x-amz-content-sha256' header does not match what was computed.";

fn unsigned_payload_message(value: &str) -> String {
    format!(
        "x-amz-content-sha256 '{value}' is not accepted by this service: the signature must cover the body \
         (send the hex SHA-256 of the body, or omit the header)."
    )
}

/// AWS's answer to a signature scoped to a region it does not serve (restJson1 services answer it
/// as `InvalidSignatureException`, 403; EC2's code for a signature it cannot validate is
/// `AuthFailure`, 401).
fn unknown_region_message(region: &str) -> String {
    format!("Credential should be scoped to a valid region, not '{region}'. ")
}

impl AuthFailure {
    /// The error a restJson1 AWS service answers with.
    pub fn json_error(&self) -> AwsError {
        let forbidden = StatusCode::FORBIDDEN;
        let invalid_signature = |message: String| AwsError::new(forbidden, "InvalidSignatureException", message);
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
            Self::SignatureMismatch => invalid_signature(
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details."
                    .into(),
            ),
            Self::Expired(message) => invalid_signature(message.clone()),
            Self::WrongService { expected, .. } => {
                invalid_signature(format!("Credential should be scoped to correct service: '{expected}'. "))
            }
            Self::UnknownRegion(region) => invalid_signature(unknown_region_message(region)),
            Self::PayloadHashMismatch { .. } => invalid_signature(PAYLOAD_MISMATCH_MESSAGE.into()),
            Self::UnsignedPayload(value) => invalid_signature(unsigned_payload_message(value)),
        }
    }

    /// The error EC2 answers with.
    pub fn ec2_error(&self) -> AwsError {
        let auth_failure = |message: String| AwsError::new(StatusCode::UNAUTHORIZED, "AuthFailure", message);
        match self {
            Self::Missing => AwsError::new(
                StatusCode::UNAUTHORIZED,
                "MissingAuthenticationToken",
                "The request must contain either a valid (registered) AWS access key ID or X.509 \
                 certificate.",
            ),
            Self::Malformed(detail) => AwsError::new(StatusCode::BAD_REQUEST, "IncompleteSignature", detail.clone()),
            Self::UnknownAccessKey | Self::SignatureMismatch | Self::WrongService { .. } => {
                auth_failure("AWS was not able to validate the provided access credentials".into())
            }
            Self::PayloadHashMismatch { .. } => auth_failure(PAYLOAD_MISMATCH_MESSAGE.into()),
            Self::UnknownRegion(region) => auth_failure(unknown_region_message(region)),
            Self::UnsignedPayload(value) => auth_failure(unsigned_payload_message(value)),
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
        value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| malformed("must use the AWS4-HMAC-SHA256 algorithm"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        let (slot, value) = if let Some(v) = part.strip_prefix("Credential=") {
            (&mut credential, v)
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            (&mut signed, v)
        } else if let Some(v) = part.strip_prefix("Signature=") {
            (&mut signature, v)
        } else {
            continue;
        };
        if slot.replace(value).is_some() {
            return Err(malformed("repeats a parameter"));
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

const AMZ_DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let t = time::PrimitiveDateTime::parse(value, AMZ_DATE_FORMAT).ok()?;
    Some(t.assume_utc().into())
}

fn format_amz_date(at: SystemTime) -> String {
    time::OffsetDateTime::from(at).format(AMZ_DATE_FORMAT).unwrap_or_else(|_| "?".into())
}

/// The skew check, with the messages the restJson1 services use.
fn check_skew(signed_at: SystemTime, amz_date: &str, wall_now: SystemTime) -> Result<(), AuthFailure> {
    let minutes = MAX_CLOCK_SKEW.as_secs() / 60;
    match wall_now.duration_since(signed_at) {
        Ok(age) if age > MAX_CLOCK_SKEW => {
            let earliest = wall_now.checked_sub(MAX_CLOCK_SKEW).unwrap_or(wall_now);
            Err(AuthFailure::Expired(format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - {minutes} min.)",
                format_amz_date(earliest),
                format_amz_date(wall_now)
            )))
        }
        Err(ahead) if ahead.duration() > MAX_CLOCK_SKEW => {
            let latest = wall_now.checked_add(MAX_CLOCK_SKEW).unwrap_or(wall_now);
            Err(AuthFailure::Expired(format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + {minutes} min.)",
                format_amz_date(latest),
                format_amz_date(wall_now)
            )))
        }
        _ => Ok(()),
    }
}

/// Whether the query string carries a presigned signature.
fn is_presigned(uri: &str) -> bool {
    let Some((_, query)) = uri.split_once('?') else {
        return false;
    };
    query.split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        PRESIGN_PARAMETERS.iter().any(|p| name.eq_ignore_ascii_case(p))
    })
}

/// The lowercase hex SHA-256 of `bytes`: the payload hash SigV4 signs.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    sha2::Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The outcome of [`check_headers`].
#[derive(Debug)]
pub enum HeaderCheck {
    /// Nothing more to check (auth disabled).
    Accepted(Caller),
    /// The headers are fine; the body decides ([`PendingSignature::verify`]).
    Pending(PendingSignature),
}

/// A request whose headers passed [`check_headers`], waiting for its body.
#[derive(Debug)]
pub struct PendingSignature {
    access_key_id: String,
    secret: String,
    region: String,
    service: String,
    signed_at: SystemTime,
    /// The signed headers, as received.
    signed: Vec<(String, String)>,
    /// `X-Amz-Content-SHA256` as sent, if it was.
    claimed_hash: Option<String>,
    /// Whether `x-amz-content-sha256` is among the signed headers.
    claim_signed: bool,
    signature: String,
    /// Set for a query-string signature.
    presigned: Option<Presigned>,
}

/// What a query-string signature adds to [`PendingSignature`].
#[derive(Debug)]
struct Presigned {
    expires: Duration,
    /// `X-Amz-Security-Token`, signed with the rest of the query when sent.
    session_token: Option<String>,
}

/// Checks everything that does not need the body: the `Authorization` header, the signed-header
/// list, `X-Amz-Date` and its skew, the access key and the signing name.
///
/// `uri` is the request target as received (`/path?query`), `expected_service` the signing name
/// (`ec2`, `bedrock-agentcore`), `wall_now` the real time for the skew check.
pub fn check_headers(
    auth: &Auth,
    default_region: &str,
    expected_service: &str,
    uri: &str,
    headers: &HeaderMap,
    wall_now: SystemTime,
) -> Result<HeaderCheck, AuthFailure> {
    let (access_key, secret) = match auth {
        Auth::Disabled => {
            let region = scope_region(headers).unwrap_or_else(|| default_region.to_string());
            require_known_region(&region)?;
            return Ok(HeaderCheck::Accepted(Caller { region, access_key_id: None }));
        }
        Auth::SigV4 { access_key_id, secret_access_key } => (access_key_id, secret_access_key),
    };
    if is_presigned(uri) {
        return check_presigned(access_key, secret, expected_service, uri, headers, wall_now).map(HeaderCheck::Pending);
    }
    let header = headers
        .get("authorization")
        .ok_or(AuthFailure::Missing)?
        .to_str()
        .map_err(|_| AuthFailure::Malformed("Authorization header is not ASCII".into()))?;
    let parsed = parse_authorization(header)?;
    check_credential(access_key, expected_service, parsed.access_key_id, parsed.service, parsed.region)?;
    require_signed(&parsed.signed_headers)?;
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or_else(|| {
        AuthFailure::Malformed("Authorization header requires existence of a 'X-Amz-Date' header.".into())
    })?;
    let signed_at = signing_time(amz_date, parsed.date)?;
    check_skew(signed_at, amz_date, wall_now)?;
    let claimed_hash = match headers.get("x-amz-content-sha256") {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| AuthFailure::Malformed("x-amz-content-sha256 is not ASCII".into()))?
                .to_string();
            if value == UNSIGNED_PAYLOAD || value.starts_with(STREAMING_PREFIX) {
                return Err(AuthFailure::UnsignedPayload(value));
            }
            Some(value)
        }
    };
    let signed = signed_header_values(&parsed.signed_headers, headers)?;
    Ok(HeaderCheck::Pending(PendingSignature {
        access_key_id: parsed.access_key_id.to_string(),
        secret: secret.clone(),
        region: parsed.region.to_string(),
        service: parsed.service.to_string(),
        signed_at,
        signed,
        claim_signed: parsed.signed_headers.contains(&"x-amz-content-sha256"),
        claimed_hash,
        signature: parsed.signature.to_string(),
        presigned: None,
    }))
}

/// [`check_headers`] for a query-string signature: the `X-Amz-*` parameters instead of the
/// `Authorization` header, `X-Amz-Expires` instead of the skew window.
fn check_presigned(
    access_key: &str,
    secret: &str,
    expected_service: &str,
    uri: &str,
    headers: &HeaderMap,
    wall_now: SystemTime,
) -> Result<PendingSignature, AuthFailure> {
    let malformed = |what: String| AuthFailure::Malformed(what);
    let query = uri.split_once('?').map_or("", |(_, query)| query);
    let mut found: [Option<String>; PRESIGN_AUTH_PARAMETERS.len()] = Default::default();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let Some((name, value)) = decode_query_pair(pair) else {
            return Err(malformed(format!("query parameter {pair:?} is not valid percent-encoded UTF-8")));
        };
        let Some(slot) = PRESIGN_AUTH_PARAMETERS.iter().position(|p| p.eq_ignore_ascii_case(&name)) else {
            continue;
        };
        if PRESIGN_AUTH_PARAMETERS[slot] != name {
            let spelled = PRESIGN_AUTH_PARAMETERS[slot];
            return Err(malformed(format!("query-string authentication parameter {name} must be spelled {spelled}")));
        }
        if found[slot].replace(value).is_some() {
            return Err(malformed(format!("query-string authentication repeats {name}")));
        }
    }
    let [algorithm, credential, amz_date, expires, signed_headers, token, signature] = found;
    let require = |value: Option<String>, name: &str| {
        value.ok_or_else(|| {
            malformed(format!(
                "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
            ))
        })
    };
    let algorithm = require(algorithm, "X-Amz-Algorithm")?;
    let credential = require(credential, "X-Amz-Credential")?;
    let amz_date = require(amz_date, "X-Amz-Date")?;
    let expires = require(expires, "X-Amz-Expires")?;
    let signed_headers = require(signed_headers, "X-Amz-SignedHeaders")?;
    let signature = require(signature, "X-Amz-Signature")?;
    if algorithm != "AWS4-HMAC-SHA256" {
        return Err(malformed(format!("X-Amz-Algorithm must be AWS4-HMAC-SHA256, not {algorithm:?}")));
    }
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(malformed("X-Amz-Credential must have the form KEY/DATE/REGION/SERVICE/aws4_request".into()));
    };
    check_credential(access_key, expected_service, access_key_id, service, region)?;
    let signed_names: Vec<&str> = signed_headers.split(';').collect();
    if !signed_names.contains(&"host") {
        return Err(malformed("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()));
    }
    let signed_at = signing_time(&amz_date, date)?;
    let expires = expires
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
        .filter(|e| !e.is_zero() && *e <= MAX_PRESIGNED_EXPIRES)
        .ok_or_else(|| {
            malformed(format!(
                "X-Amz-Expires must be a number of seconds from 1 to {} (7 days), not {expires:?}",
                MAX_PRESIGNED_EXPIRES.as_secs()
            ))
        })?;
    check_presigned_window(signed_at, &amz_date, expires, wall_now)?;
    Ok(PendingSignature {
        access_key_id: access_key_id.to_string(),
        secret: secret.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_at,
        signed: signed_header_values(&signed_names, headers)?,
        claimed_hash: None,
        claim_signed: false,
        signature,
        presigned: Some(Presigned { expires, session_token: token }),
    })
}

/// The credential scope's key, service and region: the emulator's key, the route's signing name, a
/// region of the catalog.
fn check_credential(
    access_key: &str,
    expected_service: &str,
    access_key_id: &str,
    service: &str,
    region: &str,
) -> Result<(), AuthFailure> {
    if access_key_id != access_key {
        return Err(AuthFailure::UnknownAccessKey);
    }
    if service != expected_service {
        return Err(AuthFailure::WrongService { expected: expected_service.into(), got: service.into() });
    }
    require_known_region(region)
}

/// `X-Amz-Date` as a time, checked against the credential scope's `YYYYMMDD`.
fn signing_time(amz_date: &str, scope_date: &str) -> Result<SystemTime, AuthFailure> {
    let signed_at =
        parse_amz_date(amz_date).ok_or_else(|| AuthFailure::Malformed(format!("invalid X-Amz-Date {amz_date:?}")))?;
    if !amz_date.starts_with(scope_date) || scope_date.len() != 8 {
        return Err(AuthFailure::Malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: \
             '{scope_date}' != '{}'",
            &amz_date[..amz_date.len().min(8)]
        )));
    }
    Ok(signed_at)
}

/// A presigned signature is good from its date (up to [`MAX_CLOCK_SKEW`] early) until
/// `X-Amz-Expires` after it.
fn check_presigned_window(
    signed_at: SystemTime,
    amz_date: &str,
    expires: Duration,
    wall_now: SystemTime,
) -> Result<(), AuthFailure> {
    let until = signed_at.checked_add(expires).unwrap_or(signed_at);
    if wall_now > until {
        return Err(AuthFailure::Expired(format!(
            "Signature expired: {amz_date} + {} s is now earlier than {}",
            expires.as_secs(),
            format_amz_date(wall_now)
        )));
    }
    if let Ok(ahead) = signed_at.duration_since(wall_now)
        && ahead > MAX_CLOCK_SKEW
    {
        let latest = wall_now.checked_add(MAX_CLOCK_SKEW).unwrap_or(wall_now);
        return Err(AuthFailure::Expired(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + {} min.)",
            format_amz_date(latest),
            format_amz_date(wall_now),
            MAX_CLOCK_SKEW.as_secs() / 60
        )));
    }
    Ok(())
}

/// One `name=value` of a query, percent-decoded.
fn decode_query_pair(pair: &str) -> Option<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(pair).ok()?.into_iter().next()
}

/// `uri` without the presigned signature's own parameters (the signer adds them again), the
/// others kept as sent.
fn without_presign_parameters(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_string();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name);
            !pair.is_empty() && !PRESIGN_AUTH_PARAMETERS.contains(&name)
        })
        .collect();
    if kept.is_empty() { path.to_string() } else { format!("{path}?{}", kept.join("&")) }
}

/// The scope's region must be one [`crate::catalog`] knows: every other string would create a
/// new, empty region in the state, forever.
fn require_known_region(region: &str) -> Result<(), AuthFailure> {
    match crate::catalog::region(region) {
        Some(_) => Ok(()),
        None => Err(AuthFailure::UnknownRegion(region.to_string())),
    }
}

/// `host` and `x-amz-date` must be signed (AWS: "'Host' or ':authority' must be a 'SignedHeader'
/// in the AWS Authorization.").
fn require_signed(signed_headers: &[&str]) -> Result<(), AuthFailure> {
    for (name, label) in [("host", "'Host' or ':authority'"), ("x-amz-date", "'X-Amz-Date'")] {
        if !signed_headers.contains(&name) {
            return Err(AuthFailure::Malformed(format!("{label} must be a 'SignedHeader' in the AWS Authorization.")));
        }
    }
    Ok(())
}

/// The values of the signed headers; a signed header that is absent cannot match.
fn signed_header_values(names: &[&str], headers: &HeaderMap) -> Result<Vec<(String, String)>, AuthFailure> {
    let mut signed = Vec::new();
    for name in names {
        let mut any = false;
        for value in headers.get_all(*name) {
            let value = value.to_str().map_err(|_| AuthFailure::Malformed(format!("header {name} is not ASCII")))?;
            signed.push((name.to_string(), value.to_string()));
            any = true;
        }
        if !any {
            return Err(AuthFailure::SignatureMismatch);
        }
    }
    Ok(signed)
}

impl PendingSignature {
    /// The body hash the client signed (`x-amz-content-sha256`, signed and 64 hex digits): the
    /// signature can then be checked against it before the body is read
    /// ([`Self::verify_over_hash`]), and the body against it afterwards ([`check_body_hash`]).
    pub fn signed_body_hash(&self) -> Option<&str> {
        self.claimed_hash.as_deref().filter(|claim| self.claim_signed && is_sha256_hex(claim))
    }

    /// Hashes `body`, compares it with `X-Amz-Content-SHA256` when one was sent, re-signs the
    /// request over the body's hash and compares signatures.
    pub fn verify(self, method: &str, uri: &str, body: &[u8]) -> Result<Caller, AuthFailure> {
        let computed = sha256_hex(body);
        if let Some(claimed) = &self.claimed_hash {
            check_body_hash(claimed, body)?;
        }
        self.verify_over_hash(method, uri, &computed)
    }

    /// Re-signs the request as if its body hashed to `payload_hash` and compares signatures; the
    /// body itself is not looked at.
    pub fn verify_over_hash(self, method: &str, uri: &str, payload_hash: &str) -> Result<Caller, AuthFailure> {
        if self.presigned.is_none() {
            return self.verify_signature(method, uri, SignableBody::Precomputed(payload_hash.to_string()));
        }
        // botocore's SigV4QueryAuth signs the body's hash; S3-style presigners sign
        // UNSIGNED-PAYLOAD, which means the same when there is no body.
        let uri = without_presign_parameters(uri);
        match self.verify_signature(method, &uri, SignableBody::Precomputed(payload_hash.to_string())) {
            Err(AuthFailure::SignatureMismatch) if payload_hash == EMPTY_SHA256 => {
                self.verify_signature(method, &uri, SignableBody::UnsignedPayload)
            }
            other => other,
        }
    }

    /// Re-signs the request over `body` (its headers, and the query for a presigned one) and
    /// compares signatures.
    fn verify_signature(&self, method: &str, uri: &str, body: SignableBody<'_>) -> Result<Caller, AuthFailure> {
        let headers = self.signed.iter().map(|(name, value)| (name.as_str(), value.as_str()));
        let request = SignableRequest::new(method, uri, headers, body)
            .map_err(|e| AuthFailure::Malformed(format!("cannot canonicalise request: {e}")))?;
        let token = self.presigned.as_ref().and_then(|p| p.session_token.clone());
        let identity: Identity =
            Credentials::new(&self.access_key_id, &self.secret, token, None, "agentcore-local").into();
        let mut settings = SigningSettings::default();
        settings.excluded_headers = None;
        if let Some(presigned) = &self.presigned {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(presigned.expires);
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(self.signed_at)
            .settings(settings)
            .build()
            .map_err(|e| AuthFailure::Malformed(e.to_string()))?;
        let output = sign(request, &params.into())
            .map_err(|e| AuthFailure::Malformed(format!("cannot compute signature: {e}")))?;
        if !constant_time_eq(output.signature().as_bytes(), self.signature.as_bytes()) {
            return Err(AuthFailure::SignatureMismatch);
        }
        Ok(Caller { region: self.region.clone(), access_key_id: Some(self.access_key_id.clone()) })
    }
}

/// Whether `body` hashes to `claimed` (the `X-Amz-Content-SHA256` the client sent).
pub fn check_body_hash(claimed: &str, body: &[u8]) -> Result<(), AuthFailure> {
    let computed = sha256_hex(body);
    if claimed.eq_ignore_ascii_case(&computed) {
        Ok(())
    } else {
        Err(AuthFailure::PayloadHashMismatch { claimed: claimed.to_string(), computed })
    }
}

fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks the request's SigV4 signature: [`check_headers`], then [`PendingSignature::verify`].
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
    match check_headers(auth, default_region, expected_service, uri, headers, wall_now)? {
        HeaderCheck::Accepted(caller) => Ok(caller),
        HeaderCheck::Pending(pending) => pending.verify(method, uri, body),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::PayloadChecksumKind;
    use axum::http::HeaderValue;

    const BODY: &[u8] = b"Action=DescribeVpcs&Version=2016-11-15";

    /// What to sign and how.
    struct Signing<'a> {
        secret: &'a str,
        body: &'a [u8],
        when: SystemTime,
        with_host: bool,
        /// Send (and sign) `x-amz-content-sha256` with the body's hash.
        content_sha256: bool,
    }

    impl Default for Signing<'_> {
        fn default() -> Self {
            Self { secret: "test", body: BODY, when: SystemTime::now(), with_host: true, content_sha256: false }
        }
    }

    fn signed_headers(s: Signing<'_>) -> HeaderMap {
        let identity: Identity = Credentials::new("test", s.secret, None, None, "t").into();
        let mut settings = SigningSettings::default();
        if s.content_sha256 {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        if !s.with_host {
            settings.excluded_headers.get_or_insert_with(Vec::new).push("host".into());
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("ec2")
            .time(s.when)
            .settings(settings)
            .build()
            .unwrap();
        let to_sign = [("content-type", "application/x-www-form-urlencoded"), ("host", "127.0.0.1:4566")];
        let request = SignableRequest::new("POST", "/", to_sign.into_iter(), SignableBody::Bytes(s.body)).unwrap();
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
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn accepts_a_good_signature_and_reads_the_region() {
        for content_sha256 in [false, true] {
            let headers = signed_headers(Signing { content_sha256, ..Signing::default() });
            let caller = check(&headers, BODY, "ec2").unwrap();
            assert_eq!(caller.region, "us-east-1");
            assert_eq!(caller.access_key_id.as_deref(), Some("test"));
        }
    }

    #[test]
    fn rejects_wrong_secret_tampered_body_wrong_service_and_old_dates() {
        let wrong = signed_headers(Signing { secret: "nope", ..Signing::default() });
        assert_eq!(check(&wrong, BODY, "ec2"), Err(AuthFailure::SignatureMismatch));
        let good = signed_headers(Signing::default());
        assert_eq!(check(&good, b"Action=DeleteVpc", "ec2"), Err(AuthFailure::SignatureMismatch));
        assert!(matches!(check(&good, BODY, "bedrock-agentcore"), Err(AuthFailure::WrongService { .. })));
        let old = signed_headers(Signing { when: SystemTime::now() - Duration::from_secs(3600), ..Signing::default() });
        assert!(matches!(check(&old, BODY, "ec2"), Err(AuthFailure::Expired(_))));
        assert_eq!(check(&HeaderMap::new(), BODY, "ec2"), Err(AuthFailure::Missing));
    }

    #[test]
    fn the_signature_covers_the_body_received_not_the_hash_claimed() {
        let headers = signed_headers(Signing { content_sha256: true, ..Signing::default() });
        let forged = b"Action=CreateVpc&CidrBlock=10.0.0.0/16&Version=2016-11-15";
        let refused = check(&headers, forged, "ec2").unwrap_err();
        assert_eq!(
            refused,
            AuthFailure::PayloadHashMismatch { claimed: sha256_hex(BODY), computed: sha256_hex(forged) }
        );
        assert_eq!(refused.json_error().code, "InvalidSignatureException");
        assert_eq!(refused.ec2_error().code, "AuthFailure");
    }

    #[test]
    fn a_signed_body_hash_is_checked_before_the_body() {
        let pending = |headers: &HeaderMap| match check_headers(
            &Auth::default(),
            "us-east-1",
            "ec2",
            "/",
            headers,
            SystemTime::now(),
        ) {
            Ok(HeaderCheck::Pending(pending)) => pending,
            other => panic!("{other:?}"),
        };
        assert_eq!(pending(&signed_headers(Signing::default())).signed_body_hash(), None, "nothing signed");
        let good = signed_headers(Signing { content_sha256: true, ..Signing::default() });
        let claim = pending(&good).signed_body_hash().map(str::to_string);
        assert_eq!(claim.as_deref(), Some(sha256_hex(BODY).as_str()));
        pending(&good).verify_over_hash("POST", "/", &sha256_hex(BODY)).unwrap();
        let wrong = signed_headers(Signing { content_sha256: true, secret: "nope", ..Signing::default() });
        assert_eq!(
            pending(&wrong).verify_over_hash("POST", "/", &sha256_hex(BODY)),
            Err(AuthFailure::SignatureMismatch)
        );
        assert!(check_body_hash(&sha256_hex(BODY), BODY).is_ok());
        assert!(matches!(check_body_hash(&sha256_hex(BODY), b"other"), Err(AuthFailure::PayloadHashMismatch { .. })));
    }

    #[test]
    fn unsigned_and_streaming_payloads_are_refused() {
        for value in ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"] {
            let mut headers = signed_headers(Signing::default());
            headers.insert("x-amz-content-sha256", HeaderValue::from_static(value));
            assert_eq!(check(&headers, BODY, "ec2"), Err(AuthFailure::UnsignedPayload(value.into())));
        }
    }

    #[test]
    fn host_must_be_signed() {
        let headers = signed_headers(Signing { with_host: false, ..Signing::default() });
        let Err(AuthFailure::Malformed(message)) = check(&headers, BODY, "ec2") else { panic!("accepted") };
        assert!(message.contains("'Host'"), "{message}");
    }

    #[test]
    fn six_minutes_of_skew_either_way_is_refused_four_are_not() {
        let now = SystemTime::now();
        let minutes = |m: u64| Duration::from_secs(m * 60);
        for when in [now - minutes(6), now + minutes(6)] {
            let headers = signed_headers(Signing { when, ..Signing::default() });
            let Err(AuthFailure::Expired(message)) = check(&headers, BODY, "ec2") else { panic!("accepted") };
            assert!(message.contains("5 min."), "{message}");
            assert!(
                message.starts_with("Signature expired: ") || message.starts_with("Signature not yet current: "),
                "{message}"
            );
        }
        for when in [now - minutes(4), now + minutes(4)] {
            check(&signed_headers(Signing { when, ..Signing::default() }), BODY, "ec2").unwrap();
        }
    }

    /// `uri` presigned by `aws-sigv4` (the SDK's signer) for host `localhost`, valid `expires`
    /// from `when`, over `body`.
    fn presign(uri: &str, when: SystemTime, expires: Duration, body: SignableBody<'_>) -> String {
        let identity: Identity = Credentials::new("test", "test", None, None, "t").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("bedrock-agentcore")
            .time(when)
            .settings(settings)
            .build()
            .unwrap();
        let request = SignableRequest::new("GET", uri, [("host", "localhost")].into_iter(), body).unwrap();
        let (instructions, _) = sign(request, &params.into()).unwrap().into_parts();
        let mut uri = uri.to_string();
        for (name, value) in instructions.params() {
            uri.push(if uri.contains('?') { '&' } else { '?' });
            uri.push_str(&serde_urlencoded::to_string([(name, value.as_ref())]).unwrap());
        }
        uri
    }

    fn check_presigned_uri(uri: &str, body: &[u8], now: SystemTime) -> Result<Caller, AuthFailure> {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("localhost"));
        authenticate(&Auth::default(), "us-east-1", "bedrock-agentcore", "GET", uri, &headers, body, now)
    }

    #[test]
    fn presigned_queries_are_verified_like_headers() {
        let path = "/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2Fr-1/ws";
        let query =
            "?qualifier=DEFAULT&X-Amzn-Bedrock-AgentCore-Runtime-Session-Id=s-123456789012345678901234567890123";
        let now = SystemTime::now();
        let five_minutes = Duration::from_secs(300);
        let good = presign(&format!("{path}{query}"), now, five_minutes, SignableBody::Bytes(b""));
        assert_eq!(check_presigned_uri(&good, b"", now).unwrap().region, "us-east-1");
        let unsigned_payload = presign(&format!("{path}{query}"), now, five_minutes, SignableBody::UnsignedPayload);
        check_presigned_uri(&unsigned_payload, b"", now).expect("UNSIGNED-PAYLOAD over an empty body");
        assert_eq!(
            check_presigned_uri(&unsigned_payload, b"a body", now),
            Err(AuthFailure::SignatureMismatch),
            "UNSIGNED-PAYLOAD never covers a body"
        );
        // Any change to what was signed: the path, a parameter, the expiry.
        for tampered in [
            good.replace("r-1", "r-2"),
            good.replace("qualifier=DEFAULT", "qualifier=prod"),
            good.replace("X-Amz-Expires=300", "X-Amz-Expires=301"),
            format!("{good}&extra=1"),
        ] {
            assert_eq!(check_presigned_uri(&tampered, b"", now), Err(AuthFailure::SignatureMismatch), "{tampered}");
        }
        // Expired, not yet current, too long, malformed.
        let later = now + Duration::from_secs(301);
        assert!(
            matches!(check_presigned_uri(&good, b"", later), Err(AuthFailure::Expired(m)) if m.starts_with("Signature expired"))
        );
        let early = now - Duration::from_secs(6 * 60);
        assert!(
            matches!(check_presigned_uri(&good, b"", early), Err(AuthFailure::Expired(m)) if m.contains("not yet current"))
        );
        let week_and_a_second =
            presign(path, now, MAX_PRESIGNED_EXPIRES + Duration::from_secs(1), SignableBody::Bytes(b""));
        assert!(
            matches!(check_presigned_uri(&week_and_a_second, b"", now), Err(AuthFailure::Malformed(m)) if m.contains("X-Amz-Expires"))
        );
        for broken in [
            good.replace("&X-Amz-SignedHeaders=host", ""),
            good.replace("X-Amz-Signature=", "x-amz-signature="),
            format!("{good}&X-Amz-Date=20250101T000000Z"),
            good.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
        ] {
            assert!(matches!(check_presigned_uri(&broken, b"", now), Err(AuthFailure::Malformed(_))), "{broken}");
        }
        let other_key = good.replace("X-Amz-Credential=test%2F", "X-Amz-Credential=other%2F");
        assert_eq!(check_presigned_uri(&other_key, b"", now), Err(AuthFailure::UnknownAccessKey));
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
        let repeated = "AWS4-HMAC-SHA256 Credential=AK/20251018/r/ec2/aws4_request, SignedHeaders=host, \
                        Signature=a, Signature=b";
        assert!(matches!(parse_authorization(repeated), Err(AuthFailure::Malformed(_))));
    }
}
