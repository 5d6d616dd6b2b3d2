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

/// The plan computed the obvious way, from `validate` and owned keys in ordered maps, independently
/// of the crate's interning and of its checking each distinct network once. Where the inventory
/// lists an id twice, the last listing counts, as in a map built from the list.
fn reference_plan(inventory: &Inventory, runtimes: &[Runtime], options: &PlanOptions) -> Result<EniPlan, PlanError> {
    use std::collections::BTreeMap;

    validate(inventory, &RuntimeNetwork::Public).map_err(|e| PlanError::Inventory(Box::new(e)))?;
    let subnet = |id: &SubnetId| inventory.subnets.iter().rev().find(|s| s.id == *id).unwrap();
    let mut names = BTreeSet::new();
    let mut keys: BTreeMap<EniKey, Vec<String>> = BTreeMap::new();
    let mut vpc_runtimes: BTreeMap<VpcId, usize> = BTreeMap::new();
    let (mut public_runtimes, mut warnings) = (Vec::new(), Vec::new());
    for runtime in runtimes {
        if !names.insert(runtime.name.clone()) {
            return Err(PlanError::DuplicateRuntime(runtime.name.clone()));
        }
        let placement = validate(inventory, &runtime.network)
            .map_err(|error| PlanError::Network { runtime: runtime.name.clone(), error: Box::new(error) })?;
        let Some(placement) = placement else {
            public_runtimes.push(runtime.name.clone());
            continue;
        };
        *vpc_runtimes.entry(placement.vpc.clone()).or_default() += 1;
        let zones: BTreeSet<&AzId> = placement.subnets.iter().map(|s| &subnet(s).az_id).collect();
        if let [az_id] = Vec::from_iter(zones).as_slice() {
            warnings.push(Warning::SingleAz { runtime: runtime.name.clone(), az_id: (*az_id).clone() });
        }
        for key in placement.keys() {
            keys.entry(key).or_default().push(runtime.name.clone());
        }
    }
    let enis: Vec<PlannedEni> = keys
        .into_iter()
        .map(|(key, users)| {
            let s = subnet(&key.subnet);
            PlannedEni { vpc: s.vpc.clone(), az_id: s.az_id.clone(), runtimes: users.into_iter().collect(), key }
        })
        .collect();
    let mut per_subnet: BTreeMap<&SubnetId, u32> = BTreeMap::new();
    let mut per_vpc: BTreeMap<&VpcId, usize> = BTreeMap::new();
    for eni in &enis {
        *per_subnet.entry(&eni.key.subnet).or_default() += 1;
        *per_vpc.entry(&eni.vpc).or_default() += 1;
    }
    let mut subnets = Vec::new();
    for (id, agentcore_enis) in per_subnet {
        let s = subnet(id);
        let usable = usable_ips(s.cidr);
        let other = inventory.ips_in_use.iter().rev().find(|(i, _)| i == id).map_or(0, |(_, n)| *n);
        let free_before = i64::from(usable) - i64::from(other);
        let headroom = free_before - i64::from(agentcore_enis);
        if headroom < 0 {
            warnings.push(Warning::SubnetOutOfIps {
                subnet: id.clone(),
                needed: agentcore_enis,
                available: free_before,
            });
        } else if (headroom as f64) < f64::from(usable) * options.low_headroom_fraction {
            warnings.push(Warning::SubnetLowOnIps { subnet: id.clone(), headroom, usable });
        }
        subnets.push(SubnetUsage {
            subnet: id.clone(),
            vpc: s.vpc.clone(),
            az_id: s.az_id.clone(),
            cidr: s.cidr,
            usable_ips: usable,
            other_ips_in_use: other,
            agentcore_enis,
            headroom,
        });
    }
    let vpcs = per_vpc
        .into_iter()
        .map(|(vpc, enis)| VpcUsage { vpc: vpc.clone(), enis, runtimes: vpc_runtimes[vpc] })
        .collect();
    if enis.len() > options.eni_quota as usize {
        warnings.push(Warning::EniQuotaExceeded { planned: enis.len(), quota: options.eni_quota });
    }
    Ok(EniPlan { total_enis: enis.len(), enis, subnets, vpcs, public_runtimes, warnings })
}

const OTHER_VPC: &str = "vpc-0fedcba9876543210";

