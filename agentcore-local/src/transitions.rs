//! Time-driven transitions of the world, advanced on the service [`Clock`](crate::Clock):
//! CREATING/UPDATING → READY, DELETING → gone (which may start ENIs lingering), lingering ENIs
//! expiring, the same for runtime endpoints (CREATING/UPDATING → READY once the version they move to
//! is READY, the `_FAILED` state when it failed, DELETING → gone), and NAT gateways pending →
//! available (or failed) and deleting → deleted → no longer shown, and interface VPC endpoints the
//! same way (their ENIs go when they are deleted).
//!
//! They are applied lazily: every request first calls [`apply_due`] (through
//! [`crate::app_state::AppState::world`]), which applies every transition due by "now" in time
//! order, each at its own due time. Nothing happens between requests, so a manual clock gives
//! fully deterministic behaviour.

use std::time::SystemTime;

use crate::config::{Config, DELETED_NAT_GATEWAY_VISIBILITY, DELETED_VPC_ENDPOINT_VISIBILITY};
use crate::eni;
use crate::state::{
    NatGatewayState, Pending, RegionState, Runtime, RuntimeStatus, Transition, VpcEndpointState, World,
};

/// Applies every transition due at or before `now`, in every region, earliest first.
pub fn apply_due(world: &mut World, now: SystemTime, config: &Config) {
    for region in world.regions_mut() {
        apply_due_in_region(region, now, config);
    }
}

/// The next thing due in a region: a runtime's pending transition, an endpoint's, an ENI's linger
/// running out, or a NAT gateway's next state. At equal times they apply in this order (the derived
/// `Ord`), so an endpoint waiting for its version sees the version READY first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Runtime {
        runtime_id: String,
    },
    Endpoint {
        runtime_id: String,
        endpoint: String,
    },
    Eni {
        eni_id: String,
    },
    /// Pending AgentCore ENIs are due to be created ([`eni::next_creation`]).
    EniCreation,
    NatGateway {
        nat_id: String,
    },
    VpcEndpoint {
        endpoint_id: String,
    },
}

/// The earliest pending transition of `region`.
fn next_due(region: &RegionState) -> Option<(SystemTime, Due)> {
    let runtimes = region.runtimes.values().flat_map(|r| {
        let own = r.pending.map(|p| (p.at, Due::Runtime { runtime_id: r.id.clone() }));
        let endpoints = r.endpoints.values().filter_map(|e| {
            e.pending.map(|p| (p.at, Due::Endpoint { runtime_id: r.id.clone(), endpoint: e.name.clone() }))
        });
        own.into_iter().chain(endpoints)
    });
    let eni = eni::next_expiry(region).map(|(at, eni_id)| (at, Due::Eni { eni_id }));
    let creation = eni::next_creation(region).map(|at| (at, Due::EniCreation));
    let nat =
        region.nat_gateways.values().filter_map(|n| n.due.map(|at| (at, Due::NatGateway { nat_id: n.id.clone() })));
    let endpoints = region
        .vpc_endpoints
        .values()
        .filter_map(|e| e.due.map(|at| (at, Due::VpcEndpoint { endpoint_id: e.id.clone() })));
    runtimes.chain(eni).chain(creation).chain(nat).chain(endpoints).min()
}

/// Applies `region`'s transitions due at or before `now`, earliest first.
fn apply_due_in_region(region: &mut RegionState, now: SystemTime, config: &Config) {
    while let Some((at, due)) = next_due(region).filter(|(at, _)| *at <= now) {
        match due {
            Due::Eni { eni_id } => {
                region.network_interfaces.remove(&eni_id);
            }
            Due::EniCreation => eni::reconcile(region, at, config),
            Due::Runtime { runtime_id } => apply_runtime_transition(region, &runtime_id, at, config),
            Due::Endpoint { runtime_id, endpoint } => {
                if let Some(runtime) = region.runtimes.get_mut(&runtime_id) {
                    apply_endpoint_transition(runtime, &endpoint, at);
                }
            }
            Due::NatGateway { nat_id } => apply_nat_gateway_transition(region, &nat_id, at),
            Due::VpcEndpoint { endpoint_id } => apply_vpc_endpoint_transition(region, &endpoint_id, at),
        }
    }
}

