"""One chunk of a broadcast: its sessions posted (or closed) at the worker's share of the post rate,
each exactly once however often SQS delivers the chunk (a guard written before each session's frame;
a retried chunk skips what has a guard), the cancel flag read before each group of posts.

A message chunk ends with its pending messages out and a delayed message that comes back at their
deadline (``due``); a disconnect chunk is decided at once."""

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from session_relay.clock import now_ms
from session_relay.contract import REASON_NOT_FOUND, Outcome
from session_relay.service.access import Principal, owned_sessions
from session_relay.service.broadcasts_views import counter_of
from session_relay.service.delivery import (
    NO_FUNCTION,
    NO_RESPONSE,
    NOT_FOUND,
    DeliveryCore,
    MessageFrames,
    new_message_id,
)
from session_relay.service.disconnects import Disconnects
from session_relay.service.pool import run_all
from session_relay.settings import Settings
from session_relay.store import SessionRecord, Store
from session_relay.store.broadcasts import BroadcastRecord

# A group of posts is what one pacing step sends: a tenth of a second at the worker's rate, longer with
# many workers, so that all of them together announce at most GROUPS_PER_S groups a second (two writes
# each on the broadcast's partition, well under DynamoDB's 1,000 a second per partition).
_GROUP_S = 0.1
GROUPS_PER_S = 250
# The longest a group's posts may take (the gateway's retries of a throttled post included); a worker
# that died mid-group holds a cancel back no longer than this.
POSTING_BOUND_MS = 10_000
_MAX_GROUP = 50


NOT_SENT = "not_sent"
GONE = {"disconnected": False, "reason": REASON_NOT_FOUND}
CLOSED = {"disconnected": True}


