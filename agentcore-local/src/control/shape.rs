//! The request shapes of the control plane's runtime operations, as the service model (botocore
//! `bedrock-agentcore-control` 1.44.8) has them, and one walker that checks a JSON body against them
//! (the data plane's InvokeAgentRuntimeCommand body goes through it too, `crate::data::command`).
//!
//! A [`Shape`] says what a member is (string, integer, boolean, list, map, structure or union) and
//! which constraints the model puts on it: required members, lengths, value ranges, enums and
//! patterns. The patterns are matched by small hand-written functions ([`Pattern`]), each the exact
//! language of the model's regular expression (matched against the whole value, as Coral does).
//! [`check`] walks a value against its shape, records every failure in AWS's words, and returns
//! the value with what the model does not know left out: unknown keys and `null`s are ignored, so
//! they are never stored nor echoed.

use serde_json::{Map, Value};

/// Field failures collected over one request: (member path, value as shown, constraint).
#[derive(Default)]
pub struct Failures(pub(super) Vec<(String, Option<String>, String)>);

impl Failures {
    /// Records that the member at `field` (holding `value`, `None` when absent) breaks `constraint`.
    pub(super) fn add(&mut self, field: &str, value: Option<&Value>, constraint: impl Into<String>) {
        let shown = value.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        self.0.push((field.to_string(), shown, constraint.into()));
    }

    /// `Ok` without failures; otherwise one `ValidationException` listing each distinct failure once.
    pub fn into_result(self) -> Result<(), crate::error::AwsError> {
        let mut distinct: Vec<(String, Option<String>, String)> = Vec::new();
        for failure in self.0 {
            if !distinct.contains(&failure) {
                distinct.push(failure);
            }
        }
        if distinct.is_empty() { Ok(()) } else { Err(crate::error::AwsError::field_validation(distinct)) }
    }
}

/// The constraint text of a pattern failure.
pub(super) fn pattern_constraint(pattern: &str) -> String {
    format!("Member must satisfy regular expression pattern: {pattern}")
}

/// A model pattern: its text (as AWS quotes it) and a matcher for exactly its language.
pub struct Pattern {
    /// The regular expression as the model writes it.
    pub text: &'static str,
    /// Whether a whole value matches it.
    pub matches: fn(&str) -> bool,
}

/// What a member is, with the model's constraints on it.
pub enum Shape {
    /// A string: length in characters between `min` and `max`, one of `values` when that is not
    /// empty, and matching `pattern` when there is one.
    String { min: usize, max: Option<usize>, values: &'static [&'static str], pattern: Option<&'static Pattern> },
    /// An integer between `min` and `max`, inclusive.
    Integer { min: Option<i64>, max: Option<i64> },
    /// A boolean.
    Boolean,
    /// A list of `member`s, between `min` and `max` of them.
    List { member: &'static Shape, min: usize, max: Option<usize> },
    /// A map from `key` strings to `value`s, between `min` and `max` entries.
    Map { key: &'static Shape, value: &'static Shape, min: usize, max: Option<usize> },
    /// A structure: its members, and which of them are required.
    Structure { members: &'static [(&'static str, &'static Shape)], required: &'static [&'static str] },
    /// A union: exactly one of its members is set.
    Union { members: &'static [(&'static str, &'static Shape)] },
    /// Checked by hand where it is used (kept as sent here).
    ByHand,
}

const fn text(min: usize, max: usize) -> Shape {
    Shape::String { min, max: Some(max), values: &[], pattern: None }
}

const fn patterned(min: usize, max: Option<usize>, pattern: &'static Pattern) -> Shape {
    Shape::String { min, max, values: &[], pattern: Some(pattern) }
}

const fn one_of(values: &'static [&'static str]) -> Shape {
    Shape::String { min: 0, max: None, values, pattern: None }
}

const fn integer(min: i64, max: i64) -> Shape {
    Shape::Integer { min: Some(min), max: Some(max) }
}

/// The member path of `name` under `path` (`a.b`).
fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }
}

/// A string length constraint in AWS's words.
fn string_length(min: usize, max: Option<usize>) -> String {
    match max {
        Some(max) if min > 0 => format!("Member must have length between {min} and {max}, inclusive"),
        Some(max) => format!("Member must have length less than or equal to {max}"),
        None => format!("Member must have length greater than or equal to {min}"),
    }
}

/// A list or map size constraint in AWS's words.
fn collection_length(min: usize, max: Option<usize>) -> String {
    match max {
        Some(max) if min > 0 => {
            format!("Member must have length less than or equal to {max} and greater than or equal to {min}")
        }
        Some(max) => format!("Member must have length less than or equal to {max}"),
        None => format!("Member must have length greater than or equal to {min}"),
    }
}

/// Checks `value` against `shape` at member path `path`, adding each failure to `f`; returns the
/// value with unknown members and `null`s left out.
pub fn check(shape: &Shape, value: &Value, path: &str, f: &mut Failures) -> Value {
    match shape {
        Shape::String { min, max, values, pattern } => {
            let Some(s) = value.as_str() else {
                f.add(path, Some(value), "Member must be a string");
                return value.clone();
            };
            let length = s.chars().count();
            if length < *min || max.is_some_and(|max| length > max) {
                f.add(path, Some(value), string_length(*min, *max));
            } else if !values.is_empty() && !values.contains(&s) {
                f.add(path, Some(value), format!("Member must satisfy enum value set: [{}]", values.join(", ")));
            } else if let Some(p) = pattern
                && !(p.matches)(s)
            {
                f.add(path, Some(value), pattern_constraint(p.text));
            }
            value.clone()
        }
        Shape::Integer { min, max } => {
            match value.as_i64() {
                None => f.add(path, Some(value), "Member must be an integer"),
                Some(n) if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) => {
                    let constraint = match (min, max) {
                        (Some(min), Some(max)) => format!("Member must have value between {min} and {max}"),
                        (Some(min), None) => format!("Member must have value greater than or equal to {min}"),
                        (None, Some(max)) => format!("Member must have value less than or equal to {max}"),
                        (None, None) => unreachable!("an unbounded integer is never out of range"),
                    };
                    f.add(path, Some(value), constraint);
                }
                Some(_) => {}
            }
            value.clone()
        }
        Shape::Boolean => {
            if !value.is_boolean() {
                f.add(path, Some(value), "Member must be a boolean");
            }
            value.clone()
        }
        Shape::List { member, min, max } => {
            let Some(items) = value.as_array() else {
                f.add(path, Some(value), "Member must be a list");
                return value.clone();
            };
            if items.len() < *min || max.is_some_and(|max| items.len() > max) {
                f.add(path, Some(value), collection_length(*min, *max));
            }
            let member_path = join(path, "member");
            let kept = items.iter().filter(|item| !item.is_null()).map(|item| check(member, item, &member_path, f));
            Value::Array(kept.collect())
        }
        Shape::Map { key, value: value_shape, min, max } => {
            let Some(entries) = value.as_object() else {
                f.add(path, Some(value), "Member must be a map");
                return value.clone();
            };
            if entries.len() < *min || max.is_some_and(|max| entries.len() > max) {
                f.add(path, Some(value), collection_length(*min, *max));
            }
            let key_path = join(path, "key");
            let mut kept = Map::new();
            for (k, v) in entries {
                check(key, &Value::String(k.clone()), &key_path, f);
                if v.is_null() {
                    f.add(&join(path, k), None, "Member must not be null");
                } else {
                    kept.insert(k.clone(), check(value_shape, v, &join(path, k), f));
                }
            }
            Value::Object(kept)
        }
        Shape::Structure { members, required } => {
            let Some(object) = value.as_object() else {
                f.add(path, Some(value), "Member must be a structure");
                return value.clone();
            };
            for name in *required {
                if object.get(*name).is_none_or(Value::is_null) {
                    f.add(&join(path, name), None, "Member must not be null");
                }
            }
            Value::Object(known_members(members, object, path, f))
        }
        Shape::Union { members } => {
            let Some(object) = value.as_object() else {
                f.add(path, Some(value), "Member must be a structure");
                return value.clone();
            };
            let kept = known_members(members, object, path, f);
            if kept.len() != 1 {
                let names: Vec<&str> = members.iter().map(|(name, _)| *name).collect();
                f.add(path, Some(value), format!("Member must set exactly one of: {}", names.join(", ")));
            }
            Value::Object(kept)
        }
        Shape::ByHand => value.clone(),
    }
}

