//! The emulator held against `eni-model`: random sequences of create / update-network / delete runtime /
//! advance time, driven through the SDK; after every step the ENIs that `DescribeNetworkInterfaces`
//! lists must match the model's `[min, max]` range and its `compare` verdict. The emulator implements
//! the ENI mechanism on its own, so agreement here is evidence, not a tautology; and under the
//! deliberately wrong `per-runtime` policy the same check must find the difference.

use std::collections::BTreeMap;
use std::time::Duration;

use agentcore_local::{Clock, Config, EniPolicy};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use eni_model::{
    Inventory, Lifecycle, LifecycleError, LifecycleEvent, ObservedEni, RuntimeNetwork, SecurityGroup, Subnet, compare,
};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

use crate::support::{Lab, container, filter, vpc_network};

const STATUS_DELAY: Duration = Duration::from_secs(30);
const LINGER: Duration = Duration::from_secs(600);
const RUNTIMES: usize = 4;

#[derive(Debug, Clone)]
enum Op {
    Create { runtime: usize, subnets: Vec<usize>, groups: Vec<usize> },
    UpdateNetwork { runtime: usize, subnets: Vec<usize>, groups: Vec<usize> },
    Delete { runtime: usize },
    Advance { seconds: u64 },
}

fn arb_op() -> impl Strategy<Value = Op> {
    // 3 subnets; groups drawn with order and repetition (the key is the *set*).
    let network = (prop::collection::vec(0usize..3, 1..=3), prop::collection::vec(0usize..2, 1..=3));
    prop_oneof![
        3 => (0..RUNTIMES, network.clone()).prop_map(|(runtime, (subnets, groups))| Op::Create { runtime, subnets, groups }),
        2 => (0..RUNTIMES, network).prop_map(|(runtime, (subnets, groups))| Op::UpdateNetwork { runtime, subnets, groups }),
        2 => (0..RUNTIMES).prop_map(|runtime| Op::Delete { runtime }),
        // Around the linger window, so that ENIs are seen lingering, vanishing and revived.
        2 => prop_oneof![Just(LINGER.as_secs()), 0u64..(2 * LINGER.as_secs())].prop_map(|seconds| Op::Advance { seconds }),
    ]
}

/// The emulator with a VPC of 3 subnets and 2 security groups, and the same inventory for the model.
struct World {
    lab: Lab,
    vpc: String,
    subnets: Vec<String>,
    groups: Vec<String>,
    inventory: Inventory,
}

async fn world(policy: EniPolicy) -> World {
    let config = Config {
        clock: Clock::manual(),
        status_delay: STATUS_DELAY,
        eni_linger: LINGER,
        eni_policy: policy,
        ..Config::default()
    };
    let lab = Lab::start(config).await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let zones = ["use1-az1", "use1-az2", "use1-az4"];
    let mut subnets = Vec::new();
    for (i, zone) in zones.iter().enumerate() {
        subnets.push(lab.subnet(&vpc, &format!("10.0.{i}.0/24"), zone).await);
    }
    let groups = vec![lab.security_group(&vpc, "a").await, lab.security_group(&vpc, "b").await];

    // The model's inventory comes from what EC2 describes, not from what the test asked for.
    let described = lab.ec2.describe_subnets().filters(filter("vpc-id", [vpc.as_str()])).send().await.unwrap();
    let mut inventory = Inventory::new("us-east-1");
    for s in described.subnets() {
        inventory.subnets.push(Subnet {
            id: s.subnet_id().unwrap().parse().unwrap(),
            vpc: s.vpc_id().unwrap().parse().unwrap(),
            az_id: s.availability_zone_id().unwrap().parse().unwrap(),
            cidr: s.cidr_block().unwrap().parse().unwrap(),
        });
    }
    let described = lab.ec2.describe_security_groups().filters(filter("vpc-id", [vpc.as_str()])).send().await.unwrap();
    for g in described.security_groups() {
        if g.group_name() == Some("default") {
            continue;
        }
        inventory.security_groups.push(SecurityGroup {
            id: g.group_id().unwrap().parse().unwrap(),
            vpc: g.vpc_id().unwrap().parse().unwrap(),
        });
    }
    assert_eq!(inventory.subnets.len(), 3);
    World { lab, vpc, subnets, groups, inventory }
}

