"""The messaging engine: send a message, wait for the reply, collect many; disconnect sessions.

Every wait is a poll of DynamoDB (no process outlives a request). The poll interval starts short
and grows, so a prompt reply costs one or two reads and a slow one stays cheap.
"""

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from session_relay import FRAME_LIMIT_BYTES
from session_relay.errors import PayloadTooLarge, ServiceUnavailable
from session_relay.gateway import Gateway
from session_relay.models import REASON_NO_RESPONSE, REASON_NOT_FOUND, Outcome
from session_relay.observability import count, logger
from session_relay.settings import Settings
from session_relay.store import SessionRecord, Store, now_ms
from session_relay.wire import dump_json

FIRST_POLL_S = 0.01
POLL_GROWTH = 1.5
MAX_POLL_S = 0.25
# Kept back from the Lambda's remaining time so the answer is sent before the function is killed.
LAMBDA_MARGIN_S = 1.0
# How long after a message's stored deadline (epoch ms) bulk polling continues: covers clock steps.
DEADLINE_MARGIN_S = 0.05
DISCONNECT_FRAME = {"type": "disconnect", "reason": "disconnected by the script owner"}

NO_RESPONSE = Outcome(processed=False, reason=REASON_NO_RESPONSE)
NOT_FOUND = Outcome(processed=False, reason=REASON_NOT_FOUND)

_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    """A bounded pool for concurrent Management API calls, kept for the container's life."""
    with _pool_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="post")
        return _pools[workers]


def new_message_id() -> str:
    return secrets.token_urlsafe(16)


class MessageFrames:
    """The ``message`` frames of one call: ``data`` and ``key`` are serialized once, then each frame
    is the same text around its own id (ids all have the same length, so every frame's size is
    known up front and checked once)."""

    def __init__(self, key: str, data: Any) -> None:
        self._head = '{"type":"message","id":"'
        self._tail = f'","key":{dump_json(key)},"data":{dump_json(data)}}}'
        size = len(self._head.encode()) + len(new_message_id()) + len(self._tail.encode())
        if size > FRAME_LIMIT_BYTES:
            raise PayloadTooLarge(
                f"the message frame would be {size} bytes, over the {FRAME_LIMIT_BYTES}-byte frame limit"
            )

    def frame(self, message_id: str) -> str:
        return self._head + message_id + self._tail


def check_frame_fits(key: str, data: Any) -> None:
    """Refuse (413) a message whose frame would not fit, before any session is looked up."""
    MessageFrames(key, data)


