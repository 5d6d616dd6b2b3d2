//! Accounting checked against the server's own counts: every started call ends as exactly one of
//! ok, failed or cancelled, `ok` is what the server answered, and a call spawned but never run when
//! the run stops is still counted (as cancelled), never lost.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use loadgen::schedule::parse_stages;
use loadgen::{Answer, Call, Failure, Http, Model, Plan, Stop, Target};
use tokio::sync::watch;

use crate::support::{assert_accounted, assert_matches_server, closed, counting_agent, payloads, run};

/// `{"sleep_ms": N}` for the counting agent.
fn sleeping(ms: u64) -> String {
    format!(r#"{{"sleep_ms":{ms}}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_is_what_the_server_answered() {
    let (url, served) = counting_agent().await;
    let mut plan = closed(4, 120, "http");
    plan.payloads = payloads(&[&sleeping(0), &sleeping(3)]);
    let report = run(Http::new(&url, 4).unwrap(), plan).await;
    assert_eq!((served.received(), served.answered()), (120, 120));
    assert_eq!((report.total, report.ok, report.cancelled), (120, 120, 0));
    assert_matches_server(&report, &served);
}

/// A target that answers at once and counts the invocations it answered (the "server" of a run
/// with no I/O).
#[derive(Clone, Default)]
struct CountingNoop(Arc<AtomicU64>);

impl Target for CountingNoop {
    fn invoke(&self, _call: &Call) -> impl Future<Output = Result<Answer, Failure>> + Send {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Answer { first_byte: Instant::now(), bytes: 0, sent: None }))
    }
}

/// On a single-threaded runtime the open model at 10^9/s spawns all of its calls without yielding;
/// with no drain, the run then cancels the ones not yet polled (all but a few dozen). Each must be
/// counted started (and cancelled) by the scheduler, so the run accounts for every call of the plan;
/// `ok` is what the target answered.
#[tokio::test(flavor = "current_thread")]
async fn calls_spawned_but_never_run_are_cancelled_not_lost() {
    const CALLS: u64 = 50_000;
    let target = CountingNoop::default();
    let stages = parse_stages("1000000000/s:1s").unwrap();
    let mut plan = Plan::new(Model::Open { stages, max_in_flight: 1_000_000 }, "noop");
    plan.requests = Some(CALLS);
    plan.drain_timeout = Duration::ZERO;
    let report = run(target.clone(), plan).await;
    assert_eq!(report.dropped, 0);
    assert_eq!(report.total, CALLS, "every call of the plan is started: {report:#?}");
    assert_eq!(report.ok, target.0.load(Ordering::SeqCst), "{report:#?}");
    assert_eq!(report.ok + report.cancelled, CALLS, "{report:#?}");
    let series_cancelled: u64 = report.series.iter().map(|s| s.cancelled).sum();
    assert_eq!(series_cancelled, report.cancelled, "{:?}", report.series);
}

/// The server sleeps 30 s on every other call; stopped mid-run with a short drain, the sleeping calls
/// are cancelled and everything still adds up against the server's counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_mid_run_with_a_slow_server_cancels_and_stays_consistent() {
    let (url, served) = counting_agent().await;
    let stages = parse_stages("50/s:1m").unwrap();
    let mut plan = Plan::new(Model::Open { stages, max_in_flight: 1000 }, "http");
    plan.drain_timeout = Duration::from_millis(300);
    plan.payloads = payloads(&[&sleeping(0), &sleeping(30_000)]);
    let (stop_tx, stop_rx) = watch::channel(Stop::Run);
    let running = tokio::spawn(loadgen::run(Http::new(&url, 64).unwrap(), plan, stop_rx));
    served.wait_for_received(20).await;
    stop_tx.send(Stop::Drain).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the run ends after the drain")
        .unwrap()
        .expect("the accounting check passes");
    assert_accounted(&report);
    assert!(report.interrupted);
    assert!(report.cancelled >= 9, "the sleeping calls were cancelled: {report:#?}");
    assert!(report.ok >= 9, "{report:#?}");
    assert_matches_server(&report, &served);
    assert!(served.received() - served.answered() >= 9, "the server still holds the slow calls");
}
