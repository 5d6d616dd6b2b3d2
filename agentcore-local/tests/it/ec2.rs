//! The EC2 slice through `aws-sdk-ec2`: every operation, its errors, filters and pagination.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

use crate::support::{Lab, code, filter, http_status};

fn tags(resource: ResourceType, key: &str, value: &str) -> TagSpecification {
    TagSpecification::builder().resource_type(resource).tags(Tag::builder().key(key).value(value).build()).build()
}

#[tokio::test]
async fn vpc_lifecycle_and_errors() {
    let lab = Lab::manual().await;
    let created = lab
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(tags(ResourceType::Vpc, "Name", "lab"))
        .send()
        .await
        .unwrap();
    let vpc = created.vpc().unwrap();
    let vpc_id = vpc.vpc_id().unwrap().to_string();
    assert!(vpc_id.starts_with("vpc-") && vpc_id.len() == 21, "{vpc_id}");
    assert_eq!(vpc.cidr_block(), Some("10.0.0.0/16"));
    assert_eq!(vpc.state().unwrap().as_str(), "pending");
    assert_eq!(vpc.owner_id(), Some("123456789012"));
    assert_eq!(vpc.tags()[0].key(), Some("Name"));

    let described = lab.ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    assert_eq!(described.vpcs().len(), 1);
    assert_eq!(described.vpcs()[0].state().unwrap().as_str(), "available");
    let by_tag = lab.ec2.describe_vpcs().filters(filter("tag:Name", ["la*"])).send().await.unwrap();
    assert_eq!(by_tag.vpcs().len(), 1);
    let none = lab.ec2.describe_vpcs().filters(filter("cidr", ["192.168.0.0/16"])).send().await.unwrap();
    assert!(none.vpcs().is_empty());

    // Every VPC comes with its "default" security group, deleted with it.
    let groups = lab.ec2.describe_security_groups().filters(filter("vpc-id", [&vpc_id])).send().await.unwrap();
    assert_eq!(groups.security_groups().len(), 1);
    assert_eq!(groups.security_groups()[0].group_name(), Some("default"));

    let err = lab.ec2.create_vpc().cidr_block("10.0.0.0/8").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidVpc.Range");
    assert_eq!(http_status(&err), 400);
    let err = lab.ec2.create_vpc().cidr_block("nonsense").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let err = lab.ec2.create_vpc().send().await.unwrap_err();
    assert_eq!(code(&err).0, "MissingParameter");
    let err = lab.ec2.describe_vpcs().vpc_ids("vpc-0123456789abcdef0").send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidVpcID.NotFound".into(), "The vpc ID 'vpc-0123456789abcdef0' does not exist".into())
    );
    let err = lab.ec2.describe_vpcs().vpc_ids("vpc-zz").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidVpcID.Malformed");
    let err = lab.ec2.describe_vpcs().filters(filter("no-such-filter", ["x"])).send().await.unwrap_err();
    assert_eq!(code(&err), ("InvalidParameterValue".into(), "The filter 'no-such-filter' is invalid".into()));

    let subnet = lab.subnet(&vpc_id, "10.0.1.0/24", "use1-az1").await;
    let err = lab.ec2.delete_vpc().vpc_id(&vpc_id).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("DependencyViolation".into(), format!("The vpc '{vpc_id}' has dependencies and cannot be deleted."))
    );
    lab.ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    lab.ec2.delete_vpc().vpc_id(&vpc_id).send().await.unwrap();
    assert!(lab.ec2.describe_vpcs().send().await.unwrap().vpcs().is_empty());
    assert!(lab.ec2.describe_security_groups().send().await.unwrap().security_groups().is_empty());
    let err = lab.ec2.delete_vpc().vpc_id(&vpc_id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidVpcID.NotFound");
}

