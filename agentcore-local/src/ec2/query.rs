//! EC2 query-protocol input: flattened form parameters (`Filter.1.Value.2=…`), filters with
//! wildcards, `MaxResults`/`NextToken` pagination and `TagSpecification`s.
//!
//! **Filters are bounded and matched in linear time.** A request may carry at most
//! [`MAX_FILTER_VALUES`] filter values in all (EC2's limit: beyond it EC2 answers
//! `FilterLimitExceeded` `The maximum number of filter values specified on a single call is 200`),
//! at most as many filters, and values of at most [`MAX_FILTER_VALUE_CHARS`] characters (EC2
//! documents no length; the emulator's bound, twice the longest tag value, gets
//! `InvalidParameterValue`). Wildcards (`*` any run, `?` one character, `\` escapes the next
//! character, as the EC2 `Filter` documentation describes) are matched by [`glob`], a two-pointer
//! greedy matcher with one backtrack point: O(pattern × value) in the worst case, no recursion.
//!
//! **Filtering stops when the client has left.** Even bounded, 200 hostile patterns against every
//! tag of every resource cost seconds of CPU on the blocking pool. The EC2 handler runs each call
//! under a [`CancelFlag`] ([`CancelFlag::run`]) that is raised when the handler's future is
//! dropped (the client disconnected, [`CancelOnDrop`]); [`matches`] checks it for each resource
//! and each pattern and, once it is raised, answers `false` at once, so the loop ends quickly and
//! its (unused) answer is empty.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::AwsError;

/// The form parameters of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body (or query string).
    pub fn parse(form: &[u8]) -> Result<Self, AwsError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(form)
            .map_err(|e| AwsError::ec2("InvalidParameterValue", format!("malformed form body: {e}")))?;
        Ok(Self(pairs.into_iter().collect()))
    }

    /// A parameter set holding only `key=value`.
    pub fn single(key: &str, value: &str) -> Self {
        Self(BTreeMap::from([(key.to_string(), value.to_string())]))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `key`, or `MissingParameter` naming it the way EC2 does (lower camel case).
    pub fn required(&self, key: &str) -> Result<&str, AwsError> {
        self.get(key).filter(|v| !v.is_empty()).ok_or_else(|| {
            let mut wire = key.to_string();
            if let Some(first) = wire.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            AwsError::ec2("MissingParameter", format!("The request must contain the parameter {wire}"))
        })
    }

    /// The members `key.N.…` as sub-parameter sets, ordered by N. An index that is not a
    /// decimal number from 1 to 4294967295 (`Filter.-1.Name`, `VpcId.4294967296`, `Filter.x.Name`)
    /// is an error ([`unknown_parameter`]), never skipped: a skipped filter would widen the answer.
    /// Leading zeros are allowed, so `Filter.01` and `Filter.1` are the same member.
    pub fn members(&self, key: &str) -> Result<Vec<Params>, AwsError> {
        let prefix = format!("{key}.");
        let mut by_index: BTreeMap<u32, Params> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&prefix) else {
                continue;
            };
            let (index, tail) = match rest.split_once('.') {
                // `Filter.1.` would be placed where `Filter.1` is: not a parameter of its own.
                Some((_, "")) => return Err(unknown_parameter(k)),
                Some(split) => split,
                None => (rest, ""),
            };
            let index = member_index(index).ok_or_else(|| unknown_parameter(k))?;
            let member = by_index.entry(index).or_default();
            // `Filter.01.Name` beside `Filter.1.Name`: one would silently replace the other.
            if member.0.insert(tail.to_string(), v.clone()).is_some() {
                return Err(unknown_parameter(k));
            }
        }
        Ok(by_index.into_values().collect())
    }

    /// The values `key.1`, `key.2`, … ordered by index (an unplaceable index is an error, as in
    /// [`Self::members`]; so is a member with sub-members, `key.1.X`).
    pub fn list(&self, key: &str) -> Result<Vec<String>, AwsError> {
        let prefix = format!("{key}.");
        if let Some(nested) = self.0.keys().find(|k| k.strip_prefix(&prefix).is_some_and(|rest| rest.contains('.'))) {
            return Err(unknown_parameter(nested));
        }
        Ok(self.members(key)?.into_iter().filter_map(|p| p.0.get("").cloned()).collect())
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, AwsError> {
        self.get(key)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(invalid_value(key, v)),
            })
            .transpose()
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, AwsError> {
        self.get(key).map(|v| v.trim().parse().map_err(|_| invalid_value(key, v))).transpose()
    }
}

