//! `admit`: the active-session quota, checked against the report's load and a brute-force reference.

use std::collections::HashMap;
use std::time::Duration;

use eni_model::*;
use proptest::prelude::*;

use crate::fixtures::*;

const S: Duration = Duration::from_secs(1);

/// The report's load: 2,148 invocations over 130.8 s from 50 workers, round-robin over 10 runtimes,
/// each with a new session id.
fn report_load() -> Schedule {
    let mut schedule = Schedule::new();
    let spacing = Duration::from_secs_f64(130.8 / 2148.0);
    for i in 0..2148u32 {
        let session = format!("session-{i:06}-0000-0000-0000-000000000000");
        schedule.invoke(spacing * i, &format!("eni_test_runtime_{}", i % 10), &session, Duration::from_millis(5));
    }
    schedule
}

#[test]
fn report_load_phase_admits_at_most_the_quota_within_one_idle_window() {
    let policy = SessionPolicy::default();
    assert_eq!(policy.max_vms, 500);
    let admission = admit(&policy, &report_load());
    // Every session stays alive (idle timeout 900 s > 130.8 s), so the quota fills and stays full.
    assert_eq!(admission.admitted, 500);
    assert_eq!(admission.refused, 1648);
    assert_eq!(admission.peak_live, 500);
    assert_eq!(admission.sessions_expired, 0);
    assert!(admission.decisions[..500].iter().all(|d| *d == Decision::Admitted { new_session: true }));
    assert!(admission.decisions[500..].iter().all(|d| *d == Decision::Refused));
    // The ENI plan is a function of the runtimes alone: the load changes nothing in it.
    let before = plan(&report_inventory(), &report_runtimes(10)).unwrap();
    assert_eq!(before.total_enis, 2);
}

#[test]
fn idle_sessions_free_their_slot_after_the_timeout() {
    let policy = SessionPolicy { max_vms: 2, idle_timeout: 10 * S, max_lifetime: 100 * S, ..SessionPolicy::default() };
    let mut s = Schedule::new();
    s.invoke(Duration::ZERO, "r", "a", Duration::ZERO);
    s.invoke(S, "r", "b", Duration::ZERO);
    s.invoke(2 * S, "r", "c", Duration::ZERO); // refused: a and b are alive
    s.invoke(5 * S, "r", "a", Duration::ZERO); // reuse: a lives until 15 s now
    s.invoke(11 * S, "r", "c", Duration::ZERO); // b ended at 11 s: admitted
    s.invoke(12 * S, "r", "d", Duration::ZERO); // a and c alive: refused
    s.invoke(15 * S, "r", "d", Duration::ZERO); // a ended at 15 s: admitted
    let a = admit(&policy, &s);
    use Decision::*;
    assert_eq!(
        a.decisions,
        [
            Admitted { new_session: true },
            Admitted { new_session: true },
            Refused,
            Admitted { new_session: false },
            Admitted { new_session: true },
            Refused,
            Admitted { new_session: true },
        ]
    );
    assert_eq!(a.live_at(Duration::ZERO), 1);
    assert_eq!(a.live_at(10 * S), 2);
    assert_eq!(a.live_at(11 * S), 2, "b ended and c started at 11 s");
    assert_eq!(a.sessions_expired, 2);
}

#[test]
fn busy_sessions_are_not_idle_and_max_lifetime_ends_them_anyway() {
    let policy = SessionPolicy { max_vms: 1, idle_timeout: 10 * S, max_lifetime: 30 * S, ..SessionPolicy::default() };
    let mut s = Schedule::new();
    s.invoke(Duration::ZERO, "r", "long", 25 * S); // busy until 25 s, idle until 35 s, capped at 30 s
    s.invoke(29 * S, "r", "other", Duration::ZERO);
    s.invoke(30 * S, "r", "other", Duration::ZERO);
    s.invoke(31 * S, "r", "long", Duration::ZERO); // a new microVM for the same id
    let a = admit(&policy, &s);
    assert_eq!(a.decisions[1], Decision::Refused);
    assert_eq!(a.decisions[2], Decision::Admitted { new_session: true });
    assert_eq!(a.decisions[3], Decision::Refused);
    assert_eq!(a.sessions_started, 2);
}

#[test]
fn stopping_a_session_frees_its_slot_at_once() {
    let policy = SessionPolicy { max_vms: 1, ..SessionPolicy::default() };
    let mut s = Schedule::new();
    s.invoke(Duration::ZERO, "r", "a", Duration::ZERO);
    s.invoke(S, "r", "b", Duration::ZERO);
    s.stop(2 * S, "r", "a");
    s.stop(2 * S, "r", "a");
    s.invoke(3 * S, "r", "b", Duration::ZERO);
    let a = admit(&policy, &s);
    assert_eq!(a.decisions[1], Decision::Refused);
    assert_eq!(a.decisions[2], Decision::Stopped { ended: true });
    assert_eq!(a.decisions[3], Decision::Stopped { ended: false });
    assert_eq!(a.decisions[4], Decision::Admitted { new_session: true });
}

#[test]
fn the_same_session_id_on_two_runtimes_is_two_microvms() {
    let policy = SessionPolicy { max_vms: 1, ..SessionPolicy::default() };
    let mut s = Schedule::new();
    s.invoke(Duration::ZERO, "r1", "shared-id", Duration::ZERO);
    s.invoke(S, "r2", "shared-id", Duration::ZERO);
    assert_eq!(admit(&policy, &s).decisions[1], Decision::Refused);
}

