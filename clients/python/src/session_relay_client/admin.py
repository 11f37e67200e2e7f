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
from dataclasses import dataclass
from typing import Any

from session_relay_client.auth_table import (
    LOCAL_AUTH_TABLE,
    AdminError,
    AuthTable,
    Target,
    call,
    item_key,
    now_ms,
    open_store,
    scan,
    stack_auth_table,
    to_item,
)

# What a key may do (PROTOCOL.md section 1, "Extension: scopes"), in the order they are shown.
SCOPES = ("read", "message", "disconnect", "manage")
API_KEY_PREFIX = "sr_"

__all__ = [
    "API_KEY_PREFIX",
    "LOCAL_AUTH_TABLE",
    "SCOPES",
    "AdminError",
    "ApiKeyRecord",
    "AuthTable",
    "NewKey",
    "ScriptRecord",
    "Target",
    "create_key",
    "create_script",
    "hash_api_key",
    "list_keys",
    "list_scripts",
    "open_store",
    "revoke_key",
    "set_script_enabled",
    "stack_auth_table",
]


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
    record = ScriptRecord(script_id=script_id, name=name, enabled=True, created_at=now_ms())
    item = {"kind": "script", "script_id": script_id, "name": name, "enabled": True}
    written = call(
        "creating the script",
        store,
        "put_item",
        Item={**item_key("script", script_id), **to_item({**item, "created_at": record.created_at})},
        ConditionExpression="attribute_not_exists(pk)",
    )
    if written is None:
        raise AdminError(f"script {script_id} already exists")
    return record


def _script_exists(store: AuthTable, script_id: str) -> bool:
    found = call("reading scripts", store, "get_item", Key=item_key("script", script_id), ConsistentRead=True)
    return "Item" in found


def list_scripts(store: AuthTable) -> list[ScriptRecord]:
    scripts = (_script(item) for item in scan("listing scripts", store, "script"))
    return sorted(scripts, key=lambda script: script.created_at)


def set_script_enabled(store: AuthTable, script_id: str, enabled: bool) -> None:
    written = call(
        "updating the script",
        store,
        "update_item",
        Key=item_key("script", script_id),
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
        created_at=now_ms(),
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
    written = call(
        "storing the key",
        store,
        "put_item",
        Item={**item_key("apikey", record.key_hash), **to_item(item)},
        ConditionExpression="attribute_not_exists(pk)",
    )
    if written is None:  # a SHA-256 collision of fresh random keys: never in practice
        raise AdminError("storing the key failed: try again")
    return NewKey(api_key=api_key, record=record)


def list_keys(store: AuthTable) -> list[ApiKeyRecord]:
    keys = (_api_key(item) for item in scan("listing keys", store, "apikey"))
    return sorted(keys, key=lambda key: key.created_at)


def revoke_key(store: AuthTable, key_id: str) -> None:
    for key in list_keys(store):
        if key.key_id == key_id:
            call(
                "revoking the key",
                store,
                "update_item",
                Key=item_key("apikey", key.key_hash),
                UpdateExpression="SET revoked = :yes",
                ExpressionAttributeValues={":yes": {"BOOL": True}},
            )
            return
    raise AdminError(f"no API key {key_id}")
