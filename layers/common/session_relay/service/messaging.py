"""Messaging sessions: one or many, waited for or answered later, once per ``Idempotency-Key``.

Each public method is what one REST route does after parsing: the frame's size (413), the retry key
(422), a slot among the key's calls in flight (429), the targets (404), then the delivery core.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from session_relay.clock import now_ms
from session_relay.contract import Outcome
from session_relay.errors import ServiceUnavailable
from session_relay.gateway import Gateway
from session_relay.observability import count
from session_relay.service.access import (
    Paging,
    Principal,
    Selection,
    Targets,
    owned_record,
    owned_session,
    targets,
)
from session_relay.service.calls import Call, deadline, in_flight
from session_relay.service.deadlines import Deadline
from session_relay.service.delivery import (
    NO_FUNCTION,
    NO_RESPONSE,
    NOT_FOUND,
    DeliveryCore,
    MessageFrames,
    new_message_id,
)
from session_relay.service.idempotency import derived_id, idempotency_key, run_once
from session_relay.service.later import Entry, Later, fitted
from session_relay.service.results import (
    Accepted,
    Answered,
    BatchState,
    BulkAnswered,
    MessageState,
    from_kept,
    kept,
)
from session_relay.settings import Settings
from session_relay.store import OutcomeRecord, SessionRecord, Store

# A synchronous bulk call with an Idempotency-Key polls this much past its stored deadline: by then
# every message is decided (the read withdraws what is still pending), well before the answer is due.
_SETTLE_S = 0.05


@dataclass(frozen=True, slots=True)
class Send:
    """What to send: ``key``/``data``, the wait (seconds, None for the default) and whether to wait."""

    key: str
    data: Any
    timeout_s: float | None = None
    wait: bool = True


@dataclass(frozen=True, slots=True)
class Retry:
    """An ``Idempotency-Key`` header as sent (None when absent) and what identifies the request (its
    route and body), to tell a true repeat from the key's reuse for another request."""

    header: str | None
    request: dict[str, Any]


