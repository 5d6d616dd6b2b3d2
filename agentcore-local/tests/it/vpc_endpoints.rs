//! VPC endpoints (interface and gateway) and the ENIs services make in a VPC (VPC endpoints, NAT
//! gateways, AgentCore), as DescribeNetworkInterfaces shows them: every filter of the model,
//! `requesterId`, `operator`, managed resource visibility and `IncludeManagedResources`.

use std::time::Duration;

use agentcore_local::Config;
use agentcore_local::config::{DEFAULT_VPC_ENDPOINT_DELAY, DELETED_VPC_ENDPOINT_VISIBILITY};
use aws_sdk_ec2::operation::create_vpc_endpoint::builders::CreateVpcEndpointFluentBuilder;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, ManagedResourceDefaultVisibility, NetworkInterface, VpcEndpointType,
};

use crate::support::{Lab, code, filter, manual_config};

/// Turns on DNS hostnames for `vpc` (DNS support is on for every new VPC), as private DNS needs.
async fn dns_hostnames(lab: &Lab, vpc: &str) {
    let on = AttributeBooleanValue::builder().value(true).build();
    lab.ec2.modify_vpc_attribute().vpc_id(vpc).enable_dns_hostnames(on).send().await.unwrap();
}

/// The ENIs of `vpc`, as DescribeNetworkInterfaces shows them with `filters` added.
async fn enis(lab: &Lab, vpc: &str, filters: &[(&str, &str)]) -> Vec<NetworkInterface> {
    let mut call = lab.ec2.describe_network_interfaces().filters(filter("vpc-id", [vpc]));
    for (name, value) in filters {
        call = call.filters(filter(name, [*value]));
    }
    call.send().await.unwrap().network_interfaces().to_vec()
}

/// Free addresses of `subnet` (DescribeSubnets).
async fn free_ips(lab: &Lab, subnet: &str) -> i32 {
    let out = lab.ec2.describe_subnets().subnet_ids(subnet).send().await.unwrap();
    out.subnets()[0].available_ip_address_count().unwrap()
}

/// A CreateVpcEndpoint request for an interface endpoint of `service` in `vpc`.
fn interface_endpoint(lab: &Lab, vpc: &str, service: &str) -> CreateVpcEndpointFluentBuilder {
    lab.ec2.create_vpc_endpoint().vpc_id(vpc).vpc_endpoint_type(VpcEndpointType::Interface).service_name(service)
}

/// The state of endpoint `id` (DescribeVpcEndpoints), in EC2's own lower case.
async fn endpoint_state(lab: &Lab, id: &str) -> Option<String> {
    let out = lab.ec2.describe_vpc_endpoints().vpc_endpoint_ids(id).send().await;
    let out = out.ok()?;
    out.vpc_endpoints().first().and_then(|e| e.state()).map(|s| s.as_str().to_string())
}