@dataclass
class ChunkResult:
    """What a chunk did: counters, the responses entry of each decided session (a session left unsent
    by a cancel has none), and the messages still out (session id -> [connection id, message id,
    deadline ms, its shard of the answered index or None])."""

    counts: dict[str, int] = field(default_factory=dict)
    decided: dict[str, dict[str, Any]] = field(default_factory=dict)
    out: dict[str, list[Any]] = field(default_factory=dict)
    # Sessions whose post the gateway refused (throttled past the gateway's own retries): their guard
    # is lifted and they are posted again later, never counted as a failure.
    again: list[str] = field(default_factory=list)

    def decide(self, session_id: str, outcome: Outcome) -> None:
        """A message's outcome."""
        self.decided[session_id] = outcome.as_contract()
        self.add(counter_of(outcome))

    def closed(self, session_id: str, entry: dict[str, Any], counter: str) -> None:
        """A disconnect's outcome (or a session left unsent: no entry)."""
        if counter != NOT_SENT:
            self.decided[session_id] = entry
        self.add(counter)

    def add(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value
        if name not in ("sent", "n"):
            self.counts["decided"] = self.counts.get("decided", 0) + value


class Pacer:
    """Posts no faster than ``rate`` a second (this worker's share), in groups."""

    def __init__(
        self, rate: float, clock: Callable[[], float], sleep: Callable[[float], None], workers: int = 1
    ) -> None:
        self.rate = rate
        group_s = max(_GROUP_S, workers / GROUPS_PER_S)
        self.group = max(1, min(_MAX_GROUP, math.ceil(rate * group_s - 1e-9)))
        self.clock, self.sleep = clock, sleep
        self.started = clock()
        self.posted = 0

    def wait(self, count: int) -> None:
        """Hold until ``count`` more posts keep within the rate, then count them."""
        ready = self.started + self.posted / self.rate
        if (left := ready - self.clock()) > 0:
            self.sleep(left)
        self.posted += count


class ChunkSender:
    """Delivers one chunk of a broadcast through the delivery core (messages) or the disconnects."""

    def __init__(
        self,
        store: Store,
        core: DeliveryCore,
        disconnects: Disconnects,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.core = core
        self.disconnects = disconnects
        self.settings = settings
        self.sleep = sleep

    def send(self, record: BroadcastRecord, session_ids: list[str], result: ChunkResult) -> ChunkResult:
        """Every session of the chunk handled once: sent, closed, not found, (after a cancel) not sent,
        or left in ``result.again`` to post later; added to ``result`` (what earlier attempts did)."""
        found = owned_sessions(self.store, Principal(record.owner, frozenset(record.scripts)), session_ids)
        message = record.action == "message"
        for session_id in session_ids:
            if session_id not in found:
                result.decide(session_id, NOT_FOUND) if message else result.closed(
                    session_id, GONE, "not_found"
                )
        records = [found[sid] for sid in session_ids if sid in found]
        rate = self.settings.broadcast_post_rate / self.settings.broadcast_concurrency
        pacer = Pacer(rate, self.core.clock, self.sleep, self.settings.broadcast_concurrency)
        frames = MessageFrames(record.key or "", json.loads(record.data or "[]")) if message else None
        for start in range(0, len(records), pacer.group):
            group = records[start : start + pacer.group]
            pacer.wait(len(group))
            if not self._group(record, group, frames, result):
                for session in records[start:]:
                    result.closed(session.session.id, {}, NOT_SENT)
                break
        return result

    def _group(
        self,
        record: BroadcastRecord,
        group: list[SessionRecord],
        frames: MessageFrames | None,
        result: ChunkResult,
    ) -> bool:
        """One group of posts, announced before the cancel flag is read and ended after its last post,
        so a cancel can wait for the groups that read the flag before it was set (False: cancelled)."""
        token = new_message_id()
        self.store.broadcasts.posting(record.id, token, now_ms() + POSTING_BOUND_MS)
        try:
            if self._cancelled(record):
                return False
            if frames is None:
                self._close(record, group, result)
            else:
                self._post(record, group, frames, result)
            return True
        finally:
            self.store.broadcasts.posting(record.id, token, None)

    def _cancelled(self, record: BroadcastRecord) -> bool:
        latest = self.store.broadcasts.get(record.id)
        return latest is None or latest.cancelled

    def _guarded(
        self, record: BroadcastRecord, group: list[SessionRecord], sent: Callable[[SessionRecord], dict]
    ):
        """Write each session's guard; the sessions guarded now, and those a retry finds guarded."""

        def guard(session: SessionRecord) -> tuple[SessionRecord, dict[str, Any], dict[str, Any] | None]:
            fields = sent(session)
            return session, fields, self.store.broadcasts.guard(record.id, session.session.id, fields)

        results = run_all(guard, group, self.settings.post_workers)
        fresh = [(session, fields) for session, fields, prior in results if prior is None]
        earlier = [(session, prior) for session, _, prior in results if prior is not None]
        return fresh, earlier

    def _post(
        self, record: BroadcastRecord, group: list[SessionRecord], frames: MessageFrames, result: ChunkResult
    ) -> None:
        deadline_ms = now_ms() + (record.timeout_ms or 60_000)  # counted from this session's own post
        fresh, earlier = self._guarded(
            record, group, lambda s: {"c": s.connection_id, "m": new_message_id(), "d": deadline_ms}
        )
        for session, prior in earlier:  # handled by an earlier attempt: collected, never posted again
            if prior.get("m"):
                result.out[session.session.id] = [prior["c"], prior["m"], prior["d"], None]
                result.add("sent")
            else:
                result.decide(session.session.id, NO_RESPONSE)
        targets = [(session, fields["m"]) for session, fields in fresh]
        shards = self.core.record(targets, deadline_ms, frames, batch=f"{record.id}#{new_message_id()[:8]}")
        posted = self.core.post(targets, frames, deadline_ms=deadline_ms)
        for (connection_id, message_id), session_id in posted.out.items():
            shard = shards[(connection_id, message_id)]
            result.out[session_id] = [connection_id, message_id, deadline_ms, shard]
            result.add("sent")
        for session_id in posted.gone:
            result.decide(session_id, NOT_FOUND)
        for session_id in posted.undeclared:  # declared its functions without the key: no frame
            result.decide(session_id, NO_FUNCTION)
        if posted.failed:  # not delivered (its message withdrawn): posted again by a later attempt
            self.store.broadcasts.unguard(record.id, list(posted.failed))
            result.again.extend(posted.failed)

    def _close(self, record: BroadcastRecord, group: list[SessionRecord], result: ChunkResult) -> None:
        fresh, earlier = self._guarded(record, group, lambda s: {"c": s.connection_id})
        for session, _ in earlier:  # closed by an earlier attempt
            result.closed(session.session.id, CLOSED, "disconnected")
        closed = set(self.disconnects.sessions([session for session, _ in fresh]))
        for session, _ in fresh:  # one the gateway could not close stays connected: never closed
            sid = session.session.id
            if sid in closed:
                result.closed(sid, CLOSED, "disconnected")
            else:
                result.closed(sid, {}, NOT_SENT)