/// A list index: 1 to `u32::MAX`, decimal digits only (leading zeros allowed).
fn member_index(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|&n| n >= 1)
}

/// A parameter the query parser cannot place. EC2's code for "an unknown or unrecognized
/// parameter was supplied" (EC2 API reference, "Error codes for the Amazon EC2 API").
fn unknown_parameter(key: &str) -> AwsError {
    AwsError::ec2("UnknownParameter", format!("The parameter {key} is not recognized"))
}

fn invalid_value(key: &str, value: &str) -> AwsError {
    AwsError::ec2("InvalidParameterValue", format!("Value ({value}) for parameter {key} is invalid."))
}

/// One `Filter.N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<Pattern>,
}

/// EC2's limit on the filter values of one call (its `FilterLimitExceeded` message says 200). The
/// number of filters is held to the same bound (each filter names at least one value).
pub const MAX_FILTER_VALUES: usize = 200;

/// The longest filter value accepted, in characters (EC2 documents none; a tag value is at most
/// 256 characters, and escaping every character of one doubles it).
pub const MAX_FILTER_VALUE_CHARS: usize = 512;

/// Reads `Filter.N.Name` / `Filter.N.Value.M`, refusing names not in `allowed` (plus `tag:KEY`,
/// `tag-key`, `tag-value`, which every taggable resource accepts) and requests beyond EC2's
/// filter limits ([`MAX_FILTER_VALUES`], [`MAX_FILTER_VALUE_CHARS`]).
pub fn filters(params: &Params, allowed: &[&str]) -> Result<Vec<Filter>, AwsError> {
    let members = params.members("Filter")?;
    if members.len() > MAX_FILTER_VALUES {
        return Err(filter_limit_exceeded());
    }
    let mut total_values = 0usize;
    let mut out = Vec::with_capacity(members.len());
    for f in members {
        let name = f.required("Name")?.to_string();
        let known =
            allowed.contains(&name.as_str()) || name.starts_with("tag:") || name == "tag-key" || name == "tag-value";
        if !known {
            return Err(AwsError::ec2("InvalidParameterValue", format!("The filter '{name}' is invalid")));
        }
        let values = f.list("Value")?;
        total_values += values.len();
        if total_values > MAX_FILTER_VALUES {
            return Err(filter_limit_exceeded());
        }
        if let Some(long) = values.iter().find(|v| v.chars().count() > MAX_FILTER_VALUE_CHARS) {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!(
                    "The filter value for '{name}' is {} characters long; at most {MAX_FILTER_VALUE_CHARS} are allowed",
                    long.chars().count()
                ),
            ));
        }
        out.push(Filter { name, values: values.iter().map(|v| Pattern::new(v)).collect() });
    }
    Ok(out)
}

/// `FilterLimitExceeded`, worded as EC2 words it.
fn filter_limit_exceeded() -> AwsError {
    AwsError::ec2(
        "FilterLimitExceeded",
        format!("The maximum number of filter values specified on a single call is {MAX_FILTER_VALUES}"),
    )
}

/// Raised when the request an EC2 call works for is gone; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

thread_local! {
    /// The flag of the EC2 call running on this (blocking-pool) thread, if any.
    static CURRENT_CALL: RefCell<Option<CancelFlag>> = const { RefCell::new(None) };
}

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Runs `call` on this thread with this flag as the current call's ([`call_cancelled`]).
    pub fn run<R>(&self, call: impl FnOnce() -> R) -> R {
        struct Restore(Option<CancelFlag>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT_CALL.with(|current| *current.borrow_mut() = self.0.take());
            }
        }
        let _restore = Restore(CURRENT_CALL.with(|current| current.borrow_mut().replace(self.clone())));
        call()
    }
}

