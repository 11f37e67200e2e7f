"""Broadcasts for the REST API: start one (``202`` at once, whatever its size), read it, page its
responses, cancel it, list the key's. The work itself runs on the queue (``broadcasts_worker``);
why it is shaped this way: docs/design.md, "Broadcasts"."""

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from session_relay import MAX_MESSAGE_TIMEOUT_S
from session_relay.clock import now_ms
from session_relay.errors import NotFound, RecordExists, ServiceUnavailable, TooManyCalls
from session_relay.observability import logger
from session_relay.service.access import Principal
from session_relay.service.broadcasts_queue import WorkQueue
from session_relay.service.broadcasts_views import (
    START,
    BroadcastAccepted,
    BroadcastCancelled,
    BroadcastPage,
    BroadcastShown,
    ResponsesPage,
    broadcast_object,
    decode_position,
    encode_position,
    final_prefix,
    settle,
)
from session_relay.service.calls import Call, deadline
from session_relay.service.delivery import MessageFrames, new_message_id
from session_relay.service.idempotency import derived_id, idempotency_key, run_once
from session_relay.service.messaging import Retry, Send
from session_relay.settings import Settings
from session_relay.store import Store
from session_relay.store.broadcasts import BroadcastRecord
from session_relay.wire import dump_json

RETRY_AFTER_S = 5
# A shard of outcome items takes this many writes a second, well under DynamoDB's 1,000 per partition.
WRITES_PER_SHARD = 500
_WAIT_POLL_S = 0.5
_POSTING_POLL_S = 0.02
NOT_FOUND = "broadcast not found"
# Broadcast ids are 32 lowercase hex digits; anything else cannot exist and is never looked up.
_BROADCAST_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class Order:
    """What a broadcast does: ``action`` ("message" or "disconnect") to the sessions matching
    ``filter``, with ``send`` (key, data, timeout) for a message."""

    action: str
    filter: dict[str, Any]
    send: Send | None = None