#[tokio::test]
async fn subnets_ranges_conflicts_and_ip_counts() {
    let lab = Lab::manual().await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let created = lab
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .availability_zone("us-east-1b")
        .tag_specifications(tags(ResourceType::Subnet, "tier", "private"))
        .send()
        .await
        .unwrap();
    let subnet = created.subnet().unwrap();
    assert_eq!(subnet.availability_zone(), Some("us-east-1b"));
    assert_eq!(subnet.availability_zone_id(), Some("use1-az2"));
    assert_eq!(subnet.available_ip_address_count(), Some(256 - 5));
    assert_eq!(subnet.vpc_id(), Some(vpc.as_str()));
    let subnet_id = subnet.subnet_id().unwrap().to_string();
    let small = lab.subnet(&vpc, "10.0.2.0/28", "use1-az4").await;

    for (cidr, expected) in [
        ("10.1.0.0/24", "InvalidSubnet.Range"),
        ("10.0.0.0/29", "InvalidSubnet.Range"),
        ("10.0.1.128/25", "InvalidSubnet.Conflict"),
        ("10.0.0.0/20", "InvalidSubnet.Conflict"),
    ] {
        let err = lab.ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).send().await.unwrap_err();
        assert_eq!(code(&err).0, expected, "{cidr}");
    }
    let err = lab
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.9.0/24")
        .availability_zone("us-east-1z")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let err =
        lab.ec2.create_subnet().vpc_id("vpc-0123456789abcdef0").cidr_block("10.0.9.0/24").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidVpcID.NotFound");

    let by_zone =
        lab.ec2.describe_subnets().filters(filter("availability-zone-id", ["use1-az4"])).send().await.unwrap();
    assert_eq!(by_zone.subnets().len(), 1);
    assert_eq!(by_zone.subnets()[0].subnet_id(), Some(small.as_str()));
    assert_eq!(by_zone.subnets()[0].available_ip_address_count(), Some(16 - 5));
    let by_tag = lab
        .ec2
        .describe_subnets()
        .filters(filter("tag:tier", ["private"]))
        .filters(filter("vpc-id", [&vpc]))
        .send()
        .await
        .unwrap();
    assert_eq!(by_tag.subnets().len(), 1);
    let by_id = lab.ec2.describe_subnets().subnet_ids(&small).send().await.unwrap();
    assert_eq!(by_id.subnets().len(), 1);
    let err = lab.ec2.describe_subnets().subnet_ids("subnet-0123456789abcdef0").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidSubnetID.NotFound");

    // A plain ENI takes one IP and blocks deletion.
    let eni = lab.ec2.create_network_interface().subnet_id(&subnet_id).send().await.unwrap();
    let eni_id = eni.network_interface().unwrap().network_interface_id().unwrap().to_string();
    let count = lab.ec2.describe_subnets().subnet_ids(&subnet_id).send().await.unwrap();
    assert_eq!(count.subnets()[0].available_ip_address_count(), Some(256 - 5 - 1));
    let err = lab.ec2.delete_subnet().subnet_id(&subnet_id).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("DependencyViolation".into(), format!("The subnet '{subnet_id}' has dependencies and cannot be deleted."))
    );
    lab.ec2.delete_network_interface().network_interface_id(&eni_id).send().await.unwrap();
    lab.ec2.delete_subnet().subnet_id(&subnet_id).send().await.unwrap();
    let err = lab.ec2.delete_subnet().subnet_id(&subnet_id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidSubnetID.NotFound");
}

