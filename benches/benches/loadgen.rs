//! The load generator's own overhead: the `noop` target (no I/O), so what is measured is scheduling,
//! timing, histogram recording and accounting. Target: ≥ 1,000,000 requests/s on the project's
//! 2-core machine (criterion reports "elements/s" = requests/s).
//!
//! `cargo bench -p benches --bench loadgen`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use loadgen::schedule::Stage;
use loadgen::{Model, Noop, Plan, Report, Stop};

const REQUESTS: u64 = 200_000;

fn run(runtime: &tokio::runtime::Runtime, plan: Plan) -> Report {
    let (_stop, stop_rx) = tokio::sync::watch::channel(Stop::Run);
    let report = runtime.block_on(loadgen::run(Noop, plan, stop_rx)).expect("noop run");
    assert_eq!(report.ok, REQUESTS);
    report
}

fn generator_overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut group = c.benchmark_group("loadgen noop");
    group.throughput(Throughput::Elements(REQUESTS));
    for (name, concurrency, timeout) in [
        ("closed c=2, per-request timeout (CLI default)", 2, Some(Duration::from_secs(60))),
        ("closed c=2, no timeout", 2, None),
        ("closed c=50, per-request timeout", 50, Some(Duration::from_secs(60))),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut plan = Plan::new(Model::Closed { concurrency, duration: None }, "noop");
                plan.requests = Some(REQUESTS);
                plan.timeout = timeout;
                run(&runtime, plan)
            })
        });
    }
    // The open model at a rate no machine reaches: how fast the dispatcher spawns scheduled requests.
    group.bench_function("open, unreachable rate (dispatcher bound)", |b| {
        b.iter(|| {
            let stages = vec![Stage::plateau(50_000_000.0, Duration::from_secs(3600))];
            let mut plan = Plan::new(Model::Open { stages, max_in_flight: 100_000 }, "noop");
            plan.requests = Some(REQUESTS);
            run(&runtime, plan)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = generator_overhead
}
criterion_main!(benches);
