"""``$connect`` creates a session for a valid identity of an enabled script, ``$disconnect`` forgets
the connection."""

from typing import Any

from session_relay.contract import InvalidField, parse_identity
from session_relay.errors import ServiceUnavailable
from session_relay.observability import count, logger
from session_relay.service.connections import forget_connection, new_session_id
from session_relay.store import Store, get_store
from session_relay.websocket.events import WebSocketEvent


def answer(status: int, message: str | None = None) -> dict[str, Any]:
    """What a WebSocket route function returns to API Gateway."""
    return {"statusCode": status, "body": message or ""}


def connect(event: WebSocketEvent, store: Store | None = None) -> dict[str, Any]:
    """Create the session, or refuse the handshake: 400 for a wrong identity field, 403 for an unknown
    or disabled script or a banned ``user_key`` or ``roblox_id``, 503 when the store is unavailable (the
    client retries later). The script and both possible bans are one BatchGetItem."""
    store = store or get_store()
    try:
        identity = parse_identity(event.query or {})
    except InvalidField as exc:
        return answer(400, exc.sentence)
    try:
        script, banned = store.auth.admission(identity)
        if script is None or not script.enabled:
            return answer(403, "unknown or disabled script")
        if banned:
            count("HandshakesBanned")
            return answer(403, "banned from this script")
        session_id = new_session_id(event.connection_id, event.request_context.connected_at)
        session = store.sessions.create(session_id, identity, event.connection_id)
    except ServiceUnavailable as exc:
        logger.warning("handshake refused", extra={"error": exc.message})
        return answer(503, exc.message)
    count("SessionsConnected")
    logger.info("session connected", extra={"session_id": session.id, "script_id": session.script_id})
    return answer(200)


def disconnect(event: WebSocketEvent, store: Store | None = None) -> dict[str, Any]:
    """Forget the connection: its session and every message still waiting on it."""
    session_id = forget_connection(store or get_store(), event.connection_id)
    if session_id is not None:
        count("SessionsDisconnected")
        logger.info("session closed", extra={"session_id": session_id})
    return answer(200)