#[tokio::test]
async fn availability_zones_include_ones_agentcore_does_not_support() {
    let lab = Lab::manual().await;
    let zones = lab.ec2.describe_availability_zones().send().await.unwrap();
    let ids: Vec<&str> = zones.availability_zones().iter().filter_map(|z| z.zone_id()).collect();
    assert_eq!(ids, ["use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"]);
    assert!(zones.availability_zones().iter().all(|z| z.region_name() == Some("us-east-1")));
    let one = lab.ec2.describe_availability_zones().filters(filter("zone-id", ["use1-az3"])).send().await.unwrap();
    assert_eq!(one.availability_zones()[0].zone_name(), Some("us-east-1c"));
    let by_name = lab.ec2.describe_availability_zones().zone_names("us-east-1f").send().await.unwrap();
    assert_eq!(by_name.availability_zones()[0].zone_id(), Some("use1-az6"));

    let (tokyo, _) = lab.clients_in("ap-northeast-1").await;
    let zones = tokyo.describe_availability_zones().send().await.unwrap();
    let mut ids: Vec<&str> = zones.availability_zones().iter().filter_map(|z| z.zone_id()).collect();
    ids.sort();
    assert_eq!(ids, ["apne1-az1", "apne1-az2", "apne1-az3", "apne1-az4"]);
    let err = tokyo.describe_availability_zones().zone_names("us-east-1a").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
}