class Messaging:
    """Sends messages and reads their outcomes for the REST API."""

    def __init__(
        self,
        store: Store,
        gateway: Gateway,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.settings = settings
        self.core = DeliveryCore(store, gateway, settings.post_workers, clock, sleep)
        self._later = Later(self.core)

    @property
    def later(self) -> Later:
        """Messages answered later (and idempotent bulk calls) need the outcomes table."""
        if not self.settings.outcomes_table:
            raise RuntimeError("OUTCOMES_TABLE is not set: messages answered later cannot be kept")
        return self._later

    # ---------------------------------------------------------------- routes

    def message(
        self, caller: Principal, session_id: str, send: Send, call: Call, retry: Retry
    ) -> Answered | Accepted:
        """``POST /sessions/{id}/message``."""
        frames, key = MessageFrames(send.key, send.data), idempotency_key(retry.header)
        until = deadline(self.settings, send.timeout_s, call, self.core.clock)

        def run(record: SessionRecord) -> Answered | Accepted:
            if not send.wait:
                return Accepted(
                    message_id=self.later.send_message(caller.key_id, record, frames, send.timeout_s)
                )
            return Answered(self.message_one(record, frames, until))

        def session() -> SessionRecord:
            return owned_session(self.store, caller, session_id)

        if key is None:  # the session is read while the slot is taken
            with in_flight(self.store, self.settings, caller, call, alongside=session) as record:
                return run(record)
        with in_flight(self.store, self.settings, caller, call):  # a repeat answers as kept, read nothing
            return from_kept(
                run_once(caller.key_id, key, retry.request, lambda: kept(run(session())), call.lambda_context)
            )

    def message_many(
        self, caller: Principal, selection: Selection, send: Send, call: Call, retry: Retry
    ) -> BulkAnswered | Accepted:
        """``POST /sessions/message``, by ``session_ids`` or by ``filter``."""
        selection.check()
        frames, key = MessageFrames(send.key, send.data), idempotency_key(retry.header)
        until = deadline(self.settings, send.timeout_s, call, self.core.clock)
        with in_flight(self.store, self.settings, caller, call):
            if key is None:
                return self._many(caller, selection, send, frames, until)
            first: list[BulkAnswered | Accepted] = []
            batch_id = derived_id(caller.key_id, key, retry.request)

            def run() -> dict[str, Any]:
                result, record = self._many_kept(caller, selection, send, frames, until, batch_id)
                first.append(result)
                return record

            record = run_once(caller.key_id, key, retry.request, run, call.lambda_context)
            return first[0] if first else self._replayed(record)

    def read_message(self, caller: Principal, message_id: str, wait_s: float, call: Call) -> MessageState:
        """``GET /messages/{id}``."""
        with in_flight(self.store, self.settings, caller, call):  # a long poll holds a Lambda too
            record = owned_record(caller, message_id, self.store.outcomes.get_message_record, "message")
            return MessageState(self.later.outcomes(record, self._poll_budget_s(wait_s, call, record)).get(0))

    def read_batch(self, caller: Principal, batch_id: str, wait_s: float, call: Call) -> BatchState:
        """``GET /batches/{id}``."""
        with in_flight(self.store, self.settings, caller, call):
            record = owned_record(caller, batch_id, self.store.outcomes.get_batch_record, "batch")
            entries = self.later.entries(record, self._poll_budget_s(wait_s, call, record))
        return BatchState(fitted(entries), all(entry.outcome is not None for entry in entries))

    # ---------------------------------------------------------------- waiting

    def message_one(self, record: SessionRecord, frames: MessageFrames, until: Deadline) -> Outcome:
        """Send to one session and wait until ``until`` for its reply."""
        if not until.can_send(1):  # no reply could be recorded in time: sending would strand it
            count("MessagesTimedOut")
            return NO_RESPONSE
        message_id, started = new_message_id(), self.core.clock()
        wait_end = until.wait_end(1)
        posted = self.core.send([(record, message_id)], frames, until.stored_deadline_ms(1), single=True)
        if posted.undeclared:
            return NO_FUNCTION
        if posted.failed:
            raise ServiceUnavailable("the WebSocket gateway is unavailable, try again")
        if posted.gone:
            return NO_RESPONSE
        outcome = self.core.collect(posted.out, wait_end, single=True).get(record.session.id, NO_RESPONSE)
        if outcome is not NO_RESPONSE:
            self.core.count_answer(outcome, started)
        return outcome

    def message_targets(self, found: Targets, frames: MessageFrames, until: Deadline) -> list[Entry]:
        """Message every found session concurrently; one entry per requested id, in request order."""
        sent = [(record, new_message_id()) for record in found.found()]
        if not until.can_send(len(sent)):  # no reply could be recorded in time: send nothing
            sent = []
        wait_end = until.wait_end(len(sent))
        posted = self.core.send(sent, frames, until.stored_deadline_ms(len(sent)))
        outcomes = self.core.collect(posted.out, wait_end, shards=posted.shards) if posted.out else {}
        outcomes.update(dict.fromkeys(posted.undeclared, NO_FUNCTION))
        count("MessagesProcessed", sum(outcome.processed for outcome in outcomes.values()))
        return [
            Entry(sid, NOT_FOUND if sid not in found.records else outcomes.get(sid, NO_RESPONSE))
            for sid in found.session_ids
        ]

    def _many(
        self, caller: Principal, selection: Selection, send: Send, frames: MessageFrames, until: Deadline
    ) -> BulkAnswered | Accepted:
        found = targets(self.store, caller, selection)
        if not send.wait:
            return self._batch_later(caller, found, frames, send.timeout_s)
        return BulkAnswered(fitted(self.message_targets(found, frames, until)), found.paging)

    def _batch_later(
        self,
        caller: Principal,
        found: Targets,
        frames: MessageFrames,
        timeout_s: float | None,
        batch_id: str | None = None,
    ) -> Accepted:
        """Sent without waiting (``"wait": false``): the batch's id to read the outcomes by."""
        batch_id, batch = self.later.send_batch(caller.key_id, found, frames, timeout_s, batch_id)
        return Accepted(batch_id=batch_id, paging=_paging(batch))

    def _many_kept(
        self,
        caller: Principal,
        selection: Selection,
        send: Send,
        frames: MessageFrames,
        until: Deadline,
        batch_id: str,
    ) -> tuple[BulkAnswered | Accepted, dict[str, Any]]:
        """An idempotent bulk call: sent as a batch (its id derived from the call, so every attempt finds
        the batch the first one started) and waited for, so that a repeat can rebuild this very answer
        from the batch (a bulk answer can be far larger than an idempotency record may be). Its deadline
        leaves time to withdraw what is still pending before the answer is due; once a frame is out,
        a failed poll is no news rather than a 503."""
        found = targets(self.store, caller, selection)
        if not send.wait:
            accepted = self._batch_later(caller, found, frames, send.timeout_s, batch_id)
            return accepted, kept(accepted)
        wait_s = until.wait_end(len(found.records)) - until.clock()
        if not until.can_send(len(found.records)):  # no reply could be recorded in time: send nothing
            found = Targets(found.session_ids, {}, found.paging)
        batch_id, batch = self.later.send_batch(caller.key_id, found, frames, max(wait_s, 0.001), batch_id)
        entries = self.later.entries(batch, wait_s + _SETTLE_S, strict=False)
        answered = BulkAnswered(fitted(entries), _paging(batch))
        return answered, {"status": 200, "batch": batch_id, "paging": batch.paging or {}}

    def _replayed(self, record: dict[str, Any]) -> BulkAnswered | Accepted:
        """A repeat's answer: as kept, or a synchronous bulk answer rebuilt from its batch."""
        if "batch" not in record:
            return from_kept(record)
        batch = self.store.outcomes.get_batch_record(record["batch"])
        if batch is None:  # cannot happen within the retry window: the batch outlives it
            raise RuntimeError("the batch of an idempotent bulk call expired before its idempotency record")
        return BulkAnswered(fitted(self.later.entries(batch, 0)), _paging(batch))

    def _poll_budget_s(self, wait_s: float, call: Call, record: OutcomeRecord) -> float:
        """How long a read may hold: ``wait_s``, ending in time for the answer to beat the Lambda's own
        timeout and API Gateway's integration timeout counted from the request's arrival. When the
        record's deadline falls within the wait, the read withdraws what is still pending then, and the
        wait keeps back the time that takes (as a message call's wait does)."""
        if wait_s <= 0:
            return 0.0
        until = deadline(self.settings, wait_s, call, self.core.clock)
        end_s = until.wait_end(0) - until.clock()
        if (record.deadline_ms - now_ms()) / 1000 < end_s:
            end_s = until.wait_end(sum(target.pair is not None for target in record.targets)) - until.clock()
        return max(0.0, end_s)


def _paging(batch: OutcomeRecord) -> Paging | None:
    """The paging a batch sent by ``filter`` was answered with (None for one sent by ids)."""
    return Paging(**batch.paging) if batch.paging else None
