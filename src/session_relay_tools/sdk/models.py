"""What the SDK returns: pydantic models of the contract's answers (PROTOCOL.md section 1).

``Session`` is the server's own model. Unknown extra fields in answers are ignored, so a newer
server does not break an older SDK.
"""

from collections import Counter
from typing import Any

from pydantic import BaseModel, Field
from session_relay.models import Session

__all__ = [
    "BulkDisconnectResult",
    "BulkMessageResult",
    "MessageResult",
    "MessageSummary",
    "Session",
    "SessionMessageResult",
    "SessionPage",
]


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


class BulkMessageResult(BaseModel):
    """``POST /sessions/message``: one entry per requested id, in request order."""

    responses: list[SessionMessageResult]

    def summary(self) -> MessageSummary:
        reasons = Counter(entry.reason or "" for entry in self.responses if not entry.processed)
        return MessageSummary(
            requested=len(self.responses),
            processed=sum(entry.processed for entry in self.responses),
            reasons=dict(reasons.most_common()),
        )


class BulkDisconnectResult(BaseModel):
    """``POST /sessions/disconnect``: the ids disconnected and, in request order, those that were
    not (unknown, not the caller's, or their connection could not be closed)."""

    disconnected: list[str]
    not_disconnected: list[str]
