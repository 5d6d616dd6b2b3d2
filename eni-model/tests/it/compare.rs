//! `compare`: an observation built from the plan matches; any single mutation of it is reported.

use eni_model::*;
use proptest::prelude::*;

use crate::fixtures::*;

/// What EC2 would list if AWS did exactly what the plan says.
fn observation_of(expected: &Expected) -> Vec<ObservedEni> {
    expected
        .required
        .iter()
        .enumerate()
        .map(|(i, key)| ObservedEni {
            id: format!("eni-{i:017x}"),
            subnet: key.subnet.clone(),
            security_groups: key.security_groups.iter().rev().cloned().collect(),
            interface_type: AGENTIC_AI.into(),
            status: "in-use".into(),
            private_ip: Some(format!("10.0.{}.{}", i / 200, 4 + i % 200)),
        })
        .collect()
}

#[test]
fn report_idle_observation_matches_and_prints_as_a_diff() {
    let plan = plan(&report_inventory(), &report_runtimes(10)).unwrap();
    let observed = observation_of(&plan.expected());
    let verdict = compare(&plan.expected(), &observed);
    assert!(verdict.is_match(), "{verdict}");
    let text = verdict.to_string();
    assert!(text.starts_with("ENIs: expected 2, observed 2: match\n"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("= ")).count(), 2, "{text}");
}

#[test]
fn per_runtime_enis_are_reported_as_extra_with_their_ids() {
    // The world where every runtime gets its own ENIs: 10 runtimes × 2 subnets = 20 ENIs.
    let plan = plan(&report_inventory(), &report_runtimes(10)).unwrap();
    let mut observed = Vec::new();
    for r in 0..10 {
        for mut eni in observation_of(&plan.expected()) {
            eni.id = format!("{}-{r}", eni.id);
            observed.push(eni);
        }
    }
    let verdict = compare(&plan.expected(), &observed);
    assert!(!verdict.is_match());
    assert_eq!(verdict.matched.len(), 2);
    assert_eq!(verdict.unexpected.len(), 18);
    assert!(verdict.unexpected.iter().all(|u| matches!(u, Unexpected::Extra { .. })));
    let text = verdict.to_string();
    assert!(text.starts_with("ENIs: expected 2, observed 20: MISMATCH"), "{text}");
    assert!(text.contains("+ subnet-0aaaaaaaaaaaaaaa1 [sg-01111111111111111]  eni-"), "{text}");
    assert!(text.contains("a second ENI for one subnet and security-group set"), "{text}");
}

#[test]
fn lingering_keys_may_or_may_not_be_there() {
    let mut life = Lifecycle::new(report_inventory(), DEFAULT_LINGER).unwrap();
    let create = LifecycleEvent::Create { runtime: "a".into(), network: vpc(&[PRIVATE_A, PRIVATE_C], &[SG_1]) };
    life.apply(std::time::Duration::ZERO, &create).unwrap();
    let in_use = life.range_at(std::time::Duration::ZERO).unwrap().expected();
    let observed = observation_of(&in_use);
    life.apply(std::time::Duration::from_secs(5), &LifecycleEvent::Delete { runtime: "a".into() }).unwrap();
    let expected = life.range_at(std::time::Duration::from_secs(5)).unwrap().expected();
    for n in 0..=2 {
        let verdict = compare(&expected, &observed[..n]);
        assert!(verdict.is_match(), "{n} lingering ENIs are allowed: {verdict}");
        assert!(verdict.matched.iter().all(|m| m.lingering));
    }
    let text = compare(&expected, &observed).to_string();
    assert!(text.starts_with("ENIs: expected 0..=2, observed 2: match"), "{text}");
    assert!(text.contains("~ ") && text.contains("(lingering)"), "{text}");
}

#[test]
fn verdict_round_trips_through_json() {
    let plan = plan(&report_inventory(), &report_runtimes(1)).unwrap();
    let mut observed = observation_of(&plan.expected());
    observed[0].interface_type = "lambda".into();
    let verdict = compare(&plan.expected(), &observed);
    let json = serde_json::to_value(&verdict).unwrap();
    assert_eq!(json["unexpected"][0]["reason"], "wrong_type");
    assert_eq!(serde_json::from_value::<Verdict>(json).unwrap(), verdict);
}

#[derive(Debug, Clone)]
enum Mutation {
    Drop(prop::sample::Index),
    AddUnknownKey,
    Duplicate(prop::sample::Index),
    ChangeSubnet(prop::sample::Index),
    ChangeGroups(prop::sample::Index),
    ChangeType(prop::sample::Index),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Drop),
        Just(Mutation::AddUnknownKey),
        any::<prop::sample::Index>().prop_map(Mutation::Duplicate),
        any::<prop::sample::Index>().prop_map(Mutation::ChangeSubnet),
        any::<prop::sample::Index>().prop_map(Mutation::ChangeGroups),
        any::<prop::sample::Index>().prop_map(Mutation::ChangeType),
    ]
}

