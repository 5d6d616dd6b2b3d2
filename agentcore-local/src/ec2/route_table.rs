//! Route tables: CreateRouteTable, CreateRoute, DeleteRoute, AssociateRouteTable,
//! DisassociateRouteTable, DeleteRouteTable, DescribeRouteTables. Every VPC has a main table
//! ([`crate::state::RouteTable::main_of`]), made with it and deleted with it.

use super::context::{
    ASSOCIATION, INTERNET_GATEWAY, Op, ROUTE_TABLE, SUBNET, VPC, check_id, check_ids, dependency_violation, described,
    parse_cidr, return_true, sorted_by_seq, wanted_ids,
};
use super::query::{filters, matches, tag_specifications};
use super::xml;
use crate::error::AwsError;
use crate::ids;
use crate::state::{RegionState, Route, RouteTable, RouteTableAssociation, RouteTarget};

/// CreateRouteTable: a table with the VPC's `local` route and no association.
pub(super) fn create_route_table(op: &mut Op<'_>) -> Result<String, AwsError> {
    let vpc_id = op.params.required("VpcId")?.to_string();
    check_id(&VPC, &vpc_id, &op.region.vpcs)?;
    let tags = tag_specifications(op.params, "route-table")?;
    let cidr = op.region.vpcs[&vpc_id].cidr;
    let table = RouteTable {
        id: ids::ec2_id("rtb"),
        vpc_id,
        routes: vec![Route { destination: cidr, target: RouteTarget::Local }],
        associations: Vec::new(),
        tags,
        seq: op.region.next_seq(),
    };
    let out = xml::response("CreateRouteTable", op.request_id, |x| {
        x.node("routeTable", |x| xml::route_table(x, &table, op.region, op.account()))
    });
    op.region.route_tables.insert(table.id.clone(), table);
    Ok(out)
}

/// The route table a call names (`RouteTableId`), checked to exist.
fn named_table(op: &Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("RouteTableId")?.to_string();
    check_id(&ROUTE_TABLE, &id, &op.region.route_tables)?;
    Ok(id)
}

/// CreateRoute: an IPv4 route to an internet gateway (`GatewayId`) or a NAT gateway
/// (`NatGatewayId`) of the table's VPC; refused for an existing destination.
pub(super) fn create_route(op: &mut Op<'_>) -> Result<String, AwsError> {
    let table_id = named_table(op)?;
    let destination = parse_cidr(op.params.required("DestinationCidrBlock")?, "destinationCidrBlock")?;
    let target = route_target(op)?;
    let vpc_id = op.region.route_tables[&table_id].vpc_id.clone();
    check_same_network(op.region, &table_id, &vpc_id, &target)?;
    let table = op.region.route_tables.get_mut(&table_id).expect("checked");
    if table.routes.iter().any(|r| r.destination == destination) {
        return Err(AwsError::ec2(
            "RouteAlreadyExists",
            format!("The route identified by {destination} already exists."),
        ));
    }
    table.routes.push(Route { destination, target });
    Ok(return_true(op, "CreateRoute"))
}

/// The target of a CreateRoute: exactly one of `GatewayId` and `NatGatewayId`, which must exist (a
/// deleted NAT gateway does not).
fn route_target(op: &Op<'_>) -> Result<RouteTarget, AwsError> {
    match (op.params.get("GatewayId"), op.params.get("NatGatewayId")) {
        (Some(gateway), None) => {
            let exists = INTERNET_GATEWAY.check(gateway).is_ok() && op.region.internet_gateways.contains_key(gateway);
            if !exists {
                return Err(AwsError::ec2(
                    "InvalidGatewayID.NotFound",
                    format!("The gateway ID '{gateway}' does not exist"),
                ));
            }
            Ok(RouteTarget::InternetGateway(gateway.to_string()))
        }
        (None, Some(nat)) => {
            let live = op.region.nat_gateways.get(nat).is_some_and(|n| n.state.is_live());
            if !live {
                return Err(AwsError::ec2(
                    "InvalidNatGatewayID.NotFound",
                    format!("The natGateway ID '{nat}' does not exist"),
                ));
            }
            Ok(RouteTarget::NatGateway(nat.to_string()))
        }
        (None, None) => Err(AwsError::ec2(
            "InvalidParameterCombination",
            "The request must contain exactly one of gatewayId or natGatewayId",
        )),
        (Some(_), Some(_)) => Err(AwsError::ec2(
            "InvalidParameterCombination",
            "The parameter gatewayId cannot be used with the parameter natGatewayId",
        )),
    }
}

