"""Conformance of an endpoint with the service models botocore ships, operation by operation.

Usage: model_conformance.py http://127.0.0.1:PORT

Reads botocore's models of bedrock-agentcore-control, bedrock-agentcore and ec2 (the venv's botocore) and
asks the endpoint which of their operations it serves; nothing here lists the emulator's operations.

1. Served. An AgentCore operation is served when a signed request to its modeled method and URI (path
   parameters filled with plausible ids of resources that do not exist, body `{}`) is not answered
   `UnknownOperationException` or a 404 without an error code, with or without a trailing slash on the
   path; both forms must then give the same answer (status and error code). An EC2 action is served when
   a call with no parameters is not answered `InvalidAction`.
2. Answers. Each served AgentCore operation is called through a botocore client with the smallest valid
   input its input shape allows: required members only, strings following the member's `pattern`, `enum`
   and length bounds, and ids of a runtime the script creates first (CreateAgentRuntime is itself one of
   the calls). botocore parses the answer; its HTTP status must be the operation's modeled `responseCode`
   and every member the output shape requires must be present, recursively, with the modeled type (so
   must every member that is present; an event stream is read to its end, and each event must be one
   member of its union, checked the same way). A served EC2 action that succeeds without parameters gets the same
   output check.
3. Errors. Where the operation models them: an unknown id (in the URI) must answer
   `ResourceNotFoundException`, a broken input (a required member left out, or a value outside its
   pattern or bounds) `ValidationException`. Every error seen on the way, these and the probes of step 1,
   must be one the operation lists in `errors`, with the HTTP status of that error shape's
   `httpStatusCode`. An EC2 action must not answer a 5xx to a call without parameters.
4. Every modeled error. When AGENTCORE_LOCAL_BIN names the emulator's binary, every error every served
   AgentCore operation models is answered once more, injected: round k starts a fresh emulator with
   `--fault SERVICE:OPERATION:ERROR:1` for each operation's k-th modeled error and calls each operation
   with its minimal input. botocore must parse the error the model lists, with its modeled HTTP status,
   its code and every member its error shape requires (a ValidationException's `reason`). This checks
   how the emulator writes each error; steps 2 and 3 check when it chooses one. EC2's model lists no
   errors.

Prints one JSON document on stdout:
{"services": {SERVICE: {"served": N, "in_model": M, "operations": {NAME: {"served", "ok", "problems",
 "errors_answered"}}}}, "coverage_table": MARKDOWN, "modeled_errors": {"answered": N, "modeled": M}}
and the coverage table on stderr. Problems are stable strings (no ids, no timestamps), so a test can
list the known ones.
"""

import datetime
import json
import os
import re
import socket
import string
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import botocore.session
from botocore import xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.eventstream import EventStream
from botocore.exceptions import ClientError
from botocore.httpsession import URLLib3Session
from botocore.response import StreamingBody

try:
    from re import _parser as regex_parser  # Python 3.11+
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse as regex_parser

from peers_common import emit, endpoint_from_argv

AGENTCORE_SERVICES = ("bedrock-agentcore-control", "bedrock-agentcore")
EC2 = "ec2"
REGION = "us-east-1"
CREDENTIALS = Credentials("test", "test")
SIGNING_NAME = "bedrock-agentcore"

# Values for members of these names, whatever the operation: what a caller would pass. The runtime's
# id and ARN are added once CreateAgentRuntime has answered.
BASE_CONTEXT = {
    "agentRuntimeName": "conformance_agent",
    "runtimeSessionId": "conformance-session-000000000000000000000",
    "payload": b'{"prompt": "conformance"}',
}

# Errors a client sees whatever it calls.
UNKNOWN_ROUTE_CODES = ("UnknownOperationException",)

# The order calls run in: resources are made first and deleted last.
PHASES = (("Create", 0), ("Stop", 2), ("Delete", 3))


# --- values from shapes ------------------------------------------------------------------------------


class Unsupported(Exception):
    """A regular expression construct the example generator does not handle."""


CANDIDATE_CHARS = "a0A_-.:/" + string.ascii_letters + string.digits + string.punctuation + " "