proptest! {
    #[test]
    fn an_observation_built_from_the_plan_always_matches_and_any_mutation_is_reported(
        networks in prop::collection::vec((prop::collection::vec(0usize..4, 1..4), prop::collection::vec(0usize..3, 1..4)), 1..12),
        mutation in arb_mutation(),
    ) {
        // SG 3 and subnet 4 exist but no runtime uses them: mutations move ENIs there.
        let inventory = grid_inventory(5, 4);
        let runtimes: Vec<Runtime> = networks.iter().enumerate().map(|(i, (s, g))| {
            let s: Vec<String> = s.iter().map(|&i| subnet_id(i)).collect();
            let g: Vec<String> = g.iter().map(|&i| sg_id(i)).collect();
            Runtime::new(format!("r{i}"), RuntimeNetwork::vpc(&s, &g).unwrap())
        }).collect();
        let plan = plan(&inventory, &runtimes).unwrap();
        let expected = plan.expected();
        let mut observed = observation_of(&expected);
        let clean = compare(&expected, &observed);
        prop_assert!(clean.is_match(), "{}", clean);
        prop_assert_eq!(clean.matched.len(), plan.total_enis);

        match &mutation {
            Mutation::Drop(i) => { observed.remove(i.index(observed.len())); }
            Mutation::AddUnknownKey => observed.push(ObservedEni {
                id: "eni-0ffffffffffffffff".into(),
                subnet: subnet_id(4).parse().unwrap(),
                security_groups: vec![sg_id(0).parse().unwrap()],
                interface_type: AGENTIC_AI.into(),
                status: "in-use".into(),
                private_ip: None,
            }),
            Mutation::Duplicate(i) => {
                let mut copy = observed[i.index(observed.len())].clone();
                copy.id.push('d');
                observed.push(copy);
            }
            Mutation::ChangeSubnet(i) => { let n = observed.len(); observed[i.index(n)].subnet = subnet_id(4).parse().unwrap(); }
            Mutation::ChangeGroups(i) => { let n = observed.len(); observed[i.index(n)].security_groups.push(sg_id(3).parse().unwrap()); }
            Mutation::ChangeType(i) => { let n = observed.len(); observed[i.index(n)].interface_type = "lambda".into(); }
        }
        let verdict = compare(&expected, &observed);
        prop_assert!(!verdict.is_match(), "{:?} went unnoticed:\n{}", mutation, verdict);
        let text = verdict.to_string();
        prop_assert!(text.contains("MISMATCH"));
        prop_assert!(text.lines().any(|l| l.starts_with("- ") || l.starts_with("+ ")), "{}", text);
    }
}

#[test]
fn a_key_both_required_and_optional_is_required() {
    let plan = plan(&report_inventory(), &report_runtimes(1)).unwrap();
    let mut expected = plan.expected();
    expected.optional = expected.required.clone();
    assert_eq!((expected.min(), expected.max()), (2, 2));
    let verdict = compare(&expected, &[]);
    assert_eq!(verdict.missing.len(), 2, "{verdict}");
    let observed = observation_of(&expected);
    let verdict = compare(&expected, &observed);
    assert!(verdict.is_match() && verdict.matched.iter().all(|m| !m.lingering), "{verdict}");
}

fn eni(id: &str, subnet: usize, groups: &[usize], interface_type: &str, status: &str, ip: Option<&str>) -> ObservedEni {
    ObservedEni {
        id: id.into(),
        subnet: subnet_id(subnet).parse().unwrap(),
        security_groups: groups.iter().map(|&g| sg_id(g).parse().unwrap()).collect(),
        interface_type: interface_type.into(),
        status: status.into(),
        private_ip: ip.map(str::to_string),
    }
}

fn grid_key(subnet: usize, groups: &[usize]) -> EniKey {
    EniKey::new(subnet_id(subnet).parse().unwrap(), groups.iter().map(|&g| sg_id(g).parse().unwrap()))
}

