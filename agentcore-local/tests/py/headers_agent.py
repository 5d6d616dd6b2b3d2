"""An agent (standard library only) that shows what reaches it: every POST, on any path, answers
{"path": PATH, "headers": {lower-cased name: value}}; GET /ping answers Healthy.

Listens on $HOST:$PORT (what agentcore-local gives every microVM).
"""

from stdlib_agent import JsonAgent, serve


class Agent(JsonAgent):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/ping":
            self.answer({"status": "Healthy"})
        else:
            self.send_error(404)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.answer({"path": self.path, "headers": headers})


if __name__ == "__main__":
    serve(Agent)
