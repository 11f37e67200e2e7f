"""The floor under one answered message: its DynamoDB and Management API calls, each timed alone."""

import os
import statistics
import time
from typing import Any

import boto3
from session_relay.aws import DYNAMODB_CONFIG, MANAGEMENT_CONFIG
from session_relay.store.keys import session_key
from session_relay.store.messages import OUTCOME_PROJECTION
from session_relay.store.table import BATCH_GET_LIMIT, BATCH_WRITE_LIMIT, serialize

from session_relay_tools.local.database_process import DatabaseClient
from session_relay_tools.local.process import RunningStack


def management_endpoint(stack: RunningStack) -> str:
    """The local WebSocket gateway's HTTP side (its Management API and call counters)."""
    return stack.ws_url.replace("ws://", "http://")


def floor_of(samples: dict[str, list[float]]) -> dict[str, Any]:
    """The floor from ``floor_samples``: each operation's median (ms) and their sum."""
    medians = {name: round(statistics.median(values), 2) for name, values in samples.items()}
    return {"operations_ms": medians, "total_ms": round(sum(medians.values()), 2)}


def floor_samples(stack: RunningStack, session_id: str, repeats: int) -> dict[str, list[float]]:
    """The requests one answered message makes as the design makes them (a warm call under the
    default cap: the lease pair included), each timed alone ``repeats`` times (ms)."""
    management_url = management_endpoint(stack)
    dynamodb = _dynamodb(stack)
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
    leases = iter(range(repeats + 1))
    released = iter(range(repeats + 1))
    operations = {
        "GetItem session": lambda: dynamodb.get_item(
            TableName=sessions, Key=session_key, ConsistentRead=True
        ),
        "UpdateItem lease acquire": lambda: _lease(dynamodb, connections, next(leases), acquire=True),
        "PutItem message": lambda: dynamodb.put_item(TableName=connections, Item=message_item),
        "PostToConnection": lambda: management.post_to_connection(
            ConnectionId=connection_id, Data=b'{"type":"pong"}'
        ),
        # As the reply handler writes it: conditional on a pending message before its deadline,
        # returning the item as it was; each repetition answers a message of its own.
        "UpdateItem reply": lambda: dynamodb.update_item(
            TableName=connections,
            Key=next(pending),
            UpdateExpression="SET #s = :a, reply = :r",
            ConditionExpression="#s = :p AND deadline_ms >= :now",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":a": {"S": "answered"},
                ":p": {"S": "pending"},
                ":r": {"S": '{"processed":true,"response":1}'},
                ":now": {"N": "1"},
            },
            ReturnValues="ALL_OLD",
        ),
        "GetItem poll": lambda: dynamodb.get_item(
            TableName=connections, Key=message_key, ConsistentRead=True
        ),
        "UpdateItem lease release": lambda: _lease(dynamodb, connections, next(released), acquire=False),
    }
    pending = iter(_pending_messages(dynamodb, connections, repeats + 1))
    return _samples(operations, repeats)


def _lease(dynamodb: Any, table: str, index: int, acquire: bool) -> Any:
    """A lease taken or given back as ``store.leases`` writes it: one conditional UpdateItem each."""
    key = {"connection_id": {"S": "inflight#floor-bench"}, "item": {"S": "leases"}}
    names = {"#lease": f"lease_{index}"}
    if acquire:
        return dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #lease = :expires, expires_at = :ttl ADD held :one",
            ConditionExpression="attribute_not_exists(held) OR held < :cap",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                ":expires": {"N": "99999999999999"},
                ":ttl": {"N": "99999999999"},
                ":one": {"N": "1"},
                ":cap": {"N": "100000"},
            },
        )
    return dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="REMOVE #lease ADD held :minus",
        ConditionExpression="attribute_exists(#lease)",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={":minus": {"N": "-1"}},
    )


SESSIONS_READ = f"BatchGetItem of {BATCH_GET_LIMIT} sessions"
POLL = f"BatchGetItem poll of {BATCH_GET_LIMIT} messages"
MESSAGES_WRITE = f"BatchWriteItem of {BATCH_WRITE_LIMIT} messages"


def bulk_floor(stack: RunningStack, session_ids: list[str], repeats: int = 20) -> dict[str, float]:
    """What a bulk message's batched calls cost the embedded DynamoDB (median, ms): a read of 100 of
    ``session_ids`` (live sessions) as a bulk call reads its targets, a poll of 100 messages as the
    delivery core reads them, and a write of 25 messages."""
    dynamodb = _dynamodb(stack)
    connections, sessions = stack.table("ConnectionsTable"), stack.table("SessionsTable")
    session_keys = [serialize(session_key(session_id)) for session_id in session_ids[:BATCH_GET_LIMIT]]
    keys = _pending_messages(dynamodb, connections, BATCH_GET_LIMIT, "bulk-floor")
    writes = [{"PutRequest": {"Item": _message(f"bulk-write-{i}", "x")}} for i in range(BATCH_WRITE_LIMIT)]
    operations = {
        SESSIONS_READ: lambda: dynamodb.batch_get_item(
            RequestItems={sessions: {"Keys": session_keys, "ConsistentRead": True}}
        ),
        POLL: lambda: dynamodb.batch_get_item(
            RequestItems={connections: {"Keys": keys, "ConsistentRead": True, **OUTCOME_PROJECTION}}
        ),
        MESSAGES_WRITE: lambda: dynamodb.batch_write_item(RequestItems={connections: writes}),
    }
    return _medians(operations, repeats)


def _message(connection_id: str, message_id: str) -> dict[str, Any]:
    return {
        "connection_id": {"S": connection_id},
        "item": {"S": f"message#{message_id}"},
        "status": {"S": "pending"},
        "session_id": {"S": "0" * 32},
        "deadline_ms": {"N": "99999999999999"},
        "seen_at": {"N": "1"},
        "expires_at": {"N": "1"},
    }


def _pending_messages(dynamodb: Any, table: str, count: int, prefix: str = "floor") -> list[dict[str, Any]]:
    """``count`` pending messages written to ``table``; their keys."""
    items = [_message(f"{prefix}-{index}", "pending") for index in range(count)]
    for start in range(0, count, BATCH_WRITE_LIMIT):
        chunk = items[start : start + BATCH_WRITE_LIMIT]
        dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}} for item in chunk]})
    return [{"connection_id": item["connection_id"], "item": item["item"]} for item in items]


def _samples(operations: dict[str, Any], repeats: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    for name, operation in operations.items():
        operation()
        samples[name] = []
        for _ in range(repeats):
            started = time.perf_counter()
            operation()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def _medians(operations: dict[str, Any], repeats: int) -> dict[str, float]:
    return floor_of(_samples(operations, repeats))["operations_ms"]


def _dynamodb(stack: RunningStack) -> Any:
    return handlers_path(stack)[0]


def handlers_path(stack: RunningStack) -> tuple[Any, str]:
    """A DynamoDB client on the path the stack's handlers take to its database, and which path that
    is: ``"socket"`` (the embedded database's Unix socket, unsigned, as the handlers' requests go) or
    ``"http"`` (a database the stack does not run: its endpoint, as the handlers reach it too)."""
    client = boto3.client(
        "dynamodb", endpoint_url=stack.dynamodb_endpoint, config=DYNAMODB_CONFIG, **_credentials()
    )
    if stack.database_socket is None or not os.path.exists(stack.database_socket):
        return client, "http"
    DatabaseClient(stack.database_socket).serve(client)
    return client, "socket"


def _credentials() -> dict[str, str]:
    return {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
