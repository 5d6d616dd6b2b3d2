"""An agent written exactly as AWS's Python SDK documents it (`bedrock-agentcore` from PyPI): a
`BedrockAgentCoreApp`, an `@app.entrypoint`, `app.run()`. It reads no PORT: `app.run()` listens on
127.0.0.1:8080, the contract's port, so agentcore-local runs it with `--isolation netns` (each
microVM its own network), unmodified.

A payload with "stream": N answers with a generator of N events, which the SDK streams as
Server-Sent Events; any other payload is echoed as JSON with the port the agent was told. Its
`@app.websocket` handler (the SDK's `/ws`) echoes every text message with the session id the
runtime gave it, until the client closes.
"""

import json
import os

from bedrock_agentcore.runtime import BedrockAgentCoreApp

app = BedrockAgentCoreApp()


def chunks(payload):
    for i in range(payload["stream"]):
        yield {"chunk": i, "of": payload["stream"]}


@app.entrypoint
def invoke(payload):
    if "stream" in payload:
        return chunks(payload)
    return {"echo": payload, "port": os.environ.get("PORT")}


@app.websocket
async def echo(websocket, context):
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(json.dumps({"echo": text, "session": context.session_id}))


if __name__ == "__main__":
    app.run()
