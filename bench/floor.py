"""The floor under one answered message: its DynamoDB and Management API calls, each timed alone."""

import statistics
import time
from typing import Any

import boto3
from session_relay.aws import DYNAMODB_CONFIG, MANAGEMENT_CONFIG

from session_relay_tools.local.process import RunningStack


def management_endpoint(stack: RunningStack) -> str:
    """The local WebSocket gateway's HTTP side (its Management API and call counters)."""
    return stack.ws_url.replace("ws://", "http://")


def floor(stack: RunningStack, session_id: str, repeats: int = 200) -> dict[str, Any]:
    """The minimal operations of one answered message, each timed alone (median, ms)."""
    management_url = management_endpoint(stack)
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=stack.dynamodb_endpoint, config=DYNAMODB_CONFIG, **_credentials()
    )
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{management_url}/local",
        config=MANAGEMENT_CONFIG,
        **_credentials(),
    )
    sessions, connections = stack.table("SessionsTable"), stack.table("ConnectionsTable")
    session_key = {"id": {"S": session_id}}
    connection_id = dynamodb.get_item(TableName=sessions, Key=session_key)["Item"]["connection_id"]["S"]
    message_key = {"connection_id": {"S": "floor-bench"}, "item": {"S": "message#floor"}}
    message_item = {**message_key, "status": {"S": "pending"}, "deadline_ms": {"N": "1"}}
    operations = {
        "GetItem session": lambda: dynamodb.get_item(
            TableName=sessions, Key=session_key, ConsistentRead=True
        ),
        "PutItem message": lambda: dynamodb.put_item(TableName=connections, Item=message_item),
        "PostToConnection": lambda: management.post_to_connection(
            ConnectionId=connection_id, Data=b'{"type":"pong"}'
        ),
        "UpdateItem reply": lambda: dynamodb.update_item(
            TableName=connections,
            Key=message_key,
            UpdateExpression="SET #s = :a, reply = :r",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":a": {"S": "answered"},
                ":r": {"S": '{"processed":true,"response":1}'},
            },
        ),
        "UpdateItem last_seen": lambda: dynamodb.update_item(
            TableName=sessions,
            Key=session_key,
            UpdateExpression="SET last_seen_at = last_seen_at",
            ConditionExpression="attribute_exists(id)",
        ),
        "GetItem poll": lambda: dynamodb.get_item(
            TableName=connections, Key=message_key, ConsistentRead=True
        ),
    }
    medians = {}
    for name, operation in operations.items():
        operation()
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            operation()
            samples.append((time.perf_counter() - started) * 1000)
        medians[name] = round(statistics.median(samples), 2)
    return {"operations_ms": medians, "total_ms": round(sum(medians.values()), 2)}


def _credentials() -> dict[str, str]:
    return {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
