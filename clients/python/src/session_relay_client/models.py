"""What the SDK returns: pydantic models of the contract's answers (PROTOCOL.md section 1).

Unknown extra fields in answers are ignored, so a newer server does not break an older SDK.
"""

from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "BatchAccepted",
    "BatchEntry",
    "BatchOutcome",
    "BulkDisconnectResult",
    "BulkMessageResult",
    "KeyInfo",
    "MessageAccepted",
    "MessageOutcome",
    "MessageResult",
    "MessageSummary",
    "Session",
    "SessionFilter",
    "SessionMessageResult",
    "SessionPage",
]


class Session(BaseModel):
    """One connected executor, as ``GET /sessions`` shows it. Times are epoch milliseconds."""

    id: str
    user_key: str
    script_id: str
    roblox_id: int
    place_id: int
    job_id: str
    created_at: int
    last_seen_at: int
    functions: list[str] | None = None
    """The names the client declared it has registered, sorted; None if it never declared."""


class KeyInfo(BaseModel):
    """``GET /key``: the caller's API key as its owner may see it (never the key itself): its id,
    name, the scripts it covers and its scopes (of ``read``, ``message``, ``disconnect``, ``manage``)."""

    id: str
    name: str
    scripts: list[str]
    scopes: list[str]


class SessionFilter(BaseModel):
    """Targets of a bulk call by filter: the caller's live sessions matching every field given
    (none given: every session of the caller), newest first."""

    script_id: str | None = None
    user_key: str | None = None
    roblox_id: int | None = None
    place_id: int | None = None
    job_id: str | None = None
    function: str | None = None
    """Only the sessions that declared a function of this name."""

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class SessionPage(BaseModel):
    """One page of ``GET /sessions``: newest first; ``next_cursor`` is None on the last page."""

    sessions: list[Session]
    next_cursor: str | None = None


class MessageResult(BaseModel):
    """What became of one message: the client's ``response``, or the ``reason`` there is none."""

    processed: bool
    response: Any = None
    reason: str | None = None

    def contract(self) -> dict[str, Any]:
        """The entry exactly as the API shows it (``response`` or ``reason``, never both)."""
        if self.processed:
            return {"processed": True, "response": self.response}
        return {"processed": False, "reason": self.reason}


class SessionMessageResult(MessageResult):
    """One entry of a bulk message answer, labelled with the session it was meant for."""

    session_id: str

    def contract(self) -> dict[str, Any]:
        return {"session_id": self.session_id, **super().contract()}


class MessageSummary(BaseModel):
    """Counts over a bulk message: how many were requested and processed, and each reason."""

    requested: int
    processed: int
    reasons: dict[str, int] = Field(default_factory=dict)


class Paging(BaseModel):
    """For a call by filter: how many sessions it targeted and the next page's cursor (None on the
    last page); both None for a call by ids."""

    matched: int | None = None
    next_cursor: str | None = None


class BulkMessageResult(Paging):
    """``POST /sessions/message``: one entry per requested id, in request order (newest first for
    a filter)."""

    responses: list[SessionMessageResult]

    def summary(self) -> MessageSummary:
        reasons = Counter(entry.reason or "" for entry in self.responses if not entry.processed)
        return MessageSummary(
            requested=len(self.responses),
            processed=sum(entry.processed for entry in self.responses),
            reasons=dict(reasons.most_common()),
        )


class BulkDisconnectResult(Paging):
    """``POST /sessions/disconnect``: the ids disconnected and, in request order, those that were
    not (unknown, not the caller's, or their connection could not be closed)."""

    disconnected: list[str]
    not_disconnected: list[str]


class MessageAccepted(BaseModel):
    """``"wait": false`` on one session: read the outcome with ``get_message(message_id)``."""

    message_id: str


class BatchAccepted(Paging):
    """``"wait": false`` on many sessions: read the outcomes with ``get_batch(batch_id)``."""

    batch_id: str


class MessageOutcome(MessageResult):
    """``GET /messages/{id}``: ``done`` False while the client may still answer (then ``processed``
    is False and ``reason`` None), else the synchronous outcome."""

    done: bool
    processed: bool = False


class BatchEntry(BaseModel):
    """One entry of ``GET /batches/{id}``: ``pending`` while that session may still answer."""

    session_id: str
    pending: bool = False
    processed: bool = False
    response: Any = None
    reason: str | None = None


class BatchOutcome(BaseModel):
    """``GET /batches/{id}``: the entries in request order; ``done`` once none is pending."""

    done: bool
    responses: list[BatchEntry]
