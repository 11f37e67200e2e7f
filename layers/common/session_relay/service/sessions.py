"""Looking sessions up and listing them, as their owner may see them."""

from dataclasses import dataclass
from typing import Any

from session_relay.contract import Session
from session_relay.service.access import Principal, owned_session, scripts_matching
from session_relay.store import Store


@dataclass(frozen=True, slots=True)
class SessionFound:
    """``GET /sessions/{id}``."""

    session: Session
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "session": self.session.as_dict()}


@dataclass(frozen=True, slots=True)
class SessionPage:
    """``GET /sessions``: a page, newest first, and the next page's cursor (None on the last)."""

    sessions: list[Session]
    next_cursor: str | None
    status = 200

    def body(self) -> dict[str, Any]:
        return {
            "success": True,
            "sessions": [s.as_dict() for s in self.sessions],
            "next_cursor": self.next_cursor,
        }


class Sessions:
    """The caller's live sessions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, caller: Principal, session_id: str) -> SessionFound:
        return SessionFound(owned_session(self.store, caller, session_id).session)

    def page(self, caller: Principal, filters: dict[str, Any], limit: int, cursor: str | None) -> SessionPage:
        """Live sessions matching ``filters`` (``script_id`` narrows the key's scripts), newest first."""
        fields = dict(filters)
        scripts = scripts_matching(caller, fields.pop("script_id", None))
        records, next_cursor = self.store.sessions.page(scripts, fields, limit, cursor)
        return SessionPage([record.session for record in records], next_cursor)