#[tokio::test]
async fn security_groups_and_their_errors() {
    let lab = Lab::manual().await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let created = lab
        .ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name("agents")
        .description("AgentCore runtimes")
        .tag_specifications(tags(ResourceType::SecurityGroup, "team", "lab"))
        .send()
        .await
        .unwrap();
    let sg = created.group_id().unwrap().to_string();
    assert!(created.security_group_arn().unwrap().ends_with(&sg));
    assert_eq!(created.tags()[0].value(), Some("lab"));

    let described = lab.ec2.describe_security_groups().group_ids(&sg).send().await.unwrap();
    let group = &described.security_groups()[0];
    assert_eq!(group.group_name(), Some("agents"));
    assert_eq!(group.description(), Some("AgentCore runtimes"));
    assert_eq!(group.vpc_id(), Some(vpc.as_str()));
    assert_eq!(group.ip_permissions_egress()[0].ip_protocol(), Some("-1"));
    let by_name = lab.ec2.describe_security_groups().filters(filter("group-name", ["agen?s"])).send().await.unwrap();
    assert_eq!(by_name.security_groups().len(), 1);

    let duplicate = lab
        .ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name("agents")
        .description("again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&duplicate),
        ("InvalidGroup.Duplicate".into(), format!("The security group 'agents' already exists for VPC '{vpc}'"))
    );
    let no_vpc = lab.ec2.create_security_group().group_name("x").description("x").send().await.unwrap_err();
    assert_eq!(code(&no_vpc).0, "VPCIdNotSpecified");
    let missing = lab.ec2.create_security_group().vpc_id(&vpc).group_name("x").send().await.unwrap_err();
    assert_eq!(
        code(&missing),
        ("MissingParameter".into(), "The request must contain the parameter groupDescription".into())
    );
    let reserved =
        lab.ec2.create_security_group().vpc_id(&vpc).group_name("default").description("x").send().await.unwrap_err();
    assert_eq!(code(&reserved).0, "InvalidParameterValue");

    let default_sg = lab
        .ec2
        .describe_security_groups()
        .filters(filter("group-name", ["default"]))
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_string();
    let err = lab.ec2.delete_security_group().group_id(&default_sg).send().await.unwrap_err();
    assert_eq!(code(&err).0, "CannotDelete");

    let deleted = lab.ec2.delete_security_group().group_id(&sg).send().await.unwrap();
    assert_eq!(deleted.r#return(), Some(true));
    assert_eq!(deleted.group_id(), Some(sg.as_str()));
    let err = lab.ec2.delete_security_group().group_id(&sg).send().await.unwrap_err();
    assert_eq!(code(&err), ("InvalidGroup.NotFound".into(), format!("The security group '{sg}' does not exist")));
    let err = lab.ec2.describe_security_groups().group_ids("sg-1").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidGroupId.Malformed");
}

#[tokio::test]
async fn tags_create_describe_delete() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    lab.ec2
        .create_tags()
        .resources(&net.vpc)
        .resources(&net.subnets[0])
        .tags(Tag::builder().key("cleanup").value("run-42").build())
        .tags(Tag::builder().key("owner").value("lab").build())
        .send()
        .await
        .unwrap();
    let tagged = lab
        .ec2
        .describe_tags()
        .filters(filter("key", ["cleanup"]))
        .filters(filter("value", ["run-42"]))
        .send()
        .await
        .unwrap();
    let mut resources: Vec<(&str, &str)> =
        tagged.tags().iter().map(|t| (t.resource_id().unwrap(), t.resource_type().unwrap().as_str())).collect();
    resources.sort();
    let mut expected = vec![(net.subnets[0].as_str(), "subnet"), (net.vpc.as_str(), "vpc")];
    expected.sort();
    assert_eq!(resources, expected);

    let by_type = lab.ec2.describe_tags().filters(filter("resource-type", ["vpc"])).send().await.unwrap();
    assert_eq!(by_type.tags().len(), 2);

    lab.ec2.delete_tags().resources(&net.vpc).tags(Tag::builder().key("cleanup").build()).send().await.unwrap();
    let left = lab.ec2.describe_tags().filters(filter("resource-id", [&net.vpc])).send().await.unwrap();
    assert_eq!(left.tags().len(), 1);
    assert_eq!(left.tags()[0].key(), Some("owner"));

    let err = lab
        .ec2
        .create_tags()
        .resources("vpc-0123456789abcdef0")
        .tags(Tag::builder().key("a").value("b").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidVpcID.NotFound");
    let err = lab
        .ec2
        .create_tags()
        .resources(&net.vpc)
        .tags(Tag::builder().key("aws:reserved").value("b").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let err = lab.ec2.create_tags().tags(Tag::builder().key("a").value("b").build()).send().await.unwrap_err();
    assert_eq!(code(&err).0, "MissingParameter");

    // Paginated DescribeTags: 12 tags, pages of 5.
    for i in 0..10 {
        lab.ec2
            .create_tags()
            .resources(&net.subnets[1])
            .tags(Tag::builder().key(format!("k{i}")).value("v").build())
            .send()
            .await
            .unwrap();
    }
    let first = lab.ec2.describe_tags().max_results(5).send().await.unwrap();
    assert_eq!(first.tags().len(), 5);
    assert!(first.next_token().is_some());
    let all: Vec<_> = lab
        .ec2
        .describe_tags()
        .max_results(5)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let total = lab.ec2.describe_tags().send().await.unwrap().tags().len();
    assert_eq!(all.len(), total);
    assert_eq!(total, 1 + 2 + 10);
}

#[tokio::test]
async fn plain_network_interfaces_and_describe_paths() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let created = lab
        .ec2
        .create_network_interface()
        .subnet_id(&net.subnets[0])
        .groups(&net.security_groups[0])
        .description("manual eni")
        .private_ip_address("10.0.1.50")
        .tag_specifications(tags(ResourceType::NetworkInterface, "purpose", "conformance"))
        .send()
        .await
        .unwrap();
    let eni = created.network_interface().unwrap();
    let eni_id = eni.network_interface_id().unwrap().to_string();
    assert_eq!(eni.status().unwrap().as_str(), "pending");
    assert_eq!(eni.private_ip_address(), Some("10.0.1.50"));
    assert_eq!(eni.private_dns_name(), Some("ip-10-0-1-50.ec2.internal"));
    assert_eq!(eni.requester_managed(), Some(false));
    assert_eq!(eni.interface_type().unwrap().as_str(), "interface");
    assert_eq!(eni.groups()[0].group_name(), Some("agents"));
    assert_eq!(eni.description(), Some("manual eni"));
    assert!(eni.attachment().is_none());

    // Defaults: the VPC's default group and the lowest free address.
    let second = lab.ec2.create_network_interface().subnet_id(&net.subnets[0]).send().await.unwrap();
    let second = second.network_interface().unwrap();
    assert_eq!(second.private_ip_address(), Some("10.0.1.4"));
    assert_eq!(second.groups()[0].group_name(), Some("default"));

    let err = lab
        .ec2
        .create_network_interface()
        .subnet_id(&net.subnets[0])
        .private_ip_address("10.0.1.50")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidIPAddress.InUse");
    let err = lab
        .ec2
        .create_network_interface()
        .subnet_id(&net.subnets[0])
        .private_ip_address("10.0.2.9")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let err = lab.ec2.create_network_interface().subnet_id("subnet-0123456789abcdef0").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidSubnetID.NotFound");
    let other_vpc = lab.vpc("10.9.0.0/16").await;
    let foreign_sg = lab.security_group(&other_vpc, "foreign").await;
    let err =
        lab.ec2.create_network_interface().subnet_id(&net.subnets[0]).groups(&foreign_sg).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameter");

    let described = lab.ec2.describe_network_interfaces().network_interface_ids(&eni_id).send().await.unwrap();
    let eni = &described.network_interfaces()[0];
    assert_eq!(eni.status().unwrap().as_str(), "available");
    assert_eq!(eni.tag_set()[0].key(), Some("purpose"));

    for (name, value, expected) in [
        ("status", "available", 2),
        ("status", "in-use", 0),
        ("requester-managed", "false", 2),
        ("description", "manual*", 1),
        ("private-ip-address", "10.0.1.4", 1),
        ("group-id", net.security_groups[0].as_str(), 1),
        ("group-name", "default", 1),
        ("interface-type", "interface", 2),
        ("availability-zone", "us-east-1a", 2),
        ("availability-zone-id", "use1-az2", 0),
        ("tag:purpose", "conformance", 1),
        ("tag-key", "purpose", 1),
        ("network-interface-id", eni_id.as_str(), 1),
        ("subnet-id", net.subnets[1].as_str(), 0),
    ] {
        let out = lab.ec2.describe_network_interfaces().filters(filter(name, [value])).send().await.unwrap();
        assert_eq!(out.network_interfaces().len(), expected, "{name}={value}");
    }

    let err =
        lab.ec2.describe_network_interfaces().network_interface_ids(&eni_id).max_results(5).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterCombination");
    let err = lab.ec2.describe_network_interfaces().max_results(4).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let err = lab.ec2.describe_network_interfaces().next_token("not-a-token").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidPaginationToken");
    let err =
        lab.ec2.describe_network_interfaces().network_interface_ids("eni-0123456789abcdef0").send().await.unwrap_err();
    assert_eq!(
        code(&err),
        (
            "InvalidNetworkInterfaceID.NotFound".into(),
            "The networkInterface ID 'eni-0123456789abcdef0' does not exist".into()
        )
    );
    let err = lab.ec2.describe_network_interfaces().network_interface_ids("eni-nothex").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidNetworkInterfaceId.Malformed");

    // The SG is in use by the ENI.
    let err = lab.ec2.delete_security_group().group_id(&net.security_groups[0]).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("DependencyViolation".into(), format!("resource {} has a dependent object", net.security_groups[0]))
    );
    lab.ec2.delete_network_interface().network_interface_id(&eni_id).send().await.unwrap();
    let err = lab.ec2.delete_network_interface().network_interface_id(&eni_id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidNetworkInterfaceID.NotFound");
    lab.ec2.delete_security_group().group_id(&net.security_groups[0]).send().await.unwrap();
}

#[tokio::test]
async fn describe_network_interfaces_paginates() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let mut created = Vec::new();
    for _ in 0..12 {
        let out = lab.ec2.create_network_interface().subnet_id(&net.subnets[1]).send().await.unwrap();
        created.push(out.network_interface().unwrap().network_interface_id().unwrap().to_string());
    }
    let first = lab.ec2.describe_network_interfaces().max_results(5).send().await.unwrap();
    assert_eq!(first.network_interfaces().len(), 5);
    let token = first.next_token().unwrap().to_string();
    let second = lab.ec2.describe_network_interfaces().max_results(5).next_token(token).send().await.unwrap();
    assert_eq!(second.network_interfaces().len(), 5);
    assert_ne!(
        first.network_interfaces()[0].network_interface_id(),
        second.network_interfaces()[0].network_interface_id()
    );
    let all: Vec<String> = lab
        .ec2
        .describe_network_interfaces()
        .max_results(5)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.network_interface_id().unwrap().to_string())
        .collect();
    assert_eq!(all, created, "pages cover every ENI once, in creation order");
    let unpaged = lab.ec2.describe_network_interfaces().send().await.unwrap();
    assert_eq!(unpaged.network_interfaces().len(), 12);
    assert!(unpaged.next_token().is_none());
}