#[tokio::test]
async fn interface_endpoint_makes_an_eni_per_subnet_and_holds_its_network_until_deleted() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    dns_hostnames(&lab, &net.vpc).await;
    let before = free_ips(&lab, &net.subnets[0]).await;
    let created = interface_endpoint(&lab, &net.vpc, "com.amazonaws.us-east-1.ecr.api")
        .set_subnet_ids(Some(net.subnets.clone()))
        .security_group_ids(&net.security_groups[0])
        .client_token("token-1")
        .send()
        .await
        .unwrap();
    let endpoint = created.vpc_endpoint().unwrap();
    let id = endpoint.vpc_endpoint_id().unwrap().to_string();
    assert!(id.starts_with("vpce-"), "{id}");
    assert_eq!(endpoint.state().unwrap().as_str(), "pending");
    assert_eq!(endpoint.subnet_ids(), net.subnets.as_slice());
    assert_eq!(endpoint.groups()[0].group_id(), Some(net.security_groups[0].as_str()));
    assert_eq!(endpoint.private_dns_enabled(), Some(true));
    assert_eq!(endpoint.network_interface_ids().len(), 2);
    let dns: Vec<&str> = endpoint.dns_entries().iter().filter_map(|d| d.dns_name()).collect();
    assert!(dns.contains(&"ecr.api.us-east-1.amazonaws.com"), "{dns:?}");
    assert!(dns.iter().any(|d| d.starts_with(&id) && d.ends_with(".ecr.api.us-east-1.vpce.amazonaws.com")), "{dns:?}");
    // The same client token answers the same endpoint, and makes nothing new.
    let again = interface_endpoint(&lab, &net.vpc, "com.amazonaws.us-east-1.ecr.api")
        .set_subnet_ids(Some(net.subnets.clone()))
        .client_token("token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(again.vpc_endpoint().unwrap().vpc_endpoint_id(), Some(id.as_str()));

    // Its ENIs: one per subnet, each taking an address.
    let endpoint_enis = enis(&lab, &net.vpc, &[("interface-type", "vpc_endpoint")]).await;
    assert_eq!(endpoint_enis.len(), 2);
    for eni in &endpoint_enis {
        assert_eq!(eni.description(), Some(format!("VPC Endpoint Interface {id}").as_str()));
        assert_eq!(eni.requester_managed(), Some(true));
        assert_eq!(eni.requester_id(), Some("vpce.amazonaws.com"));
        assert_eq!(eni.status().unwrap().as_str(), "in-use");
        assert_eq!(eni.groups()[0].group_id(), Some(net.security_groups[0].as_str()));
        assert_eq!(eni.operator().and_then(|o| o.managed()), Some(false));
    }
    assert_eq!(free_ips(&lab, &net.subnets[0]).await, before - 1);

    // What it holds cannot go while it lives.
    let err = lab.ec2.delete_subnet().subnet_id(&net.subnets[0]).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    let err = lab.ec2.delete_security_group().group_id(&net.security_groups[0]).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    let err = lab
        .ec2
        .delete_network_interface()
        .network_interface_id(endpoint_enis[0].network_interface_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidNetworkInterface.InUse");

    lab.advance(DEFAULT_VPC_ENDPOINT_DELAY);
    assert_eq!(endpoint_state(&lab, &id).await.as_deref(), Some("available"));
    let available = lab.ec2.describe_vpc_endpoints().filters(filter("vpc-endpoint-state", ["available"])).send().await;
    assert_eq!(available.unwrap().vpc_endpoints().len(), 1);

    // Deleting: `deleting`, then `deleted` with its ENIs gone, then no longer shown.
    let out = lab
        .ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&id)
        .vpc_endpoint_ids("vpce-0123456789abcdef0")
        .send()
        .await
        .unwrap();
    let failed = out.unsuccessful();
    assert_eq!(failed.len(), 1, "the unknown id is listed, the call succeeds");
    assert_eq!(failed[0].resource_id(), Some("vpce-0123456789abcdef0"));
    assert_eq!(failed[0].error().and_then(|e| e.code()), Some("InvalidVpcEndpointId.NotFound"));
    assert_eq!(endpoint_state(&lab, &id).await.as_deref(), Some("deleting"));
    assert_eq!(enis(&lab, &net.vpc, &[]).await.len(), 2, "ENIs stay while deleting");
    lab.advance(DEFAULT_VPC_ENDPOINT_DELAY);
    assert_eq!(endpoint_state(&lab, &id).await.as_deref(), Some("deleted"));
    assert!(enis(&lab, &net.vpc, &[]).await.is_empty());
    assert_eq!(free_ips(&lab, &net.subnets[0]).await, before);
    lab.ec2.delete_subnet().subnet_id(&net.subnets[0]).send().await.unwrap();
    lab.advance(DELETED_VPC_ENDPOINT_VISIBILITY);
    assert_eq!(endpoint_state(&lab, &id).await, None);
}

