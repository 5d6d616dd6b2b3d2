"""boto3 against the unmodified SDK agent (`sdk_agent.py`) in agentcore-local with --isolation netns.

Usage: boto3_sdk_agent.py http://127.0.0.1:PORT

Creates a PUBLIC runtime, then 20 sessions at once, each a microVM of its own whose `app.run()`
listens on 127.0.0.1:8080: one JSON invocation per session (the answer must echo the payload), and a
streaming invocation (Server-Sent Events from the agent's generator) in every fourth. Prints a JSON
summary.
"""

import json
from concurrent.futures import ThreadPoolExecutor

from peers_common import client, emit, endpoint_from_argv, invoke_json, ready_public_runtime

SESSIONS = 20


def session_id(i):
    return f"sdk-agent-session-{i:030d}"


def main():
    endpoint = endpoint_from_argv()
    control = client("bedrock-agentcore-control", endpoint)
    data = client("bedrock-agentcore", endpoint)
    arn = ready_public_runtime(control, "sdk_agent")

    def session(i):
        out = invoke_json(data, arn, session_id(i), {"prompt": f"hello {i}"})
        result = {"i": i, "json": json.loads(out["response"].read()), "content_type": out["contentType"]}
        if i % 4 == 0:
            out = invoke_json(data, arn, session_id(i), {"stream": 3}, accept="text/event-stream")
            text = out["response"].read().decode()
            events = [json.loads(line[len("data: "):]) for line in text.splitlines() if line.startswith("data: ")]
            result["stream"] = {"content_type": out["contentType"], "events": events}
        return result

    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        results = list(pool.map(session, range(SESSIONS)))
    emit({"sessions": results})


if __name__ == "__main__":
    main()
