"""What broadcasts look like to their owner (PROTOCOL.md, "Extension: broadcasts"): the broadcast
object with its counts summed from the chunks' counters, the typed results of the routes, and when a
broadcast is done (then marked once, and its key's running slot given back)."""

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from session_relay.contract import (
    REASON_ERRORED_PREFIX,
    REASON_INVALID,
    REASON_NO_FUNCTION,
    REASON_NO_RESPONSE,
    REASON_NOT_FOUND,
    Outcome,
    field_sentence,
)
from session_relay.errors import ValidationFailed
from session_relay.store import Store
from session_relay.store.broadcasts import FINAL, OUTCOME_PREFIX, BroadcastRecord

# A chunk's counters: what each decided session adds to (``decided`` is their sum), by action.
MESSAGE_COUNTERS = ("processed", "errored", "invalid", "no_response", "no_function", "not_found", "not_sent")
DISCONNECT_COUNTERS = ("disconnected", "not_found", "not_sent")
_REASONS = {
    "errored": "function errored",
    "invalid": REASON_INVALID,
    "no_response": REASON_NO_RESPONSE,
    "no_function": REASON_NO_FUNCTION,
    "not_found": REASON_NOT_FOUND,
}
_CURSOR = re.compile(r"o#([0-9]{7}#[^\x00-\x1f]{1,128})?")


def counter_of(outcome: Outcome) -> str:
    """The counter a message's outcome adds to."""
    if outcome.processed:
        return "processed"
    reason = outcome.reason or ""
    if reason.startswith(REASON_ERRORED_PREFIX):
        return "errored"
    return {REASON_INVALID: "invalid", REASON_NO_FUNCTION: "no_function", REASON_NOT_FOUND: "not_found"}.get(
        reason, "no_response"
    )


def totals(chunks: list[dict[str, Any]]) -> dict[str, int]:
    """Every counter summed over the chunks (``n``: sessions the chunks hold, ``sent``, ``decided``)."""
    summed: dict[str, int] = {}
    for chunk in chunks:
        for name, value in chunk.items():
            if isinstance(value, int) and name not in ("stage", "expires_at", "started"):
                summed[name] = summed.get(name, 0) + value
    return summed


def pending_of(record: BroadcastRecord, summed: dict[str, int]) -> int:
    targeted = record.matched if record.matched is not None else summed.get("n", 0)
    return max(0, targeted - summed.get("decided", 0))


def broadcast_object(record: BroadcastRecord, chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The contract's broadcast object."""
    summed = totals(chunks)
    pending = pending_of(record, summed)
    if record.action == "message":
        counts: dict[str, Any] = {
            "sent": summed.get("sent", 0),
            "processed": summed.get("processed", 0),
            "not_processed": {reason: summed.get(name, 0) for name, reason in _REASONS.items()},
            "not_sent": summed.get("not_sent", 0),
            "pending": pending,
        }
    else:
        counts = {
            "disconnected": summed.get("disconnected", 0),
            "session not found": summed.get("not_found", 0),
            "not_sent": summed.get("not_sent", 0),
            "pending": pending,
        }
    shown: dict[str, Any] = {"id": record.id, "action": record.action, "filter": record.filter}
    if record.action == "message":
        shown["key"] = record.key
    done = record.done or (record.matched is not None and pending == 0)
    return {
        **shown,
        "created_at": record.created_at,
        "done": done,
        "cancelled": record.cancelled,
        "matched": record.matched,
        "counts": counts,
    }


def settle(store: Store, record: BroadcastRecord, chunks: list[dict[str, Any]]) -> bool:
    """Mark the broadcast done once every session it matched is decided (its key's running slot given
    back by the call that marked it). True when it is done."""
    if record.done:
        return True
    if record.matched is None or pending_of(record, totals(chunks)) > 0:
        return False
    # ``broadcast.done`` (PROTOCOL.md section 5) is queued before ``done`` is set: whatever fails in
    # between leaves the broadcast not done, and the next settle queues it again under the same event
    # id (the FIFO queue drops the repeat; a receiver drops an id it has seen).
    announce_done(store, record, broadcast_object(record, chunks))
    if store.broadcasts.mark_done(record.id):
        store.broadcasts.free_slot(record.owner, record.id)
    return True


def announce_done(store: Store, record: BroadcastRecord, shown: dict[str, Any]) -> None:
    """Queue ``broadcast.done`` for each of the broadcast's scripts whose webhook asks for it."""
    from session_relay.service.webhooks_events import publish_one

    for script_id in record.scripts:
        publish_one(store, script_id, "broadcast.done", shown, source_id=record.id)


def final_prefix(chunks: list[dict[str, Any]]) -> int:
    """How many chunks from the first are final (their outcomes all written): pages show only those,
    so a page never passes a chunk that may still add entries before its cursor."""
    number = 0
    for chunk in chunks:
        if chunk["item"] != f"chunk#{number:07d}" or chunk.get("stage") != FINAL:
            break
        number += 1
    return number


def encode_position(item_key: str) -> str:
    return base64.urlsafe_b64encode(item_key.encode()).decode().rstrip("=")


def decode_position(cursor: str) -> str:
    """The outcome item key a responses cursor points after (a cursor this API did not make: 422)."""
    try:
        key = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if not _CURSOR.fullmatch(key) or encode_position(key) != cursor:
        raise ValidationFailed(field_sentence("cursor", cursor))
    return key


START = OUTCOME_PREFIX


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class BroadcastAccepted:
    """``202``: the broadcast's id."""

    broadcast_id: str
    status = 202

    def body(self) -> dict[str, Any]:
        return {"success": True, "broadcast_id": self.broadcast_id}


@dataclass(frozen=True, slots=True)
class BroadcastShown:
    broadcast: dict[str, Any]
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "broadcast": self.broadcast}


@dataclass(frozen=True, slots=True)
class BroadcastPage:
    broadcasts: list[dict[str, Any]]
    next_cursor: str | None
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "broadcasts": self.broadcasts, "next_cursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class ResponsesPage:
    responses: list[dict[str, Any]]
    next_cursor: str | None
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "responses": self.responses, "next_cursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class BroadcastCancelled:
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True}
