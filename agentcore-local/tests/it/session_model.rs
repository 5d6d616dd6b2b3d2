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
    admits_what_eni_model_predicts("exact", 5).await;
}

/// The hypotheses for the report's 768 (`--quota-model`), each implemented on both sides.
#[tokio::test]
async fn under_each_quota_model_the_emulator_admits_what_eni_model_predicts() {
    // Per cell, a smaller quota: two cells of 5 would hold every live session of this schedule.
    // The lag, 16 s, makes the count looked at fall 5 s into each 7 s step, after an idle deadline
    // (4 s into one) and before the reaper sees it (at the next call): a session must be counted
    // as ended at its deadline, not when the reaper comes by.
    for (model, quota) in [("lagged:16s", 5), ("reclaimed:45s", 5), ("per-cell:2", 3)] {
        admits_what_eni_model_predicts(model, quota).await;
    }
}

async fn admits_what_eni_model_predicts(model: &str, quota_size: u32) {
    let idle = Duration::from_secs(60);
    let quota: eni_model::QuotaModel = model.parse().unwrap();
    let policy =
        SessionPolicy { max_vms: quota_size, idle_timeout: idle, max_lifetime: Duration::from_secs(28_800), quota };
    let t = DataLab::start(Config { max_vms: quota_size, quota_model: model.parse().unwrap(), ..data_config() }).await;
    let arn = t.ready_runtime("model_agent", 60, 28_800).await;
    // Per-cell placement hashes the runtime id, as the emulator sees it.
    let runtime_id = arn.rsplit('/').next().unwrap().to_string();

    // A new session every 7 s for 3 minutes (the report's pattern: a unique id per request), and a
    // stop of the third session at 40 s.
    let mut schedule = Schedule::new();
    let mut calls: Vec<(Duration, String, bool)> = Vec::new();
    for i in 0..26u64 {
        let at = Duration::from_secs(i * 7);
        let session = format!("model-session-{i:028}");
        if at == Duration::from_secs(42) {
            schedule.stop(Duration::from_secs(40), &runtime_id, &format!("model-session-{:028}", 2));
            calls.push((Duration::from_secs(40), format!("model-session-{:028}", 2), true));
        }
        schedule.invoke(at, &runtime_id, &session, Duration::ZERO);
        calls.push((at, session, false));
    }
    let predicted = admit(&policy, &schedule);

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
    assert_eq!((admitted, refused), (predicted.admitted, predicted.refused), "{model}: emulator vs eni-model");
    assert_eq!(decisions, predicted.decisions, "{model}: call by call");
    assert!(
        predicted.refused > 0 && predicted.admitted > u64::from(quota_size),
        "{model}: the schedule exercises refusal and recovery"
    );
    assert_eq!(t.counter("refusedByQuota"), refused);
    // The models differ on this schedule: each admits its own count.
    let exact = admit(&SessionPolicy { quota: eni_model::QuotaModel::Exact, ..policy }, &schedule);
    if model != "exact" {
        assert_ne!(predicted.decisions, exact.decisions, "{model} must differ from exact here");
    }
}
