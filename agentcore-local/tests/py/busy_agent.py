"""An agent (standard library only) whose /ping always answers HealthyBusy with a fixed
time_of_last_update, as an agent doing background work would; POST /invocations echoes.

Listens on $HOST:$PORT (what agentcore-local gives every microVM).
"""

import json

from stdlib_agent import JsonAgent, serve

STARTED = 1_700_000_000


class Agent(JsonAgent):
    def do_GET(self):
        if self.path == "/ping":
            self.answer({"status": "HealthyBusy", "time_of_last_update": STARTED})
        else:
            self.send_error(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length) or b"null")
        self.answer({"echo": payload})


if __name__ == "__main__":
    serve(Agent)
