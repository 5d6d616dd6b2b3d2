"""The official `a2a-sdk` client (0.3) through agentcore-local's data plane, as AWS's A2A guide calls
an A2A agent on AgentCore Runtime: the card from `…/runtimes/{escaped ARN}/invocations/` (GetAgentCard),
then JSON-RPC `message/send` to the card's `url`, every request signed with SigV4
(`peers_common.SigV4HttpxAuth`).

Usage: a2a_client.py http://127.0.0.1:PORT

The runtime (`serverProtocol: A2A`) runs `a2a_server.py`; its `AGENTCORE_RUNTIME_URL` is set with
UpdateAgentRuntime once the ARN is known. Prints a JSON summary.
"""

import asyncio
import uuid
from urllib.parse import quote

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types import Message, Part, Role, TextPart

from peers_common import (
    CONTAINER_URI,
    ROLE_ARN,
    SigV4HttpxAuth,
    client,
    emit,
    endpoint_from_argv,
    ready_public_runtime,
    wait_until,
)


async def converse(runtime_url):
    async with httpx.AsyncClient(auth=SigV4HttpxAuth("us-east-1"), timeout=60) as http:
        card = await A2ACardResolver(httpx_client=http, base_url=runtime_url).get_agent_card()
        a2a = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
        message = Message(role=Role.user, parts=[Part(root=TextPart(text="hello"))], message_id=uuid.uuid4().hex)
        answers = []
        async for event in a2a.send_message(message):
            reply = event if isinstance(event, Message) else None
            if reply is not None:
                answers.extend(part.root.text for part in reply.parts if isinstance(part.root, TextPart))
        return {"card": {"name": card.name, "url": card.url, "protocol": card.protocol_version}, "answers": answers}


def main():
    endpoint = endpoint_from_argv()
    control = client("bedrock-agentcore-control", endpoint)
    protocol = {"serverProtocol": "A2A"}
    arn = ready_public_runtime(control, "a2a_echo", protocol=protocol)
    runtime_url = f"{endpoint}/runtimes/{quote(arn, safe='')}/invocations/"
    runtime_id = arn.split("/")[-1]
    control.update_agent_runtime(
        agentRuntimeId=runtime_id,
        agentRuntimeArtifact={"containerConfiguration": {"containerUri": CONTAINER_URI}},
        roleArn=ROLE_ARN,
        networkConfiguration={"networkMode": "PUBLIC"},
        protocolConfiguration=protocol,
        environmentVariables={"AGENTCORE_RUNTIME_URL": runtime_url},
    )
    wait_until("READY", lambda: control.get_agent_runtime(agentRuntimeId=runtime_id)["status"] == "READY")
    result = asyncio.run(converse(runtime_url))
    result["runtime_url"] = runtime_url
    emit(result)


if __name__ == "__main__":
    main()
