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

/// What [`compare`] reads of an observed ENI. [`ObservedEni`] has it; a caller with its own type of
/// ENI implements it to have the ENIs judged in place with [`judge`], none copied.
pub trait EniView {
    /// The network interface id (`eni-…`).
    fn id(&self) -> &str;
    /// The subnet the ENI is in.
    fn subnet(&self) -> &SubnetId;
    /// The security groups attached to the ENI, in any order, duplicates allowed.
    fn security_groups(&self) -> &[SecurityGroupId];
    /// EC2's `InterfaceType`.
    fn interface_type(&self) -> &str;
    /// EC2's `Status`.
    fn status(&self) -> &str;
    /// The primary private IPv4 address, when known.
    fn private_ip(&self) -> Option<&str>;

    /// The ENI as an owned [`Verdict`] keeps it.
    fn to_observed(&self) -> ObservedEni {
        ObservedEni {
            id: self.id().to_string(),
            subnet: self.subnet().clone(),
            security_groups: self.security_groups().to_vec(),
            interface_type: self.interface_type().to_string(),
            status: self.status().to_string(),
            private_ip: self.private_ip().map(str::to_string),
        }
    }
}

impl EniView for ObservedEni {
    fn id(&self) -> &str {
        &self.id
    }
    fn subnet(&self) -> &SubnetId {
        &self.subnet
    }
    fn security_groups(&self) -> &[SecurityGroupId] {
        &self.security_groups
    }
    fn interface_type(&self) -> &str {
        &self.interface_type
    }
    fn status(&self) -> &str {
        &self.status
    }
    fn private_ip(&self) -> Option<&str> {
        self.private_ip.as_deref()
    }
    fn to_observed(&self) -> ObservedEni {
        self.clone()
    }
}

/// A [`Verdict`] that borrows its keys and ENIs, as [`judge`] gives it: the same fields, in the same
/// order, and the same text when displayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictRef<'a, E> {
    /// The fewest ENIs that would have matched ([`Expected::min`]).
    pub expected_min: usize,
    /// The most ENIs that would have matched ([`Expected::max`]).
    pub expected_max: usize,
    /// The ENIs observed, of any interface type.
    pub observed: usize,
    /// The observed ENIs that served an expected key, one per key.
    pub matched: Vec<MatchedRef<'a, E>>,
    /// Required keys with no ENI.
    pub missing: Vec<&'a EniKey>,
    /// Observed ENIs that match no key, with the reason.
    pub unexpected: Vec<UnexpectedRef<'a, E>>,
}

/// A [`MatchedKey`] that borrows its key and ENI.
#[derive(Debug, PartialEq, Eq)]
pub struct MatchedRef<'a, E> {
    /// The expected subnet and security-group set.
    pub key: &'a EniKey,
    /// The ENI that serves it.
    pub eni: &'a E,
    /// The key was only optional (a lingering ENI that has not vanished yet).
    pub lingering: bool,
}

// By hand: a derive would ask `E: Clone` of what is only borrowed.
impl<E> Clone for MatchedRef<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for MatchedRef<'_, E> {}

/// An [`Unexpected`] that borrows its ENI.
#[derive(Debug, PartialEq, Eq)]
pub enum UnexpectedRef<'a, E> {
    /// No runtime uses its subnet and security-group set.
    UnknownKey(&'a E),
    /// Its interface type is not `agentic_ai`.
    WrongType(&'a E),
    /// A second (third, …) ENI on a key that should have one.
    Extra(&'a E),
}

impl<E> Clone for UnexpectedRef<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for UnexpectedRef<'_, E> {}

impl<'a, E> UnexpectedRef<'a, E> {
    /// The ENI that matched nothing, whatever the reason.
    pub fn eni(&self) -> &'a E {
        match *self {
            UnexpectedRef::UnknownKey(eni) | UnexpectedRef::WrongType(eni) | UnexpectedRef::Extra(eni) => eni,
        }
    }

    fn why(&self) -> &'static str {
        match self {
            UnexpectedRef::UnknownKey(_) => "no runtime uses this subnet and security-group set",
            UnexpectedRef::WrongType(_) => "interface type is not agentic_ai",
            UnexpectedRef::Extra(_) => "a second ENI for one subnet and security-group set",
        }
    }
}

