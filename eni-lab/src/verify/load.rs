//! The load phase's two judgements, from what the SDK shows and nothing else:
//!
//! - **ENIs**: every sample the watcher took during the load (and a describe right before and right
//!   after) shows the same ENIs — same ids, same private IPs — as many as the model predicts. The
//!   load window must hold at least [`MIN_LOAD_SAMPLES`] successful polls ([`sample_check`]):
//!   with fewer (a load shorter than the watch interval, every poll a throttled gap) "unchanged
//!   during the load" would rest on the describes before and after alone, and the phase fails.
//! - **Quota**: each invocation is recorded as it is sent ([`Recorded`] wraps loadgen's target: send
//!   and finish time, session id, and the outcome the SDK reported). That schedule — the one actually
//!   sent, not the one intended — goes through [`eni_model::admit`] with the quota, and the model's
//!   admitted/refused counts are held against the observed successes and
//!   `ServiceQuotaExceededException`s.
//!
//! ## Tolerance
//! The counts may differ by at most `max(2, ⌈2 % of the quota⌉)` ([`tolerance`]). With unique session
//! ids and nothing ending, the model is exact (it admits exactly the quota); what it cannot know from
//! the client side is *when* a session ends on the service side and which of the calls racing for the
//! slot it frees gets it: a microVM that fails to start or exits by itself frees its slot (a failed
//! start shows as `RuntimeClientError` and is modelled as a stop at that moment; an exit by itself is
//! invisible to the SDK), the service's clock and ours differ by request latency, and concurrent calls
//! reach the service in an order their client-side send times only approximate. Each such event moves
//! the split by one call, and a run where they are more than a couple per hundred sessions is worth a
//! look. The emulator's own counters (`/_local/state`) are deliberately not used: verify judges only
//! what a real account would show. Calls that failed for another reason (throttling, timeouts, agent
//! errors) are not judged by the model and must themselves stay within the tolerance.
//!
//! ## A real account (`--aws`)
//! The quota checks are advisory there ([`quota_checks`]): the report itself saw 768 successes with
//! a quota of 500 (sessions end on the service side sooner than the client sees). They are shown as
//! information rows, a count outside the tolerance adds a warning to the report's notes, and none
//! of them fails the phase. Offline they are verdicts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eni_model::{Decision, Schedule, SessionPolicy, admit};
use eni_watch::Eni;
use loadgen::{Answer, Call, Failure, Target};
use serde::Serialize;

use super::report::Check;

/// What the load phase measured, for the chart: loadgen's report and the run second it started at.
#[derive(Debug, Clone)]
pub struct LoadRun {
    pub report: loadgen::Report,
    pub started_s: f64,
}

/// The error class of a quota refusal.
pub const QUOTA: &str = "ServiceQuotaExceededException";

/// How one call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Failed with this error class.
    Failed(String),
}

/// One invocation as sent.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub seq: u64,
    pub session: Option<String>,
    pub sent: Instant,
    /// `None`: the call never finished (timed out by loadgen, or cancelled at the end).
    pub done: Option<(Instant, Outcome)>,
}

/// Wraps a loadgen target and records every call as it is sent and as it ends.
#[derive(Debug, Clone)]
pub struct Recorded<T> {
    inner: T,
    calls: Arc<Mutex<Vec<CallRecord>>>,
}

impl<T> Recorded<T> {
    pub fn new(inner: T) -> Self {
        Self { inner, calls: Arc::default() }
    }

    /// A handle on the records, readable after the run.
    pub fn records(&self) -> Arc<Mutex<Vec<CallRecord>>> {
        Arc::clone(&self.calls)
    }
}

impl<T: Target> Target for Recorded<T> {
    async fn invoke(&self, call: &Call) -> Result<Answer, Failure> {
        let index = {
            let mut calls = self.calls.lock().expect("records lock");
            calls.push(CallRecord {
                seq: call.seq,
                session: call.session_id.clone(),
                sent: Instant::now(),
                done: None,
            });
            calls.len() - 1
        };
        let result = self.inner.invoke(call).await;
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(failure) => Outcome::Failed(failure.class.clone()),
        };
        self.calls.lock().expect("records lock")[index].done = Some((Instant::now(), outcome));
        result
    }

    async fn stop_session(&self, call: &Call) -> Result<(), Failure> {
        self.inner.stop_session(call).await
    }

    fn retries(&self) -> u64 {
        self.inner.retries()
    }
}

