//! The network a real deployment builds, through `aws-sdk-ec2`: internet gateways, route tables,
//! Elastic IP addresses and NAT gateways, their dependencies and refusals, and eni-lab's report
//! network built and torn down in dependency order.

use std::time::Duration;

use agentcore_local::config::{DEFAULT_NAT_GATEWAY_DELAY, DELETED_NAT_GATEWAY_VISIBILITY};
use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::types::{DomainType, NatGateway, NatGatewayState, ResourceType, RouteState, Tag, TagSpecification};

use crate::support::{Lab, code, filter};

fn tags(resource: ResourceType, key: &str, value: &str) -> TagSpecification {
    TagSpecification::builder().resource_type(resource).tags(Tag::builder().key(key).value(value).build()).build()
}

/// Creates an internet gateway and returns its id.
async fn internet_gateway(lab: &Lab) -> String {
    let out = lab.ec2.create_internet_gateway().send().await.unwrap();
    out.internet_gateway().and_then(|g| g.internet_gateway_id()).unwrap().to_string()
}

/// The ids of the internet gateways `filter` selects.
async fn gateways_where(lab: &Lab, name: &str, value: &str) -> Vec<String> {
    let out = lab.ec2.describe_internet_gateways().filters(filter(name, [value])).send().await.unwrap();
    out.internet_gateways().iter().filter_map(|g| g.internet_gateway_id()).map(str::to_string).collect()
}

/// The VPC an internet gateway is attached to, as DescribeInternetGateways shows it.
async fn attached_vpc(lab: &Lab, igw: &str) -> Option<String> {
    let out = lab.ec2.describe_internet_gateways().internet_gateway_ids(igw).send().await.unwrap();
    out.internet_gateways()[0].attachments().first().and_then(|a| a.vpc_id()).map(str::to_string)
}

#[tokio::test]
async fn internet_gateway_lifecycle_and_refusals() {
    let lab = Lab::manual().await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let other_vpc = lab.vpc("10.1.0.0/16").await;
    let created = lab
        .ec2
        .create_internet_gateway()
        .tag_specifications(tags(ResourceType::InternetGateway, "Name", "lab-igw"))
        .send()
        .await
        .unwrap();
    let gateway = created.internet_gateway().unwrap();
    let igw = gateway.internet_gateway_id().unwrap().to_string();
    assert!(igw.starts_with("igw-") && igw.len() == 21, "{igw}");
    assert!(gateway.attachments().is_empty());
    assert_eq!(gateway.owner_id(), Some("123456789012"));
    assert_eq!(gateway.tags()[0].value(), Some("lab-igw"));

    lab.ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    assert_eq!(attached_vpc(&lab, &igw).await.as_deref(), Some(vpc.as_str()));
    let described = lab.ec2.describe_internet_gateways().internet_gateway_ids(&igw).send().await.unwrap();
    assert_eq!(described.internet_gateways()[0].attachments()[0].state().unwrap().as_str(), "available");
    let spare = internet_gateway(&lab).await;
    for (name, value, expected) in [
        ("internet-gateway-id", igw.as_str(), vec![igw.clone()]),
        ("attachment.vpc-id", vpc.as_str(), vec![igw.clone()]),
        ("attachment.state", "available", vec![igw.clone()]),
        ("tag:Name", "lab-*", vec![igw.clone()]),
        ("tag-key", "Name", vec![igw.clone()]),
        ("attachment.vpc-id", other_vpc.as_str(), vec![]),
    ] {
        assert_eq!(gateways_where(&lab, name, value).await, expected, "{name}={value}");
    }
    assert_eq!(lab.ec2.describe_internet_gateways().send().await.unwrap().internet_gateways().len(), 2);

    // Refusals, each leaving the attachment as it was.
    let err = lab.ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&other_vpc).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("Resource.AlreadyAssociated".into(), format!("resource {igw} is already attached to network {vpc}"))
    );
    let err = lab.ec2.attach_internet_gateway().internet_gateway_id(&spare).vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidParameterValue".into(), format!("Network {vpc} already has an internet gateway attached"))
    );
    let err = lab.ec2.delete_internet_gateway().internet_gateway_id(&igw).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("DependencyViolation".into(), format!("The internetGateway '{igw}' has dependencies and cannot be deleted."))
    );
    let err = lab.ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    let err = lab.ec2.detach_internet_gateway().internet_gateway_id(&igw).vpc_id(&other_vpc).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("Gateway.NotAttached".into(), format!("resource {igw} is not attached to network {other_vpc}"))
    );
    assert_eq!(attached_vpc(&lab, &igw).await.as_deref(), Some(vpc.as_str()));
    assert_eq!(attached_vpc(&lab, &spare).await, None);

    lab.ec2.detach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    assert_eq!(attached_vpc(&lab, &igw).await, None);
    lab.ec2.delete_internet_gateway().internet_gateway_id(&igw).send().await.unwrap();
    lab.ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
    let err = lab.ec2.describe_internet_gateways().internet_gateway_ids(&igw).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidInternetGatewayID.NotFound".into(), format!("The internetGateway ID '{igw}' does not exist"))
    );
    let err = lab.ec2.delete_internet_gateway().internet_gateway_id("igw-nothex").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidInternetGatewayId.Malformed");
    let err = lab.ec2.attach_internet_gateway().internet_gateway_id(&spare).vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidVpcID.NotFound");
    // Tags work on gateways like on every other resource.
    lab.ec2.create_tags().resources(&spare).tags(Tag::builder().key("k").value("v").build()).send().await.unwrap();
    assert_eq!(gateways_where(&lab, "tag:k", "v").await, vec![spare]);
}