/// A route's gateway must belong to the table's VPC (an internet gateway: be attached to it).
fn check_same_network(
    region: &RegionState,
    table_id: &str,
    vpc_id: &str,
    target: &RouteTarget,
) -> Result<(), AwsError> {
    let (gateway_id, gateway_vpc) = match target {
        RouteTarget::Local => return Ok(()),
        RouteTarget::InternetGateway(id) => (id, region.internet_gateways[id].attached_vpc.as_deref()),
        RouteTarget::NatGateway(id) => (id, Some(region.nat_gateways[id].vpc_id.as_str())),
    };
    if gateway_vpc == Some(vpc_id) {
        return Ok(());
    }
    Err(AwsError::ec2(
        "InvalidParameterValue",
        format!("route table {table_id} and network gateway {gateway_id} belong to different networks"),
    ))
}

/// DeleteRoute: removes the route to `DestinationCidrBlock` (never the `local` route).
pub(super) fn delete_route(op: &mut Op<'_>) -> Result<String, AwsError> {
    let table_id = named_table(op)?;
    let text = op.params.required("DestinationCidrBlock")?;
    let destination = parse_cidr(text, "destinationCidrBlock")?;
    let table = op.region.route_tables.get_mut(&table_id).expect("checked");
    let Some(index) = table.routes.iter().position(|r| r.destination == destination) else {
        return Err(AwsError::ec2(
            "InvalidRoute.NotFound",
            format!("no route with destination-cidr-block {text} in route table {table_id}"),
        ));
    };
    if table.routes[index].target == RouteTarget::Local {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("cannot remove local route {text} in route table {table_id}"),
        ));
    }
    table.routes.remove(index);
    Ok(return_true(op, "DeleteRoute"))
}

/// AssociateRouteTable: a subnet of the table's VPC, not associated with another table.
pub(super) fn associate_route_table(op: &mut Op<'_>) -> Result<String, AwsError> {
    let table_id = named_table(op)?;
    let subnet_id = op.params.required("SubnetId")?.to_string();
    check_id(&SUBNET, &subnet_id, &op.region.subnets)?;
    if op.region.subnets[&subnet_id].vpc_id != op.region.route_tables[&table_id].vpc_id {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("Route table {table_id} and subnet {subnet_id} belong to different networks"),
        ));
    }
    let associated = op.region.route_tables.values().find_map(|t| {
        t.associations.iter().find(|a| a.subnet_id.as_deref() == Some(subnet_id.as_str())).map(|a| (t, a))
    });
    if let Some((table, association)) = associated {
        return Err(AwsError::ec2(
            "Resource.AlreadyAssociated",
            format!(
                "the specified association for route table {} conflicts with an existing association {}",
                table.id, association.id
            ),
        ));
    }
    let association = RouteTableAssociation { id: ids::ec2_id("rtbassoc"), subnet_id: Some(subnet_id) };
    let out = xml::response("AssociateRouteTable", op.request_id, |x| {
        x.leaf("associationId", &association.id);
        x.node("associationState", |x| x.leaf("state", "associated"));
    });
    op.region.route_tables.get_mut(&table_id).expect("checked").associations.push(association);
    Ok(out)
}

