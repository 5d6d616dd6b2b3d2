use std::time::Duration;

use axum::Router;
use serde_json::json;

use crate::{ManualClock, invocation, ping, send};

fn app_at(clock: &ManualClock) -> Router {
    dummy_agent::app(dummy_agent::Config { clock: clock.as_clock(), ..Default::default() })
}

/// Polls `/ping` until it reports `status` (bounded: 5 s).
async fn wait_for_status(app: &Router, status: &str) -> serde_json::Value {
    for _ in 0..500 {
        let answer = ping(app).await;
        if answer["status"] == status {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("/ping never reported {status}");
}

#[tokio::test]
async fn idle_agent_is_healthy_since_start_and_the_timestamp_does_not_advance_by_itself() {
    let clock = ManualClock::at(1_000);
    let app = app_at(&clock);
    assert_eq!(ping(&app).await, json!({"status": "Healthy", "time_of_last_update": 1_000}));
    clock.set(5_000);
    assert_eq!(ping(&app).await, json!({"status": "Healthy", "time_of_last_update": 1_000}));
}

#[tokio::test]
async fn slow_invocation_makes_ping_busy_and_the_timestamp_moves_only_on_transitions() {
    let clock = ManualClock::at(1_000);
    let app = app_at(&clock);

    clock.set(2_000);
    let slow = tokio::spawn({
        let app = app.clone();
        async move { send(&app, invocation(r#"{"_dummy":{"sleep_ms":400}}"#)).await }
    });
    let busy = wait_for_status(&app, "HealthyBusy").await;
    assert_eq!(busy["time_of_last_update"], 2_000, "Healthy -> HealthyBusy is a change");

    clock.set(3_000);
    assert_eq!(
        ping(&app).await,
        json!({"status": "HealthyBusy", "time_of_last_update": 2_000}),
        "staying busy is no change"
    );

    assert_eq!(slow.await.unwrap().status, 200);
    assert_eq!(
        ping(&app).await,
        json!({"status": "Healthy", "time_of_last_update": 3_000}),
        "HealthyBusy -> Healthy is a change"
    );
    clock.set(4_000);
    assert_eq!(ping(&app).await["time_of_last_update"], 3_000);
}

#[tokio::test]
async fn overlapping_invocations_are_one_busy_period() {
    let clock = ManualClock::at(1_000);
    let app = app_at(&clock);
    let spawn = |sleep_ms: u64| {
        let app = app.clone();
        tokio::spawn(async move {
            let body = json!({"_dummy": {"sleep_ms": sleep_ms}}).to_string();
            send(&app, invocation(body)).await.status
        })
    };

    clock.set(2_000);
    let long = spawn(600);
    wait_for_status(&app, "HealthyBusy").await;
    clock.set(2_500);
    let short = spawn(50);
    assert_eq!(short.await.unwrap(), 200);
    assert_eq!(
        ping(&app).await,
        json!({"status": "HealthyBusy", "time_of_last_update": 2_000}),
        "a second invocation starting and ending inside the busy period changes nothing"
    );
    clock.set(3_000);
    assert_eq!(long.await.unwrap(), 200);
    assert_eq!(ping(&app).await, json!({"status": "Healthy", "time_of_last_update": 3_000}));
}

#[tokio::test]
async fn a_streamed_invocation_is_busy_until_its_last_event() {
    let clock = ManualClock::at(1_000);
    let app = app_at(&clock);
    let request = axum::http::Request::post("/invocations")
        .header("accept", "text/event-stream")
        .body(axum::body::Body::from(r#"{"_dummy":{"stream":3,"sleep_ms":300}}"#))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(ping(&app).await["status"], "HealthyBusy", "headers sent, events still to come");
    clock.set(2_000);
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    assert_eq!(String::from_utf8_lossy(&body).matches("data: ").count(), 3);
    assert_eq!(ping(&app).await, json!({"status": "Healthy", "time_of_last_update": 2_000}));
}

#[tokio::test]
async fn failed_and_refused_invocations_end_their_busy_period() {
    let clock = ManualClock::at(1_000);
    let app = app_at(&clock);
    clock.set(2_000);
    assert_eq!(send(&app, invocation("not json")).await.status, 400);
    assert_eq!(send(&app, invocation(r#"{"_dummy":{"status":500}}"#)).await.status, 500);
    assert_eq!(ping(&app).await, json!({"status": "Healthy", "time_of_last_update": 2_000}));
}