/// The route tables of `vpc`.
async fn tables_of(lab: &Lab, vpc: &str) -> Vec<aws_sdk_ec2::types::RouteTable> {
    lab.ec2.describe_route_tables().filters(filter("vpc-id", [vpc])).send().await.unwrap().route_tables().to_vec()
}

async fn table(lab: &Lab, id: &str) -> aws_sdk_ec2::types::RouteTable {
    lab.ec2.describe_route_tables().route_table_ids(id).send().await.unwrap().route_tables()[0].clone()
}

#[tokio::test]
async fn route_tables_routes_and_associations() {
    let lab = Lab::manual().await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let other_vpc = lab.vpc("10.1.0.0/16").await;
    let subnet = lab.subnet(&vpc, "10.0.1.0/24", "use1-az1").await;
    let foreign_subnet = lab.subnet(&other_vpc, "10.1.1.0/24", "use1-az1").await;

    // Every VPC has a main table with its local route.
    let tables = tables_of(&lab, &vpc).await;
    assert_eq!(tables.len(), 1);
    let main = &tables[0];
    let main_id = main.route_table_id().unwrap().to_string();
    assert_eq!(main.associations().len(), 1);
    assert_eq!(main.associations()[0].main(), Some(true));
    assert_eq!(main.routes()[0].destination_cidr_block(), Some("10.0.0.0/16"));
    assert_eq!(main.routes()[0].gateway_id(), Some("local"));
    assert_eq!(main.routes()[0].state(), Some(&RouteState::Active));
    let mains = lab.ec2.describe_route_tables().filters(filter("association.main", ["true"])).send().await.unwrap();
    assert_eq!(mains.route_tables().len(), 2, "one per VPC");

    let created = lab
        .ec2
        .create_route_table()
        .vpc_id(&vpc)
        .tag_specifications(tags(ResourceType::RouteTable, "Name", "public-rt"))
        .send()
        .await
        .unwrap();
    let rt = created.route_table().unwrap();
    let rt_id = rt.route_table_id().unwrap().to_string();
    assert!(rt.associations().is_empty());
    assert_eq!(rt.routes().len(), 1);
    assert_eq!(rt.tags()[0].value(), Some("public-rt"));

    // Route targets must exist and belong to the table's VPC.
    let igw = internet_gateway(&lab).await;
    let route = || lab.ec2.create_route().route_table_id(&rt_id).destination_cidr_block("0.0.0.0/0");
    let err = route().gateway_id("igw-0123456789abcdef0").send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidGatewayID.NotFound".into(), "The gateway ID 'igw-0123456789abcdef0' does not exist".into())
    );
    let err = route().nat_gateway_id("nat-0123456789abcdef0").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidNatGatewayID.NotFound");
    let err = route().gateway_id(&igw).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        (
            "InvalidParameterValue".into(),
            format!("route table {rt_id} and network gateway {igw} belong to different networks")
        )
    );
    let err = lab
        .ec2
        .create_route()
        .route_table_id("rtb-0123456789abcdef0")
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidRouteTableID.NotFound".into(), "The routeTable ID 'rtb-0123456789abcdef0' does not exist".into())
    );
    assert_eq!(table(&lab, &rt_id).await.routes().len(), 1, "no refused route was added");
    lab.ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    route().gateway_id(&igw).send().await.unwrap();
    let err = route().gateway_id(&igw).send().await.unwrap_err();
    assert_eq!(code(&err), ("RouteAlreadyExists".into(), "The route identified by 0.0.0.0/0 already exists.".into()));
    let routes = table(&lab, &rt_id).await.routes().to_vec();
    assert_eq!(routes.len(), 2);
    assert_eq!((routes[1].gateway_id(), routes[1].state()), (Some(igw.as_str()), Some(&RouteState::Active)));

    // Associations: one table per subnet, same VPC only.
    let associated = lab.ec2.associate_route_table().route_table_id(&rt_id).subnet_id(&subnet).send().await.unwrap();
    let association = associated.association_id().unwrap().to_string();
    assert!(association.starts_with("rtbassoc-"), "{association}");
    assert_eq!(associated.association_state().and_then(|s| s.state()).unwrap().as_str(), "associated");
    let err = lab.ec2.associate_route_table().route_table_id(&main_id).subnet_id(&subnet).send().await.unwrap_err();
    assert_eq!(code(&err).0, "Resource.AlreadyAssociated");
    let err =
        lab.ec2.associate_route_table().route_table_id(&rt_id).subnet_id(&foreign_subnet).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let by_subnet =
        lab.ec2.describe_route_tables().filters(filter("association.subnet-id", [&subnet])).send().await.unwrap();
    assert_eq!(
        by_subnet.route_tables().iter().map(|t| t.route_table_id().unwrap()).collect::<Vec<_>>(),
        [rt_id.as_str()]
    );
    let by_tag = lab.ec2.describe_route_tables().filters(filter("tag:Name", ["public-*"])).send().await.unwrap();
    assert_eq!(by_tag.route_tables().len(), 1);
    let by_gateway = lab.ec2.describe_route_tables().filters(filter("route.gateway-id", [&igw])).send().await.unwrap();
    assert_eq!(by_gateway.route_tables().len(), 1);

    // Deletion refusals, each changing nothing.
    let err = lab.ec2.delete_route_table().route_table_id(&rt_id).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("DependencyViolation".into(), format!("The routeTable '{rt_id}' has dependencies and cannot be deleted."))
    );
    let err = lab.ec2.delete_route_table().route_table_id(&main_id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    let main_association = main.associations()[0].route_table_association_id().unwrap();
    let err = lab.ec2.disassociate_route_table().association_id(main_association).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    let err = lab.ec2.disassociate_route_table().association_id("rtbassoc-0123456789abcdef0").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidAssociationID.NotFound");
    assert_eq!(tables_of(&lab, &vpc).await.len(), 2);
    assert_eq!(table(&lab, &rt_id).await.associations().len(), 1);

    // A route whose gateway left the VPC is a blackhole; DeleteRoute removes it.
    lab.ec2.detach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    assert_eq!(table(&lab, &rt_id).await.routes()[1].state(), Some(&RouteState::Blackhole));
    let blackholes =
        lab.ec2.describe_route_tables().filters(filter("route.state", ["blackhole"])).send().await.unwrap();
    assert_eq!(blackholes.route_tables().len(), 1);
    lab.ec2.delete_route().route_table_id(&rt_id).destination_cidr_block("0.0.0.0/0").send().await.unwrap();
    let err =
        lab.ec2.delete_route().route_table_id(&rt_id).destination_cidr_block("0.0.0.0/0").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidRoute.NotFound");
    assert_eq!(table(&lab, &rt_id).await.routes().len(), 1);

    // The VPC waits for its non-main tables; DeleteSubnet takes the subnet's association with it.
    let err = lab.ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    lab.ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    assert!(table(&lab, &rt_id).await.associations().is_empty());
    lab.ec2.delete_route_table().route_table_id(&rt_id).send().await.unwrap();
    lab.ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
    assert!(tables_of(&lab, &vpc).await.is_empty(), "the main table goes with its VPC");
    let err = lab.ec2.describe_route_tables().route_table_ids(&main_id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidRouteTableID.NotFound");
    let err = lab.ec2.describe_route_tables().route_table_ids("rtb-x").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidRouteTableId.Malformed");
}

/// Allocates an Elastic IP address and returns its allocation id.
async fn allocate(lab: &Lab) -> String {
    lab.ec2.allocate_address().domain(DomainType::Vpc).send().await.unwrap().allocation_id().unwrap().to_string()
}

async fn nat(lab: &Lab, id: &str) -> NatGateway {
    lab.ec2.describe_nat_gateways().nat_gateway_ids(id).send().await.unwrap().nat_gateways()[0].clone()
}

/// A VPC with an attached internet gateway and one subnet: (vpc, igw, subnet).
async fn public_network(lab: &Lab) -> (String, String, String) {
    let vpc = lab.vpc("10.0.0.0/16").await;
    let igw = internet_gateway(lab).await;
    lab.ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    let subnet = lab.subnet(&vpc, "10.0.0.0/24", "use1-az1").await;
    (vpc, igw, subnet)
}

#[tokio::test]
async fn elastic_ip_addresses() {
    let lab = Lab::manual().await;
    let allocated = lab
        .ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(tags(ResourceType::ElasticIp, "Name", "nat-eip"))
        .send()
        .await
        .unwrap();
    let id = allocated.allocation_id().unwrap().to_string();
    assert!(id.starts_with("eipalloc-"), "{id}");
    assert_eq!(allocated.public_ip(), Some("198.51.100.1"));
    assert_eq!(allocated.domain(), Some(&DomainType::Vpc));
    let second = allocate(&lab).await;

    let described = lab.ec2.describe_addresses().allocation_ids(&id).send().await.unwrap();
    let address = &described.addresses()[0];
    assert_eq!((address.public_ip(), address.association_id()), (Some("198.51.100.1"), None));
    assert_eq!(address.tags()[0].value(), Some("nat-eip"));
    let by_tag = lab.ec2.describe_addresses().filters(filter("tag:Name", ["nat-eip"])).send().await.unwrap();
    assert_eq!(by_tag.addresses().len(), 1);
    let by_id = lab.ec2.describe_addresses().filters(filter("allocation-id", [&second])).send().await.unwrap();
    assert_eq!(by_id.addresses()[0].public_ip(), Some("198.51.100.2"));
    assert_eq!(lab.ec2.describe_addresses().send().await.unwrap().addresses().len(), 2);

    let err = lab.ec2.describe_addresses().allocation_ids("eipalloc-0123456789abcdef0").send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidAllocationID.NotFound".into(), "The allocation ID 'eipalloc-0123456789abcdef0' does not exist".into())
    );
    let err = lab.ec2.allocate_address().domain(DomainType::Standard).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
    lab.ec2.release_address().allocation_id(&id).send().await.unwrap();
    let err = lab.ec2.release_address().allocation_id(&id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidAllocationID.NotFound");
    // A released address is free again.
    assert_eq!(lab.ec2.allocate_address().send().await.unwrap().public_ip(), Some("198.51.100.1"));
}

#[tokio::test]
async fn nat_gateway_states_and_what_it_holds() {
    let lab = Lab::manual().await;
    let (vpc, igw, subnet) = public_network(&lab).await;
    let allocation = allocate(&lab).await;
    let created = lab
        .ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id(&allocation)
        .tag_specifications(tags(ResourceType::Natgateway, "Name", "nat"))
        .send()
        .await
        .unwrap();
    let gateway = created.nat_gateway().unwrap();
    let id = gateway.nat_gateway_id().unwrap().to_string();
    assert!(id.starts_with("nat-"), "{id}");
    assert_eq!(gateway.state(), Some(&NatGatewayState::Pending));
    assert_eq!((gateway.subnet_id(), gateway.vpc_id()), (Some(subnet.as_str()), Some(vpc.as_str())));
    assert_eq!(gateway.nat_gateway_addresses()[0].allocation_id(), Some(allocation.as_str()));
    assert_eq!(gateway.nat_gateway_addresses()[0].public_ip(), Some("198.51.100.1"));
    assert_eq!(gateway.tags()[0].value(), Some("nat"));
    let address = lab.ec2.describe_addresses().allocation_ids(&allocation).send().await.unwrap();
    assert!(address.addresses()[0].association_id().is_some_and(|a| a.starts_with("eipassoc-")));

    // While it lives, it holds its address, its subnet and the VPC's internet gateway.
    let err = lab.ec2.release_address().allocation_id(&allocation).send().await.unwrap_err();
    assert_eq!(code(&err), ("InvalidIPAddress.InUse".into(), "Address 198.51.100.1 is in use.".into()));
    let err = lab.ec2.create_nat_gateway().subnet_id(&subnet).allocation_id(&allocation).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("Resource.AlreadyAssociated".into(), format!("Elastic IP address [{allocation}] is already associated"))
    );
    let err = lab.ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("DependencyViolation".into(), format!("The subnet '{subnet}' has dependencies and cannot be deleted."))
    );
    let err = lab.ec2.detach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    let err = lab
        .ec2
        .create_nat_gateway()
        .subnet_id(&subnet)
        .allocation_id("eipalloc-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidAllocationID.NotFound");
    let err = lab
        .ec2
        .create_nat_gateway()
        .subnet_id("subnet-0123456789abcdef0")
        .allocation_id(&allocation)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidSubnetID.NotFound");
    assert_eq!(lab.ec2.describe_nat_gateways().send().await.unwrap().nat_gateways().len(), 1);
    assert_eq!(attached_vpc(&lab, &igw).await.as_deref(), Some(vpc.as_str()));

    // pending → available after the delay, not before.
    lab.advance(DEFAULT_NAT_GATEWAY_DELAY - Duration::from_secs(1));
    assert_eq!(nat(&lab, &id).await.state(), Some(&NatGatewayState::Pending));
    lab.advance(Duration::from_secs(1));
    lab.ec2.wait_until_nat_gateway_available().nat_gateway_ids(&id).wait(Duration::from_secs(5)).await.unwrap();
    let available = lab.ec2.describe_nat_gateways().filter(filter("state", ["available"])).send().await.unwrap();
    assert_eq!(available.nat_gateways().len(), 1);
    for (name, value) in
        [("nat-gateway-id", id.as_str()), ("subnet-id", &subnet), ("vpc-id", &vpc), ("tag:Name", "nat")]
    {
        let out = lab.ec2.describe_nat_gateways().filter(filter(name, [value])).send().await.unwrap();
        assert_eq!(out.nat_gateways().len(), 1, "{name}={value}");
    }
    let none = lab.ec2.describe_nat_gateways().filter(filter("state", ["pending"])).send().await.unwrap();
    assert!(none.nat_gateways().is_empty());

    // deleting → deleted after the delay; deleted is shown for a while, then gone.
    let deleted = lab.ec2.delete_nat_gateway().nat_gateway_id(&id).send().await.unwrap();
    assert_eq!(deleted.nat_gateway_id(), Some(id.as_str()));
    assert_eq!(nat(&lab, &id).await.state(), Some(&NatGatewayState::Deleting));
    let err = lab.ec2.release_address().allocation_id(&allocation).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidIPAddress.InUse");
    let err = lab.ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    lab.advance(DEFAULT_NAT_GATEWAY_DELAY);
    let gone = nat(&lab, &id).await;
    assert_eq!(gone.state(), Some(&NatGatewayState::Deleted));
    assert!(gone.delete_time().is_some());
    let address = lab.ec2.describe_addresses().allocation_ids(&allocation).send().await.unwrap();
    assert_eq!(address.addresses()[0].association_id(), None);
    lab.ec2.detach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    lab.ec2.release_address().allocation_id(&allocation).send().await.unwrap();
    lab.ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    lab.advance(DELETED_NAT_GATEWAY_VISIBILITY);
    let err = lab.ec2.describe_nat_gateways().nat_gateway_ids(&id).send().await.unwrap_err();
    assert_eq!(code(&err), ("NatGatewayNotFound".into(), format!("NAT gateway {id} was not found")));
    let err = lab.ec2.delete_nat_gateway().nat_gateway_id(&id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "NatGatewayNotFound");
}

