//! The query protocol (`Action=GetMetricStatistics&Version=2010-08-01&…`, XML answers), for older
//! clients. Form keys are paths (`MetricDataQueries.member.1.MetricStat.Period`): `member.N` is the
//! N-th item of a list, any other segment a structure member; values stay strings, which the input
//! readers ([`super::input`]) parse (timestamps as ISO 8601). Answers are
//! `<OpResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><OpResult>…</OpResult>
//! <ResponseMetadata><RequestId>…` with lists as `<member>` items; errors are
//! `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…`.

use std::collections::BTreeMap;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::value::{MAX_DEPTH, Value};

/// CloudWatch's API namespace.
pub const NAMESPACE: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";

/// Why a form body is not one this service reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed query request: {0}")]
pub struct QueryError(pub String);

/// One level of the form's paths while it is being built.
#[derive(Debug, Default)]
struct Node {
    text: Option<String>,
    members: BTreeMap<String, Node>,
    items: BTreeMap<u32, Node>,
}

/// Decodes a form body into the action's name and its input.
pub fn decode(form: &[u8]) -> Result<(String, Value), QueryError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(form).map_err(|e| QueryError(e.to_string()))?;
    let mut root = Node::default();
    let mut action = None;
    for (key, value) in pairs {
        match key.as_str() {
            "Action" => action = Some(value),
            "Version" => {}
            _ => insert(&mut root, &key, value)?,
        }
    }
    let action = action.ok_or_else(|| QueryError("no Action parameter".into()))?;
    // An input with no member set (ListMetrics with no filter) is an empty structure.
    let input = match build(root) {
        Value::Null => Value::Map(Vec::new()),
        input => input,
    };
    Ok((action, input))
}

fn insert(root: &mut Node, key: &str, value: String) -> Result<(), QueryError> {
    let segments: Vec<&str> = key.split('.').collect();
    if segments.len() > 2 * MAX_DEPTH {
        return Err(QueryError(format!("parameter name nested deeper than {MAX_DEPTH} levels")));
    }
    let mut node = root;
    let mut rest = segments.as_slice();
    while let Some((first, tail)) = rest.split_first() {
        if first.is_empty() {
            return Err(QueryError(format!("empty segment in parameter name {key:?}")));
        }
        match (*first, tail.split_first()) {
            ("member", Some((index, after))) if index.parse::<u32>().is_ok_and(|n| n >= 1) => {
                node = node.items.entry(index.parse().expect("checked")).or_default();
                rest = after;
            }
            _ => {
                node = node.members.entry((*first).to_string()).or_default();
                rest = tail;
            }
        }
    }
    node.text = Some(value);
    Ok(())
}

/// A node as a value: its list items, else its members, else its text (depth is bounded by
/// [`insert`]).
fn build(node: Node) -> Value {
    if !node.items.is_empty() {
        return Value::List(node.items.into_values().map(build).collect());
    }
    if !node.members.is_empty() {
        return Value::Map(node.members.into_iter().map(|(k, v)| (k, build(v))).collect());
    }
    node.text.map_or(Value::Null, Value::Str)
}

/// An XML writer that cannot fail (it writes to a `Vec`).
struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn new() -> Self {
        let mut writer = Writer::new(Vec::new());
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).expect("writing to a Vec");
        Self(writer)
    }

    fn open(&mut self, tag: &str, namespace: Option<&str>) {
        let mut start = BytesStart::new(tag);
        if let Some(namespace) = namespace {
            start.push_attribute(("xmlns", namespace));
        }
        self.0.write_event(Event::Start(start)).expect("writing to a Vec");
    }

    fn close(&mut self, tag: &str) {
        self.0.write_event(Event::End(BytesEnd::new(tag))).expect("writing to a Vec");
    }

    fn text(&mut self, text: &str) {
        if !text.is_empty() {
            self.0.write_event(Event::Text(BytesText::new(text))).expect("writing to a Vec");
        }
    }

    fn leaf(&mut self, tag: &str, text: &str) {
        self.open(tag, None);
        self.text(text);
        self.close(tag);
    }

    fn value(&mut self, tag: &str, value: &Value) {
        self.open(tag, None);
        match value {
            Value::Null | Value::Other => {}
            Value::Bool(b) => self.text(&b.to_string()),
            Value::Int(n) => self.text(&n.to_string()),
            Value::Float(x) => self.text(&x.to_string()),
            Value::Str(s) => self.text(s),
            Value::Timestamp(t) => self.text(&iso8601(*t)),
            Value::List(items) => {
                for item in items {
                    self.value("member", item);
                }
            }
            Value::Map(members) => {
                for (name, member) in members {
                    self.value(name, member);
                }
            }
        }
        self.close(tag);
    }

    fn finish(self) -> Vec<u8> {
        self.0.into_inner()
    }
}