/// The fewest successful ENI watch polls inside the load window for the ENI judgement to hold:
/// one at the start, one in the middle and one at the end of the load, so that "the ENIs did not
/// change during the load" is observed during it and not only inferred from the describes right
/// before and right after. The report's load (120 s, a poll every 5 s) has 24; the offline preset
/// keeps that ratio (both divided by the time scale).
pub const MIN_LOAD_SAMPLES: usize = 3;

/// Whether the watch saw the load: `samples` successful polls and `gaps` failed ones inside the
/// load window (see [`MIN_LOAD_SAMPLES`]).
pub fn sample_check(samples: usize, gaps: usize) -> Check {
    let observed = if samples >= MIN_LOAD_SAMPLES {
        format!("{samples} ({gaps} failed poll(s))")
    } else {
        format!(
            "{samples} ({gaps} failed poll(s)): too few to judge the ENIs during the load; make the load longer \
             than {MIN_LOAD_SAMPLES} watch intervals (--duration) or find why the polls failed (timeline.jsonl)"
        )
    };
    Check::new(
        "ENI watch samples during the load",
        format!("at least {MIN_LOAD_SAMPLES} successful polls"),
        observed,
        samples >= MIN_LOAD_SAMPLES,
    )
}

/// The quota's rows for the load phase, and the warnings for the report's notes.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaChecks {
    pub checks: Vec<Check>,
    pub warnings: Vec<String>,
}

/// The quota judgement as the phase reports it: verdicts offline; with `--aws` (`advisory`)
/// information rows, with a warning for each count outside the tolerance (see the module docs).
pub fn quota_checks(admission: &AdmissionCheck, advisory: bool) -> QuotaChecks {
    let checks = admission.checks();
    if !advisory {
        return QuotaChecks { checks, warnings: Vec::new() };
    }
    let mut warnings = Vec::new();
    let checks = checks
        .into_iter()
        .map(|check| {
            let mut observed = check.observed.clone();
            if check.is_mismatch() {
                warnings.push(format!(
                    "load (--aws, advisory): {}: expected {}, observed {}",
                    check.what, check.expected, check.observed
                ));
                observed.push_str(" (warning: outside the tolerance; advisory with --aws)");
            }
            Check::info(&check.what, check.expected, observed)
        })
        .collect();
    QuotaChecks { checks, warnings }
}

/// `max(2, ⌈2 % of the quota⌉)`: see the module documentation.
pub fn tolerance(max_vms: u32) -> u64 {
    u64::from(max_vms).div_ceil(50).max(2)
}

/// The quota judgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionCheck {
    pub max_vms: u32,
    pub sent: u64,
    /// Calls that succeeded or were refused by the quota: what the model judges.
    pub judged: u64,
    pub observed_ok: u64,
    pub observed_refused: u64,
    pub predicted_admitted: u64,
    pub predicted_refused: u64,
    /// Other failures by class (not judged by the model).
    pub other_failures: BTreeMap<String, u64>,
    /// Calls that never finished.
    pub unfinished: u64,
    pub peak_live_predicted: u32,
    pub tolerance: u64,
}

impl AdmissionCheck {
    pub fn other_total(&self) -> u64 {
        self.other_failures.values().sum::<u64>() + self.unfinished
    }

    pub fn ok_matched(&self) -> bool {
        self.observed_ok.abs_diff(self.predicted_admitted) <= self.tolerance
    }

    pub fn refused_matched(&self) -> bool {
        self.observed_refused.abs_diff(self.predicted_refused) <= self.tolerance
    }

