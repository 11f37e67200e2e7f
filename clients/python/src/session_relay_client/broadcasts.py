"""Broadcasts (every live session matching a filter, however many): the calls and their models,
shared by the sync and async clients. A broadcast answers at once with its id; its progress, its
responses (page after page) and a cancel are separate calls."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel

from session_relay_client.calls import UNSET, Call, message_body, model_of, retry_headers
from session_relay_client.models import SessionFilter


class BroadcastCounts(BaseModel):
    """What became of a broadcast's sessions so far. A message broadcast fills ``sent``, ``processed``
    and ``not_processed`` (by reason); a disconnect broadcast ``disconnected`` and ``session_not_found``."""

    model_config = {"populate_by_name": True}

    sent: int | None = None
    processed: int | None = None
    not_processed: dict[str, int] | None = None
    disconnected: int | None = None
    session_not_found: int | None = None
    not_sent: int = 0
    pending: int = 0

    @classmethod
    def from_answer(cls, counts: dict[str, Any]) -> "BroadcastCounts":
        return cls(**{name.replace(" ", "_"): value for name, value in counts.items()})


class Broadcast(BaseModel):
    """A broadcast as ``GET /broadcasts/{id}`` shows it; ``matched`` is None until every matching
    session was found, ``done`` once none is pending."""

    id: str
    action: Literal["message", "disconnect"]
    filter: dict[str, Any]
    key: str | None = None
    created_at: int
    done: bool
    cancelled: bool
    matched: int | None = None
    counts: BroadcastCounts

    @classmethod
    def from_answer(cls, shown: dict[str, Any]) -> "Broadcast":
        return model_of(cls, {**shown, "counts": BroadcastCounts.from_answer(shown.get("counts") or {})})


class BroadcastPage(BaseModel):
    broadcasts: list[Broadcast]
    next_cursor: str | None = None


class ResponsesPage(BaseModel):
    """Decided sessions' entries (``{"session_id", "processed", "response" | "reason"}``, or for a
    disconnect ``{"session_id", "disconnected", "reason"?}``); ``next_cursor`` None once done."""

    responses: list[dict[str, Any]]
    next_cursor: str | None = None


def _filter_of(where: SessionFilter | dict[str, Any] | None) -> dict[str, Any]:
    if where is None:
        return {}
    return where.body() if isinstance(where, SessionFilter) else dict(where)


def start(
    action: str,
    where: SessionFilter | dict[str, Any] | None,
    message: tuple[str, Any, float | None] | None,
    idempotency_key: str | None,
) -> Call[str]:
    """``POST /broadcasts/message`` (``message`` = key, data, timeout) or ``/broadcasts/disconnect``."""
    body: dict[str, Any] = {"filter": _filter_of(where)}
    if message is not None:
        key, data, timeout_s = message
        body.update(message_body(key, data, timeout_s))
    return Call(
        "POST",
        f"/broadcasts/{action}",
        lambda answer: str(answer["broadcast_id"]),
        body=body,
        headers=retry_headers(idempotency_key),
    )


def get(broadcast_id: str, wait_s: float = 0) -> Call[Broadcast]:
    params = {"wait": f"{wait_s:g}"} if wait_s > 0 else {}
    return Call(
        "GET",
        f"/broadcasts/{quote(broadcast_id, safe='')}",
        lambda answer: Broadcast.from_answer(answer["broadcast"]),
        params=params,
        wait_s=wait_s or None,
    )


def responses(broadcast_id: str, limit: int | None, cursor: str | None) -> Call[ResponsesPage]:
    params = {"limit": str(limit)} if limit is not None else {}
    if cursor is not None:
        params["cursor"] = cursor
    path = f"/broadcasts/{quote(broadcast_id, safe='')}/responses"
    return Call("GET", path, lambda answer: model_of(ResponsesPage, answer), params=params)


def cancel(broadcast_id: str) -> Call[None]:
    return Call("POST", f"/broadcasts/{quote(broadcast_id, safe='')}/cancel", lambda _: None)


def page(limit: int | None, cursor: str | None) -> Call[BroadcastPage]:
    params = {"limit": str(limit)} if limit is not None else {}
    if cursor is not None:
        params["cursor"] = cursor

    def parse(answer: dict[str, Any]) -> BroadcastPage:
        shown = [Broadcast.from_answer(item) for item in answer.get("broadcasts") or []]
        return BroadcastPage(broadcasts=shown, next_cursor=answer.get("next_cursor"))

    return Call("GET", "/broadcasts", parse, params=params)


# While a broadcast runs, a responses page may come back empty with a cursor: more is on its way.
PAGE_PAUSE_S = 1.0


class Broadcasts:
    """The broadcast methods of ``SessionRelay`` (it runs each call with ``_run``)."""

    _run: Callable[[Call[Any]], Any]

    def broadcast(
        self,
        where: SessionFilter | dict[str, Any] | None = None,
        key: str | None = None,
        data: Any = UNSET,
        *,
        timeout: float | None = None,
        disconnect: bool = False,
        idempotency_key: str | None = None,
    ) -> str:
        """Message (``key``, ``data``, ``timeout`` counted from each session's own frame) or, with
        ``disconnect=True``, close every live session matching ``where`` (None: every session of the
        key's scripts); returns the broadcast's id at once. ``TooManyRequests`` when the key already
        runs the most broadcasts the deployment allows."""
        if not disconnect and key is None:
            raise ValueError("a message broadcast needs a key (the function to run)")
        message = None if disconnect else (key or "", data, timeout)
        return self._run(start("disconnect" if disconnect else "message", where, message, idempotency_key))

    def get_broadcast(self, broadcast_id: str, *, wait: float = 0) -> Broadcast:
        """The broadcast's progress, holding up to ``wait`` seconds until it is done."""
        return self._run(get(broadcast_id, wait))

    def responses(self, broadcast_id: str, *, page_size: int | None = None) -> Iterator[ResponsesPage]:
        """Every page of the broadcast's responses, each session once, until it is done (a page
        that is empty while the broadcast runs is not yielded; the next is asked for a second later)."""
        cursor = None
        while True:
            page_ = self._run(responses(broadcast_id, page_size, cursor))
            if page_.responses:
                yield page_
            if page_.next_cursor is None:
                return
            if not page_.responses:
                time.sleep(PAGE_PAUSE_S)
            cursor = page_.next_cursor

    def cancel_broadcast(self, broadcast_id: str) -> None:
        """Send no frame (close no session) from now on; what was sent keeps its outcome."""
        self._run(cancel(broadcast_id))

    def list_broadcasts(self, *, limit: int | None = None, cursor: str | None = None) -> BroadcastPage:
        """One page of the key's broadcasts, newest first (each kept 24 hours after it is done)."""
        return self._run(page(limit, cursor))


class AsyncBroadcasts:
    """The broadcast methods of ``AsyncSessionRelay`` (see ``Broadcasts``)."""

    _run: Callable[[Call[Any]], Awaitable[Any]]

    async def broadcast(
        self,
        where: SessionFilter | dict[str, Any] | None = None,
        key: str | None = None,
        data: Any = UNSET,
        *,
        timeout: float | None = None,
        disconnect: bool = False,
        idempotency_key: str | None = None,
    ) -> str:
        if not disconnect and key is None:
            raise ValueError("a message broadcast needs a key (the function to run)")
        message = None if disconnect else (key or "", data, timeout)
        return await self._run(
            start("disconnect" if disconnect else "message", where, message, idempotency_key)
        )

    async def get_broadcast(self, broadcast_id: str, *, wait: float = 0) -> Broadcast:
        return await self._run(get(broadcast_id, wait))

    async def responses(
        self, broadcast_id: str, *, page_size: int | None = None
    ) -> AsyncIterator[ResponsesPage]:
        cursor = None
        while True:
            page_ = await self._run(responses(broadcast_id, page_size, cursor))
            if page_.responses:
                yield page_
            if page_.next_cursor is None:
                return
            if not page_.responses:
                await asyncio.sleep(PAGE_PAUSE_S)
            cursor = page_.next_cursor

    async def cancel_broadcast(self, broadcast_id: str) -> None:
        await self._run(cancel(broadcast_id))

    async def list_broadcasts(self, *, limit: int | None = None, cursor: str | None = None) -> BroadcastPage:
        return await self._run(page(limit, cursor))
