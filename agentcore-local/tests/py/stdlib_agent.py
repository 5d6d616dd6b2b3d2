"""What the standard-library test agents (`headers_agent.py`, `busy_agent.py`) share: a handler
that answers JSON documents, quietly, and a threading server on $HOST:$PORT (what agentcore-local
gives every microVM)."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonAgent(BaseHTTPRequestHandler):
    def answer(self, document):
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(handler):
    ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), handler).serve_forever()
