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
