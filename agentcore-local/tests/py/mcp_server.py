"""An MCP server written as AWS's "Deploy MCP servers in AgentCore Runtime" guide writes it: the
official `mcp` package's FastMCP on `0.0.0.0:8000`, streamable HTTP at `/mcp`, stateless
(`stateless_http=True`) unless the runtime's environment sets `MCP_STATEFUL=1`.

Tools: `add_numbers`, and `microvm`, which answers a token drawn once per process, so a client can
see which microVM answered.
"""

import os
import uuid

from mcp.server.fastmcp import FastMCP

STATEFUL = os.environ.get("MCP_STATEFUL") == "1"
MICROVM = uuid.uuid4().hex

mcp = FastMCP(host="0.0.0.0", stateless_http=not STATEFUL)


@mcp.tool()
def add_numbers(a: int, b: int) -> int:
    """Add two numbers together"""
    return a + b


@mcp.tool()
def microvm() -> str:
    """The token of the process (microVM) that answers"""
    return MICROVM


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
