//! Security group rules, VPC attributes and the default VPC, through `aws-sdk-ec2`: each
//! lifecycle, and each refusal with its code and proof that nothing changed.

use agentcore_local::Config;
use aws_sdk_ec2::types::{IpPermission, IpRange, SecurityGroupRule, UserIdGroupPair, VpcAttributeName};

use crate::support::{Lab, code, filter, manual_config};

/// The rules of group `group`, through DescribeSecurityGroupRules.
async fn rules_of(lab: &Lab, group: &str) -> Vec<SecurityGroupRule> {
    let out = lab.ec2.describe_security_group_rules().filters(filter("group-id", [group])).send().await.unwrap();
    out.security_group_rules().to_vec()
}

/// The group `id`, through DescribeSecurityGroups.
async fn group(lab: &Lab, id: &str) -> aws_sdk_ec2::types::SecurityGroup {
    let out = lab.ec2.describe_security_groups().group_ids(id).send().await.unwrap();
    out.security_groups()[0].clone()
}

/// A TCP permission on one port from one CIDR block.
fn tcp_from_cidr(port: i32, cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).description("admins").build())
        .build()
}

#[tokio::test]
async fn security_group_rules_lifecycle_and_refusals() {
    let lab = Lab::manual().await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let web = lab.security_group(&vpc, "web").await;
    let peers = lab.security_group(&vpc, "peers").await;

    // A new group has EC2's default egress rule, as a real rule.
    let rules = rules_of(&lab, &web).await;
    assert_eq!(rules.len(), 1);
    let default_egress = &rules[0];
    assert!(default_egress.security_group_rule_id().unwrap().starts_with("sgr-"));
    assert_eq!(default_egress.is_egress(), Some(true));
    assert_eq!(default_egress.ip_protocol(), Some("-1"));
    assert_eq!(default_egress.cidr_ipv4(), Some("0.0.0.0/0"));

    // Ingress: SSH from a CIDR block and from the `peers` group, one permission, two rules.
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").description("admins").build())
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&peers).build())
        .build();
    let out =
        lab.ec2.authorize_security_group_ingress().group_id(&web).ip_permissions(ssh.clone()).send().await.unwrap();
    assert_eq!(out.r#return(), Some(true));
    let added = out.security_group_rules();
    assert_eq!(added.len(), 2);
    assert!(added.iter().all(|r| r.security_group_rule_id().unwrap().starts_with("sgr-")));
    assert!(added.iter().all(|r| r.group_id() == Some(web.as_str()) && r.is_egress() == Some(false)));
    assert_eq!((added[0].from_port(), added[0].to_port()), (Some(22), Some(22)));
    assert_eq!(added[0].description(), Some("admins"));
    assert_eq!(added[1].referenced_group_info().and_then(|g| g.group_id()), Some(peers.as_str()));
    let described = group(&lab, &web).await;
    let permissions = described.ip_permissions();
    assert_eq!(permissions.len(), 1);
    assert_eq!(permissions[0].ip_protocol(), Some("tcp"));
    assert_eq!(permissions[0].ip_ranges()[0].cidr_ip(), Some("10.0.0.0/8"));
    assert_eq!(permissions[0].ip_ranges()[0].description(), Some("admins"));
    assert_eq!(permissions[0].user_id_group_pairs()[0].group_id(), Some(peers.as_str()));
    assert_eq!(described.ip_permissions_egress()[0].ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));
    assert_eq!(rules_of(&lab, &web).await.len(), 3);
    let by_id = lab
        .ec2
        .describe_security_group_rules()
        .security_group_rule_ids(added[1].security_group_rule_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.security_group_rules().len(), 1);
    let by_filter = lab
        .ec2
        .describe_security_group_rules()
        .filters(filter("security-group-rule-id", [added[0].security_group_rule_id().unwrap()]))
        .send()
        .await
        .unwrap();
    assert_eq!(by_filter.security_group_rules()[0].cidr_ipv4(), Some("10.0.0.0/8"));

    // Refusals, each leaving the rules as they were.
    let err = lab.ec2.authorize_security_group_ingress().group_id(&web).ip_permissions(ssh).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidPermission.Duplicate");
    let err = lab
        .ec2
        .revoke_security_group_ingress()
        .group_id(&web)
        .ip_permissions(tcp_from_cidr(23, "10.0.0.0/8"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidPermission.NotFound".into(), "The specified rule does not exist in this security group".into())
    );
    let err = lab
        .ec2
        .revoke_security_group_ingress()
        .group_id(&web)
        .security_group_rule_ids("sgr-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidSecurityGroupRuleId.NotFound");
    let err = lab
        .ec2
        .describe_security_group_rules()
        .security_group_rule_ids("sgr-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidSecurityGroupRuleId.NotFound");
    let err = lab
        .ec2
        .authorize_security_group_ingress()
        .group_id(&web)
        .ip_permissions(IpPermission::builder().ip_protocol("tcp").from_port(80).to_port(70).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let err = lab.ec2.delete_security_group().group_id(&peers).send().await.unwrap_err();
    assert_eq!(code(&err), ("DependencyViolation".into(), format!("resource {peers} has a dependent object")));
    assert_eq!(rules_of(&lab, &web).await.len(), 3);
    assert_eq!(rules_of(&lab, &peers).await.len(), 1);

    // Revoking the group rule by id frees `peers`; revoking by permission removes the CIDR rule.
    let out = lab
        .ec2
        .revoke_security_group_ingress()
        .group_id(&web)
        .security_group_rule_ids(added[1].security_group_rule_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.r#return(), Some(true));
    assert_eq!(out.revoked_security_group_rules()[0].referenced_group_id(), Some(peers.as_str()));
    lab.ec2.delete_security_group().group_id(&peers).send().await.unwrap();
    lab.ec2
        .revoke_security_group_ingress()
        .group_id(&web)
        .ip_permissions(tcp_from_cidr(22, "10.0.0.0/8"))
        .send()
        .await
        .unwrap();
    assert!(group(&lab, &web).await.ip_permissions().is_empty());

    // Egress: the default rule can be revoked and others authorized.
    lab.ec2
        .revoke_security_group_egress()
        .group_id(&web)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(group(&lab, &web).await.ip_permissions_egress().is_empty());
    lab.ec2
        .authorize_security_group_egress()
        .group_id(&web)
        .ip_permissions(tcp_from_cidr(443, "0.0.0.0/0"))
        .send()
        .await
        .unwrap();
    let egress = group(&lab, &web).await.ip_permissions_egress().to_vec();
    assert_eq!((egress.len(), egress[0].from_port(), egress[0].ip_protocol()), (1, Some(443), Some("tcp")));
    let rules = rules_of(&lab, &web).await;
    assert_eq!((rules.len(), rules[0].is_egress()), (1, Some(true)));
}

/// The value of one VPC attribute, through DescribeVpcAttribute.
async fn vpc_attribute(lab: &Lab, vpc: &str, name: VpcAttributeName) -> bool {
    let out = lab.ec2.describe_vpc_attribute().vpc_id(vpc).attribute(name.clone()).send().await.unwrap();
    let value = match name {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
        _ => out.enable_network_address_usage_metrics(),
    };
    assert_eq!(out.vpc_id(), Some(vpc));
    value.and_then(|v| v.value()).expect("the attribute's value")
}

#[tokio::test]
async fn vpc_attributes_change_one_per_call() {
    let lab = Lab::manual().await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    assert!(vpc_attribute(&lab, &vpc, VpcAttributeName::EnableDnsSupport).await);
    assert!(!vpc_attribute(&lab, &vpc, VpcAttributeName::EnableDnsHostnames).await);
    assert!(!vpc_attribute(&lab, &vpc, VpcAttributeName::EnableNetworkAddressUsageMetrics).await);

    let on = aws_sdk_ec2::types::AttributeBooleanValue::builder().value(true).build();
    let off = aws_sdk_ec2::types::AttributeBooleanValue::builder().value(false).build();
    lab.ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_hostnames(on.clone()).send().await.unwrap();
    assert!(vpc_attribute(&lab, &vpc, VpcAttributeName::EnableDnsHostnames).await);

    // Refusals, each leaving the attributes as they were.
    let err = lab
        .ec2
        .modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(off.clone())
        .enable_dns_support(off.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterCombination");
    let err = lab.ec2.modify_vpc_attribute().vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(code(&err).0, "MissingParameter");
    let err = lab.ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_support(off.clone()).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let err = lab
        .ec2
        .describe_vpc_attribute()
        .vpc_id("vpc-0123456789abcdef0")
        .attribute(VpcAttributeName::EnableDnsSupport)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidVpcID.NotFound");
    assert!(vpc_attribute(&lab, &vpc, VpcAttributeName::EnableDnsSupport).await);
    assert!(vpc_attribute(&lab, &vpc, VpcAttributeName::EnableDnsHostnames).await);

    lab.ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_hostnames(off.clone()).send().await.unwrap();
    lab.ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_support(off).send().await.unwrap();
    assert!(!vpc_attribute(&lab, &vpc, VpcAttributeName::EnableDnsSupport).await);
}

#[tokio::test]
async fn the_default_vpc_is_there_when_configured() {
    // The library's default: empty regions.
    let bare = Lab::manual().await;
    assert!(bare.ec2.describe_vpcs().send().await.unwrap().vpcs().is_empty());

    let lab = Lab::start(Config { default_vpc: true, ..manual_config() }).await;
    let vpcs = lab.ec2.describe_vpcs().filters(filter("is-default", ["true"])).send().await.unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let vpc = &vpcs.vpcs()[0];
    let vpc_id = vpc.vpc_id().unwrap().to_string();
    assert_eq!((vpc.cidr_block(), vpc.is_default()), (Some("172.31.0.0/16"), Some(true)));
    assert!(vpc_attribute(&lab, &vpc_id, VpcAttributeName::EnableDnsHostnames).await);

    // One /20 default subnet per zone of the region, public on launch.
    let zones = lab.ec2.describe_availability_zones().send().await.unwrap();
    let subnets = lab.ec2.describe_subnets().filters(filter("default-for-az", ["true"])).send().await.unwrap();
    let subnets = subnets.subnets();
    assert_eq!(subnets.len(), zones.availability_zones().len());
    assert!(subnets.iter().all(|s| s.vpc_id() == Some(vpc_id.as_str())
        && s.default_for_az() == Some(true)
        && s.map_public_ip_on_launch() == Some(true)
        && s.cidr_block().is_some_and(|c| c.starts_with("172.31.") && c.ends_with("/20"))));
    assert_eq!(subnets[0].cidr_block(), Some("172.31.0.0/20"));

    // An attached internet gateway, and the main route table's default route to it.
    let gateways =
        lab.ec2.describe_internet_gateways().filters(filter("attachment.vpc-id", [&vpc_id])).send().await.unwrap();
    let igw = gateways.internet_gateways()[0].internet_gateway_id().unwrap().to_string();
    let tables = lab.ec2.describe_route_tables().filters(filter("vpc-id", [&vpc_id])).send().await.unwrap();
    let main = &tables.route_tables()[0];
    assert_eq!(main.associations()[0].main(), Some(true));
    let default_route = main.routes().iter().find(|r| r.destination_cidr_block() == Some("0.0.0.0/0")).unwrap();
    assert_eq!(default_route.gateway_id(), Some(igw.as_str()));

    // The default group, found by name; CreateSecurityGroup without a VPC lands in the default VPC.
    let by_name = lab.ec2.describe_security_groups().group_names("default").send().await.unwrap();
    let default_group = &by_name.security_groups()[0];
    assert_eq!(default_group.vpc_id(), Some(vpc_id.as_str()));
    assert_eq!(
        default_group.ip_permissions()[0].user_id_group_pairs()[0].group_id(),
        default_group.group_id(),
        "the default group admits its own members"
    );
    let created = lab.ec2.create_security_group().group_name("app").description("app group").send().await.unwrap();
    let app = group(&lab, created.group_id().unwrap()).await;
    assert_eq!(app.vpc_id(), Some(vpc_id.as_str()));

    // A refused deletion leaves the default VPC as it was.
    let err = lab.ec2.delete_vpc().vpc_id(&vpc_id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    assert_eq!(lab.ec2.describe_vpcs().send().await.unwrap().vpcs().len(), 1);
}

/// A rule may name a peer group of its own VPC only (no peering here): another VPC's group is
/// refused as EC2 refuses it, and the group keeps its rules.
#[tokio::test]
async fn a_rule_cannot_name_a_group_of_another_vpc() {
    let lab = Lab::manual().await;
    let (one, two) = (lab.vpc("10.0.0.0/16").await, lab.vpc("10.1.0.0/16").await);
    let (web, foreign) = (lab.security_group(&one, "web").await, lab.security_group(&two, "foreign").await);
    let from_foreign = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&foreign).build())
        .build();
    let err = lab
        .ec2
        .authorize_security_group_ingress()
        .group_id(&web)
        .ip_permissions(from_foreign)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidGroup.NotFound".into(), "You have specified two resources that belong to different networks.".into())
    );
    assert_eq!(rules_of(&lab, &web).await.len(), 1, "only the default egress rule");
}
