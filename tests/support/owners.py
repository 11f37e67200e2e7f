"""Owners: scripts and an API key covering them, written straight to the store."""

import secrets
from dataclasses import dataclass

from session_relay.clock import now_ms
from session_relay.service.access import new_api_key
from session_relay.store import ApiKeyRecord, ScriptRecord, Store


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