#[tokio::test]
async fn dry_run_and_unknown_actions() {
    let lab = Lab::manual().await;
    let err = lab.ec2.create_vpc().cidr_block("10.0.0.0/16").dry_run(true).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DryRunOperation");
    assert_eq!(http_status(&err), 412);
    assert!(lab.ec2.describe_vpcs().send().await.unwrap().vpcs().is_empty());
    // An operation outside the slice.
    let err = lab.ec2.describe_instances().send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidAction".into(), "The action DescribeInstances is not valid for this web service.".into())
    );
}

#[tokio::test]
async fn regions_are_separate() {
    let lab = Lab::manual().await;
    lab.vpc("10.0.0.0/16").await;
    let (oregon, _) = lab.clients_in("us-west-2").await;
    assert!(oregon.describe_vpcs().send().await.unwrap().vpcs().is_empty());
    let vpc = oregon
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let subnet = oregon
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.1.0.0/24")
        .availability_zone("us-west-2d")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap();
    assert_eq!(subnet.availability_zone_id(), Some("usw2-az4"));
    assert!(subnet.subnet_arn().unwrap().starts_with("arn:aws:ec2:us-west-2:123456789012:subnet/"));
    assert_eq!(lab.ec2.describe_vpcs().send().await.unwrap().vpcs().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_wildcard_filter_answers_at_once_and_blocks_no_other_call() {
    use std::time::Duration;
    // A process of its own, so that a handler stuck in it cannot stall this test's runtime.
    let (_emulator, url) =
        crate::support::spawn_emulator(&["--time-scale", "3600", "--status-delay", "0s", "--no-default-vpc"]).await;
    let sdk = crate::support::sdk_config(&url).await;
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&sdk).retry_config(aws_config::retry::RetryConfig::disabled()).build(),
    );
    let long_value = "a".repeat(200);
    ec2.create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(tags(ResourceType::Vpc, "k", &long_value))
        .send()
        .await
        .unwrap();

    // Exponential for a backtracking matcher: the old one never answered this (8 wildcards).
    let hostile = ec2.describe_vpcs().filters(filter("tag:k", ["*a*a*a*a*a*a*a*b"])).send();
    let hostile = tokio::spawn(tokio::time::timeout(Duration::from_secs(5), hostile));
    tokio::time::sleep(Duration::from_millis(50)).await;
    // An honest call meanwhile is served.
    let honest = tokio::time::timeout(Duration::from_secs(5), ec2.describe_vpcs().send())
        .await
        .expect("an honest DescribeVpcs answers within 5 s beside a hostile filter")
        .unwrap();
    assert_eq!(honest.vpcs().len(), 1);
    let hostile = hostile.await.unwrap().expect("the hostile DescribeVpcs answers within 5 s").unwrap();
    assert!(hostile.vpcs().is_empty(), "no 'b' in the value: no match");

    // The same wildcards do match when they can.
    let matching = ec2.describe_vpcs().filters(filter("tag:k", ["*a*a*a*a*a*a*a*a"])).send().await.unwrap();
    assert_eq!(matching.vpcs().len(), 1);
}

