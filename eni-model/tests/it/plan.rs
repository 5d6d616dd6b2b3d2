//! `plan`: ENIs follow the distinct (subnet, security-group set) keys, not the runtimes.

use std::collections::BTreeSet;

use eni_model::*;
use proptest::prelude::*;

use crate::fixtures::*;

#[test]
fn report_idle_phase_10_runtimes_2_subnets_1_sg_need_2_enis() {
    let plan = plan(&report_inventory(), &report_runtimes(10)).unwrap();
    assert_eq!(plan.total_enis, 2);
    for eni in &plan.enis {
        assert_eq!(eni.runtimes.len(), 10, "every runtime shares both ENIs");
        assert_eq!(eni.key.security_groups, BTreeSet::from([SG_1.parse().unwrap()]));
    }
    let subnets: Vec<&str> = plan.enis.iter().map(|e| e.key.subnet.as_str()).collect();
    assert_eq!(subnets, [PRIVATE_A, PRIVATE_C]);
    assert_eq!(plan.vpcs, vec![VpcUsage { vpc: VPC.parse().unwrap(), enis: 2, runtimes: 10 }]);
    for usage in &plan.subnets {
        assert_eq!((usage.usable_ips, usage.agentcore_enis, usage.headroom), (251, 1, 250));
    }
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn report_sg_split_runtime_0_on_a_second_sg_needs_4_enis() {
    let mut runtimes = report_runtimes(10);
    runtimes[0].network = vpc(&[PRIVATE_A, PRIVATE_C], &[SG_2]);
    let plan = plan(&report_inventory(), &runtimes).unwrap();
    assert_eq!(plan.total_enis, 4);
    let users: Vec<usize> = plan.enis.iter().map(|e| e.runtimes.len()).collect();
    assert_eq!(users.iter().sum::<usize>(), 20);
    assert!(users.contains(&1) && users.contains(&9), "{users:?}");
    assert!(plan.subnets.iter().all(|s| s.agentcore_enis == 2 && s.headroom == 249));
}

#[test]
fn public_runtimes_need_no_eni() {
    let mut runtimes = report_runtimes(3);
    runtimes.push(Runtime::new("public_agent", RuntimeNetwork::Public));
    let plan = plan(&report_inventory(), &runtimes).unwrap();
    assert_eq!(plan.total_enis, 2);
    assert_eq!(plan.public_runtimes, ["public_agent"]);
    let only_public = eni_model::plan(&report_inventory(), &runtimes[3..]).unwrap();
    assert_eq!(only_public.total_enis, 0);
}

#[test]
fn errors_name_the_runtime() {
    let mut runtimes = report_runtimes(2);
    runtimes[1].network = vpc(&["subnet-0fffffffffffffff1"], &[SG_1]);
    let err = plan(&report_inventory(), &runtimes).unwrap_err();
    assert!(err.to_string().starts_with("runtime `eni_test_runtime_1`: subnet subnet-0fffffffffffffff1"), "{err}");
    let twice = [report_runtimes(1), report_runtimes(1)].concat();
    assert_eq!(plan(&report_inventory(), &twice), Err(PlanError::DuplicateRuntime("eni_test_runtime_0".into())));
}

#[test]
fn warns_when_a_subnet_runs_out_of_addresses() {
    // A /28 has 16 - 5 = 11 usable addresses; 12 distinct SG sets need 12.
    let mut inventory = grid_inventory(0, 12);
    inventory.subnets.push(subnet("subnet-0dddddddddddddd28", VPC, "use1-az1", "10.0.0.0/28"));
    let runtimes: Vec<Runtime> =
        (0..12).map(|i| Runtime::new(format!("r{i}"), vpc(&["subnet-0dddddddddddddd28"], &[&sg_id(i)]))).collect();
    let plan = plan(&inventory, &runtimes).unwrap();
    assert_eq!(plan.subnets[0].headroom, -1);
    assert!(plan.warnings.contains(&Warning::SubnetOutOfIps {
        subnet: "subnet-0dddddddddddddd28".parse().unwrap(),
        needed: 12,
        available: 11
    }));
    assert!(plan.warnings.iter().any(|w| matches!(w, Warning::SingleAz { runtime, .. } if runtime == "r0")));
    // Addresses used by others count too.
    inventory.ips_in_use.push(("subnet-0dddddddddddddd28".parse().unwrap(), 2));
    let fewer = eni_model::plan(&inventory, &runtimes[..9]).unwrap();
    assert_eq!(fewer.subnets[0].headroom, 0);
    assert!(fewer.warnings.iter().any(|w| matches!(w, Warning::SubnetLowOnIps { headroom: 0, .. })));
}

#[test]
fn warns_above_the_regional_eni_quota() {
    let inventory = grid_inventory(4, 3);
    let runtimes: Vec<Runtime> = (0..3)
        .map(|g| {
            Runtime::new(
                format!("r{g}"),
                vpc(&[&subnet_id(0), &subnet_id(1), &subnet_id(2), &subnet_id(3)], &[&sg_id(g)]),
            )
        })
        .collect();
    let options = PlanOptions { eni_quota: 10, ..PlanOptions::default() };
    let plan = plan_with(&inventory, &runtimes, &options).unwrap();
    assert_eq!(plan.total_enis, 12);
    assert!(plan.warnings.contains(&Warning::EniQuotaExceeded { planned: 12, quota: 10 }));
    assert!(plan.warnings.iter().all(|w| !matches!(w, Warning::SingleAz { .. })), "4 subnets over 3 zones");
}

#[test]
fn plan_round_trips_through_json() {
    let plan = plan(&report_inventory(), &report_runtimes(3)).unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    assert_eq!(serde_json::from_str::<EniPlan>(&json).unwrap(), plan);
}

/// A runtime drawn over a grid of `subnets` × `groups`: some subnets, and a list of SGs that may repeat.
fn arb_network(subnets: usize, groups: usize) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (prop::collection::vec(0..subnets, 1..=subnets.min(4)), prop::collection::vec(0..groups, 1..=6))
}

