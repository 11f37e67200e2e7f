"""Where the auth table is (a deployed stack's outputs, a table name, or the local stack's DynamoDB)
and one DynamoDB call on it, its failures turned into one sentence for the terminal."""

import time
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# A Session Relay stack's CloudFormation outputs naming its tables (template.yaml; admin uses the
# auth table's), and the local stack's auth table.
TABLE_OUTPUTS = ("SessionsTableName", "ConnectionsTableName", "AuthTableName")
AUTH_TABLE_OUTPUT = "AuthTableName"
LOCAL_AUTH_TABLE = "session-relay-local-AuthTable"
# The local stack runs with these when the environment has none.
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
# An operator at a prompt wants a clear answer soon, not boto3's long default retries.
CLI_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=15)

_SERIALIZER, _DESERIALIZER = TypeSerializer(), TypeDeserializer()


class AdminError(Exception):
    """An operator mistake or an AWS failure, as one sentence for the terminal."""


@dataclass(frozen=True)
class Target:
    """Where the auth table lives: exactly one of ``stack``, ``table`` or ``endpoint`` (a
    ``table`` may also name a table behind ``endpoint``)."""

    stack: str | None = None
    table: str | None = None
    endpoint: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class AuthTable:
    """The auth table on one DynamoDB client."""

    client: Any
    name: str


def _session(target: Target) -> Any:
    session = boto3.Session(region_name=target.region)
    if target.endpoint is None:
        return session
    # A local DynamoDB takes any credentials, but the region must be the stack's.
    credentials = {} if session.get_credentials() is not None else LOCAL_CREDENTIALS
    return boto3.Session(region_name=session.region_name or LOCAL_REGION, **credentials)


def _translated(action: str, exc: Exception) -> AdminError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return AdminError(f"{action} failed: {error.get('Message') or error.get('Code') or exc}")
    return AdminError(f"{action} failed: {exc}")


def stack_auth_table(stack: str, session: Any) -> str:
    """The auth table's name a deployed stack publishes in its outputs."""
    try:
        cloudformation = session.client("cloudformation", config=CLI_CONFIG)
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise _translated(f"reading stack {stack!r}", exc) from exc
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    missing = [name for name in TABLE_OUTPUTS if name not in outputs]
    if missing:
        raise AdminError(f"stack {stack!r} has no output {', '.join(missing)}: is it a Session Relay stack?")
    return outputs[AUTH_TABLE_OUTPUT]


def open_store(target: Target) -> AuthTable:
    """The target's auth table."""
    if target.stack and target.table:
        raise AdminError("give --stack or --table, not both")
    if not (target.stack or target.table or target.endpoint):
        raise AdminError(
            "say where the auth table is: --stack NAME (deployed), --table NAME, "
            "or --dynamodb-endpoint URL (local stack)"
        )
    try:
        session = _session(target)
        name = stack_auth_table(target.stack, session) if target.stack else target.table or LOCAL_AUTH_TABLE
        client = session.client("dynamodb", endpoint_url=target.endpoint, config=CLI_CONFIG)
    except BotoCoreError as exc:  # no region, unknown profile, bad endpoint URL
        raise _translated("connecting to DynamoDB", exc) from exc
    return AuthTable(client, name)


def call(action: str, store: AuthTable, operation: str, **request: Any) -> Any:
    """One DynamoDB call on the auth table; AWS failures become one sentence (a refused condition
    returns None)."""
    try:
        return getattr(store.client, operation)(TableName=store.name, **request)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "ConditionalCheckFailedException":
            return None
        if code == "ResourceNotFoundException":
            raise AdminError(f"{action} failed: there is no table {store.name}") from exc
        raise _translated(action, exc) from exc
    except BotoCoreError as exc:
        raise _translated(action, exc) from exc


def item_key(kind: str, ident: str) -> dict[str, Any]:
    return {"pk": _SERIALIZER.serialize(f"{kind}#{ident}")}


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def scan(action: str, store: AuthTable, kind: str) -> list[dict[str, Any]]:
    request: dict[str, Any] = {
        "FilterExpression": "kind = :kind",
        "ExpressionAttributeValues": {":kind": {"S": kind}},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        page = call(action, store, "scan", **request)
        items.extend(plain(item) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def now_ms() -> int:
    return int(time.time() * 1000)
