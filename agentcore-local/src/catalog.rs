//! The emulator's own region / Availability Zone catalogue, and which AZ IDs AgentCore supports.
//!
//! Zone-name → zone-id mappings differ per real account; here they are fixed. Each region lists
//! the zones EC2 offers, so `DescribeAvailabilityZones` also shows zones AgentCore does not
//! support (us-east-1 use1-az3/az5/az6, ap-northeast-1 apne1-az3, us-west-2 usw2-az4, and all
//! of us-west-1), which lets clients exercise AgentCore's subnet validation.
//! Supported AZ IDs: facts sheet §5 (AgentCore developer guide, "VPC").

/// One Availability Zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone {
    pub name: &'static str,
    pub id: &'static str,
    /// Whether AgentCore Runtime accepts subnets in this zone.
    pub agentcore_supported: bool,
}

/// One region and its zones.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    pub name: &'static str,
    pub zones: &'static [Zone],
}

macro_rules! z {
    ($name:literal, $id:literal, $ok:literal) => {
        Zone { name: $name, id: $id, agentcore_supported: $ok }
    };
}

/// Every region the emulator knows.
pub static REGIONS: &[Region] = &[
    Region {
        name: "us-east-1",
        zones: &[
            z!("us-east-1a", "use1-az1", true),
            z!("us-east-1b", "use1-az2", true),
            z!("us-east-1c", "use1-az3", false),
            z!("us-east-1d", "use1-az4", true),
            z!("us-east-1e", "use1-az5", false),
            z!("us-east-1f", "use1-az6", false),
        ],
    },
    Region {
        name: "us-east-2",
        zones: &[
            z!("us-east-2a", "use2-az1", true),
            z!("us-east-2b", "use2-az2", true),
            z!("us-east-2c", "use2-az3", true),
        ],
    },
    Region { name: "us-west-1", zones: &[z!("us-west-1a", "usw1-az1", false), z!("us-west-1c", "usw1-az3", false)] },
    Region {
        name: "us-west-2",
        zones: &[
            z!("us-west-2a", "usw2-az1", true),
            z!("us-west-2b", "usw2-az2", true),
            z!("us-west-2c", "usw2-az3", true),
            z!("us-west-2d", "usw2-az4", false),
        ],
    },
    Region {
        name: "ap-northeast-1",
        zones: &[
            z!("ap-northeast-1a", "apne1-az4", true),
            z!("ap-northeast-1b", "apne1-az3", false),
            z!("ap-northeast-1c", "apne1-az1", true),
            z!("ap-northeast-1d", "apne1-az2", true),
        ],
    },
    Region {
        name: "ap-northeast-2",
        zones: &[
            z!("ap-northeast-2a", "apne2-az1", true),
            z!("ap-northeast-2b", "apne2-az2", true),
            z!("ap-northeast-2c", "apne2-az3", true),
            z!("ap-northeast-2d", "apne2-az4", false),
        ],
    },
    Region {
        name: "ap-south-1",
        zones: &[
            z!("ap-south-1a", "aps1-az1", true),
            z!("ap-south-1b", "aps1-az3", true),
            z!("ap-south-1c", "aps1-az2", true),
        ],
    },
    Region {
        name: "ap-southeast-1",
        zones: &[
            z!("ap-southeast-1a", "apse1-az1", true),
            z!("ap-southeast-1b", "apse1-az2", true),
            z!("ap-southeast-1c", "apse1-az3", true),
        ],
    },
    Region {
        name: "ap-southeast-2",
        zones: &[
            z!("ap-southeast-2a", "apse2-az1", true),
            z!("ap-southeast-2b", "apse2-az3", true),
            z!("ap-southeast-2c", "apse2-az2", true),
        ],
    },
    Region {
        name: "ca-central-1",
        zones: &[
            z!("ca-central-1a", "cac1-az1", true),
            z!("ca-central-1b", "cac1-az2", true),
            z!("ca-central-1d", "cac1-az4", true),
        ],
    },
    Region {
        name: "eu-central-1",
        zones: &[
            z!("eu-central-1a", "euc1-az2", true),
            z!("eu-central-1b", "euc1-az3", true),
            z!("eu-central-1c", "euc1-az1", true),
        ],
    },
    Region {
        name: "eu-west-1",
        zones: &[
            z!("eu-west-1a", "euw1-az1", true),
            z!("eu-west-1b", "euw1-az2", true),
            z!("eu-west-1c", "euw1-az3", true),
        ],
    },
    Region {
        name: "eu-west-2",
        zones: &[
            z!("eu-west-2a", "euw2-az2", true),
            z!("eu-west-2b", "euw2-az3", true),
            z!("eu-west-2c", "euw2-az1", true),
        ],
    },
    Region {
        name: "eu-west-3",
        zones: &[
            z!("eu-west-3a", "euw3-az1", true),
            z!("eu-west-3b", "euw3-az2", true),
            z!("eu-west-3c", "euw3-az3", true),
        ],
    },
    Region {
        name: "eu-north-1",
        zones: &[
            z!("eu-north-1a", "eun1-az1", true),
            z!("eu-north-1b", "eun1-az2", true),
            z!("eu-north-1c", "eun1-az3", true),
        ],
    },
    Region {
        name: "sa-east-1",
        zones: &[
            z!("sa-east-1a", "sae1-az1", true),
            z!("sa-east-1b", "sae1-az2", true),
            z!("sa-east-1c", "sae1-az3", true),
        ],
    },
];

/// The region called `name`, if the emulator knows it.
pub fn region(name: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.name == name)
}

/// The zones of `region` (empty for an unknown region).
pub fn zones(region: &str) -> &'static [Zone] {
    self::region(region).map_or(&[], |r| r.zones)
}

/// Looks a zone up by name or by zone id within `region`.
pub fn zone(region: &str, name_or_id: &str) -> Option<Zone> {
    zones(region).iter().copied().find(|z| z.name == name_or_id || z.id == name_or_id)
}

/// The AZ IDs AgentCore supports in `region`, in order.
pub fn supported_zone_ids(region: &str) -> Vec<&'static str> {
    zones(region).iter().filter(|z| z.agentcore_supported).map(|z| z.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_east_1_supports_az1_az2_az4_only() {
        assert_eq!(supported_zone_ids("us-east-1"), ["use1-az1", "use1-az2", "use1-az4"]);
        assert_eq!(zones("us-east-1").len(), 6);
    }

    #[test]
    fn ap_northeast_1_has_an_unsupported_zone() {
        let z = zone("ap-northeast-1", "apne1-az3").unwrap();
        assert!(!z.agentcore_supported);
        assert_eq!(z.name, "ap-northeast-1b");
        assert_eq!(zone("ap-northeast-1", "ap-northeast-1c").unwrap().id, "apne1-az1");
    }

    #[test]
    fn zone_ids_are_unique_and_match_their_region() {
        let mut ids: Vec<_> = REGIONS.iter().flat_map(|r| r.zones).map(|z| z.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        for r in REGIONS {
            for z in r.zones {
                assert!(z.name.starts_with(r.name), "{} in {}", z.name, r.name);
            }
        }
        assert!(zones("xx-nowhere-1").is_empty());
    }
}
