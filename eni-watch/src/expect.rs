//! What a sample should show, and the [`Check`] each sample gets. Verdicts come from
//! `eni_model::compare`; this module only picks what to compare against.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use eni_model::{EniPlan, EniRange, Expected, compare};

use crate::eni::Eni;
use crate::timeline::Check;

/// The prediction samples are held against.
#[derive(Clone)]
pub enum Expectation {
    /// Only the number of ENIs, within `min..=max` (`--expect-count N` is `N..=N`).
    Count { min: usize, max: usize },
    /// Exact keys: `plan.expected()`, or `range.expected()` of one moment.
    Keys(Expected),
    /// A range per moment of the watch: at `t` seconds the last range with `at <= t` applies
    /// (the first one before that). Ranges must be sorted by `at`.
    Ranges(Vec<EniRange>),
    /// Anything that knows the expectation at a moment of the watch (for example a caller
    /// holding an `eni_model::Lifecycle` next to a load).
    Dynamic(Arc<dyn Fn(Duration) -> Expected + Send + Sync>),
}

impl fmt::Debug for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl From<&EniPlan> for Expectation {
    fn from(plan: &EniPlan) -> Self {
        Expectation::Keys(plan.expected())
    }
}

impl From<&EniRange> for Expectation {
    fn from(range: &EniRange) -> Self {
        Expectation::Keys(range.expected())
    }
}

/// Why an expectation file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path}: not an eni-model plan (EniPlan JSON), ENI range (EniRange JSON) or list of ranges: {plan_error}"
)]
pub struct ExpectationFileError {
    pub path: String,
    pub plan_error: serde_json::Error,
}

impl Expectation {
    /// Reads the JSON of an `EniPlan`, an `EniRange`, or a list of `EniRange`s.
    pub fn from_json(path: &str, text: &str) -> Result<Self, ExpectationFileError> {
        let plan_error = match serde_json::from_str::<EniPlan>(text) {
            Ok(plan) => return Ok((&plan).into()),
            Err(e) => e,
        };
        if let Ok(range) = serde_json::from_str::<EniRange>(text) {
            return Ok((&range).into());
        }
        if let Ok(mut ranges) = serde_json::from_str::<Vec<EniRange>>(text)
            && !ranges.is_empty()
        {
            ranges.sort_by_key(|r| r.at);
            return Ok(Expectation::Ranges(ranges));
        }
        Err(ExpectationFileError { path: path.to_string(), plan_error })
    }

    /// One line for the start of the timeline.
    pub fn describe(&self) -> String {
        match self {
            Expectation::Count { min, max } if min == max => format!("count {min}"),
            Expectation::Count { min, max } => format!("count {min}..={max}"),
            Expectation::Keys(e) => format!("{} required and {} optional ENI keys", e.required.len(), e.optional.len()),
            Expectation::Ranges(r) => format!("{} ENI ranges over time", r.len()),
            Expectation::Dynamic(_) => "a prediction over time".to_string(),
        }
    }

    /// How `enis`, observed `elapsed` after the start, holds up.
    pub fn check(&self, elapsed: Duration, enis: &[Eni]) -> Check {
        match self {
            Expectation::Count { min, max } => count_check(*min, *max, enis),
            Expectation::Keys(expected) => keys_check(expected, enis),
            Expectation::Ranges(ranges) => {
                let i = ranges.partition_point(|r| r.at <= elapsed).saturating_sub(1);
                keys_check(&ranges[i].expected(), enis)
            }
            Expectation::Dynamic(at) => keys_check(&at(elapsed), enis),
        }
    }
}

fn keys_check(expected: &Expected, enis: &[Eni]) -> Check {
    let observed: Vec<_> = enis.iter().map(Eni::observed).collect();
    let verdict = compare(expected, &observed);
    let ok = verdict.is_match();
    Check {
        ok,
        expected_min: verdict.expected_min,
        expected_max: verdict.expected_max,
        observed: verdict.observed,
        diff: (!ok).then(|| verdict.to_string()),
    }
}

fn count_check(min: usize, max: usize, enis: &[Eni]) -> Check {
    let n = enis.len();
    let ok = (min..=max).contains(&n);
    let diff = (!ok).then(|| {
        let range = if min == max { min.to_string() } else { format!("{min}..={max}") };
        let mut out = format!("ENIs: expected {range}, observed {n}: MISMATCH\n");
        for eni in enis {
            let ip = eni.private_ip.as_deref().unwrap_or("-");
            let _ = writeln!(
                out,
                "? {} [{}]  {} {ip} {} {}",
                eni.subnet,
                eni.security_groups.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", "),
                eni.id,
                eni.interface_type,
                eni.status
            );
        }
        out
    });
    Check { ok, expected_min: min, expected_max: max, observed: n, diff }
}
