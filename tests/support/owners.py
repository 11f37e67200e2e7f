"""Owners: scripts and an API key covering them, written straight to the store, or on a running stack
the way an operator makes them (the admin commands)."""

import secrets
from dataclasses import dataclass

from session_relay.clock import now_ms
from session_relay.service.access import new_api_key
from session_relay.store import ApiKeyRecord, ScriptRecord, Store
from session_relay_client import admin

from support.environment import REGION


@dataclass(frozen=True)
class Owner:
    api_key: str
    key_id: str
    script_ids: tuple[str, ...]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def script_id(self) -> str:
        return self.script_ids[0]


def make_owner(
    store: Store,
    *script_ids: str,
    enabled: bool = True,
    revoked: bool = False,
    name: str = "unit test",
    scopes: tuple[str, ...] | None = None,
) -> Owner:
    """Register the scripts (new ones enabled unless told otherwise; one made up if none is given)
    and issue an API key covering them, with these scopes (all four when None)."""
    script_ids = script_ids or (f"script-{secrets.token_hex(4)}",)
    for script_id in script_ids:
        if store.auth.get_script(script_id) is None:
            store.auth.put_script(
                ScriptRecord(script_id=script_id, name=script_id, enabled=enabled, created_at=now_ms())
            )
    api_key, key_hash, key_id = new_api_key()
    store.auth.put_api_key(
        ApiKeyRecord(
            key_id=key_id,
            key_hash=key_hash,
            script_ids=script_ids,
            name=name,
            created_at=now_ms(),
            revoked=revoked,
            **({} if scopes is None else {"scopes": scopes}),
        )
    )
    return Owner(api_key=api_key, key_id=key_id, script_ids=script_ids)


@dataclass(frozen=True)
class OwnerKey:
    """A script and an API key for it alone, on a running stack."""

    script_id: str
    api_key: str


def operator_owner(stack, name: str) -> OwnerKey:
    """Another script on ``stack`` (anything with a ``dynamodb_endpoint``) and an API key for it alone,
    made the way an operator does (admin commands), both named ``name``."""
    store = admin.open_store(admin.Target(endpoint=stack.dynamodb_endpoint, region=REGION))
    script = admin.create_script(store, name)
    return OwnerKey(script.script_id, admin.create_key(store, [script.script_id], name=name).api_key)
