//! The quota models (hypotheses for the report's 768): `admit` under each against a brute-force
//! reading of its rule, the report's load fitted by each, and the fit telling variants apart.

use std::time::Duration;

use eni_model::*;
use proptest::prelude::*;

const S: Duration = Duration::from_secs(1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The quadratic reading of each rule: every microVM ever started is kept, and the count a call is
/// checked against is recomputed from all of them.
fn reference(policy: &SessionPolicy, calls: &[(u64, u8, u8, Option<u64>)]) -> Vec<Decision> {
    struct Vm {
        key: (u8, u8),
        started: u64,
        /// Latest `at + busy` of its calls.
        busy_until: u64,
        stopped: Option<u64>,
        cell: u32,
    }
    let idle = match policy.quota {
        QuotaModel::Reclaimed { after } => policy.idle_timeout.min(after),
        _ => policy.idle_timeout,
    }
    .as_secs();
    let ends = |vm: &Vm| (vm.busy_until + idle).min(vm.started + policy.max_lifetime.as_secs());
    let alive_at = |vm: &Vm, t: u64| vm.started <= t && t < ends(vm) && vm.stopped.is_none_or(|s| t < s);
    let cell = |runtime: u8, session: u8| match policy.quota {
        QuotaModel::PerCell { cells } => cell_of(&format!("r{runtime}"), &format!("s{session}"), cells),
        _ => 0,
    };
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| calls[i].0);
    let mut vms: Vec<Vm> = Vec::new();
    let mut out = vec![Decision::Refused; calls.len()];
    for i in order {
        let (at, runtime, session, busy) = calls[i];
        let key = (runtime, session);
        let current = vms.iter().rposition(|vm| vm.key == key).filter(|&v| alive_at(&vms[v], at));
        out[i] = match (busy, current) {
            (None, current) => {
                if let Some(v) = current {
                    vms[v].stopped = Some(at);
                }
                Decision::Stopped { ended: current.is_some() }
            }
            (Some(busy), Some(v)) => {
                vms[v].busy_until = vms[v].busy_until.max(at + busy);
                Decision::Admitted { new_session: false }
            }
            (Some(busy), None) => {
                let cell = cell(runtime, session);
                let counted = match policy.quota {
                    QuotaModel::Exact | QuotaModel::Reclaimed { .. } => {
                        vms.iter().filter(|vm| alive_at(vm, at)).count()
                    }
                    QuotaModel::Lagged { lag } => match at.checked_sub(lag.as_secs()) {
                        Some(seen) => vms.iter().filter(|vm| alive_at(vm, seen)).count(),
                        None => 0,
                    },
                    QuotaModel::PerCell { .. } => vms.iter().filter(|vm| vm.cell == cell && alive_at(vm, at)).count(),
                };
                if counted as u32 >= policy.max_vms {
                    Decision::Refused
                } else {
                    vms.push(Vm { key, started: at, busy_until: at + busy, stopped: None, cell });
                    Decision::Admitted { new_session: true }
                }
            }
        };
    }
    out
}