#[tokio::test]
async fn interface_endpoint_refusals() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let interface = |service: &str| interface_endpoint(&lab, &net.vpc, service).subnet_ids(&net.subnets[0]);
    // Private DNS (on by default) needs DNS hostnames, off on a new VPC.
    let err = interface("com.amazonaws.us-east-1.logs").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameter");
    assert!(code(&err).1.contains("enableDnsHostnames"), "{:?}", code(&err));
    // Without private DNS it works, with the VPC's default group.
    let out = interface("com.amazonaws.us-east-1.logs").private_dns_enabled(false).send().await.unwrap();
    assert_eq!(out.vpc_endpoint().unwrap().groups()[0].group_name(), Some("default"));
    for (service, expected) in [
        ("com.amazonaws.us-east-1.no-such-service", "InvalidServiceName"),
        ("com.amazonaws.eu-west-1.logs", "InvalidServiceName"),
    ] {
        let err = interface(service).private_dns_enabled(false).send().await.unwrap_err();
        assert_eq!(code(&err).0, expected, "{service}");
    }
    let same_zone = lab.subnet(&net.vpc, "10.0.3.0/24", "use1-az1").await;
    let err = interface("com.amazonaws.us-east-1.sts")
        .subnet_ids(&same_zone)
        .private_dns_enabled(false)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "DuplicateSubnetsInSameZone");
    let err = interface_endpoint(&lab, &net.vpc, "com.amazonaws.us-east-1.sts").send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameter", "an interface endpoint needs a subnet");
    let err = lab.ec2.delete_vpc().vpc_id(&net.vpc).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    // ModifyVpcEndpoint adds a subnet: a new ENI there.
    let id = out.vpc_endpoint().unwrap().vpc_endpoint_id().unwrap().to_string();
    lab.ec2.modify_vpc_endpoint().vpc_endpoint_id(&id).add_subnet_ids(&net.subnets[1]).send().await.unwrap();
    let described = lab.ec2.describe_vpc_endpoints().vpc_endpoint_ids(&id).send().await.unwrap();
    assert_eq!(described.vpc_endpoints()[0].network_interface_ids().len(), 2);
    assert_eq!(enis(&lab, &net.vpc, &[("subnet-id", &net.subnets[1])]).await.len(), 1);
    lab.ec2.modify_vpc_endpoint().vpc_endpoint_id(&id).remove_subnet_ids(&net.subnets[1]).send().await.unwrap();
    assert!(enis(&lab, &net.vpc, &[("subnet-id", &net.subnets[1])]).await.is_empty());
}

#[tokio::test]
async fn gateway_endpoint_routes_to_the_service_prefix_list() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let table = lab.ec2.create_route_table().vpc_id(&net.vpc).send().await.unwrap();
    let table = table.route_table().unwrap().route_table_id().unwrap().to_string();
    let created = lab
        .ec2
        .create_vpc_endpoint()
        .vpc_id(&net.vpc)
        .service_name("com.amazonaws.us-east-1.s3")
        .route_table_ids(&table)
        .send()
        .await
        .unwrap();
    let endpoint = created.vpc_endpoint().unwrap();
    assert_eq!(endpoint.vpc_endpoint_type(), Some(&VpcEndpointType::Gateway), "Gateway is the default type");
    assert_eq!(endpoint.state().unwrap().as_str(), "available");
    assert!(endpoint.network_interface_ids().is_empty());
    let id = endpoint.vpc_endpoint_id().unwrap().to_string();
    let routes = |out: aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput| {
        out.route_tables()[0]
            .routes()
            .iter()
            .map(|r| (r.destination_prefix_list_id().map(str::to_string), r.gateway_id().map(str::to_string)))
            .collect::<Vec<_>>()
    };
    let described = routes(lab.ec2.describe_route_tables().route_table_ids(&table).send().await.unwrap());
    assert_eq!(described.len(), 2, "local and the endpoint's: {described:?}");
    assert!(described[1].0.as_deref().is_some_and(|p| p.starts_with("pl-")), "{described:?}");
    assert_eq!(described[1].1.as_deref(), Some(id.as_str()));
    assert!(enis(&lab, &net.vpc, &[]).await.is_empty(), "a gateway endpoint has no ENI");
    let err = lab
        .ec2
        .create_vpc_endpoint()
        .vpc_id(&net.vpc)
        .service_name("com.amazonaws.us-east-1.logs")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameter", "logs has no gateway endpoint");
    let services = lab.ec2.describe_vpc_endpoint_services().service_names("com.amazonaws.us-east-1.s3").send().await;
    let services = services.unwrap();
    assert_eq!(services.service_names(), ["com.amazonaws.us-east-1.s3"]);
    assert_eq!(services.service_details().len(), 2, "S3 has both endpoint types");

    // Deleting a gateway endpoint takes its routes at once.
    let out = lab.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&id).send().await.unwrap();
    assert!(out.unsuccessful().is_empty());
    let described = routes(lab.ec2.describe_route_tables().route_table_ids(&table).send().await.unwrap());
    assert_eq!(described.len(), 1, "{described:?}");
    assert_eq!(endpoint_state(&lab, &id).await, None);
    lab.ec2.delete_route_table().route_table_id(&table).send().await.unwrap();
}

