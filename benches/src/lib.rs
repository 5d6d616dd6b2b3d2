//! Workloads shared by the criterion benchmarks (`cargo bench -p benches`) and by tests that check the
//! workloads are what the benchmarks claim.

pub mod model {
    //! Inputs for `eni-model` at the scale its issue sets: plans over 100,000 runtimes and admission
    //! over 1,000,000 invocations.

    use std::time::Duration;

    use eni_model::{Inventory, Runtime, RuntimeNetwork, Schedule, SecurityGroup, Subnet, supported_az_ids};

    const VPC: &str = "vpc-0bench0000000000";

    /// `subnets` /24 subnets over us-east-1's supported zones and enough security groups to form
    /// `sg_sets` distinct sets of 1 to 3 groups, all in one VPC.
    pub fn inventory(subnets: usize, sg_sets: usize) -> Inventory {
        let zones = supported_az_ids("us-east-1").expect("us-east-1 supports VPC mode");
        let mut inventory = Inventory::new("us-east-1");
        for i in 0..subnets {
            inventory.subnets.push(Subnet {
                id: subnet_id(i).parse().expect("valid id"),
                vpc: VPC.parse().expect("valid id"),
                az_id: zones[i % zones.len()].parse().expect("valid id"),
                cidr: format!("10.{}.{}.0/24", i / 256, i % 256).parse().expect("valid CIDR"),
            });
        }
        for i in 0..groups_for(sg_sets) {
            inventory
                .security_groups
                .push(SecurityGroup { id: sg_id(i).parse().expect("valid id"), vpc: VPC.parse().expect("valid id") });
        }
        inventory
    }

    /// `runtimes` runtimes, each on two neighbouring subnets with one of `sg_sets` security-group
    /// sets (a set of one group, then pairs, then triples), listed in varying order.
    pub fn runtimes(runtimes: usize, subnets: usize, sg_sets: usize) -> Vec<Runtime> {
        let sets = sg_sets_list(sg_sets);
        (0..runtimes)
            .map(|r| {
                let s = r % subnets;
                let mut groups: Vec<String> = sets[r % sets.len()].iter().map(|&g| sg_id(g)).collect();
                if r % 2 == 1 {
                    groups.reverse();
                }
                let network =
                    RuntimeNetwork::vpc([subnet_id(s), subnet_id((s + 1) % subnets)], groups).expect("valid network");
                Runtime::new(format!("bench_runtime_{r}"), network)
            })
            .collect()
    }

    /// `invocations` calls `(at, runtime, session id)` spread evenly over `seconds`, round-robin over
    /// 10 runtimes; every other call has a new session id, the rest reuse one of 100 pooled ids (the
    /// mix of the report's load and a pooled client).
    pub fn calls(invocations: usize, seconds: u64) -> Vec<(Duration, &'static str, String)> {
        let step = Duration::from_secs(seconds) / invocations as u32;
        (0..invocations)
            .map(|i| {
                let session = if i % 2 == 0 { format!("unique-{i:032}") } else { format!("pooled-{:032}", i % 100) };
                (step * i as u32, RUNTIMES[i % RUNTIMES.len()], session)
            })
            .collect()
    }

    /// The [`calls`] as a schedule; each invocation keeps its session busy for 20 ms.
    pub fn schedule(calls: &[(Duration, &str, String)]) -> Schedule {
        let mut schedule = Schedule::with_capacity(calls.len());
        for (at, runtime, session) in calls {
            schedule.invoke(*at, runtime, session, Duration::from_millis(20));
        }
        schedule
    }

    const RUNTIMES: [&str; 10] = ["rt_0", "rt_1", "rt_2", "rt_3", "rt_4", "rt_5", "rt_6", "rt_7", "rt_8", "rt_9"];

    fn subnet_id(i: usize) -> String {
        format!("subnet-{i:08}")
    }

    fn sg_id(i: usize) -> String {
        format!("sg-{i:08}")
    }

    /// Enough groups that singles, pairs and triples of them give `sets` distinct sets.
    fn groups_for(sets: usize) -> usize {
        (2..).find(|&n| n + n * (n - 1) / 2 + n * (n - 1) * (n - 2) / 6 >= sets).expect("some n fits")
    }

    fn sg_sets_list(sets: usize) -> Vec<Vec<usize>> {
        let n = groups_for(sets);
        let singles = (0..n).map(|a| vec![a]);
        let pairs = (0..n).flat_map(move |a| (a + 1..n).map(move |b| vec![a, b]));
        let triples = (0..n).flat_map(move |a| (a + 1..n).flat_map(move |b| (b + 1..n).map(move |c| vec![a, b, c])));
        singles.chain(pairs).chain(triples).take(sets).collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn workloads_have_the_advertised_shape() {
            let inventory = inventory(1_000, 200);
            let runtimes = runtimes(10_000, 1_000, 200);
            let plan = eni_model::plan(&inventory, &runtimes).unwrap();
            // 10,000 runtimes: subnet s and set r % 200 with s = r % 1000, so 1,000 subnets × 200 sets
            // cannot all occur; each runtime covers 2 subnets, and (s, set) repeats every lcm(1000, 200).
            let distinct: std::collections::BTreeSet<(usize, usize)> =
                (0..10_000).flat_map(|r| [(r % 1000, r % 200), ((r % 1000 + 1) % 1000, r % 200)]).collect();
            assert_eq!(plan.total_enis, distinct.len());
            assert_eq!(sg_sets_list(200).len(), 200);
            let s = schedule(&calls(1_000, 10));
            assert_eq!(s.len(), 1_000);
            assert_eq!(s.call(2).session, format!("unique-{:032}", 2));
        }
    }
}