/// Two VPCs of us-east-1: subnets 0 to 2 in `VPC` (zones az1, az2, az1), 3 in the other VPC, 4 in
/// an unsupported zone; groups 0 to 2 in `VPC`, 3 in the other. With `relisted`, subnet 2 is listed
/// again as a /28 in az2 (the later listing is the one that counts).
fn two_vpc_inventory(relisted: bool, ips_in_use: Vec<(usize, u32)>) -> Inventory {
    let mut inventory = Inventory::new("us-east-1");
    for (i, vpc, zone) in [(0, VPC, "use1-az1"), (1, VPC, "use1-az2"), (2, VPC, "use1-az1"), (3, OTHER_VPC, "use1-az1")]
    {
        inventory.subnets.push(subnet(&subnet_id(i), vpc, zone, &format!("10.0.{i}.0/24")));
    }
    inventory.subnets.push(subnet(&subnet_id(4), VPC, "use1-az3", "10.0.4.0/24"));
    if relisted {
        inventory.subnets.push(subnet(&subnet_id(2), VPC, "use1-az2", "10.0.9.0/28"));
    }
    for (i, vpc) in [(0, VPC), (1, VPC), (2, VPC), (3, OTHER_VPC)] {
        inventory.security_groups.push(sg(&sg_id(i), vpc));
    }
    inventory.ips_in_use = ips_in_use.into_iter().map(|(s, n)| (subnet_id(s).parse().unwrap(), n)).collect();
    inventory
}

/// A runtime named from a small pool (so names repeat now and then), public or on subnets 0 to 5
/// and groups 0 to 4 (5 and 4 unknown), mostly in `VPC`.
fn arb_runtime() -> impl Strategy<Value = Runtime> {
    let in_vpc = (prop::collection::vec(0usize..3, 1..5), prop::collection::vec(0usize..3, 1..4));
    let anywhere = (prop::collection::vec(0usize..6, 1..4), prop::collection::vec(0usize..5, 1..3));
    let network = prop_oneof![
        1 => Just(None),
        6 => in_vpc.prop_map(Some),
        1 => anywhere.prop_map(Some),
    ];
    (0usize..40, network).prop_map(|(name, network)| {
        let network = match network {
            None => RuntimeNetwork::Public,
            Some((s, g)) => network_of(&s, &g),
        };
        Runtime::new(format!("r{name}"), network)
    })
}

proptest! {
    #[test]
    fn the_plan_is_the_reference_plan(
        runtimes in prop::collection::vec(arb_runtime(), 0..12),
        relisted in any::<bool>(),
        ips_in_use in prop::collection::vec((0usize..5, 0u32..260), 0..3),
        eni_quota in 0u32..8,
        low_headroom_fraction in prop_oneof![Just(0.1), Just(0.99)],
        region in prop_oneof![4 => Just("us-east-1"), 1 => Just("mars-north-1")],
    ) {
        let mut inventory = two_vpc_inventory(relisted, ips_in_use);
        inventory.region = region.into();
        let options = PlanOptions { eni_quota, low_headroom_fraction };
        let planned = plan_with(&inventory, &runtimes, &options);
        prop_assert_eq!(&planned, &reference_plan(&inventory, &runtimes, &options));
        // Equal plans are equal as JSON too: the runtimes of each ENI are a list of names there.
        if let Ok(planned) = planned {
            let json = serde_json::to_value(&planned).unwrap();
            for (eni, value) in planned.enis.iter().zip(json["enis"].as_array().unwrap()) {
                prop_assert_eq!(&value["runtimes"], &serde_json::json!(eni.runtimes.to_vec()));
            }
            prop_assert_eq!(serde_json::from_value::<EniPlan>(json).unwrap(), planned);
        }
    }

    #[test]
    fn runtimes_sharing_few_networks_plan_as_the_reference(
        networks in prop::collection::vec((prop::collection::vec(0usize..3, 1..4), prop::collection::vec(0usize..3, 1..4)), 1..4),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..30),
    ) {
        // Many runtimes on a few networks: the crate checks each distinct network once.
        let inventory = two_vpc_inventory(false, vec![]);
        let runtimes: Vec<Runtime> = picks.iter().enumerate()
            .map(|(i, pick)| { let (s, g) = pick.get(&networks); Runtime::new(format!("r{i}"), network_of(s, g)) })
            .collect();
        let options = PlanOptions::default();
        prop_assert_eq!(plan_with(&inventory, &runtimes, &options), reference_plan(&inventory, &runtimes, &options));
    }
}
