//! EC2 XML, written with `quick-xml` (text is escaped by the writer).
//!
//! Element names follow the SDK deserializers (`aws-sdk-ec2` `src/protocol_serde/shape_*.rs`):
//! responses are `<OpResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` with a
//! `<requestId>`, lists are `<xxxSet><item>…</item></xxxSet>`.

use std::collections::BTreeMap;
use std::fmt::Display;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::catalog::Zone;
use crate::eni;
use crate::ids;
use crate::state::{
    Address, InternetGateway, NatGateway, NatGatewayState, NetworkInterface, RegionState, RouteTable, RouteTarget,
    RulePeer, RulePermission, SecurityGroup, SecurityGroupRule, Subnet, Vpc, VpcEndpoint, VpcEndpointType,
};

/// The EC2 API namespace.
pub const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// A small element builder over a quick-xml writer.
pub struct Xml {
    writer: Writer<Vec<u8>>,
}

impl Xml {
    fn new() -> Self {
        let mut writer = Writer::new(Vec::new());
        writer
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .expect("writing to a Vec cannot fail");
        Self { writer }
    }

    fn finish(self) -> String {
        String::from_utf8(self.writer.into_inner()).expect("the writer emits UTF-8")
    }

    fn start(&mut self, start: BytesStart<'_>) {
        self.writer.write_event(Event::Start(start)).expect("writing to a Vec cannot fail");
    }

    fn end(&mut self, tag: &str) {
        self.writer.write_event(Event::End(BytesEnd::new(tag))).expect("writing to a Vec cannot fail");
    }

    /// `<tag>text</tag>`.
    pub fn leaf(&mut self, tag: &str, text: impl Display) {
        self.start(BytesStart::new(tag));
        let text = text.to_string();
        if !text.is_empty() {
            self.writer.write_event(Event::Text(BytesText::new(&text))).expect("writing to a Vec cannot fail");
        }
        self.end(tag);
    }

    /// `<tag>` … `</tag>` around whatever `inner` writes.
    pub fn node(&mut self, tag: &str, inner: impl FnOnce(&mut Xml)) {
        self.start(BytesStart::new(tag));
        inner(self);
        self.end(tag);
    }

    /// `<tag><item>value</item>…</tag>`: a list of strings (the model's `ValueStringList`).
    pub fn values<T: Display>(&mut self, tag: &str, items: impl IntoIterator<Item = T>) {
        self.set(tag, items, |x, value| {
            let text = value.to_string();
            if !text.is_empty() {
                x.writer.write_event(Event::Text(BytesText::new(&text))).expect("writing to a Vec cannot fail");
            }
        });
    }

    /// `<tag><item>…</item>…</tag>`, one item per element of `items`.
    pub fn set<T>(&mut self, tag: &str, items: impl IntoIterator<Item = T>, mut each: impl FnMut(&mut Xml, T)) {
        self.node(tag, |x| {
            for item in items {
                x.node("item", |x| each(x, item));
            }
        });
    }
}

/// A whole `<{action}Response>` document.
pub fn response(action: &str, request_id: &str, body: impl FnOnce(&mut Xml)) -> String {
    let mut x = Xml::new();
    let root = format!("{action}Response");
    let mut start = BytesStart::new(root.as_str());
    start.push_attribute(("xmlns", NAMESPACE));
    x.start(start);
    x.leaf("requestId", request_id);
    body(&mut x);
    x.end(&root);
    x.finish()
}

/// The EC2 error document (note `RequestID`, not `requestId`).
pub fn error_document(code: &str, message: &str, request_id: &str) -> String {
    let mut x = Xml::new();
    x.node("Response", |x| {
        x.node("Errors", |x| {
            x.node("Error", |x| {
                x.leaf("Code", code);
                x.leaf("Message", message);
            });
        });
        x.leaf("RequestID", request_id);
    });
    x.finish()
}

pub fn tag_set(x: &mut Xml, tags: &BTreeMap<String, String>) {
    x.set("tagSet", tags, |x, (k, v)| {
        x.leaf("key", k);
        x.leaf("value", v);
    });
}

