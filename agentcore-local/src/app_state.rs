//! Everything a request handler shares with the others: the settings, the world behind its lock,
//! the data plane's sessions beside it (their own lock), and the unverified-body budget.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::body_budget::BodyBudget;
use crate::config::Config;
use crate::data::sessions::{EndReason, Sessions};
use crate::state::{NetworkInterface, RegionState, Runtime, World};
use crate::{eni, ids, transitions};

/// Everything a request handler needs: the immutable settings, the mutable world and the data
/// plane's sessions.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    world: Mutex<World>,
    /// The data plane's sessions (microVMs); they have their own lock.
    pub sessions: Arc<Sessions>,
    /// Bytes buffered by requests whose signature is not verified yet
    /// (`Config::unverified_body_budget`).
    pub unverified_bodies: BodyBudget,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        let sessions = Sessions::new(&config);
        let unverified_bodies = BodyBudget::new(config.unverified_body_budget);
        let world = Mutex::new(World::new(config.default_vpc));
        Self { config, world, sessions, unverified_bodies }
    }

    /// Locks the world after applying every transition due by the clock's "now"
    /// ([`transitions::apply_due`]). Returns the guard and that "now".
    pub fn world(&self) -> (MutexGuard<'_, World>, SystemTime) {
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.config.clock.now();
        transitions::apply_due(&mut world, now, &self.config);
        (world, now)
    }

    /// Forgets every resource (`POST /_local/reset`).
    pub fn reset(&self) {
        *self.world.lock().unwrap_or_else(|e| e.into_inner()) = World::new(self.config.default_vpc);
        self.sessions.end_all(EndReason::Reset);
    }

    /// The same JSON as `GET /_local/state`: the world, plus the data plane's sessions.
    pub fn snapshot(&self) -> Value {
        // Rendered from a copy: the lock is held only for the due transitions and the copy.
        let (world, now) = {
            let (world, now) = self.world();
            (world.clone(), now)
        };
        let mut out = world_snapshot(&world, now, &self.config);
        out["dataPlane"] = self.sessions.snapshot();
        out
    }
}

/// The world's part of `GET /_local/state`.
fn world_snapshot(world: &World, now: SystemTime, config: &Config) -> Value {
    let regions: Map<String, Value> = world.regions().map(|r| (r.name.clone(), region_snapshot(r, config))).collect();
    serde_json::json!({
        "now": ids::iso8601(now),
        "timeScale": config.clock.scale(),
        "manualClock": config.clock.scale().is_none(),
        "accountId": config.account_id,
        "eniPolicy": config.eni_policy,
        "eniLingerSeconds": config.eni_linger.as_secs_f64(),
        "statusDelaySeconds": config.status_delay.as_secs_f64(),
        "regions": regions,
    })
}

fn region_snapshot(r: &RegionState, config: &Config) -> Value {
    let users = eni::users(r, config.eni_policy);
    let mut runtimes: Vec<&Runtime> = r.runtimes.values().collect();
    runtimes.sort_by_key(|x| x.seq);
    let runtimes: Vec<Value> = runtimes
        .into_iter()
        .map(|rt| {
            serde_json::json!({
                "agentRuntimeId": rt.id,
                "agentRuntimeName": rt.name,
                "agentRuntimeArn": rt.arn,
                "status": rt.status,
                "version": rt.current_version().version,
                "vpc": rt.effective_vpc,
                "pendingTransitionAt": rt.pending.map(|p| ids::iso8601(p.at)),
            })
        })
        .collect();
    let mut enis: Vec<&NetworkInterface> = r.network_interfaces.values().collect();
    enis.sort_by_key(|x| x.seq);
    let enis: Vec<Value> = enis
        .into_iter()
        .map(|n| {
            let managed = n.agentcore();
            let used_by: BTreeSet<&String> =
                managed.and_then(|m| users.get(&m.key)).map(|v| v.iter().collect()).unwrap_or_default();
            serde_json::json!({
                "networkInterfaceId": n.id,
                "subnetId": n.subnet_id,
                "vpcId": n.vpc_id,
                "securityGroups": n.groups,
                "privateIpAddress": n.private_ip.to_string(),
                "managed": managed.is_some(),
                "interfaceType": n.interface_type(),
                "usedBy": used_by,
                "lingerUntil": managed.and_then(|m| m.linger_until).map(ids::iso8601),
            })
        })
        .collect();
    let subnets: Vec<Value> = r
        .subnets
        .values()
        .map(|s| {
            serde_json::json!({
                "subnetId": s.id,
                "vpcId": s.vpc_id,
                "cidrBlock": s.cidr.to_string(),
                "availabilityZoneId": s.zone.id,
                "availableIpAddressCount": eni::available_ip_count(r, s),
            })
        })
        .collect();
    serde_json::json!({
        "runtimes": runtimes,
        "networkInterfaces": enis,
        "vpcs": r.vpcs.keys().collect::<Vec<_>>(),
        "subnets": subnets,
        "securityGroups": r.security_groups.keys().collect::<Vec<_>>(),
    })
}
