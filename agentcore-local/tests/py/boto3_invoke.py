"""boto3 against agentcore-local's data plane: concurrent InvokeAgentRuntime calls, then the quota.

Usage: boto3_invoke.py http://127.0.0.1:PORT

Creates a PUBLIC runtime, waits for READY, then runs 4 sessions x 3 invocations on 8 threads
(every answer must echo its payload and carry its session id), reads the live sessions from
/_local/state (SigV4-signed with botocore's SigV4Auth, signing name bedrock-agentcore, like every
other route), starts a fifth session (the Rust test runs the server with --max-vms 4, so this one
must be refused), stops the four sessions and prints a JSON summary.
"""

import json
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from peers_common import client, emit, endpoint_from_argv, invoke_json, local_state, ready_public_runtime


def session_id(i):
    return f"boto3-session-{i:030d}"


def main():
    endpoint = endpoint_from_argv()
    control = client("bedrock-agentcore-control", endpoint)
    data = client("bedrock-agentcore", endpoint)
    arn = ready_public_runtime(control, "boto3_invoke")

    def invoke(call):
        session, n = call
        out = invoke_json(data, arn, session_id(session), {"prompt": f"call {n}", "session": session})
        body = json.loads(out["response"].read())
        assert out["runtimeSessionId"] == session_id(session), out["runtimeSessionId"]
        assert out["statusCode"] == 200, out["statusCode"]
        return {"session": session, "n": n, "answer": body}

    calls = [(s, n) for n in range(3) for s in range(4)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(invoke, calls))

    state = local_state(endpoint)
    live = sorted(s["runtimeSessionId"] for s in state["dataPlane"]["sessions"])

    try:
        invoke((4, 0))
        fifth = "admitted"
    except ClientError as e:
        fifth = {
            "code": e.response["Error"]["Code"],
            "message": e.response["Error"]["Message"],
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
        }

    for s in range(4):
        out = data.stop_runtime_session(agentRuntimeArn=arn, runtimeSessionId=session_id(s))
        assert out["runtimeSessionId"] == session_id(s)
    after = invoke((4, 1))

    emit({
        "answers": answers,
        "live_sessions": live,
        "fifth_session": fifth,
        "after_stop": after["answer"],
    })


if __name__ == "__main__":
    main()