#[tokio::test]
async fn filter_limits_get_ec2s_errors() {
    let lab = Lab::manual().await;
    lab.vpc("10.0.0.0/16").await;
    let values: Vec<String> = (0..200).map(|i| format!("vpc-{i:08x}")).collect();
    let many = aws_sdk_ec2::types::Filter::builder().name("vpc-id").set_values(Some(values.clone())).build();
    let answer = lab.ec2.describe_vpcs().filters(many.clone()).send().await.expect("200 values are fine");
    assert!(answer.vpcs().is_empty());

    // 201 values: in one filter, or over two.
    let mut over = values.clone();
    over.push("vpc-ffffffff".into());
    let one = aws_sdk_ec2::types::Filter::builder().name("vpc-id").set_values(Some(over)).build();
    let err = lab.ec2.describe_vpcs().filters(one).send().await.unwrap_err();
    assert_eq!(http_status(&err), 400);
    assert_eq!(
        code(err.as_service_error().unwrap()),
        (
            "FilterLimitExceeded".to_string(),
            "The maximum number of filter values specified on a single call is 200".to_string()
        )
    );
    let err =
        lab.ec2.describe_subnets().filters(many).filters(filter("state", ["available"])).send().await.unwrap_err();
    assert_eq!(code(err.as_service_error().unwrap()).0, "FilterLimitExceeded");

    // A value beyond the length bound.
    let long = "*".repeat(513);
    let err = lab.ec2.describe_network_interfaces().filters(filter("description", [&long])).send().await.unwrap_err();
    assert_eq!(http_status(&err), 400);
    assert_eq!(code(err.as_service_error().unwrap()).0, "InvalidParameterValue");
}

