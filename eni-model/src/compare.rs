//! `compare`: observed ENIs held against what the model expects, as a verdict that reads like a diff.

use std::collections::BTreeSet;
use std::fmt;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::ids::{SecurityGroupId, SubnetId};
use crate::network::EniKey;

/// The interface type EC2 reports for AgentCore Runtime ENIs.
pub const AGENTIC_AI: &str = "agentic_ai";

/// An ENI as `DescribeNetworkInterfaces` shows it (the fields the model judges, plus what a person
/// needs to find it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedEni {
    /// The network interface id (`eni-…`).
    pub id: String,
    /// The subnet the ENI is in.
    pub subnet: SubnetId,
    /// The security groups attached to the ENI, in the order EC2 listed them.
    pub security_groups: Vec<SecurityGroupId>,
    /// EC2's `InterfaceType`; AgentCore's ENIs are [`AGENTIC_AI`].
    pub interface_type: String,
    /// EC2's `Status` (`in-use`, `available`, …).
    pub status: String,
    /// The primary private IPv4 address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
}

impl ObservedEni {
    /// The sharing key this ENI serves.
    pub fn key(&self) -> EniKey {
        EniKey::new(self.subnet.clone(), self.security_groups.iter().cloned())
    }
}

/// What an observation should show: each required key exactly once, each optional key (an ENI that
/// may be lingering) at most once, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Expected {
    /// Keys that must each have exactly one ENI.
    pub required: BTreeSet<EniKey>,
    /// Keys that may have one ENI or none (lingering after their last runtime went).
    pub optional: BTreeSet<EniKey>,
}

impl Expected {
    /// The fewest ENIs that match.
    pub fn min(&self) -> usize {
        self.required.len()
    }

    /// The most ENIs that match.
    pub fn max(&self) -> usize {
        self.required.len() + self.optional.difference(&self.required).count()
    }
}

/// An ENI that matched an expected key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedKey {
    /// The expected subnet and security-group set.
    pub key: EniKey,
    /// The ENI that serves it.
    pub eni: ObservedEni,
    /// The key was only optional (a lingering ENI that has not vanished yet).
    pub lingering: bool,
}

/// Why an observed ENI matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unexpected {
    /// No runtime uses its subnet and security-group set.
    UnknownKey {
        /// The ENI.
        eni: ObservedEni,
    },
    /// Its interface type is not `agentic_ai`.
    WrongType {
        /// The ENI.
        eni: ObservedEni,
    },
    /// A second (third, …) ENI on a key that should have one.
    Extra {
        /// The ENI.
        eni: ObservedEni,
    },
}

impl Unexpected {
    /// The ENI that matched nothing, whatever the reason.
    pub fn eni(&self) -> &ObservedEni {
        match self {
            Unexpected::UnknownKey { eni } | Unexpected::WrongType { eni } | Unexpected::Extra { eni } => eni,
        }
    }
}

/// The result of [`compare`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The fewest ENIs that would have matched ([`Expected::min`]).
    pub expected_min: usize,
    /// The most ENIs that would have matched ([`Expected::max`]).
    pub expected_max: usize,
    /// The ENIs observed, of any interface type.
    pub observed: usize,
    /// The observed ENIs that served an expected key, one per key.
    pub matched: Vec<MatchedKey>,
    /// Required keys with no ENI.
    pub missing: Vec<EniKey>,
    /// Observed ENIs that match no key, with the reason.
    pub unexpected: Vec<Unexpected>,
}

impl Verdict {
    /// Everything required is there once, and nothing else is.
    pub fn is_match(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty()
    }
}

