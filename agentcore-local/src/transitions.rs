//! Time-driven transitions of the world, advanced on the service [`Clock`](crate::Clock):
//! CREATING/UPDATING → READY, DELETING → gone (which may start ENIs lingering), lingering ENIs
//! expiring.
//!
//! They are applied lazily: every request first calls [`apply_due`] (through
//! [`crate::app_state::AppState::world`]), which applies every transition due by "now" in time
//! order, each at its own due time. Nothing happens between requests, so a manual clock gives
//! fully deterministic behaviour.

use std::time::SystemTime;

use crate::config::Config;
use crate::eni;
use crate::state::{RegionState, RuntimeStatus, Transition, World};

/// Applies every transition due at or before `now`, in every region, earliest first.
pub fn apply_due(world: &mut World, now: SystemTime, config: &Config) {
    for region in world.regions_mut() {
        apply_due_in_region(region, now, config);
    }
}

/// The next thing due in a region: an ENI's linger running out, or a runtime's pending transition.
enum Due {
    Eni((SystemTime, String)),
    Runtime((SystemTime, String)),
}

/// Applies `region`'s transitions due at or before `now`, earliest first.
fn apply_due_in_region(region: &mut RegionState, now: SystemTime, config: &Config) {
    loop {
        let next_runtime =
            region.runtimes.values().filter_map(|r| r.pending.as_ref().map(|p| (p.at, r.id.clone()))).min();
        let next_eni = eni::next_expiry(region);
        let due = match (next_runtime, next_eni) {
            (Some(r), Some(e)) if e.0 < r.0 => Due::Eni(e),
            (Some(r), _) => Due::Runtime(r),
            (None, Some(e)) => Due::Eni(e),
            (None, None) => return,
        };
        match due {
            Due::Eni((at, _)) | Due::Runtime((at, _)) if at > now => return,
            Due::Eni((_, eni_id)) => {
                region.network_interfaces.remove(&eni_id);
            }
            Due::Runtime((at, runtime_id)) => apply_runtime_transition(region, &runtime_id, at, config),
        }
    }
}

/// Applies the pending transition of runtime `runtime_id`, as of `at`.
fn apply_runtime_transition(region: &mut RegionState, runtime_id: &str, at: SystemTime, config: &Config) {
    let Some(runtime) = region.runtimes.get_mut(runtime_id) else {
        return;
    };
    let Some(pending) = runtime.pending.take() else {
        return;
    };
    match pending.transition {
        Transition::Ready => {
            runtime.status = RuntimeStatus::Ready;
            runtime.last_updated_at = at;
            runtime.live_version = runtime.current_version().version;
            if let Some(v) = runtime.versions.last_mut() {
                v.status = RuntimeStatus::Ready;
            }
        }
        Transition::Gone => {
            region.runtimes.remove(runtime_id);
            eni::reconcile(region, at, config);
        }
    }
}
