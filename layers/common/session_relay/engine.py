"""The messaging engine: send a message, wait for the reply, collect many; disconnect sessions.

Every wait is a poll of DynamoDB (no process outlives a request). The poll interval starts short
and grows, so a prompt reply costs one or two reads and a slow one stays cheap. Every wait ends in
time for what follows it (``session_relay.deadlines``), and at its end a message still pending is
withdrawn conditionally: a reply that won that race is the answer, one that lost it is refused.
"""

import secrets
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from session_relay import FRAME_LIMIT_BYTES
from session_relay.contract import REASON_NO_RESPONSE, REASON_NOT_FOUND, Outcome
from session_relay.deadlines import LAMBDA_MARGIN_S, Deadline, plan
from session_relay.disconnects import disconnect_sessions
from session_relay.errors import PayloadTooLarge, ServiceUnavailable
from session_relay.gateway import Gateway
from session_relay.observability import count, logger
from session_relay.pool import run_all
from session_relay.settings import Settings
from session_relay.store import SessionRecord, Store
from session_relay.wire import dump_json

__all__ = ["LAMBDA_MARGIN_S", "Messenger", "check_frame_fits"]

FIRST_POLL_S = 0.01
POLL_GROWTH = 1.5
MAX_POLL_S = 0.25

NO_RESPONSE = Outcome(processed=False, reason=REASON_NO_RESPONSE)
NOT_FOUND = Outcome(processed=False, reason=REASON_NOT_FOUND)

Pair = tuple[str, str]  # (connection id, message id)