/// The fields of one VPC (inside `<vpc>` or an `<item>`).
pub fn vpc(x: &mut Xml, vpc: &Vpc, region: &RegionState, account: &str, state: &str) {
    x.leaf("vpcId", &vpc.id);
    x.leaf("ownerId", account);
    x.leaf("state", state);
    x.leaf("cidrBlock", vpc.cidr);
    x.set("cidrBlockAssociationSet", [vpc], |x, v| {
        x.leaf("cidrBlock", v.cidr);
        x.leaf("associationId", &v.cidr_association_id);
        x.node("cidrBlockState", |x| x.leaf("state", "associated"));
    });
    x.set("ipv6CidrBlockAssociationSet", std::iter::empty::<()>(), |_, _| {});
    x.leaf("dhcpOptionsId", &region.dhcp_options_id);
    x.leaf("instanceTenancy", "default");
    x.leaf("isDefault", vpc.is_default);
    tag_set(x, &vpc.tags);
}

/// The fields of one subnet.
pub fn subnet(x: &mut Xml, subnet: &Subnet, region: &RegionState, account: &str) {
    x.leaf("subnetId", &subnet.id);
    x.leaf("subnetArn", format!("arn:aws:ec2:{}:{account}:subnet/{}", region.name, subnet.id));
    x.leaf("state", "available");
    x.leaf("ownerId", account);
    x.leaf("vpcId", &subnet.vpc_id);
    x.leaf("cidrBlock", subnet.cidr);
    x.set("ipv6CidrBlockAssociationSet", std::iter::empty::<()>(), |_, _| {});
    x.leaf("availableIpAddressCount", eni::available_ip_count(region, subnet));
    x.leaf("availabilityZone", subnet.zone.name);
    x.leaf("availabilityZoneId", subnet.zone.id);
    x.leaf("defaultForAz", subnet.default_for_az);
    x.leaf("mapPublicIpOnLaunch", subnet.default_for_az);
    x.leaf("assignIpv6AddressOnCreation", false);
    tag_set(x, &subnet.tags);
}

/// The fields of one security group: its rules folded into `ipPermissions` and
/// `ipPermissionsEgress`, one permission per protocol and port range (in the order each first
/// appeared), as EC2 shows them.
pub fn security_group(x: &mut Xml, group: &SecurityGroup, region: &RegionState, account: &str) {
    x.leaf("ownerId", account);
    x.leaf("groupId", &group.id);
    x.leaf("groupName", &group.name);
    x.leaf("groupDescription", &group.description);
    x.leaf("vpcId", &group.vpc_id);
    x.leaf("securityGroupArn", format!("arn:aws:ec2:{}:{account}:security-group/{}", region.name, group.id));
    for (set, egress) in [("ipPermissions", false), ("ipPermissionsEgress", true)] {
        let mut permissions: Vec<(&RulePermission, Vec<&SecurityGroupRule>)> = Vec::new();
        for rule in group.rules.iter().filter(|r| r.egress == egress) {
            match permissions.iter_mut().find(|(p, _)| **p == rule.permission) {
                Some((_, rules)) => rules.push(rule),
                None => permissions.push((&rule.permission, vec![rule])),
            }
        }
        x.set(set, permissions, |x, (permission, rules)| {
            x.leaf("ipProtocol", &permission.protocol);
            if let Some((from, to)) = permission.ports {
                x.leaf("fromPort", from);
                x.leaf("toPort", to);
            }
            let peers =
                |want_groups: bool| rules.iter().filter(move |r| matches!(r.peer, RulePeer::Group(_)) == want_groups);
            x.set("groups", peers(true), |x, rule| {
                if let Some(description) = &rule.description {
                    x.leaf("description", description);
                }
                x.leaf("userId", account);
                if let RulePeer::Group(id) = &rule.peer {
                    x.leaf("groupId", id);
                }
            });
            x.set("ipRanges", peers(false), |x, rule| {
                if let Some(description) = &rule.description {
                    x.leaf("description", description);
                }
                if let RulePeer::Cidr(cidr) = &rule.peer {
                    x.leaf("cidrIp", cidr);
                }
            });
            x.set("ipv6Ranges", std::iter::empty::<()>(), |_, _| {});
            x.set("prefixListIds", std::iter::empty::<()>(), |_, _| {});
        });
    }
    tag_set(x, &group.tags);
}

/// A rule's `ipProtocol`, `fromPort` and `toPort` (-1 for both when the protocol has no ports).
pub fn rule_fields(x: &mut Xml, rule: &SecurityGroupRule) {
    x.leaf("ipProtocol", &rule.permission.protocol);
    let (from, to) = rule.permission.ports.unwrap_or((-1, -1));
    x.leaf("fromPort", from);
    x.leaf("toPort", to);
}