#[tokio::test]
async fn nat_gateway_takes_an_address_of_its_subnet_until_deleted() {
    let lab = Lab::start(Config { nat_gateway_delay: Duration::from_secs(60), ..manual_config() }).await;
    let net = lab.network().await;
    let igw = lab.ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw.internet_gateway().unwrap().internet_gateway_id().unwrap().to_string();
    lab.ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&net.vpc).send().await.unwrap();
    let eip = lab.ec2.allocate_address().domain(DomainType::Vpc).send().await.unwrap();
    let before = free_ips(&lab, &net.subnets[0]).await;
    let nat = lab
        .ec2
        .create_nat_gateway()
        .subnet_id(&net.subnets[0])
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    let nat = nat.nat_gateway().unwrap();
    let nat_id = nat.nat_gateway_id().unwrap().to_string();
    let eni_id = nat.nat_gateway_addresses()[0].network_interface_id().unwrap().to_string();
    assert_eq!(free_ips(&lab, &net.subnets[0]).await, before - 1);
    let found = enis(&lab, &net.vpc, &[("interface-type", "nat_gateway")]).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].network_interface_id(), Some(eni_id.as_str()));
    assert_eq!(found[0].description(), Some(format!("Interface for NAT Gateway {nat_id}").as_str()));
    assert!(found[0].groups().is_empty());
    lab.advance(Duration::from_secs(60));
    lab.ec2.delete_nat_gateway().nat_gateway_id(&nat_id).send().await.unwrap();
    assert_eq!(enis(&lab, &net.vpc, &[]).await.len(), 1, "the ENI stays while the gateway is deleting");
    lab.advance(Duration::from_secs(60));
    assert!(enis(&lab, &net.vpc, &[]).await.is_empty());
    assert_eq!(free_ips(&lab, &net.subnets[0]).await, before);
}

#[tokio::test]
async fn every_modeled_eni_filter_is_accepted_and_the_service_fields_are_filterable() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    lab.runtime("filters", &net.subnets[..1], &net.security_groups).await;
    let agentcore = enis(&lab, &net.vpc, &[]).await;
    assert_eq!(agentcore.len(), 1);
    let eni = &agentcore[0];
    assert_eq!(eni.requester_id(), Some("bedrock-agentcore.amazonaws.com"));
    assert_eq!(eni.operator().and_then(|o| o.managed()), Some(false), "not a managed resource by default");
    let attached_at = eni.attachment().and_then(|a| a.attach_time()).unwrap().to_string();
    let one = [eni.network_interface_id().unwrap().to_string()];
    let ip = eni.private_ip_address().unwrap().to_string();
    for (name, value, expected) in [
        ("requester-id", "bedrock-agentcore.amazonaws.com", &one[..]),
        ("requester-id", "someone-else", &[]),
        ("requester-managed", "true", &one),
        ("operator.managed", "false", &one),
        ("operator.managed", "true", &[]),
        ("operator.principal", "*", &[]),
        ("addresses.primary", "true", &one),
        ("addresses.private-ip-address", ip.as_str(), &one),
        ("attachment.attach-time", "*", &one),
        ("attachment.instance-id", "*", &[]),
        ("association.public-ip", "*", &[]),
        ("association.allocation-id", "*", &[]),
        ("association.association-id", "*", &[]),
        ("association.ip-owner-id", "*", &[]),
        ("association.public-dns-name", "*", &[]),
        ("addresses.association.owner-id", "*", &[]),
        ("addresses.association.public-ip", "*", &[]),
        ("ipv6-addresses.ipv6-address", "*", &[]),
    ] {
        let found: Vec<String> = enis(&lab, &net.vpc, &[(name, value)])
            .await
            .iter()
            .filter_map(|n| n.network_interface_id().map(str::to_string))
            .collect();
        assert_eq!(found, expected, "{name}={value}");
    }
    assert!(!attached_at.is_empty());
}

