"""The AWS CLI against agentcore-local: the same VPC / subnets / SG / runtimes / ENIs story, via `aws`.

Usage: cli_scenario.py http://127.0.0.1:PORT

Every call is a separate `aws ... --endpoint-url URL --output json` process (the `aws` next to this
interpreter, i.e. the test venv's AWS CLI v1). Asserts as it goes and prints a JSON summary.
"""

import json
import os
import subprocess
import sys
import time

from peers_common import emit, endpoint_from_argv

CONTAINER_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest"
ROLE_ARN = "arn:aws:iam::123456789012:role/AgentRole"
AWS = os.path.join(os.path.dirname(sys.executable), "aws")


def main():
    endpoint = endpoint_from_argv()

    def aws(*args, expect_error=None):
        command = [AWS, *args, "--endpoint-url", endpoint, "--output", "json",
                   "--cli-connect-timeout", "5", "--cli-read-timeout", "30"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if expect_error:
            assert done.returncode != 0, f"{args} should fail with {expect_error}: {done.stdout}"
            assert f"({expect_error})" in done.stderr, f"{args}: expected {expect_error}, got {done.stderr}"
            return done.stderr.strip()
        assert done.returncode == 0, f"`aws {' '.join(args)}` exited {done.returncode}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}

    vpc_id = aws("ec2", "create-vpc", "--cidr-block", "10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        aws("ec2", "create-subnet", "--vpc-id", vpc_id, "--cidr-block", cidr, "--availability-zone-id", zone)[
            "Subnet"
        ]["SubnetId"]
        for cidr, zone in (("10.0.1.0/24", "use1-az1"), ("10.0.2.0/24", "use1-az2"))
    ]
    sg = aws("ec2", "create-security-group", "--group-name", "agents", "--description", "AgentCore runtimes",
             "--vpc-id", vpc_id)["GroupId"]

    network = json.dumps({
        "networkMode": "VPC",
        "networkModeConfig": {"subnets": subnets, "securityGroups": [sg]},
    })
    runtime_ids = []
    for i in range(3):
        created = aws(
            "bedrock-agentcore-control", "create-agent-runtime",
            "--agent-runtime-name", f"cli_agent_{i}",
            "--agent-runtime-artifact", json.dumps({"containerConfiguration": {"containerUri": CONTAINER_URI}}),
            "--role-arn", ROLE_ARN,
            "--network-configuration", network,
        )
        assert created["status"] == "CREATING", created
        runtime_ids.append(created["agentRuntimeId"])

    statuses = []
    for runtime_id in runtime_ids:
        deadline = time.monotonic() + 30
        while True:
            got = aws("bedrock-agentcore-control", "get-agent-runtime", "--agent-runtime-id", runtime_id)
            if got["status"] == "READY" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert got["status"] == "READY", f"{runtime_id} not READY within 30 s: {got}"
        statuses.append(got["status"])

    listed = aws("bedrock-agentcore-control", "list-agent-runtimes")["agentRuntimes"]
    assert sorted(r["agentRuntimeId"] for r in listed) == sorted(runtime_ids), listed

    # The ENIs come about 27 s (service time) after the runtimes asked for them, maybe after READY.
    deadline = time.monotonic() + 30
    while True:
        enis = aws("ec2", "describe-network-interfaces", "--filters", f"Name=group-id,Values={sg}")[
            "NetworkInterfaces"
        ]
        if enis or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(enis) == 2, f"3 runtimes on 2 subnets with 1 SG share 2 ENIs, got {len(enis)}: {enis}"
    assert sorted(e["SubnetId"] for e in enis) == sorted(subnets), enis
    for eni in enis:
        assert eni["InterfaceType"] == "agentic_ai" and eni["Status"] == "in-use", eni

    # A managed ENI keeps its security group in use.
    refused = aws("ec2", "delete-security-group", "--group-id", sg, expect_error="DependencyViolation")

    emit({
        "runtime_statuses": statuses,
        "listed_runtimes": len(listed),
        "enis": sorted(({"InterfaceType": e["InterfaceType"], "Status": e["Status"],
                         "SubnetIndex": subnets.index(e["SubnetId"])} for e in enis),
                       key=lambda e: e["SubnetIndex"]),
        "delete_security_group_error": refused.replace(sg, "<sg>"),
    })


if __name__ == "__main__":
    main()
