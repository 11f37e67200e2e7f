"""Client frames on the ``$default`` route: hello, ping, functions and reply; anything else gets an
``error`` frame. Answers to the client go out through the Management API of the event's own stage.
"""

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from session_relay import FRAME_LIMIT_BYTES
from session_relay.contract import REASON_INVALID, Outcome, reply_outcome
from session_relay.errors import ReplyRejected, ServiceUnavailable
from session_relay.gateway import Gateway
from session_relay.observability import count, logger
from session_relay.service.connections import session_id_of
from session_relay.store import Store, get_store
from session_relay.websocket.declarations import declare
from session_relay.websocket.events import WebSocketEvent
from session_relay.websocket.floods import ADMIT, EMPTY, FLOOD_REASON, FrameRate
from session_relay.websocket.handshake import answer
from session_relay.wire import parse_json

MAX_MESSAGE_ID_LENGTH = 64
# Why a session closed for flooding ended, as its item records it before the close.
FLOOD_ENDED = "flood"
# A reply refreshes last_seen_at only when the value the message was sent with is older than this:
# under steady messaging a reply then costs one DynamoDB write, and last_seen_at lags by at most this.
LAST_SEEN_RESOLUTION_MS = 60_000


class _BoundedMap:
    """A small thread-safe map that forgets its oldest entries: a connection's session never changes,
    so an execution environment remembers the id that named it (one found through the connection's
    mapping is then not looked up again for every frame)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class Kept:
    """What one execution environment of ``$default`` keeps from frame to frame (its entry module
    holds one): each connection's frame rate, and which session each connection is. On AWS an
    environment runs one frame at a time, and a connection's frames may reach several."""

    def __init__(self, rate: FrameRate | None = None) -> None:
        self.rate = FrameRate() if rate is None else rate
        self.sessions = _BoundedMap(20_000)


