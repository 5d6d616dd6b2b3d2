//! `--fail-if` thresholds, as k6's: a condition on the results that, when true, fails the run (exit
//! code 1), e.g. `error_rate>0.01`, `p99>250ms`, `rps<1000`, `lag_p99>=1ms`.
//!
//! `METRIC OP VALUE`, OP one of `>`, `>=`, `<`, `<=`. Metrics:
//! - `error_rate`: failed / (ok + failed), a fraction (`0.01`) or a percentage (`1%`);
//! - counts: `errors` (failed requests), `ok`, `total`, `cancelled`, `dropped`;
//! - rates (requests/s): `rps` (achieved: completed per second of the run), `offered_rps` (sent per
//!   second of sending);
//! - latency, with a unit (`250ms`, `1.5s`, `800us`): `p50`, `p90`, `p99`, `p99.9`, `max`, `mean` of
//!   the corrected latency, or of another histogram with a prefix: `uncorrected_p99`, `ttfb_p50`,
//!   `lag_p99` (the open model's schedule lag).

use std::fmt;
use std::str::FromStr;

use crate::report::{Percentiles, Report};

/// A parsed `--fail-if` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    metric: Metric,
    op: Op,
    /// In the metric's unit (milliseconds for latency, a fraction for `error_rate`).
    value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Above,
    AtLeast,
    Below,
    AtMost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    ErrorRate,
    Count(Count),
    Rps,
    OfferedRps,
    Latency(Histogram, Statistic),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    Errors,
    Ok,
    Total,
    Cancelled,
    Dropped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Histogram {
    Corrected,
    Uncorrected,
    Ttfb,
    Lag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Statistic {
    P50,
    P90,
    P99,
    P99_9,
    Max,
    Mean,
}

const COUNTS: [(&str, Count); 5] = [
    ("errors", Count::Errors),
    ("ok", Count::Ok),
    ("total", Count::Total),
    ("cancelled", Count::Cancelled),
    ("dropped", Count::Dropped),
];
const HISTOGRAMS: [(&str, Histogram); 4] = [
    ("uncorrected_", Histogram::Uncorrected),
    ("ttfb_", Histogram::Ttfb),
    ("lag_", Histogram::Lag),
    ("", Histogram::Corrected),
];
const STATISTICS: [(&str, Statistic); 6] = [
    ("p50", Statistic::P50),
    ("p90", Statistic::P90),
    ("p99.9", Statistic::P99_9),
    ("p99", Statistic::P99),
    ("max", Statistic::Max),
    ("mean", Statistic::Mean),
];
const OPS: [(&str, Op); 4] = [(">=", Op::AtLeast), ("<=", Op::AtMost), (">", Op::Above), ("<", Op::Below)];

/// Why a `--fail-if` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid --fail-if {text:?}: {reason} (expected METRIC OP VALUE such as `error_rate>0.01`, `p99>250ms`, `rps<1000`)"
)]
pub struct ThresholdError {
    text: String,
    reason: String,
}

impl FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| ThresholdError { text: text.to_string(), reason };
        let (at, symbol, op) = OPS
            .iter()
            .filter_map(|&(symbol, op)| text.find(symbol).map(|at| (at, symbol, op)))
            .min_by_key(|&(at, symbol, _)| (at, std::cmp::Reverse(symbol.len())))
            .ok_or_else(|| fail("no comparison (>, >=, <, <=)".into()))?;
        let (name, value) = (text[..at].trim(), text[at + symbol.len()..].trim());
        if value.is_empty() {
            return Err(fail("no value after the comparison".into()));
        }
        let metric = metric(name).ok_or_else(|| fail(format!("unknown metric {name:?}")))?;
        let number = |v: &str| {
            v.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0).ok_or_else(|| fail(format!("value {v:?}")))
        };
        let value = match metric {
            Metric::ErrorRate => match value.strip_suffix('%') {
                Some(percent) => number(percent.trim())? / 100.0,
                None => number(value)?,
            },
            Metric::Latency(..) => {
                if value.parse::<f64>().is_ok() {
                    return Err(fail(format!("give the latency a unit: {value}ms or {value}s")));
                }
                duration_flag::parse(value).map_err(|e| fail(e.to_string()))?.as_nanos() as f64 / 1e6
            }
            _ => number(value)?,
        };
        Ok(Self { metric, op, value })
    }
}

fn metric(name: &str) -> Option<Metric> {
    match name {
        "error_rate" => return Some(Metric::ErrorRate),
        "rps" => return Some(Metric::Rps),
        "offered_rps" => return Some(Metric::OfferedRps),
        _ => {}
    }
    if let Some(&(_, count)) = COUNTS.iter().find(|(n, _)| *n == name) {
        return Some(Metric::Count(count));
    }
    HISTOGRAMS.iter().find_map(|&(prefix, histogram)| {
        let rest = name.strip_prefix(prefix)?;
        STATISTICS.iter().find(|(n, _)| *n == rest).map(|&(_, statistic)| Metric::Latency(histogram, statistic))
    })
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = OPS.iter().find(|(_, op)| *op == self.op).map_or("?", |(symbol, _)| symbol);
        match self.metric {
            Metric::ErrorRate => write!(f, "error_rate{op}{}", self.value),
            Metric::Rps => write!(f, "rps{op}{}", self.value),
            Metric::OfferedRps => write!(f, "offered_rps{op}{}", self.value),
            Metric::Count(count) => {
                let name = COUNTS.iter().find(|(_, c)| *c == count).map_or("?", |(n, _)| n);
                write!(f, "{name}{op}{}", self.value)
            }
            Metric::Latency(histogram, statistic) => {
                let prefix = HISTOGRAMS.iter().find(|(_, h)| *h == histogram).map_or("?", |(p, _)| p);
                let name = STATISTICS.iter().find(|(_, s)| *s == statistic).map_or("?", |(n, _)| n);
                write!(f, "{prefix}{name}{op}{}ms", self.value)
            }
        }
    }
}

