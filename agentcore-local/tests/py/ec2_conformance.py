"""EC2 conformance scenario: the same boto3 calls against any EC2 endpoint, results normalised.

Usage: ec2_conformance.py http://127.0.0.1:PORT

Runs VPC / subnet / security-group / CreateNetworkInterface / DescribeNetworkInterfaces steps (filters,
pagination, AvailableIpAddressCount, DependencyViolation, deletes) and prints one JSON document:
{"steps": [{"step": NAME, "ok": PROJECTION} | {"step": NAME, "error": {"code", "message", "status"}}]}.

Normalisation, so two correct servers print the same document:
- resource ids become placeholders in creation order (`vpc#1`, `subnet#2`, `eni#3`), also inside error
  messages; ids the scenario did not create become `<vpc-id>` etc.;
- only the fields the scenario is about are kept (each server adds its own extras);
- values EC2 picks freely become checks: a private IP becomes whether it is a usable host address of
  its subnet, a MAC address whether it is well formed, an Availability Zone *name* (mapped to zone ids
  per account by real EC2) the zone id the server's own DescribeAvailabilityZones gives for it;
- list order EC2 does not define (Describe* results, group sets, tag sets) is sorted.
The comparison, and the documented places where moto is not real EC2, live in the Rust test.
"""

import ipaddress
import re

from botocore.exceptions import ClientError

from peers_common import client, emit, endpoint_from_argv

ID_PATTERN = re.compile(r"\b(vpc|subnet|sg|eni|eni-attach|ela-attach|rtb|acl|dopt|igw)-[0-9a-zA-Z]+\b")
MAC_PATTERN = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class Ids:
    """Real id → placeholder, numbered per kind in the order the scenario creates resources."""

    def __init__(self):
        self.placeholder = {}
        self.counts = {}

    def register(self, kind, real):
        if real not in self.placeholder:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.placeholder[real] = f"{kind}#{self.counts[kind]}"
        return real

    def norm(self, value):
        if isinstance(value, dict):
            return {k: self.norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.norm(v) for v in value]
        if isinstance(value, str):
            for real in sorted(self.placeholder, key=len, reverse=True):
                value = value.replace(real, self.placeholder[real])
            return ID_PATTERN.sub(lambda m: f"<{m.group(1)}-id>", value)
        return value


