"""Operator tasks on the auth table (scripts and owner API keys), straight through the Store.

Where the tables are: a deployed stack's CloudFormation outputs (``--stack``), an explicit auth
table name (``--table``), or the local stack's DynamoDB (``--dynamodb-endpoint``), whose tables
carry the local prefix.
"""

import secrets
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from session_relay.clock import now_ms
from session_relay.errors import ServiceUnavailable
from session_relay.service.access import new_api_key
from session_relay.settings import Settings
from session_relay.store import ApiKeyRecord, ScriptRecord, Store
from session_relay.store.auth import SCOPES

from session_relay_tools.local.stack import TABLE_PREFIX

# The CloudFormation outputs (template.yaml) and the template's logical table ids.
TABLE_OUTPUTS = {
    "sessions_table": "SessionsTableName",
    "connections_table": "ConnectionsTableName",
    "auth_table": "AuthTableName",
}
LOCAL_TABLES = {
    "sessions_table": TABLE_PREFIX + "SessionsTable",
    "connections_table": TABLE_PREFIX + "ConnectionsTable",
    "auth_table": TABLE_PREFIX + "AuthTable",
}
# The local stack runs with these when the environment has none (stack._environment_defaults).
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
# An operator at a prompt wants a clear answer soon, not boto3's long default retries.
CLI_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=15)


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


def _session(target: Target) -> boto3.Session:
    session = boto3.Session(region_name=target.region)
    if target.endpoint is None:
        return session
    # A local DynamoDB takes any credentials, but the region must be the stack's.
    credentials = {} if session.get_credentials() is not None else LOCAL_CREDENTIALS
    return boto3.Session(region_name=session.region_name or LOCAL_REGION, **credentials)


def _translated(action: str, exc: Exception) -> AdminError:
    if isinstance(exc, ServiceUnavailable) and isinstance(exc.__cause__, BotoCoreError | ClientError):
        exc = exc.__cause__  # the store's general 503 sentence hides what an operator needs to know
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return AdminError(f"{action} failed: {error.get('Message') or error.get('Code') or exc}")
    return AdminError(f"{action} failed: {exc}")


def stack_tables(stack: str, session: boto3.Session) -> dict[str, str]:
    """The table names a deployed stack publishes in its outputs."""
    try:
        cloudformation = session.client("cloudformation", config=CLI_CONFIG)
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise _translated(f"reading stack {stack!r}", exc) from exc
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    missing = [name for name in TABLE_OUTPUTS.values() if name not in outputs]
    if missing:
        raise AdminError(f"stack {stack!r} has no output {', '.join(missing)}: is it a Session Relay stack?")
    return {field: outputs[name] for field, name in TABLE_OUTPUTS.items()}


def open_store(target: Target) -> Store:
    """A Store on the target's tables (admin commands only touch the auth table)."""
    if target.stack and target.table:
        raise AdminError("give --stack or --table, not both")
    if not (target.stack or target.table or target.endpoint):
        raise AdminError(
            "say where the auth table is: --stack NAME (deployed), --table NAME, "
            "or --dynamodb-endpoint URL (local stack)"
        )
    try:
        session = _session(target)
        if target.stack:
            tables = stack_tables(target.stack, session)
        elif target.table:
            # Only the auth table is used here; the others are never read.
            tables = dict.fromkeys(TABLE_OUTPUTS, target.table)
        else:
            tables = LOCAL_TABLES
        client = session.client("dynamodb", endpoint_url=target.endpoint, config=CLI_CONFIG)
    except BotoCoreError as exc:  # no region, unknown profile, bad endpoint URL
        raise _translated("connecting to DynamoDB", exc) from exc
    return Store(client, Settings(**tables))


def _guarded(action: str, store: Store, method: str, *args: Any) -> Any:
    """Call a method of the Store's auth repository, turning AWS failures into one sentence."""
    try:
        return getattr(store.auth, method)(*args)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise AdminError(f"{action} failed: there is no table {store.auth.table.name}") from exc
        raise _translated(action, exc) from exc
    except (BotoCoreError, ServiceUnavailable) as exc:
        raise _translated(action, exc) from exc


# ---------------------------------------------------------------- scripts


def create_script(store: Store, name: str, script_id: str | None = None) -> ScriptRecord:
    """Register an enabled script; its id is random unless given (an existing id is refused)."""
    script_id = script_id or "script_" + secrets.token_hex(6)
    if _guarded("reading scripts", store, "get_script", script_id) is not None:
        raise AdminError(f"script {script_id} already exists")
    record = ScriptRecord(script_id=script_id, name=name, enabled=True, created_at=now_ms())
    _guarded("creating the script", store, "put_script", record)
    return record


def list_scripts(store: Store) -> list[ScriptRecord]:
    return _guarded("listing scripts", store, "list_scripts")


def set_script_enabled(store: Store, script_id: str, enabled: bool) -> None:
    if not _guarded("updating the script", store, "set_script_enabled", script_id, enabled):
        raise AdminError(f"no script {script_id}")


# ---------------------------------------------------------------- API keys


@dataclass(frozen=True)
class NewKey:
    """A key just issued: ``api_key`` is the only time the secret exists outside its hash."""

    api_key: str
    record: ApiKeyRecord


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
    store: Store, script_ids: list[str], name: str = "", scopes: list[str] | None = None
) -> NewKey:
    """Issue a key for existing scripts, with these scopes (all four when None); only its SHA-256
    hash is stored."""
    scripts = list(dict.fromkeys(script_ids))
    if not scripts:
        raise AdminError("name at least one script: --script ID")
    allowed = key_scopes(scopes)
    for script_id in scripts:
        if _guarded("reading scripts", store, "get_script", script_id) is None:
            raise AdminError(f"no script {script_id}")
    api_key, key_hash, key_id = new_api_key()
    record = ApiKeyRecord(
        key_id=key_id,
        key_hash=key_hash,
        script_ids=tuple(scripts),
        name=name,
        created_at=now_ms(),
        revoked=False,
        scopes=allowed,
    )
    _guarded("storing the key", store, "put_api_key", record)
    return NewKey(api_key=api_key, record=record)


def list_keys(store: Store) -> list[ApiKeyRecord]:
    return _guarded("listing keys", store, "list_api_keys")


def revoke_key(store: Store, key_id: str) -> None:
    if not _guarded("revoking the key", store, "revoke_api_key", key_id):
        raise AdminError(f"no API key {key_id}")
