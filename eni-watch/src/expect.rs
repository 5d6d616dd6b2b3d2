//! What a sample should show, and the [`Check`] each sample gets. Verdicts come from
//! `eni_model::judge` (`compare` without copying the ENIs); this module only picks what to compare
//! against.

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use eni_model::{EniPlan, EniRange, Expected, judge};

use crate::eni::Eni;
use crate::timeline::Check;

/// The prediction samples are held against.
#[derive(Clone)]
pub enum Expectation {
    /// Only the number of ENIs, within `min..=max` (`--expect-count N` is `N..=N`).
    Count {
        /// The fewest ENIs that match.
        min: usize,
        /// The most ENIs that match.
        max: usize,
    },
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
#[error("{path}: not an eni-model plan (EniPlan JSON), ENI range (EniRange JSON) or list of ranges: {plan_error}")]
pub struct ExpectationFileError {
    /// The file.
    pub path: String,
    /// Why it is not an `EniPlan` (the most common kind of file, so the most useful error).
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

/// Diffs show the matched (`=`, `~`) lines only up to this many; beyond, only what is wrong.
const MATCHED_LINES_SHOWN: usize = 50;

fn keys_check(expected: &Expected, enis: &[Eni]) -> Check {
    let mut verdict = judge(expected, enis);
    let ok = verdict.is_match();
    let diff = (!ok).then(|| {
        let hidden = verdict.matched.len();
        if hidden <= MATCHED_LINES_SHOWN {
            return verdict.to_string();
        }
        verdict.matched.clear();
        format!("{verdict}({hidden} matching ENIs not shown)\n")
    });
    Check {
        ok,
        expected_min: verdict.expected_min,
        expected_max: verdict.expected_max,
        observed: verdict.observed,
        diff,
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use eni_model::EniKey;

    use super::*;

    fn key(subnet: &str) -> EniKey {
        EniKey::new(subnet.parse().unwrap(), ["sg-0aaaaaaaaaaaaaaaa".parse().unwrap()])
    }

    fn range(at: u64, in_use: &[&str]) -> EniRange {
        let in_use: Vec<EniKey> = in_use.iter().map(|s| key(s)).collect();
        EniRange { at: Duration::from_secs(at), min: in_use.len(), max: in_use.len(), in_use, lingering: vec![] }
    }

    fn eni(subnet: &str) -> Eni {
        Eni {
            id: format!("eni-{subnet}"),
            subnet: subnet.parse().unwrap(),
            az: "us-east-1a".into(),
            az_id: "use1-az1".into(),
            vpc: "vpc-0aaaaaaaaaaaaaaaa".parse().unwrap(),
            security_groups: vec!["sg-0aaaaaaaaaaaaaaaa".parse().unwrap()],
            private_ip: None,
            interface_type: "agentic_ai".into(),
            status: "in-use".into(),
            requester_managed: true,
            tags: Default::default(),
        }
    }

    #[test]
    fn ranges_apply_from_their_time_on() {
        let (s1, s2) = ("subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb");
        let ranges = vec![range(0, &[s1]), range(60, &[s1, s2])];
        let text = serde_json::to_string(&ranges).unwrap();
        let expectation = Expectation::from_json("ranges.json", &text).unwrap();
        assert!(matches!(&expectation, Expectation::Ranges(r) if r.len() == 2));
        let one = [eni(s1)];
        let two = [eni(s1), eni(s2)];
        assert!(expectation.check(Duration::from_secs(59), &one).ok);
        assert!(!expectation.check(Duration::from_secs(59), &two).ok);
        assert!(expectation.check(Duration::from_secs(60), &two).ok);
        let missing = expectation.check(Duration::from_secs(61), &one);
        assert!(!missing.ok);
        assert!(missing.diff.unwrap().contains(&format!("- {}", key(s2))));
    }

    #[test]
    fn a_file_that_is_no_prediction_names_what_was_expected() {
        let err = Expectation::from_json("x.json", "{\"total\": 3}").unwrap_err();
        assert!(err.to_string().starts_with("x.json: not an eni-model plan"), "{err}");
        let single = serde_json::to_string(&range(0, &["subnet-0aaaaaaaaaaaaaaaa"])).unwrap();
        let Expectation::Keys(expected) = Expectation::from_json("r.json", &single).unwrap() else { panic!() };
        assert_eq!(expected.required, BTreeSet::from([key("subnet-0aaaaaaaaaaaaaaaa")]));
    }

    #[test]
    fn count_checks_list_what_was_seen() {
        let check = Expectation::Count { min: 2, max: 2 }.check(Duration::ZERO, &[eni("subnet-0aaaaaaaaaaaaaaaa")]);
        assert!(!check.ok);
        assert_eq!(
            check.diff.unwrap(),
            "ENIs: expected 2, observed 1: MISMATCH\n? subnet-0aaaaaaaaaaaaaaaa [sg-0aaaaaaaaaaaaaaaa]  eni-subnet-0aaaaaaaaaaaaaaaa - agentic_ai in-use\n"
        );
        assert!(Expectation::Count { min: 0, max: 1 }.check(Duration::ZERO, &[]).ok);
    }

    /// The check as it was made through `eni_model::compare`, on copies of the ENIs.
    fn check_through_compare(expected: &Expected, enis: &[Eni]) -> Check {
        let observed: Vec<_> = enis.iter().map(Eni::observed).collect();
        let mut verdict = eni_model::compare(expected, &observed);
        let ok = verdict.is_match();
        let diff = (!ok).then(|| {
            let hidden = verdict.matched.len();
            if hidden <= MATCHED_LINES_SHOWN {
                return verdict.to_string();
            }
            verdict.matched.clear();
            format!("{verdict}({hidden} matching ENIs not shown)\n")
        });
        let (expected_min, expected_max, observed) = (verdict.expected_min, verdict.expected_max, verdict.observed);
        Check { ok, expected_min, expected_max, observed, diff }
    }

    fn grid_eni(i: usize, interface_type: &str) -> Eni {
        let mut eni = eni(&format!("subnet-0{:016x}", i % 10));
        eni.id = format!("eni-{i:03}");
        eni.security_groups = vec![format!("sg-0{:016x}", i / 10).parse().unwrap()];
        eni.interface_type = interface_type.into();
        eni
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { failure_persistence: None, ..Default::default() })]
        #[test]
        fn checks_borrowing_the_enis_are_the_checks_on_copies(
            keys in 0usize..70,
            enis in 0usize..70,
            wrong_type in proptest::collection::vec(0usize..70, 0..3),
            optional in proptest::collection::vec(0usize..80, 0..4),
        ) {
            // Keys `0..keys` required, ENIs serving `0..enis` (some of another type), a few optional keys:
            // matches, missing keys, unexpected ENIs, and more than `MATCHED_LINES_SHOWN` matched.
            let key = |i: usize| grid_eni(i, eni_model::AGENTIC_AI).observed().key();
            let expected = Expected { required: (0..keys).map(key).collect(), optional: optional.into_iter().map(key).collect() };
            let sample: Vec<Eni> = (0..enis)
                .map(|i| grid_eni(i, if wrong_type.contains(&i) { "lambda" } else { eni_model::AGENTIC_AI }))
                .collect();
            proptest::prop_assert_eq!(keys_check(&expected, &sample), check_through_compare(&expected, &sample));
        }
    }
}