def _class_contains(items, char):
    """Whether `char` is in the character class `items` (a parsed `[...]`, or one category)."""
    negate = False
    found = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            found |= char == chr(av)
        elif name == "RANGE":
            found |= av[0] <= ord(char) <= av[1]
        elif name == "CATEGORY":
            found |= _category_contains(str(av), char)
        else:
            raise Unsupported(name)
    return found != negate


def _category_contains(category, char):
    tests = {
        "CATEGORY_DIGIT": char.isdigit(),
        "CATEGORY_NOT_DIGIT": not char.isdigit(),
        "CATEGORY_WORD": char.isalnum() or char == "_",
        "CATEGORY_NOT_WORD": not (char.isalnum() or char == "_"),
        "CATEGORY_SPACE": char.isspace(),
        "CATEGORY_NOT_SPACE": not char.isspace(),
    }
    if category not in tests:
        raise Unsupported(category)
    return tests[category]


def _class_example(items):
    for char in CANDIDATE_CHARS:
        if _class_contains(items, char):
            return char
    raise Unsupported("empty character class")


def _regex_emit(parsed, preferred):
    out = []
    for op, av in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("b" if chr(av) == "a" else "a")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_class_example(av))
        elif name == "CATEGORY":
            out.append(_class_example([(op, av)]))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, item = av
            high = min(high, 10_000)
            # Optional parts are left out; real repetitions grow towards `preferred`.
            count = low if high <= 1 else min(high, max(low, preferred))
            out.append(_regex_emit(item, preferred) * count)
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            out.append(_regex_emit(av[-1], preferred))
        elif name == "BRANCH":
            out.append(_regex_emit(av[1][0], preferred))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            pass
        else:
            raise Unsupported(name)
    return "".join(out)


def regex_example(pattern, min_length, max_length):
    """A short string matching `pattern` (whole) within the length bounds, or None."""
    try:
        parsed = regex_parser.parse(pattern)
    except re.error:
        return None
    for preferred in (0, 1, 4, 16, 64, 256):
        try:
            text = _regex_emit(parsed, preferred)
        except Unsupported:
            return None
        if re.fullmatch(pattern, text) and min_length <= len(text) <= max_length:
            return text
    return None


def string_example(shape):
    meta = shape.metadata
    if shape.enum:
        return shape.enum[0]
    min_length, max_length = meta.get("min", 0), meta.get("max", 1 << 20)
    if "pattern" in meta:
        text = regex_example(meta["pattern"], min_length, max_length)
        if text is None:
            raise Unsupported(f"no example for pattern {meta['pattern']!r}")
        return text
    text = "conformance"
    return (text + "x" * max(0, min_length - len(text)))[: max(max_length, 1)]


def example(shape, name, context):
    """The smallest valid value of `shape` (a member called `name`, if any): `context` first."""
    if name is not None and name in context:
        return context[name]
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return {}
        if meta.get("union"):
            member_name, member = next(iter(shape.members.items()))
            return {member_name: example(member, member_name, context)}
        return {m: example(shape.members[m], m, context) for m in shape.required_members}
    if kind == "list":
        return [example(shape.member, None, context) for _ in range(max(meta.get("min", 0), 1))]
    if kind == "map":
        return {example(shape.key, None, context): example(shape.value, None, context)}
    if kind == "string":
        return string_example(shape)
    if kind in ("integer", "long"):
        return int(meta.get("min", 1))
    if kind in ("float", "double"):
        return float(meta.get("min", 1))
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return datetime.datetime.now(datetime.timezone.utc)
    if kind == "blob":
        return b"{}"
    raise Unsupported(f"shape type {kind}")


def unknown_value(shape, name, context):
    """A plausible id of something that does not exist, for the URI member `name`."""
    known = context.get(name)
    if isinstance(known, str) and known.startswith("arn:") and "/" in known:
        return known.rsplit("/", 1)[0] + "/unknown_probe-0000000000"
    if isinstance(known, str) and "-" in known:
        return "unknown_probe-0000000000"
    try:
        return string_example(shape)
    except Unsupported:
        return "unknown_probe-0000000000"


# --- checks ------------------------------------------------------------------------------------------


def type_matches(shape, value):
    kind = shape.type_name
    if kind == "string":
        return isinstance(value, str)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "timestamp":
        return isinstance(value, datetime.datetime)
    if kind == "blob":
        return isinstance(value, (bytes, bytearray, StreamingBody))
    if kind in ("structure", "map"):
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    return True


