"""WebSockets through agentcore-local's `/runtimes/{arn}/ws`, opened exactly as AWS's Python SDK
(`bedrock-agentcore`) prepares them, to the unmodified SDK agent (`sdk_agent.py`, its `@app.websocket`).

Usage: sdk_websocket.py http://127.0.0.1:PORT

`AgentCoreRuntimeClient` signs for the real host (`bedrock-agentcore.<region>.amazonaws.com`): its
URLs are used as generated, only `wss://` becomes `ws://` (the emulator has no TLS) and the TCP
connection goes to the emulator (as a hosts-file entry would send it); the `Host` header is the
signed one. Two forms:
* `generate_ws_connection`: SigV4 in headers, the session id in its header; the handshake headers
  the client library writes itself (Upgrade, Connection, Sec-WebSocket-*) are left to it;
* `generate_presigned_url`: SigV4 in the query, the session id a query parameter.
Each sends three messages and reads three echoes; a presigned URL with its session id changed must
be refused. Prints a JSON summary.
"""

from urllib.parse import urlsplit

from bedrock_agentcore.runtime import AgentCoreRuntimeClient
from websockets.exceptions import InvalidStatus

from peers_common import client, connect_websocket, emit, endpoint_from_argv, ready_public_runtime

def exchange(endpoint, url, headers=None):
    with connect_websocket(endpoint, url, headers) as ws:
        echoes = []
        for i in range(3):
            ws.send(f"message {i}")
            echoes.append(ws.recv(timeout=30))
        return {"host": urlsplit(url).netloc, "echoes": echoes}


def main():
    endpoint = endpoint_from_argv()
    control = client("bedrock-agentcore-control", endpoint)
    arn = ready_public_runtime(control, "sdk_websocket")
    sdk = AgentCoreRuntimeClient(region="us-east-1")

    signed_session = "ws-signed-session-" + "0" * 20
    url, headers = sdk.generate_ws_connection(arn, session_id=signed_session, endpoint_name="DEFAULT")
    signed = exchange(endpoint, url, headers)
    signed["session_id"] = signed_session
    signed["signed_headers"] = sorted(headers)

    presigned_session = "ws-presigned-session-" + "0" * 20
    url = sdk.generate_presigned_url(arn, session_id=presigned_session, endpoint_name="DEFAULT", expires=60)
    presigned = exchange(endpoint, url)
    presigned["session_id"] = presigned_session
    presigned["query_auth"] = "X-Amz-Signature=" in url

    tampered = url.replace(presigned_session, "ws-tampered-session-" + "0" * 20)
    try:
        exchange(endpoint, tampered)
        refused = None
    except InvalidStatus as error:
        refused = {"status": error.response.status_code, "body": error.response.body.decode(errors="replace")}

    emit({"signed": signed, "presigned": presigned, "tampered": refused})


if __name__ == "__main__":
    main()