#[tokio::test]
async fn a_nat_gateway_in_a_vpc_without_an_internet_gateway_fails() {
    let lab = Lab::manual().await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let subnet = lab.subnet(&vpc, "10.0.0.0/24", "use1-az1").await;
    let allocation = allocate(&lab).await;
    let created = lab.ec2.create_nat_gateway().subnet_id(&subnet).allocation_id(&allocation).send().await.unwrap();
    let id = created.nat_gateway().and_then(|n| n.nat_gateway_id()).unwrap().to_string();
    lab.advance(DEFAULT_NAT_GATEWAY_DELAY);
    let failed = nat(&lab, &id).await;
    assert_eq!(failed.state(), Some(&NatGatewayState::Failed));
    assert_eq!(failed.failure_code(), Some("Gateway.NotAttached"));
    assert_eq!(failed.failure_message(), Some(format!("Network {vpc} has no Internet gateway attached").as_str()));
    let waited = lab.ec2.wait_until_nat_gateway_available().nat_gateway_ids(&id).wait(Duration::from_secs(5)).await;
    assert!(waited.is_err(), "the waiter stops on a failed gateway");
    // A failed gateway holds nothing.
    lab.ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    lab.ec2.release_address().allocation_id(&allocation).send().await.unwrap();
}

/// eni-lab's `network::create_report_network`, call for call, then its teardown's order
/// (`teardown.rs`: NAT gateways until deleted, addresses, route tables disassociated first, subnets,
/// internet gateways detached first, the VPC), which must leave nothing.
#[tokio::test]
async fn the_report_network_is_built_and_torn_down_in_dependency_order() {
    let lab = Lab::manual().await;
    let ec2 = &lab.ec2;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let igw = internet_gateway(&lab).await;
    ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    let zones = ["use1-az1", "use1-az2"];
    let (mut public, mut private) = (Vec::new(), Vec::new());
    for (index, zone) in zones.iter().enumerate() {
        public.push(lab.subnet(&vpc, &format!("10.0.{index}.0/24"), zone).await);
        private.push(lab.subnet(&vpc, &format!("10.0.{}.0/24", zones.len() + index), zone).await);
    }
    let allocation = allocate(&lab).await;
    let created = ec2.create_nat_gateway().subnet_id(&public[0]).allocation_id(&allocation).send().await.unwrap();
    let nat_id = created.nat_gateway().and_then(|n| n.nat_gateway_id()).unwrap().to_string();
    lab.advance(DEFAULT_NAT_GATEWAY_DELAY);
    ec2.wait_until_nat_gateway_available().nat_gateway_ids(&nat_id).wait(Duration::from_secs(5)).await.unwrap();
    let mut tables = Vec::new();
    for (subnets, through_nat) in [(&public, false), (&private, true)] {
        let out = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
        let table = out.route_table().and_then(|t| t.route_table_id()).unwrap().to_string();
        let route = ec2.create_route().route_table_id(&table).destination_cidr_block("0.0.0.0/0");
        let route = if through_nat { route.nat_gateway_id(&nat_id) } else { route.gateway_id(&igw) };
        route.send().await.unwrap();
        for subnet in subnets.iter() {
            ec2.associate_route_table().route_table_id(&table).subnet_id(subnet).send().await.unwrap();
        }
        tables.push(table);
    }
    let described = ec2.describe_route_tables().filters(filter("vpc-id", [&vpc])).send().await.unwrap();
    assert_eq!(described.route_tables().len(), 3, "main + public + private");
    let private_table = table(&lab, &tables[1]).await;
    assert_eq!(private_table.routes()[1].nat_gateway_id(), Some(nat_id.as_str()));
    assert_eq!(private_table.routes()[1].state(), Some(&RouteState::Active));
    assert_eq!(private_table.associations().len(), 2);

    // Teardown, in eni-lab's order.
    ec2.delete_nat_gateway().nat_gateway_id(&nat_id).send().await.unwrap();
    lab.advance(DEFAULT_NAT_GATEWAY_DELAY);
    assert_eq!(nat(&lab, &nat_id).await.state(), Some(&NatGatewayState::Deleted));
    assert_eq!(table(&lab, &tables[1]).await.routes()[1].state(), Some(&RouteState::Blackhole));
    ec2.release_address().allocation_id(&allocation).send().await.unwrap();
    for id in &tables {
        for association in table(&lab, id).await.associations() {
            let association = association.route_table_association_id().unwrap();
            ec2.disassociate_route_table().association_id(association).send().await.unwrap();
        }
        ec2.delete_route_table().route_table_id(id).send().await.unwrap();
    }
    for subnet in public.iter().chain(&private) {
        ec2.delete_subnet().subnet_id(subnet).send().await.unwrap();
    }
    ec2.detach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send().await.unwrap();
    ec2.delete_internet_gateway().internet_gateway_id(&igw).send().await.unwrap();
    ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();

    assert!(ec2.describe_vpcs().send().await.unwrap().vpcs().is_empty());
    assert!(ec2.describe_subnets().send().await.unwrap().subnets().is_empty());
    assert!(ec2.describe_route_tables().send().await.unwrap().route_tables().is_empty());
    assert!(ec2.describe_internet_gateways().send().await.unwrap().internet_gateways().is_empty());
    assert!(ec2.describe_addresses().send().await.unwrap().addresses().is_empty());
    assert!(ec2.describe_security_groups().send().await.unwrap().security_groups().is_empty());
    assert!(ec2.describe_tags().send().await.unwrap().tags().is_empty());
    lab.advance(DELETED_NAT_GATEWAY_VISIBILITY);
    assert!(ec2.describe_nat_gateways().send().await.unwrap().nat_gateways().is_empty());
}
