"""What the message services return: typed results, each knowing its status and its contract body
(PROTOCOL.md section 1). An idempotency record keeps a result as ``{"status", "body"}`` and a repeat
gets it back through ``from_kept``."""

from dataclasses import dataclass
from typing import Any

from session_relay.contract import Outcome
from session_relay.service.access import Paging


def _paging_fields(paging: Paging | None) -> dict[str, Any]:
    return {} if paging is None else paging.fields()


@dataclass(frozen=True, slots=True)
class Answered:
    """A message's outcome (``200``)."""

    outcome: Outcome
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, **self.outcome.as_contract()}


@dataclass(frozen=True, slots=True)
class Accepted:
    """Sent without waiting (``202``): the id to read the outcome by, and a filter's paging."""

    message_id: str | None = None
    batch_id: str | None = None
    paging: Paging | None = None
    status = 202

    def body(self) -> dict[str, Any]:
        if self.message_id is not None:
            return {"success": True, "message_id": self.message_id}
        return {"success": True, "batch_id": self.batch_id, **_paging_fields(self.paging)}


@dataclass(frozen=True, slots=True)
class BulkAnswered:
    """A bulk message's entries in request order, fitted to 6 MB (``200``)."""

    responses: list[dict[str, Any]]
    paging: Paging | None = None
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "responses": self.responses, **_paging_fields(self.paging)}


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A bulk disconnect: the ids now closed and gone, in request order (``200``)."""

    session_ids: list[str]
    paging: Paging | None = None
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "disconnected": self.session_ids, **_paging_fields(self.paging)}


@dataclass(frozen=True, slots=True)
class MessageState:
    """``GET /messages/{id}``: the outcome once decided (None while the client may still answer)."""

    outcome: Outcome | None
    status = 200

    def body(self) -> dict[str, Any]:
        if self.outcome is None:
            return {"success": True, "done": False}
        return {"success": True, "done": True, **self.outcome.as_contract()}


@dataclass(frozen=True, slots=True)
class BatchState:
    """``GET /batches/{id}``: the entries (fitted), ``done`` once none is pending."""

    responses: list[dict[str, Any]]
    done: bool
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "done": self.done, "responses": self.responses}


Result = Answered | Accepted | BulkAnswered | Disconnected | MessageState | BatchState


def kept(result: Answered | Accepted) -> dict[str, Any]:
    """What an idempotency record keeps of a first call's answer."""
    return {"status": result.status, "body": result.body()}


def from_kept(record: dict[str, Any]) -> Answered | Accepted:
    """A kept answer back as a result (the inverse of ``kept``)."""
    body = record["body"]
    if record["status"] == 200:
        return Answered(Outcome.from_dict(body))
    if "message_id" in body:
        return Accepted(message_id=body["message_id"])
    paging = Paging(body["matched"], body["next_cursor"]) if "matched" in body else None
    return Accepted(batch_id=body["batch_id"], paging=paging)
