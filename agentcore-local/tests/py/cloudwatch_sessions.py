"""CloudWatch's ActiveSessionCount through boto3 and the AWS CLI (botocore prefers AWS JSON 1.0 for
CloudWatch), against agentcore-local after starting sessions with InvokeAgentRuntime.

Usage: cloudwatch_sessions.py http://127.0.0.1:PORT

Starts two sessions, reads the emulator's own count and service time from `/_local/state`, then asks
GetMetricData (boto3), ListMetrics (boto3 and the CLI) and GetMetricStatistics (the CLI) about the
window around that time, with one bad Period (GetMetricStatistics) and one bad Id (GetMetricData).
Timestamps are the emulator's service time.
"""

import datetime
import json
import os
import subprocess
import sys

from botocore.exceptions import ClientError

from peers_common import CONTAINER_URI, ROLE_ARN, client, emit, endpoint_from_argv, invoke_json, local_state, wait_until

NAMESPACE = "AWS/Bedrock-AgentCore"
METRIC = "ActiveSessionCount"
DIMENSIONS = [{"Name": "Service", "Value": "AgentCore.Runtime"}]


def cli(endpoint, *args):
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    out = subprocess.run(
        [aws, "cloudwatch", *args, "--endpoint-url", endpoint, "--output", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def instant(timestamp):
    """A timestamp as the AWS CLI prints it: ISO 8601, or epoch seconds (v1's default `none` format)."""
    if isinstance(timestamp, (int, float)):
        return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return datetime.datetime.fromisoformat(timestamp)


def main():
    endpoint = endpoint_from_argv()
    control = client("bedrock-agentcore-control", endpoint)
    data = client("bedrock-agentcore", endpoint)
    cloudwatch = client("cloudwatch", endpoint)
    arn = control.create_agent_runtime(
        agentRuntimeName="cloudwatch_sessions",
        agentRuntimeArtifact={"containerConfiguration": {"containerUri": CONTAINER_URI}},
        roleArn=ROLE_ARN,
        networkConfiguration={"networkMode": "PUBLIC"},
        lifecycleConfiguration={"idleRuntimeSessionTimeout": 28800, "maxLifetime": 28800},
    )["agentRuntimeArn"]
    runtime_id = arn.split("/")[-1]
    wait_until("READY", lambda: control.get_agent_runtime(agentRuntimeId=runtime_id)["status"] == "READY")
    for i in range(2):
        invoke_json(data, arn, f"cloudwatch-session-{i:030d}", {"prompt": "hi"})["response"].read()

    state = local_state(endpoint)
    live = state["dataPlane"]["liveSessions"]
    now = datetime.datetime.fromisoformat(state["now"].replace("Z", "+00:00"))
    # A start inside a minute (CloudWatch rounds it down to the minute).
    start = (now - datetime.timedelta(minutes=10)).replace(second=17, microsecond=0)
    end = now + datetime.timedelta(minutes=2)

    metric = {"Namespace": NAMESPACE, "MetricName": METRIC, "Dimensions": DIMENSIONS}
    got = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "live", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Maximum"}}],
        StartTime=start,
        EndTime=end,
        ScanBy="TimestampAscending",
    )
    result = got["MetricDataResults"][0]
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE)["Metrics"]

    try:
        cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=METRIC, Dimensions=DIMENSIONS,
            StartTime=start, EndTime=end, Period=45, Statistics=["Maximum"],
        )
        bad_period = None
    except ClientError as error:
        bad_period = {"code": error.response["Error"]["Code"], "status": error.response["ResponseMetadata"]["HTTPStatusCode"]}

    try:
        cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "Live", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Maximum"}}],
            StartTime=start,
            EndTime=end,
        )
        bad_id = None
    except ClientError as error:
        bad_id = {"code": error.response["Error"]["Code"], "status": error.response["ResponseMetadata"]["HTTPStatusCode"]}

    statistics = cli(
        endpoint, "get-metric-statistics", "--namespace", NAMESPACE, "--metric-name", METRIC,
        "--dimensions", "Name=Service,Value=AgentCore.Runtime",
        "--start-time", start.isoformat(), "--end-time", end.isoformat(),
        "--period", "60", "--statistics", "Maximum", "SampleCount",
    )
    cli_listed = cli(endpoint, "list-metrics", "--namespace", NAMESPACE)["Metrics"]

    emit({
        "protocol": cloudwatch.meta.service_model.resolved_protocol,
        "live": live,
        "get_metric_data": {"id": result["Id"], "label": result["Label"], "status": result["StatusCode"],
                            "values": result["Values"], "timestamps": len(result["Timestamps"])},
        "list_metrics": listed,
        "bad_period": bad_period,
        "bad_id": bad_id,
        "cli_label": statistics["Label"],
        "cli_maxima": [p["Maximum"] for p in statistics["Datapoints"]],
        "cli_units": sorted({p["Unit"] for p in statistics["Datapoints"]}),
        "cli_seconds": sorted({instant(p["Timestamp"]).second for p in statistics["Datapoints"]}),
        "cli_list_metrics": cli_listed,
    })


if __name__ == "__main__":
    main()