impl<E: EniView> UnexpectedRef<'_, E> {
    /// The owned [`Unexpected`].
    pub fn to_unexpected(&self) -> Unexpected {
        match *self {
            UnexpectedRef::UnknownKey(eni) => Unexpected::UnknownKey { eni: eni.to_observed() },
            UnexpectedRef::WrongType(eni) => Unexpected::WrongType { eni: eni.to_observed() },
            UnexpectedRef::Extra(eni) => Unexpected::Extra { eni: eni.to_observed() },
        }
    }
}

impl<E> VerdictRef<'_, E> {
    /// Everything required is there once, and nothing else is.
    pub fn is_match(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty()
    }
}

impl<E: EniView> VerdictRef<'_, E> {
    /// The owned [`Verdict`]: keys and ENIs copied.
    pub fn to_verdict(&self) -> Verdict {
        Verdict {
            expected_min: self.expected_min,
            expected_max: self.expected_max,
            observed: self.observed,
            matched: self
                .matched
                .iter()
                .map(|m| MatchedKey { key: m.key.clone(), eni: m.eni.to_observed(), lingering: m.lingering })
                .collect(),
            missing: self.missing.iter().map(|&key| key.clone()).collect(),
            unexpected: self.unexpected.iter().map(UnexpectedRef::to_unexpected).collect(),
        }
    }
}

/// Holds `observed` against `expected`. ENIs are taken in id order, so the verdict does not depend
/// on the order EC2 listed them in (ENIs with the same id keep the order they were listed in).
pub fn compare(expected: &Expected, observed: &[ObservedEni]) -> Verdict {
    judge(expected, observed).to_verdict()
}

/// [`compare`] without copying: the verdict borrows `expected`'s keys and the `observed` ENIs, of
/// any type that is an [`EniView`].
pub fn judge<'a, E: EniView>(expected: &'a Expected, observed: &'a [E]) -> VerdictRef<'a, E> {
    // One slot per expected key, in key order, found by (subnet, hash of the sorted group set) and
    // confirmed by comparing the sets, so that observed ENIs need no owned key each. Slots sharing a
    // subnet and hash are chained through `next_slot`.
    let keys = merge_keys(&expected.required, &expected.optional);
    let mut first_slot: FxHashMap<(&str, u64), usize> =
        FxHashMap::with_capacity_and_hasher(keys.len(), Default::default());
    let mut next_slot = vec![NONE; keys.len()];
    for (i, (key, _)) in keys.iter().enumerate() {
        let hash = hash_groups(key.security_groups.iter().map(SecurityGroupId::as_str));
        if let Some(previous) = first_slot.insert((key.subnet.as_str(), hash), i) {
            next_slot[i] = previous;
        }
    }
    // The first ENI seen on each slot; later ones as (slot, ENI) pairs, rare in a healthy watch.
    let mut first_eni = vec![NONE; keys.len()];
    let mut more_enis: Vec<(usize, usize)> = Vec::new();
    let mut unexpected = Vec::new();
    let mut sorted: Vec<&str> = Vec::new();
    for (e, eni) in observed.iter().enumerate() {
        if eni.interface_type() != AGENTIC_AI {
            unexpected.push(UnexpectedRef::WrongType(eni));
            continue;
        }
        sorted.clear();
        sorted.extend(eni.security_groups().iter().map(SecurityGroupId::as_str));
        sorted.sort_unstable();
        sorted.dedup();
        let mut slot = first_slot.get(&(eni.subnet().as_str(), hash_groups(sorted.iter().copied()))).copied();
        while let Some(i) = slot {
            if keys[i].0.security_groups.iter().map(SecurityGroupId::as_str).eq(sorted.iter().copied()) {
                break;
            }
            slot = Some(next_slot[i]).filter(|&next| next != NONE);
        }
        match slot {
            Some(i) if first_eni[i] == NONE => first_eni[i] = e,
            Some(i) => more_enis.push((i, e)),
            None => unexpected.push(UnexpectedRef::UnknownKey(eni)),
        }
    }
    // Stable: a slot's later ENIs stay in observation order.
    more_enis.sort_by_key(|&(slot, _)| slot);
    let mut more_enis = more_enis.into_iter().peekable();
    let mut shared: Vec<usize> = Vec::new();
    let mut matched = Vec::with_capacity(keys.len());
    let mut missing = Vec::new();
    for (i, &(key, required)) in keys.iter().enumerate() {
        if first_eni[i] == NONE {
            if required {
                missing.push(key);
            }
            continue;
        }
        shared.clear();
        shared.push(first_eni[i]);
        while let Some((_, e)) = more_enis.next_if(|&(slot, _)| slot == i) {
            shared.push(e);
        }
        // Stable, so that ENIs listed twice keep their order.
        shared.sort_by(|&a, &b| observed[a].id().cmp(observed[b].id()));
        matched.push(MatchedRef { key, eni: &observed[shared[0]], lingering: !required });
        unexpected.extend(shared[1..].iter().map(|&e| UnexpectedRef::Extra(&observed[e])));
    }
    unexpected.sort_by(|a, b| a.eni().id().cmp(b.eni().id()));
    VerdictRef {
        expected_min: expected.min(),
        // Every key of either set once: what `Expected::max` counts.
        expected_max: keys.len(),
        observed: observed.len(),
        matched,
        missing,
        unexpected,
    }
}

