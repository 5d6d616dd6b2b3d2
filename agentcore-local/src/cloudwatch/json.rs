//! AWS JSON 1.0 bodies (what botocore, so boto3 and the AWS CLI, send CloudWatch: `json` comes
//! before `smithy-rpc-v2-cbor` in botocore's protocol preference). Timestamps are epoch seconds, as
//! numbers. `serde_json` bounds nesting itself (128 levels); [`MAX_DEPTH`] applies on top.

use serde_json::Number;

use super::value::{MAX_DEPTH, Value};

/// Why a body is not a JSON document this service reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed JSON body: {0}")]
pub struct JsonError(pub String);

/// Decodes a JSON body; an empty body is an empty object.
pub fn decode(body: &[u8]) -> Result<Value, JsonError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Map(Vec::new()));
    }
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| JsonError(e.to_string()))?;
    convert(json, 0)
}

fn convert(json: serde_json::Value, depth: usize) -> Result<Value, JsonError> {
    if depth > MAX_DEPTH {
        return Err(JsonError(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    Ok(match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(items) => {
            Value::List(items.into_iter().map(|v| convert(v, depth + 1)).collect::<Result<_, _>>()?)
        }
        serde_json::Value::Object(members) => Value::Map(
            members.into_iter().map(|(k, v)| Ok((k, convert(v, depth + 1)?))).collect::<Result<_, JsonError>>()?,
        ),
    })
}

/// Renders `value` as JSON (timestamps as epoch seconds).
pub fn encode(value: &Value) -> Vec<u8> {
    serde_json::to_vec(&to_json(value)).expect("a JSON value serialises")
}

fn number(x: f64) -> serde_json::Value {
    Number::from_f64(x).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null | Value::Other => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(n) => serde_json::Value::from(*n),
        Value::Float(x) | Value::Timestamp(x) => number(*x),
        Value::Str(s) => serde_json::Value::String(s.clone()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Map(members) => {
            serde_json::Value::Object(members.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::cloudwatch::value::strategy;

    #[test]
    fn reads_botocores_get_metric_statistics_body() {
        let body = br#"{"Namespace": "AWS/Bedrock-AgentCore", "StartTime": 1800000000, "EndTime": 1800000060.5,
                        "Statistics": ["Maximum"], "Dimensions": [{"Name": "Service", "Value": "AgentCore.Runtime"}]}"#;
        let value = decode(body).unwrap();
        assert_eq!(value.get("StartTime"), Some(&Value::Int(1_800_000_000)));
        assert_eq!(value.get("EndTime"), Some(&Value::Float(1_800_000_060.5)));
        assert_eq!(value.get("Statistics"), Some(&Value::List(vec![Value::str("Maximum")])));
        assert_eq!(decode(b" ").unwrap(), Value::Map(Vec::new()));
        assert!(decode(b"{").is_err());
        let deep = format!("{}1{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        assert!(decode(deep.as_bytes()).is_err());
    }

    /// What JSON writes and reads back as itself: timestamps are written as plain numbers.
    fn json_scalar() -> impl Strategy<Value = Value> {
        strategy::scalar().prop_filter("not a timestamp", |v| !matches!(v, Value::Timestamp(_)))
    }

    /// Whether `a` and `b` are the same document, numbers within a few units in the last place:
    /// `serde_json` (without its `float_roundtrip` feature) may read back a float written with 17
    /// digits one or two ulps off. CloudWatch's numbers (counts, epoch seconds) are far shorter.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => {
                x == y || (x - y).abs() <= 1e-15 * x.abs().max(y.abs()).max(f64::MIN_POSITIVE)
            }
            (Value::List(a), Value::List(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b)),
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((k, a), (l, b))| k == l && same(a, b))
            }
            (a, b) => a == b,
        }
    }

    proptest! {
        /// Any bytes decode to a value within the depth bound or to a clean error, never a panic;
        /// what decodes re-encodes to the same value.
        #[test]
        fn fuzz_cloudwatch_json_decode(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(value) = decode(&body) {
                prop_assert!(strategy::depth(&value) <= MAX_DEPTH + 1, "{:?}", value);
                let again = decode(&encode(&value)).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(same(&again, &value), "{:?} became {:?}", value, again);
            }
        }

        /// Text shaped like JSON (brackets, numbers, strings) decodes or fails cleanly too.
        #[test]
        fn fuzz_cloudwatch_json_structured(body in r#"[\[\]{}",:0-9eE.+\- a-z\\]{0,128}"#) {
            if let Ok(value) = decode(body.as_bytes()) {
                let again = decode(&encode(&value)).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(same(&again, &value), "{:?} became {:?}", value, again);
            }
        }

        /// Every document without timestamps is written and read back unchanged.
        #[test]
        fn fuzz_cloudwatch_json_round_trip(value in strategy::document(json_scalar())) {
            let again = decode(&encode(&value)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(same(&again, &value), "{:?} became {:?}", value, again);
        }
    }
}
