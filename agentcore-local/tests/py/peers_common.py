"""Helpers shared by the Python peer scenarios (run by `tests/it/python_peers.rs`).

The scripts take the server's endpoint URL as their only argument. Credentials and region come from
the environment the Rust test sets (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION,
with AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE pointing at empty files), so the host's AWS
configuration cannot interfere.
"""

import json
import sys
import time
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config

CONTAINER_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:latest"
ROLE_ARN = "arn:aws:iam::123456789012:role/AgentRole"


def endpoint_from_argv():
    if len(sys.argv) != 2 or not sys.argv[1].startswith("http://127.0.0.1:"):
        sys.exit(f"usage: {sys.argv[0]} http://127.0.0.1:PORT (loopback endpoints only)")
    return sys.argv[1]


def client(service, endpoint):
    # No retries: a failure must show up as the error the server gave, not be papered over.
    return boto3.client(
        service,
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30),
    )


def wait_until(what, probe, timeout_s=20.0, interval_s=0.05):
    """Calls `probe()` until it returns a truthy value; fails after `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last value: {last!r}")


def ready_public_runtime(control, name, protocol=None, environment=None):
    """Creates a PUBLIC runtime called `name` (with a `protocolConfiguration` and
    `environmentVariables` when given), waits until it is READY and returns its ARN."""
    extra = {}
    if protocol is not None:
        extra["protocolConfiguration"] = protocol
    if environment is not None:
        extra["environmentVariables"] = environment
    arn = control.create_agent_runtime(
        agentRuntimeName=name,
        agentRuntimeArtifact={"containerConfiguration": {"containerUri": CONTAINER_URI}},
        roleArn=ROLE_ARN,
        networkConfiguration={"networkMode": "PUBLIC"},
        **extra,
    )["agentRuntimeArn"]
    runtime_id = arn.split("/")[-1]
    wait_until("READY", lambda: control.get_agent_runtime(agentRuntimeId=runtime_id)["status"] == "READY")
    return arn


def invoke_json(data, arn, session_id, document, accept="application/json"):
    """InvokeAgentRuntime with `document` as the JSON payload, on session `session_id`."""
    return data.invoke_agent_runtime(
        agentRuntimeArn=arn,
        runtimeSessionId=session_id,
        contentType="application/json",
        accept=accept,
        payload=json.dumps(document).encode(),
    )


class SigV4HttpxAuth:
    """An `httpx.Auth` that signs each request as botocore signs `bedrock-agentcore` calls, for the
    protocols' own clients (mcp, a2a-sdk), which speak httpx; IAM runtimes take SigV4, not a bearer
    token. Built lazily so scripts that do not use httpx never import it."""

    def __new__(cls, region):
        import httpx

        credentials = boto3.Session().get_credentials().get_frozen_credentials()

        class Auth(httpx.Auth):
            requires_request_body = True

            def auth_flow(self, request):
                signed = AWSRequest(
                    method=request.method,
                    url=str(request.url),
                    data=request.content,
                    headers={"host": request.url.netloc.decode()},
                )
                SigV4Auth(credentials, "bedrock-agentcore", region).add_auth(signed)
                for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
                    if name in signed.headers:
                        request.headers[name] = signed.headers[name]
                yield request

        return Auth()


def local_state(endpoint):
    """GET /_local/state, signed with the session's credentials (signing name bedrock-agentcore)."""
    session = boto3.session.Session()
    request = AWSRequest(method="GET", url=f"{endpoint}/_local/state")
    SigV4Auth(session.get_credentials(), "bedrock-agentcore", session.region_name).add_auth(request)
    prepared = urllib.request.Request(request.url, headers=dict(request.headers.items()), method="GET")
    with urllib.request.urlopen(prepared, timeout=10) as response:
        return json.load(response)


# Written by the websockets library itself in every handshake.
HANDSHAKE_HEADERS = {"host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version"}


def connect_websocket(endpoint, url, headers=None):
    """Opens `url` (an `AgentCoreRuntimeClient` URL, signed for the real AWS host) on the emulator at
    `endpoint`: `wss://` becomes `ws://` (the emulator has no TLS), the TCP connection goes to the
    emulator (as a hosts-file entry would send it) and the `Host` header stays the signed one; of
    `headers`, those the websockets library writes itself are left to it."""
    import socket
    from urllib.parse import urlsplit

    from websockets.sync.client import connect

    parts = urlsplit(endpoint)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    extra = {k: v for k, v in (headers or {}).items() if k.lower() not in HANDSHAKE_HEADERS}
    return connect(url.replace("wss://", "ws://", 1), sock=sock, additional_headers=extra, open_timeout=30)


def emit(result):
    """The scenario's result as one JSON document on stdout (the Rust test parses it)."""
    json.dump(result, sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write("\n")
