"""N sessions at once through boto3, each its own microVM, against whatever agent agentcore-local
runs (the report's FastAPI app in `python_peers.rs`).

Usage: SESSIONS=N boto3_sessions.py http://127.0.0.1:PORT

Creates a PUBLIC runtime and invokes N new session ids concurrently, one JSON call each. The client
retries as boto3's standard mode does (up to 5 attempts), so the new-sessions quota (25 a second,
ThrottlingException) spreads the starts out as it would on AWS. Prints each answer and the session
ids `/_local/state` shows live.
"""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from peers_common import client, emit, endpoint_from_argv, invoke_json, local_state, ready_public_runtime


def session_id(i):
    return f"fastapi-session-{i:030d}"


def main():
    endpoint, count = endpoint_from_argv(), int(os.environ["SESSIONS"])
    control = client("bedrock-agentcore-control", endpoint)
    retrying = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    data = boto3.client("bedrock-agentcore", endpoint_url=endpoint, config=retrying)
    arn = ready_public_runtime(control, "fastapi_sessions")

    def session(i):
        out = invoke_json(data, arn, session_id(i), {"prompt": f"hello {i}"})
        return {"i": i, "answer": json.loads(out["response"].read())}

    with ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(session, range(count)))
    live = sorted(s["runtimeSessionId"] for s in local_state(endpoint)["dataPlane"]["sessions"])
    emit({"answers": answers, "live_sessions": live})


if __name__ == "__main__":
    main()
