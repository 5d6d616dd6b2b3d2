//! Changes between two samples.

use rustc_hash::FxHashMap;

use crate::eni::Eni;
use crate::timeline::Change;

/// What changed from `before` to `after`: removed ENIs first, then per ENI (in the order of
/// `after`) added, IP, status and security-group changes.
pub fn diff(before: &[Eni], after: &[Eni]) -> Vec<Change> {
    let old: FxHashMap<&str, &Eni> = before.iter().map(|e| (e.id.as_str(), e)).collect();
    let new: FxHashMap<&str, &Eni> = after.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut changes: Vec<Change> = before
        .iter()
        .filter(|e| !new.contains_key(e.id.as_str()))
        .map(|e| Change::Removed { eni: e.clone() })
        .collect();
    for eni in after {
        let Some(prev) = old.get(eni.id.as_str()) else {
            changes.push(Change::Added { eni: eni.clone() });
            continue;
        };
        if prev.private_ip != eni.private_ip {
            changes.push(Change::IpChanged {
                id: eni.id.clone(),
                from: prev.private_ip.clone(),
                to: eni.private_ip.clone(),
            });
        }
        if prev.status != eni.status {
            changes.push(Change::StatusChanged {
                id: eni.id.clone(),
                from: prev.status.clone(),
                to: eni.status.clone(),
            });
        }
        if prev.security_groups != eni.security_groups {
            let ids = |e: &Eni| e.security_groups.iter().map(|g| g.to_string()).collect();
            changes.push(Change::SecurityGroupsChanged { id: eni.id.clone(), from: ids(prev), to: ids(eni) });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
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
}
