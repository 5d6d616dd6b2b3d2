//! Time-driven transitions of the world, advanced on the service [`Clock`](crate::Clock):
//! CREATING/UPDATING → READY, DELETING → gone (which may start ENIs lingering), lingering ENIs
//! expiring, NAT gateways pending → available (or failed) and deleting → deleted → no longer shown.
//!
//! They are applied lazily: every request first calls [`apply_due`] (through
//! [`crate::app_state::AppState::world`]), which applies every transition due by "now" in time
//! order, each at its own due time. Nothing happens between requests, so a manual clock gives
//! fully deterministic behaviour.

use std::time::SystemTime;

use crate::config::{Config, DELETED_NAT_GATEWAY_VISIBILITY};
use crate::eni;
use crate::state::{NatGatewayState, RegionState, RuntimeStatus, Transition, World};

/// Applies every transition due at or before `now`, in every region, earliest first.
pub fn apply_due(world: &mut World, now: SystemTime, config: &Config) {
    for region in world.regions_mut() {
        apply_due_in_region(region, now, config);
    }
}

/// The next thing due in a region: an ENI's linger running out, a runtime's pending transition or
/// a NAT gateway's next state.
enum Due {
    Eni(String),
    Runtime(String),
    NatGateway(String),
}

/// Applies `region`'s transitions due at or before `now`, earliest first.
fn apply_due_in_region(region: &mut RegionState, now: SystemTime, config: &Config) {
    while let Some((at, due)) = next_due(region).filter(|(at, _)| *at <= now) {
        match due {
            Due::Eni(eni_id) => {
                region.network_interfaces.remove(&eni_id);
            }
            Due::Runtime(runtime_id) => apply_runtime_transition(region, &runtime_id, at, config),
            Due::NatGateway(nat_id) => apply_nat_gateway_transition(region, &nat_id, at),
        }
    }
}

/// The earliest transition of `region` and its time; on a tie a runtime's comes first, then an
/// ENI's, then a NAT gateway's.
fn next_due(region: &RegionState) -> Option<(SystemTime, Due)> {
    let runtime = region
        .runtimes
        .values()
        .filter_map(|r| r.pending.as_ref().map(|p| (p.at, r.id.clone())))
        .min()
        .map(|(at, id)| (at, Due::Runtime(id)));
    let eni = eni::next_expiry(region).map(|(at, id)| (at, Due::Eni(id)));
    let nat = region
        .nat_gateways
        .values()
        .filter_map(|n| n.due.map(|at| (at, n.id.clone())))
        .min()
        .map(|(at, id)| (at, Due::NatGateway(id)));
    [runtime, eni, nat].into_iter().flatten().min_by_key(|(at, _)| *at)
}

/// Moves NAT gateway `nat_id` on, as of `at`: pending → available (failed when its VPC has no
/// internet gateway then, as AWS fails it with `Gateway.NotAttached`), deleting → deleted (which
/// frees its address), deleted or failed → no longer shown.
fn apply_nat_gateway_transition(region: &mut RegionState, nat_id: &str, at: SystemTime) {
    let Some(nat) = region.nat_gateways.get(nat_id) else {
        return;
    };
    let (state, vpc_id, allocation_id) = (nat.state, nat.vpc_id.clone(), nat.allocation_id.clone());
    let internet_reachable = region.attached_internet_gateway(&vpc_id).is_some();
    let visible_until = Some(at + DELETED_NAT_GATEWAY_VISIBILITY);
    let nat = region.nat_gateways.get_mut(nat_id).expect("looked up above");
    match state {
        NatGatewayState::Pending if internet_reachable => {
            nat.state = NatGatewayState::Available;
            nat.due = None;
        }
        NatGatewayState::Pending => {
            nat.state = NatGatewayState::Failed;
            nat.failure =
                Some(("Gateway.NotAttached".into(), format!("Network {vpc_id} has no Internet gateway attached")));
            nat.due = visible_until;
            release_nat_address(region, &allocation_id);
        }
        NatGatewayState::Deleting => {
            nat.state = NatGatewayState::Deleted;
            nat.deleted_at = Some(at);
            nat.due = visible_until;
            release_nat_address(region, &allocation_id);
        }
        NatGatewayState::Deleted | NatGatewayState::Failed => {
            region.nat_gateways.remove(nat_id);
        }
        NatGatewayState::Available => nat.due = None,
    }
}

/// The Elastic IP address `allocation_id` is no longer a NAT gateway's.
fn release_nat_address(region: &mut RegionState, allocation_id: &str) {
    if let Some(address) = region.addresses.get_mut(allocation_id) {
        address.association_id = None;
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