/// The fields of one security group rule of the group `group_id`.
pub fn security_group_rule(x: &mut Xml, rule: &SecurityGroupRule, group_id: &str, region: &str, account: &str) {
    x.leaf("securityGroupRuleId", &rule.id);
    x.leaf("groupId", group_id);
    x.leaf("groupOwnerId", account);
    x.leaf("isEgress", rule.egress);
    rule_fields(x, rule);
    match &rule.peer {
        RulePeer::Cidr(cidr) => x.leaf("cidrIpv4", cidr),
        RulePeer::Group(id) => x.node("referencedGroupInfo", |x| {
            x.leaf("groupId", id);
            x.leaf("userId", account);
        }),
    }
    if let Some(description) = &rule.description {
        x.leaf("description", description);
    }
    tag_set(x, &BTreeMap::new());
    x.leaf("securityGroupRuleArn", format!("arn:aws:ec2:{region}:{account}:security-group-rule/{}", rule.id));
}

/// The private DNS name EC2 gives an address in `region`.
pub fn private_dns_name(region: &str, ip: std::net::Ipv4Addr) -> String {
    let dashed = ip.to_string().replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

/// The fields of one network interface; `status` overrides the described status (CreateNetworkInterface
/// answers `pending`); `operator` is the principal of a managed ENI (`operator.managed`), whose
/// `hiddenByDefault` follows the region's managed resource visibility.
pub fn network_interface(
    x: &mut Xml,
    eni: &NetworkInterface,
    region: &RegionState,
    account: &str,
    status: Option<&str>,
    operator: Option<&str>,
) {
    let dns = private_dns_name(&region.name, eni.private_ip);
    x.leaf("networkInterfaceId", &eni.id);
    x.leaf("subnetId", &eni.subnet_id);
    x.leaf("vpcId", &eni.vpc_id);
    x.leaf("availabilityZone", eni.zone.name);
    x.leaf("availabilityZoneId", eni.zone.id);
    x.leaf("description", &eni.description);
    x.leaf("ownerId", account);
    if let Some(requester) = eni.requester_id() {
        x.leaf("requesterId", requester);
    }
    x.leaf("requesterManaged", eni.requester_managed());
    x.leaf("status", status.unwrap_or(eni.status()));
    x.leaf("macAddress", &eni.mac);
    x.leaf("privateIpAddress", eni.private_ip);
    x.leaf("privateDnsName", &dns);
    x.leaf("sourceDestCheck", true);
    x.set("groupSet", &eni.groups, |x, id| {
        x.leaf("groupId", id);
        let name = region.security_groups.get(id).map_or("", |g| g.name.as_str());
        x.leaf("groupName", name);
    });
    if let Some(attachment_id) = eni.attachment_id() {
        x.node("attachment", |x| {
            x.leaf("attachmentId", attachment_id);
            x.leaf("deviceIndex", 1);
            x.leaf("networkCardIndex", 0);
            x.leaf("instanceOwnerId", "amazon-aws");
            x.leaf("status", "attached");
            x.leaf("attachTime", ids::iso8601(eni.created_at));
            x.leaf("deleteOnTermination", false);
        });
    }
    x.set("privateIpAddressesSet", [()], |x, ()| {
        x.leaf("privateIpAddress", eni.private_ip);
        x.leaf("privateDnsName", &dns);
        x.leaf("primary", true);
    });
    x.set("ipv6AddressesSet", std::iter::empty::<()>(), |_, _| {});
    x.leaf("interfaceType", eni.interface_type());
    tag_set(x, &eni.tags);
    x.node("operator", |x| {
        x.leaf("managed", operator.is_some());
        if let Some(principal) = operator {
            x.leaf("principal", principal);
            x.leaf("hiddenByDefault", region.managed_resources_hidden);
        }
    });
}

/// The fields of one internet gateway. An attached gateway's attachment state is `available`, as
/// EC2 shows it (a value outside the model's `AttachmentStatus` enum).
pub fn internet_gateway(x: &mut Xml, gateway: &InternetGateway, account: &str) {
    x.set("attachmentSet", &gateway.attached_vpc, |x, vpc| {
        x.leaf("vpcId", vpc);
        x.leaf("state", "available");
    });
    x.leaf("internetGatewayId", &gateway.id);
    x.leaf("ownerId", account);
    tag_set(x, &gateway.tags);
}

/// The state of a route: `blackhole` once its gateway is gone (an internet gateway detached from
/// the table's VPC or deleted, a NAT gateway deleting or deleted), else `active`.
pub fn route_state(region: &RegionState, table: &RouteTable, target: &RouteTarget) -> &'static str {
    let active = match target {
        RouteTarget::Local => true,
        RouteTarget::InternetGateway(id) => {
            region.internet_gateways.get(id).is_some_and(|g| g.attached_vpc.as_deref() == Some(&table.vpc_id))
        }
        RouteTarget::NatGateway(id) => region
            .nat_gateways
            .get(id)
            .is_some_and(|n| matches!(n.state, NatGatewayState::Pending | NatGatewayState::Available)),
    };
    if active { "active" } else { "blackhole" }
}

