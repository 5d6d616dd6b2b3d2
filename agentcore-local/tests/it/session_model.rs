//! `eni-model`'s admission predictor and the emulator, driven with the same schedule of calls
//! (unique session ids, a small quota, idle expiry, a stop), must admit the same calls.

use std::time::Duration;

use agentcore_local::Config;
use eni_model::{Decision, Schedule, SessionPolicy, admit};
use serde_json::json;

use crate::data::{DataLab, data_config};
use crate::support::code;

#[tokio::test]
async fn the_emulator_admits_what_eni_model_predicts() {
    const QUOTA: u32 = 5;
    let idle = Duration::from_secs(60);
    let policy = SessionPolicy { max_vms: QUOTA, idle_timeout: idle, max_lifetime: Duration::from_secs(28_800) };
    // A new session every 7 s for 3 minutes (the report's pattern: a unique id per request), and a
    // stop of the third session at 40 s.
    let mut schedule = Schedule::new();
    let mut calls: Vec<(Duration, String, bool)> = Vec::new();
    for i in 0..26u64 {
        let at = Duration::from_secs(i * 7);
        let session = format!("model-session-{i:028}");
        if at == Duration::from_secs(42) {
            schedule.stop(Duration::from_secs(40), "model_agent", &format!("model-session-{:028}", 2));
            calls.push((Duration::from_secs(40), format!("model-session-{:028}", 2), true));
        }
        schedule.invoke(at, "model_agent", &session, Duration::ZERO);
        calls.push((at, session, false));
    }
    let predicted = admit(&policy, &schedule);

    let t = DataLab::start(Config { max_vms: QUOTA, ..data_config() }).await;
    let arn = t.ready_runtime("model_agent", 60, 28_800).await;
    let origin = t.handle().clock().now();
    let mut admitted = 0u64;
    let mut refused = 0u64;
    let mut decisions = Vec::new();
    for (at, session, is_stop) in &calls {
        let now = t.handle().clock().now().duration_since(origin).unwrap();
        t.lab.advance(at.saturating_sub(now));
        if *is_stop {
            let ended =
                t.data.stop_runtime_session().agent_runtime_arn(&arn).runtime_session_id(session).send().await.is_ok();
            decisions.push(Decision::Stopped { ended });
            continue;
        }
        match t.invoke(&arn, session, json!({"at": at.as_secs()})).send().await {
            Ok(_) => {
                admitted += 1;
                decisions.push(Decision::Admitted { new_session: true });
            }
            Err(err) => {
                assert_eq!(code(err.as_service_error().unwrap()).0, "ServiceQuotaExceededException");
                refused += 1;
                decisions.push(Decision::Refused);
            }
        }
    }
    assert_eq!((admitted, refused), (predicted.admitted, predicted.refused), "emulator vs eni-model");
    assert_eq!(decisions, predicted.decisions, "call by call");
    assert!(
        predicted.refused > 0 && predicted.admitted > u64::from(QUOTA),
        "the schedule exercises refusal and recovery"
    );
    assert_eq!(t.counter("refusedByQuota"), refused);
}
