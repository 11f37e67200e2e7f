"""Bans (PROTOCOL.md section 1, "Extension: bans"): the calls, and the methods both clients share.

A ban keeps one user (a ``user_key`` or a ``roblox_id``) of one script out: its live sessions are
closed when the ban is made, and its handshakes are refused with ``403`` until the ban expires or
is lifted. Making and lifting bans takes the ``disconnect`` scope; listing them, ``read``.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from session_relay_client.calls import Call, model_of

__all__ = ["AsyncBanMethods", "Ban", "BanMethods", "BanPage", "BanResult"]


class Ban(BaseModel):
    """One ban: of ``user_key`` or of ``roblox_id`` (the other is None) for ``script_id``. Times are
    epoch milliseconds; ``expires_at`` is None for a ban that lasts until it is lifted."""

    id: str
    script_id: str
    user_key: str | None = None
    roblox_id: int | None = None
    reason: str | None = None
    created_at: int
    expires_at: int | None = None


class BanResult(BaseModel):
    """``POST /bans``: the ban, and the ids of the live sessions it closed."""

    ban: Ban
    disconnected: list[str]


class BanPage(BaseModel):
    """One page of ``GET /bans``: the bans in force, newest first; ``next_cursor`` None on the last."""

    bans: list[Ban]
    next_cursor: str | None = None


def ban_call(
    script_id: str,
    user_key: str | None,
    roblox_id: int | None,
    reason: str | None,
    expires_in: int | None,
) -> Call[BanResult]:
    """The body carries only what was given: the API judges "exactly one of user_key and roblox_id"
    and the ranges (``422`` naming the field)."""
    body: dict[str, Any] = {"script_id": script_id}
    optional = {"user_key": user_key, "roblox_id": roblox_id, "reason": reason, "expires_in": expires_in}
    body.update({name: value for name, value in optional.items() if value is not None})
    return Call("POST", "/bans", lambda answer: model_of(BanResult, answer), body=body)


def list_call(script_id: str | None, limit: int | None, cursor: str | None) -> Call[BanPage]:
    given = {"script_id": script_id, "limit": limit, "cursor": cursor}
    params = {name: str(value) for name, value in given.items() if value is not None}
    return Call("GET", "/bans", lambda answer: model_of(BanPage, answer), params=params)


def lift_call(ban_id: str) -> Call[None]:
    return Call("DELETE", f"/bans/{quote(ban_id, safe='')}", lambda _: None)


class BanMethods:
    """The ban methods of ``SessionRelay``."""

    _run: Callable[[Call[Any]], Any]

    def ban(
        self,
        script_id: str,
        *,
        user_key: str | None = None,
        roblox_id: int | None = None,
        reason: str | None = None,
        expires_in: int | None = None,
    ) -> BanResult:
        """Ban a user of ``script_id`` by exactly one of ``user_key`` or ``roblox_id``: its live
        sessions are closed (their clients get ``{"type":"disconnect","reason":"banned"}``) and its
        handshakes refused with ``403``. ``reason`` is 1..200 characters; ``expires_in`` seconds
        (60..31,536,000; None: until lifted). ``NotFound`` for a script the key does not cover,
        ``Forbidden`` without the ``disconnect`` scope."""
        return self._run(ban_call(script_id, user_key, roblox_id, reason, expires_in))

    def list_bans(
        self, *, script_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> BanPage:
        """One page of the caller's bans in force, newest first (``limit`` 1..1000, the API's default
        100); pass the page's ``next_cursor`` as ``cursor`` for the next page."""
        return self._run(list_call(script_id, limit, cursor))

    def iter_bans(self, *, script_id: str | None = None, page_size: int | None = None) -> Iterator[Ban]:
        """Every ban in force of the caller (of ``script_id`` if given), page after page."""
        cursor = None
        while True:
            page = self._run(list_call(script_id, page_size, cursor))
            yield from page.bans
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def lift_ban(self, ban_id: str) -> None:
        """Lift a ban: the user may connect again. ``NotFound`` for an unknown id or another key's."""
        self._run(lift_call(ban_id))


class AsyncBanMethods:
    """The ban methods of ``AsyncSessionRelay`` (as ``BanMethods``, awaited)."""

    _run: Callable[[Call[Any]], Awaitable[Any]]

    async def ban(
        self,
        script_id: str,
        *,
        user_key: str | None = None,
        roblox_id: int | None = None,
        reason: str | None = None,
        expires_in: int | None = None,
    ) -> BanResult:
        """Ban a user of ``script_id`` (see ``SessionRelay.ban``)."""
        return await self._run(ban_call(script_id, user_key, roblox_id, reason, expires_in))

    async def list_bans(
        self, *, script_id: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> BanPage:
        """One page of the caller's bans in force, newest first (see ``SessionRelay.list_bans``)."""
        return await self._run(list_call(script_id, limit, cursor))

    async def iter_bans(
        self, *, script_id: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[Ban]:
        """Every ban in force of the caller (of ``script_id`` if given), page after page."""
        cursor = None
        while True:
            page = await self._run(list_call(script_id, page_size, cursor))
            for ban in page.bans:
                yield ban
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def lift_ban(self, ban_id: str) -> None:
        """Lift a ban (see ``SessionRelay.lift_ban``)."""
        await self._run(lift_call(ban_id))