/// Holds `observed` against `expected`. ENIs are taken in id order, so the verdict does not depend
/// on the order EC2 listed them in.
pub fn compare(expected: &Expected, observed: &[ObservedEni]) -> Verdict {
    // One slot per expected key, in key order, found by (subnet, hash of the sorted group set) and
    // confirmed by comparing the sets, so that observed ENIs need no owned key each.
    let keys = merge_keys(&expected.required, &expected.optional);
    let mut slot_of: FxHashMap<(&str, u64), Vec<usize>> =
        FxHashMap::with_capacity_and_hasher(keys.len(), Default::default());
    for (i, (key, _)) in keys.iter().enumerate() {
        let hash = hash_groups(key.security_groups.iter().map(SecurityGroupId::as_str));
        slot_of.entry((key.subnet.as_str(), hash)).or_default().push(i);
    }
    let mut slots: Vec<Vec<&ObservedEni>> = vec![Vec::new(); keys.len()];
    let mut unexpected = Vec::new();
    let mut sorted: Vec<&str> = Vec::new();
    for eni in observed {
        if eni.interface_type != AGENTIC_AI {
            unexpected.push(Unexpected::WrongType { eni: eni.clone() });
            continue;
        }
        sorted.clear();
        sorted.extend(eni.security_groups.iter().map(SecurityGroupId::as_str));
        sorted.sort_unstable();
        sorted.dedup();
        let slot = slot_of.get(&(eni.subnet.as_str(), hash_groups(sorted.iter().copied()))).and_then(|candidates| {
            candidates
                .iter()
                .copied()
                .find(|&i| keys[i].0.security_groups.iter().map(SecurityGroupId::as_str).eq(sorted.iter().copied()))
        });
        match slot {
            Some(i) => slots[i].push(eni),
            None => unexpected.push(Unexpected::UnknownKey { eni: eni.clone() }),
        }
    }
    let mut matched = Vec::with_capacity(keys.len());
    let mut missing = Vec::new();
    for ((key, required), mut enis) in keys.into_iter().zip(slots) {
        if enis.len() > 1 {
            enis.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        }
        let mut enis = enis.into_iter();
        match enis.next() {
            Some(first) => matched.push(MatchedKey { key: key.clone(), eni: first.clone(), lingering: !required }),
            None if required => missing.push(key.clone()),
            None => {}
        }
        unexpected.extend(enis.map(|eni| Unexpected::Extra { eni: eni.clone() }));
    }
    unexpected.sort_by(|a, b| a.eni().id.cmp(&b.eni().id));
    Verdict {
        expected_min: expected.min(),
        expected_max: expected.max(),
        observed: observed.len(),
        matched,
        missing,
        unexpected,
    }
}

/// The keys of both sets in order, each with whether it is required (a key in both is required).
fn merge_keys<'a>(required: &'a BTreeSet<EniKey>, optional: &'a BTreeSet<EniKey>) -> Vec<(&'a EniKey, bool)> {
    let mut keys = Vec::with_capacity(required.len() + optional.len());
    let (mut r, mut o) = (required.iter().peekable(), optional.iter().peekable());
    loop {
        let take_required = match (r.peek(), o.peek()) {
            (None, None) => return keys,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => {
                let (take, same) = (a <= b, a == b);
                if same {
                    o.next();
                }
                take
            }
        };
        if take_required {
            keys.push((r.next().expect("peeked"), true));
        } else {
            keys.push((o.next().expect("peeked"), false));
        }
    }
}

fn hash_groups<'a>(groups: impl Iterator<Item = &'a str>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    for g in groups {
        g.hash(&mut hasher);
    }
    hasher.finish()
}

fn describe(eni: &ObservedEni) -> String {
    let ip = eni.private_ip.as_deref().unwrap_or("-");
    format!("{} {} {} {}", eni.id, ip, eni.interface_type, eni.status)
}

impl fmt::Display for Verdict {
    /// A diff: `=` matched, `~` matched a lingering key, `-` missing, `+` unexpected.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = if self.expected_min == self.expected_max {
            self.expected_min.to_string()
        } else {
            format!("{}..={}", self.expected_min, self.expected_max)
        };
        let verdict = if self.is_match() { "match" } else { "MISMATCH" };
        writeln!(f, "ENIs: expected {range}, observed {}: {verdict}", self.observed)?;
        for m in &self.matched {
            let mark = if m.lingering { "~" } else { "=" };
            let note = if m.lingering { " (lingering)" } else { "" };
            writeln!(f, "{mark} {}  {}{note}", m.key, describe(&m.eni))?;
        }
        for key in &self.missing {
            writeln!(f, "- {key}  (missing: a runtime uses this subnet and security-group set)")?;
        }
        for u in &self.unexpected {
            let (eni, why) = match u {
                Unexpected::UnknownKey { eni } => (eni, "no runtime uses this subnet and security-group set"),
                Unexpected::WrongType { eni } => (eni, "interface type is not agentic_ai"),
                Unexpected::Extra { eni } => (eni, "a second ENI for one subnet and security-group set"),
            };
            writeln!(f, "+ {}  {}  ({why})", eni.key(), describe(eni))?;
        }
        Ok(())
    }
}
