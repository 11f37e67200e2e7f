"""Messages answered later (``"wait": false``): sent through the delivery core with a record (owner,
deadline, where each message went) and read back by id. No Lambda waits for them: once the deadline
has passed, whatever reads the outcome withdraws what is still pending, so every read agrees."""

from dataclasses import dataclass
from typing import Any

from session_relay import MAX_MESSAGE_TIMEOUT_S
from session_relay.clock import now_ms
from session_relay.contract import Outcome
from session_relay.errors import RecordExists, ServiceUnavailable
from session_relay.service.access import Targets
from session_relay.service.delivery import NOT_FOUND, DeliveryCore, MessageFrames, new_message_id
from session_relay.service.fitting import fit_entries
from session_relay.service.idempotency import RETRY_WINDOW_S
from session_relay.store import OutcomeRecord, SessionRecord, Target


@dataclass(frozen=True, slots=True)
class Entry:
    """One session's entry of a bulk answer: its outcome, or None while it is still pending."""

    session_id: str
    outcome: Outcome | None

    def as_contract(self) -> dict[str, Any]:
        if self.outcome is None:
            return {"session_id": self.session_id, "pending": True}
        return {"session_id": self.session_id, **self.outcome.as_contract()}


def fitted(entries: list[Entry]) -> list[dict[str, Any]]:
    """The entries as the contract shows them, fitted to Lambda's 6 MB response."""
    return fit_entries([entry.as_contract() for entry in entries])


class Later:
    """Sends messages answered later and reads their outcomes, through the delivery core."""

    def __init__(self, core: DeliveryCore) -> None:
        self.core = core
        self.store = core.store

    def send_message(
        self, owner: str, record: SessionRecord, frames: MessageFrames, timeout_s: float | None
    ) -> str:
        """Send to one session; returns the id its outcome is read by. The record is written before the
        frame goes out. A gateway failure raises 503 (nothing was sent), as for the synchronous call."""
        target = Target(record.session.id, record.connection_id, new_message_id())
        deadline_ms = _deadline_ms(timeout_s)
        record_id = new_message_id()
        self.store.outcomes.put_message_record(record_id, OutcomeRecord(owner, deadline_ms, (target,)))
        posted = self.core.send([(record, target.message_id)], frames, deadline_ms, single=True)
        if posted.failed:
            raise ServiceUnavailable("the WebSocket gateway is unavailable, try again")
        return record_id

    def send_batch(
        self,
        owner: str,
        targets: Targets,
        frames: MessageFrames,
        timeout_s: float | None,
        batch_id: str | None = None,
    ) -> tuple[str, OutcomeRecord]:
        """Send to every found session of ``targets`` concurrently; returns the batch's id and record.

        The pending messages are recorded first, then the batch (before the first frame goes out, so
        whatever happens next a reader finds it). ``batch_id`` (an idempotent call's, derived from its
        key) may exist already: then an earlier attempt got this far, and its batch is returned with
        nothing sent again."""
        deadline_ms = _deadline_ms(timeout_s)
        records = targets.records
        entries = tuple(
            Target(sid, records[sid].connection_id, new_message_id()) if sid in records else Target(sid)
            for sid in targets.session_ids
        )
        paging = targets.paging.fields() if targets.paging else None
        batch = OutcomeRecord(owner, deadline_ms, entries, paging)
        sent = [(records[t.session_id], t.message_id) for t in entries if t.message_id is not None]
        self.core.record(sent, deadline_ms, frames)
        # An idempotent call's batch id is the same for a later call with the same key and body once the
        # retry window has passed: an earlier call's record from before that window is replaced.
        replaces_before_ms = now_ms() - RETRY_WINDOW_S * 1000 if batch_id else None
        batch_id = batch_id or new_message_id()
        try:
            self.store.outcomes.put_batch_record(batch_id, batch, replaces_before_ms)
        except RecordExists:
            earlier = self.store.outcomes.get_batch_record(batch_id)
            if earlier is None or earlier.owner != owner:
                raise ServiceUnavailable("the outcome store is unavailable, try again shortly") from None
            return batch_id, earlier
        self.core.post(sent, frames)
        return batch_id, batch

    def outcomes(self, record: OutcomeRecord, wait_s: float, strict: bool = True) -> dict[int, Outcome]:
        """The decided outcome of each target (by index; one still pending is missing), waiting up to
        ``wait_s`` seconds for every one to be decided. ``strict``: see ``DeliveryCore.collect``."""
        decided: dict[int, Outcome] = {i: NOT_FOUND for i, t in enumerate(record.targets) if t.pair is None}
        pending = {target.pair: i for i, target in enumerate(record.targets) if target.pair is not None}
        until = self.core.clock() + max(0.0, wait_s)
        decided.update(self.core.collect(pending, until, record.deadline_ms, poll_first=True, strict=strict))
        return decided

    def entries(self, record: OutcomeRecord, wait_s: float, strict: bool = True) -> list[Entry]:
        """The bulk answer's entries in request order (one still pending has no outcome)."""
        outcomes = self.outcomes(record, wait_s, strict)
        return [Entry(target.session_id, outcomes.get(i)) for i, target in enumerate(record.targets)]


def _deadline_ms(timeout_s: float | None) -> int:
    # No Lambda waits, so the deployment's maximum wait does not cap the deadline.
    return now_ms() + int((timeout_s or MAX_MESSAGE_TIMEOUT_S) * 1000)