def main():
    endpoint = endpoint_from_argv()
    ec2 = client("ec2", endpoint)
    ids = Ids()
    steps = []
    subnet_cidrs = {}

    def step(name, call, project=lambda r: r, creates=None):
        """Runs one call and records its normalised outcome; `creates=(kind, get_id)` registers the
        id of the resource it made before normalising, so the result shows its placeholder."""
        try:
            response = call()
        except ClientError as e:
            err = e.response.get("Error", {})
            steps.append({
                "step": name,
                "error": {
                    "code": err.get("Code"),
                    "message": ids.norm(err.get("Message")),
                    "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                },
            })
            return None
        response.pop("ResponseMetadata", None)
        if creates:
            kind, get_id = creates
            ids.register(kind, get_id(response))
        steps.append({"step": name, "ok": ids.norm(project(response))})
        return response

    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    zone_id_of = {z["ZoneName"]: z["ZoneId"] for z in zones}
    steps.append({
        "step": "describe_availability_zones",
        "ok": {
            "region": sorted({z["RegionName"] for z in zones}),
            "zone_ids": sorted(zone_id_of.values()),
            "states": sorted({z["State"] for z in zones}),
        },
    })

    def zone(name):
        return {"zone_of_name": zone_id_of.get(name, f"unknown zone name {name!r}")}

    def subnet_view(s):
        return {
            "SubnetId": s["SubnetId"],
            "VpcId": s["VpcId"],
            "CidrBlock": s["CidrBlock"],
            "AvailabilityZone": zone(s["AvailabilityZone"]),
            "AvailabilityZoneId": s.get("AvailabilityZoneId"),
            "AvailableIpAddressCount": s["AvailableIpAddressCount"],
            "OwnerId": s.get("OwnerId"),
        }

    def usable_ip(subnet_id, ip):
        net = ipaddress.ip_network(subnet_cidrs[subnet_id])
        addr = ipaddress.ip_address(ip)
        # AWS reserves the first four addresses and the last one of every subnet.
        return addr in net and int(net.network_address) + 4 <= int(addr) <= int(net.broadcast_address) - 1

    def eni_view(n):
        ip = n.get("PrivateIpAddress", "")
        return {
            "NetworkInterfaceId": n["NetworkInterfaceId"],
            "SubnetId": n["SubnetId"],
            "VpcId": n["VpcId"],
            "AvailabilityZone": zone(n["AvailabilityZone"]),
            "Description": n.get("Description"),
            "Groups": sorted(({"GroupId": g["GroupId"], "GroupName": g["GroupName"]} for g in n["Groups"]),
                             key=lambda g: ids.norm(g["GroupId"])),
            "InterfaceType": n.get("InterfaceType"),
            "OwnerId": n.get("OwnerId"),
            "RequesterManaged": n.get("RequesterManaged"),
            "Status": n.get("Status"),
            "SourceDestCheck": n.get("SourceDestCheck"),
            "Attachment": n.get("Attachment"),
            "PrivateIpAddress": {"usable_in_subnet": usable_ip(n["SubnetId"], ip)},
            "PrivateIpAddresses": [
                {"Primary": a.get("Primary"), "same_as_PrivateIpAddress": a.get("PrivateIpAddress") == ip}
                for a in n.get("PrivateIpAddresses", [])
            ],
            "MacAddress": {"well_formed": bool(MAC_PATTERN.match(n.get("MacAddress", "")))},
            "TagSet": sorted(n.get("TagSet", []), key=lambda t: t["Key"]),
        }

    def eni_list(r):
        return sorted((eni_view(n) for n in r["NetworkInterfaces"]), key=lambda v: ids.norm(v["NetworkInterfaceId"]))

    # --- VPC and subnets -------------------------------------------------------------------------
    vpc = step(
        "create_vpc",
        lambda: ec2.create_vpc(CidrBlock="10.0.0.0/16"),
        # State is left out: real EC2 answers `pending` or `available` depending on timing.
        lambda r: {k: r["Vpc"].get(k) for k in ("VpcId", "CidrBlock", "IsDefault", "OwnerId", "InstanceTenancy")},
        creates=("vpc", lambda r: r["Vpc"]["VpcId"]),
    )
    vpc_id = vpc["Vpc"]["VpcId"]
    step(
        "describe_vpcs",
        lambda: ec2.describe_vpcs(VpcIds=[vpc_id]),
        lambda r: [{k: v.get(k) for k in ("VpcId", "CidrBlock", "State", "IsDefault", "OwnerId")} for v in r["Vpcs"]],
    )

    subnet_ids = []
    for cidr, zone_id in (("10.0.1.0/24", "use1-az1"), ("10.0.2.0/24", "use1-az2")):
        created = step(
            f"create_subnet {cidr} {zone_id}",
            lambda: ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZoneId=zone_id),
            lambda r: subnet_view(r["Subnet"]),
            creates=("subnet", lambda r: r["Subnet"]["SubnetId"]),
        )
        subnet_id = created["Subnet"]["SubnetId"]
        subnet_cidrs[subnet_id] = cidr
        subnet_ids.append(subnet_id)
    step(
        "create_subnet overlapping 10.0.1.128/25",
        lambda: ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.128/25", AvailabilityZoneId="use1-az1"),
        lambda r: subnet_view(r["Subnet"]),
    )
    step(
        "create_subnet outside the VPC 10.1.0.0/24",
        lambda: ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.1.0.0/24", AvailabilityZoneId="use1-az1"),
        lambda r: subnet_view(r["Subnet"]),
    )

    # --- security groups -------------------------------------------------------------------------
    group_ids = []
    for name in ("agents", "busy"):
        created = step(
            f"create_security_group {name}",
            lambda: ec2.create_security_group(GroupName=name, Description=f"{name} group", VpcId=vpc_id),
            lambda r: {"GroupId": r["GroupId"]},
            creates=("sg", lambda r: r["GroupId"]),
        )
        group_ids.append(created["GroupId"])
    agents_sg, busy_sg = group_ids
    step(
        "describe_security_groups",
        lambda: ec2.describe_security_groups(GroupIds=group_ids),
        lambda r: sorted(
            ({k: g.get(k) for k in ("GroupId", "GroupName", "Description", "VpcId", "OwnerId")}
             for g in r["SecurityGroups"]),
            key=lambda g: ids.norm(g["GroupId"]),
        ),
    )

    # --- network interfaces ----------------------------------------------------------------------
    layout = [
        (subnet_ids[0], [agents_sg], "one"),
        (subnet_ids[0], [agents_sg], "two"),
        (subnet_ids[1], [agents_sg], "three"),
        (subnet_ids[1], [agents_sg, busy_sg], "four"),
        (subnet_ids[0], [busy_sg], "five"),
        (subnet_ids[1], [agents_sg], "six"),
    ]
    eni_ids = []
    for subnet_id, groups, description in layout:
        tags = [{"ResourceType": "network-interface", "Tags": [{"Key": "lab", "Value": description}]}]
        created = step(
            f"create_network_interface {description}",
            lambda: ec2.create_network_interface(
                SubnetId=subnet_id, Groups=groups, Description=description, TagSpecifications=tags
            ),
            lambda r: eni_view(r["NetworkInterface"]),
            creates=("eni", lambda r: r["NetworkInterface"]["NetworkInterfaceId"]),
        )
        eni_ids.append(created["NetworkInterface"]["NetworkInterfaceId"])
    private_ips = [
        n["PrivateIpAddress"]
        for n in ec2.describe_network_interfaces(NetworkInterfaceIds=eni_ids)["NetworkInterfaces"]
    ]
    steps.append({"step": "private IPs are distinct", "ok": len(set(private_ips)) == len(eni_ids)})

    def describe(name, **kwargs):
        step(name, lambda: ec2.describe_network_interfaces(**kwargs), eni_list)

    def by(filter_name, *values):
        return [{"Name": filter_name, "Values": list(values)}]

    describe("describe_network_interfaces by id", NetworkInterfaceIds=[eni_ids[0], eni_ids[3]])
    describe("describe_network_interfaces subnet-id", Filters=by("subnet-id", subnet_ids[0]))
    describe("describe_network_interfaces group-id busy", Filters=by("group-id", busy_sg))
    describe("describe_network_interfaces group-id both values", Filters=by("group-id", agents_sg, busy_sg))
    describe("describe_network_interfaces vpc-id", Filters=by("vpc-id", vpc_id))
    describe(
        "describe_network_interfaces subnet-id AND group-id",
        Filters=by("subnet-id", subnet_ids[1]) + by("group-id", busy_sg),
    )
    describe("describe_network_interfaces tag:lab", Filters=by("tag:lab", "two", "five"))

    # Pagination: 6 ENIs, pages of at most 5 (EC2's minimum MaxResults).
    pages = []
    token = None
    for _ in range(5):
        kwargs = {"Filters": by("vpc-id", vpc_id), "MaxResults": 5}
        if token:
            kwargs["NextToken"] = token
        page = ec2.describe_network_interfaces(**kwargs)
        pages.append([ids.norm(n["NetworkInterfaceId"]) for n in page["NetworkInterfaces"]])
        token = page.get("NextToken")
        if not token:
            break
    seen = [eni for page in pages for eni in page]
    steps.append({
        "step": "describe_network_interfaces MaxResults=5 pages",
        "ok": {
            "page_sizes": [len(p) for p in pages],
            "all_once": sorted(seen) == sorted(ids.norm(e) for e in eni_ids),
        },
    })
    step(
        "describe_network_interfaces MaxResults with NetworkInterfaceIds",
        lambda: ec2.describe_network_interfaces(MaxResults=5, NetworkInterfaceIds=[eni_ids[0]]),
        eni_list,
    )

    def subnet_counts(r):
        return sorted(
            ({"SubnetId": s["SubnetId"], "AvailableIpAddressCount": s["AvailableIpAddressCount"]}
             for s in r["Subnets"]),
            key=lambda s: ids.norm(s["SubnetId"]),
        )

    step("describe_subnets with ENIs", lambda: ec2.describe_subnets(SubnetIds=subnet_ids), subnet_counts)

    # --- dependencies and deletes ----------------------------------------------------------------
    step("delete_security_group in use", lambda: ec2.delete_security_group(GroupId=busy_sg))
    step("delete_vpc with subnets", lambda: ec2.delete_vpc(VpcId=vpc_id))
    for eni_id in eni_ids:
        step(
            f"delete_network_interface {ids.norm(eni_id)}",
            lambda: ec2.delete_network_interface(NetworkInterfaceId=eni_id),
        )
    step(
        "delete_network_interface again",
        lambda: ec2.delete_network_interface(NetworkInterfaceId=eni_ids[0]),
    )
    describe("describe_network_interfaces vpc-id after deletes", Filters=by("vpc-id", vpc_id))
    step("describe_subnets after deletes", lambda: ec2.describe_subnets(SubnetIds=subnet_ids), subnet_counts)
    for group_id in group_ids:
        step(f"delete_security_group {ids.norm(group_id)}", lambda: ec2.delete_security_group(GroupId=group_id))
    for subnet_id in subnet_ids:
        step(f"delete_subnet {ids.norm(subnet_id)}", lambda: ec2.delete_subnet(SubnetId=subnet_id))
    step("delete_vpc", lambda: ec2.delete_vpc(VpcId=vpc_id))
    step("describe_vpcs after delete", lambda: ec2.describe_vpcs(VpcIds=[vpc_id]), lambda r: r["Vpcs"])

    emit({"steps": steps})


if __name__ == "__main__":
    main()