def new_message_id() -> str:
    """128 random bits in lowercase hex: an id never starts with ``-``, so a command line never
    reads one as an option, and it needs no escaping in a URL path."""
    return secrets.token_hex(16)


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

    def deadline(
        self, timeout_s: float | None, remaining_ms: int | None, arrival_epoch_ms: int | None = None
    ) -> Deadline:
        """The call's deadline: its wait budget, and the answer due before the integration timeout
        (counted from the request's arrival) and before the Lambda's own timeout."""
        wait_s = self.wait_budget_s(timeout_s, remaining_ms)
        timeout_ms = self.settings.integration_timeout_ms
        return plan(wait_s, timeout_ms, arrival_epoch_ms, remaining_ms, clock=self.clock)

    # ---------------------------------------------------------------- one session

    def message(self, record: SessionRecord, key: str, data: Any, deadline: Deadline) -> Outcome:
        """Send ``key``/``data`` to one session and wait until ``deadline`` for its reply."""
        message_id = new_message_id()
        frame = MessageFrames(key, data).frame(message_id)
        if not deadline.can_send(1):  # no reply could be recorded in time: sending would strand it
            count("MessagesTimedOut")
            return NO_RESPONSE
        connection_id = record.connection_id
        started = self.clock()
        wait_end = deadline.wait_end(1)
        self.store.put_message(record, message_id, deadline.stored_deadline_ms(1))
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
            self.sleep(max(0.0, min(interval, wait_end - self.clock())))
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
            if self.clock() >= wait_end:
                outcome = self._withdraw_all({(connection_id, message_id): record.session.id})
                outcome = outcome[record.session.id]
                if outcome is not NO_RESPONSE:  # the reply won the race against the deadline
                    self._count_answer(outcome, started)
                return outcome

    # ---------------------------------------------------------------- many sessions

    def message_many(
        self,
        session_ids: list[str],
        records: dict[str, SessionRecord],
        key: str,
        data: Any,
        deadline: Deadline,
    ) -> list[dict[str, Any]]:
        """Message every found session concurrently; one entry per requested id, in request order."""
        message_ids = {session_id: new_message_id() for session_id in records}
        frames = MessageFrames(key, data)
        outcomes: dict[str, Outcome] = {}
        targets = [(records[sid], message_ids[sid]) for sid in session_ids if sid in records]
        if not deadline.can_send(len(targets)):  # no reply could be recorded in time: send nothing
            targets = []
        wait_end = deadline.wait_end(len(targets))
        if targets:
            self.store.put_messages(targets, deadline.stored_deadline_ms(len(targets)))
            count("MessagesSent", len(targets))
        delivered = self._post_all([(record, frames.frame(message_id)) for record, message_id in targets])
        dead = [(r, m) for r, m in targets if delivered[r.session.id] is False]
        undeliverable = [(r.connection_id, m) for r, m in targets if delivered[r.session.id] is None]
        if dead:
            self._forget_dead_in_batches(dead)
        if undeliverable:
            self.store.delete_messages(undeliverable)
        waiting = {
            (record.connection_id, message_id): record.session.id
            for record, message_id in targets
            if delivered[record.session.id]
        }
        interval = FIRST_POLL_S
        while waiting:
            self.sleep(max(0.0, min(interval, wait_end - self.clock())))
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
            if waiting and self.clock() >= wait_end:
                outcomes.update(self._withdraw_all(waiting))
                break
        count("MessagesProcessed", sum(outcome.processed for outcome in outcomes.values()))
        entries = []
        for session_id in session_ids:
            outcome = NOT_FOUND if session_id not in records else outcomes.get(session_id, NO_RESPONSE)
            entries.append({"session_id": session_id, **outcome.as_contract()})
        return entries

    def _withdraw_all(self, waiting: dict[Pair, str]) -> dict[str, Outcome]:
        """At the end of the wait, withdraw every message still pending, each with a conditional
        delete (BatchWriteItem cannot carry conditions), concurrently through the bounded pool.
        Where a reply won the race, that reply is the outcome; otherwise "client never responded".
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
        """

        def withdraw(pair: Pair) -> Outcome | None:
            try:
                return self.store.withdraw_message(*pair)
            except ServiceUnavailable:  # left pending: its stored deadline refuses any later reply
                logger.warning("withdraw failed", extra={"session_id": waiting[pair]})
                return None

        results = run_all(withdraw, list(waiting), self.settings.post_workers)
        outcomes = {}
        for pair, outcome in zip(waiting, results, strict=True):
            outcomes[waiting[pair]] = outcome or NO_RESPONSE
        timed_out = sum(outcome is None for outcome in results)
        count("MessagesTimedOut", timed_out)
        return outcomes

    def _post_all(self, frames: list[tuple[SessionRecord, str]]) -> dict[str, bool | None]:
        """Post concurrently. Per session: True delivered, False gone (410), None gateway failure."""

        def post(item: tuple[SessionRecord, str]) -> bool | None:
            record, frame = item
            try:
                return self.gateway.post(record.connection_id, frame)
            except ServiceUnavailable:
                logger.warning("post failed", extra={"session_id": record.session.id})
                return None

        results = run_all(post, frames, self.settings.post_workers)
        return {record.session.id: result for (record, _), result in zip(frames, results, strict=True)}

    # ---------------------------------------------------------------- disconnect

    def disconnect(self, records: list[SessionRecord]) -> list[str]:
        """Disconnect these sessions; returns the ids disconnected (``session_relay.disconnects``)."""
        return disconnect_sessions(self.store, self.gateway, self.settings.post_workers, records)

    def _forget_dead(self, records: list[SessionRecord]) -> None:
        """Connections the gateway no longer knows (410): delete their sessions and messages."""
        for record in records:
            self.store.drop_connection(record.connection_id)
        count("SessionsGone", len(records))

    def _forget_dead_in_batches(self, dead: list[tuple[SessionRecord, str]]) -> None:
        """Many dead connections at once: their sessions, mappings and this call's messages are
        deleted in batches (25 a request), not one connection after another. A dead connection's
        other pending messages stay until their own callers meet the 410 or their deadline."""
        try:
            self.store.delete_sessions([record for record, _ in dead])
            self.store.delete_messages([(record.connection_id, message_id) for record, message_id in dead])
        except ServiceUnavailable:  # the answer for them is the same; the sessions expire on their own
            logger.warning("dead sessions not deleted", extra={"count": len(dead)})
        count("SessionsGone", len(dead))

    def _count_answer(self, outcome: Outcome, started: float) -> None:
        name = "MessagesProcessed" if outcome.processed else "MessagesNotProcessed"
        count(name)
        count("ReplyLatency", (self.clock() - started) * 1000, MetricUnit.Milliseconds)
