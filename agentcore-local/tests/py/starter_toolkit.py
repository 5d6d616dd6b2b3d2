"""AWS's starter toolkit against agentcore-local: the runtime client `agentcore launch/invoke/destroy`
use (`bedrock_agentcore_starter_toolkit.services.runtime.BedrockAgentCoreClient`), unmodified, pointed
at the emulator through its own endpoint overrides.

Usage: starter_toolkit.py http://127.0.0.1:PORT

Deploy (a container runtime, PUBLIC network as the toolkit sends it) → wait for the DEFAULT endpoint →
invoke (JSON, then a server-sent-event stream) → stop the session → redeploy by name (CreateAgentRuntime
answers ConflictException, the toolkit finds the runtime and updates it without a network
configuration) → wait → invoke the new version → the DEFAULT endpoint cannot be deleted → destroy.
Prints one JSON document of what it saw.
"""

import json
import os
import sys
import time
import uuid

ENDPOINT = sys.argv[1]
# Read when the toolkit's modules are imported: set them first.
os.environ["BEDROCK_AGENTCORE_CP_ENDPOINT"] = ENDPOINT
os.environ["BEDROCK_AGENTCORE_DP_ENDPOINT"] = ENDPOINT

import io  # noqa: E402

from botocore.exceptions import ClientError  # noqa: E402
from rich.console import Console  # noqa: E402

import bedrock_agentcore_starter_toolkit.services.runtime as toolkit_runtime  # noqa: E402
from bedrock_agentcore_starter_toolkit.services.runtime import BedrockAgentCoreClient  # noqa: E402

# The toolkit prints a streamed answer to its rich console (and returns nothing): catch it there, so
# that stdout carries only this script's JSON.
STREAMED = io.StringIO()
toolkit_runtime.console = Console(file=STREAMED, force_terminal=False, width=10_000)

REGION = "us-east-1"
NAME = "toolkit_agent"
ROLE_ARN = "arn:aws:iam::123456789012:role/AgentRole"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/toolkit-agent:latest"


def session_id():
    # The toolkit's own generator makes a uuid4; the data plane wants at least 33 characters.
    return str(uuid.uuid4())


def deploy(client):
    return client.create_or_update_agent(
        None, NAME, ROLE_ARN, deployment_type="container", image_uri=IMAGE, auto_update_on_conflict=True
    )


def invoke(arn, sid, payload):
    """One invocation from a client of its own, as `agentcore invoke` makes one per process: the
    toolkit's client registers its Accept-header hook anew on every call and never removes it (it
    keeps the `None` that `register_first` returns as the handler id), so a second call from the same
    client sends one Accept header but signs two, which AWS refuses as InvalidSignatureException
    too."""
    return BedrockAgentCoreClient(REGION).invoke_endpoint(arn, json.dumps(payload), sid)


def main():
    client = BedrockAgentCoreClient(REGION)
    seen = {}

    created = deploy(client)
    seen["deployed"] = {"id": created["id"], "arn": created["arn"]}
    seen["endpoint_arn"] = client.wait_for_agent_endpoint_ready(created["id"], max_wait=30)
    endpoint = client.get_agent_runtime_endpoint(created["id"])
    seen["endpoint"] = {"name": endpoint["name"], "status": endpoint["status"], "liveVersion": endpoint.get("liveVersion")}

    sid = session_id()
    answer = invoke(created["arn"], sid, {"prompt": "hello"})
    seen["json_answer"] = answer["response"]
    invoke(created["arn"], sid, {"prompt": "stream", "_dummy": {"stream": 3}})
    seen["stream_text"] = STREAMED.getvalue()
    stopped = client.stop_runtime_session(created["arn"], sid)
    seen["stop_status"] = stopped["ResponseMetadata"]["HTTPStatusCode"]

    redeployed = deploy(client)
    seen["redeployed"] = {"id": redeployed["id"], "arn": redeployed["arn"]}
    # The update is accepted at once; DEFAULT moves to the new version once it is READY.
    deadline = time.time() + 30
    while time.time() < deadline:
        runtime = client.get_agent_runtime(redeployed["id"])
        if runtime["status"] == "READY":
            break
        time.sleep(0.1)
    seen["runtime_after_redeploy"] = {
        "status": runtime["status"],
        "version": runtime["agentRuntimeVersion"],
        "networkMode": runtime["networkConfiguration"]["networkMode"],
    }
    client.wait_for_agent_endpoint_ready(redeployed["id"], max_wait=30)
    endpoint = client.get_agent_runtime_endpoint(redeployed["id"])
    seen["endpoint_after_redeploy"] = {"status": endpoint["status"], "liveVersion": endpoint.get("liveVersion")}
    seen["json_answer_after_redeploy"] = invoke(redeployed["arn"], session_id(), {"prompt": "again"})["response"]

    try:
        client.delete_agent_runtime_endpoint(redeployed["id"], "DEFAULT")
        seen["delete_default"] = "deleted"
    except ClientError as error:
        seen["delete_default"] = error.response["Error"]["Code"]

    client.client.delete_agent_runtime(agentRuntimeId=redeployed["id"])
    deadline = time.time() + 30
    gone = False
    while time.time() < deadline and not gone:
        try:
            client.get_agent_runtime(redeployed["id"])
            time.sleep(0.1)
        except ClientError as error:
            gone = error.response["Error"]["Code"] == "ResourceNotFoundException"
    seen["destroyed"] = gone
    seen["agents_left"] = [a["agentRuntimeName"] for a in client.list_agents()]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