#[test]
fn calls_pushed_out_of_order_are_decided_in_time_order() {
    let policy = SessionPolicy { max_vms: 1, ..SessionPolicy::default() };
    let mut s = Schedule::new();
    s.invoke(2 * S, "r", "late", Duration::ZERO);
    s.invoke(S, "r", "early", Duration::ZERO);
    let a = admit(&policy, &s);
    assert_eq!(a.decisions, [Decision::Refused, Decision::Admitted { new_session: true }]);
}

#[test]
fn schedule_round_trips_through_json() {
    let mut s = Schedule::new();
    s.invoke(S, "r", "a", Duration::from_millis(200));
    s.stop(2 * S, "r", "a");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json[0],
        serde_json::json!({"at": 1.0, "runtime": "r", "session": "a", "call": "invoke", "busy_for": 0.2})
    );
    assert_eq!(json[1]["call"], "stop");
    let back: Schedule = serde_json::from_value(json).unwrap();
    assert_eq!(back.call(1), s.call(1));
}

/// The obvious, quadratic reading of the rules: at each call, look at every session.
fn reference(policy: &SessionPolicy, calls: &[(u64, u8, u8, Option<u64>)]) -> Vec<Decision> {
    struct Vm {
        started: u64,
        busy_until: u64,
        last: u64,
        stopped: bool,
    }
    let ends = |vm: &Vm| {
        (vm.last.max(vm.busy_until) + policy.idle_timeout.as_secs()).min(vm.started + policy.max_lifetime.as_secs())
    };
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| calls[i].0);
    let mut vms: HashMap<(u8, u8), Vm> = HashMap::new();
    let mut out = vec![Decision::Refused; calls.len()];
    for i in order {
        let (at, runtime, session, busy) = calls[i];
        let alive = |vm: &Vm| !vm.stopped && at < ends(vm);
        let live_now = vms.values().filter(|vm| alive(vm)).count() as u32;
        let existing = vms.get(&(runtime, session)).is_some_and(alive);
        out[i] = match busy {
            None => {
                if let Some(vm) = vms.get_mut(&(runtime, session)) {
                    vm.stopped = true;
                }
                Decision::Stopped { ended: existing }
            }
            Some(busy) if existing => {
                let vm = vms.get_mut(&(runtime, session)).unwrap();
                vm.busy_until = vm.busy_until.max(at + busy);
                vm.last = at;
                Decision::Admitted { new_session: false }
            }
            Some(_) if live_now >= policy.max_vms => Decision::Refused,
            Some(busy) => {
                vms.insert((runtime, session), Vm { started: at, busy_until: at + busy, last: at, stopped: false });
                Decision::Admitted { new_session: true }
            }
        };
    }
    out
}

proptest! {
    #[test]
    fn admission_agrees_with_the_reference_and_never_exceeds_the_quota(
        max_vms in 1u32..6,
        idle in 1u64..20,
        lifetime in 1u64..40,
        calls in prop::collection::vec((0u64..60, 0u8..3, 0u8..6, prop::option::weighted(0.85, 0u64..15)), 0..80),
    ) {
        let policy = SessionPolicy {
            max_vms,
            idle_timeout: Duration::from_secs(idle),
            max_lifetime: Duration::from_secs(lifetime),
            ..SessionPolicy::default()
        };
        let mut schedule = Schedule::new();
        for &(at, runtime, session, busy) in &calls {
            let (r, s) = (format!("r{runtime}"), format!("s{session}"));
            match busy {
                Some(busy) => schedule.invoke(Duration::from_secs(at), &r, &s, Duration::from_secs(busy)),
                None => schedule.stop(Duration::from_secs(at), &r, &s),
            }
        }
        let admission = admit(&policy, &schedule);
        prop_assert_eq!(&admission.decisions, &reference(&policy, &calls));
        prop_assert!(admission.peak_live <= max_vms);
        prop_assert!(admission.live.iter().all(|p| p.live <= max_vms));
        let admitted = admission.decisions.iter().filter(|d| matches!(d, Decision::Admitted { .. })).count() as u64;
        prop_assert_eq!(admission.admitted, admitted);
    }

    /// However often a session id is reused within its idle window, it holds one slot.
    #[test]
    fn reusing_a_session_id_never_takes_a_second_slot(
        uses in prop::collection::vec((0u64..800, 0usize..4), 1..200),
    ) {
        let policy = SessionPolicy { max_vms: 4, ..SessionPolicy::default() };
        let mut schedule = Schedule::new();
        let mut sorted = uses.clone();
        sorted.sort();
        for (at, k) in &sorted {
            schedule.invoke(Duration::from_secs(*at), "r", &format!("pool-{k}"), Duration::ZERO);
        }
        let distinct = uses.iter().map(|(_, k)| k).collect::<std::collections::BTreeSet<_>>().len();
        let admission = admit(&policy, &schedule);
        prop_assert_eq!(admission.sessions_started as usize, distinct);
        prop_assert_eq!(admission.refused, 0);
        prop_assert_eq!(admission.peak_live as usize, distinct);
    }
}
