"""Messages answered later (``"wait": false``): send, return an id at once, read the outcome later.

No Lambda waits for such a message. Sending writes a record (owner, deadline, where each message
went) and the pending messages, posts the frames and returns. The outcome is decided when the
reply lands (the ``$default`` handler records it, as for any message) or, once the deadline has
passed, by whatever reads it: the reader withdraws a message still pending *conditionally*, so a
reply racing the deadline is either the outcome or refused, and every later read agrees. A read
never reports "pending" after the deadline.
"""

import time
from collections.abc import Callable
from typing import Any

from session_relay import MAX_MESSAGE_TIMEOUT_S
from session_relay.contract import Outcome
from session_relay.engine import (
    FIRST_POLL_S,
    MAX_POLL_S,
    NO_RESPONSE,
    NOT_FOUND,
    POLL_GROWTH,
    MessageFrames,
    Messenger,
    new_message_id,
)
from session_relay.errors import ServiceUnavailable
from session_relay.observability import count, logger
from session_relay.pool import run_all
from session_relay.store import OutcomeRecord, SessionRecord, Target, now_ms

Pair = tuple[str, str]


class Later:
    """Sends messages answered later and reads their outcomes, through one messenger."""

    def __init__(
        self,
        messenger: Messenger,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.messenger = messenger
        self.store = messenger.store
        self.clock = clock
        self.sleep = sleep

    # ---------------------------------------------------------------- send

    def send_message(
        self, owner: str, record: SessionRecord, key: str, data: Any, timeout_s: float | None
    ) -> str:
        """Send to one session; returns the message id the owner reads the outcome with. A gateway
        failure is a 503 (nothing was sent), as for the synchronous call."""
        frames = MessageFrames(key, data)
        target = Target(record.session.id, record.connection_id, new_message_id())
        deadline_ms = self._deadline_ms(timeout_s)
        record_id = new_message_id()
        self.store.put_message_record(record_id, OutcomeRecord(owner, deadline_ms, (target,)))
        self.store.put_message(record, target.message_id, deadline_ms)
        count("MessagesSent")
        try:
            delivered = self.messenger.gateway.post(record.connection_id, frames.frame(target.message_id))
        except ServiceUnavailable:
            self.store.delete_messages([(record.connection_id, target.message_id)])
            raise
        if not delivered:  # gone: the outcome is "client never responded" from now on
            self.messenger._forget_dead([record])
        return record_id

    def send_batch(
        self,
        owner: str,
        session_ids: list[str],
        records: dict[str, SessionRecord],
        key: str,
        data: Any,
        timeout_s: float | None,
    ) -> tuple[str, OutcomeRecord]:
        """Send to every found session of ``session_ids`` concurrently; returns the batch's id and
        record."""
        frames = MessageFrames(key, data)
        deadline_ms = self._deadline_ms(timeout_s)
        targets = tuple(
            Target(sid, records[sid].connection_id, new_message_id()) if sid in records else Target(sid)
            for sid in session_ids
        )
        record_id, batch = new_message_id(), OutcomeRecord(owner, deadline_ms, targets)
        self.store.put_batch_record(record_id, batch)
        sent = [(records[t.session_id], t.message_id) for t in targets if t.message_id is not None]
        if sent:
            self.store.put_messages(sent, deadline_ms)
            count("MessagesSent", len(sent))
        delivered = self.messenger._post_all([(record, frames.frame(mid)) for record, mid in sent])
        dead = [record for record, _ in sent if delivered[record.session.id] is False]
        failed = [(r.connection_id, mid) for r, mid in sent if delivered[r.session.id] is None]
        if dead:  # their sessions, mappings and these messages, in batches
            self.messenger._forget_dead_in_batches([(r, m) for r, m in sent if r in dead])
        if failed:  # never delivered: withdrawn now, so the outcome is "client never responded"
            self.store.delete_messages(failed)
        return record_id, batch

    def _deadline_ms(self, timeout_s: float | None) -> int:
        # No Lambda waits, so the deployment's maximum wait does not cap the deadline.
        return now_ms() + int((timeout_s or MAX_MESSAGE_TIMEOUT_S) * 1000)

    # ---------------------------------------------------------------- read

    def outcomes(self, record: OutcomeRecord, wait_s: float) -> dict[int, Outcome]:
        """The decided outcome of each target (by index; a target still pending is missing),
        waiting up to ``wait_s`` seconds for every one to be decided."""
        decided = {index: NOT_FOUND for index, target in enumerate(record.targets) if target.pair is None}
        pending = {target.pair: index for index, target in enumerate(record.targets) if target.pair}
        wait_end = self.clock() + max(0.0, wait_s)
        interval = FIRST_POLL_S
        while True:
            if pending:
                polled = self.store.read_outcomes(list(pending))
                for pair in list(pending):
                    if pair not in polled:  # withdrawn, or cleared with its connection: never answered
                        decided[pending.pop(pair)] = NO_RESPONSE
                    elif (outcome := polled[pair]) is not None:
                        decided[pending.pop(pair)] = outcome
            until_deadline_s = (record.deadline_ms - now_ms()) / 1000
            if pending and until_deadline_s <= 0:
                decided.update(self._withdraw(pending))
                pending = {}
            left_s = wait_end - self.clock()
            if not pending or left_s <= 0:
                return decided
            self.sleep(max(0.0, min(interval, left_s, until_deadline_s + 0.001)))
            interval = min(interval * POLL_GROWTH, MAX_POLL_S)

    def _withdraw(self, pending: dict[Pair, int]) -> dict[int, Outcome]:
        """Past the deadline: withdraw each message still pending (conditional deletes, through the
        bounded pool); a reply that won the race is the outcome, otherwise "client never responded"."""

        def withdraw(pair: Pair) -> Outcome:
            return self.store.withdraw_message(*pair) or NO_RESPONSE

        pairs = list(pending)
        results = run_all(withdraw, pairs, self.messenger.settings.post_workers)
        timed_out = sum(outcome is NO_RESPONSE for outcome in results)
        if timed_out:
            count("MessagesTimedOut", timed_out)
            logger.debug("outcomes decided at their deadline", extra={"timed_out": timed_out})
        return {pending[pair]: outcome for pair, outcome in zip(pairs, results, strict=True)}


def message_answer(outcomes: dict[int, Outcome]) -> dict[str, Any]:
    """``GET /messages/{id}``: ``done`` and, once done, the synchronous answer."""
    if 0 not in outcomes:
        return {"success": True, "done": False}
    return {"success": True, "done": True, **outcomes[0].as_contract()}


def batch_entries(record: OutcomeRecord, outcomes: dict[int, Outcome]) -> list[dict[str, Any]]:
    """The synchronous bulk answer's entries, in request order; one still waiting is pending."""
    entries = []
    for index, target in enumerate(record.targets):
        outcome = outcomes.get(index)
        if outcome is None:
            entries.append({"session_id": target.session_id, "pending": True})
        else:
            entries.append({"session_id": target.session_id, **outcome.as_contract()})
    return entries
