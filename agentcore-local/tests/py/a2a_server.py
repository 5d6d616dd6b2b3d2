"""An A2A agent made with the official `a2a-sdk` (0.3), as AWS's A2A guide builds one: a JSON-RPC
server on `0.0.0.0:9000` at `/`, its agent card at `/.well-known/agent-card.json`, the card's `url`
from `AGENTCORE_RUNTIME_URL` (the runtime's invocation URL, which the deployer sets in the
runtime's environment). It answers every message with its text and a token drawn once per process.
"""

import os
import uuid

import uvicorn
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.apps import A2AStarletteApplication
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import AgentCapabilities, AgentCard, AgentSkill
from a2a.utils import new_agent_text_message

MICROVM = uuid.uuid4().hex


class Echo(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        await event_queue.enqueue_event(new_agent_text_message(f"echo: {context.get_user_input()} ({MICROVM})"))

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError("cancel is not supported")


card = AgentCard(
    name="echo",
    description="Echoes what it is told",
    url=os.environ.get("AGENTCORE_RUNTIME_URL", "http://127.0.0.1:9000/"),
    version="1.0.0",
    default_input_modes=["text"],
    default_output_modes=["text"],
    capabilities=AgentCapabilities(streaming=True),
    skills=[AgentSkill(id="echo", name="echo", description="Echoes the message", tags=["echo"])],
)

if __name__ == "__main__":
    handler = DefaultRequestHandler(agent_executor=Echo(), task_store=InMemoryTaskStore())
    uvicorn.run(A2AStarletteApplication(agent_card=card, http_handler=handler).build(), host="0.0.0.0", port=9000)
