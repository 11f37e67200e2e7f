"""Bans (PROTOCOL.md, "Extension: bans"): an owner bans a ``user_key`` or a ``roblox_id`` from one of
their scripts; its live sessions are closed (``{"type":"disconnect","reason":"banned"}``) and its
handshakes refused (``$connect``, ``store.auth.admission``) until the ban expires or is lifted. A ban
is the key's that gave it: any other key, an unknown or an expired id reads as the same 404."""

import re
import secrets
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from session_relay.clock import now_ms
from session_relay.contract import MAX_BULK_IDS
from session_relay.errors import NotFound, ServiceUnavailable
from session_relay.service.access import Principal
from session_relay.service.disconnects import BANNED, Disconnects
from session_relay.service.idempotency import idempotency_key, run_once
from session_relay.store import Ban, SessionRecord, Store

BAN_NOT_FOUND = "ban not found"
SCRIPT_NOT_FOUND = "script not found"
# Ban ids are "ban_" and 32 lowercase hex digits; anything else cannot exist and is never looked up.
_BAN_ID = re.compile(r"ban_[0-9a-f]{32}")


@dataclass(frozen=True, slots=True)
class BanWanted:
    """A ban as asked for: the script, exactly one of ``user_key`` and ``roblox_id``, an optional
    reason and lifetime (``expires_in_s``; None: until lifted)."""

    script_id: str
    user_key: str | None = None
    roblox_id: int | None = None
    reason: str | None = None
    expires_in_s: int | None = None


@dataclass(frozen=True, slots=True)
class BanGiven:
    """``POST /bans`` (``201``): the ban and the sessions it closed."""

    answer: dict[str, Any]
    status = 201

    def body(self) -> dict[str, Any]:
        return self.answer


@dataclass(frozen=True, slots=True)
class BanPage:
    """``GET /bans``: the caller's bans in force, newest first, and the next page's cursor."""

    bans: list[Ban]
    next_cursor: str | None
    status = 200

    def body(self) -> dict[str, Any]:
        shown = [ban.as_contract() for ban in self.bans]
        return {"success": True, "bans": shown, "next_cursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class BanLifted:
    """``DELETE /bans/{id}``."""

    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True}


class Bans:
    """Gives, lists and lifts bans for their owners, closing what a new ban covers."""

    def __init__(self, store: Store, disconnects: Disconnects) -> None:
        self.store = store
        self.disconnects = disconnects

    def give(
        self,
        caller: Principal,
        wanted: BanWanted,
        retry_header: str | None = None,
        request: dict[str, Any] | None = None,
        lambda_context: Any = None,
    ) -> BanGiven:
        """``POST /bans``: 404 for a script the key does not cover; with an ``Idempotency-Key``, a repeat
        of the same body gets the first call's answer (as on the message routes)."""
        key = idempotency_key(retry_header)
        if wanted.script_id not in caller.script_ids:
            raise NotFound(SCRIPT_NOT_FOUND)
        if key is None:
            return BanGiven(self._give(caller, wanted))
        kept = run_once(caller.key_id, key, request or {}, lambda: self._give(caller, wanted), lambda_context)
        return BanGiven(kept)

    def _give(self, caller: Principal, wanted: BanWanted) -> dict[str, Any]:
        """Store the ban first (a handshake from then on is refused), then close its live sessions."""
        created = now_ms()
        expires = None if wanted.expires_in_s is None else created + wanted.expires_in_s * 1000
        ban = Ban(
            id="ban_" + secrets.token_hex(16),
            script_id=wanted.script_id,
            owner=caller.key_id,
            created_at=created,
            user_key=wanted.user_key,
            roblox_id=wanted.roblox_id,
            reason=wanted.reason,
            expires_at=expires,
        )
        self.store.bans.put(ban)
        try:
            closed = self.disconnects.sessions(self._live(ban), reason=BANNED)
        except ServiceUnavailable:  # nothing was closed: take the ban back, so a 503 changed nothing
            with suppress(ServiceUnavailable):
                self.store.bans.delete(ban)
            raise
        return {"success": True, "ban": ban.as_contract(), "disconnected": closed}

    def _live(self, ban: Ban) -> list[SessionRecord]:
        """Every live session of the ban's script with its ``user_key`` or ``roblox_id``, page by page."""
        fields = {"user_key": ban.user_key} if ban.user_key is not None else {"roblox_id": ban.roblox_id}
        found: list[SessionRecord] = []
        cursor = None
        while True:
            page, cursor = self.store.sessions.page({ban.script_id}, fields, MAX_BULK_IDS, cursor)
            found.extend(page)
            if cursor is None:
                return found

    def page(self, caller: Principal, script_id: str | None, limit: int, cursor: str | None) -> BanPage:
        """``GET /bans``: the bans in force the caller gave, newest first."""
        bans, next_cursor = self.store.bans.page(caller.key_id, script_id, limit, cursor)
        return BanPage(bans, next_cursor)

    def lift(self, caller: Principal, ban_id: str) -> BanLifted:
        """``DELETE /bans/{id}``: another key's ban, an unknown or an expired id: the same 404."""
        ban = owned_ban(self.store.bans.get, caller, ban_id)
        if not self.store.bans.delete(ban):
            raise NotFound(BAN_NOT_FOUND)
        return BanLifted()


def owned_ban(read: Callable[[str], Ban | None], caller: Principal, ban_id: str) -> Ban:
    """The caller's ban in force with this id, or 404 (another key's looks exactly like none)."""
    ban = read(ban_id) if _BAN_ID.fullmatch(ban_id) else None
    if ban is None or ban.owner != caller.key_id:
        raise NotFound(BAN_NOT_FOUND)
    return ban
