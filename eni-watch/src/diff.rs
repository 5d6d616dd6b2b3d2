//! Changes between two samples.

use rustc_hash::FxHashMap;

use crate::eni::Eni;
use crate::timeline::Change;

/// What changed from `before` to `after`: removed ENIs first, then per ENI (in the order of
/// `after`) added, IP, status and security-group changes. Samples are sorted by id, so the
/// result is too.
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
            changes.push(Change::StatusChanged { id: eni.id.clone(), from: prev.status.clone(), to: eni.status.clone() });
        }
        if prev.security_groups != eni.security_groups {
            let ids = |e: &Eni| e.security_groups.iter().map(|g| g.to_string()).collect();
            changes.push(Change::SecurityGroupsChanged { id: eni.id.clone(), from: ids(prev), to: ids(eni) });
        }
    }
    changes
}
