"""The asynchronous client: ``AsyncSessionRelay`` (same methods as ``SessionRelay``, awaited)."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import httpx

from session_relay_client import calls, later
from session_relay_client.bans import AsyncBanMethods
from session_relay_client.broadcasts import AsyncBroadcasts
from session_relay_client.calls import DEFAULT_URL, UNSET, Call, T, Timeouts
from session_relay_client.errors import SessionRelayError
from session_relay_client.models import (
    BatchAccepted,
    BatchOutcome,
    BulkDisconnectResult,
    BulkMessageResult,
    KeyInfo,
    MessageAccepted,
    MessageOutcome,
    MessageResult,
    Session,
    SessionFilter,
    SessionPage,
)
from session_relay_client.webhooks import AsyncWebhookMethods

Progress = Callable[[int], None]
_Relay = TypeVar("_Relay", bound="AsyncSessionRelay")


class AsyncSessionRelay(AsyncBroadcasts, AsyncWebhookMethods, AsyncBanMethods):  # broadcasts, webhooks, bans
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
        self._maximum: float | None = UNSET

    async def __aenter__(self: _Relay) -> _Relay:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, call: Call[T]) -> T:
        kwargs = calls.request_kwargs(call, self.timeouts)
        try:
            response = await self._http.request(**kwargs)
        except httpx.HTTPError as exc:
            raise calls.transport_error(exc, self.url) from exc
        return calls.parse_response(call, response)

    async def _run_chunks(
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

    async def key(self) -> KeyInfo:
        """``GET /key``: the client's API key (id, name, scripts, scopes; never the key itself).
        Any key may ask, whatever its scopes."""
        return await self._run(calls.key())

    async def list_sessions(
        self,
        *,
        script_id: str | None = None,
        user_key: str | None = None,
        roblox_id: int | None = None,
        place_id: int | None = None,
        job_id: str | None = None,
        function: str | None = None,
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
            "function": function,
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
        function: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Session]:
        """Every matching session, page after page (``page_size`` ids a request, 1..1000)."""
        filters = {
            "script_id": script_id,
            "user_key": user_key,
            "roblox_id": roblox_id,
            "place_id": place_id,
            "job_id": job_id,
            "function": function,
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
        self,
        targets: list[str] | SessionFilter,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        progress: Progress | None = None,
    ) -> BulkDisconnectResult:
        """Disconnect these sessions, or one page of those matching a ``SessionFilter`` (chunks,
        pages and failures as in ``SessionRelay.disconnect_many``)."""
        if isinstance(targets, SessionFilter):
            return await self._run(later.disconnect_filtered(targets, limit, cursor))
        session_ids = list(targets)
        done = await self._run_chunks(session_ids, calls.disconnect_chunk, progress)
        gone = set(done)
        return BulkDisconnectResult(
            disconnected=done, not_disconnected=[sid for sid in session_ids if sid not in gone]
        )

    async def message(
        self,
        session_id: str,
        key: str,
        data: Any = UNSET,
        *,
        timeout: float | None = None,
        wait: bool = True,
        idempotency_key: str | None = None,
    ) -> MessageResult | MessageAccepted:
        """Run the client's function ``key`` with ``data`` and wait up to ``timeout`` seconds
        (long polls where the deployment waits less; ``wait=False`` and ``idempotency_key`` as in
        ``SessionRelay.message``)."""
        accepted = later.message_later(session_id, key, data, timeout, idempotency_key)
        if not wait:
            return await self._run(accepted)
        if not later.needs_long_polls(timeout, await self._maximum_wait()):
            return await self._run(calls.message(session_id, key, data, timeout, idempotency_key))
        message_id = (await self._run(accepted)).message_id
        maximum = await self._maximum_wait() or 1.0
        give_up = time.monotonic() + calls.wait_of(timeout) + later.POLL_SLACK_S
        while True:
            left = give_up - later.POLL_SLACK_S - time.monotonic()
            outcome = await self._run(later.get_message(message_id, later.poll_step_s(maximum, left)))
            if outcome.done or time.monotonic() > give_up:
                return later.as_result(outcome)

    async def _maximum_wait(self) -> float | None:
        if self._maximum is UNSET:
            try:
                self._maximum = await self._run(later.maximum_wait())
            except SessionRelayError:  # no OpenAPI document: the API does not need long polls
                self._maximum = None
        return self._maximum

    async def message_many(
        self,
        targets: list[str] | SessionFilter,
        key: str,
        data: Any = UNSET,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        timeout: float | None = None,
        wait: bool = True,
        idempotency_key: str | None = None,
        progress: Progress | None = None,
    ) -> BulkMessageResult | BatchAccepted:
        """Message many sessions at once, or one page of those matching a ``SessionFilter``
        (as ``SessionRelay.message_many``)."""
        if isinstance(targets, SessionFilter):
            page = later.message_filtered(targets, limit, cursor, key, data, timeout, wait, idempotency_key)
            return await self._run(page)
        session_ids = calls.one_request(list(targets), wait, idempotency_key)
        if not wait:
            return await self._run(later.batch_later(session_ids, key, data, timeout, idempotency_key))
        entries = await self._run_chunks(
            session_ids,
            lambda chunk: calls.message_chunk(chunk, key, data, timeout, idempotency_key),
            progress,
        )
        return BulkMessageResult(responses=entries)

    async def get_message(self, message_id: str, *, wait: float = 0) -> MessageOutcome:
        """The outcome of a message sent with ``wait=False`` (as ``SessionRelay.get_message``)."""
        return await self._run(later.get_message(message_id, wait))

    async def get_batch(self, batch_id: str, *, wait: float = 0) -> BatchOutcome:
        """The outcomes of a bulk message sent with ``wait=False``."""
        return await self._run(later.get_batch(batch_id, wait))
