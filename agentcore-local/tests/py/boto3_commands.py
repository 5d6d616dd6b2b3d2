"""boto3 against agentcore-local's GetAgentCard and InvokeAgentRuntimeCommand.

Usage: boto3_commands.py http://127.0.0.1:PORT

Creates a PUBLIC runtime, waits for READY, asks for the agent card of one session, runs a command in
that session (stdout, stderr and an exit code), then one past its timeout, reading each event stream
to its end with botocore's own event-stream parser, and prints a JSON summary. The Rust test runs the
server with --allow-commands and the built-in dummy agent.
"""

from peers_common import client, emit, endpoint_from_argv, ready_public_runtime

SESSION = "boto3-commands-session-00000000000000"


def run(data, arn, command, timeout=None):
    """The command's events, in order, and the answer's headers."""
    body = {"command": command}
    if timeout is not None:
        body["timeout"] = timeout
    out = data.invoke_agent_runtime_command(agentRuntimeArn=arn, runtimeSessionId=SESSION, body=body)
    return {
        "content_type": out["contentType"],
        "session": out["runtimeSessionId"],
        "events": [event["chunk"] for event in out["stream"]],
    }


def main():
    endpoint = endpoint_from_argv()
    control = client("bedrock-agentcore-control", endpoint)
    data = client("bedrock-agentcore", endpoint)
    arn = ready_public_runtime(control, "boto3_commands")

    card = data.get_agent_card(agentRuntimeArn=arn, runtimeSessionId=SESSION)
    emit({
        "card": {"session": card["runtimeSessionId"], "status": card["statusCode"], "card": card["agentCard"]},
        "command": run(data, arn, "echo hi; echo err >&2; exit 3"),
        "timed_out": run(data, arn, "echo started; sleep 30", timeout=1),
    })


if __name__ == "__main__":
    main()
