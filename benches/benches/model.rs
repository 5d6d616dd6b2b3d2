//! `eni-model` at the scale its issues set. Targets on the project's 2-core machine: a plan of 100,000
//! runtimes within 20 ms, admission of 1,000,000 invocations within 50 ms.
//!
//! `cargo bench -p benches --bench model`

use std::hint::black_box;

use benches::model;
use criterion::{Criterion, criterion_group, criterion_main};
use eni_model::{SessionPolicy, admit, plan};

fn plan_100k_runtimes(c: &mut Criterion) {
    let inventory = model::inventory(1_000, 200);
    let runtimes = model::runtimes(100_000, 1_000, 200);
    c.bench_function("plan/100k runtimes, 1k subnets, 200 SG sets", |b| {
        b.iter(|| plan(black_box(&inventory), black_box(&runtimes)).expect("valid plan"))
    });
}

fn admission_1m_invocations(c: &mut Criterion) {
    let calls = model::calls(1_000_000, 600);
    let schedule = model::schedule(&calls);
    let policy = SessionPolicy::default();
    c.bench_function("admit/1M invocations", |b| b.iter(|| admit(black_box(&policy), black_box(&schedule))));
    // Building the schedule interns 500,100 distinct session ids; reported apart from admission.
    c.bench_function("schedule/intern 1M invocations", |b| b.iter(|| model::schedule(black_box(&calls))));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = plan_100k_runtimes, admission_1m_invocations
}
criterion_main!(benches);