def event_stream_problems(shape, events, path):
    """Problems of an event stream read to its end (`events`, see `call`): each event must be one
    member of the stream's union, holding a valid value of that member's shape."""
    if not isinstance(events, list):
        return [f"{path}: expected the events of a stream, got {type(events).__name__}"]
    problems = []
    for event in events:
        if not isinstance(event, dict) or len(event) != 1 or next(iter(event)) not in shape.members:
            problems.append(f"{path}: an event that is not exactly one of {sorted(shape.members)}")
            continue
        name, value = next(iter(event.items()))
        problems += output_problems(shape.members[name], value, f"{path}.{name}")
    return problems


def output_problems(shape, value, path):
    """Required members missing, or values of the wrong type, in the parsed `value` of `shape`."""
    if shape.type_name == "structure" and shape.serialization.get("eventstream"):
        return event_stream_problems(shape, value, path)
    if not type_matches(shape, value):
        return [f"{path or 'output'}: expected {shape.type_name}, got {type(value).__name__}"]
    problems = []
    kind = shape.type_name
    if kind == "structure" and not getattr(shape, "is_document_type", False):
        for member in shape.required_members:
            if member not in value:
                problems.append(f"required member {path + '.' if path else ''}{member} missing")
        for member, member_value in value.items():
            if member in shape.members and member_value is not None:
                problems += output_problems(shape.members[member], member_value, f"{path + '.' if path else ''}{member}")
    elif kind == "list":
        for item in value:
            problems += output_problems(shape.member, item, f"{path}[]")
    elif kind == "map":
        for item in value.values():
            problems += output_problems(shape.value, item, f"{path}{{}}")
    return problems


def error_problems(operation, status, code, when):
    """Whether the error `code` (HTTP `status`) is one `operation` models, with the modeled status."""
    modeled = {e.name: e.metadata.get("error", {}).get("httpStatusCode") for e in operation.error_shapes}
    if code not in modeled:
        return [f"{when}: {code} ({status}) is not one of the operation's modeled errors"]
    if modeled[code] is not None and modeled[code] != status:
        return [f"{when}: {code} answered {status}, the model says {modeled[code]}"]
    return []


def dedupe(items):
    return list(dict.fromkeys(items))


# --- AgentCore ---------------------------------------------------------------------------------------


class Prober:
    """Signed raw requests: routes the botocore client would not send (a trailing slash toggled), and
    EC2 actions without the parameters botocore's request handlers insist on."""

    def __init__(self, endpoint, signing_name):
        self.endpoint = endpoint
        self.signing_name = signing_name
        # TCP_NODELAY: botocore writes the headers and the body separately, and without it every
        # request with a body waits for the server's delayed ACK (about 40 ms).
        self.http = URLLib3Session(timeout=10, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])

    def send(self, method, path, body, form=False):
        """(HTTP status, error code or None) of a signed request."""
        request = AWSRequest(method=method, url=self.endpoint + path, data=body)
        if form:
            request.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        elif body:
            request.headers["Content-Type"] = "application/json"
        SigV4Auth(CREDENTIALS, self.signing_name, REGION).add_auth(request)
        response = self.http.send(request.prepare())
        if response.status_code < 300:
            return response.status_code, None
        code = response.headers.get("x-amzn-ErrorType", "").split(":")[0] or None
        if code is None:
            text = response.content.decode("utf-8", "replace")
            match = re.search(r"<Code>([^<]*)</Code>", text)
            if match:
                code = match.group(1)
            else:
                try:
                    document = json.loads(text or "{}")
                    code = document.get("__type") or document.get("code")
                except ValueError:
                    pass
        return response.status_code, code


def probe_path(operation, context):
    """The operation's modeled path and query with unknown ids in its URI members."""
    uri = operation.http["requestUri"]
    path, _, query = uri.partition("?")
    members = operation.input_shape.members if operation.input_shape else {}
    for name, member in members.items():
        if member.serialization.get("location") != "uri":
            continue
        location = member.serialization.get("name", name)
        value = unknown_value(member, name, context)
        path = path.replace("{" + location + "+}", urllib.parse.quote(value, safe="/"))
        path = path.replace("{" + location + "}", urllib.parse.quote(value, safe=""))
    return path, query


def toggle_slash(path):
    return path[:-1] if path.endswith("/") and len(path) > 1 else path + "/"


