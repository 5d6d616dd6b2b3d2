//! `GET /ping`: `Healthy` or `HealthyBusy`, and the time of the last status change.
//!
//! AgentCore keeps a session alive while `/ping` says `HealthyBusy`, and reads `time_of_last_update`
//! to decide idleness: it must move only when the status changes, or the session never times out.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use serde::Serialize;

/// Current time in unix seconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Status {
    Healthy,
    HealthyBusy,
}

#[derive(Serialize)]
pub(crate) struct Ping {
    status: Status,
    time_of_last_update: u64,
}

/// Invocations in flight and when the status last changed.
pub(crate) struct Health {
    state: Mutex<Counts>,
    clock: Clock,
}

struct Counts {
    in_flight: usize,
    last_update: u64,
}

impl Health {
    pub(crate) fn new(clock: Clock) -> Self {
        let last_update = clock();
        Self { state: Mutex::new(Counts { in_flight: 0, last_update }), clock }
    }

    /// Marks one invocation in flight until the returned guard is dropped (also on panic or when
    /// the client goes away).
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        let mut state = self.lock();
        if state.in_flight == 0 {
            state.last_update = (self.clock)();
        }
        state.in_flight += 1;
        Busy(Arc::clone(self))
    }

    fn snapshot(&self) -> Ping {
        let state = self.lock();
        let status = if state.in_flight == 0 { Status::Healthy } else { Status::HealthyBusy };
        Ping { status, time_of_last_update: state.last_update }
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Nothing panics while holding the lock, so a poisoned one still holds consistent counts.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One invocation in flight.
pub(crate) struct Busy(Arc<Health>);

impl Drop for Busy {
    fn drop(&mut self) {
        let health = &self.0;
        let mut state = health.lock();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.last_update = (health.clock)();
        }
    }
}

pub(crate) async fn ping(State(health): State<Arc<Health>>) -> Json<Ping> {
    Json(health.snapshot())
}