class FrameHandler:
    """Handles one client frame; every reply to the client goes out through ``gateway``."""

    def __init__(self, event: WebSocketEvent, store: Store, gateway: Gateway, kept: Kept) -> None:
        self.event = event
        self.store = store
        self.gateway = gateway
        self.connection_id = event.connection_id
        self.kept = kept
        self.rate = kept.rate
        self._unrecorded: ServiceUnavailable | None = None  # why a reply could not be recorded

    def handle(self) -> dict[str, Any]:
        if self.rate.is_closed(self.connection_id):  # closed for flooding: this frame costs nothing more
            return answer(200)
        document = self._document()
        try:
            # A reply the server accepts costs no token, so it is recorded before the rate is asked.
            if not self._accepted_reply(document) and self._admitted():
                self._handle(document)
        except ServiceUnavailable as exc:  # the frame was not acted on: say so rather than crash
            logger.warning("frame not handled", extra={"error": exc.message})
            self._error(f"{exc.message}; the frame was not handled")
        return answer(200)

    def _admitted(self) -> bool:
        """Take a token; with none left, close the connection for flooding (once, whoever finds it empty)."""
        arrived_ms = self.event.request_context.request_time_epoch
        verdict = self.rate.take(self.connection_id, None if arrived_ms is None else arrived_ms / 1000)
        if verdict == EMPTY and self.rate.close(self.connection_id):
            self._close_for_flooding()
        return verdict == ADMIT

    def _handle(self, document: dict[str, Any] | str) -> None:
        if isinstance(document, str):  # not understood
            self._error(document)
            self._touch()  # last_seen_at counts every frame that reaches the server, understood or not
            return
        action = document.get("action")
        if action == "hello":
            self._hello()
        elif action == "ping":
            self._ping()
        elif action == "reply":
            self._refused_reply(document)
        elif action == "functions":
            self._send(declare(document, lambda names: self._on_session(self.store.sessions.declare, names)))
        else:
            self._touch()
            self._error("unknown action: expected hello, ping, functions or reply")

    def _document(self) -> dict[str, Any] | str:
        """The frame's JSON object, or why it is not one (the text of the ``error`` frame)."""
        body = self.event.body or ""
        if self.event.is_base64_encoded:
            try:
                body = base64.b64decode(body, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return "frames must be UTF-8 JSON text"
        if len(body.encode()) > FRAME_LIMIT_BYTES:
            return f"frame over the {FRAME_LIMIT_BYTES}-byte limit"
        try:
            document = parse_json(body)
        except ValueError:
            return "frame is not valid JSON"
        if not isinstance(document, dict):
            return "frame must be a JSON object with an action"
        return document

    def _on_session[T](self, write: Callable[..., T | None], *args: Any) -> T | None:
        """``write(session_id, *args)`` on this connection's session: its answer, or None (or what
        falsy ``write`` answered) when the connection has no session.

        The session id is derived from the event (``session_id_of``), so a frame costs no read to find
        its session. A session whose id was not derived so (one created by a ``$connect`` that ran
        before ids were, still connected across a deploy) is found through the connection's mapping
        (one GetItem) when the derived id names none; so is every session for an event without
        ``connectedAt``. The id that worked is kept for the connection's next frames here."""
        kept = self.kept.sessions.get(self.connection_id)
        if kept is not None:
            return write(kept, *args)
        derived = session_id_of(self.connection_id, self.event.request_context.connected_at)
        if derived is not None:
            answer = write(derived, *args)
            if answer:
                self.kept.sessions.put(self.connection_id, derived)
                return answer
        mapped = self.store.sessions.session_id_for_connection(self.connection_id)
        if mapped is None or mapped == derived:
            return None
        self.kept.sessions.put(self.connection_id, mapped)
        return write(mapped, *args)

    def _touch(self) -> Any:
        return self._on_session(self.store.sessions.touch)

    def _hello(self) -> None:
        session = self._touch()
        if session is None:
            self._error("this connection has no session")
        else:
            self._send({"type": "hello", "session": session.as_dict()})

    def _ping(self) -> None:
        # The template's ping route answers pings in API Gateway itself (no Lambda, no DynamoDB);
        # one that reaches this function anyway (a stage without that route) gets the same pong.
        self._send({"type": "pong"})

    def _accepted_reply(self, document: dict[str, Any] | str) -> bool:
        """Record a reply frame; True when the server accepted it (then it is done, and costs nothing)."""
        if isinstance(document, str) or document.get("action") != "reply":
            return False
        message_id = document.get("id")
        if not _usable_id(message_id):
            return False
        outcome = reply_outcome(document)
        recorded = outcome or Outcome(processed=False, reason=REASON_INVALID)
        try:
            stored = self.store.messages.record_reply(self.connection_id, message_id, recorded)
        except ReplyRejected:
            return False
        except ServiceUnavailable as exc:  # not accepted: it counts, and says so if admitted
            self._unrecorded = exc
            return False
        if stored.replied_at - stored.seen_at >= LAST_SEEN_RESOLUTION_MS:
            self.store.sessions.touch(stored.session_id)
        if outcome is None:
            count("RepliesMalformed")
            self._error("malformed reply: needs processed, and response or a known reason")
        return True

    def _refused_reply(self, document: dict[str, Any]) -> None:
        """A reply frame the server did not accept, admitted by the rate: tell the client."""
        message_id = document.get("id")
        if not _usable_id(message_id):
            self._touch()
            self._error("reply needs the id of the message it answers")
        elif self._unrecorded is not None:
            raise self._unrecorded
        else:
            self._touch()
            self._error(f"reply to {message_id} ignored: no message waiting for it on this connection")

    def _close_for_flooding(self) -> None:
        count("ConnectionsFlooding")
        logger.warning("connection closed for flooding", extra={"connection_id": self.connection_id})
        self._mark_ended(FLOOD_ENDED)
        self._send({"type": "disconnect", "reason": FLOOD_REASON})
        try:
            self.gateway.close(self.connection_id)
        except ServiceUnavailable:  # the connection's next frame tries the close again
            logger.warning("could not close a flooding connection")
            self.rate.retry_close(self.connection_id)

    def _mark_ended(self, reason: str) -> None:
        """Write why the session ends on its item before the close (the change stream reads it from the
        delete's old image); best effort: the close matters more."""
        try:
            self._on_session(self.store.sessions.mark_ended, reason)
        except ServiceUnavailable:
            logger.warning("why the session ended was not recorded", extra={"reason": reason})

    def _error(self, message: str) -> None:
        self._send({"type": "error", "error": message})

    def _send(self, frame: dict[str, Any]) -> None:
        # An answer to a connection that is gone or unreachable is dropped: the client has left.
        try:
            self.gateway.post(self.connection_id, frame)
        except ServiceUnavailable:
            logger.warning("could not answer the client", extra={"frame_type": frame["type"]})


def _usable_id(message_id: Any) -> bool:
    return isinstance(message_id, str) and 0 < len(message_id) <= MAX_MESSAGE_ID_LENGTH


def closed_for_flooding(event: Any, kept: Kept) -> bool:
    """True for a frame of a connection this execution environment closed for flooding (checked on
    the raw event, before anything else is done with it)."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    connection_id = context.get("connectionId") if isinstance(context, dict) else None
    return isinstance(connection_id, str) and kept.rate.is_closed(connection_id)


def handle_frame(
    event: WebSocketEvent, kept: Kept, store: Store | None = None, gateway: Gateway | None = None
) -> Any:
    """Handle a client frame on the ``$default`` route, in the execution environment that keeps ``kept``."""
    return FrameHandler(event, store or get_store(), gateway or event.gateway(), kept).handle()
