//! Regions' Availability Zones: DescribeAvailabilityZones.

use std::collections::BTreeMap;

use super::context::Op;
use super::query::{filters, matches};
use super::xml;
use crate::catalog;
use crate::error::AwsError;

/// DescribeAvailabilityZones: the region's zones from [`crate::catalog`].
pub(super) fn describe_availability_zones(op: &Op<'_>) -> Result<String, AwsError> {
    let region = op.region.name.clone();
    let zones = catalog::zones(&region);
    let names = op.params.list("ZoneName")?;
    let zone_ids = op.params.list("ZoneId")?;
    for wanted in names.iter().chain(&zone_ids) {
        if !zones.iter().any(|z| z.name == wanted || z.id == wanted) {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!("The zone '{wanted}' does not exist in the region '{region}'."),
            ));
        }
    }
    let filters = filters(
        op.params,
        &["zone-name", "zone-id", "region-name", "state", "zone-type", "group-name", "opt-in-status"],
    )?;
    let no_tags = BTreeMap::new();
    let items: Vec<_> = zones
        .iter()
        .filter(|z| names.is_empty() || names.iter().any(|n| n == z.name))
        .filter(|z| zone_ids.is_empty() || zone_ids.iter().any(|n| n == z.id))
        .filter(|z| {
            matches(&filters, &no_tags, |name| match name {
                "zone-name" => vec![z.name.into()],
                "zone-id" => vec![z.id.into()],
                "region-name" => vec![region.clone()],
                "state" => vec!["available".into()],
                "zone-type" => vec!["availability-zone".into()],
                "group-name" => vec![format!("{region}-zg-1")],
                "opt-in-status" => vec!["opt-in-not-required".into()],
                _ => vec![],
            })
        })
        .collect();
    Ok(xml::response("DescribeAvailabilityZones", op.request_id, |x| {
        x.set("availabilityZoneInfo", items, |x, z| xml::availability_zone(x, z, &region));
    }))
}
