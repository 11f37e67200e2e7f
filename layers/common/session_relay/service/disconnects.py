"""Disconnecting sessions so that the answer says exactly what was done (PROTOCOL.md, disconnect).

Three steps: hide (every read treats the sessions as gone; a failure here changes nothing: 503), close
(a ``disconnect`` frame, best effort, then the close; a session whose close fails is un-hidden and left
as it was), delete (if that fails, ``$disconnect`` or TTL removes the hidden record).
"""

from contextlib import suppress

from session_relay.errors import ServiceUnavailable
from session_relay.gateway import Gateway
from session_relay.observability import count, logger
from session_relay.service.access import Principal, Selection, owned_session, targets
from session_relay.service.calls import Call, in_flight
from session_relay.service.pool import run_all
from session_relay.service.results import Disconnected
from session_relay.settings import Settings
from session_relay.store import SessionRecord, Store

NOT_CLOSED = "the WebSocket gateway is unavailable; the session was not disconnected"
# Why a session ends (stored on its item for the change stream) -> the reason its client is told.
OWNER, BANNED = "owner", "banned"
DISCONNECT_REASONS = {OWNER: "disconnected by the script owner", BANNED: "banned"}


class Disconnects:
    """Closes sessions for their owner, through one store and one gateway."""

    def __init__(self, store: Store, gateway: Gateway, settings: Settings) -> None:
        self.store = store
        self.gateway = gateway
        self.settings = settings

    def one(self, caller: Principal, session_id: str, call: Call) -> None:
        """``POST /sessions/{id}/disconnect``: 404 for none of the caller's; 503 when not closed."""
        with in_flight(self.store, self.settings, caller, call):
            record = owned_session(self.store, caller, session_id)
            if not self.sessions([record]):
                raise ServiceUnavailable(NOT_CLOSED)

    def many(self, caller: Principal, selection: Selection, call: Call) -> Disconnected:
        """``POST /sessions/disconnect``, by ``session_ids`` or by ``filter``."""
        selection.check()
        with in_flight(self.store, self.settings, caller, call):
            found = targets(self.store, caller, selection)
            records = found.found()
            return Disconnected(self.sessions(records) if records else [], found.paging)

    def sessions(self, records: list[SessionRecord], reason: str = OWNER) -> list[str]:
        """Disconnect these sessions (``reason``: ``owner`` or ``banned``, stored on each item and told to
        its client); the ids of those now closed and gone, in the given order. Raises
        ``ServiceUnavailable`` only when nothing was changed."""
        if not records:
            return []
        self.store.sessions.hide(records, reason)  # raises: nothing was changed
        frame = {"type": "disconnect", "reason": DISCONNECT_REASONS[reason]}
        closed = run_all(lambda record: self._close(record, frame), records, self.settings.post_workers)
        done = [record for record, ok in zip(records, closed, strict=True) if ok]
        kept = [record for record, ok in zip(records, closed, strict=True) if not ok]
        if kept:
            try:
                self.store.sessions.unhide(kept)
            except ServiceUnavailable:  # two faults in a row: connected but unlisted until they reconnect
                logger.warning("hidden sessions not restored", extra={"count": len(kept)})
        if done:
            try:
                self.store.sessions.delete(done)
            except ServiceUnavailable:  # closed and hidden already: $disconnect or TTL removes them
                logger.warning("disconnected sessions not deleted yet", extra={"count": len(done)})
        count("SessionsDisconnected", len(done))
        return [record.session.id for record in done]

    def _close(self, record: SessionRecord, frame: dict[str, str]) -> bool:
        with suppress(ServiceUnavailable):  # the frame is best effort; the close is what counts
            self.gateway.post(record.connection_id, frame)
        try:
            self.gateway.close(record.connection_id)
        except ServiceUnavailable:
            logger.warning("close failed", extra={"session_id": record.session.id})
            return False
        return True
