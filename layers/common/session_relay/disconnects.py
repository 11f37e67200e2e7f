"""Disconnecting sessions so that the answer says exactly what was done (PROTOCOL.md, disconnect).

A session is disconnected in three steps:
1. hide: its record is marked expired (one batch write for all), so from here on it reads as gone
   everywhere (lookups, listings, messages: 404) although it still exists;
2. close: the client is sent a ``disconnect`` frame (best effort) and its connection is closed;
3. delete: its records are deleted (the store retries; if that still fails, the expired record is
   removed by the ``$disconnect`` event the close causes, or by TTL, and reads already treat it as
   gone).
A failure in step 1 changes nothing (503). A session whose close fails in step 2 is un-hidden and
left as it was. Every session reported disconnected is closed and answers 404 afterwards.
"""

from contextlib import suppress

from session_relay.errors import ServiceUnavailable
from session_relay.gateway import Gateway
from session_relay.observability import count, logger
from session_relay.pool import run_all
from session_relay.store import SessionRecord, Store

DISCONNECT_FRAME = {"type": "disconnect", "reason": "disconnected by the script owner"}


def disconnect_sessions(
    store: Store, gateway: Gateway, workers: int, records: list[SessionRecord]
) -> list[str]:
    """Disconnect these sessions; returns the ids of those now closed and gone, in the given order.

    Raises ``ServiceUnavailable`` only when nothing was changed."""
    if not records:
        return []
    store.hide_sessions(records)  # raises: nothing was changed

    def close(record: SessionRecord) -> bool:
        with suppress(ServiceUnavailable):  # the frame is best effort; the close is what counts
            gateway.post(record.connection_id, DISCONNECT_FRAME)
        try:
            gateway.close(record.connection_id)
        except ServiceUnavailable:
            logger.warning("close failed", extra={"session_id": record.session.id})
            return False
        return True

    closed = run_all(close, records, workers)
    done = [record for record, ok in zip(records, closed, strict=True) if ok]
    kept = [record for record, ok in zip(records, closed, strict=True) if not ok]
    if kept:
        try:
            store.unhide_sessions(kept)
        except ServiceUnavailable:  # two faults in a row: connected but unlisted until they reconnect
            logger.warning("hidden sessions not restored", extra={"count": len(kept)})
    if done:
        try:
            store.delete_sessions(done)
        except ServiceUnavailable:  # closed and hidden already: $disconnect or TTL removes them
            logger.warning("disconnected sessions not deleted yet", extra={"count": len(done)})
    count("SessionsDisconnected", len(done))
    return [record.session.id for record in done]
