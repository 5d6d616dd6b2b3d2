"""The official `mcp` client (streamable HTTP) through agentcore-local's data plane, as AWS's guide
calls an MCP server on AgentCore Runtime: `…/runtimes/{escaped ARN}/invocations?qualifier=DEFAULT`,
signed with SigV4 (`peers_common.SigV4HttpxAuth`, since these runtimes use IAM rather than a bearer
token), `terminate_on_close=False`.

Usage: mcp_client.py http://127.0.0.1:PORT

Two runtimes with `serverProtocol: MCP` run `mcp_server.py`: stateless (the guide's default) and
stateful (`MCP_STATEFUL=1`). For each, two client sessions: initialize, list the tools, add two
numbers, and ask three times which microVM answers. Prints a JSON summary.
"""

import asyncio
from urllib.parse import quote

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from peers_common import SigV4HttpxAuth, client, emit, endpoint_from_argv, ready_public_runtime


async def client_session(url):
    async with streamablehttp_client(url, timeout=60, terminate_on_close=False, auth=SigV4HttpxAuth("us-east-1")) as (
        read,
        write,
        get_session_id,
    ):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = sorted(tool.name for tool in (await session.list_tools()).tools)
            added = await session.call_tool("add_numbers", {"a": 2, "b": 40})
            microvms = []
            for _ in range(3):
                answer = await session.call_tool("microvm", {})
                microvms.append(answer.content[0].text)
            return {
                "tools": tools,
                "sum": added.content[0].text,
                "microvms": microvms,
                "mcp_session_id": get_session_id(),
            }


async def scenario(endpoint, arn):
    url = f"{endpoint}/runtimes/{quote(arn, safe='')}/invocations?qualifier=DEFAULT"
    return [await client_session(url) for _ in range(2)]


def main():
    endpoint = endpoint_from_argv()
    control = client("bedrock-agentcore-control", endpoint)
    protocol = {"serverProtocol": "MCP"}
    stateless = ready_public_runtime(control, "mcp_stateless", protocol=protocol)
    stateful = ready_public_runtime(control, "mcp_stateful", protocol=protocol, environment={"MCP_STATEFUL": "1"})
    emit(
        {
            "stateless": asyncio.run(scenario(endpoint, stateless)),
            "stateful": asyncio.run(scenario(endpoint, stateful)),
        }
    )


if __name__ == "__main__":
    main()