class Messenger:
    """Sends messages and disconnects sessions through one store and one gateway."""

    def __init__(
        self,
        store: Store,
        gateway: Gateway,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.settings = settings
        self.clock = clock
        self.sleep = sleep

    def wait_budget_s(self, timeout_s: float | None, remaining_ms: int | None) -> float:
        """How long a call may wait: the requested timeout, capped by the deployment's maximum
        wait and by the Lambda's remaining time less a margin (seconds, never negative)."""
        budget = min(timeout_s or self.settings.max_wait_s, self.settings.max_wait_s)
        if remaining_ms is not None:
            budget = min(budget, remaining_ms / 1000 - LAMBDA_MARGIN_S)
        return max(0.0, budget)

    # ---------------------------------------------------------------- one session

    def message(self, record: SessionRecord, key: str, data: Any, budget_s: float) -> Outcome:
        """Send ``key``/``data`` to one session and wait up to ``budget_s`` for its reply."""
        message_id = new_message_id()
        frame = MessageFrames(key, data).frame(message_id)
        if budget_s <= 0:  # no time left to wait: sending would only strand the client's reply
            count("MessagesTimedOut")
            return NO_RESPONSE
        connection_id = record.connection_id
        started = self.clock()
        deadline = started + budget_s
        self.store.put_message(record, message_id, now_ms() + int(budget_s * 1000))
        count("MessagesSent")
        try:
            delivered = self.gateway.post(connection_id, frame)
        except ServiceUnavailable:
            self.store.delete_messages([(connection_id, message_id)])
            raise
        if not delivered:
            self._forget_dead([record])
            return NO_RESPONSE
        interval = FIRST_POLL_S
        while True:
            self.sleep(max(0.0, min(interval, deadline - self.clock())))
            interval = min(interval * POLL_GROWTH, MAX_POLL_S)
            try:
                exists, outcome = self.store.read_outcome(connection_id, message_id)
            except ServiceUnavailable:  # the message is out: a failed poll is no news, keep waiting
                exists, outcome = True, None
            if outcome is not None:
                self._count_answer(outcome, started)
                return outcome
            if not exists:  # $disconnect cleared the connection: the client went away
                count("MessagesClientGone")
                return NO_RESPONSE
            if self.clock() >= deadline:
                outcome = self.store.withdraw_message(connection_id, message_id)
                if outcome is not None:  # the reply won the race against the deadline
                    self._count_answer(outcome, started)
                    return outcome
                count("MessagesTimedOut")
                return NO_RESPONSE

    # ---------------------------------------------------------------- many sessions

    def message_many(
        self,
        session_ids: list[str],
        records: dict[str, SessionRecord],
        key: str,
        data: Any,
        budget_s: float,
    ) -> list[dict[str, Any]]:
        """Message every found session concurrently; one entry per requested id, in request order."""
        message_ids = {session_id: new_message_id() for session_id in records}
        frames = MessageFrames(key, data)
        started = self.clock()
        # Polled until just after the stored deadline, past which no reply can be recorded any more,
        # so deleting what is still pending at the end cannot discard an accepted reply.
        deadline = started + budget_s + DEADLINE_MARGIN_S
        outcomes: dict[str, Outcome] = {}
        targets = [(records[sid], message_ids[sid]) for sid in session_ids if sid in records]
        if budget_s <= 0:  # no time left to wait: nothing is sent, every found session times out
            targets = []
        if targets:
            self.store.put_messages(targets, now_ms() + int(budget_s * 1000))
            count("MessagesSent", len(targets))
        delivered = self._post_all([(record, frames.frame(message_id)) for record, message_id in targets])
        dead = [record for record, _ in targets if delivered[record.session.id] is False]
        undeliverable = [(r.connection_id, m) for r, m in targets if delivered[r.session.id] is None]
        if dead:
            self._forget_dead(dead)
        if undeliverable:
            self.store.delete_messages(undeliverable)
        waiting = {
            (record.connection_id, message_id): record.session.id
            for record, message_id in targets
            if delivered[record.session.id]
        }
        interval = FIRST_POLL_S
        while waiting:
            self.sleep(max(0.0, min(interval, deadline - self.clock())))
            interval = min(interval * POLL_GROWTH, MAX_POLL_S)
            try:
                polled = self.store.read_outcomes(list(waiting))
            except ServiceUnavailable:  # the messages are out: a failed poll is no news, keep waiting
                polled = dict.fromkeys(waiting)
            for pair in list(waiting):
                if pair not in polled:
                    outcomes[waiting.pop(pair)] = NO_RESPONSE
                elif (outcome := polled[pair]) is not None:
                    outcomes[waiting.pop(pair)] = outcome
            if waiting and self.clock() >= deadline:
                self.store.delete_messages(list(waiting))
                count("MessagesTimedOut", len(waiting))
                break
        processed = sum(outcome.processed for outcome in outcomes.values())
        count("MessagesProcessed", processed)
        entries = []
        for session_id in session_ids:
            outcome = NOT_FOUND if session_id not in records else outcomes.get(session_id, NO_RESPONSE)
            entries.append({"session_id": session_id, **outcome.as_contract()})
        return entries

    def _post_all(self, frames: list[tuple[SessionRecord, str]]) -> dict[str, bool | None]:
        """Post concurrently. Per session: True delivered, False gone (410), None gateway failure."""

        def post(item: tuple[SessionRecord, str]) -> bool | None:
            record, frame = item
            try:
                return self.gateway.post(record.connection_id, frame)
            except ServiceUnavailable:
                logger.warning("post failed", extra={"session_id": record.session.id})
                return None

        if len(frames) == 1:
            return {frames[0][0].session.id: post(frames[0])}
        results = _pool(self.settings.post_workers).map(post, frames)
        return {record.session.id: result for (record, _), result in zip(frames, results, strict=True)}

    # ---------------------------------------------------------------- disconnect

    def disconnect(self, records: list[SessionRecord]) -> list[str]:
        """Send each session a ``disconnect`` frame (best effort), close its connection and delete
        it. Returns the ids disconnected; a session whose close failed is left as it was."""

        def close(record: SessionRecord) -> bool:
            with suppress(ServiceUnavailable):  # the frame is best effort; the close is what counts
                self.gateway.post(record.connection_id, DISCONNECT_FRAME)
            try:
                self.gateway.close(record.connection_id)
            except ServiceUnavailable:
                logger.warning("close failed", extra={"session_id": record.session.id})
                return False
            return True

        if len(records) == 1:
            closed = [close(records[0])]
        else:
            closed = list(_pool(self.settings.post_workers).map(close, records))
        done = [record for record, ok in zip(records, closed, strict=True) if ok]
        self.store.delete_sessions(done)
        count("SessionsDisconnected", len(done))
        return [record.session.id for record in done]

    def _forget_dead(self, records: list[SessionRecord]) -> None:
        """Connections the gateway no longer knows (410): delete their sessions and messages."""
        for record in records:
            self.store.drop_connection(record.connection_id)
        count("SessionsGone", len(records))

    def _count_answer(self, outcome: Outcome, started: float) -> None:
        name = "MessagesProcessed" if outcome.processed else "MessagesNotProcessed"
        count(name)
        count("ReplyLatency", (self.clock() - started) * 1000, MetricUnit.Milliseconds)