impl World {
    fn pick(&self, subnets: &[usize], groups: &[usize]) -> (Vec<String>, Vec<String>) {
        (
            subnets.iter().map(|&i| self.subnets[i].clone()).collect(),
            groups.iter().map(|&i| self.groups[i].clone()).collect(),
        )
    }

    async fn observe(&self) -> Vec<ObservedEni> {
        let out = self
            .lab
            .ec2
            .describe_network_interfaces()
            .filters(filter("vpc-id", [self.vpc.as_str()]))
            .send()
            .await
            .expect("DescribeNetworkInterfaces");
        out.network_interfaces()
            .iter()
            .map(|n| ObservedEni {
                id: n.network_interface_id().unwrap().to_string(),
                subnet: n.subnet_id().unwrap().parse().unwrap(),
                security_groups: n.groups().iter().map(|g| g.group_id().unwrap().parse().unwrap()).collect(),
                interface_type: n.interface_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                status: n.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                private_ip: n.private_ip_address().map(str::to_string),
            })
            .collect()
    }
}

/// Runs `ops` against the emulator and the model side by side; the first disagreement is the error.
async fn run(policy: EniPolicy, ops: &[Op]) -> Result<(), TestCaseError> {
    let w = world(policy).await;
    let mut model = Lifecycle::new(w.inventory.clone(), LINGER).unwrap();
    let mut ids: BTreeMap<usize, String> = BTreeMap::new();
    let mut now = Duration::ZERO;
    for (step, op) in ops.iter().enumerate() {
        let name = |r: &usize| format!("rt_{r}");
        match op {
            Op::Create { runtime, subnets, groups } => {
                let (s, g) = w.pick(subnets, groups);
                let event =
                    LifecycleEvent::Create { runtime: name(runtime), network: RuntimeNetwork::vpc(&s, &g).unwrap() };
                let modelled = model.apply(now, &event);
                let created = w
                    .lab
                    .control
                    .create_agent_runtime()
                    .agent_runtime_name(name(runtime))
                    .agent_runtime_artifact(container())
                    .role_arn(crate::support::ROLE_ARN)
                    .network_configuration(vpc_network(&s, &g))
                    .send()
                    .await;
                match (modelled, created) {
                    (Ok(()), Ok(out)) => {
                        ids.insert(*runtime, out.agent_runtime_id().to_string());
                    }
                    (Err(LifecycleError::DuplicateRuntime(_)), Err(e)) => {
                        prop_assert_eq!(e.code(), Some("ConflictException"), "step {}: {:?}", step, op);
                    }
                    (m, e) => prop_assert!(false, "step {step}: {op:?}: model {m:?}, emulator {:?}", e.map(|_| ())),
                }
            }
            Op::UpdateNetwork { runtime, subnets, groups } => {
                let (s, g) = w.pick(subnets, groups);
                let event = LifecycleEvent::UpdateNetwork {
                    runtime: name(runtime),
                    network: RuntimeNetwork::vpc(&s, &g).unwrap(),
                };
                let modelled = model.apply(now, &event);
                let id = ids.get(runtime).cloned().unwrap_or_else(|| format!("{}-0000000000", name(runtime)));
                let updated = w
                    .lab
                    .control
                    .update_agent_runtime()
                    .agent_runtime_id(&id)
                    .agent_runtime_artifact(container())
                    .role_arn(crate::support::ROLE_ARN)
                    .network_configuration(vpc_network(&s, &g))
                    .send()
                    .await;
                match (modelled, updated) {
                    (Ok(()), Ok(_)) => {}
                    (Err(LifecycleError::UnknownRuntime(_)), Err(e)) => {
                        prop_assert_eq!(e.code(), Some("ResourceNotFoundException"), "step {}: {:?}", step, op);
                    }
                    (m, e) => prop_assert!(false, "step {step}: {op:?}: model {m:?}, emulator {:?}", e.map(|_| ())),
                }
            }
            Op::Delete { runtime } => {
                let id = ids.get(runtime).cloned().unwrap_or_else(|| format!("{}-0000000000", name(runtime)));
                let deleted = w.lab.control.delete_agent_runtime().agent_runtime_id(&id).send().await;
                // DELETING → gone after the status delay: only then is the runtime's ENI unused.
                let modelled = model.apply(now + STATUS_DELAY, &LifecycleEvent::Delete { runtime: name(runtime) });
                match (modelled, deleted) {
                    (Ok(()), Ok(_)) => {
                        ids.remove(runtime);
                    }
                    (Err(LifecycleError::UnknownRuntime(_)), Err(e)) => {
                        prop_assert_eq!(e.code(), Some("ResourceNotFoundException"), "step {}: {:?}", step, op);
                    }
                    (m, e) => prop_assert!(false, "step {step}: {op:?}: model {m:?}, emulator {:?}", e.map(|_| ())),
                }
            }
            Op::Advance { seconds } => {
                w.lab.advance(Duration::from_secs(*seconds));
                now += Duration::from_secs(*seconds);
            }
        }
        // Every mutation is given its status delay, so each runtime is READY (or gone) before the next step.
        if !matches!(op, Op::Advance { .. }) {
            w.lab.advance(STATUS_DELAY);
            now += STATUS_DELAY;
        }
        let observed = w.observe().await;
        let range = model.range_at(now).unwrap();
        let verdict = compare(&range.expected(), &observed);
        prop_assert!(
            verdict.is_match() && range.contains(observed.len()),
            "after step {step} ({op:?}) at {now:?}, the model expects {}..={} ENIs:\n{verdict}",
            range.min,
            range.max
        );
    }
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(proptest::test_runner::Config { cases, failure_persistence: None, ..Default::default() })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

#[test]
fn emulator_agrees_with_the_model_through_random_lifecycles() {
    let mut runner = runner(48);
    let result = runner.run(&prop::collection::vec(arb_op(), 1..16), |ops| block_on(run(EniPolicy::Shared, &ops)));
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// The negative control's seed: fixed, so that it is the same experiment on every run and machine
/// (a fresh seed per run could draw a different, possibly weaker, set of lifecycles each time).
const NEGATIVE_CONTROL_SEED: u64 = 0x656e_692d_6c61_6221;

#[test]
fn under_the_per_runtime_policy_the_same_check_finds_the_difference() {
    let mut runner = TestRunner::new(proptest::test_runner::Config {
        cases: 48,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(NEGATIVE_CONTROL_SEED),
        ..Default::default()
    });
    let result = runner.run(&prop::collection::vec(arb_op(), 1..16), |ops| block_on(run(EniPolicy::PerRuntime, &ops)));
    let failure = result.expect_err("per-runtime ENIs must be told apart from shared ones").to_string();
    assert!(failure.contains("a second ENI for one subnet and security-group set"), "{failure}");
}

#[test]
fn report_cases_match_the_model_exactly() {
    // 10 runtimes × 2 subnets × 1 SG → 2 ENIs; runtime 0 moved to a second SG → 4.
    let ops: Vec<Op> = (0..10)
        .map(|r| Op::Create { runtime: r, subnets: vec![0, 1], groups: vec![0] })
        .chain([Op::UpdateNetwork { runtime: 0, subnets: vec![0, 1], groups: vec![1] }])
        .collect();
    block_on(run(EniPolicy::Shared, &ops)).unwrap();
    // And the same sequence through the per-runtime world disagrees with the model at once.
    let err = block_on(run(EniPolicy::PerRuntime, &ops[..2])).unwrap_err().to_string();
    assert!(err.contains("the model expects 2..=2 ENIs") && err.contains("MISMATCH"), "{err}");
}