#[test]
fn every_kind_of_line_prints_as_before() {
    let expected =
        Expected { required: [grid_key(0, &[0]), grid_key(1, &[0, 1])].into(), optional: [grid_key(2, &[1])].into() };
    let observed = [
        eni("eni-3", 0, &[0], AGENTIC_AI, "in-use", Some("10.0.0.3")),
        eni("eni-1", 0, &[0, 0], AGENTIC_AI, "in-use", Some("10.0.0.1")),
        eni("eni-2", 2, &[1], AGENTIC_AI, "available", None),
        eni("eni-4", 3, &[1, 0], AGENTIC_AI, "in-use", Some("10.0.0.4")),
        eni("eni-0", 0, &[0], "lambda", "in-use", Some("10.0.0.0")),
    ];
    let text = "ENIs: expected 2..=3, observed 5: MISMATCH\n\
        = subnet-00000000 [sg-00000000]  eni-1 10.0.0.1 agentic_ai in-use\n\
        ~ subnet-00000002 [sg-00000001]  eni-2 - agentic_ai available (lingering)\n\
        - subnet-00000001 [sg-00000000, sg-00000001]  (missing: a runtime uses this subnet and security-group set)\n\
        + subnet-00000000 [sg-00000000]  eni-0 10.0.0.0 lambda in-use  (interface type is not agentic_ai)\n\
        + subnet-00000000 [sg-00000000]  eni-3 10.0.0.3 agentic_ai in-use  (a second ENI for one subnet and security-group set)\n\
        + subnet-00000003 [sg-00000000, sg-00000001]  eni-4 10.0.0.4 agentic_ai in-use  (no runtime uses this subnet and security-group set)\n";
    assert_eq!(compare(&expected, &observed).to_string(), text);
    assert_eq!(judge(&expected, &observed).to_string(), text);
}

/// The verdict computed the obvious way, independently of the crate's index: each ENI's key looked
/// up among all expected keys, each key's ENIs sorted by id (stably, so ENIs listed twice keep
/// their order).
fn reference_compare(expected: &Expected, observed: &[ObservedEni]) -> Verdict {
    let mut keys: Vec<(EniKey, bool)> = expected.required.iter().map(|k| (k.clone(), true)).collect();
    keys.extend(expected.optional.iter().filter(|k| !expected.required.contains(k)).map(|k| (k.clone(), false)));
    keys.sort();
    let mut unexpected = Vec::new();
    let mut by_key: Vec<Vec<&ObservedEni>> = vec![Vec::new(); keys.len()];
    for eni in observed {
        if eni.interface_type != AGENTIC_AI {
            unexpected.push(Unexpected::WrongType { eni: eni.clone() });
            continue;
        }
        match keys.iter().position(|(key, _)| *key == eni.key()) {
            Some(i) => by_key[i].push(eni),
            None => unexpected.push(Unexpected::UnknownKey { eni: eni.clone() }),
        }
    }
    let (mut matched, mut missing) = (Vec::new(), Vec::new());
    for ((key, required), mut enis) in keys.into_iter().zip(by_key) {
        enis.sort_by(|a, b| a.id.cmp(&b.id));
        match enis.split_first() {
            Some((first, rest)) => {
                matched.push(MatchedKey { key, eni: (*first).clone(), lingering: !required });
                unexpected.extend(rest.iter().map(|&eni| Unexpected::Extra { eni: eni.clone() }));
            }
            None if required => missing.push(key),
            None => {}
        }
    }
    unexpected.sort_by(|a, b| a.eni().id.cmp(&b.eni().id));
    Verdict {
        expected_min: expected.min(),
        expected_max: expected.max(),
        observed: observed.len(),
        matched,
        missing,
        unexpected,
    }
}

/// A key of the 3 × 3 grid: a subnet and a non-empty set of groups (bits of `groups`).
fn arb_key() -> impl Strategy<Value = EniKey> {
    (0usize..3, 1usize..8).prop_map(|(s, bits)| {
        let groups: Vec<usize> = (0..3).filter(|g| bits & (1 << g) != 0).collect();
        grid_key(s, &groups)
    })
}

/// ENIs on the grid and beyond it (subnet 3, group 3), ids from a small pool so that some repeat.
fn arb_observed() -> impl Strategy<Value = ObservedEni> {
    (
        0usize..6,
        0usize..4,
        prop::collection::vec(0usize..4, 1..4),
        prop::bool::weighted(0.85),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(id, s, groups, agentic, in_use, ip)| {
            let kind = if agentic { AGENTIC_AI } else { "lambda" };
            let status = if in_use { "in-use" } else { "available" };
            let ip = ip.then(|| format!("10.0.0.{id}"));
            eni(&format!("eni-{id}"), s, &groups, kind, status, ip.as_deref())
        })
}

proptest! {
    #[test]
    fn the_verdict_is_the_reference_verdict(
        required in prop::collection::btree_set(arb_key(), 0..6),
        optional in prop::collection::btree_set(arb_key(), 0..4),
        observed in prop::collection::vec(arb_observed(), 0..14),
    ) {
        let expected = Expected { required, optional };
        let reference = reference_compare(&expected, &observed);
        let verdict = compare(&expected, &observed);
        prop_assert_eq!(&verdict, &reference);
        let borrowed = judge(&expected, &observed);
        prop_assert_eq!(borrowed.is_match(), reference.is_match());
        prop_assert_eq!(borrowed.to_string(), reference.to_string());
        prop_assert_eq!(borrowed.to_verdict(), reference);
    }
}
