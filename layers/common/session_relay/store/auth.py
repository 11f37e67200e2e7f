"""The auth repository: scripts and owner API keys, ``pk`` -> ``script#<id>`` or
``apikey#<sha256>`` in the auth table (a key is kept only as its hash, with the scripts it covers and
its scopes)."""

from dataclasses import dataclass
from typing import Any

from session_relay import clock
from session_relay.contract import Identity
from session_relay.store.bans import ban_key, banned
from session_relay.store.table import Table

# What a key may do (PROTOCOL.md section 1, "Extension: scopes"), in the order they are shown.
SCOPES = ("read", "message", "disconnect", "manage")


@dataclass(frozen=True, slots=True)
class ScriptRecord:
    script_id: str
    name: str
    enabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    key_hash: str
    script_ids: tuple[str, ...]
    name: str
    created_at: int
    revoked: bool
    # A key issued before scopes existed (its item has no ``scopes``) may do everything.
    scopes: tuple[str, ...] = SCOPES


def auth_key(kind: str, ident: str) -> dict[str, Any]:
    """``script#<id>`` or ``apikey#<sha256>`` in the auth table."""
    return {"pk": f"{kind}#{ident}"}


def script_from_item(item: dict[str, Any]) -> ScriptRecord:
    return ScriptRecord(
        script_id=item["script_id"],
        name=item["name"],
        enabled=item["enabled"],
        created_at=item["created_at"],
    )


def api_key_from_item(item: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=item["key_id"],
        key_hash=item["key_hash"],
        script_ids=tuple(item["script_ids"]),
        name=item["name"],
        created_at=item["created_at"],
        revoked=item["revoked"],
        scopes=SCOPES if "scopes" not in item else tuple(s for s in SCOPES if s in item["scopes"]),
    )


class Auth:
    """Scripts and owner API keys (table ``auth``)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def get_script(self, script_id: str) -> ScriptRecord | None:
        item = self.table.get(auth_key("script", script_id))
        return None if item is None else script_from_item(item)

    def admission(self, identity: Identity) -> tuple[ScriptRecord | None, bool]:
        """What a handshake needs, in one BatchGetItem (up to 100 keys from one or more tables):
        the script, and whether a ban in force names the identity's ``user_key`` or ``roblox_id`` on it
        (an expired ban not yet deleted by TTL is ignored). A ban costs a handshake no extra round trip.
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html"""
        script_key = auth_key("script", identity.script_id)
        keys = [
            script_key,
            ban_key(identity.script_id, user_key=identity.user_key),
            ban_key(identity.script_id, roblox_id=identity.roblox_id),
        ]
        items = {item["pk"]: item for item in self.table.batch_get(keys)}
        script = items.pop(script_key["pk"], None)
        now_s = clock.now_s()
        return (
            None if script is None else script_from_item(script),
            any(banned(item, now_s) for item in items.values()),
        )

    def put_script(self, script: ScriptRecord) -> None:
        self.table.put(
            {
                **auth_key("script", script.script_id),
                "kind": "script",
                "script_id": script.script_id,
                "name": script.name,
                "enabled": script.enabled,
                "created_at": script.created_at,
            }
        )

    def set_script_enabled(self, script_id: str, enabled: bool) -> bool:
        """Enable or disable a script; False when it does not exist."""
        return self.table.conditional(
            "update_item",
            auth_key("script", script_id),
            "attribute_exists(pk)",
            update="SET enabled = :enabled",
            values={":enabled": enabled},
        ).applied

    def get_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        item = self.table.get(auth_key("apikey", key_hash))
        return None if item is None else api_key_from_item(item)

    def put_api_key(self, key: ApiKeyRecord, replace: bool = False) -> None:
        """Store a key by its hash; refuses to overwrite an existing one unless ``replace``."""
        item = {
            **auth_key("apikey", key.key_hash),
            "kind": "apikey",
            "key_id": key.key_id,
            "key_hash": key.key_hash,
            "script_ids": list(key.script_ids),
            "name": key.name,
            "created_at": key.created_at,
            "revoked": key.revoked,
            "scopes": list(key.scopes),
        }
        self.table.put(item, condition=None if replace else "attribute_not_exists(pk)")

    def list_scripts(self) -> list[ScriptRecord]:
        return sorted((script_from_item(item) for item in self._scan("script")), key=lambda s: s.created_at)

    def list_api_keys(self) -> list[ApiKeyRecord]:
        return sorted((api_key_from_item(item) for item in self._scan("apikey")), key=lambda k: k.created_at)

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke the key with this public id; False when no such key exists."""
        for key in self.list_api_keys():
            if key.key_id == key_id:
                self.table.update(
                    auth_key("apikey", key.key_hash), "SET revoked = :yes", values={":yes": True}
                )
                return True
        return False

    def _scan(self, kind: str) -> list[dict[str, Any]]:
        items = self.table.scan(values={":kind": kind}, FilterExpression="kind = :kind", ConsistentRead=True)
        return list(items)