class Broadcasts:
    """Starts and reads broadcasts through one store and one work queue."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        queue: Callable[[], WorkQueue],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.settings = settings
        self.queue = queue
        self.clock = clock
        self.sleep = sleep

    # ---------------------------------------------------------------- POST

    def start(self, caller: Principal, order: Order, call: Call, retry: Retry) -> BroadcastAccepted:
        """``POST /broadcasts/message`` and ``/broadcasts/disconnect``: the frame's size (413), the retry
        key (422), a running slot (429), then the broadcast item and its planning message."""
        if order.send is not None:
            MessageFrames(order.send.key, order.send.data)
        key = idempotency_key(retry.header)
        if key is None:
            return self._start(caller, order, new_message_id())
        broadcast_id = derived_id(caller.key_id, key, retry.request)

        def run() -> dict[str, Any]:
            return self._start(caller, order, broadcast_id).body()

        return BroadcastAccepted(
            run_once(caller.key_id, key, retry.request, run, call.lambda_context)["broadcast_id"]
        )

    def _start(self, caller: Principal, order: Order, broadcast_id: str) -> BroadcastAccepted:
        record = self._record(caller, order, broadcast_id)
        broadcasts = self.store.broadcasts
        if not broadcasts.take_slot(caller.key_id, broadcast_id, self.settings.max_broadcasts_per_key):
            cap = self.settings.max_broadcasts_per_key
            raise TooManyCalls(
                f"this API key already runs {cap} broadcasts, the most this deployment allows; nothing was "
                f"sent, retry after {RETRY_AFTER_S} s",
                retry_after_s=RETRY_AFTER_S,
            )
        try:
            broadcasts.create(record)
        except RecordExists:  # an earlier attempt of this idempotent call got this far
            earlier = broadcasts.get(broadcast_id)
            if earlier is None or earlier.done:  # that one's slot was given back: this one holds none
                broadcasts.free_slot(caller.key_id, broadcast_id)
            return BroadcastAccepted(broadcast_id)
        except ServiceUnavailable:
            broadcasts.free_slot(caller.key_id, broadcast_id)
            raise
        try:
            self.queue().send({"k": "plan", "b": broadcast_id, "next": 0, "found": 0})
        except ServiceUnavailable:
            broadcasts.discard(broadcast_id)
            broadcasts.free_slot(caller.key_id, broadcast_id)
            raise
        return BroadcastAccepted(broadcast_id)

    def _record(self, caller: Principal, order: Order, broadcast_id: str) -> BroadcastRecord:
        send = order.send
        return BroadcastRecord(
            id=broadcast_id,
            owner=caller.key_id,
            action=order.action,
            filter=order.filter,
            scripts=tuple(sorted(caller.script_ids)),
            created_at=now_ms(),
            shards=max(1, math.ceil(self.settings.broadcast_post_rate / WRITES_PER_SHARD)),
            key=send.key if send else None,
            data=dump_json(send.data) if send else None,
            timeout_ms=int((send.timeout_s or MAX_MESSAGE_TIMEOUT_S) * 1000) if send else None,
        )

    def action_of(self, caller: Principal, broadcast_id: str) -> str:
        """The caller's broadcast's action (404 for another key's, an unknown or expired id)."""
        return self._owned(caller, broadcast_id).action

    def cancel(self, caller: Principal, broadcast_id: str) -> BroadcastCancelled:
        """``POST /broadcasts/{id}/cancel``: no frame is sent after it answers."""
        record = self._owned(caller, broadcast_id)
        if record.done:
            return BroadcastCancelled()
        self.store.broadcasts.cancel(record.id)
        # Groups of posts that read the flag before it was set end before this answers: no frame
        # is sent after it (each group announces itself before reading the flag).
        while any(until_ms > now_ms() for until_ms in self.store.broadcasts.postings(record.id)):
            self.sleep(_POSTING_POLL_S)
        return BroadcastCancelled()

    # ---------------------------------------------------------------- GET

    def read(self, caller: Principal, broadcast_id: str, wait_s: float, call: Call) -> BroadcastShown:
        """``GET /broadcasts/{id}?wait=``: held until done or ``wait_s`` passes."""
        record = self._owned(caller, broadcast_id)
        until = deadline(self.settings, wait_s, call, self.clock).wait_end(0) if wait_s > 0 else self.clock()
        while True:
            chunks = self.store.broadcasts.chunks(record.id)
            shown = broadcast_object(record, chunks)
            if shown["done"]:
                try:
                    settle(self.store, record, chunks)
                except ServiceUnavailable:  # the worker's own settle tries again (broadcast.done)
                    logger.warning("broadcast not settled by a read", extra={"broadcast_id": record.id})
            left = until - self.clock()
            if shown["done"] or left <= 0:
                return BroadcastShown(shown)
            self.sleep(min(_WAIT_POLL_S, left))
            record = self._owned(caller, broadcast_id)

    def responses(
        self, caller: Principal, broadcast_id: str, limit: int, cursor: str | None
    ) -> ResponsesPage:
        """``GET /broadcasts/{id}/responses``: decided sessions, each exactly once across the pages."""
        after = decode_position(cursor) if cursor is not None else START
        record = self._owned(caller, broadcast_id)
        chunks = self.store.broadcasts.chunks(record.id)
        done = broadcast_object(record, chunks)["done"]
        items = self.store.broadcasts.outcomes(record, after, final_prefix(chunks), limit)
        entries = [
            {"session_id": item["item"].split("#", 2)[2], **json.loads(item["outcome"])} for item in items
        ]
        last = items[-1]["item"] if items else after
        more = len(items) == limit or not done
        return ResponsesPage(entries, encode_position(last) if more else None)

    def page(self, caller: Principal, limit: int, cursor: str | None) -> BroadcastPage:
        """``GET /broadcasts``: the key's broadcasts, newest first."""
        records, next_cursor = self.store.broadcasts.page(caller.key_id, limit, cursor)
        shown = [broadcast_object(record, self.store.broadcasts.chunks(record.id)) for record in records]
        return BroadcastPage(shown, next_cursor)

    def _owned(self, caller: Principal, broadcast_id: str) -> BroadcastRecord:
        """The caller's live broadcast, or the one 404 for another key's, an unknown or expired id."""
        record = self.store.broadcasts.get(broadcast_id) if _BROADCAST_ID.fullmatch(broadcast_id) else None
        if record is None or record.owner != caller.key_id:
            raise NotFound(NOT_FOUND)
        return record
