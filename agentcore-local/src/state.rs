//! Shared emulator state: one [`RegionState`] per region, behind one lock, advanced on the
//! service [`Clock`](crate::Clock).
//!
//! Time-driven transitions (CREATING → READY, DELETING → gone, lingering ENIs expiring) are applied
//! lazily: every request first calls [`World::tick`], which applies every transition due by
//! "now" in time order, each at its own due time. Nothing happens between requests, so a manual
//! clock gives fully deterministic behaviour.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use ipnet::Ipv4Net;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::Zone;
use crate::eni::{self, EniKey};
use crate::{Config, ids};

/// Everything a request handler needs: the immutable settings and the mutable world.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    world: Mutex<World>,
    /// The data plane's sessions (microVMs); they have their own lock.
    pub sessions: std::sync::Arc<crate::data::Sessions>,
    /// Bytes buffered by requests whose signature is not verified yet
    /// (`Config::unverified_body_budget`).
    pub unverified_bodies: crate::body_budget::BodyBudget,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        let sessions = crate::data::Sessions::new(&config);
        let unverified_bodies = crate::body_budget::BodyBudget::new(config.unverified_body_budget);
        Self { config, world: Mutex::new(World::default()), sessions, unverified_bodies }
    }

    /// Locks the world after applying every transition due by the clock's "now".
    /// Returns the guard and that "now".
    pub fn world(&self) -> (MutexGuard<'_, World>, SystemTime) {
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.config.clock.now();
        world.tick(now, &self.config);
        (world, now)
    }

    /// Forgets every resource (`POST /_local/reset`).
    pub fn reset(&self) {
        *self.world.lock().unwrap_or_else(|e| e.into_inner()) = World::default();
        self.sessions.end_all(crate::data::EndReason::Reset);
    }

    /// The same JSON as `GET /_local/state`: the world, plus the data plane's sessions.
    pub fn snapshot(&self) -> Value {
        // Rendered from a copy: the lock is held only for the due transitions and the copy.
        let (world, now) = {
            let (world, now) = self.world();
            (world.clone(), now)
        };
        let mut out = snapshot(&world, now, &self.config);
        out["dataPlane"] = self.sessions.snapshot();
        out
    }
}

/// All regions.
#[derive(Clone, Debug, Default)]
pub struct World {
    regions: BTreeMap<String, RegionState>,
}

impl World {
    /// The state of `region`, created empty on first use.
    pub fn region(&mut self, name: &str) -> &mut RegionState {
        self.regions.entry(name.to_string()).or_insert_with(|| RegionState::new(name))
    }

    pub fn regions(&self) -> impl Iterator<Item = &RegionState> {
        self.regions.values()
    }

    /// Applies every transition due at or before `now`, earliest first.
    pub fn tick(&mut self, now: SystemTime, config: &Config) {
        for region in self.regions.values_mut() {
            region.tick(now, config);
        }
    }
}

/// One region's resources.
#[derive(Clone, Debug)]
pub struct RegionState {
    pub name: String,
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub network_interfaces: BTreeMap<String, NetworkInterface>,
    pub runtimes: BTreeMap<String, Runtime>,
    /// CreateAgentRuntime `clientToken` → what it created.
    pub create_tokens: HashMap<String, TokenRecord>,
    /// CreateNetworkInterface `ClientToken` → the ENI it created.
    pub eni_client_tokens: HashMap<String, String>,
    /// The region's DHCP options set, shown on every VPC.
    pub dhcp_options_id: String,
    seq: u64,
}

/// What a client token was used for: the request it came with and the answer it got.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub request: Value,
    pub response: Value,
}

impl RegionState {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            vpcs: BTreeMap::new(),
            subnets: BTreeMap::new(),
            security_groups: BTreeMap::new(),
            network_interfaces: BTreeMap::new(),
            runtimes: BTreeMap::new(),
            create_tokens: HashMap::new(),
            eni_client_tokens: HashMap::new(),
            dhcp_options_id: ids::ec2_id("dopt"),
            seq: 0,
        }
    }

    /// A strictly increasing number giving resources a stable creation order.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Applies due transitions in time order (see the module docs).
    pub fn tick(&mut self, now: SystemTime, config: &Config) {
        loop {
            let next_runtime =
                self.runtimes.values().filter_map(|r| r.pending.as_ref().map(|p| (p.at, r.id.clone()))).min();
            let next_eni = eni::next_expiry(self);
            let due = match (next_runtime, next_eni) {
                (Some(r), Some(e)) if e.0 < r.0 => Due::Eni(e),
                (Some(r), _) => Due::Runtime(r),
                (None, Some(e)) => Due::Eni(e),
                (None, None) => return,
            };
            match due {
                Due::Eni((at, _)) | Due::Runtime((at, _)) if at > now => return,
                Due::Eni((_, eni_id)) => {
                    self.network_interfaces.remove(&eni_id);
                }
                Due::Runtime((at, runtime_id)) => self.apply_transition(&runtime_id, at, config),
            }
        }
    }

    fn apply_transition(&mut self, runtime_id: &str, at: SystemTime, config: &Config) {
        let Some(runtime) = self.runtimes.get_mut(runtime_id) else {
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
                self.runtimes.remove(runtime_id);
                eni::reconcile(self, at, config);
            }
        }
    }

    /// The subnet with the given id.
    pub fn subnet(&self, id: &str) -> Option<&Subnet> {
        self.subnets.get(id)
    }

    /// Every taggable resource's tags, by resource id, with its EC2 resource type.
    pub fn tagged_resources(&self) -> Vec<(&str, &'static str, &BTreeMap<String, String>, u64)> {
        let mut out: Vec<_> = self
            .vpcs
            .values()
            .map(|v| (v.id.as_str(), "vpc", &v.tags, v.seq))
            .chain(self.subnets.values().map(|s| (s.id.as_str(), "subnet", &s.tags, s.seq)))
            .chain(self.security_groups.values().map(|g| (g.id.as_str(), "security-group", &g.tags, g.seq)))
            .chain(self.network_interfaces.values().map(|n| (n.id.as_str(), "network-interface", &n.tags, n.seq)))
            .collect();
        out.sort_by_key(|r| r.3);
        out
    }

    /// The tags of the resource `id`, if it exists.
    pub fn tags_mut(&mut self, id: &str) -> Option<&mut BTreeMap<String, String>> {
        if let Some(v) = self.vpcs.get_mut(id) {
            return Some(&mut v.tags);
        }
        if let Some(s) = self.subnets.get_mut(id) {
            return Some(&mut s.tags);
        }
        if let Some(g) = self.security_groups.get_mut(id) {
            return Some(&mut g.tags);
        }
        self.network_interfaces.get_mut(id).map(|n| &mut n.tags)
    }
}