fn quota_model() -> impl Strategy<Value = QuotaModel> {
    prop_oneof![
        Just(QuotaModel::Exact),
        (0u64..25).prop_map(|lag| QuotaModel::Lagged { lag: secs(lag) }),
        (1u64..25).prop_map(|after| QuotaModel::Reclaimed { after: secs(after) }),
        (1u32..4).prop_map(|cells| QuotaModel::PerCell { cells }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn each_quota_model_agrees_with_its_reference(
        quota in quota_model(),
        max_vms in 1u32..6,
        idle in 1u64..20,
        lifetime in 1u64..40,
        calls in prop::collection::vec((0u64..60, 0u8..3, 0u8..6, prop::option::weighted(0.85, 0u64..15)), 0..80),
    ) {
        let policy = SessionPolicy { max_vms, idle_timeout: secs(idle), max_lifetime: secs(lifetime), quota };
        let mut schedule = Schedule::new();
        for &(at, runtime, session, busy) in &calls {
            let (r, s) = (format!("r{runtime}"), format!("s{session}"));
            match busy {
                Some(busy) => schedule.invoke(secs(at), &r, &s, secs(busy)),
                None => schedule.stop(secs(at), &r, &s),
            }
        }
        let admission = admit(&policy, &schedule);
        prop_assert_eq!(&admission.decisions, &reference(&policy, &calls));
        let bound = match quota {
            QuotaModel::PerCell { cells } => max_vms * cells,
            QuotaModel::Lagged { .. } => u32::MAX,
            _ => max_vms,
        };
        prop_assert!(admission.peak_live <= bound, "{} live, bound {}", admission.peak_live, bound);
    }
}

#[test]
fn under_awss_rule_the_reports_load_admits_the_quota() {
    let load = REPORT.closed_load();
    assert_eq!(REPORT.call_latency().as_millis(), 2793, "120 s × 50 / 2,148");
    let simulated = simulate(&SessionPolicy::default(), &load);
    assert_eq!((simulated.ok, simulated.peak_live), (500, 500));
    assert!(simulated.calls.abs_diff(REPORT.calls) <= 2, "{} calls", simulated.calls);
    assert_eq!(simulated.ok + simulated.refused, simulated.calls);
    let per_second: u64 = simulated.seconds.iter().map(|s| u64::from(s.ok + s.refused)).sum();
    assert_eq!(per_second, simulated.calls);
}

/// The seconds in which calls succeeded, as runs `(first, last)`.
fn ok_blocks(seconds: &[Second]) -> Vec<(usize, usize)> {
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    for (i, _) in seconds.iter().enumerate().filter(|(_, s)| s.ok > 0) {
        match blocks.last_mut() {
            Some(last) if last.1 + 1 == i => last.1 = i,
            _ => blocks.push((i, i)),
        }
    }
    blocks
}

#[test]
fn each_variant_fitted_to_the_reports_totals() {
    let (policy, load) = (SessionPolicy::default(), REPORT.closed_load());
    let fit = |variant| eni_model::fit(variant, &policy, &load, REPORT.ok, REPORT.refused);

    let lagged = fit(QuotaModel::Lagged { lag: Duration::ZERO });
    let QuotaModel::Lagged { lag } = lagged.model else { panic!("{:?}", lagged.model) };
    assert!(lagged.distance <= 4 && (14.0..16.0).contains(&lag.as_secs_f64()), "{lagged:?}");
    // One block of successes from the start, then only refusals.
    assert_eq!(ok_blocks(&lagged.simulated.seconds).len(), 1);
    assert_eq!(lagged.simulated.peak_live as u64, lagged.simulated.ok, "nothing ends: every success is live");

    let reclaimed = fit(QuotaModel::Reclaimed { after: Duration::ZERO });
    let QuotaModel::Reclaimed { after } = reclaimed.model else { panic!("{:?}", reclaimed.model) };
    assert!(reclaimed.distance <= 4 && (95.0..110.0).contains(&after.as_secs_f64()), "{reclaimed:?}");
    // The quota's worth at the start, then successes again once the first sessions are reclaimed;
    // never more than the quota live.
    assert_eq!(ok_blocks(&reclaimed.simulated.seconds).len(), 2, "{:?}", reclaimed.simulated.seconds);
    assert_eq!(reclaimed.simulated.peak_live, 500);

    // Per-cell admits one quota per cell filled: 500 or 1,000 here, never 768.
    let per_cell = fit(QuotaModel::PerCell { cells: 1 });
    assert!(per_cell.distance > 400, "{per_cell:?}");
    assert!([500, 1000].contains(&per_cell.simulated.ok), "{per_cell:?}");

    let exact = fit(QuotaModel::Exact);
    assert_eq!((exact.simulated.ok, exact.distance), (500, 268 + exact.simulated.refused - REPORT.refused));
}

#[test]
fn a_fit_recovers_the_parameter_that_made_the_totals() {
    let load =
        ClosedLoad { workers: 20, duration: 60 * S, runtimes: 3, new_session_latency: 2 * S, refusal_latency: S };
    let policy = SessionPolicy { max_vms: 100, ..SessionPolicy::default() };
    let parameter = |model: QuotaModel| match model {
        QuotaModel::Lagged { lag } => lag.as_secs_f64(),
        QuotaModel::Reclaimed { after } => after.as_secs_f64(),
        other => panic!("{other}"),
    };
    for truth in [QuotaModel::Lagged { lag: 7 * S }, QuotaModel::Reclaimed { after: 20 * S }] {
        let made = simulate(&SessionPolicy { quota: truth, ..policy }, &load);
        let fitted = fit(truth, &policy, &load, made.ok, made.refused);
        assert_eq!(fitted.distance, 0, "{truth}: {fitted:?}");
        // Totals move in steps, so a range of parameters gives the same ones: about one call's
        // time (new session + refusal) wide.
        let off = (parameter(fitted.model) - parameter(truth)).abs();
        assert!(off <= 3.0, "{truth}: fitted {}", fitted.model);
    }
}

/// What `verify --aws` does with an account's profile: fit every variant to its totals, and the
/// variant whose per-second profile is closest is the one the account behaves like.
#[test]
fn the_profile_tells_variants_with_the_same_totals_apart() {
    let (policy, load) = (SessionPolicy::default(), REPORT.closed_load());
    let variants = [
        QuotaModel::Exact,
        QuotaModel::Lagged { lag: Duration::ZERO },
        QuotaModel::Reclaimed { after: Duration::ZERO },
        QuotaModel::PerCell { cells: 1 },
    ];
    for truth in [QuotaModel::Lagged { lag: 15 * S }, QuotaModel::Reclaimed { after: 102 * S }] {
        let observed = simulate(&SessionPolicy { quota: truth, ..policy }, &load);
        let ranked: Vec<(f64, &str)> = variants
            .iter()
            .map(|&v| {
                let fitted = fit(v, &policy, &load, observed.ok, observed.refused);
                (profile_distance(&observed.seconds, &fitted.simulated.seconds), v.name())
            })
            .collect();
        let best = ranked.iter().min_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
        assert_eq!(best.1, truth.name(), "{ranked:?}");
        let runner_up = ranked.iter().filter(|r| r.1 != truth.name()).map(|r| r.0).fold(f64::MAX, f64::min);
        assert!(runner_up > 0.1, "the others are far: {ranked:?}");
    }
    assert_eq!(profile_distance(&[], &[]), 0.0);
    let one = [Second { ok: 3, refused: 1 }];
    assert_eq!(profile_distance(&one, &[]), 1.0);
}