/// The fields of one route table.
pub fn route_table(x: &mut Xml, table: &RouteTable, region: &RegionState, account: &str) {
    x.leaf("routeTableId", &table.id);
    x.leaf("vpcId", &table.vpc_id);
    x.leaf("ownerId", account);
    // The table's own routes, then a gateway endpoint's route to its service's prefix list.
    let endpoints = region.vpc_endpoints.values().filter(|e| e.route_table_ids.contains(&table.id));
    let routes = table.routes.iter().map(Ok).chain(endpoints.map(Err));
    x.set("routeSet", routes, |x, route| match route {
        Ok(route) => {
            x.leaf("destinationCidrBlock", route.destination);
            match &route.target {
                RouteTarget::Local => x.leaf("gatewayId", "local"),
                RouteTarget::InternetGateway(id) => x.leaf("gatewayId", id),
                RouteTarget::NatGateway(id) => x.leaf("natGatewayId", id),
            }
            x.leaf("state", route_state(region, table, &route.target));
            x.leaf("origin", if route.target == RouteTarget::Local { "CreateRouteTable" } else { "CreateRoute" });
        }
        Err(endpoint) => {
            x.leaf("destinationPrefixListId", endpoint.prefix_list_id());
            x.leaf("gatewayId", &endpoint.id);
            x.leaf("state", "active");
            x.leaf("origin", "CreateRoute");
        }
    });
    x.set("associationSet", &table.associations, |x, association| {
        x.leaf("routeTableAssociationId", &association.id);
        x.leaf("routeTableId", &table.id);
        if let Some(subnet) = &association.subnet_id {
            x.leaf("subnetId", subnet);
        }
        x.leaf("main", association.subnet_id.is_none());
        x.node("associationState", |x| x.leaf("state", "associated"));
    });
    x.set("propagatingVgwSet", std::iter::empty::<()>(), |_, _| {});
    tag_set(x, &table.tags);
}

/// The fields of one Elastic IP address (a NAT gateway's shows the association).
pub fn address(x: &mut Xml, address: &Address, region: &RegionState) {
    x.leaf("publicIp", address.public_ip);
    x.leaf("allocationId", &address.allocation_id);
    x.leaf("domain", "vpc");
    if let Some(association) = &address.association_id {
        x.leaf("associationId", association);
    }
    x.leaf("publicIpv4Pool", "amazon");
    x.leaf("networkBorderGroup", &region.name);
    tag_set(x, &address.tags);
}

/// The fields of one VPC endpoint. An interface endpoint's DNS entries are made up the way AWS
/// makes them (`<id>-<suffix>.<service>.<region>.vpce.amazonaws.com`, one regional and one per
/// zone).
pub fn vpc_endpoint(x: &mut Xml, endpoint: &VpcEndpoint, region: &RegionState, account: &str) {
    x.leaf("vpcEndpointId", &endpoint.id);
    x.leaf("vpcEndpointType", endpoint.endpoint_type.as_str());
    x.leaf("vpcId", &endpoint.vpc_id);
    x.leaf("serviceName", &endpoint.service_name);
    x.leaf("state", endpoint.state.as_str());
    x.leaf("policyDocument", &endpoint.policy_document);
    x.values("routeTableIdSet", &endpoint.route_table_ids);
    x.values("subnetIdSet", &endpoint.subnet_ids);
    x.set("groupSet", &endpoint.group_ids, |x, id| {
        x.leaf("groupId", id);
        x.leaf("groupName", region.security_groups.get(id).map_or("", |g| g.name.as_str()));
    });
    x.leaf("ipAddressType", "ipv4");
    let interface = endpoint.endpoint_type == VpcEndpointType::Interface;
    if interface {
        x.node("dnsOptions", |x| x.leaf("dnsRecordIpType", "ipv4"));
    }
    x.leaf("privateDnsEnabled", endpoint.private_dns_enabled);
    x.leaf("requesterManaged", false);
    let enis = region.network_interfaces.values().filter(|n| n.service_resource() == Some(endpoint.id.as_str()));
    x.values("networkInterfaceIdSet", enis.map(|n| &n.id));
    let short = endpoint.service_name.rsplit_once(&format!("{}.", region.name)).map_or("", |(_, s)| s).to_string();
    let dns: Vec<String> = if interface && endpoint.is_live() {
        let suffix = &endpoint.prefix_list_id()[3..];
        let base = format!("{short}.{}.vpce.amazonaws.com", region.name);
        let zonal = endpoint
            .subnet_ids
            .iter()
            .filter_map(|s| region.subnets.get(s))
            .map(|s| format!("{}-{suffix}-{}.{base}", endpoint.id, s.zone.name));
        std::iter::once(format!("{}-{suffix}.{base}", endpoint.id))
            .chain(zonal)
            .chain(endpoint.private_dns_enabled.then(|| format!("{short}.{}.amazonaws.com", region.name)))
            .collect()
    } else {
        Vec::new()
    };
    x.set("dnsEntrySet", &dns, |x, name| {
        x.leaf("dnsName", name);
        x.leaf("hostedZoneId", "Z7HUB22UULQXV");
    });
    x.leaf("creationTimestamp", ids::iso8601(endpoint.created_at));
    tag_set(x, &endpoint.tags);
    x.leaf("ownerId", account);
}

