"""AG-UI through agentcore-local: the SDK's `AGUIApp` agent (`agui_agent.py`) on a runtime with
`serverProtocol: AGUI`, run once over each of the contract's two transports, every event checked
against the `ag-ui-protocol` package's own event models:
* SSE: InvokeAgentRuntime (boto3) with a `RunAgentInput` payload, `Accept: text/event-stream`;
* WebSocket: `/ws`, opened with the presigned URL `AgentCoreRuntimeClient` generates, the
  `RunAgentInput` sent as the first message, events read until the agent closes (one per text
  frame, written by AGUIApp in the SSE form `data: {...}`).

Usage: agui_client.py http://127.0.0.1:PORT

Prints each transport's event types and message text as JSON.
"""

import json

from ag_ui.core import Event, RunAgentInput, UserMessage
from bedrock_agentcore.runtime import AgentCoreRuntimeClient
from pydantic import TypeAdapter
from websockets.exceptions import ConnectionClosedOK

from peers_common import client, connect_websocket, emit, endpoint_from_argv, invoke_json, ready_public_runtime

EVENTS = TypeAdapter(Event)


def run_input(text):
    message = UserMessage(id="m-1", role="user", content=text)
    run = RunAgentInput(
        thread_id="t-1", run_id="r-1", state={}, messages=[message], tools=[], context=[], forwarded_props={}
    )
    return run.model_dump(by_alias=True, exclude_none=True)


def summary(events):
    return {
        "types": [event.type.value for event in events],
        "text": "".join(event.delta for event in events if event.type.value == "TEXT_MESSAGE_CONTENT"),
    }


def main():
    endpoint = endpoint_from_argv()
    control = client("bedrock-agentcore-control", endpoint)
    data = client("bedrock-agentcore", endpoint)
    arn = ready_public_runtime(control, "agui_echo", protocol={"serverProtocol": "AGUI"})

    sse_session = "agui-sse-session-" + "0" * 20
    out = invoke_json(data, arn, sse_session, run_input("over SSE"), accept="text/event-stream")
    text = out["response"].read().decode()
    lines = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    sse = summary([EVENTS.validate_json(line) for line in lines])
    sse["content_type"] = out["contentType"]

    ws_session = "agui-ws-session-" + "0" * 21
    url = AgentCoreRuntimeClient(region="us-east-1").generate_presigned_url(arn, session_id=ws_session, expires=60)
    events = []
    with connect_websocket(endpoint, url) as ws:
        ws.send(json.dumps(run_input("over WebSocket")))
        try:
            while True:
                # AGUIApp writes each frame with the SSE encoder (`data: {...}`), as its SSE route does.
                frame = ws.recv(timeout=30).strip()
                events.append(EVENTS.validate_json(frame.removeprefix("data: ")))
        except ConnectionClosedOK:
            pass

    emit({"sse": sse, "sse_session": sse_session, "ws": summary(events), "ws_session": ws_session})


if __name__ == "__main__":
    main()