/// The members of `object` that `members` knows, checked; unknown keys and `null`s left out.
fn known_members(
    members: &[(&'static str, &'static Shape)],
    object: &Map<String, Value>,
    path: &str,
    f: &mut Failures,
) -> Map<String, Value> {
    let mut kept = Map::new();
    for (name, shape) in members {
        if let Some(v) = object.get(*name).filter(|v| !v.is_null()) {
            kept.insert((*name).to_string(), check(shape, v, &join(path, name), f));
        }
    }
    kept
}

// ---------------------------------------------------------------------------------------------
// Pattern matchers. `\s` is Java's: ASCII space, \t, \n, \x0B, \f, \r; `.` is any character but a
// line terminator.

fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn all(s: &str, allowed: impl Fn(char) -> bool) -> bool {
    s.chars().all(allowed)
}

fn digits(s: &str, count: std::ops::RangeInclusive<usize>) -> bool {
    count.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn lower_hex(s: &str, count: std::ops::RangeInclusive<usize>) -> bool {
    count.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn lower_alnum(s: &str, count: std::ops::RangeInclusive<usize>) -> bool {
    count.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// `[a-zA-Z][a-zA-Z0-9_]{0,47}` (runtime and endpoint names).
pub(super) fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.len() <= 48
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}`.
pub(super) fn is_client_token(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && s.chars().filter(char::is_ascii_alphanumeric).count() <= 257
}

/// `arn:aws(-[^:]+)?:` followed by `rest`: the rest after the partition, if `s` starts that way.
fn after_partition(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("arn:aws")?;
    match rest.strip_prefix('-') {
        Some(partition) => {
            let (p, rest) = partition.split_once(':')?;
            (!p.is_empty()).then_some(rest)
        }
        None => rest.strip_prefix(':'),
    }
}

/// `arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+`.
pub(super) fn is_role_arn(s: &str) -> bool {
    let Some(rest) = after_partition(s).and_then(|r| r.strip_prefix("iam::")) else {
        return false;
    };
    let Some((account, role)) = rest.split_once(':') else {
        return false;
    };
    (account.is_empty() || digits(account, 12..=12))
        && role.strip_prefix("role/").is_some_and(|r| !r.is_empty() && !r.chars().any(is_line_terminator))
}

/// One repository path component: `[a-z0-9]+(?:[._-][a-z0-9]+)*`.
fn is_repository_component(s: &str) -> bool {
    let mut previous_separator = true;
    for c in s.chars() {
        let separator = matches!(c, '.' | '_' | '-');
        if !(separator || c.is_ascii_lowercase() || c.is_ascii_digit()) || (separator && previous_separator) {
            return false;
        }
        previous_separator = separator;
    }
    !previous_separator
}

/// [`CONTAINER_URI`]: an ECR (or ECR Public) registry, a lowercase repository path, an optional
/// `:tag` (1–300 characters, no `:` or `@`) and an optional `@digest`.
pub(super) fn is_container_uri(s: &str) -> bool {
    let Some((host, rest)) = s.split_once('/') else {
        return false;
    };
    let host_ok = host == "public.ecr.aws" || {
        let parts: Vec<&str> = host.split('.').collect();
        match parts.as_slice() {
            [account, "dkr", "ecr", region, "amazonaws", "com"]
            | [account, "dkr", "ecr", region, "amazonaws", "com", "cn"] => {
                digits(account, 12..=12)
                    && !region.is_empty()
                    && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            }
            _ => false,
        }
    };
    if !host_ok {
        return false;
    }
    let (before_digest, digest) = match rest.split_once('@') {
        Some((before, digest)) => (before, Some(digest)),
        None => (rest, None),
    };
    let (repository, tag) = match before_digest.split_once(':') {
        Some((repository, tag)) => (repository, Some(tag)),
        None => (before_digest, None),
    };
    repository.split('/').all(is_repository_component)
        && tag.is_none_or(|t| (1..=300).contains(&t.chars().count()) && !t.contains(':'))
        && digest.is_none_or(|d| !d.is_empty() && !d.chars().any(is_line_terminator))
}

/// `<prefix>[0-9a-zA-Z]{8,17}` (security group and subnet ids).
pub(super) fn is_resource_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| (8..=17).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `[a-zA-Z0-9\s._:/=+@-]*` (tag keys and values): ASCII only.
pub(super) fn is_tag_text(s: &str) -> bool {
    all(s, |c| c.is_ascii_alphanumeric() || is_java_space(c) || "._:/=+@-".contains(c))
}

fn is_s3_bucket(s: &str) -> bool {
    let edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&s.len())
        && s.starts_with(edge)
        && s.ends_with(edge)
        && all(s, |c| edge(c) || c == '.' || c == '-')
}

fn is_discovery_url(s: &str) -> bool {
    const MARKER: &str = "/.well-known/";
    if s.chars().any(|c| is_java_space(c) || c == '?' || c == '#') {
        return false;
    }
    s.match_indices(MARKER).any(|(at, _)| {
        let after = &s[at + MARKER.len()..];
        at > 0
            && ["openid-configuration", "oauth-authorization-server"].iter().any(|document| {
                after
                    .strip_prefix(document)
                    .is_some_and(|tail| tail.is_empty() || tail.len() > 1 && tail.starts_with('/'))
            })
    })
}

fn is_scope(s: &str) -> bool {
    !s.is_empty() && all(s, |c| matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))
}

/// `[A-Za-z0-9_.-:]+`: `.-:` is the range from `.` to `:` (`.`, `/`, digits, `:`).
fn is_claim_name(s: &str) -> bool {
    !s.is_empty() && all(s, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'..=':'))
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && all(s, |c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn is_resource_configuration_identifier(s: &str) -> bool {
    let is_rcfg = |id: &str| id.strip_prefix("rcfg-").is_some_and(|rest| lower_alnum(rest, 17..=17));
    if is_rcfg(s) {
        return true;
    }
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "vpc-lattice", region, account, resource] => {
            !partition.is_empty()
                && all(partition, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !region.is_empty()
                && all(region, |c| c.is_ascii_alphanumeric() || c == '-')
                && digits(account, 12..=12)
                && resource.strip_prefix("resourceconfiguration/").is_some_and(is_rcfg)
        }
        _ => false,
    }
}

fn is_vpc_identifier(s: &str) -> bool {
    s.strip_prefix("vpc-").is_some_and(|rest| lower_alnum(rest, 8..=8) || lower_alnum(rest, 17..=17))
}

fn is_security_group_identifier(s: &str) -> bool {
    s.strip_prefix("sg-").is_some_and(|rest| lower_alnum(rest, 8..=8) || lower_alnum(rest, 17..=17))
}

fn is_certificate_s3_uri(s: &str) -> bool {
    s.strip_prefix("s3://")
        .is_some_and(|rest| (1..=2043).contains(&rest.chars().count()) && !rest.chars().any(is_line_terminator))
}

fn is_account_id(s: &str) -> bool {
    digits(s, 12..=12)
}

fn is_secret_arn(s: &str) -> bool {
    let Some(rest) = after_partition(s).and_then(|r| r.strip_prefix("secretsmanager:")) else {
        return false;
    };
    let parts: Vec<&str> = rest.splitn(4, ':').collect();
    match parts.as_slice() {
        [region, account, "secret", name] => {
            !region.is_empty()
                && all(region, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && digits(account, 12..=12)
                && !name.is_empty()
                && !name.chars().any(is_line_terminator)
        }
        _ => false,
    }
}

fn is_header_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.len() <= 256
        && all(s, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_server_path(s: &str) -> bool {
    s.starts_with('/') && all(s, |c| c.is_ascii_alphanumeric() || "-._~/%".contains(c))
}

fn is_hook_path(s: &str) -> bool {
    s.starts_with('/') && all(s, |c| c.is_ascii_alphanumeric() || "._~/-".contains(c))
}

fn is_mount_path(s: &str) -> bool {
    s.strip_prefix("/mnt/").is_some_and(|rest| {
        let name = rest.strip_suffix('/').unwrap_or(rest);
        !name.is_empty() && all(name, |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    })
}

/// `arn:aws[-a-z]*:<service>:[0-9a-z-:]+:<marker>/<tail>`: the tail when `s` is shaped so.
fn access_point_tail<'a>(s: &'a str, service: &str, marker: &str) -> Option<&'a str> {
    let rest = s.strip_prefix("arn:aws")?;
    let (partition, rest) = rest.split_once(':')?;
    if !all(partition, |c| c.is_ascii_lowercase() || c == '-') {
        return None;
    }
    let rest = rest.strip_prefix(service)?.strip_prefix(':')?;
    let (head, tail) = rest.split_once('/')?;
    let middle = head.strip_suffix(marker)?.strip_suffix(':')?;
    let middle_ok =
        !middle.is_empty() && all(middle, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-:".contains(c));
    middle_ok.then_some(tail)
}

fn is_s3_files_access_point_arn(s: &str) -> bool {
    access_point_tail(s, "s3files", "file-system").is_some_and(|tail| {
        tail.split_once("/access-point/").is_some_and(|(fs, fsap)| {
            fs.strip_prefix("fs-").is_some_and(|h| lower_hex(h, 17..=40))
                && fsap.strip_prefix("fsap-").is_some_and(|h| lower_hex(h, 17..=40))
        })
    })
}

fn is_efs_access_point_arn(s: &str) -> bool {
    access_point_tail(s, "elasticfilesystem", "access-point")
        .is_some_and(|tail| tail.strip_prefix("fsap-").is_some_and(|h| lower_hex(h, 8..=40)))
}

fn is_volume_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.len() <= 48
        && all(s, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_s3_mount_prefix(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '{')
        && all(s, |c| c.is_ascii_alphanumeric() || "!_.*'()/{}-".contains(c))
}

/// `([a-z]+-){2,3}\d+`.
fn is_s3_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    (2..=3).contains(&words.len())
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

fn is_capacity_provider_arn(s: &str) -> bool {
    let Some(rest) = after_partition(s).and_then(|r| r.strip_prefix("bedrock-agentcore:")) else {
        return false;
    };
    let parts: Vec<&str> = rest.splitn(3, ':').collect();
    let [region, account, resource] = parts.as_slice() else {
        return false;
    };
    let id_ok =
        resource.strip_prefix("capacity-provider/").and_then(|id| id.rsplit_once('-')).is_some_and(|(name, suffix)| {
            is_name(name) && suffix.len() == 10 && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
        });
    !region.is_empty()
        && all(region, |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && digits(account, 12..=12)
        && id_ok
}

fn is_platform_version(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(is_java_space)
}

// ---------------------------------------------------------------------------------------------
// Patterns.

pub static NAME: Pattern = Pattern { text: "[a-zA-Z][a-zA-Z0-9_]{0,47}", matches: is_name };
pub static ROLE_ARN: Pattern = Pattern { text: "arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+", matches: is_role_arn };
pub static CLIENT_TOKEN: Pattern = Pattern { text: "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,256}", matches: is_client_token };
pub static CONTAINER_URI: Pattern = Pattern {
    text: "(([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(\\.cn)?|public\\.ecr\\.aws)/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(?::([^:@]{1,300}))?(?:@(.+))?",
    matches: is_container_uri,
};
pub static SECURITY_GROUP: Pattern = Pattern { text: "sg-[0-9a-zA-Z]{8,17}", matches: |s| is_resource_id(s, "sg-") };
pub static SUBNET: Pattern = Pattern { text: "subnet-[0-9a-zA-Z]{8,17}", matches: |s| is_resource_id(s, "subnet-") };
pub static TAG_TEXT: Pattern = Pattern { text: "[a-zA-Z0-9\\s._:/=+@-]*", matches: is_tag_text };
static S3_BUCKET: Pattern = Pattern { text: "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", matches: is_s3_bucket };
static DISCOVERY_URL: Pattern = Pattern {
    text: "[^\\s?#]+/\\.well-known/(openid-configuration|oauth-authorization-server)(/[^\\s?#]+)?",
    matches: is_discovery_url,
};
static SCOPE: Pattern = Pattern { text: "[\\x21\\x23-\\x5B\\x5D-\\x7E]+", matches: is_scope };
static CLAIM_NAME: Pattern = Pattern { text: "[A-Za-z0-9_.-:]+", matches: is_claim_name };
static MATCH_VALUE: Pattern = Pattern { text: "[A-Za-z0-9_.-]+", matches: is_word };
static RESOURCE_CONFIGURATION_IDENTIFIER: Pattern = Pattern {
    text: "((rcfg-[0-9a-z]{17})|(arn:[a-z0-9\\-]+:vpc-lattice:[a-zA-Z0-9\\-]+:\\d{12}:resourceconfiguration/rcfg-[0-9a-z]{17}))",
    matches: is_resource_configuration_identifier,
};
static VPC_IDENTIFIER: Pattern = Pattern { text: "vpc-(([0-9a-z]{8})|([0-9a-z]{17}))", matches: is_vpc_identifier };
static SECURITY_GROUP_IDENTIFIER: Pattern =
    Pattern { text: "sg-(([0-9a-z]{8})|([0-9a-z]{17}))", matches: is_security_group_identifier };
static CERTIFICATE_S3_URI: Pattern = Pattern { text: "s3://.{1,2043}", matches: is_certificate_s3_uri };
static ACCOUNT_ID: Pattern = Pattern { text: "[0-9]{12}", matches: is_account_id };
static SECRET_ARN: Pattern =
    Pattern { text: "arn:aws(-[^:]+)?:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+", matches: is_secret_arn };
static WORKLOAD_IDENTITY_NAME: Pattern = Pattern { text: "[A-Za-z0-9_.-]+", matches: is_word };
static HEADER_NAME: Pattern = Pattern { text: "[A-Za-z][A-Za-z0-9_-]{0,255}", matches: is_header_name };
static SERVER_PATH: Pattern = Pattern { text: "/[A-Za-z0-9\\-._~/%]*", matches: is_server_path };
static HOOK_PATH: Pattern = Pattern { text: "/[A-Za-z0-9._~/-]*", matches: is_hook_path };
static MOUNT_PATH: Pattern = Pattern { text: "/mnt/[a-zA-Z0-9._-]+/?", matches: is_mount_path };
static S3_FILES_ACCESS_POINT_ARN: Pattern = Pattern {
    text: "arn:aws[-a-z]*:s3files:[0-9a-z-:]+:file-system/fs-[0-9a-f]{17,40}/access-point/fsap-[0-9a-f]{17,40}",
    matches: is_s3_files_access_point_arn,
};
static EFS_ACCESS_POINT_ARN: Pattern = Pattern {
    text: "arn:aws[-a-z]*:elasticfilesystem:[0-9a-z-:]+:access-point/fsap-[0-9a-f]{8,40}",
    matches: is_efs_access_point_arn,
};
static VOLUME_NAME: Pattern = Pattern { text: "[a-zA-Z][a-zA-Z0-9_-]{0,47}", matches: is_volume_name };
static S3_MOUNT_PREFIX: Pattern = Pattern { text: "[a-zA-Z0-9{][a-zA-Z0-9!_.*'()/{}-]*", matches: is_s3_mount_prefix };
static S3_REGION: Pattern = Pattern { text: "([a-z]+-){2,3}\\d+", matches: is_s3_region };
static CAPACITY_PROVIDER_ARN: Pattern = Pattern {
    text: "arn:aws(-[^:]+)?:bedrock-agentcore:[a-z0-9-]+:[0-9]{12}:capacity-provider/[a-zA-Z][a-zA-Z0-9_]{0,47}-[a-zA-Z0-9]{10}",
    matches: is_capacity_provider_arn,
};
static PLATFORM_VERSION: Pattern = Pattern { text: "[^\\s]+", matches: is_platform_version };

// ---------------------------------------------------------------------------------------------
// Shapes (names as in the model).

static ANY_STRING: Shape = Shape::String { min: 0, max: None, values: &[], pattern: None };
static BOOLEAN: Shape = Shape::Boolean;
static UNBOUNDED_INTEGER: Shape = Shape::Integer { min: None, max: None };
static PORT: Shape = integer(8000, 12_000);

pub static AGENT_RUNTIME_NAME: Shape = patterned(0, None, &NAME);
pub static CLIENT_TOKEN_SHAPE: Shape = patterned(33, Some(256), &CLIENT_TOKEN);
static ROLE_ARN_SHAPE: Shape = patterned(1, Some(2048), &ROLE_ARN);
static DESCRIPTION: Shape = text(1, 4096);

static TAG_KEY: Shape = patterned(1, Some(128), &TAG_TEXT);
static TAG_VALUE: Shape = patterned(0, Some(256), &TAG_TEXT);
/// `TagsMap`: at most 50 tags, keys 1–128 and values 0–256 characters of [`TAG_TEXT`].
pub static TAGS_MAP: Shape = Shape::Map { key: &TAG_KEY, value: &TAG_VALUE, min: 0, max: Some(50) };

static CONTAINER_URI_SHAPE: Shape = patterned(1, Some(1024), &CONTAINER_URI);
static CONTAINER_CONFIGURATION: Shape =
    Shape::Structure { members: &[("containerUri", &CONTAINER_URI_SHAPE)], required: &["containerUri"] };
static S3_BUCKET_SHAPE: Shape = patterned(0, None, &S3_BUCKET);
static S3_PREFIX: Shape = text(1, 1024);
static S3_VERSION_ID: Shape = text(3, 1024);
static S3_LOCATION: Shape = Shape::Structure {
    members: &[("bucket", &S3_BUCKET_SHAPE), ("prefix", &S3_PREFIX), ("versionId", &S3_VERSION_ID)],
    required: &["bucket", "prefix"],
};
static CODE: Shape = Shape::Union { members: &[("s3", &S3_LOCATION)] };
static MANAGED_RUNTIME: Shape =
    one_of(&["PYTHON_3_10", "PYTHON_3_11", "PYTHON_3_12", "PYTHON_3_13", "PYTHON_3_14", "NODE_22"]);
static ENTRY_POINT: Shape = text(1, 128);
static ENTRY_POINTS: Shape = Shape::List { member: &ENTRY_POINT, min: 1, max: Some(2) };
static CODE_CONFIGURATION: Shape = Shape::Structure {
    members: &[("code", &CODE), ("runtime", &MANAGED_RUNTIME), ("entryPoint", &ENTRY_POINTS)],
    required: &["code", "runtime", "entryPoint"],
};
/// `AgentRuntimeArtifact`: a container image or managed code.
static AGENT_RUNTIME_ARTIFACT: Shape = Shape::Union {
    members: &[("containerConfiguration", &CONTAINER_CONFIGURATION), ("codeConfiguration", &CODE_CONFIGURATION)],
};

static SECURITY_GROUP_ID: Shape = patterned(0, None, &SECURITY_GROUP);
static SUBNET_ID: Shape = patterned(0, None, &SUBNET);
static SECURITY_GROUPS: Shape = Shape::List { member: &SECURITY_GROUP_ID, min: 1, max: Some(16) };
static SUBNETS: Shape = Shape::List { member: &SUBNET_ID, min: 1, max: Some(16) };
static VPC_CONFIG: Shape = Shape::Structure {
    members: &[("securityGroups", &SECURITY_GROUPS), ("subnets", &SUBNETS), ("requireServiceS3Endpoint", &BOOLEAN)],
    required: &["securityGroups", "subnets"],
};
static NETWORK_MODE: Shape = one_of(&["PUBLIC", "VPC"]);
static NETWORK_CONFIGURATION: Shape = Shape::Structure {
    members: &[("networkMode", &NETWORK_MODE), ("networkModeConfig", &VPC_CONFIG)],
    required: &["networkMode"],
};

static SCOPE_SHAPE: Shape = patterned(1, Some(255), &SCOPE);
static AUDIENCES: Shape = Shape::List { member: &ANY_STRING, min: 1, max: None };
static SCOPES: Shape = Shape::List { member: &SCOPE_SHAPE, min: 1, max: None };
static SCOPE_MAPPING: Shape = Shape::Map { key: &SCOPE_SHAPE, value: &SCOPE_SHAPE, min: 1, max: Some(50) };
static CLAIM_NAME_SHAPE: Shape = patterned(1, Some(255), &CLAIM_NAME);
static CLAIM_VALUE_TYPE: Shape = one_of(&["STRING", "STRING_ARRAY"]);
static MATCH_VALUE_STRING: Shape = patterned(1, Some(255), &MATCH_VALUE);
static MATCH_VALUE_LIST: Shape = Shape::List { member: &MATCH_VALUE_STRING, min: 1, max: None };
static CLAIM_MATCH_VALUE: Shape =
    Shape::Union { members: &[("matchValueString", &MATCH_VALUE_STRING), ("matchValueStringList", &MATCH_VALUE_LIST)] };
static CLAIM_MATCH_OPERATOR: Shape = one_of(&["EQUALS", "CONTAINS", "CONTAINS_ANY"]);
static AUTHORIZING_CLAIM_MATCH_VALUE: Shape = Shape::Structure {
    members: &[("claimMatchValue", &CLAIM_MATCH_VALUE), ("claimMatchOperator", &CLAIM_MATCH_OPERATOR)],
    required: &["claimMatchValue", "claimMatchOperator"],
};
static CUSTOM_CLAIM: Shape = Shape::Structure {
    members: &[
        ("inboundTokenClaimName", &CLAIM_NAME_SHAPE),
        ("inboundTokenClaimValueType", &CLAIM_VALUE_TYPE),
        ("authorizingClaimMatchValue", &AUTHORIZING_CLAIM_MATCH_VALUE),
    ],
    required: &["inboundTokenClaimName", "inboundTokenClaimValueType", "authorizingClaimMatchValue"],
};
static CUSTOM_CLAIMS: Shape = Shape::List { member: &CUSTOM_CLAIM, min: 1, max: None };
static RESOURCE_CONFIGURATION_IDENTIFIER_SHAPE: Shape = patterned(20, Some(2048), &RESOURCE_CONFIGURATION_IDENTIFIER);
static SELF_MANAGED_LATTICE_RESOURCE: Shape =
    Shape::Union { members: &[("resourceConfigurationIdentifier", &RESOURCE_CONFIGURATION_IDENTIFIER_SHAPE)] };
static VPC_IDENTIFIER_SHAPE: Shape = patterned(0, None, &VPC_IDENTIFIER);
static SUBNET_IDS: Shape = Shape::List { member: &SUBNET_ID, min: 0, max: None };
static ENDPOINT_IP_ADDRESS_TYPE: Shape = one_of(&["IPV4", "IPV6"]);
static SECURITY_GROUP_IDENTIFIER_SHAPE: Shape = patterned(0, None, &SECURITY_GROUP_IDENTIFIER);
static SECURITY_GROUP_IDS: Shape = Shape::List { member: &SECURITY_GROUP_IDENTIFIER_SHAPE, min: 0, max: Some(5) };
static ROUTING_DOMAIN: Shape = text(3, 255);
static MANAGED_VPC_RESOURCE: Shape = Shape::Structure {
    members: &[
        ("vpcIdentifier", &VPC_IDENTIFIER_SHAPE),
        ("subnetIds", &SUBNET_IDS),
        ("endpointIpAddressType", &ENDPOINT_IP_ADDRESS_TYPE),
        ("securityGroupIds", &SECURITY_GROUP_IDS),
        ("tags", &TAGS_MAP),
        ("routingDomain", &ROUTING_DOMAIN),
    ],
    required: &["vpcIdentifier", "subnetIds", "endpointIpAddressType"],
};
static PRIVATE_ENDPOINT: Shape = Shape::Union {
    members: &[
        ("selfManagedLatticeResource", &SELF_MANAGED_LATTICE_RESOURCE),
        ("managedVpcResource", &MANAGED_VPC_RESOURCE),
    ],
};
static OVERRIDE_DOMAIN: Shape = text(1, 253);
static PRIVATE_ENDPOINT_OVERRIDE: Shape = Shape::Structure {
    members: &[("domain", &OVERRIDE_DOMAIN), ("privateEndpoint", &PRIVATE_ENDPOINT)],
    required: &["domain", "privateEndpoint"],
};
static PRIVATE_ENDPOINT_OVERRIDES: Shape = Shape::List { member: &PRIVATE_ENDPOINT_OVERRIDE, min: 0, max: Some(5) };
static CERTIFICATE_S3_URI_SHAPE: Shape = patterned(0, None, &CERTIFICATE_S3_URI);
static ACCOUNT_ID_SHAPE: Shape = patterned(0, None, &ACCOUNT_ID);
static S3_CERTIFICATE: Shape = Shape::Structure {
    members: &[("uri", &CERTIFICATE_S3_URI_SHAPE), ("bucketOwnerAccountId", &ACCOUNT_ID_SHAPE)],
    required: &["uri"],
};
static SECRET_ARN_SHAPE: Shape = patterned(0, None, &SECRET_ARN);
static SECRETS_MANAGER_CERTIFICATE: Shape =
    Shape::Structure { members: &[("secretArn", &SECRET_ARN_SHAPE)], required: &["secretArn"] };
static CERTIFICATE_CONFIGURATION: Shape =
    Shape::Union { members: &[("s3", &S3_CERTIFICATE), ("secretsManager", &SECRETS_MANAGER_CERTIFICATE)] };
static CERTIFICATE_CONFIGURATIONS: Shape = Shape::List { member: &CERTIFICATE_CONFIGURATION, min: 1, max: Some(1) };
static RESOURCE_ARN: Shape = text(20, 1011);
static HOSTING_ENVIRONMENT: Shape = Shape::Structure { members: &[("arn", &RESOURCE_ARN)], required: &["arn"] };
static HOSTING_ENVIRONMENTS: Shape = Shape::List { member: &HOSTING_ENVIRONMENT, min: 1, max: Some(10) };
static WORKLOAD_IDENTITY_NAME_SHAPE: Shape = patterned(3, Some(255), &WORKLOAD_IDENTITY_NAME);
static WORKLOAD_IDENTITIES: Shape = Shape::List { member: &WORKLOAD_IDENTITY_NAME_SHAPE, min: 1, max: Some(10) };
static ALLOWED_WORKLOAD_CONFIGURATION: Shape = Shape::Structure {
    members: &[("hostingEnvironments", &HOSTING_ENVIRONMENTS), ("workloadIdentities", &WORKLOAD_IDENTITIES)],
    required: &[],
};
static DISCOVERY_URL_SHAPE: Shape = patterned(0, None, &DISCOVERY_URL);
static CUSTOM_JWT_AUTHORIZER: Shape = Shape::Structure {
    members: &[
        ("discoveryUrl", &DISCOVERY_URL_SHAPE),
        ("allowedAudience", &AUDIENCES),
        ("allowedClients", &AUDIENCES),
        ("allowedScopes", &SCOPES),
        ("advertisedScopeMapping", &SCOPE_MAPPING),
        ("customClaims", &CUSTOM_CLAIMS),
        ("privateEndpoint", &PRIVATE_ENDPOINT),
        ("privateEndpointOverrides", &PRIVATE_ENDPOINT_OVERRIDES),
        ("certificateConfigurations", &CERTIFICATE_CONFIGURATIONS),
        ("allowedWorkloadConfiguration", &ALLOWED_WORKLOAD_CONFIGURATION),
    ],
    required: &["discoveryUrl"],
};
static AUTHORIZER_CONFIGURATION: Shape = Shape::Union { members: &[("customJWTAuthorizer", &CUSTOM_JWT_AUTHORIZER)] };

static HEADER_NAME_SHAPE: Shape = patterned(1, Some(256), &HEADER_NAME);
static HEADER_ALLOWLIST: Shape = Shape::List { member: &HEADER_NAME_SHAPE, min: 1, max: Some(20) };
static REQUEST_HEADER_CONFIGURATION: Shape = Shape::Union { members: &[("requestHeaderAllowlist", &HEADER_ALLOWLIST)] };

static SERVER_PROTOCOL: Shape = one_of(&["MCP", "HTTP", "A2A", "AGUI"]);
static SERVER_PATH_SHAPE: Shape = patterned(1, Some(2048), &SERVER_PATH);
static PROTOCOL_CONFIGURATION: Shape = Shape::Structure {
    members: &[("serverProtocol", &SERVER_PROTOCOL), ("port", &PORT), ("path", &SERVER_PATH_SHAPE)],
    required: &["serverProtocol"],
};

static HOOK_PATH_SHAPE: Shape = patterned(1, Some(32), &HOOK_PATH);
static HTTP_POST_HOOK: Shape =
    Shape::Structure { members: &[("path", &HOOK_PATH_SHAPE), ("port", &PORT)], required: &["path"] };
static HOOK_ACTION: Shape = Shape::Union { members: &[("httpPost", &HTTP_POST_HOOK)] };
static LIFECYCLE_HOOK: Shape = Shape::Structure { members: &[("action", &HOOK_ACTION)], required: &["action"] };
static BUILD_HOOKS: Shape = Shape::Structure { members: &[("warmup", &LIFECYCLE_HOOK)], required: &[] };
static HOOKS_CONFIGURATION: Shape = Shape::Structure { members: &[("build", &BUILD_HOOKS)], required: &[] };

static METADATA_CONFIGURATION: Shape =
    Shape::Structure { members: &[("requireMMDSV2", &BOOLEAN)], required: &["requireMMDSV2"] };

static ENVIRONMENT_VARIABLE_KEY: Shape = text(1, 100);
static ENVIRONMENT_VARIABLE_VALUE: Shape = text(0, 5000);
static ENVIRONMENT_VARIABLES: Shape =
    Shape::Map { key: &ENVIRONMENT_VARIABLE_KEY, value: &ENVIRONMENT_VARIABLE_VALUE, min: 0, max: Some(50) };

static MOUNT_PATH_SHAPE: Shape = patterned(6, Some(200), &MOUNT_PATH);
static SESSION_STORAGE: Shape =
    Shape::Structure { members: &[("mountPath", &MOUNT_PATH_SHAPE)], required: &["mountPath"] };
static S3_FILES_ACCESS_POINT_ARN_SHAPE: Shape = patterned(0, Some(256), &S3_FILES_ACCESS_POINT_ARN);
static S3_FILES_ACCESS_POINT: Shape = Shape::Structure {
    members: &[("accessPointArn", &S3_FILES_ACCESS_POINT_ARN_SHAPE), ("mountPath", &MOUNT_PATH_SHAPE)],
    required: &["accessPointArn", "mountPath"],
};
static EFS_ACCESS_POINT_ARN_SHAPE: Shape = patterned(0, Some(128), &EFS_ACCESS_POINT_ARN);
static EFS_ACCESS_POINT: Shape = Shape::Structure {
    members: &[("accessPointArn", &EFS_ACCESS_POINT_ARN_SHAPE), ("mountPath", &MOUNT_PATH_SHAPE)],
    required: &["accessPointArn", "mountPath"],
};
static VOLUME_NAME_SHAPE: Shape = patterned(1, Some(48), &VOLUME_NAME);
static CAPACITY_PROVIDER_VOLUME: Shape = Shape::Structure {
    members: &[("volumeName", &VOLUME_NAME_SHAPE), ("mountPath", &MOUNT_PATH_SHAPE)],
    required: &["volumeName", "mountPath"],
};
static S3_MOUNT_BUCKET: Shape = text(3, 63);
static S3_MOUNT_PREFIX_SHAPE: Shape = patterned(1, Some(1024), &S3_MOUNT_PREFIX);
static S3_REGION_SHAPE: Shape = patterned(1, Some(32), &S3_REGION);
static S3_BUCKET_MOUNT: Shape = Shape::Structure {
    members: &[
        ("bucket", &S3_MOUNT_BUCKET),
        ("mountPath", &MOUNT_PATH_SHAPE),
        ("prefix", &S3_MOUNT_PREFIX_SHAPE),
        ("s3BucketOwner", &ACCOUNT_ID_SHAPE),
        ("s3BucketRegion", &S3_REGION_SHAPE),
    ],
    required: &["bucket", "mountPath"],
};
static FILESYSTEM_CONFIGURATION: Shape = Shape::Union {
    members: &[
        ("sessionStorage", &SESSION_STORAGE),
        ("s3FilesAccessPoint", &S3_FILES_ACCESS_POINT),
        ("efsAccessPoint", &EFS_ACCESS_POINT),
        ("capacityProviderVolume", &CAPACITY_PROVIDER_VOLUME),
        ("s3BucketMount", &S3_BUCKET_MOUNT),
    ],
};
static FILESYSTEM_CONFIGURATIONS: Shape = Shape::List { member: &FILESYSTEM_CONFIGURATION, min: 0, max: Some(5) };

static CAPACITY_PROVIDER_ARN_SHAPE: Shape = patterned(0, None, &CAPACITY_PROVIDER_ARN);
static PRIVILEGE_MODE: Shape = one_of(&["STANDARD", "PRIVILEGED"]);
static LINUX: Shape = Shape::Structure { members: &[("privilegeMode", &PRIVILEGE_MODE)], required: &[] };
static OPERATING_SYSTEM_CONFIGURATION: Shape = Shape::Union { members: &[("linux", &LINUX)] };
static CAPACITY_PROVIDER_CONFIGURATION: Shape = Shape::Structure {
    members: &[
        ("capacityProviderArn", &CAPACITY_PROVIDER_ARN_SHAPE),
        ("operatingSystemConfiguration", &OPERATING_SYSTEM_CONFIGURATION),
    ],
    required: &["capacityProviderArn"],
};

static PLATFORM_VERSION_SHAPE: Shape = patterned(1, Some(128), &PLATFORM_VERSION);
static PORT_RANGE: Shape = Shape::Structure { members: &[("from", &PORT), ("to", &PORT)], required: &["from", "to"] };
static ALLOWED_PORT: Shape = Shape::Union { members: &[("port", &PORT), ("portRange", &PORT_RANGE)] };
static ALLOWED_PORTS: Shape = Shape::List { member: &ALLOWED_PORT, min: 1, max: Some(5) };
static RESOURCE_CONFIGURATION: Shape =
    Shape::Structure { members: &[("minimumMemoryInMiB", &UNBOUNDED_INTEGER)], required: &["minimumMemoryInMiB"] };
static RESOURCE_CONFIGURATIONS: Shape = Shape::List { member: &RESOURCE_CONFIGURATION, min: 0, max: Some(1) };

/// `CreateAgentRuntimeRequest`'s body members. `lifecycleConfiguration` is checked by hand (its
/// defaults and the service's bounds, tighter than the model's).
pub static CREATE_AGENT_RUNTIME: Shape = Shape::Structure {
    members: &[
        ("agentRuntimeName", &AGENT_RUNTIME_NAME),
        ("agentRuntimeArtifact", &AGENT_RUNTIME_ARTIFACT),
        ("roleArn", &ROLE_ARN_SHAPE),
        ("networkConfiguration", &NETWORK_CONFIGURATION),
        ("clientToken", &CLIENT_TOKEN_SHAPE),
        ("description", &DESCRIPTION),
        ("authorizerConfiguration", &AUTHORIZER_CONFIGURATION),
        ("requestHeaderConfiguration", &REQUEST_HEADER_CONFIGURATION),
        ("protocolConfiguration", &PROTOCOL_CONFIGURATION),
        ("lifecycleConfiguration", &Shape::ByHand),
        ("hooksConfiguration", &HOOKS_CONFIGURATION),
        ("environmentVariables", &ENVIRONMENT_VARIABLES),
        ("filesystemConfigurations", &FILESYSTEM_CONFIGURATIONS),
        ("capacityProviderConfiguration", &CAPACITY_PROVIDER_CONFIGURATION),
        ("tags", &TAGS_MAP),
        ("platformVersion", &PLATFORM_VERSION_SHAPE),
        ("allowedPorts", &ALLOWED_PORTS),
        ("resourceConfigurations", &RESOURCE_CONFIGURATIONS),
    ],
    required: &["agentRuntimeName", "agentRuntimeArtifact", "roleArn"],
};

/// `UpdateAgentRuntimeRequest`'s body members (`agentRuntimeId` is the path label). Unlike
/// Create, it has `metadataConfiguration` and has neither a name nor tags.
pub static UPDATE_AGENT_RUNTIME: Shape = Shape::Structure {
    members: &[
        ("agentRuntimeArtifact", &AGENT_RUNTIME_ARTIFACT),
        ("roleArn", &ROLE_ARN_SHAPE),
        ("networkConfiguration", &NETWORK_CONFIGURATION),
        ("description", &DESCRIPTION),
        ("authorizerConfiguration", &AUTHORIZER_CONFIGURATION),
        ("requestHeaderConfiguration", &REQUEST_HEADER_CONFIGURATION),
        ("protocolConfiguration", &PROTOCOL_CONFIGURATION),
        ("lifecycleConfiguration", &Shape::ByHand),
        ("hooksConfiguration", &HOOKS_CONFIGURATION),
        ("metadataConfiguration", &METADATA_CONFIGURATION),
        ("environmentVariables", &ENVIRONMENT_VARIABLES),
        ("filesystemConfigurations", &FILESYSTEM_CONFIGURATIONS),
        ("capacityProviderConfiguration", &CAPACITY_PROVIDER_CONFIGURATION),
        ("platformVersion", &PLATFORM_VERSION_SHAPE),
        ("allowedPorts", &ALLOWED_PORTS),
        ("resourceConfigurations", &RESOURCE_CONFIGURATIONS),
        ("clientToken", &CLIENT_TOKEN_SHAPE),
    ],
    required: &["agentRuntimeArtifact", "roleArn"],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_uris_follow_the_model_pattern() {
        for good in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/my-agent_v2.x:1.0",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/agent@sha256:abc",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:v1@sha256:abc",
            "public.ecr.aws/x/y:1",
        ] {
            assert!(is_container_uri(good), "{good}");
        }
        for bad in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/MyAgent:latest",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:b:c",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/a@",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/a__b",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/a//b",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/-a",
            &format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/a:{}", "t".repeat(301)),
            "docker.io/library/nginx",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
        ] {
            assert!(!is_container_uri(bad), "{bad}");
        }
    }

    #[test]
    fn tag_text_is_ascii() {
        assert!(is_tag_text("a b\t._:/=+@-Z9"));
        assert!(!is_tag_text("é"));
        assert!(!is_tag_text("\u{3000}"));
        assert!(!is_tag_text("#"));
    }

    #[test]
    fn patterns_match_their_languages() {
        assert!(is_discovery_url("https://idp.example.com/.well-known/openid-configuration"));
        assert!(is_discovery_url("https://x/a/.well-known/oauth-authorization-server/tenant"));
        assert!(!is_discovery_url("/.well-known/openid-configuration"));
        assert!(!is_discovery_url("https://x/.well-known/openid-configuration?x=1"));
        assert!(!is_discovery_url("https://x/.well-known/other"));
        assert!(is_claim_name("a/b:c.9_"));
        assert!(!is_claim_name("a-b"));
        assert!(is_mount_path("/mnt/data/") && is_mount_path("/mnt/a.b-c_d"));
        assert!(!is_mount_path("/mnt/") && !is_mount_path("/mnt/a/b") && !is_mount_path("/tmp/a"));
        assert!(is_efs_access_point_arn("arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123abcd"));
        assert!(!is_efs_access_point_arn("arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123"));
        assert!(is_s3_files_access_point_arn(&format!(
            "arn:aws:s3files:us-east-1:123456789012:file-system/fs-{0}/access-point/fsap-{0}",
            "0123456789abcdef0"
        )));
        assert!(is_s3_region("us-east-1") && is_s3_region("us-gov-west-1"));
        assert!(!is_s3_region("useast-1") && !is_s3_region("a-b-c-d-1"));
        assert!(is_capacity_provider_arn(
            "arn:aws:bedrock-agentcore:us-east-1:123456789012:capacity-provider/my_cp-0123456789"
        ));
        assert!(!is_capacity_provider_arn("arn:aws:bedrock-agentcore:us-east-1:123456789012:capacity-provider/x"));
        assert!(is_resource_configuration_identifier("rcfg-0123456789abcdefg"));
        assert!(is_resource_configuration_identifier(
            "arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/rcfg-0123456789abcdefg"
        ));
        assert!(is_secret_arn("arn:aws:secretsmanager:us-east-1:123456789012:secret:name-AbC"));
        assert!(!is_secret_arn("arn:aws:secretsmanager:us-east-1:123456789012:other:name"));
        assert!(is_header_name("X-Amzn-Custom_1") && !is_header_name("1X"));
        assert!(is_scope("read:all") && !is_scope("a b") && !is_scope("a\"b"));
        assert!(is_s3_bucket("my.bucket-1") && !is_s3_bucket("-bucket") && !is_s3_bucket("ab"));
        assert!(is_s3_mount_prefix("{x}/a!b") && !is_s3_mount_prefix("/a"));
    }

    #[test]
    fn unknown_members_are_left_out_and_failures_have_paths() {
        let mut f = Failures::default();
        let body = serde_json::json!({
            "agentRuntimeName": "a",
            "agentRuntimeArtifact": {"containerConfiguration": {"containerUri": "public.ecr.aws/a/b", "extra": 1}},
            "roleArn": "arn:aws:iam::123456789012:role/R",
            "allowedPorts": [{"port": 7999}],
            "surprise": true,
        });
        let kept = check(&CREATE_AGENT_RUNTIME, &body, "", &mut f);
        assert!(kept.get("surprise").is_none());
        assert!(kept["agentRuntimeArtifact"]["containerConfiguration"].get("extra").is_none());
        assert_eq!(f.0.len(), 1);
        assert_eq!(f.0[0].0, "allowedPorts.member.port");
    }
}