/// Applies the pending transition of `runtime`'s endpoint `name`, as of `at`. A creation or update
/// completes when the version it moves to is READY; while that version is still being made it
/// waits for it, and when that version failed the endpoint fails too (keeping its live version).
fn apply_endpoint_transition(runtime: &mut Runtime, name: &str, at: SystemTime) {
    let version_ready_at = runtime.pending.filter(|p| p.transition == Transition::Ready).map(|p| p.at);
    let Some(endpoint) = runtime.endpoints.get_mut(name) else {
        return;
    };
    let Some(pending) = endpoint.pending.take() else {
        return;
    };
    if pending.transition == Transition::Gone {
        runtime.endpoints.remove(name);
        return;
    }
    let target = endpoint.target_version.and_then(|v| runtime.versions.iter().find(|x| x.version == v));
    let failed =
        if endpoint.live_version.is_some() { RuntimeStatus::UpdateFailed } else { RuntimeStatus::CreateFailed };
    match target.map(|v| (v.version, v.status)) {
        Some((version, RuntimeStatus::Ready)) => {
            endpoint.status = RuntimeStatus::Ready;
            endpoint.live_version = Some(version);
            endpoint.target_version = None;
            endpoint.failure_reason = None;
            endpoint.last_updated_at = at;
        }
        Some((_, RuntimeStatus::Creating | RuntimeStatus::Updating)) if version_ready_at.is_some() => {
            endpoint.pending = Some(Pending { at: version_ready_at.expect("checked").max(at), ..pending });
        }
        other => {
            endpoint.status = failed;
            endpoint.failure_reason = Some(match other {
                Some((version, status)) => format!("Version {version} is {}", status.as_str()),
                None => "The target version does not exist".to_string(),
            });
            endpoint.target_version = None;
            endpoint.last_updated_at = at;
        }
    }
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
            region.remove_enis_of(nat_id);
        }
        NatGatewayState::Deleting => {
            nat.state = NatGatewayState::Deleted;
            nat.deleted_at = Some(at);
            nat.due = visible_until;
            release_nat_address(region, &allocation_id);
            region.remove_enis_of(nat_id);
        }
        NatGatewayState::Deleted | NatGatewayState::Failed => {
            region.nat_gateways.remove(nat_id);
        }
        NatGatewayState::Available => nat.due = None,
    }
}

/// Moves VPC endpoint `endpoint_id` on, as of `at`: pending → available, deleting → deleted (its
/// ENIs go), deleted → no longer shown.
fn apply_vpc_endpoint_transition(region: &mut RegionState, endpoint_id: &str, at: SystemTime) {
    let Some(endpoint) = region.vpc_endpoints.get_mut(endpoint_id) else {
        return;
    };
    match endpoint.state {
        VpcEndpointState::Pending | VpcEndpointState::Available => {
            endpoint.state = VpcEndpointState::Available;
            endpoint.due = None;
        }
        VpcEndpointState::Deleting => {
            endpoint.state = VpcEndpointState::Deleted;
            endpoint.due = Some(at + DELETED_VPC_ENDPOINT_VISIBILITY);
            endpoint.subnet_ids.clear();
            endpoint.group_ids.clear();
            endpoint.route_table_ids.clear();
            region.remove_enis_of(endpoint_id);
        }
        VpcEndpointState::Deleted => {
            region.vpc_endpoints.remove(endpoint_id);
        }
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
        Transition::Fail(status) => {
            runtime.status = status;
            runtime.last_updated_at = at;
            runtime.failure_reason = Some(format!(
                "{} (injected by agentcore-local --fault)",
                match status {
                    RuntimeStatus::CreateFailed => "The agent runtime could not be created",
                    RuntimeStatus::UpdateFailed => "The agent runtime could not be updated",
                    _ => "The agent runtime could not be deleted",
                }
            ));
            if status != RuntimeStatus::DeleteFailed
                && let Some(v) = runtime.versions.last_mut()
            {
                v.status = status;
            }
            if matches!(status, RuntimeStatus::CreateFailed | RuntimeStatus::UpdateFailed) {
                // A failed creation holds no network, and a failed update goes back to the network of
                // the version still serving, as when the subnets lack addresses.
                let live = runtime.live_version;
                runtime.effective_vpc = runtime.version(live).and_then(|v| v.spec.vpc.clone());
                eni::reconcile(region, at, config);
            }
        }
    }
}