/// `2026-06-01T10:00:00.000Z`.
fn iso8601(t: f64) -> String {
    let nanos = (t * 1e9) as i128;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    at.format(&format).expect("timestamps format")
}

/// Parses an ISO 8601 / RFC 3339 timestamp (`2026-06-01T10:00:00Z`, with or without fractional
/// seconds or an offset) into epoch seconds.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(at.unix_timestamp_nanos() as f64 / 1e9)
}

/// The `<{action}Response>` document holding `result`'s members in `<{action}Result>`.
pub fn response(action: &str, result: &Value, request_id: &str) -> Vec<u8> {
    let mut x = Xml::new();
    let root = format!("{action}Response");
    x.open(&root, Some(NAMESPACE));
    x.value(&format!("{action}Result"), result);
    x.open("ResponseMetadata", None);
    x.leaf("RequestId", request_id);
    x.close("ResponseMetadata");
    x.close(&root);
    x.finish()
}

/// The query protocol's error document; `sender` picks `<Type>Sender</Type>` or `Receiver`.
pub fn error_document(code: &str, message: &str, sender: bool, request_id: &str) -> Vec<u8> {
    let mut x = Xml::new();
    x.open("ErrorResponse", Some(NAMESPACE));
    x.open("Error", None);
    x.leaf("Type", if sender { "Sender" } else { "Receiver" });
    x.leaf("Code", code);
    x.leaf("Message", message);
    x.close("Error");
    x.leaf("RequestId", request_id);
    x.close("ErrorResponse");
    x.finish()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::cloudwatch::value::strategy;

    #[test]
    fn builds_nested_lists_and_structures_from_the_form() {
        let form = b"Action=GetMetricData&Version=2010-08-01\
            &MetricDataQueries.member.2.Id=b&MetricDataQueries.member.1.Id=a\
            &MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name=Service\
            &MetricDataQueries.member.1.MetricStat.Period=60&StartTime=2026-06-01T10%3A00%3A00Z";
        let (action, input) = decode(form).unwrap();
        assert_eq!(action, "GetMetricData");
        let Some(Value::List(queries)) = input.get("MetricDataQueries") else { panic!("{input:?}") };
        assert_eq!(queries[0].get("Id"), Some(&Value::str("a")));
        assert_eq!(queries[1].get("Id"), Some(&Value::str("b")));
        let stat = queries[0].get("MetricStat").unwrap();
        assert_eq!(stat.get("Period"), Some(&Value::str("60")));
        let Some(Value::List(dimensions)) = stat.get("Metric").and_then(|m| m.get("Dimensions")) else { panic!() };
        assert_eq!(dimensions[0].get("Name"), Some(&Value::str("Service")));
        assert_eq!(parse_timestamp("2026-06-01T10:00:00Z"), Some(1_780_308_000.0));
        assert_eq!(parse_timestamp("2026-06-01T10:00:00.500Z"), Some(1_780_308_000.5));
        assert!(decode(b"Version=2010-08-01").is_err(), "no Action");
        assert_eq!(decode(b"Action=ListMetrics&Version=2010-08-01").unwrap().1, Value::Map(Vec::new()));
        assert!(decode(format!("Action=X&{}=1", "a.".repeat(100) + "a").as_bytes()).is_err());
    }

    #[test]
    fn writes_results_and_errors_as_cloudwatch_does() {
        let result = Value::map([
            ("Label", Value::str("ActiveSessionCount")),
            ("Datapoints", Value::List(vec![Value::map([("Timestamp", Value::Timestamp(1_780_308_000.0))])])),
        ]);
        let xml = String::from_utf8(response("GetMetricStatistics", &result, "req-1")).unwrap();
        assert!(xml.contains(
            "<GetMetricStatisticsResult><Label>ActiveSessionCount</Label><Datapoints><member>\
             <Timestamp>2026-06-01T10:00:00.000Z</Timestamp></member></Datapoints></GetMetricStatisticsResult>"
        ));
        assert!(xml.contains("<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"));
        let error = String::from_utf8(error_document("InvalidParameterValue", "a < b", true, "req-2")).unwrap();
        assert!(error.contains("<Type>Sender</Type><Code>InvalidParameterValue</Code><Message>a &lt; b</Message>"));
    }

    /// The form a query-protocol client writes for `input` (a structure): `member.N` for list items,
    /// dotted paths for members.
    fn form(action: &str, input: &Value) -> String {
        fn flatten(prefix: &str, value: &Value, pairs: &mut Vec<(String, String)>) {
            match value {
                Value::Str(text) => pairs.push((prefix.to_string(), text.clone())),
                Value::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        flatten(&format!("{prefix}.member.{}", i + 1), item, pairs);
                    }
                }
                Value::Map(members) => {
                    for (name, member) in members {
                        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                        flatten(&path, member, pairs);
                    }
                }
                other => panic!("the query protocol writes no {other:?}"),
            }
        }
        let mut pairs = vec![("Action".to_string(), action.to_string()), ("Version".to_string(), "2010-08-01".into())];
        flatten("", input, &mut pairs);
        serde_urlencoded::to_string(pairs).unwrap()
    }

    /// What the query protocol can carry: strings in non-empty lists and structures (an empty one
    /// writes no parameter), named as CloudWatch's members are.
    fn form_input() -> impl Strategy<Value = Value> {
        let member = "[A-Z][A-Za-z0-9]{0,7}";
        let leaf = ".{0,10}".prop_map(Value::Str);
        let tree = leaf.prop_recursive(4, 32, 4, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 1..4).prop_map(Value::List),
                proptest::collection::btree_map(member, inner, 1..4)
                    .prop_map(|members| Value::Map(members.into_iter().collect())),
            ]
        });
        proptest::collection::btree_map(member, tree, 0..5)
            .prop_filter("Action and Version are the protocol's", |m| {
                !m.contains_key("Action") && !m.contains_key("Version")
            })
            .prop_map(|members| Value::Map(members.into_iter().collect()))
    }

    proptest! {
        /// Any form decodes to an action and a structure within the depth bound, or to a clean error.
        #[test]
        fn fuzz_cloudwatch_query_decode(form in "[A-Za-z0-9.=&%]{0,200}") {
            if let Ok((_, input)) = decode(form.as_bytes()) {
                prop_assert!(matches!(input, Value::Map(_) | Value::List(_)), "{:?}", input);
                prop_assert!(strategy::depth(&input) <= 2 * MAX_DEPTH, "{:?}", input);
            }
        }

        /// Forms shaped like CloudWatch's (paths with `member.N`, numbers, escapes) decode or fail
        /// cleanly too; any bytes at all never panic.
        #[test]
        fn fuzz_cloudwatch_query_structured(
            pairs in proptest::collection::vec(
                (
                    proptest::collection::vec(prop_oneof![Just("member".to_string()), "[0-9]{1,3}", "[A-Za-z]{0,4}"], 1..8),
                    ".{0,8}",
                ),
                0..12,
            ),
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let pairs: Vec<(String, String)> = pairs.into_iter().map(|(path, value)| (path.join("."), value)).collect();
            let form = serde_urlencoded::to_string(&pairs).unwrap() + "&Action=ListMetrics";
            // The only refusal such a form can earn: a parameter name with an empty segment.
            let malformed = pairs.iter().any(|(name, _)| name.split('.').any(str::is_empty));
            match decode(form.as_bytes()) {
                Ok((action, input)) => {
                    prop_assert!(!malformed, "{} decoded", form);
                    prop_assert_eq!(action, "ListMetrics");
                    prop_assert!(matches!(input, Value::Map(_) | Value::List(_)), "{:?}", input);
                }
                Err(error) => prop_assert!(malformed, "{}: {}", form, error),
            }
            let _ = decode(&bytes);
        }

        /// Every input a query-protocol client can write decodes to itself.
        #[test]
        fn fuzz_cloudwatch_query_round_trip(input in form_input()) {
            let written = form("GetMetricData", &input);
            let (action, decoded) = decode(written.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(action, "GetMetricData");
            prop_assert_eq!(decoded, input);
        }
    }
}
