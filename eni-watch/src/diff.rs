//! Changes between two samples.

use rustc_hash::FxHashMap;

use crate::eni::Eni;
use crate::timeline::Change;

/// What changed from `before` to `after`: removed ENIs first, then per ENI (in the order of
/// `after`) added, IP, status and security-group changes. An id listed twice in `before` is
/// compared by its last listing.
pub fn diff(before: &[Eni], after: &[Eni]) -> Vec<Change> {
    // One map, of `before`: id → its first and last positions. Whether an id is still there is
    // marked at its first position as `after` is walked, so `after` needs no map of its own.
    let mut old: FxHashMap<&str, (usize, usize)> =
        FxHashMap::with_capacity_and_hasher(before.len(), Default::default());
    let mut first_of = Vec::with_capacity(before.len());
    for (i, eni) in before.iter().enumerate() {
        let (first, last) = old.entry(eni.id.as_str()).or_insert((i, i));
        *last = i;
        first_of.push(*first);
    }
    let mut kept = vec![false; before.len()];
    let mut changed = Vec::new();
    for eni in after {
        let Some(&(first, last)) = old.get(eni.id.as_str()) else {
            changed.push(Change::Added { eni: eni.clone() });
            continue;
        };
        kept[first] = true;
        let prev = &before[last];
        if prev.private_ip != eni.private_ip {
            changed.push(Change::IpChanged {
                id: eni.id.clone(),
                from: prev.private_ip.clone(),
                to: eni.private_ip.clone(),
            });
        }
        if prev.status != eni.status {
            changed.push(Change::StatusChanged {
                id: eni.id.clone(),
                from: prev.status.clone(),
                to: eni.status.clone(),
            });
        }
        if prev.security_groups != eni.security_groups {
            let ids = |e: &Eni| e.security_groups.iter().map(|g| g.to_string()).collect();
            changed.push(Change::SecurityGroupsChanged { id: eni.id.clone(), from: ids(prev), to: ids(eni) });
        }
    }
    let removed = before.iter().zip(&first_of).filter(|&(_, &first)| !kept[first]);
    let mut changes: Vec<Change> = removed.map(|(eni, _)| Change::Removed { eni: eni.clone() }).collect();
    changes.append(&mut changed);
    changes
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    fn eni(id: &str, ip: &str, status: &str, groups: &[&str]) -> Eni {
        Eni {
            id: id.into(),
            subnet: "subnet-0aaaaaaaaaaaaaaaa".parse().unwrap(),
            az: "us-east-1a".into(),
            az_id: "use1-az1".into(),
            vpc: "vpc-0aaaaaaaaaaaaaaaa".parse().unwrap(),
            security_groups: groups.iter().map(|g| g.parse().unwrap()).collect(),
            private_ip: Some(ip.into()),
            interface_type: "agentic_ai".into(),
            status: status.into(),
            requester_managed: true,
            tags: Default::default(),
        }
    }

    #[test]
    fn each_kind_of_change_is_reported_once() {
        let a = "sg-0aaaaaaaaaaaaaaaa";
        let b = "sg-0bbbbbbbbbbbbbbbb";
        let before = [
            eni("eni-1", "10.0.1.4", "in-use", &[a]),
            eni("eni-2", "10.0.1.5", "in-use", &[a]),
            eni("eni-3", "10.0.1.6", "in-use", &[a]),
            eni("eni-4", "10.0.1.7", "in-use", &[a]),
        ];
        let after = [
            eni("eni-2", "10.0.1.9", "in-use", &[a]),
            eni("eni-3", "10.0.1.6", "available", &[a]),
            eni("eni-4", "10.0.1.7", "in-use", &[a, b]),
            eni("eni-5", "10.0.1.8", "in-use", &[a]),
        ];
        let changes = diff(&before, &after);
        let kinds: Vec<(&str, &str)> = changes.iter().map(|c| (c.kind(), c.id())).collect();
        assert_eq!(
            kinds,
            [
                ("removed", "eni-1"),
                ("ip_changed", "eni-2"),
                ("status_changed", "eni-3"),
                ("security_groups_changed", "eni-4"),
                ("added", "eni-5"),
            ]
        );
        assert_eq!(
            changes[3],
            Change::SecurityGroupsChanged { id: "eni-4".into(), from: vec![a.into()], to: vec![a.into(), b.into()] }
        );
        assert!(diff(&after, &after).is_empty());
    }

    /// The changes the obvious way: a map of each sample, the last listing of an id winning.
    fn reference_diff(before: &[Eni], after: &[Eni]) -> Vec<Change> {
        let old: BTreeMap<&str, &Eni> = before.iter().map(|e| (e.id.as_str(), e)).collect();
        let new: BTreeSet<&str> = after.iter().map(|e| e.id.as_str()).collect();
        let mut changes: Vec<Change> = before
            .iter()
            .filter(|e| !new.contains(e.id.as_str()))
            .map(|e| Change::Removed { eni: e.clone() })
            .collect();
        for eni in after {
            let Some(prev) = old.get(eni.id.as_str()) else {
                changes.push(Change::Added { eni: eni.clone() });
                continue;
            };
            if prev.private_ip != eni.private_ip {
                let (from, to) = (prev.private_ip.clone(), eni.private_ip.clone());
                changes.push(Change::IpChanged { id: eni.id.clone(), from, to });
            }
            if prev.status != eni.status {
                let (from, to) = (prev.status.clone(), eni.status.clone());
                changes.push(Change::StatusChanged { id: eni.id.clone(), from, to });
            }
            if prev.security_groups != eni.security_groups {
                let ids = |e: &Eni| e.security_groups.iter().map(|g| g.to_string()).collect();
                changes.push(Change::SecurityGroupsChanged { id: eni.id.clone(), from: ids(prev), to: ids(eni) });
            }
        }
        changes
    }

    /// ENIs with ids, addresses, statuses and groups from small pools, so that samples overlap,
    /// change, and sometimes list an id twice.
    fn arb_sample() -> impl Strategy<Value = Vec<Eni>> {
        let groups = ["sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"];
        let eni = (0..6u8, 0..3u8, any::<bool>(), 1..4usize).prop_map(move |(id, ip, in_use, g)| {
            let sgs: Vec<&str> =
                groups.iter().enumerate().filter(|(i, _)| g & (1 << i) != 0).map(|(_, s)| *s).collect();
            eni(&format!("eni-{id}"), &format!("10.0.1.{ip}"), if in_use { "in-use" } else { "available" }, &sgs)
        });
        prop::collection::vec(eni, 0..10)
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn the_changes_are_the_reference_changes(before in arb_sample(), after in arb_sample()) {
            prop_assert_eq!(diff(&before, &after), reference_diff(&before, &after));
        }
    }
}