    pub fn checks(&self) -> Vec<Check> {
        let within = |n: u64| format!("{n} (± {})", self.tolerance);
        let others = if self.other_total() == 0 {
            "0".to_string()
        } else {
            let mut parts: Vec<String> = self.other_failures.iter().map(|(class, n)| format!("{n} {class}")).collect();
            if self.unfinished > 0 {
                parts.push(format!("{} unfinished", self.unfinished));
            }
            format!("{}: {}", self.other_total(), parts.join(", "))
        };
        vec![
            Check::new(
                "invocations ok (admitted by the quota model)",
                within(self.predicted_admitted),
                self.observed_ok.to_string(),
                self.ok_matched(),
            ),
            Check::new(
                "ServiceQuotaExceededException",
                within(self.predicted_refused),
                self.observed_refused.to_string(),
                self.refused_matched(),
            ),
            Check::new("other failures", format!("≤ {}", self.tolerance), others, self.other_total() <= self.tolerance),
        ]
    }
}

/// Runs the recorded schedule through [`admit`]: `runtimes[seq % len]` is the runtime of call
/// `seq` (loadgen's round-robin), times are converted to service time with `time_scale`.
pub fn check_admission(
    records: &[CallRecord],
    origin: Instant,
    runtimes: &[String],
    policy: &SessionPolicy,
    time_scale: f64,
) -> AdmissionCheck {
    let mut sorted: Vec<&CallRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.sent);
    let service = |at: Instant| at.saturating_duration_since(origin).mul_f64(time_scale);
    let mut schedule = Schedule::with_capacity(sorted.len());
    let mut judged_index = Vec::new();
    let mut out = AdmissionCheck {
        max_vms: policy.max_vms,
        sent: records.len() as u64,
        judged: 0,
        observed_ok: 0,
        observed_refused: 0,
        predicted_admitted: 0,
        predicted_refused: 0,
        other_failures: BTreeMap::new(),
        unfinished: 0,
        peak_live_predicted: 0,
        tolerance: tolerance(policy.max_vms),
    };
    let mut stops: Vec<(Duration, String, String)> = Vec::new();
    for record in sorted {
        let runtime = &runtimes[(record.seq % runtimes.len() as u64) as usize];
        let session = record.session.clone().unwrap_or_else(|| format!("call-{}", record.seq));
        let at = service(record.sent);
        let busy_for = record.done.as_ref().map_or(Duration::ZERO, |(done, _)| service(*done).saturating_sub(at));
        judged_index.push(match &record.done {
            Some((_, Outcome::Ok)) => {
                out.observed_ok += 1;
                Some(schedule.len())
            }
            Some((_, Outcome::Failed(class))) if class == QUOTA => {
                out.observed_refused += 1;
                Some(schedule.len())
            }
            Some((done, Outcome::Failed(class))) => {
                *out.other_failures.entry(class.clone()).or_default() += 1;
                // No live session came of it (a failed start frees its slot at once).
                stops.push((service(*done), runtime.clone(), session.clone()));
                None
            }
            None => {
                out.unfinished += 1;
                None
            }
        });
        schedule.invoke(at, runtime, &session, busy_for);
    }
    for (at, runtime, session) in stops {
        schedule.stop(at, &runtime, &session);
    }
    let admission = admit(policy, &schedule);
    for i in judged_index.into_iter().flatten() {
        out.judged += 1;
        match admission.decisions[i] {
            Decision::Admitted { .. } => out.predicted_admitted += 1,
            Decision::Refused => out.predicted_refused += 1,
            Decision::Stopped { .. } => {}
        }
    }
    out.peak_live_predicted = admission.peak_live;
    out
}

/// The ENIs of a sample as `(id, private IP)`, sorted.
pub fn identities(enis: &[Eni]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        enis.iter().map(|e| (e.id.clone(), e.private_ip.clone().unwrap_or_else(|| "-".into()))).collect();
    out.sort();
    out
}

/// `eni-… 10.0.2.4, eni-… 10.0.3.4`.
pub fn identities_text(ids: &[(String, String)]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter().map(|(id, ip)| format!("{id} {ip}")).collect::<Vec<_>>().join(", ")
}

