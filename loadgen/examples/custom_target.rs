//! A target of your own, driven by loadgen like its built-in ones: implement [`Target`], make a
//! [`Plan`], call [`loadgen::run`].
//!
//! `QuotaAgent` is a made-up stand-in for an AgentCore runtime: each new `runtimeSessionId` starts a
//! microVM until `max_vms` are live, after which new sessions are refused with
//! `ServiceQuotaExceededException`, as the account's active-session quota does. It answers after a
//! short sleep, without any network.
//!
//! `cargo run -p loadgen --no-default-features --example custom_target`

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use loadgen::{Answer, Call, Failure, Model, Plan, Sessions, Stop, Target};

struct QuotaAgent {
    max_vms: usize,
    latency: Duration,
    live_sessions: Mutex<HashSet<String>>,
}

impl Target for QuotaAgent {
    async fn invoke(&self, call: &Call) -> Result<Answer, Failure> {
        if let Some(session) = &call.session_id {
            let mut live = self.live_sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !live.contains(session) {
                if live.len() >= self.max_vms {
                    let message = format!("{} active sessions: the quota is full", live.len());
                    return Err(Failure::new("ServiceQuotaExceededException", message));
                }
                live.insert(session.clone());
            }
        }
        tokio::time::sleep(self.latency).await;
        Ok(Answer { first_byte: Instant::now(), bytes: call.payload.len() as u64, sent: None })
    }

    // `stop_session` and `retries` keep their defaults: no sessions to stop, no client retries.
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = QuotaAgent { max_vms: 20, latency: Duration::from_millis(2), live_sessions: Mutex::default() };

    // The closed model: 5 workers in a loop, a new session per request, at most 200 requests or 300 ms.
    let mut plan =
        Plan::new(Model::Closed { concurrency: 5, duration: Some(Duration::from_millis(300)) }, "quota-agent");
    plan.requests = Some(200);
    plan.sessions = Some(Sessions::Unique);

    // A CLI would send `Stop::Drain` on Ctrl-C; this run ends by itself.
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(Stop::Run);
    let report = loadgen::run(target, plan, stop_rx).await?;

    print!("{}", loadgen::report::summary(&report));
    assert_eq!(report.ok, 20, "the quota admits exactly max_vms new sessions");
    Ok(())
}
