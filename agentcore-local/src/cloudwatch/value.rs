//! The protocol-neutral document every CloudWatch wire format decodes into and renders from: CBOR
//! ([`super::cbor`]), AWS JSON 1.0 ([`super::json`]) and the query protocol ([`super::query`]).
//! Maps keep their members in order (the query protocol's XML follows the model's member order).

/// Deepest nesting a request may have. GetMetricData's input is 7 levels deep
/// (`MetricDataQueries[].MetricStat.Metric.Dimensions[]`); decoders refuse deeper documents before
/// recursing further.
pub const MAX_DEPTH: usize = 32;

/// One decoded value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Seconds since the Unix epoch (CBOR tag 1; JSON writes a number, the query protocol ISO 8601).
    Timestamp(f64),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
    /// Something no CloudWatch input member can be (a CBOR byte string, an unknown simple value).
    Other,
}

impl Value {
    /// A map from `(name, value)` pairs, in this order.
    pub fn map<const N: usize>(members: [(&str, Value); N]) -> Self {
        Self::Map(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    pub fn str(text: impl Into<String>) -> Self {
        Self::Str(text.into())
    }

    /// The member `name` of a map (the first one of that name), if present and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Self::Map(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v).filter(|v| **v != Self::Null),
            _ => None,
        }
    }

    /// The kind of value, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Int(_) => "an integer",
            Self::Float(_) => "a number",
            Self::Str(_) => "a string",
            Self::Timestamp(_) => "a timestamp",
            Self::List(_) => "a list",
            Self::Map(_) => "a structure",
            Self::Other => "an unsupported value",
        }
    }
}

/// Documents for property tests: what each wire format must carry unchanged.
#[cfg(test)]
pub mod strategy {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::Value;

    /// A scalar every wire format writes and reads back exactly (finite numbers; timestamps on
    /// quarter seconds, which binary floats and CBOR's epoch seconds hold exactly).
    pub fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(Value::Float),
            ".{0,12}".prop_map(Value::Str),
            (0i64..253_402_300_799, 0u8..4).prop_map(|(s, q)| Value::Timestamp(s as f64 + f64::from(q) / 4.0)),
        ]
    }

    /// Documents of `leaf`s, nested up to 5 levels, with unique member names in sorted order (what
    /// a JSON object keeps).
    pub fn document(leaf: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Value> {
        leaf.prop_recursive(5, 48, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
                proptest::collection::btree_map("[A-Za-z][A-Za-z0-9_]{0,8}", inner, 0..5)
                    .prop_map(|members: BTreeMap<String, Value>| Value::Map(members.into_iter().collect())),
            ]
        })
    }

    /// The depth of `value`'s nesting (a scalar is 0).
    pub fn depth(value: &Value) -> usize {
        match value {
            Value::List(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Map(members) => 1 + members.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
            _ => 0,
        }
    }
}
