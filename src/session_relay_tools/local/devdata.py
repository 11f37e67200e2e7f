"""Start-of-run housekeeping for the local stack, through the same store the handlers use."""

from session_relay.clock import now_ms
from session_relay.service.access import hash_api_key, new_api_key
from session_relay.service.connections import forget_connection
from session_relay.store import ApiKeyRecord, ScriptRecord, get_store


def forget_dead_sessions() -> int:
    """No connection survives a restart: drop every session left in a persistent DynamoDB."""
    store = get_store()
    connection_ids = store.sessions.connections_with_sessions()
    for connection_id in connection_ids:
        forget_connection(store, connection_id)
    return len(connection_ids)


def register_dev_credentials(script_id: str, api_key: str | None) -> str:
    """Make sure the development script exists and ``api_key`` covers it; returns the key."""
    store = get_store()
    if store.auth.get_script(script_id) is None:
        store.auth.put_script(
            ScriptRecord(script_id=script_id, name="development", enabled=True, created_at=now_ms())
        )
    if api_key is None:
        api_key, key_hash, key_id = new_api_key()
    else:
        key_hash, key_id = hash_api_key(api_key), "key_dev"
    existing = store.auth.get_api_key(key_hash)
    if existing is None or script_id not in existing.script_ids or existing.revoked:
        scripts = tuple(sorted({script_id, *(existing.script_ids if existing else ())}))
        record = ApiKeyRecord(
            key_id=existing.key_id if existing else key_id,
            key_hash=key_hash,
            script_ids=scripts,
            name="development",
            created_at=now_ms(),
            revoked=False,
        )
        store.auth.put_api_key(record, replace=existing is not None)
    return api_key
