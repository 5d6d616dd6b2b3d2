//! Tags on every taggable resource of the slice: CreateTags, DeleteTags, DescribeTags.

use std::collections::BTreeMap;

use super::context::{
    ALLOCATION, ENI, GROUP, INTERNET_GATEWAY, NAT_GATEWAY, Op, ROUTE_TABLE, SUBNET, VPC, return_true,
};
use super::query::{self, filters, matches, paginate};
use super::xml;
use crate::error::AwsError;

/// The NotFound error for an id of any taggable type.
fn resource_not_found(id: &str) -> AwsError {
    for kind in [&VPC, &SUBNET, &GROUP, &ENI, &INTERNET_GATEWAY, &ROUTE_TABLE, &ALLOCATION, &NAT_GATEWAY] {
        if id.starts_with(&format!("{}-", kind.prefix)) {
            return match kind.check(id) {
                Err(e) => e,
                Ok(()) => kind.not_found(id),
            };
        }
    }
    AwsError::ec2("InvalidID", format!("The ID '{id}' is not valid"))
}

/// CreateTags: all resources must exist and stay within the tag limit, or nothing changes.
pub(super) fn create_tags(op: &mut Op<'_>) -> Result<String, AwsError> {
    let resources = op.params.list("ResourceId")?;
    if resources.is_empty() {
        return Err(AwsError::ec2("MissingParameter", "The request must contain the parameter resourceIdSet"));
    }
    let tags = op.params.members("Tag")?.iter().map(query::checked_tag).collect::<Result<Vec<_>, _>>()?;
    for id in &resources {
        let existing = op.region.tags_mut(id).ok_or_else(|| resource_not_found(id))?;
        let mut merged = existing.clone();
        merged.extend(tags.iter().cloned());
        query::check_tag_count(merged.len())?;
    }
    for id in &resources {
        let existing = op.region.tags_mut(id).expect("checked above");
        existing.extend(tags.iter().cloned());
    }
    Ok(return_true(op, "CreateTags"))
}

/// DeleteTags: by key, or by key and value; no `Tag.N` removes every tag.
pub(super) fn delete_tags(op: &mut Op<'_>) -> Result<String, AwsError> {
    let resources = op.params.list("ResourceId")?;
    if resources.is_empty() {
        return Err(AwsError::ec2("MissingParameter", "The request must contain the parameter resourceIdSet"));
    }
    let tags = op.params.members("Tag")?;
    for id in &resources {
        if op.region.tags_mut(id).is_none() {
            return Err(resource_not_found(id));
        }
    }
    for id in &resources {
        let existing = op.region.tags_mut(id).expect("checked above");
        if tags.is_empty() {
            existing.clear();
        }
        for tag in &tags {
            let Some(key) = tag.get("Key") else { continue };
            let value_matches = match tag.get("Value") {
                None => true,
                Some(v) => existing.get(key).is_some_and(|have| have == v),
            };
            if value_matches {
                existing.remove(key);
            }
        }
    }
    Ok(return_true(op, "DeleteTags"))
}

/// DescribeTags: one row per (resource, tag).
pub(super) fn describe_tags(op: &Op<'_>) -> Result<String, AwsError> {
    let filters = filters(op.params, &["resource-id", "resource-type", "key", "value"])?;
    let mut rows: Vec<(&str, &str, &str, &str)> = Vec::new();
    for (id, ty, tags, _) in op.region.tagged_resources() {
        for (k, v) in tags {
            rows.push((id, ty, k, v));
        }
    }
    let no_tags = BTreeMap::new();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|(id, ty, k, v)| {
            matches(&filters, &no_tags, |name| match name {
                "resource-id" => vec![id.to_string()],
                "resource-type" => vec![ty.to_string()],
                "key" => vec![k.to_string()],
                "value" => vec![v.to_string()],
                _ => vec![],
            })
        })
        .collect();
    let (page, next) = paginate(rows, op.params)?;
    Ok(xml::response("DescribeTags", op.request_id, |x| {
        x.set("tagSet", page, |x, (id, ty, k, v)| {
            x.leaf("resourceId", id);
            x.leaf("resourceType", ty);
            x.leaf("key", k);
            x.leaf("value", v);
        });
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}
