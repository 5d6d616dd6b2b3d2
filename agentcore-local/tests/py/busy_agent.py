"""An agent (standard library only) whose /ping always answers HealthyBusy with a fixed
time_of_last_update, as an agent doing background work would; POST /invocations echoes.

Listens on $HOST:$PORT (what agentcore-local gives every microVM).
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STARTED = 1_700_000_000


class Agent(BaseHTTPRequestHandler):
    def _answer(self, document):
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/ping":
            self._answer({"status": "HealthyBusy", "time_of_last_update": STARTED})
        else:
            self.send_error(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length) or b"null")
        self._answer({"echo": payload})

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    address = (os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"]))
    ThreadingHTTPServer(address, Agent).serve_forever()
