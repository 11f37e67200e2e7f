"""Operator tasks on the auth table (scripts and owner API keys), in plain boto3 (the ``admin`` extra).

Where the table is: a deployed stack's CloudFormation outputs (``--stack``), an explicit auth table
name (``--table``), or the local stack's DynamoDB (``--dynamodb-endpoint``), whose table carries the
local prefix.

The items written are the server's own layout (``session_relay.store.auth`` in the repository's
layer defines it; its tests read what is written here through it): ``pk`` is ``script#<id>`` or
``apikey#<sha256 of the key>``, and a key is kept only as its hash.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# What a key may do (PROTOCOL.md section 1, "Extension: scopes"), in the order they are shown.
SCOPES = ("read", "message", "disconnect", "manage")
API_KEY_PREFIX = "sr_"
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
class ScriptRecord:
    script_id: str
    name: str
    enabled: bool
    created_at: int


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    key_hash: str
    script_ids: tuple[str, ...]
    name: str
    created_at: int
    revoked: bool
    # A key issued before scopes existed (its item has no ``scopes``) may do everything.
    scopes: tuple[str, ...] = SCOPES


@dataclass(frozen=True)
class NewKey:
    """A key just issued: ``api_key`` is the only time the secret exists outside its hash."""

    api_key: str
    record: ApiKeyRecord


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


def _call(action: str, store: AuthTable, operation: str, **request: Any) -> Any:
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


def _key(kind: str, ident: str) -> dict[str, Any]:
    return {"pk": _SERIALIZER.serialize(f"{kind}#{ident}")}


def _item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def _scan(action: str, store: AuthTable, kind: str) -> list[dict[str, Any]]:
    request: dict[str, Any] = {
        "FilterExpression": "kind = :kind",
        "ExpressionAttributeValues": {":kind": {"S": kind}},
        "ConsistentRead": True,
    }
    items: list[dict[str, Any]] = []
    while True:
        page = _call(action, store, "scan", **request)
        items.extend(_plain(item) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------- scripts


def _script(item: dict[str, Any]) -> ScriptRecord:
    return ScriptRecord(
        script_id=item["script_id"],
        name=item["name"],
        enabled=item["enabled"],
        created_at=int(item["created_at"]),
    )


def create_script(store: AuthTable, name: str, script_id: str | None = None) -> ScriptRecord:
    """Register an enabled script; its id is random unless given (an existing id is refused)."""
    script_id = script_id or "script_" + secrets.token_hex(6)
    record = ScriptRecord(script_id=script_id, name=name, enabled=True, created_at=_now_ms())
    item = {"kind": "script", "script_id": script_id, "name": name, "enabled": True}
    written = _call(
        "creating the script",
        store,
        "put_item",
        Item={**_key("script", script_id), **_item({**item, "created_at": record.created_at})},
        ConditionExpression="attribute_not_exists(pk)",
    )
    if written is None:
        raise AdminError(f"script {script_id} already exists")
    return record


def _script_exists(store: AuthTable, script_id: str) -> bool:
    found = _call("reading scripts", store, "get_item", Key=_key("script", script_id), ConsistentRead=True)
    return "Item" in found


def list_scripts(store: AuthTable) -> list[ScriptRecord]:
    scripts = (_script(item) for item in _scan("listing scripts", store, "script"))
    return sorted(scripts, key=lambda script: script.created_at)


def set_script_enabled(store: AuthTable, script_id: str, enabled: bool) -> None:
    written = _call(
        "updating the script",
        store,
        "update_item",
        Key=_key("script", script_id),
        UpdateExpression="SET enabled = :enabled",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":enabled": {"BOOL": enabled}},
    )
    if written is None:
        raise AdminError(f"no script {script_id}")


# ---------------------------------------------------------------- API keys


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def _api_key(item: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=item["key_id"],
        key_hash=item["key_hash"],
        script_ids=tuple(item["script_ids"]),
        name=item["name"],
        created_at=int(item["created_at"]),
        revoked=item["revoked"],
        scopes=SCOPES if "scopes" not in item else tuple(s for s in SCOPES if s in item["scopes"]),
    )


def key_scopes(scopes: list[str] | None) -> tuple[str, ...]:
    """The scopes a new key gets, in ``SCOPES`` order: those named (at least one, each one of
    ``SCOPES``), or all four when none is named."""
    if scopes is None:
        return SCOPES
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise AdminError(f"unknown scope {unknown[0]!r}: a scope is one of {', '.join(SCOPES)}")
    if not scopes:
        raise AdminError(f"name at least one scope: --scope {'|'.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in scopes)


def create_key(
    store: AuthTable, script_ids: list[str], name: str = "", scopes: list[str] | None = None
) -> NewKey:
    """Issue a key for existing scripts, with these scopes (all four when None); only its SHA-256
    hash is stored."""
    scripts = list(dict.fromkeys(script_ids))
    if not scripts:
        raise AdminError("name at least one script: --script ID")
    allowed = key_scopes(scopes)
    for script_id in scripts:
        if not _script_exists(store, script_id):
            raise AdminError(f"no script {script_id}")
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        key_id="key_" + secrets.token_hex(6),
        key_hash=hash_api_key(api_key),
        script_ids=tuple(scripts),
        name=name,
        created_at=_now_ms(),
        revoked=False,
        scopes=allowed,
    )
    item = {
        "kind": "apikey",
        "key_id": record.key_id,
        "key_hash": record.key_hash,
        "script_ids": list(record.script_ids),
        "name": record.name,
        "created_at": record.created_at,
        "revoked": False,
        "scopes": list(record.scopes),
    }
    written = _call(
        "storing the key",
        store,
        "put_item",
        Item={**_key("apikey", record.key_hash), **_item(item)},
        ConditionExpression="attribute_not_exists(pk)",
    )
    if written is None:  # a SHA-256 collision of fresh random keys: never in practice
        raise AdminError("storing the key failed: try again")
    return NewKey(api_key=api_key, record=record)


def list_keys(store: AuthTable) -> list[ApiKeyRecord]:
    keys = (_api_key(item) for item in _scan("listing keys", store, "apikey"))
    return sorted(keys, key=lambda key: key.created_at)


def revoke_key(store: AuthTable, key_id: str) -> None:
    for key in list_keys(store):
        if key.key_id == key_id:
            _call(
                "revoking the key",
                store,
                "update_item",
                Key=_key("apikey", key.key_hash),
                UpdateExpression="SET revoked = :yes",
                ExpressionAttributeValues={":yes": {"BOOL": True}},
            )
            return
    raise AdminError(f"no API key {key_id}")
