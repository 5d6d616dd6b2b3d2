//! Where AgentCore Runtime accepts VPC subnets: the supported AZ ids of each region.
//!
//! Source: AgentCore developer guide, "Configure Amazon Bedrock AgentCore Runtime to use a VPC"
//! (`agentcore-vpc.html`), as summarised in `shared/design/agentcore-facts.md` section 5. Subnets in
//! any other zone fail at resource creation.

/// `(region, supported AZ ids)`, sorted by region.
const SUPPORTED_AZ_IDS: &[(&str, &[&str])] = &[
    ("ap-northeast-1", &["apne1-az1", "apne1-az2", "apne1-az4"]),
    ("ap-northeast-2", &["apne2-az1", "apne2-az2", "apne2-az3"]),
    ("ap-south-1", &["aps1-az1", "aps1-az2", "aps1-az3"]),
    ("ap-southeast-1", &["apse1-az1", "apse1-az2", "apse1-az3"]),
    ("ap-southeast-2", &["apse2-az1", "apse2-az2", "apse2-az3"]),
    ("ap-southeast-5", &["apse5-az1", "apse5-az2", "apse5-az3"]),
    ("ap-southeast-7", &["apse7-az1", "apse7-az2", "apse7-az3"]),
    ("ca-central-1", &["cac1-az1", "cac1-az2", "cac1-az4"]),
    ("eu-central-1", &["euc1-az1", "euc1-az2", "euc1-az3"]),
    ("eu-north-1", &["eun1-az1", "eun1-az2", "eun1-az3"]),
    ("eu-south-1", &["eus1-az1", "eus1-az2", "eus1-az3"]),
    ("eu-south-2", &["eus2-az1", "eus2-az2", "eus2-az3"]),
    ("eu-west-1", &["euw1-az1", "euw1-az2", "euw1-az3"]),
    ("eu-west-2", &["euw2-az1", "euw2-az2", "euw2-az3"]),
    ("eu-west-3", &["euw3-az1", "euw3-az2", "euw3-az3"]),
    ("sa-east-1", &["sae1-az1", "sae1-az2", "sae1-az3"]),
    ("us-east-1", &["use1-az1", "use1-az2", "use1-az4"]),
    ("us-east-2", &["use2-az1", "use2-az2", "use2-az3"]),
    ("us-gov-west-1", &["usgw1-az1", "usgw1-az2", "usgw1-az3"]),
    ("us-west-2", &["usw2-az1", "usw2-az2", "usw2-az3"]),
];

/// The AZ ids in which AgentCore Runtime accepts subnets in `region`, or `None` where the region is not
/// one that supports VPC mode.
pub fn supported_az_ids(region: &str) -> Option<&'static [&'static str]> {
    SUPPORTED_AZ_IDS.binary_search_by(|(r, _)| (*r).cmp(region)).ok().map(|i| SUPPORTED_AZ_IDS[i].1)
}

/// Every region known to support AgentCore Runtime VPC mode.
pub fn supported_regions() -> impl Iterator<Item = &'static str> {
    SUPPORTED_AZ_IDS.iter().map(|(r, _)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_so_lookup_finds_every_region() {
        assert!(SUPPORTED_AZ_IDS.windows(2).all(|w| w[0].0 < w[1].0));
        for region in supported_regions() {
            assert!(supported_az_ids(region).is_some(), "{region}");
        }
    }

    #[test]
    fn report_region_excludes_apne1_az3() {
        let zones = supported_az_ids("ap-northeast-1").unwrap();
        assert!(zones.contains(&"apne1-az4") && !zones.contains(&"apne1-az3"));
        assert_eq!(supported_az_ids("mars-north-1"), None);
    }
}
