//! Validation of runtime networks: each refusal is typed and says how to fix it.

use eni_model::*;

use crate::fixtures::*;

fn check(network: RuntimeNetwork) -> Result<Option<Placement>, NetworkError> {
    validate(&report_inventory(), &network)
}

#[test]
fn vpc_mode_without_config_is_refused_as_the_api_refuses_it() {
    let err = RuntimeNetwork::from_api::<&str, &str>("VPC", None::<(Vec<&str>, Vec<&str>)>).unwrap_err();
    assert_eq!(err, NetworkError::MissingVpcConfig);
    assert!(err.to_string().starts_with("NetworkModeConfig is required for VPC mode"), "{err}");
    let public = RuntimeNetwork::from_api::<&str, &str>("PUBLIC", None::<(Vec<&str>, Vec<&str>)>).unwrap();
    assert_eq!(check(public).unwrap(), None);
    // A VPC configuration next to PUBLIC places nothing (agentcore-local accepts and ignores it too).
    assert_eq!(RuntimeNetwork::from_api("PUBLIC", Some(([PRIVATE_A], [SG_1]))), Ok(RuntimeNetwork::Public));
    assert!(matches!(
        RuntimeNetwork::from_api("HYBRID", Some(([PRIVATE_A], [SG_1]))),
        Err(NetworkError::UnknownMode(_))
    ));
}

#[test]
fn counts_must_be_1_to_16() {
    assert_eq!(RuntimeNetwork::vpc(Vec::<&str>::new(), [SG_1]), Err(NetworkError::SubnetCount(0)));
    assert_eq!(RuntimeNetwork::vpc([PRIVATE_A], Vec::<&str>::new()), Err(NetworkError::SecurityGroupCount(0)));
    let seventeen: Vec<String> = (0..17).map(subnet_id).collect();
    let err = RuntimeNetwork::vpc(&seventeen, [SG_1]).unwrap_err();
    assert_eq!(err, NetworkError::SubnetCount(17));
    assert!(err.to_string().contains("1 to 16"), "{err}");
    let sixteen: Vec<String> = (0..16).map(sg_id).collect();
    RuntimeNetwork::vpc([PRIVATE_A], &sixteen).unwrap();
}

#[test]
fn id_formats_are_checked() {
    let err = RuntimeNetwork::vpc(["subnet-123"], [SG_1]).unwrap_err();
    assert!(matches!(err, NetworkError::BadId(IdError { kind: "subnet", .. })), "{err:?}");
    let err = RuntimeNetwork::vpc([PRIVATE_A], ["security-group-1"]).unwrap_err();
    assert!(err.to_string().contains("sg-0123456789abcdef0"), "{err}");
}

#[test]
fn unknown_subnets_and_groups_are_named() {
    let err = check(vpc(&["subnet-0fffffffffffffff1"], &[SG_1])).unwrap_err();
    assert_eq!(err, NetworkError::UnknownSubnet("subnet-0fffffffffffffff1".parse().unwrap()));
    let err = check(vpc(&[PRIVATE_A], &["sg-0fffffffffffffff1"])).unwrap_err();
    assert!(err.to_string().contains("sg-0fffffffffffffff1 does not exist"), "{err}");
}

#[test]
fn subnets_and_groups_must_share_one_vpc() {
    let other = "vpc-0999999999999999f";
    let inventory = report_inventory()
        .with_subnet(subnet("subnet-0eeeeeeeeeeeeeee1", other, "apne1-az2", "10.9.0.0/24"))
        .with_security_group(sg("sg-09999999999999999", other));
    let err = validate(&inventory, &vpc(&[PRIVATE_A, "subnet-0eeeeeeeeeeeeeee1"], &[SG_1])).unwrap_err();
    assert!(matches!(err, NetworkError::MixedVpcs { .. }), "{err:?}");
    let err = validate(&inventory, &vpc(&[PRIVATE_A], &[SG_1, "sg-09999999999999999"])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(VPC) && text.contains(other) && text.contains("sg-09999999999999999"), "{text}");
}

#[test]
fn subnets_only_in_supported_zones() {
    // apne1-az3 exists in ap-northeast-1 but AgentCore does not run there.
    let inventory = report_inventory().with_subnet(subnet("subnet-0bbbbbbbbbbbbbbb1", VPC, "apne1-az3", "10.0.4.0/24"));
    let err = validate(&inventory, &vpc(&[PRIVATE_A, "subnet-0bbbbbbbbbbbbbbb1"], &[SG_1])).unwrap_err();
    assert!(matches!(err, NetworkError::UnsupportedAz { .. }));
    assert!(err.to_string().contains("apne1-az1, apne1-az2, apne1-az4"), "{err}");
    let mut unknown_region = report_inventory();
    unknown_region.region = "mars-north-1".into();
    assert_eq!(
        validate(&unknown_region, &vpc(&[PRIVATE_A], &[SG_1])),
        Err(NetworkError::UnsupportedRegion("mars-north-1".into()))
    );
}

#[test]
fn placement_is_a_set_of_subnets_and_groups() {
    let placement = check(vpc(&[PRIVATE_C, PRIVATE_A, PRIVATE_C], &[SG_2, SG_1, SG_2])).unwrap().unwrap();
    assert_eq!(placement.subnets.len(), 2);
    assert_eq!(placement.security_groups.len(), 2);
    assert_eq!(placement.keys().count(), 2);
}

#[test]
fn network_round_trips_through_json_in_the_api_shape() {
    let network = vpc(&[PRIVATE_A], &[SG_1]);
    let json = serde_json::to_value(&network).unwrap();
    assert_eq!(json, serde_json::json!({"networkMode": "VPC", "subnets": [PRIVATE_A], "securityGroups": [SG_1]}));
    assert_eq!(serde_json::from_value::<RuntimeNetwork>(json).unwrap(), network);
    let bad = serde_json::json!({"networkMode": "VPC", "subnets": ["subnet-1"], "securityGroups": [SG_1]});
    assert!(serde_json::from_value::<RuntimeNetwork>(bad).is_err());
}