/// Raises its flag when dropped: held by the handler's future, so a future dropped before the
/// call finished (the client left) cancels the call.
#[derive(Debug)]
pub struct CancelOnDrop(pub CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Whether the EC2 call running on this thread has been cancelled (`false` outside one).
pub fn call_cancelled() -> bool {
    CURRENT_CALL.with(|current| current.borrow().as_ref().is_some_and(CancelFlag::is_cancelled))
}

/// Whether a resource passes every filter. `field(name)` gives the resource's values for a
/// filter name (tags are handled here). Values within a filter are OR-ed, filters AND-ed; values
/// may use `*` and `?` wildcards. Always `false` once the current call is cancelled
/// ([`call_cancelled`]).
pub fn matches(filters: &[Filter], tags: &BTreeMap<String, String>, field: impl Fn(&str) -> Vec<String>) -> bool {
    if call_cancelled() {
        return false;
    }
    filters.iter().all(|f| {
        let have: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            tags.get(key).cloned().into_iter().collect()
        } else if f.name == "tag-key" {
            tags.keys().cloned().collect()
        } else if f.name == "tag-value" {
            tags.values().cloned().collect()
        } else {
            field(&f.name)
        };
        f.values.iter().any(|pattern| !call_cancelled() && have.iter().any(|v| pattern.matches(v)))
    })
}

/// One element of a filter value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters, empty included.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
    /// A character that must be there (`\x` is the literal `x`; a trailing `\` is itself).
    Literal(char),
}

/// A filter value, compiled once per request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    tokens: Vec<Token>,
}

impl Pattern {
    pub fn new(text: &str) -> Self {
        let mut tokens = Vec::with_capacity(text.len());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => Token::AnyRun,
                '?' => Token::AnyOne,
                '\\' => Token::Literal(chars.next().unwrap_or('\\')),
                other => Token::Literal(other),
            };
            // `**` means the same as `*`: keeping one keeps the matcher's loop short.
            if !(token == Token::AnyRun && tokens.last() == Some(&Token::AnyRun)) {
                tokens.push(token);
            }
        }
        Self { text: text.to_string(), tokens }
    }

    /// The value as the client sent it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `value` matches, in O(pattern × value) time: the classic greedy two-pointer
    /// match. On a mismatch it returns to the last `*` and lets it swallow one more character;
    /// an earlier `*` never needs revisiting, because the later one can absorb whatever the
    /// earlier one would have.
    pub fn matches(&self, value: &str) -> bool {
        let value: Vec<char> = value.chars().collect();
        let tokens = &self.tokens;
        let (mut t, mut v) = (0, 0);
        // (token index just after the last `*`, value index that `*` resumes from)
        let mut backtrack: Option<(usize, usize)> = None;
        while v < value.len() {
            match tokens.get(t) {
                Some(Token::AnyRun) => {
                    t += 1;
                    backtrack = Some((t, v));
                }
                Some(Token::AnyOne) => {
                    t += 1;
                    v += 1;
                }
                Some(Token::Literal(c)) if *c == value[v] => {
                    t += 1;
                    v += 1;
                }
                _ => match backtrack {
                    Some((after_star, from)) => {
                        t = after_star;
                        v = from + 1;
                        backtrack = Some((after_star, from + 1));
                    }
                    None => return false,
                },
            }
        }
        tokens[t..].iter().all(|token| *token == Token::AnyRun)
    }
}

/// EC2 filter wildcards: `*` any run, `?` one character, `\` escapes (see [`Pattern`]).
pub fn glob(pattern: &str, value: &str) -> bool {
    Pattern::new(pattern).matches(value)
}

/// `MaxResults` / `NextToken` paging over `items` (already in their stable order).
/// `max_results` is checked against EC2's 5..=1000 range.
pub fn paginate<T>(items: Vec<T>, params: &Params) -> Result<(Vec<T>, Option<String>), AwsError> {
    let max = params.int("MaxResults")?;
    if let Some(m) = max
        && !(5..=1000).contains(&m)
    {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("Value ( {m} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000."),
        ));
    }
    let start = match params.get("NextToken") {
        None | Some("") => 0,
        Some(token) => decode_token(token)
            .ok_or_else(|| AwsError::ec2("InvalidPaginationToken", format!("Invalid pagination token: {token}")))?,
    };
    let total = items.len();
    let take = max.map_or(usize::MAX, |m| m as usize);
    let page: Vec<T> = items.into_iter().skip(start).take(take).collect();
    let end = start.saturating_add(page.len());
    let next = (max.is_some() && end < total).then(|| encode_token(end));
    Ok((page, next))
}

const TOKEN_PREFIX: &str = "eyJhY2wi";

fn encode_token(offset: usize) -> String {
    format!("{TOKEN_PREFIX}{offset:016x}")
}

fn decode_token(token: &str) -> Option<usize> {
    let hex = token.strip_prefix(TOKEN_PREFIX)?;
    (hex.len() == 16).then_some(())?;
    usize::from_str_radix(hex, 16).ok()
}