/// The fields of one NAT gateway.
pub fn nat_gateway(x: &mut Xml, nat: &NatGateway, region: &RegionState) {
    x.leaf("createTime", ids::iso8601(nat.created_at));
    if let Some(deleted) = nat.deleted_at {
        x.leaf("deleteTime", ids::iso8601(deleted));
    }
    if let Some((code, message)) = &nat.failure {
        x.leaf("failureCode", code);
        x.leaf("failureMessage", message);
    }
    x.set("natGatewayAddressSet", [nat], |x, nat| {
        x.leaf("allocationId", &nat.allocation_id);
        x.leaf("publicIp", nat.public_ip);
        let association = region.addresses.get(&nat.allocation_id).and_then(|a| a.association_id.as_ref());
        if let Some(association) = association.filter(|_| nat.state.is_live()) {
            x.leaf("associationId", association);
        }
        x.leaf("isPrimary", true);
        let eni = region.network_interfaces.values().find(|n| n.service_resource() == Some(nat.id.as_str()));
        if let Some(eni) = eni {
            x.leaf("networkInterfaceId", &eni.id);
            x.leaf("privateIp", eni.private_ip);
        }
        let status = match nat.state {
            NatGatewayState::Pending => Some("associating"),
            NatGatewayState::Available => Some("succeeded"),
            NatGatewayState::Deleting => Some("disassociating"),
            NatGatewayState::Failed => Some("failed"),
            NatGatewayState::Deleted => None,
        };
        if let Some(status) = status {
            x.leaf("status", status);
        }
    });
    x.leaf("natGatewayId", &nat.id);
    x.leaf("state", nat.state.as_str());
    x.leaf("subnetId", &nat.subnet_id);
    x.leaf("vpcId", &nat.vpc_id);
    x.leaf("connectivityType", "public");
    tag_set(x, &nat.tags);
}

/// The fields of one Availability Zone.
pub fn availability_zone(x: &mut Xml, zone: &Zone, region: &str) {
    x.leaf("zoneName", zone.name);
    x.leaf("zoneState", "available");
    x.leaf("regionName", region);
    x.leaf("zoneId", zone.id);
    x.leaf("groupName", format!("{region}-zg-1"));
    x.leaf("networkBorderGroup", region);
    x.leaf("optInStatus", "opt-in-not-required");
    x.leaf("zoneType", "availability-zone");
    x.set("messageSet", std::iter::empty::<()>(), |_, _| {});
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_names_the_root_after_the_action() {
        let doc = response("CreateTags", "req-1", |x| x.leaf("return", "a<b&c"));
        assert!(doc.contains(
            r#"<CreateTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId><return>a&lt;b&amp;c</return></CreateTagsResponse>"#
        ), "{doc}");
        let err = error_document("DependencyViolation", "resource sg-1 has a dependent object", "r");
        assert!(err.ends_with(
            "<Response><Errors><Error><Code>DependencyViolation</Code><Message>resource sg-1 has a dependent object</Message></Error></Errors><RequestID>r</RequestID></Response>"
        ), "{err}");
    }

    #[test]
    fn private_dns_names_follow_the_region() {
        let ip = "10.0.1.4".parse().unwrap();
        assert_eq!(private_dns_name("us-east-1", ip), "ip-10-0-1-4.ec2.internal");
        assert_eq!(private_dns_name("ap-northeast-1", ip), "ip-10-0-1-4.ap-northeast-1.compute.internal");
    }
}