/// A threshold checked against a report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// The condition, as it reads back (`p99>250ms`).
    pub condition: String,
    /// The metric's value in the run (milliseconds for latency).
    pub actual: f64,
    /// Whether the condition is true: then the run fails.
    pub crossed: bool,
}

impl Threshold {
    /// Evaluates the condition on `report`.
    pub fn check(&self, report: &Report) -> Verdict {
        let actual = self.actual(report);
        let crossed = match self.op {
            Op::Above => actual > self.value,
            Op::AtLeast => actual >= self.value,
            Op::Below => actual < self.value,
            Op::AtMost => actual <= self.value,
        };
        Verdict { condition: self.to_string(), actual, crossed }
    }

    fn actual(&self, report: &Report) -> f64 {
        match self.metric {
            Metric::ErrorRate => {
                let finished = report.ok + report.failed_total;
                if finished == 0 { 0.0 } else { report.failed_total as f64 / finished as f64 }
            }
            Metric::Rps => report.achieved_rps,
            Metric::OfferedRps => report.offered_rps,
            Metric::Count(count) => {
                let n = match count {
                    Count::Errors => report.failed_total,
                    Count::Ok => report.ok,
                    Count::Total => report.total,
                    Count::Cancelled => report.cancelled,
                    Count::Dropped => report.dropped,
                };
                n as f64
            }
            Metric::Latency(histogram, statistic) => {
                let l = &report.latency_ms;
                let p: &Percentiles = match histogram {
                    Histogram::Corrected => &l.corrected,
                    Histogram::Uncorrected => &l.uncorrected,
                    Histogram::Ttfb => &l.ttfb,
                    Histogram::Lag => &l.schedule_lag,
                };
                match statistic {
                    Statistic::P50 => p.p50,
                    Statistic::P90 => p.p90,
                    Statistic::P99 => p.p99,
                    Statistic::P99_9 => p.p99_9,
                    Statistic::Max => p.max,
                    Statistic::Mean => p.mean,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::record::Totals;
    use crate::report::RunFacts;

    fn report() -> Report {
        let mut totals = Totals { ok: 990, ..Totals::default() };
        totals.failed.insert("HTTP 503".into(), crate::record::ClassCount { count: 10, samples: vec![] });
        for us in [1_000, 2_000, 300_000] {
            totals.histograms.corrected.record(us).unwrap();
        }
        Report::new(RunFacts { started: 1000, duration_s: 10.0, sending_s: 10.0, ..RunFacts::default() }, &totals)
    }

    fn crossed(text: &str) -> bool {
        text.parse::<Threshold>().unwrap().check(&report()).crossed
    }

    #[test]
    fn conditions_fail_the_run_when_true() {
        assert!(crossed("error_rate>0.005") && !crossed("error_rate>0.01") && crossed("error_rate>=1%"));
        assert!(crossed("errors>0") && !crossed("dropped>0") && crossed("total>=1000"));
        assert!(crossed("rps<101") && !crossed("rps<99") && crossed("offered_rps<=100"));
        assert!(crossed("max>250ms") && !crossed("p50>250ms") && crossed("p50 >= 1ms") && crossed("p99>0.25s"));
        assert!(!crossed("lag_p99>1ms"), "an empty histogram reads 0");
        let verdict = "p99.9 > 250ms".parse::<Threshold>().unwrap().check(&report());
        assert_eq!(verdict.condition, "p99.9>250ms");
        assert!(verdict.crossed && (verdict.actual - 300.0).abs() < 1.0, "{verdict:?}");
    }

    #[test]
    fn bad_conditions_say_why() {
        for (text, why) in [
            ("p99", "no comparison"),
            ("p99>", "no value"),
            ("p98>1ms", "unknown metric"),
            ("p99>250", "give the latency a unit"),
            ("error_rate>lots", "value"),
            ("rps>-1", "value"),
        ] {
            let error = text.parse::<Threshold>().unwrap_err().to_string();
            assert!(error.contains(why), "{text}: {error}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any text parses or is refused without panicking; what parses reads back as itself.
        #[test]
        fn fuzz_thresholds_parse_or_refuse(text in "[a-z_.0-9 %<>=]{0,24}") {
            if let Ok(threshold) = text.parse::<Threshold>() {
                prop_assert_eq!(threshold.to_string().parse::<Threshold>().unwrap(), threshold);
            }
        }

        #[test]
        fn fuzz_known_metrics_round_trip(
            metric in prop::sample::select(vec!["error_rate", "errors", "rps", "p99", "lag_p99", "ttfb_max"]),
            op in prop::sample::select(vec![">", ">=", "<", "<="]),
            value in 0u32..100_000,
        ) {
            let unit = if metric.contains('p') && metric != "rps" || metric.ends_with("max") { "ms" } else { "" };
            let text = format!("{metric}{op}{value}{unit}");
            let threshold: Threshold = text.parse().unwrap();
            prop_assert_eq!(threshold.to_string(), text);
        }
    }
}
