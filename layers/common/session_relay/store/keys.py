"""The key layout the sessions and messages share in the connections table, and the rule every read
applies to ``expires_at`` (the tables' TTL attribute, epoch seconds): TTL deletion can lag, so an
expired item reads as absent."""

from typing import Any

SESSION_ITEM = "session"
MESSAGE_PREFIX = "message#"
PENDING, ANSWERED = "pending", "answered"


def live(item: dict[str, Any], now_s: int) -> bool:
    return "expires_at" not in item or item["expires_at"] > now_s


def session_key(session_id: str) -> dict[str, Any]:
    return {"id": session_id}


def mapping_key(connection_id: str) -> dict[str, Any]:
    """The connections-table item that maps a connection to its session."""
    return {"connection_id": connection_id, "item": SESSION_ITEM}


def message_key(connection_id: str, message_id: str) -> dict[str, Any]:
    return {"connection_id": connection_id, "item": MESSAGE_PREFIX + message_id}
