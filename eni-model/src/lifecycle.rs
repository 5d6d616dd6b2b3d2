//! Runtimes coming and going over time, and the ENI count that follows: a range, because an ENI
//! whose last runtime is gone may vanish at any moment within the linger window.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::compare::Expected;
use crate::network::{EniKey, Inventory, InventoryIndex, NetworkError, RuntimeNetwork};

/// How long AWS says an ENI may persist after its last runtime is deleted.
pub const DEFAULT_LINGER: Duration = Duration::from_secs(8 * 3600);

/// A change to the set of runtimes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LifecycleEvent {
    /// `CreateAgentRuntime`: a new runtime with its network.
    Create {
        /// The runtime's name, unique in the account and region.
        runtime: String,
        /// Its `networkConfiguration`.
        network: RuntimeNetwork,
    },
    /// `UpdateAgentRuntime` with a new network: its old keys lose a user, the new ones gain one.
    UpdateNetwork {
        /// The runtime's name.
        runtime: String,
        /// Its new `networkConfiguration`.
        network: RuntimeNetwork,
    },
    /// `DeleteAgentRuntime`: the keys only it used start to linger.
    Delete {
        /// The runtime's name.
        runtime: String,
    },
}

/// Why an event cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// A create named a runtime that is alive.
    #[error("runtime `{0}` already exists: runtime names are unique per account and region")]
    DuplicateRuntime(String),
    /// An update or delete named a runtime that is not alive.
    #[error("runtime `{0}` does not exist (never created, or already deleted)")]
    UnknownRuntime(String),
    /// The service would refuse the runtime's network.
    #[error("runtime `{runtime}`: {error}")]
    Network {
        /// The runtime's name.
        runtime: String,
        /// Why the network is refused.
        error: Box<NetworkError>,
    },
    /// The inventory itself cannot be used (its region does not support VPC mode).
    #[error(transparent)]
    Inventory(Box<NetworkError>),
    /// An event or query earlier than the last event applied.
    #[error("event at {at:?} is earlier than the previous one at {now:?}: apply events in time order")]
    TimeWentBackwards {
        /// The time asked for.
        at: Duration,
        /// The time of the last event applied.
        now: Duration,
    },
}

/// The ENI count at a moment, with the keys behind each bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EniRange {
    /// The moment, as an offset from the start of the experiment.
    #[serde(with = "crate::secs")]
    pub at: Duration,
    /// ENIs that must exist: keys some runtime uses.
    pub min: usize,
    /// ENIs that may exist: `min` plus the lingering ones.
    pub max: usize,
    /// Keys some runtime uses: each has an ENI.
    pub in_use: Vec<EniKey>,
    /// Keys no runtime uses any more whose ENI may not have vanished yet.
    pub lingering: Vec<LingeringEni>,
}

/// An ENI no runtime uses any more, which may still exist until `gone_by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LingeringEni {
    /// The subnet and security-group set the ENI served.
    pub key: EniKey,
    /// When its last runtime left.
    #[serde(with = "crate::secs")]
    pub since: Duration,
    /// When it is gone at the latest.
    #[serde(with = "crate::secs")]
    pub gone_by: Duration,
}

impl EniRange {
    /// What an observation at this moment should show: each in-use key once, each lingering key at
    /// most once.
    pub fn expected(&self) -> Expected {
        Expected {
            required: self.in_use.iter().cloned().collect(),
            optional: self.lingering.iter().map(|l| l.key.clone()).collect(),
        }
    }

    /// Whether `count` ENIs is within the range.
    pub fn contains(&self, count: usize) -> bool {
        (self.min..=self.max).contains(&count)
    }
}

#[derive(Debug, Clone)]
enum KeyState {
    InUse(BTreeSet<String>),
    /// No user since the given time.
    Lingering(Duration),
}

/// The runtimes alive and the state of every ENI key, as events are applied in time order.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    inventory: Inventory,
    linger: Duration,
    now: Duration,
    runtimes: BTreeMap<String, Vec<EniKey>>,
    keys: BTreeMap<EniKey, KeyState>,
}