/// The tags of `TagSpecification.N` entries for `resource_type`, checked as EC2 checks them.
pub fn tag_specifications(params: &Params, resource_type: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let mut tags = BTreeMap::new();
    for spec in params.members("TagSpecification")? {
        let ty = spec.get("ResourceType").unwrap_or_default();
        if ty != resource_type {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!("'{ty}' is not a valid taggable resource type for this operation."),
            ));
        }
        for tag in spec.members("Tag")? {
            let (key, value) = checked_tag(&tag)?;
            tags.insert(key, value);
        }
    }
    check_tag_count(tags.len())?;
    Ok(tags)
}

/// One `Tag.N` (`Key`, `Value`), checked.
pub fn checked_tag(tag: &Params) -> Result<(String, String), AwsError> {
    let key = tag.get("Key").unwrap_or_default();
    let value = tag.get("Value").unwrap_or_default();
    if key.is_empty() || key.chars().count() > 128 {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("Tag key must be 1 to 128 characters long, got '{key}'"),
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            "Tag keys starting with 'aws:' are reserved for internal use",
        ));
    }
    if value.chars().count() > 256 {
        return Err(AwsError::ec2("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// At most 50 tags per resource.
pub fn check_tag_count(n: usize) -> Result<(), AwsError> {
    if n > 50 {
        return Err(AwsError::ec2("TagLimitExceeded", "The maximum number of Tags for a resource has been reached."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flattened_lists_in_index_order() {
        let p = Params::parse(
            b"Action=DescribeNetworkInterfaces&Filter.2.Name=interface-type&Filter.2.Value.1=agentic_ai\
              &Filter.2.Value.2=lambda&Filter.1.Name=group-id&Filter.1.Value.1=sg-1\
              &NetworkInterfaceId.10=eni-b&NetworkInterfaceId.2=eni-a",
        )
        .unwrap();
        assert_eq!(p.list("NetworkInterfaceId").unwrap(), ["eni-a", "eni-b"]);
        let f = filters(&p, &["group-id", "interface-type"]).unwrap();
        assert_eq!(f[0].name, "group-id");
        let values: Vec<&str> = f[1].values.iter().map(Pattern::as_str).collect();
        assert_eq!(values, ["agentic_ai", "lambda"]);
        let err = filters(&p, &["group-id"]).unwrap_err();
        assert_eq!(err.message, "The filter 'interface-type' is invalid");
    }

    #[test]
    fn a_cancelled_call_matches_nothing_and_the_flag_is_scoped_to_the_call() {
        let p = Params::parse(b"Filter.1.Name=tag:Name&Filter.1.Value.1=*a*").unwrap();
        let f = filters(&p, &[]).unwrap();
        let tags = BTreeMap::from([("Name".to_string(), "lab".to_string())]);
        let flag = CancelFlag::default();
        assert!(flag.run(|| matches(&f, &tags, |_| Vec::new())), "matches while the call is live");
        let cancelled_midway = flag.run(|| {
            let before = matches(&f, &tags, |_| Vec::new());
            drop(CancelOnDrop(flag.clone())); // the handler's future is dropped
            (before, call_cancelled(), matches(&f, &tags, |_| Vec::new()))
        });
        assert_eq!(cancelled_midway, (true, true, false));
        assert!(!call_cancelled(), "outside a call nothing is cancelled");
        assert!(matches(&f, &tags, |_| Vec::new()), "another call on this thread is unaffected");
        assert!(CancelFlag::default().run(|| matches(&f, &tags, |_| Vec::new())));
    }

    #[test]
    fn unplaceable_member_indexes_are_errors() {
        for form in [
            "Filter.4294967296.Name=vpc-id",
            "Filter.-1.Name=x",
            "Filter.x.Name=x",
            "Filter.0.Name=x",
            "Filter..Name=x",
            // The same parameter twice (one would replace the other), and a trailing dot.
            "Filter.01.Name=vpc-id&Filter.1.Name=subnet-id&Filter.1.Value.1=v",
            "Filter.1.Value.1=a&Filter.1.Value.01=b&Filter.1.Name=vpc-id",
            "Filter.1.Name=vpc-id&Filter.1.Value.1=v&Filter.1.=x",
            "Filter.4294967295=&Filter.4294967295.=.",
        ] {
            let p = Params::parse(form.as_bytes()).unwrap();
            let err = filters(&p, &["vpc-id"]).unwrap_err();
            assert_eq!(err.code, "UnknownParameter", "{form}");
        }
        let p = Params::parse(
            b"Filter.01.Name=vpc-id&Filter.1.Value.1=v&Filter.4294967295.Name=vpc-id&Filter.4294967295.Value.1=w",
        )
        .unwrap();
        assert_eq!(filters(&p, &["vpc-id"]).unwrap().len(), 2);
    }

    #[test]
    fn wildcards() {
        assert!(glob("sg-*", "sg-123"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("\\*", "*"));
        assert!(!glob("\\*", "x"));
        assert!(glob("*", ""));
    }

    #[test]
    fn wildcard_semantics_as_ec2_documents_them() {
        // `*` zero or more characters, `?` exactly one.
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("*", "anything at all"));
        assert!(glob("**", ""));
        assert!(glob("a*", "a"));
        assert!(glob("*a", "bba"));
        assert!(!glob("*a", "ab"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(glob("a*b*c", "abc"));
        assert!(!glob("a*b*c", "acb"));
        assert!(glob("?", "é"), "one character, not one byte");
        assert!(!glob("?", ""));
        assert!(!glob("??", "a"));
        assert!(glob("*?", "a"));
        assert!(!glob("*?", ""));
        assert!(glob("agentcore-*-eni", "agentcore-lab-1-eni"));
        // Backtracking past a partial match.
        assert!(glob("*aab", "aaab"));
        assert!(glob("*ab*ab", "abxabab"));
        // Case-sensitive, as EC2 filter values are.
        assert!(!glob("ABC", "abc"));
        // `\` escapes: EC2's own example, `\*amazon\?\\` is the literal `*amazon?\`.
        assert!(glob(r"\*amazon\?\\", r"*amazon?\"));
        assert!(!glob(r"\*amazon\?\\", r"xamazon?\"));
        assert!(!glob(r"\*amazon\?\\", r"*amazonX\"));
        assert!(glob(r"a\b", "ab"), "an escaped ordinary character is itself");
        assert!(glob("a\\", "a\\"), "a trailing backslash is a literal backslash");
    }

    #[test]
    fn hostile_patterns_answer_at_once() {
        let value = "a".repeat(256);
        let pattern = format!("{}b", "*a".repeat(255));
        let started = std::time::Instant::now();
        assert!(!glob(&pattern, &value));
        assert!(!glob("*a*a*a*a*a*a*a*b", &"a".repeat(200)));
        assert!(glob(&"*a".repeat(200), &value));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    }

    /// The recursive definition, exponential on hostile input: only for short strings.
    fn reference_glob(pattern: &str, value: &str) -> bool {
        fn tokens(pattern: &str) -> Vec<Option<Option<char>>> {
            // None: `*`; Some(None): `?`; Some(Some(c)): the literal c.
            let mut out = Vec::new();
            let mut chars = pattern.chars();
            while let Some(c) = chars.next() {
                out.push(match c {
                    '*' => None,
                    '?' => Some(None),
                    '\\' => Some(Some(chars.next().unwrap_or('\\'))),
                    c => Some(Some(c)),
                });
            }
            out
        }
        fn go(p: &[Option<Option<char>>], v: &[char]) -> bool {
            match p.split_first() {
                None => v.is_empty(),
                Some((None, rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
                Some((Some(None), rest)) => !v.is_empty() && go(rest, &v[1..]),
                Some((Some(Some(c)), rest)) => v.first() == Some(c) && go(rest, &v[1..]),
            }
        }
        let v: Vec<char> = value.chars().collect();
        go(&tokens(pattern), &v)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The linear matcher agrees with the recursive definition on short strings over a small
        /// alphabet (so that matches are frequent).
        #[test]
        fn glob_agrees_with_the_reference(pattern in "[ab*?\\\\]{0,10}", value in "[ab*?\\\\]{0,10}") {
            proptest::prop_assert_eq!(glob(&pattern, &value), reference_glob(&pattern, &value));
        }

        /// Hostile list indexes (huge, negative, signed, empty, unicode, leading zeros, repeated)
        /// and tails: `members` either places every `Filter.…` key in exactly one member or
        /// answers `UnknownParameter` naming one of them; nothing is dropped silently.
        #[test]
        fn fuzz_ec2_list_members(
            keys in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        "[0-9]{1,12}",
                        "0{0,3}[1-9]",
                        "-[0-9]{1,3}",
                        "\\+[0-9]",
                        "[a-zA-Z]{0,3}",
                        "[0-9]*\\PC{0,2}",
                        proptest::strategy::Just("4294967295".to_string()),
                        proptest::strategy::Just("4294967296".to_string()),
                        proptest::strategy::Just(String::new()),
                    ],
                    proptest::prop_oneof![
                        proptest::strategy::Just(String::new()),
                        proptest::strategy::Just(".Name".to_string()),
                        "\\.Value\\.[0-9-]{0,11}",
                        "\\.\\PC{0,4}",
                    ],
                ),
                0..12,
            ),
        ) {
            let form: Vec<(String, String)> =
                keys.iter().map(|(index, tail)| (format!("Filter.{index}{tail}"), "v".to_string())).collect();
            let params = Params::parse(serde_urlencoded::to_string(&form).unwrap().as_bytes()).unwrap();
            let placed_keys = params.0.keys().filter(|k| k.starts_with("Filter.")).count();
            match params.members("Filter") {
                Ok(members) => {
                    proptest::prop_assert_eq!(members.iter().map(|m| m.0.len()).sum::<usize>(), placed_keys);
                    for (k, _) in &form {
                        let index = k["Filter.".len()..].split('.').next().unwrap();
                        proptest::prop_assert!(member_index(index).is_some(), "{} placed", k);
                    }
                }
                Err(error) => {
                    proptest::prop_assert_eq!(error.code.as_str(), "UnknownParameter");
                    proptest::prop_assert!(form.iter().any(|(k, _)| error.message.contains(k.as_str())), "{}", error.message);
                }
            }
            // `filters` on the same input: Ok or one of EC2's codes, never a panic.
            if let Err(error) = filters(&params, &["vpc-id"]) {
                let known = ["UnknownParameter", "MissingParameter", "InvalidParameterValue", "FilterLimitExceeded"];
                proptest::prop_assert!(known.contains(&error.code.as_str()), "{}", error.code);
            }
        }

        /// Random filters (names incl. tags, values with many wildcards) against random
        /// resources: `filters` accepts or refuses with EC2's codes, `matches` terminates and agrees
        /// with the reference matcher.
        #[test]
        fn fuzz_ec2_filters(
            specs in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        proptest::strategy::Just("vpc-id".to_string()),
                        proptest::strategy::Just("state".to_string()),
                        proptest::strategy::Just("tag-key".to_string()),
                        proptest::strategy::Just("tag-value".to_string()),
                        "tag:[a-c]{1,2}",
                        "[a-z.-]{0,12}",
                    ],
                    proptest::collection::vec("[abc*?\\\\]{0,12}|[*?]{0,40}a{0,3}b?|\\PC{0,8}", 0..6),
                ),
                0..6,
            ),
            resources in proptest::collection::vec(
                (
                    "[abc]{0,10}",
                    proptest::collection::btree_map("[a-c]{1,2}", "[abc*?\\\\]{0,10}|a{0,60}", 0..4),
                ),
                0..5,
            ),
        ) {
            let mut form = String::new();
            for (i, (name, values)) in specs.iter().enumerate() {
                form.push_str(&format!("&Filter.{}.Name={}", i + 1, urlencode(name)));
                for (j, v) in values.iter().enumerate() {
                    form.push_str(&format!("&Filter.{}.Value.{}={}", i + 1, j + 1, urlencode(v)));
                }
            }
            let params = Params::parse(form.as_bytes()).expect("a well-formed form");
            let parsed = match filters(&params, &["vpc-id", "state"]) {
                Ok(parsed) => parsed,
                Err(e) => {
                    proptest::prop_assert!(
                        ["InvalidParameterValue", "MissingParameter", "FilterLimitExceeded"].contains(&e.code.as_str()),
                        "{e:?}"
                    );
                    return Ok(());
                }
            };
            for (id, tags) in &resources {
                let field = |name: &str| match name {
                    "vpc-id" => vec![id.clone()],
                    "state" => vec!["available".to_string()],
                    _ => vec![],
                };
                let expected = parsed.iter().all(|f| {
                    let have: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
                        tags.get(key).cloned().into_iter().collect()
                    } else if f.name == "tag-key" {
                        tags.keys().cloned().collect()
                    } else if f.name == "tag-value" {
                        tags.values().cloned().collect()
                    } else {
                        field(&f.name)
                    };
                    f.values.iter().any(|p| {
                        have.iter().any(|v| {
                            // The reference is exponential: only ask it about short values.
                            if v.chars().count() <= 12 && p.as_str().chars().count() <= 14 {
                                reference_glob(p.as_str(), v)
                            } else {
                                p.matches(v)
                            }
                        })
                    })
                });
                proptest::prop_assert_eq!(matches(&parsed, tags, field), expected);
            }
        }
    }

    fn urlencode(text: &str) -> String {
        serde_urlencoded::to_string([("", text)]).unwrap().trim_start_matches('=').to_string()
    }

    #[test]
    fn filter_limits_are_ec2s() {
        let values: String = (1..=200).map(|i| format!("&Filter.1.Value.{i}=v{i}")).collect();
        let ok = Params::parse(format!("Filter.1.Name=vpc-id{values}").as_bytes()).unwrap();
        assert_eq!(filters(&ok, &["vpc-id"]).unwrap()[0].values.len(), 200);

        // 201 values, in one filter or spread over two.
        let one_too_many =
            Params::parse(format!("Filter.1.Name=vpc-id{values}&Filter.1.Value.201=x").as_bytes()).unwrap();
        let spread =
            Params::parse(format!("Filter.1.Name=vpc-id{values}&Filter.2.Name=state&Filter.2.Value.1=x").as_bytes())
                .unwrap();
        for params in [one_too_many, spread] {
            let e = filters(&params, &["vpc-id", "state"]).unwrap_err();
            assert_eq!(e.code, "FilterLimitExceeded");
            assert_eq!(e.message, "The maximum number of filter values specified on a single call is 200");
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        }
        // 201 filters, even without values.
        let names: String = (1..=201).map(|i| format!("&Filter.{i}.Name=state")).collect();
        let e = filters(&Params::parse(names.as_bytes()).unwrap(), &["state"]).unwrap_err();
        assert_eq!(e.code, "FilterLimitExceeded");

        // A value longer than the bound.
        let long = format!("Filter.1.Name=state&Filter.1.Value.1={}", "*".repeat(MAX_FILTER_VALUE_CHARS + 1));
        let e = filters(&Params::parse(long.as_bytes()).unwrap(), &["state"]).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
        let fits = format!("Filter.1.Name=state&Filter.1.Value.1={}", "*".repeat(MAX_FILTER_VALUE_CHARS));
        assert!(filters(&Params::parse(fits.as_bytes()).unwrap(), &["state"]).is_ok());
    }

    #[test]
    fn pages_and_tokens() {
        let items: Vec<u32> = (0..12).collect();
        let p = Params::parse(b"MaxResults=5").unwrap();
        let (page, next) = paginate(items.clone(), &p).unwrap();
        assert_eq!(page, [0, 1, 2, 3, 4]);
        let token = next.unwrap();
        let p = Params::parse(format!("MaxResults=5&NextToken={token}").as_bytes()).unwrap();
        let (page, next) = paginate(items.clone(), &p).unwrap();
        assert_eq!(page, [5, 6, 7, 8, 9]);
        let p = Params::parse(format!("MaxResults=5&NextToken={}", next.unwrap()).as_bytes()).unwrap();
        let (page, next) = paginate(items.clone(), &p).unwrap();
        assert_eq!((page, next), (vec![10, 11], None));
        let bad = Params::parse(b"NextToken=garbage").unwrap();
        assert_eq!(paginate(items.clone(), &bad).unwrap_err().code, "InvalidPaginationToken");
        let small = Params::parse(b"MaxResults=4").unwrap();
        assert_eq!(paginate(items, &small).unwrap_err().code, "InvalidParameterValue");
    }

    #[test]
    fn tag_specifications_are_checked() {
        let p = Params::parse(
            b"TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=lab",
        )
        .unwrap();
        assert_eq!(tag_specifications(&p, "vpc").unwrap()["Name"], "lab");
        assert!(tag_specifications(&p, "subnet").is_err());
        let reserved = Params::parse(
            b"TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=aws:x&TagSpecification.1.Tag.1.Value=1",
        )
        .unwrap();
        assert!(tag_specifications(&reserved, "vpc").is_err());
    }

    #[test]
    fn missing_parameters_are_named_in_camel_case() {
        let e = Params::default().required("CidrBlock").unwrap_err();
        assert_eq!(e.code, "MissingParameter");
        assert_eq!(e.message, "The request must contain the parameter cidrBlock");
    }
}
