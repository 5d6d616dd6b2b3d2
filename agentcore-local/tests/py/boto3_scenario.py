"""boto3 against agentcore-local: VPC, two subnets, a security group, three VPC-mode runtimes, their ENIs.

Usage: boto3_scenario.py http://127.0.0.1:PORT

Asserts as it goes (a failed assertion exits non-zero with the reason) and prints a JSON summary the
Rust test checks again: the runtimes' final statuses and the ENIs DescribeNetworkInterfaces lists for
the security group.
"""

import re

from botocore.exceptions import ClientError

from peers_common import client, emit, endpoint_from_argv, wait_until

CONTAINER_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest"
ROLE_ARN = "arn:aws:iam::123456789012:role/AgentRole"
ACCOUNT = "123456789012"


def error_code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("expected an error, the call succeeded")


def main():
    endpoint = endpoint_from_argv()
    ec2 = client("ec2", endpoint)
    control = client("bedrock-agentcore-control", endpoint)

    zones = {z["ZoneId"]: z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    assert {"use1-az1", "use1-az2"} <= zones.keys(), f"AgentCore-supported zones missing: {zones}"

    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = []
    for cidr, zone_id in (("10.0.1.0/24", "use1-az1"), ("10.0.2.0/24", "use1-az2")):
        subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zones[zone_id])["Subnet"]
        assert subnet["AvailabilityZoneId"] == zone_id, subnet
        subnets.append(subnet["SubnetId"])
    sg = ec2.create_security_group(GroupName="agents", Description="AgentCore runtimes", VpcId=vpc_id)["GroupId"]

    runtime_ids = []
    for i in range(3):
        name = f"boto3_agent_{i}"
        created = control.create_agent_runtime(
            agentRuntimeName=name,
            agentRuntimeArtifact={"containerConfiguration": {"containerUri": CONTAINER_URI}},
            roleArn=ROLE_ARN,
            networkConfiguration={
                "networkMode": "VPC",
                "networkModeConfig": {"subnets": subnets, "securityGroups": [sg]},
            },
            protocolConfiguration={"serverProtocol": "HTTP"},
        )
        assert created["status"] == "CREATING", created
        assert re.fullmatch(rf"{name}-[a-zA-Z0-9]{{10}}", created["agentRuntimeId"]), created
        assert created["agentRuntimeArn"] == (
            f"arn:aws:bedrock-agentcore:us-east-1:{ACCOUNT}:runtime/{created['agentRuntimeId']}"
        ), created
        assert created["agentRuntimeVersion"] == "1", created
        runtime_ids.append(created["agentRuntimeId"])

    statuses = {}
    for runtime_id in runtime_ids:
        got = wait_until(
            f"{runtime_id} READY",
            lambda: (lambda r: r if r["status"] == "READY" else None)(
                control.get_agent_runtime(agentRuntimeId=runtime_id)
            ),
        )
        network = got["networkConfiguration"]
        assert network["networkMode"] == "VPC", got
        assert sorted(network["networkModeConfig"]["subnets"]) == sorted(subnets), got
        assert network["networkModeConfig"]["securityGroups"] == [sg], got
        statuses[runtime_id] = got["status"]

    listed = [
        r["agentRuntimeId"]
        for page in control.get_paginator("list_agent_runtimes").paginate(PaginationConfig={"PageSize": 2})
        for r in page["agentRuntimes"]
    ]
    assert sorted(listed) == sorted(runtime_ids), f"ListAgentRuntimes (pages of 2): {listed}"

    # The ENIs come about 27 s (service time) after the runtimes asked for them, maybe after READY.
    enis = wait_until(
        "the runtimes' ENIs",
        lambda: ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": [sg]}])["NetworkInterfaces"],
    )
    summary_enis = []
    for eni in enis:
        attachment = eni.get("Attachment", {})
        summary_enis.append({
            "SubnetIndex": subnets.index(eni["SubnetId"]),
            "VpcMatches": eni["VpcId"] == vpc_id,
            "InterfaceType": eni["InterfaceType"],
            "Status": eni["Status"],
            "RequesterManaged": eni["RequesterManaged"],
            "Groups": [g["GroupId"] == sg for g in eni["Groups"]],
            "ManagedTag": {t["Key"]: t["Value"] for t in eni.get("TagSet", [])}.get("AmazonBedrockAgentCoreManaged"),
            "AttachmentOwner": attachment.get("InstanceOwnerId"),
            "AttachmentDeviceIndex": attachment.get("DeviceIndex"),
            "AttachmentIdPrefix": attachment.get("AttachmentId", "")[: len("ela-attach-")],
        })
    summary_enis.sort(key=lambda e: e["SubnetIndex"])
    assert len(enis) == 2, f"3 runtimes on 2 subnets with 1 SG share 2 ENIs, got {len(enis)}: {enis}"
    for eni in summary_enis:
        assert eni["InterfaceType"] == "agentic_ai" and eni["Status"] == "in-use", eni

    # The ENIs keep the security group in use.
    sg_delete = error_code(lambda: ec2.delete_security_group(GroupId=sg))

    for runtime_id in runtime_ids:
        deleted = control.delete_agent_runtime(agentRuntimeId=runtime_id)
        assert deleted["status"] == "DELETING", deleted

    def gone(runtime_id):
        try:
            control.get_agent_runtime(agentRuntimeId=runtime_id)
            return False
        except control.exceptions.ResourceNotFoundException:
            return True

    for runtime_id in runtime_ids:
        wait_until(f"{runtime_id} deleted", lambda: gone(runtime_id))
    # AgentCore ENIs linger after their last runtime (up to 8 h; the test runs the clock 20x, not 28,800x).
    lingering = ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": [sg]}])["NetworkInterfaces"]

    emit({
        "runtime_statuses": sorted(statuses.values()),
        "listed_runtimes": len(listed),
        "enis": summary_enis,
        "delete_security_group_while_enis_exist": sg_delete,
        "enis_after_runtimes_deleted": len(lingering),
    })


if __name__ == "__main__":
    main()