def probe_route(prober, operation, context):
    """(served, problems) from the modeled route and the same route with its trailing slash toggled."""
    path, query = probe_path(operation, context)
    method = operation.http["method"]
    body = b"" if method in ("GET", "DELETE", "HEAD") else b"{}"
    suffix = "?" + query if query else ""
    answers = {}
    for variant in (path, toggle_slash(path)):
        answers[variant] = prober.send(method, variant + suffix, body)

    def served(answer):
        status, code = answer
        return code not in UNKNOWN_ROUTE_CODES and not (status == 404 and code is None)

    modeled, toggled = answers[path], answers[toggle_slash(path)]
    problems = []
    if not (served(modeled) or served(toggled)):
        return False, []
    slash = "with" if path.endswith("/") else "without"
    if modeled != toggled:
        problems.append(
            f"route: {method} {operation.http['requestUri']} answers {modeled[1] or modeled[0]} {slash} a trailing "
            f"slash but {toggled[1] or toggled[0]} with it toggled"
        )
    for variant, (status, code) in answers.items():
        if status >= 300 and served((status, code)):
            problems += error_problems(operation, status, code, "route probe with unknown ids and body {}")
    return True, dedupe(problems)


def client_for(session, service, endpoint, validate):
    return session.create_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            parameter_validation=validate,
        ),
    )


