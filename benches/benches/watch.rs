//! `eni-watch` at the scale its issue sets: diff one sample of 10,000 ENIs against the previous
//! one and give it a verdict against a plan. Target: within 5 ms on the project's 2-core machine.
//!
//! `cargo bench -p benches --bench watch`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use eni_model::{EniKey, Expected, SecurityGroupId, SubnetId, VpcId};
use eni_watch::{Eni, Expectation, diff};

const ENIS: usize = 10_000;
const SUBNETS: usize = 100;

fn subnet(i: usize) -> SubnetId {
    format!("subnet-0{i:016x}").parse().expect("valid id")
}

fn group(i: usize) -> SecurityGroupId {
    format!("sg-0{i:016x}").parse().expect("valid id")
}

/// ENI `i` serves key (subnet `i % 100`, group `i / 100`): 10,000 distinct keys.
fn eni(i: usize, ip_offset: usize) -> Eni {
    let s = i % SUBNETS;
    Eni {
        id: format!("eni-0{i:016x}"),
        subnet: subnet(s),
        az: "us-east-1a".into(),
        az_id: "use1-az1".into(),
        vpc: "vpc-0bench0000000000".parse::<VpcId>().expect("valid id"),
        security_groups: vec![group(i / SUBNETS)],
        private_ip: Some(format!(
            "10.{}.{}.{}",
            s,
            (i / SUBNETS + ip_offset) / 250,
            4 + (i / SUBNETS + ip_offset) % 250
        )),
        interface_type: "agentic_ai".into(),
        status: "in-use".into(),
        requester_managed: true,
        tags: [("AmazonBedrockAgentCoreManaged".to_string(), "true".to_string())].into(),
    }
}

/// The previous sample, the next one (1% removed, 1% new, 1% with a new IP, 1% with a new
/// status), and a plan expecting every key of the previous sample.
fn workload() -> (Vec<Eni>, Vec<Eni>, Expected) {
    let before: Vec<Eni> = (0..ENIS).map(|i| eni(i, 0)).collect();
    let mut after: Vec<Eni> = before.iter().enumerate().filter(|(i, _)| i % 100 != 0).map(|(_, e)| e.clone()).collect();
    for (n, e) in after.iter_mut().enumerate() {
        match n % 100 {
            1 => e.private_ip = Some(format!("10.255.0.{}", n % 250)),
            2 => e.status = "available".into(),
            _ => {}
        }
    }
    after.extend((ENIS..ENIS + ENIS / 100).map(|i| eni(i, 7)));
    let expected = Expected {
        required: before.iter().map(|e| EniKey::new(e.subnet.clone(), e.security_groups.iter().cloned())).collect(),
        optional: Default::default(),
    };
    (before, after, expected)
}

fn diff_and_verdict_10k(c: &mut Criterion) {
    let (before, after, expected) = workload();
    let expectation = Expectation::Keys(expected);
    let changes = diff(&before, &after);
    assert_eq!(changes.len(), 100 + 100 + 99 + 99, "removed, added, IP and status changes");
    assert!(!expectation.check(Duration::ZERO, &after).ok, "the new ENIs are not in the plan");
    c.bench_function("watch/diff 10k ENIs", |b| b.iter(|| diff(black_box(&before), black_box(&after))));
    c.bench_function("watch/verdict 10k ENIs vs plan", |b| {
        b.iter(|| expectation.check(black_box(Duration::ZERO), black_box(&after)))
    });
    let matching = Expectation::Keys(Expected {
        required: after.iter().map(|e| EniKey::new(e.subnet.clone(), e.security_groups.iter().cloned())).collect(),
        optional: Default::default(),
    });
    assert!(matching.check(Duration::ZERO, &after).ok);
    c.bench_function("watch/verdict 10k ENIs vs plan, all match", |b| {
        b.iter(|| matching.check(black_box(Duration::ZERO), black_box(&after)))
    });
    // The owned path, as eni-lab takes it: converting to eni-model's view, then eni_model::compare. (The
    // verdict above judges the ENIs in place with eni_model::judge.)
    c.bench_function("watch/convert 10k ENIs to ObservedEni", |b| {
        b.iter(|| black_box(&after).iter().map(Eni::observed).collect::<Vec<_>>())
    });
    let observed: Vec<_> = after.iter().map(Eni::observed).collect();
    let Expectation::Keys(expected) = &expectation else { unreachable!() };
    c.bench_function("watch/eni_model::compare 10k ENIs", |b| {
        b.iter(|| eni_model::compare(black_box(expected), black_box(&observed)))
    });
    c.bench_function("watch/diff + verdict 10k ENIs", |b| {
        b.iter(|| {
            let changes = diff(black_box(&before), black_box(&after));
            let check = expectation.check(black_box(Duration::ZERO), black_box(&after));
            (changes, check)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = diff_and_verdict_10k
}
criterion_main!(benches);
