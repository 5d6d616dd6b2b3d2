//! Reading the results the measured tools wrote.

use std::fs;
use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

/// A JSON file a tool wrote (loadgen's `--out`, criterion's estimates).
pub fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The number at `pointer` (RFC 6901, e.g. `/latency_ms/corrected/p99`) in `document`.
pub fn number_at(document: &Value, pointer: &str) -> anyhow::Result<f64> {
    let value = document.pointer(pointer).with_context(|| format!("no {pointer} in the results"))?;
    value.as_f64().with_context(|| format!("{pointer} is not a number: {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_by_their_path_in_the_document() {
        let report: Value = serde_json::from_str(
            r#"{
  "achieved_rps": 1999.5,
  "latency_ms": {
    "corrected": { "p50": 0.4, "p99": 1.25 },
    "schedule_lag": { "p50": 0.1, "p99": 0.75 }
  }
}"#,
        )
        .unwrap();
        assert_eq!(number_at(&report, "/achieved_rps").unwrap(), 1999.5);
        assert_eq!(number_at(&report, "/latency_ms/schedule_lag/p99").unwrap(), 0.75);
        assert_eq!(number_at(&report, "/latency_ms/corrected/p99").unwrap(), 1.25);
        assert_eq!(number_at(&report, "/missing").unwrap_err().to_string(), "no /missing in the results");
        assert!(number_at(&report, "/latency_ms").unwrap_err().to_string().contains("is not a number"));
    }

    #[test]
    fn keys_in_string_values_or_other_objects_are_not_taken_for_the_one_asked() {
        // A value spelled like a key, and a key missing where it is asked for but present further on:
        // a substring search for `"achieved_rps"` lands in the `model` string, and one for
        // `"corrected"` then `"p99"` reads schedule_lag's p99 for corrected's.
        let report: Value = serde_json::from_str(
            r#"{"model": "achieved_rps", "achieved_rps": 5,
                "latency_ms": {"corrected": {"p50": 0.4}, "schedule_lag": {"p99": 0.75}}}"#,
        )
        .unwrap();
        assert_eq!(number_at(&report, "/achieved_rps").unwrap(), 5.0);
        assert!(number_at(&report, "/latency_ms/corrected/p99").is_err());
        // Keys in any order, compact or not.
        let reordered: Value =
            serde_json::from_str(r#"{"latency_ms":{"schedule_lag":{"p99":9},"corrected":{"p99":1}},"achieved_rps":2}"#)
                .unwrap();
        assert_eq!(number_at(&reordered, "/latency_ms/corrected/p99").unwrap(), 1.0);
    }
}
