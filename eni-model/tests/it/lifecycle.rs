//! `Lifecycle`: the ENI range over time, through creation, re-networking, deletion and lingering.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use eni_model::*;
use proptest::prelude::*;

use crate::fixtures::*;

const H: Duration = Duration::from_secs(3600);

fn create(name: &str, network: RuntimeNetwork) -> LifecycleEvent {
    LifecycleEvent::Create { runtime: name.into(), network }
}

#[test]
fn report_timeline_deploy_split_teardown_linger() {
    let mut life = Lifecycle::new(report_inventory(), DEFAULT_LINGER).unwrap();
    for r in report_runtimes(10) {
        life.apply(Duration::ZERO, &create(&r.name, r.network)).unwrap();
    }
    let idle = life.range_at(Duration::from_secs(60)).unwrap();
    assert_eq!((idle.min, idle.max), (2, 2));

    let split = LifecycleEvent::UpdateNetwork {
        runtime: "eni_test_runtime_0".into(),
        network: vpc(&[PRIVATE_A, PRIVATE_C], &[SG_2]),
    };
    life.apply(H, &split).unwrap();
    assert_eq!(life.range_at(H).unwrap().min, 4);

    // Teardown: every runtime deleted at 2 h. The ENIs may linger until 10 h, gone after.
    for i in 0..10 {
        life.apply(2 * H, &LifecycleEvent::Delete { runtime: format!("eni_test_runtime_{i}") }).unwrap();
    }
    let right_after = life.range_at(2 * H).unwrap();
    assert_eq!((right_after.min, right_after.max), (0, 4));
    assert!(right_after.lingering.iter().all(|l| l.gone_by == 10 * H));
    let last_moment = life.range_at(10 * H - Duration::from_nanos(1)).unwrap();
    assert_eq!((last_moment.min, last_moment.max), (0, 4));
    let gone = life.range_at(10 * H).unwrap();
    assert_eq!((gone.min, gone.max), (0, 0));
}

#[test]
fn moving_away_from_a_key_leaves_it_lingering_and_coming_back_reuses_it() {
    let linger = Duration::from_secs(60);
    let mut life = Lifecycle::new(report_inventory(), linger).unwrap();
    life.apply(Duration::ZERO, &create("a", vpc(&[PRIVATE_A], &[SG_1]))).unwrap();
    let move_to = |sg| LifecycleEvent::UpdateNetwork { runtime: "a".into(), network: vpc(&[PRIVATE_A], &[sg]) };
    life.apply(Duration::from_secs(10), &move_to(SG_2)).unwrap();
    let r = life.range_at(Duration::from_secs(10)).unwrap();
    assert_eq!((r.min, r.max), (1, 2));
    assert_eq!(r.expected().optional.len(), 1);
    life.apply(Duration::from_secs(20), &move_to(SG_1)).unwrap();
    let r = life.range_at(Duration::from_secs(20)).unwrap();
    assert_eq!((r.min, r.max), (1, 2), "SG_2's ENI lingers now, SG_1's is in use again");
    assert_eq!(life.range_at(Duration::from_secs(80)).unwrap().max, 1);
}

#[test]
fn bad_events_change_nothing() {
    let mut life = Lifecycle::new(report_inventory(), DEFAULT_LINGER).unwrap();
    life.apply(H, &create("a", vpc(&[PRIVATE_A], &[SG_1]))).unwrap();
    assert_eq!(life.apply(H, &create("a", RuntimeNetwork::Public)), Err(LifecycleError::DuplicateRuntime("a".into())));
    assert_eq!(
        life.apply(H, &LifecycleEvent::Delete { runtime: "b".into() }),
        Err(LifecycleError::UnknownRuntime("b".into()))
    );
    let bad =
        LifecycleEvent::UpdateNetwork { runtime: "a".into(), network: vpc(&["subnet-0fffffffffffffff1"], &[SG_1]) };
    assert!(matches!(life.apply(H, &bad), Err(LifecycleError::Network { .. })));
    assert!(matches!(
        life.apply(Duration::ZERO, &LifecycleEvent::Delete { runtime: "a".into() }),
        Err(LifecycleError::TimeWentBackwards { .. })
    ));
    assert!(life.range_at(Duration::ZERO).is_err());
    let r = life.range_at(H).unwrap();
    assert_eq!((r.min, r.max), (1, 1));
    assert_eq!(life.runtimes().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn public_runtimes_never_touch_enis() {
    let mut life = Lifecycle::new(report_inventory(), DEFAULT_LINGER).unwrap();
    life.apply(Duration::ZERO, &create("p", RuntimeNetwork::Public)).unwrap();
    assert_eq!(life.range_at(Duration::ZERO).unwrap().max, 0);
    life.apply(H, &LifecycleEvent::Delete { runtime: "p".into() }).unwrap();
    assert_eq!(life.range_at(H).unwrap().max, 0);
}

#[test]
fn range_round_trips_through_json() {
    let mut life = Lifecycle::new(report_inventory(), DEFAULT_LINGER).unwrap();
    life.apply(Duration::ZERO, &create("a", vpc(&[PRIVATE_A], &[SG_1]))).unwrap();
    life.apply(H, &LifecycleEvent::Delete { runtime: "a".into() }).unwrap();
    let range = life.range_at(H).unwrap();
    let json = serde_json::to_value(&range).unwrap();
    assert_eq!(json["lingering"][0]["gone_by"], 9.0 * 3600.0);
    assert_eq!(serde_json::from_value::<EniRange>(json).unwrap(), range);
}

proptest! {
    /// Runtimes created at random times and deleted at random times: from the last deletion on, `min`
    /// is 0 and each key counts in `max` exactly until its own last user left plus the linger window.
    #[test]
    fn after_all_deletions_max_stays_until_the_linger_window_closes(
        runtimes in prop::collection::vec(((0usize..4, 0usize..4), 0usize..3, 0u64..100, 0u64..100), 1..25),
        probe in 0u64..400,
    ) {
        let linger = Duration::from_secs(150);
        let inventory = grid_inventory(4, 3);
        let mut events: Vec<(u64, LifecycleEvent)> = Vec::new();
        let mut last_leave: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        for (i, ((s1, s2), g, born, lives)) in runtimes.iter().enumerate() {
            let name = format!("r{i}");
            let network = RuntimeNetwork::vpc([subnet_id(*s1), subnet_id(*s2)], [sg_id(*g)]).unwrap();
            let dies = born + lives;
            events.push((*born, create(&name, network)));
            events.push((dies, LifecycleEvent::Delete { runtime: name }));
            for s in BTreeSet::from([*s1, *s2]) {
                let t = last_leave.entry((s, *g)).or_default();
                *t = (*t).max(dies);
            }
        }
        // Creations before deletions at equal times, so every runtime exists before it is deleted.
        events.sort_by_key(|(t, e)| (*t, matches!(e, LifecycleEvent::Delete { .. })));
        let mut life = Lifecycle::new(inventory, linger).unwrap();
        for (t, e) in &events {
            life.apply(Duration::from_secs(*t), e).unwrap();
        }
        let end = events.last().unwrap().0;
        let at = end + probe;
        let range = life.range_at(Duration::from_secs(at)).unwrap();
        prop_assert_eq!(range.min, 0);
        let expected_max = last_leave.values().filter(|&&left| at < left + linger.as_secs()).count();
        prop_assert_eq!(range.max, expected_max);
    }
}