/// DisassociateRouteTable: a subnet association (the main association cannot be removed).
pub(super) fn disassociate_route_table(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = op.params.required("AssociationId")?.to_string();
    ASSOCIATION.check(&id)?;
    let table = op
        .region
        .route_tables
        .values_mut()
        .find(|t| t.associations.iter().any(|a| a.id == id))
        .ok_or_else(|| ASSOCIATION.not_found(&id))?;
    if table.associations.iter().any(|a| a.id == id && a.subnet_id.is_none()) {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("cannot disassociate the main route table association {id}"),
        ));
    }
    table.associations.retain(|a| a.id != id);
    Ok(return_true(op, "DisassociateRouteTable"))
}

/// DeleteRouteTable: refused for a VPC's main table and while subnets are associated.
pub(super) fn delete_route_table(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = named_table(op)?;
    if !op.region.route_tables[&id].associations.is_empty() {
        return Err(dependency_violation("routeTable", &id));
    }
    op.region.route_tables.remove(&id);
    // A gateway endpoint's route goes with the table.
    for endpoint in op.region.vpc_endpoints.values_mut() {
        endpoint.route_table_ids.retain(|t| t != &id);
    }
    Ok(return_true(op, "DeleteRouteTable"))
}

/// Filters `DescribeRouteTables` accepts.
const ROUTE_TABLE_FILTERS: &[&str] = &[
    "route-table-id",
    "vpc-id",
    "owner-id",
    "association.route-table-association-id",
    "association.route-table-id",
    "association.subnet-id",
    "association.main",
    "route.destination-cidr-block",
    "route.gateway-id",
    "route.nat-gateway-id",
    "route.origin",
    "route.state",
];

/// The values of filter `name` for `table`.
fn route_table_field(table: &RouteTable, region: &RegionState, account: &str, name: &str) -> Vec<String> {
    let associations = table.associations.iter();
    let routes = table.routes.iter();
    match name {
        "route-table-id" | "association.route-table-id" => vec![table.id.clone()],
        "vpc-id" => vec![table.vpc_id.clone()],
        "owner-id" => vec![account.to_string()],
        "association.route-table-association-id" => associations.map(|a| a.id.clone()).collect(),
        "association.subnet-id" => associations.filter_map(|a| a.subnet_id.clone()).collect(),
        "association.main" => associations.map(|a| a.subnet_id.is_none().to_string()).collect(),
        "route.destination-cidr-block" => routes.map(|r| r.destination.to_string()).collect(),
        "route.gateway-id" => routes
            .filter_map(|r| match &r.target {
                RouteTarget::Local => Some("local".to_string()),
                RouteTarget::InternetGateway(id) => Some(id.clone()),
                RouteTarget::NatGateway(_) => None,
            })
            .collect(),
        "route.nat-gateway-id" => routes
            .filter_map(|r| match &r.target {
                RouteTarget::NatGateway(id) => Some(id.clone()),
                _ => None,
            })
            .collect(),
        "route.origin" => routes
            .map(|r| if r.target == RouteTarget::Local { "CreateRouteTable" } else { "CreateRoute" }.to_string())
            .collect(),
        "route.state" => routes.map(|r| xml::route_state(region, table, &r.target).to_string()).collect(),
        _ => vec![],
    }
}

/// DescribeRouteTables.
pub(super) fn describe_route_tables(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, wanted_set) = wanted_ids(op.params, "RouteTableId")?;
    check_ids(&ROUTE_TABLE, &wanted, &op.region.route_tables)?;
    let filters = filters(op.params, ROUTE_TABLE_FILTERS)?;
    let account = op.account();
    let region = &*op.region;
    let items: Vec<&RouteTable> = sorted_by_seq(region.route_tables.values(), |t| t.seq)
        .into_iter()
        .filter(|t| wanted_set.is_empty() || wanted_set.contains(&t.id))
        .filter(|t| matches(&filters, &t.tags, |name| route_table_field(t, region, account, name)))
        .collect();
    described(op, "DescribeRouteTables", "routeTableSet", items, |x, t| xml::route_table(x, t, region, account))
}
