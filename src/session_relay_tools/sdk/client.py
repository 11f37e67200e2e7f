"""The synchronous client: ``SessionRelay``."""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


class SessionRelay:
    """A client of the Session Relay REST API.

    ``url`` is the API's base URL (the stage URL on AWS); ``api_key`` the owner key (only
    ``health()`` works without one). ``timeout`` bounds every request (seconds); message calls
    wait longer: their own wait (``timeout`` argument, default 60 s) plus ``message_margin``.
    Bulk calls over 1000 ids are split into chunks of 1000, at most ``max_concurrency`` in flight.
    Every failure raises a ``SessionRelayError`` subclass. Use as a context manager, or ``close()``.
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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.url = url.rstrip("/")
        self.timeouts = Timeouts(timeout, connect_timeout, message_margin)
        self.max_concurrency = max_concurrency
        self._http = httpx.Client(base_url=self.url, headers=calls.headers(api_key), transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run[T](self, call: Call[T]) -> T:
        kwargs = calls.request_kwargs(call, self.timeouts)
        try:
            response = self._http.request(**kwargs)
        except httpx.HTTPError as exc:
            raise calls.transport_error(exc, self.url) from exc
        return calls.parse_response(call, response)

    def _run_chunks[T](
        self, session_ids: list[str], make: Callable[[list[str]], Call[list[T]]], progress: Progress | None
    ) -> list[T]:
        chunks = calls.chunked(session_ids)

        def run(chunk: list[str]) -> list[T] | BaseException:
            try:
                result = self._run(make(chunk))
            except Exception as exc:
                return exc
            if progress is not None:
                progress(len(chunk))
            return result

        if len(chunks) == 1:
            results = [run(chunks[0])]
        else:
            with ThreadPoolExecutor(min(self.max_concurrency, len(chunks))) as pool:
                results = list(pool.map(run, chunks))
        calls.first_failure(results)
        return calls.flatten(results)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- routes

    def health(self) -> bool:
        """``GET /health``: True once the API can serve (raises otherwise). Needs no key."""
        return self._run(calls.health())

    def list_sessions(
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
        """One page of the caller's live sessions, newest first, filtered by the given fields.

        ``limit`` is 1..1000 (the API's default is 100); pass the page's ``next_cursor`` as
        ``cursor`` for the next page.
        """
        filters = {
            "script_id": script_id,
            "user_key": user_key,
            "roblox_id": roblox_id,
            "place_id": place_id,
            "job_id": job_id,
        }
        return self._run(calls.list_sessions(filters, limit, cursor))

    def iter_sessions(
        self,
        *,
        script_id: str | None = None,
        user_key: str | None = None,
        roblox_id: int | None = None,
        place_id: int | None = None,
        job_id: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Session]:
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
            page = self._run(calls.list_sessions(filters, page_size, cursor))
            yield from page.sessions
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_session(self, session_id: str) -> Session:
        """The session; ``SessionNotFound`` if it does not exist or is not the caller's."""
        return self._run(calls.get_session(session_id))

    def disconnect(self, session_id: str) -> None:
        """Close the session's WebSocket and delete it; ``SessionNotFound`` if unknown."""
        self._run(calls.disconnect(session_id))

    def disconnect_many(
        self, session_ids: list[str], *, progress: Progress | None = None
    ) -> BulkDisconnectResult:
        """Disconnect each of these sessions that exists and is the caller's.

        More than 1000 ids go as concurrent chunks of 1000. ``progress(n)`` is called (possibly
        from a worker thread) as each chunk of ``n`` ids completes. If a chunk fails, the first
        failure in request order is raised once every chunk has finished; chunks that
        succeeded have taken effect.
        """
        session_ids = list(session_ids)
        done = self._run_chunks(session_ids, calls.disconnect_chunk, progress)
        gone = set(done)
        return BulkDisconnectResult(
            disconnected=done, not_disconnected=[sid for sid in session_ids if sid not in gone]
        )

    def message(
        self, session_id: str, key: str, data: Any = UNSET, *, timeout: float | None = None
    ) -> MessageResult:
        """Run the client's function ``key`` with ``data`` and wait up to ``timeout`` seconds
        (0 < timeout <= 60; the API's default is 60) for its answer.

        ``data`` left out means the API's default ``[]``; ``None`` sends ``null``.
        """
        return self._run(calls.message(session_id, key, data, timeout))

    def message_many(
        self,
        session_ids: list[str],
        key: str,
        data: Any = UNSET,
        *,
        timeout: float | None = None,
        progress: Progress | None = None,
    ) -> BulkMessageResult:
        """Message many sessions at once: one entry per id, in request order; an unknown id (or
        one not the caller's) gets reason ``"session not found"``.

        Chunking, ``progress`` and failures behave as in ``disconnect_many``.
        """
        entries = self._run_chunks(
            list(session_ids), lambda chunk: calls.message_chunk(chunk, key, data, timeout), progress
        )
        return BulkMessageResult(responses=entries)