/// The ENI judgements of the load: `samples` are `(seconds, ENIs)` from just before the load to just
/// after it; `expected` is the model's count.
pub fn eni_checks(samples: &[(f64, Vec<Eni>)], expected: usize) -> (Vec<Check>, Option<String>) {
    let Some((_, first)) = samples.first() else {
        return (vec![Check::new("ENI samples", "at least one", "none", false)], None);
    };
    let baseline = identities(first);
    let counts: Vec<usize> = samples.iter().map(|(_, enis)| enis.len()).collect();
    let (min, max) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
    let count_ok = min == expected && max == expected;
    let observed_count = if min == max {
        format!("{min} in all {} samples", samples.len())
    } else {
        format!("{min}..={max} over {} samples", samples.len())
    };
    let changed = samples.iter().find(|(_, enis)| identities(enis) != baseline);
    let mut diff = None;
    let ids_observed = match changed {
        None => format!("unchanged in all {} samples", samples.len()),
        Some((t, enis)) => {
            let now = identities(enis);
            let mut text = format!("at {t:.1} s:\n");
            for gone in baseline.iter().filter(|b| !now.contains(b)) {
                text.push_str(&format!("- {} {}\n", gone.0, gone.1));
            }
            for new in now.iter().filter(|n| !baseline.contains(n)) {
                text.push_str(&format!("+ {} {}\n", new.0, new.1));
            }
            diff = Some(format!("ENI ids and private IPs changed during the load {text}"));
            format!("changed at {t:.1} s")
        }
    };
    let checks = vec![
        Check::new(
            "ENI count before, during and after the load",
            format!("{expected} at every sample"),
            observed_count,
            count_ok,
        ),
        Check::new(
            "ENI ids and private IPs",
            format!("unchanged: {}", identities_text(&baseline)),
            ids_observed,
            changed.is_none(),
        ),
    ];
    (checks, diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(origin: Instant, seq: u64, sent_ms: u64, done_ms: u64, outcome: Outcome) -> CallRecord {
        let at = |ms| origin + Duration::from_millis(ms);
        CallRecord {
            seq,
            session: Some(format!("session-{seq:040}")),
            sent: at(sent_ms),
            done: Some((at(done_ms), outcome)),
        }
    }

    fn policy(max_vms: u32) -> SessionPolicy {
        SessionPolicy { max_vms, ..SessionPolicy::default() }
    }

    #[test]
    fn the_model_judges_the_schedule_actually_sent() {
        let origin = Instant::now();
        let runtimes = vec!["a".to_string(), "b".to_string()];
        // 3 slots: calls 0..3 admitted, 3 and 4 refused.
        let mut records: Vec<CallRecord> = (0..5)
            .map(|i| {
                let outcome = if i < 3 { Outcome::Ok } else { Outcome::Failed(QUOTA.into()) };
                record(origin, i, i * 10, i * 10 + 5, outcome)
            })
            .collect();
        let check = check_admission(&records, origin, &runtimes, &policy(3), 10.0);
        assert_eq!((check.predicted_admitted, check.predicted_refused), (3, 2));
        assert_eq!((check.observed_ok, check.observed_refused), (3, 2));
        assert!(check.checks().iter().all(|c| c.matched == Some(true)), "{check:?}");

        // A failed start frees its slot: the next new session is admitted.
        records[1].done = Some((origin + Duration::from_millis(15), Outcome::Failed("RuntimeClientError".into())));
        records[3].done = Some((origin + Duration::from_millis(35), Outcome::Ok));
        let check = check_admission(&records, origin, &runtimes, &policy(3), 10.0);
        assert_eq!((check.predicted_admitted, check.predicted_refused, check.judged), (3, 1, 4));
        assert_eq!(check.other_failures.get("RuntimeClientError"), Some(&1));
        assert!(check.checks().iter().all(|c| c.matched == Some(true)), "{check:?}");
    }

    #[test]
    fn counts_outside_the_tolerance_do_not_match() {
        let origin = Instant::now();
        let runtimes = vec!["a".to_string()];
        // Quota 3 but every one of 10 calls succeeded: 7 more than the model admits.
        let records: Vec<CallRecord> = (0..10).map(|i| record(origin, i, i, i + 1, Outcome::Ok)).collect();
        let check = check_admission(&records, origin, &runtimes, &policy(3), 1.0);
        assert_eq!((check.predicted_admitted, check.observed_ok, check.tolerance), (3, 10, 2));
        let checks = check.checks();
        assert!(checks[0].is_mismatch() && checks[1].is_mismatch() && checks[2].matched == Some(true), "{checks:?}");
        assert_eq!(tolerance(100), 2);
        assert_eq!(tolerance(500), 10);
    }

    /// 10 successes against a quota of 3: outside the tolerance.
    fn over_quota() -> AdmissionCheck {
        let origin = Instant::now();
        let records: Vec<CallRecord> = (0..10).map(|i| record(origin, i, i, i + 1, Outcome::Ok)).collect();
        check_admission(&records, origin, &["a".to_string()], &policy(3), 1.0)
    }

    fn phase(checks: Vec<Check>) -> super::super::report::PhaseReport {
        let at = (0.0, 1.0);
        super::super::report::PhaseReport::judged(super::super::Phase::Load, checks, None, at, serde_json::Value::Null)
    }

    #[test]
    fn offline_a_quota_count_outside_the_tolerance_fails_the_load() {
        let quota = quota_checks(&over_quota(), false);
        assert!(quota.warnings.is_empty());
        let names: Vec<&str> = quota.checks.iter().filter(|c| c.is_mismatch()).map(|c| c.what.as_str()).collect();
        assert_eq!(names, ["invocations ok (admitted by the quota model)", "ServiceQuotaExceededException"]);
        let phase = phase(quota.checks);
        assert!(!phase.matched());
        assert_eq!(phase.verdict, crate::verify::report::PhaseVerdict::Mismatch);
    }

    #[test]
    fn with_aws_the_quota_is_a_warning_not_a_mismatch() {
        let quota = quota_checks(&over_quota(), true);
        assert!(quota.checks.iter().all(Check::is_info), "{:?}", quota.checks);
        assert_eq!(quota.warnings.len(), 2, "{:?}", quota.warnings);
        assert!(quota.warnings[0].contains("expected 3 (± 2), observed 10"), "{:?}", quota.warnings);
        assert!(quota.checks[0].observed.contains("warning"), "{:?}", quota.checks[0]);
        assert!(!quota.checks[2].observed.contains("warning"), "within the tolerance: {:?}", quota.checks[2]);
        assert!(phase(quota.checks).matched(), "advisory: the load is not failed by the quota");
    }

    #[test]
    fn the_load_needs_watch_samples_taken_during_it() {
        let eni: Eni = serde_json::from_value(serde_json::json!({
            "id": "eni-0a1b2c3d4e5f60718", "subnet": "subnet-0a1b2c3d4e5f60718", "az": "us-east-1a",
            "vpc": "vpc-0a1b2c3d4e5f60718", "security_groups": ["sg-0a1b2c3d4e5f60718"], "private_ip": "10.0.1.4",
            "interface_type": "agentic_ai", "status": "in-use", "requester_managed": true
        }))
        .expect("an ENI");
        // The describes right before and right after agree, but no poll answered during the load.
        let (before, after) = ((0.0, vec![eni.clone()]), (5.0, vec![eni]));
        let (mut checks, _) = eni_checks(&[before, after], 1);
        assert!(checks.iter().all(|c| c.matched == Some(true)), "{checks:?}");
        checks.insert(0, sample_check(0, 7));
        let phase = phase(checks);
        assert!(!phase.matched(), "{phase:?}");
        assert!(phase.observed.contains("0 (7 failed poll(s)): too few"), "{}", phase.observed);
        assert_eq!(phase.expected, format!("at least {MIN_LOAD_SAMPLES} successful polls"));

        assert!(sample_check(MIN_LOAD_SAMPLES - 1, 0).is_mismatch());
        assert_eq!(sample_check(MIN_LOAD_SAMPLES, 2).matched, Some(true));
    }
}