impl Lifecycle {
    /// An empty account over `inventory`, where an unused ENI may linger for `linger`.
    pub fn new(inventory: Inventory, linger: Duration) -> Result<Self, LifecycleError> {
        InventoryIndex::new(&inventory).map_err(|e| LifecycleError::Inventory(Box::new(e)))?;
        Ok(Self { inventory, linger, now: Duration::ZERO, runtimes: BTreeMap::new(), keys: BTreeMap::new() })
    }

    /// How long an unused ENI may linger before it is gone for sure.
    pub fn linger(&self) -> Duration {
        self.linger
    }

    /// Names of the runtimes alive now.
    pub fn runtimes(&self) -> impl Iterator<Item = &str> {
        self.runtimes.keys().map(String::as_str)
    }

    /// Applies `event` at time `at` (an offset from the start of the experiment). A rejected event
    /// changes nothing.
    pub fn apply(&mut self, at: Duration, event: &LifecycleEvent) -> Result<(), LifecycleError> {
        if at < self.now {
            return Err(LifecycleError::TimeWentBackwards { at, now: self.now });
        }
        let (name, network) = match event {
            LifecycleEvent::Create { runtime, network } if self.runtimes.contains_key(runtime) => {
                return Err(LifecycleError::DuplicateRuntime(runtime.clone()));
            }
            LifecycleEvent::UpdateNetwork { runtime, .. } | LifecycleEvent::Delete { runtime }
                if !self.runtimes.contains_key(runtime) =>
            {
                return Err(LifecycleError::UnknownRuntime(runtime.clone()));
            }
            LifecycleEvent::Create { runtime, network } | LifecycleEvent::UpdateNetwork { runtime, network } => {
                (runtime, Some(network))
            }
            LifecycleEvent::Delete { runtime } => (runtime, None),
        };
        let new_keys: Vec<EniKey> = match network {
            Some(network) => {
                let index = InventoryIndex::new(&self.inventory).map_err(|e| LifecycleError::Inventory(Box::new(e)))?;
                let placement = index
                    .validate(network)
                    .map_err(|error| LifecycleError::Network { runtime: name.clone(), error: Box::new(error) })?;
                placement.map(|p| p.keys().collect()).unwrap_or_default()
            }
            None => Vec::new(),
        };
        self.now = at;
        self.forget_vanished();
        for key in self.runtimes.remove(name).unwrap_or_default() {
            if let Some(KeyState::InUse(users)) = self.keys.get_mut(&key) {
                users.remove(name);
                if users.is_empty() {
                    self.keys.insert(key, KeyState::Lingering(at));
                }
            }
        }
        if network.is_some() {
            for key in &new_keys {
                match self.keys.get_mut(key) {
                    Some(KeyState::InUse(users)) => {
                        users.insert(name.clone());
                    }
                    _ => {
                        self.keys.insert(key.clone(), KeyState::InUse(BTreeSet::from([name.clone()])));
                    }
                }
            }
            self.runtimes.insert(name.clone(), new_keys);
        }
        Ok(())
    }

    fn forget_vanished(&mut self) {
        let (now, linger) = (self.now, self.linger);
        self.keys.retain(|_, state| match state {
            KeyState::InUse(_) => true,
            KeyState::Lingering(since) => now < *since + linger,
        });
    }

    /// The ENI range at `at`, which must not be earlier than the last applied event.
    pub fn range_at(&self, at: Duration) -> Result<EniRange, LifecycleError> {
        if at < self.now {
            return Err(LifecycleError::TimeWentBackwards { at, now: self.now });
        }
        let mut in_use = Vec::new();
        let mut lingering = Vec::new();
        for (key, state) in &self.keys {
            match state {
                KeyState::InUse(_) => in_use.push(key.clone()),
                KeyState::Lingering(since) if at < *since + self.linger => {
                    lingering.push(LingeringEni { key: key.clone(), since: *since, gone_by: *since + self.linger })
                }
                KeyState::Lingering(_) => {}
            }
        }
        Ok(EniRange { at, min: in_use.len(), max: in_use.len() + lingering.len(), in_use, lingering })
    }
}
