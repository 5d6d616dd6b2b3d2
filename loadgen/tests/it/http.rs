//! The library against an in-process dummy-agent (http target) and the noop target.

use std::time::Duration;

use loadgen::schedule::parse_stages;
use loadgen::{Http, Model, Noop, Plan, Sessions};

use crate::support::{closed, dummy_agent, payloads, run, session_recorder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_accounted_in_its_class() {
    let url = dummy_agent().await;
    let mut plan = closed(4, 40, "http");
    plan.payloads = payloads(&[
        r#"{"prompt":"ok"}"#,
        r#"{"_dummy":{"status":503}}"#,
        r#"{"_dummy":{"status":404}}"#,
        r#"{"_dummy":{"sleep_ms":5000}}"#,
    ]);
    plan.timeout = Some(Duration::from_millis(200));
    let report = run(Http::new(&url, 4).unwrap(), plan).await;
    assert_eq!(report.total, 40);
    assert_eq!(report.ok, 10);
    assert_eq!(report.failed.get("HTTP 503"), Some(&10));
    assert_eq!(report.failed.get("HTTP 404"), Some(&10));
    assert_eq!(report.failed.get("Timeout"), Some(&10));
    assert_eq!(report.cancelled, 0);
    assert_eq!(report.latency_ms.corrected.count, 40);
    assert_eq!(report.latency_ms.ttfb.count, 10);
    // A quarter of the requests waited for the 200 ms timeout.
    let corrected = report.latency_ms.corrected;
    assert!(corrected.max >= 200.0 && corrected.p50 < 200.0 && corrected.p90 >= 200.0, "{corrected:?}");
    // Samples keep the agent's words.
    let samples = &report.error_samples["HTTP 503"];
    assert!(!samples.is_empty() && samples.len() <= 5 && samples[0].contains("echo"), "{samples:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let report = run(Http::new(&format!("http://127.0.0.1:{port}"), 1).unwrap(), closed(1, 3, "http")).await;
    assert_eq!(report.failed.get("Connect"), Some(&3), "{:?}", report.failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_reach_their_rates() {
    let url = dummy_agent().await;
    let stages = parse_stages("20/s:1s,20->100/s:1s,100/s:2s").unwrap();
    let plan = Plan::new(Model::Open { stages, max_in_flight: 1000 }, "http");
    let report = run(Http::new(&url, 64).unwrap(), plan).await;
    // The schedule is exact: 20 + 60 + 200 requests.
    assert_eq!(report.total + report.dropped, 280);
    assert_eq!(report.dropped, 0);
    assert_eq!(report.ok, 280);
    let sent: Vec<u64> = report.series.iter().map(|s| s.sent).collect();
    // Generous bounds: the first second is the slow plateau, the last full second the fast one.
    assert!(sent[0] <= 40, "{sent:?}");
    assert!(sent[2] >= 50 || sent[3] >= 50, "{sent:?}");
    assert!(report.latency_ms.schedule_lag.count == 280);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_drops_what_it_cannot_send() {
    let url = dummy_agent().await;
    let stages = parse_stages("200/s:500ms").unwrap();
    let mut plan = Plan::new(Model::Open { stages, max_in_flight: 5 }, "http");
    plan.payloads = payloads(&[r#"{"_dummy":{"sleep_ms":2000}}"#]);
    let report = run(Http::new(&url, 8).unwrap(), plan).await;
    assert_eq!(report.total + report.dropped, 100);
    assert_eq!(report.total, 5, "{report:#?}");
    assert_eq!(report.ok, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_sessions_never_exceed_k_and_unique_never_repeat() {
    let (url, seen) = session_recorder().await;
    let mut plan = closed(8, 200, "http");
    plan.sessions = Some(Sessions::Pool(3));
    run(Http::new(&url, 8).unwrap(), plan).await;
    assert_eq!(seen.lock().unwrap().len(), 3);

    let (url, seen) = session_recorder().await;
    let mut plan = closed(8, 200, "http");
    plan.sessions = Some(Sessions::Unique);
    run(Http::new(&url, 8).unwrap(), plan).await;
    let unique = seen.lock().unwrap().clone();
    assert_eq!(unique.len(), 200);
    assert!(unique.iter().all(|id| id.len() >= 33));

    let (url, seen) = session_recorder().await;
    let mut plan = closed(4, 100, "http");
    plan.sessions = Some(Sessions::PerWorker);
    run(Http::new(&url, 4).unwrap(), plan).await;
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noop_target_counts_exactly() {
    let report = run(Noop, closed(2, 10_000, "noop")).await;
    assert_eq!((report.total, report.ok, report.failed_total, report.cancelled), (10_000, 10_000, 0, 0));
    let mut plan = Plan::new(Model::Open { stages: parse_stages("2000/s:1s").unwrap(), max_in_flight: 100 }, "noop");
    plan.requests = Some(500);
    let report = run(Noop, plan).await;
    assert_eq!(report.total, 500);
    assert!(report.duration_s < 5.0, "500 requests at 2000/s: {}", report.duration_s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plans_are_refused_with_reasons() {
    let plan = Plan::new(Model::Closed { concurrency: 2, duration: None }, "noop");
    let error = loadgen::run(Noop, plan, tokio::sync::watch::channel(loadgen::Stop::Run).1).await.unwrap_err();
    assert!(error.to_string().contains("--duration or --requests"), "{error}");
    let mut plan = Plan::new(Model::Open { stages: parse_stages("5/s:1s").unwrap(), max_in_flight: 5 }, "noop");
    plan.sessions = Some(Sessions::PerWorker);
    let error = plan.validate().unwrap_err();
    assert!(error.to_string().contains("per-worker needs the closed model"), "{error}");
}

/// Coordinated omission: one connection (wrk2's `-c1 -R100`) and a target that stalls for 1 s once.
/// The requests scheduled during the stall wait for the connection: their corrected latency (from
/// the intended send) carries the wait, their uncorrected latency (from when they went out) does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_corrected_latency_not_in_uncorrected() {
    let url = dummy_agent().await;
    let stages = parse_stages("100/s:3s").unwrap();
    let mut plan = Plan::new(Model::Open { stages, max_in_flight: 1000 }, "http");
    let mut bodies = vec![r#"{"prompt":"fast"}"#; 300];
    bodies[50] = r#"{"_dummy":{"sleep_ms":1000}}"#;
    plan.payloads = payloads(&bodies);
    let report = run(Http::new(&url, 1).unwrap().with_connection_limit(1), plan).await;
    assert_eq!((report.total, report.ok), (300, 300));
    let (corrected, uncorrected) = (report.latency_ms.corrected, report.latency_ms.uncorrected);
    // About 100 requests were due during the stall: a third of the run waited up to a second.
    assert!(corrected.p90 >= 300.0, "corrected {corrected:?}");
    assert!(uncorrected.p90 <= 50.0, "uncorrected {uncorrected:?}");
    assert!(corrected.p90 >= 10.0 * uncorrected.p90.max(1.0), "{corrected:?} vs {uncorrected:?}");
    // The stalled request itself is slow either way.
    assert!(uncorrected.max >= 1000.0 && corrected.max >= 1000.0, "{uncorrected:?}");
}

/// https with rustls: a server whose CA is given (curl's --cacert) is trusted; without it, the
/// system's roots refuse the test CA and every request fails to connect, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_verified_against_the_given_ca() {
    let url = crate::support::tls_dummy_agent().await;
    let report = run(Http::with_ca(&url, 2, crate::support::TEST_CA).unwrap(), closed(2, 20, "http")).await;
    assert_eq!((report.total, report.ok), (20, 20), "{:?}", report.error_samples);
    let localhost = url.replace("127.0.0.1", "localhost");
    let report = run(Http::with_ca(&localhost, 1, crate::support::TEST_CA).unwrap(), closed(1, 3, "http")).await;
    assert_eq!(report.ok, 3, "{:?}", report.error_samples);
    match Http::new(&url, 1) {
        Ok(untrusted) => {
            let report = run(untrusted, closed(1, 2, "http")).await;
            assert_eq!(report.failed.get("Connect"), Some(&2), "{:?}", report.failed);
            let sample = &report.error_samples["Connect"][0];
            assert!(sample.contains("TLS handshake") && sample.contains("certificate"), "{sample}");
        }
        // A machine without a system trust store says what to do.
        Err(error) => assert!(error.contains("give --cacert"), "{error}"),
    }
}

/// Responses as other servers write them: an informational `103 Early Hints` before the answer (in the
/// same write), a `chunked` body with extensions and a trailer, and a body delimited by the server
/// closing the connection; each is read whole, and the connection is reused only when it may be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informational_chunked_and_until_close_responses_are_read_whole() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    const ANSWERS: [&[u8]; 3] = [
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\n{\"a\r\n3\r\n\":1\r\n1\r\n}\r\n0\r\nT: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"closed\":true}",
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = std::sync::Arc::clone(&connections);
    tokio::spawn(async move {
        let mut answer = 0usize;
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut request = vec![0u8; 4096];
            loop {
                // One request per read is enough here: loadgen writes each request in one write.
                match stream.read(&mut request).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let reply = ANSWERS[answer % ANSWERS.len()];
                answer += 1;
                stream.write_all(reply).await.unwrap();
                if reply.ends_with(b"true}") {
                    break; // until-close: the body ends when the connection does
                }
            }
        }
    });
    let report = run(Http::new(&format!("http://{address}"), 1).unwrap(), closed(1, 9, "http")).await;
    assert_eq!((report.total, report.ok), (9, 9), "{:?}", report.error_samples);
    // Every third answer closes its connection: 3 connections for 9 requests, the others reused.
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
}
