"""The asynchronous client: ``AsyncSessionRelay`` (same methods as ``SessionRelay``, awaited)."""

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Self

import httpx

from session_relay_tools.sdk import calls
from session_relay_tools.sdk.calls import DEFAULT_URL, UNSET, Call, Timeouts
from session_relay_tools.sdk.models import (
    BulkDisconnectResult,
    BulkMessageResult,
    MessageResult,
    Session,
    SessionPage,
)

Progress = Callable[[int], None]


class AsyncSessionRelay:
    """An asyncio client of the Session Relay REST API; see ``SessionRelay`` for the options.

    Use ``async with AsyncSessionRelay(...) as relay:``, or ``await relay.aclose()``.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        message_margin: float = 15.0,
        max_concurrency: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.url = url.rstrip("/")
        self.timeouts = Timeouts(timeout, connect_timeout, message_margin)
        self.max_concurrency = max_concurrency
        self._http = httpx.AsyncClient(base_url=self.url, headers=calls.headers(api_key), transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run[T](self, call: Call[T]) -> T:
        kwargs = calls.request_kwargs(call, self.timeouts)
        try:
            response = await self._http.request(**kwargs)
        except httpx.HTTPError as exc:
            raise calls.transport_error(exc, self.url) from exc
        return calls.parse_response(call, response)

    async def _run_chunks[T](
        self, session_ids: list[str], make: Callable[[list[str]], Call[list[T]]], progress: Progress | None
    ) -> list[T]:
        chunks = calls.chunked(session_ids)
        slots = asyncio.Semaphore(self.max_concurrency)

        async def run(chunk: list[str]) -> list[T]:
            async with slots:
                result = await self._run(make(chunk))
            if progress is not None:
                progress(len(chunk))
            return result

        results = await asyncio.gather(*(run(chunk) for chunk in chunks), return_exceptions=True)
        calls.first_failure(results)
        return calls.flatten(results)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- routes

    async def health(self) -> bool:
        """``GET /health``: True once the API can serve (raises otherwise). Needs no key."""
        return await self._run(calls.health())

    async def list_sessions(
        self,
        *,
        script_id: str | None = None,
        user_key: str | None = None,
        roblox_id: int | None = None,
        place_id: int | None = None,
        job_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SessionPage:
        """One page of the caller's live sessions, newest first (see ``SessionRelay.list_sessions``)."""
        filters = {
            "script_id": script_id,
            "user_key": user_key,
            "roblox_id": roblox_id,
            "place_id": place_id,
            "job_id": job_id,
        }
        return await self._run(calls.list_sessions(filters, limit, cursor))

    async def iter_sessions(
        self,
        *,
        script_id: str | None = None,
        user_key: str | None = None,
        roblox_id: int | None = None,
        place_id: int | None = None,
        job_id: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Session]:
        """Every matching session, page after page (``page_size`` ids a request, 1..1000)."""
        filters = {
            "script_id": script_id,
            "user_key": user_key,
            "roblox_id": roblox_id,
            "place_id": place_id,
            "job_id": job_id,
        }
        cursor = None
        while True:
            page = await self._run(calls.list_sessions(filters, page_size, cursor))
            for session in page.sessions:
                yield session
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def get_session(self, session_id: str) -> Session:
        """The session; ``SessionNotFound`` if it does not exist or is not the caller's."""
        return await self._run(calls.get_session(session_id))

    async def disconnect(self, session_id: str) -> None:
        """Close the session's WebSocket and delete it; ``SessionNotFound`` if unknown."""
        await self._run(calls.disconnect(session_id))

    async def disconnect_many(
        self, session_ids: list[str], *, progress: Progress | None = None
    ) -> BulkDisconnectResult:
        """Disconnect each of these sessions that exists and is the caller's (chunks of 1000,
        as in ``SessionRelay.disconnect_many``)."""
        session_ids = list(session_ids)
        done = await self._run_chunks(session_ids, calls.disconnect_chunk, progress)
        gone = set(done)
        return BulkDisconnectResult(
            disconnected=done, not_disconnected=[sid for sid in session_ids if sid not in gone]
        )

    async def message(
        self, session_id: str, key: str, data: Any = UNSET, *, timeout: float | None = None
    ) -> MessageResult:
        """Run the client's function ``key`` with ``data`` and wait up to ``timeout`` seconds."""
        return await self._run(calls.message(session_id, key, data, timeout))

    async def message_many(
        self,
        session_ids: list[str],
        key: str,
        data: Any = UNSET,
        *,
        timeout: float | None = None,
        progress: Progress | None = None,
    ) -> BulkMessageResult:
        """Message many sessions at once: one entry per id, in request order (chunks of 1000,
        as in ``SessionRelay.message_many``)."""
        entries = await self._run_chunks(
            list(session_ids), lambda chunk: calls.message_chunk(chunk, key, data, timeout), progress
        )
        return BulkMessageResult(responses=entries)