fn network_of(subnets: &[usize], groups: &[usize]) -> RuntimeNetwork {
    let s: Vec<String> = subnets.iter().map(|&i| subnet_id(i)).collect();
    let g: Vec<String> = groups.iter().map(|&i| sg_id(i)).collect();
    RuntimeNetwork::vpc(&s, &g).unwrap()
}

/// The keys, computed the obvious way, independently of the crate.
fn distinct_keys(networks: &[(Vec<usize>, Vec<usize>)]) -> BTreeSet<(usize, BTreeSet<usize>)> {
    networks.iter().flat_map(|(s, g)| s.iter().map(move |&s| (s, g.iter().copied().collect()))).collect()
}

proptest! {
    #[test]
    fn eni_count_is_the_number_of_distinct_keys(
        networks in prop::collection::vec(arb_network(5, 4), 1..40),
        seed in any::<u64>(),
    ) {
        let inventory = grid_inventory(5, 4);
        let runtimes: Vec<Runtime> = networks.iter().enumerate()
            .map(|(i, (s, g))| Runtime::new(format!("r{i}"), network_of(s, g)))
            .collect();
        let planned = plan(&inventory, &runtimes).unwrap();
        prop_assert_eq!(planned.total_enis, distinct_keys(&networks).len());
        prop_assert_eq!(planned.enis.len(), planned.total_enis);
        let users: usize = planned.enis.iter().map(|e| e.runtimes.len()).sum();
        let expected_users: usize = networks.iter().map(|(s, _)| s.iter().collect::<BTreeSet<_>>().len()).sum();
        prop_assert_eq!(users, expected_users);

        // Neither the order of runtimes nor the order or repetition of SGs changes the keys.
        let mut shuffled = runtimes.clone();
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for r in &mut shuffled {
            if let RuntimeNetwork::Vpc { security_groups, .. } = &mut r.network {
                security_groups.reverse();
                let first = security_groups[0].clone();
                security_groups.push(first);
            }
        }
        let replanned = plan(&inventory, &shuffled).unwrap();
        let keys = |p: &EniPlan| p.enis.iter().map(|e| e.key.clone()).collect::<Vec<_>>();
        prop_assert_eq!(keys(&replanned), keys(&planned));
    }

    #[test]
    fn a_runtime_with_an_existing_config_adds_no_eni(
        networks in prop::collection::vec(arb_network(5, 4), 1..20),
        pick in any::<prop::sample::Index>(),
    ) {
        let inventory = grid_inventory(5, 4);
        let mut runtimes: Vec<Runtime> = networks.iter().enumerate()
            .map(|(i, (s, g))| Runtime::new(format!("r{i}"), network_of(s, g)))
            .collect();
        let before = plan(&inventory, &runtimes).unwrap();
        let (s, g) = pick.get(&networks);
        let mut g = g.clone();
        g.reverse();
        runtimes.push(Runtime::new("copy", network_of(s, &g)));
        let after = plan(&inventory, &runtimes).unwrap();
        prop_assert_eq!(after.total_enis, before.total_enis);
        prop_assert_eq!(&after.subnets, &before.subnets);
    }
}
