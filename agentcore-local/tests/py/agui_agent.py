"""An AG-UI agent written with AWS's Python SDK (`bedrock_agentcore.runtime.AGUIApp`, which speaks
the `ag-ui-protocol` package's events): one handler served as SSE on `POST /invocations` and over the
`/ws` WebSocket, on 8080. It answers a run with RUN_STARTED, one assistant text message echoing the
last user message and the session id, and RUN_FINISHED.
"""

import uuid

from ag_ui.core import (
    EventType,
    RunFinishedEvent,
    RunStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
)
from bedrock_agentcore.runtime import AGUIApp

app = AGUIApp()


@app.entrypoint
async def agent(run_input, context):
    run = {"thread_id": run_input.thread_id, "run_id": run_input.run_id}
    yield RunStartedEvent(type=EventType.RUN_STARTED, **run)
    message_id = uuid.uuid4().hex
    yield TextMessageStartEvent(type=EventType.TEXT_MESSAGE_START, message_id=message_id, role="assistant")
    said = run_input.messages[-1].content
    yield TextMessageContentEvent(
        type=EventType.TEXT_MESSAGE_CONTENT, message_id=message_id, delta=f"echo: {said} ({context.session_id})"
    )
    yield TextMessageEndEvent(type=EventType.TEXT_MESSAGE_END, message_id=message_id)
    yield RunFinishedEvent(type=EventType.RUN_FINISHED, **run)


if __name__ == "__main__":
    app.run()
