"""``python -m bench.mappings``: how fast the local stack's event source mappings deliver, on the embedded
server ``make dev`` runs (one request at a time): ``--count`` SQS messages through an SQS mapping
(batches of 10) and ``--count`` table writes through a stream mapping (batches of 100), each timed from
the mapping's start to the last record delivered, and what an idle mapping costs the server (requests a
second). Every number comes from this one run; on a loaded machine they move.
"""

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from bench import mapping_counts
from session_relay_tools.local.dynamodb import EmbeddedDynamoDB
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.mappings import LocalMappings
from session_relay_tools.local.process import free_port
from session_relay_tools.template import create_tables

HANDLERS = Path(__file__).parent / "mapping_handlers"
CREDENTIALS = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
TEMPLATE = f"""
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      DefinitionBody:
        paths:
          /{{proxy+}}:
            x-amazon-apigateway-any-method:
              x-amazon-apigateway-integration:
                uri: !Sub "arn:aws:lambda:path/functions/${{Rest.Arn}}/invocations"
  Rest:
    Type: AWS::Serverless::Function
    Properties: {{CodeUri: {HANDLERS}, Handler: app.rest, Timeout: 10}}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {HANDLERS}
      Handler: app.sqs
      Timeout: 10
      Events:
        Work: {{Type: SQS, Properties: {{Queue: !GetAtt Work.Arn, BatchSize: 10}}}}
  Watcher:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {HANDLERS}
      Handler: app.stream
      Timeout: 10
      Events:
        Changes:
          Type: DynamoDB
          Properties: {{Stream: !GetAtt Items.StreamArn, StartingPosition: TRIM_HORIZON, BatchSize: 100}}
  Work:
    Type: AWS::SQS::Queue
    Properties: {{VisibilityTimeout: 60}}
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{{AttributeName: id, AttributeType: S}}]
      KeySchema: [{{AttributeName: id, KeyType: HASH}}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {{StreamViewType: NEW_AND_OLD_IMAGES}}
      TimeToLiveSpecification: {{AttributeName: expires_at, Enabled: true}}
"""


def _run(mappings: LocalMappings, host: FunctionHost, done: Any, timeout_s: float) -> float:
    """Run the mappings until ``done()``; the seconds it took."""

    async def scenario() -> float:
        started = time.monotonic()
        mappings.start(host)
        try:
            while not done() and time.monotonic() - started < timeout_s:
                await asyncio.sleep(0.01)
            return time.monotonic() - started
        finally:
            await mappings.stop()

    return asyncio.run(scenario())


def measure(endpoint: str, directory: Path, count: int) -> dict[str, Any]:
    path = directory / "template.yaml"
    path.write_text(TEMPLATE)
    sqs, dynamodb = (boto3.client(name, endpoint_url=endpoint, **CREDENTIALS) for name in ("sqs", "dynamodb"))
    create_tables(dynamodb, "bench-", path)
    mappings = LocalMappings(endpoint, "bench-", path)
    mappings.prepare()
    host = FunctionHost(path, concurrency=100)
    received = mapping_counts.RECEIVED
    try:
        idle = _idle_requests(mappings, host)
        url = mappings.queues["Work"].url
        for start in range(0, count, 10):
            entries = [{"Id": str(n), "MessageBody": json.dumps({"n": start + n})} for n in range(10)]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        sqs_s = _run(mappings, host, lambda: received["sqs"] >= count, 600)
        for index in range(count):  # written after the SQS run, so the stream run reads only these
            dynamodb.put_item(TableName="bench-Items", Item={"id": {"S": f"item-{index}"}})
        stream_s = _run(mappings, host, lambda: received["stream"] >= count, 600)
    finally:
        host.close()
    return {
        "count": count,
        "sqs_messages_delivered_s": round(sqs_s, 2),
        "stream_records_delivered_s": round(stream_s, 2),
        "received": dict(received),
        "idle_requests_per_s": idle,
    }


def _idle_requests(mappings: LocalMappings, host: FunctionHost, seconds: float = 5) -> dict[str, float]:
    """Requests a second the idle mappings send the server, by operation."""
    counts: Counter[str] = Counter()

    def count(request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target") or b"?"
        counts[target.decode() if isinstance(target, bytes) else target] += 1

    boto3._get_default_session().events.register("before-send", count)
    try:
        _run(mappings, host, lambda: False, seconds)
    finally:
        boto3._get_default_session().events.unregister("before-send", count)
    return {operation: round(number / seconds, 1) for operation, number in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="Throughput of the local event source mappings.")
    parser.add_argument("--count", type=int, default=1000, help="messages, and table writes (default 1000)")
    count = parser.parse_args().count
    server = EmbeddedDynamoDB("127.0.0.1", free_port())
    server.start()
    try:
        with tempfile.TemporaryDirectory() as directory:
            print(json.dumps(measure(f"http://127.0.0.1:{server.port}", Path(directory), count), indent=2))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