enum Due {
    Eni((SystemTime, String)),
    Runtime((SystemTime, String)),
}

#[derive(Clone, Debug)]
pub struct Vpc {
    pub id: String,
    pub cidr: Ipv4Net,
    pub cidr_association_id: String,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

#[derive(Clone, Debug)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: Ipv4Net,
    pub zone: Zone,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

#[derive(Clone, Debug)]
pub struct SecurityGroup {
    pub id: String,
    pub vpc_id: String,
    pub name: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

impl SecurityGroup {
    /// The group EC2 creates with every VPC (it cannot be deleted by itself).
    pub fn is_default(&self) -> bool {
        self.name == "default"
    }
}

/// An elastic network interface: a plain one (CreateNetworkInterface) or one the AgentCore
/// mechanism manages.
#[derive(Clone, Debug)]
pub struct NetworkInterface {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub zone: Zone,
    /// Security group ids, sorted.
    pub groups: Vec<String>,
    pub private_ip: Ipv4Addr,
    pub mac: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub created_at: SystemTime,
    pub seq: u64,
    pub managed: Option<ManagedEni>,
}

/// What makes an ENI an AgentCore one.
#[derive(Clone, Debug)]
pub struct ManagedEni {
    pub key: EniKey,
    pub attachment_id: String,
    /// Set while no runtime uses the ENI: the time it will be deleted.
    pub linger_until: Option<SystemTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuntimeStatus {
    Creating,
    CreateFailed,
    Updating,
    UpdateFailed,
    Ready,
    Deleting,
}

impl RuntimeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::CreateFailed => "CREATE_FAILED",
            Self::Updating => "UPDATING",
            Self::UpdateFailed => "UPDATE_FAILED",
            Self::Ready => "READY",
            Self::Deleting => "DELETING",
        }
    }
}

/// VPC-mode network placement of a runtime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VpcPlacement {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

/// One accepted Create/Update request: the stored document (returned by GetAgentRuntime) and the
/// parts the emulator acts on.
#[derive(Clone, Debug)]
pub struct RuntimeSpec {
    /// Configuration members as GetAgentRuntime returns them (artifact, roleArn, network,
    /// lifecycle, protocol, description, …), already normalised.
    pub document: Map<String, Value>,
    /// `None` for PUBLIC network mode.
    pub vpc: Option<VpcPlacement>,
    pub idle_timeout_secs: u64,
    pub max_lifetime_secs: u64,
}

#[derive(Clone, Debug)]
pub struct RuntimeVersion {
    pub version: u32,
    pub spec: RuntimeSpec,
    pub created_at: SystemTime,
    pub status: RuntimeStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// CREATING/UPDATING → READY.
    Ready,
    /// DELETING → removed.
    Gone,
}

#[derive(Clone, Copy, Debug)]
pub struct Pending {
    pub at: SystemTime,
    pub transition: Transition,
}

#[derive(Clone, Debug)]
pub struct Runtime {
    pub id: String,
    pub name: String,
    pub arn: String,
    pub created_at: SystemTime,
    pub last_updated_at: SystemTime,
    pub status: RuntimeStatus,
    pub failure_reason: Option<String>,
    pub versions: Vec<RuntimeVersion>,
    /// The version the DEFAULT endpoint serves (0 before the first READY).
    pub live_version: u32,
    /// The network the ENI mechanism provides for this runtime (the last one that was applied
    /// successfully; `None` for PUBLIC or a failed creation).
    pub effective_vpc: Option<VpcPlacement>,
    pub pending: Option<Pending>,
    /// UpdateAgentRuntime `clientToken` → what it was used for.
    pub update_tokens: HashMap<String, TokenRecord>,
    /// Tags (CreateAgentRuntime `tags`, TagResource, UntagResource); gone with the runtime.
    pub tags: BTreeMap<String, String>,
    pub seq: u64,
}

impl Runtime {
    pub fn current_version(&self) -> &RuntimeVersion {
        self.versions.last().expect("a runtime has at least one version")
    }

    pub fn version(&self, v: u32) -> Option<&RuntimeVersion> {
        self.versions.iter().find(|x| x.version == v)
    }
}

/// `GET /_local/state`: an emulator-only JSON snapshot.
pub fn snapshot(world: &World, now: SystemTime, config: &Config) -> Value {
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
            let managed = n.managed.as_ref();
            let used_by: BTreeSet<&String> =
                managed.and_then(|m| users.get(&m.key)).map(|v| v.iter().collect()).unwrap_or_default();
            serde_json::json!({
                "networkInterfaceId": n.id,
                "subnetId": n.subnet_id,
                "vpcId": n.vpc_id,
                "securityGroups": n.groups,
                "privateIpAddress": n.private_ip.to_string(),
                "managed": managed.is_some(),
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