/// Posts a hand-written EC2 query `form` signed with the emulator's credentials; status and body.
async fn post_form(lab: &Lab, form: &str) -> (u16, String) {
    use crate::support::{SignOptions, sign};
    let url = format!("{}/", lab.handle.endpoint_url());
    let content_type = ("content-type", "application/x-www-form-urlencoded");
    let (headers, url) = sign("POST", &url, &[content_type], form.as_bytes(), SignOptions::new("ec2"));
    let response = reqwest::Client::new().post(url).headers(headers).body(form.to_string()).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn list_members_ec2_cannot_place_are_errors_not_ignored() {
    let lab = Lab::manual().await;
    let kept = lab.vpc("10.0.0.0/16").await;
    lab.vpc("10.1.0.0/16").await;
    let describe = "Action=DescribeVpcs&Version=2016-11-15";
    let (status, body) = post_form(&lab, &format!("{describe}&Filter.1.Name=vpc-id&Filter.1.Value.1={kept}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.matches("<vpcId>").count(), 1, "a placeable filter narrows: {body}");
    let unplaceable = [
        "Filter.4294967296.Name=vpc-id&Filter.4294967296.Value.1=vpc-00000000",
        "Filter.-1.Name=vpc-id&Filter.-1.Value.1=vpc-00000000",
        "Filter.x.Name=vpc-id&Filter.x.Value.1=vpc-00000000",
        "Filter.0.Name=vpc-id&Filter.0.Value.1=vpc-00000000",
        "Filter.+1.Name=vpc-id&Filter.+1.Value.1=vpc-00000000",
        "Filter.1.Name=vpc-id&Filter.1.Value.99999999999=vpc-00000000",
        "Filter.1.Name=vpc-id&Filter.1.Value.1.Extra=vpc-00000000",
        "VpcId.4294967296=vpc-00000000",
        "VpcId.-1=vpc-00000000",
        "VpcId.=vpc-00000000",
    ];
    for members in unplaceable {
        let (status, body) = post_form(&lab, &format!("{describe}&{members}")).await;
        assert_eq!(status, 400, "{members}: {body}");
        assert!(body.contains("<Code>UnknownParameter</Code>"), "{members}: {body}");
        assert!(!body.contains("<vpcId>"), "{members}: no VPC listed: {body}");
    }
    // Leading zeros name the same member (documented): `Filter.01` is `Filter.1`.
    let (status, body) = post_form(&lab, &format!("{describe}&Filter.01.Name=vpc-id&Filter.1.Value.01={kept}")).await;
    assert_eq!((status, body.matches("<vpcId>").count()), (200, 1), "{body}");
}