def call(client, operation, params):
    """(response, None) or (None, (status, code)); a streaming body is read to the end, an event
    stream into the list of its events."""
    try:
        response = getattr(client, xform_name(operation.name))(**params)
    except ClientError as e:
        return None, (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"])
    for key, value in list(response.items()):
        if isinstance(value, StreamingBody):
            response[key] = value.read()
        elif isinstance(value, EventStream):
            response[key] = list(value)
    return response, None


def broken_input(operation, params):
    """(description, params) of an input the model forbids, or None when no cheap one exists."""
    shape = operation.input_shape
    if shape is None:
        return None
    payload = shape.serialization.get("payload")
    for name in shape.required_members:
        member = shape.members[name]
        if member.serialization.get("location") != "uri" and name != payload:
            return f"required {name} left out", {k: v for k, v in params.items() if k != name}
    for name, member in sorted(shape.members.items(), key=lambda m: m[0] not in shape.required_members):
        meta = member.metadata
        if member.type_name == "string" and "pattern" in meta and not re.fullmatch(meta["pattern"], "!"):
            return f"{name} outside its pattern", {**params, name: "!"}
        if member.type_name == "string" and meta.get("min", 0) >= 2:
            return f"{name} shorter than its minimum", {**params, name: "a" * (meta["min"] - 1)}
        if member.type_name in ("integer", "long") and "min" in meta:
            return f"{name} below its minimum", {**params, name: meta["min"] - 1}
    return None


def phase(name):
    for prefix, rank in PHASES:
        if name.startswith(prefix):
            return rank
    return 1


def wait_settled(clients, context):
    """Waits (at most 10 s) while the script's runtime is CREATING or UPDATING."""
    control = clients.get("bedrock-agentcore-control")
    if control is None or "agentRuntimeId" not in context:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            status = control.get_agent_runtime(agentRuntimeId=context["agentRuntimeId"])["status"]
        except ClientError:
            return
        if status not in ("CREATING", "UPDATING"):
            return
        time.sleep(0.05)


def minimal_params(operation, context):
    """The smallest valid input of `operation`, with the ids the script holds (raises Unsupported)."""
    shape = operation.input_shape
    if shape is None:
        return {}
    params = example(shape, None, context)
    # Ids the script holds go in even where optional: InvokeAgentRuntime's session id is the one
    # StopRuntimeSession then stops.
    params.update({name: context[name] for name in shape.members if name in context and name not in params})
    return params


def check_operation(service, operation, clients, lenient_clients, context):
    """Steps 2 and 3 for one served AgentCore operation: its problems."""
    problems = []
    client, lenient = clients[service], lenient_clients[service]
    shape = operation.input_shape
    try:
        params = minimal_params(operation, context)
    except Unsupported as e:
        return [f"input: the script cannot build a minimal input ({e})"]

    response, error = call(client, operation, params)
    if error is not None:
        status, code = error
        problems.append(f"minimal valid input answered {code} ({status})")
        problems += error_problems(operation, status, code, "minimal valid input")
    else:
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        expected = operation.http.get("responseCode", 200)
        if status != expected:
            problems.append(f"answered HTTP {status}, the model says {expected}")
        if operation.output_shape is not None:
            body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
            problems += output_problems(operation.output_shape, body, "")
        if operation.name == "CreateAgentRuntime":
            context["agentRuntimeId"] = response.get("agentRuntimeId")
            context["agentRuntimeArn"] = context["resourceArn"] = response.get("agentRuntimeArn")
        if response.get("status") in ("CREATING", "UPDATING"):
            wait_settled(clients, context)

    modeled = {e.name for e in operation.error_shapes}
    uri_members = [n for n, m in (shape.members.items() if shape else []) if m.serialization.get("location") == "uri"]
    if "ResourceNotFoundException" in modeled and uri_members:
        unknown = {**params, **{n: unknown_value(shape.members[n], n, context) for n in uri_members}}
        _, error = call(client, operation, unknown)
        if error is None:
            problems.append(f"unknown {', '.join(uri_members)} accepted")
        else:
            status, code = error
            if code != "ResourceNotFoundException":
                problems.append(f"unknown {', '.join(uri_members)} answered {code} ({status})")
            problems += error_problems(operation, status, code, "unknown id")
    broken = broken_input(operation, params) if "ValidationException" in modeled else None
    if broken is not None:
        what, broken_params = broken
        _, error = call(lenient, operation, broken_params)
        if error is None:
            problems.append(f"broken input ({what}) accepted")
        else:
            status, code = error
            if code != "ValidationException":
                problems.append(f"broken input ({what}) answered {code} ({status})")
            problems += error_problems(operation, status, code, f"broken input ({what})")
    return dedupe(problems)


def agentcore_conformance(session, endpoint):
    models = {name: session.get_service_model(name) for name in AGENTCORE_SERVICES}
    prober = Prober(endpoint, SIGNING_NAME)
    context = dict(BASE_CONTEXT)
    results = {name: {} for name in AGENTCORE_SERVICES}
    served = []
    for service, model in models.items():
        for name in model.operation_names:
            operation = model.operation_model(name)
            is_served, problems = probe_route(prober, operation, context)
            results[service][name] = {"served": is_served, "problems": problems}
            if is_served:
                served.append((service, operation))
    clients = {s: client_for(session, s, endpoint, True) for s in AGENTCORE_SERVICES}
    lenient = {s: client_for(session, s, endpoint, False) for s in AGENTCORE_SERVICES}
    for service, operation in sorted(served, key=lambda s: (phase(s[1].name), s[1].name)):
        problems = check_operation(service, operation, clients, lenient, context)
        results[service][operation.name]["problems"] = dedupe(results[service][operation.name]["problems"] + problems)
    # Step 4 calls each operation with a minimal input built from the ids step 2 made (the injected
    # fault answers before anything is looked up).
    params_of = {}
    for _, operation in served:
        try:
            params_of[operation.name] = minimal_params(operation, context)
        except Unsupported:
            continue
    served = [(s, o) for s, o in served if o.name in params_of]
    return results, modeled_error_conformance(session, served, params_of, results)


# --- every modeled error (step 4) -----------------------------------------------------------------


FAULT_SERVICE = {"bedrock-agentcore-control": "control", "bedrock-agentcore": "data"}


def start_emulator(binary, faults):
    """A fresh emulator with `faults` on a free loopback port: (process, endpoint URL)."""
    args = [binary, "--listen", "127.0.0.1:0", "--no-default-vpc"]
    for fault in faults:
        args += ["--fault", fault]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline().strip()
    match = re.search(r"http://127\.0\.0\.1:[0-9]+", line)
    if not match:
        process.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return process, match.group(0)


def error_member_problems(error_shape, response):
    """The members `error_shape` requires that botocore did not find in the parsed error."""
    problems = []
    for name in error_shape.required_members:
        if name.lower() == "message":
            present = bool(response.get("Error", {}).get("Message") or response.get("message"))
        else:
            present = name in response or name in response.get("Error", {})
        if not present:
            problems.append(f"injected {error_shape.name}: required member {name} missing")
    return problems


def injected_error(client, operation, params, error_shape):
    """Calls `operation` with the emulator told to fail it with `error_shape`: its problems."""
    try:
        response = getattr(client, xform_name(operation.name))(**params)
        for value in response.values():
            if isinstance(value, EventStream):
                list(value)
        return [f"injected {error_shape.name}: the call succeeded"]
    except ClientError as e:
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        code = e.response["Error"]["Code"]
        if code != error_shape.name:
            return [f"injected {error_shape.name}: answered {code} ({status})"]
        return error_problems(operation, status, code, "injected") + error_member_problems(error_shape, e.response)


def modeled_error_conformance(session, served, params_of, results):
    """Step 4: each served operation's modeled errors, injected one round at a time."""
    binary = os.environ.get("AGENTCORE_LOCAL_BIN")
    if not binary:
        return None
    errors = {(s, o.name): sorted(o.error_shapes, key=lambda e: e.name) for s, o in served}
    rounds = max((len(e) for e in errors.values()), default=0)
    answered = modeled = 0
    for k in range(rounds):
        this_round = [(s, o, errors[(s, o.name)][k]) for s, o in served if k < len(errors[(s, o.name)])]
        faults = [f"{FAULT_SERVICE[s]}:{o.name}:{e.name}:1" for s, o, e in this_round]
        process, endpoint = start_emulator(binary, faults)
        try:
            clients = {s: client_for(session, s, endpoint, False) for s in AGENTCORE_SERVICES}
            for service, operation, error_shape in this_round:
                modeled += 1
                problems = injected_error(clients[service], operation, params_of[operation.name], error_shape)
                record = results[service][operation.name]
                record["problems"] = dedupe(record["problems"] + problems)
                if not problems:
                    answered += 1
                    record["errors_answered"] = record.get("errors_answered", []) + [error_shape.name]
        finally:
            process.kill()
            process.wait()
    return {"answered": answered, "modeled": modeled}


# --- EC2 ---------------------------------------------------------------------------------------------


def ec2_conformance(session, endpoint):
    model = session.get_service_model(EC2)
    client = client_for(session, EC2, endpoint, False)
    prober = Prober(endpoint, EC2)
    version = model.api_version

    def probe(name):
        # Raw: botocore's own request handlers need some actions' parameters before anything is sent.
        body = urllib.parse.urlencode({"Action": name, "Version": version}).encode()
        status, code = prober.send("POST", "/", body, form=True)
        if code == "InvalidAction":
            return name, {"served": False, "problems": []}
        if status >= 500:
            return name, {"served": True, "problems": [f"no-parameter call answered {code} ({status})"]}
        if status >= 300:
            return name, {"served": True, "problems": []}
        operation = model.operation_model(name)
        response, error = call(client, operation, {})
        if error is not None:
            return name, {"served": True, "problems": [f"no-parameter call answered {error[1]} ({error[0]}) once"]}
        body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        problems = output_problems(operation.output_shape, body, "") if operation.output_shape else []
        return name, {"served": True, "problems": dedupe(problems)}

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(probe, model.operation_names))


# --- report ------------------------------------------------------------------------------------------


def summarise(operations, in_model):
    for record in operations.values():
        record["ok"] = record["served"] and not record["problems"]
    return {
        "served": sum(1 for r in operations.values() if r["served"]),
        "in_model": in_model,
        "operations": operations,
    }


def coverage_table(services, botocore_version):
    lines = [
        f"| Service (botocore {botocore_version}) | Operations served | Operations in the model | Served without problems |",
        "|---|---:|---:|---:|",
    ]
    for name, service in services.items():
        clean = sum(1 for r in service["operations"].values() if r["ok"])
        lines.append(f"| `{name}` | {service['served']} | {service['in_model']} | {clean} |")
    return "\n".join(lines) + "\n"


def main():
    endpoint = endpoint_from_argv()
    session = botocore.session.get_session()
    results, modeled_errors = agentcore_conformance(session, endpoint)
    results[EC2] = ec2_conformance(session, endpoint)
    services = {
        name: summarise(operations, len(session.get_service_model(name).operation_names))
        for name, operations in results.items()
    }
    table = coverage_table(services, botocore.__version__)
    sys.stderr.write(table)
    emit({"services": services, "coverage_table": table, "modeled_errors": modeled_errors})


if __name__ == "__main__":
    main()