#[tokio::test]
async fn hidden_managed_resources_show_only_when_included() {
    let config = Config { agentcore_eni_operator: Some("bedrock-agentcore.amazonaws.com".into()), ..manual_config() };
    let lab = Lab::start(config).await;
    let net = lab.network().await;
    lab.runtime("hidden", &net.subnets[..1], &net.security_groups).await;
    let visibility = lab.ec2.get_managed_resource_visibility().send().await.unwrap();
    assert_eq!(
        visibility.visibility().and_then(|v| v.default_visibility()),
        Some(&ManagedResourceDefaultVisibility::Visible)
    );
    let shown = enis(&lab, &net.vpc, &[("operator.managed", "true")]).await;
    assert_eq!(shown.len(), 1);
    let operator = shown[0].operator().unwrap();
    assert_eq!(operator.principal(), Some("bedrock-agentcore.amazonaws.com"));
    assert_eq!(operator.hidden_by_default(), Some(false));

    let changed = lab
        .ec2
        .modify_managed_resource_visibility()
        .default_visibility(ManagedResourceDefaultVisibility::Hidden)
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.visibility().and_then(|v| v.default_visibility()),
        Some(&ManagedResourceDefaultVisibility::Hidden)
    );
    assert!(enis(&lab, &net.vpc, &[]).await.is_empty(), "hidden by default");
    let included = lab
        .ec2
        .describe_network_interfaces()
        .filters(filter("vpc-id", [net.vpc.as_str()]))
        .include_managed_resources(true)
        .send()
        .await
        .unwrap();
    let included = included.network_interfaces();
    assert_eq!(included.len(), 1);
    assert_eq!(included[0].operator().and_then(|o| o.hidden_by_default()), Some(true));
    let err = lab
        .ec2
        .modify_managed_resource_visibility()
        .default_visibility(ManagedResourceDefaultVisibility::from("sometimes"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InvalidParameterValue");
}

/// An interface endpoint whose second subnet has no free address is refused, and its first subnet
/// gets no ENI: nothing is left behind.
#[tokio::test]
async fn an_interface_endpoint_refused_for_a_full_subnet_leaves_no_eni() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    // A /28: 16 addresses, 5 reserved, 11 usable, all taken.
    let full = lab.subnet(&net.vpc, "10.0.9.0/28", "use1-az2").await;
    for _ in 0..11 {
        lab.ec2.create_network_interface().subnet_id(&full).send().await.unwrap();
    }
    assert_eq!(free_ips(&lab, &full).await, 0);
    let err = interface_endpoint(&lab, &net.vpc, "com.amazonaws.us-east-1.sts")
        .subnet_ids(&net.subnets[0])
        .subnet_ids(&full)
        .private_dns_enabled(false)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "InsufficientFreeAddressesInSubnet");
    assert!(enis(&lab, &net.vpc, &[("subnet-id", &net.subnets[0])]).await.is_empty(), "no ENI left behind");
    assert!(lab.ec2.describe_vpc_endpoints().send().await.unwrap().vpc_endpoints().is_empty());
}