/// No slot, or no ENI yet.
const NONE: usize = usize::MAX;

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

/// `eni-… 10.0.1.4 agentic_ai in-use`: how a verdict line names an ENI.
struct Describe<'a, E>(&'a E);

impl<E: EniView> fmt::Display for Describe<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let eni = self.0;
        let ip = eni.private_ip().unwrap_or("-");
        write!(f, "{} {} {} {}", eni.id(), ip, eni.interface_type(), eni.status())
    }
}

/// The ENI's key as [`EniKey`] displays it (`subnet-… [sg-a, sg-b]`, groups sorted, once each).
struct KeyOf<'a, E>(&'a E);

impl<E: EniView> fmt::Display for KeyOf<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<&str> = self.0.security_groups().iter().map(SecurityGroupId::as_str).collect();
        groups.sort_unstable();
        groups.dedup();
        write!(f, "{} [{}]", self.0.subnet(), groups.join(", "))
    }
}

/// The parts of a verdict's text, from either form of verdict.
struct Lines<'e, E> {
    expected_min: usize,
    expected_max: usize,
    observed: usize,
    is_match: bool,
    matched: Vec<(&'e EniKey, &'e E, bool)>,
    missing: Vec<&'e EniKey>,
    unexpected: Vec<UnexpectedRef<'e, E>>,
}

impl<E: EniView> fmt::Display for Lines<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = if self.expected_min == self.expected_max {
            self.expected_min.to_string()
        } else {
            format!("{}..={}", self.expected_min, self.expected_max)
        };
        let verdict = if self.is_match { "match" } else { "MISMATCH" };
        writeln!(f, "ENIs: expected {range}, observed {}: {verdict}", self.observed)?;
        for &(key, eni, lingering) in &self.matched {
            let mark = if lingering { "~" } else { "=" };
            let note = if lingering { " (lingering)" } else { "" };
            writeln!(f, "{mark} {key}  {}{note}", Describe(eni))?;
        }
        for key in &self.missing {
            writeln!(f, "- {key}  (missing: a runtime uses this subnet and security-group set)")?;
        }
        for u in &self.unexpected {
            let eni = u.eni();
            writeln!(f, "+ {}  {}  ({})", KeyOf(eni), Describe(eni), u.why())?;
        }
        Ok(())
    }
}

impl fmt::Display for Verdict {
    /// A diff: `=` matched, `~` matched a lingering key, `-` missing, `+` unexpected.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn borrowed(u: &Unexpected) -> UnexpectedRef<'_, ObservedEni> {
            match u {
                Unexpected::UnknownKey { eni } => UnexpectedRef::UnknownKey(eni),
                Unexpected::WrongType { eni } => UnexpectedRef::WrongType(eni),
                Unexpected::Extra { eni } => UnexpectedRef::Extra(eni),
            }
        }
        Lines {
            expected_min: self.expected_min,
            expected_max: self.expected_max,
            observed: self.observed,
            is_match: self.is_match(),
            matched: self.matched.iter().map(|m| (&m.key, &m.eni, m.lingering)).collect(),
            missing: self.missing.iter().collect(),
            unexpected: self.unexpected.iter().map(borrowed).collect(),
        }
        .fmt(f)
    }
}

impl<E: EniView> fmt::Display for VerdictRef<'_, E> {
    /// The same text as the owned [`Verdict`]'s.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Lines {
            expected_min: self.expected_min,
            expected_max: self.expected_max,
            observed: self.observed,
            is_match: self.is_match(),
            matched: self.matched.iter().map(|m| (m.key, m.eni, m.lingering)).collect(),
            missing: self.missing.clone(),
            unexpected: self.unexpected.clone(),
        }
        .fmt(f)
    }
}
