"""The synchronous client: ``SessionRelay``."""

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from session_relay_client import calls, later
from session_relay_client.bans import BanMethods
from session_relay_client.broadcasts import Broadcasts
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
from session_relay_client.webhooks import WebhookMethods

Progress = Callable[[int], None]
_Relay = TypeVar("_Relay", bound="SessionRelay")


class SessionRelay(Broadcasts, WebhookMethods, BanMethods):  # broadcasts.py, webhooks.py, bans.py
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
        self._maximum: float | None = UNSET

    def __enter__(self: _Relay) -> _Relay:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, call: Call[T]) -> T:
        kwargs = calls.request_kwargs(call, self.timeouts)
        try:
            response = self._http.request(**kwargs)
        except httpx.HTTPError as exc:
            raise calls.transport_error(exc, self.url) from exc
        return calls.parse_response(call, response)

    def _run_chunks(
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

    def key(self) -> KeyInfo:
        """``GET /key``: the client's API key (id, name, scripts, scopes; never the key itself).
        Any key may ask, whatever its scopes."""
        return self._run(calls.key())

    def list_sessions(
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
        """One page of the caller's live sessions, newest first, filtered by the given fields
        (``function``: the sessions that declared a function of that name).

        ``limit`` is 1..1000 (the API's default is 100); pass the page's ``next_cursor`` as
        ``cursor`` for the next page.
        """
        filters = {
            "script_id": script_id,
            "user_key": user_key,
            "roblox_id": roblox_id,
            "place_id": place_id,
            "job_id": job_id,
            "function": function,
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
        function: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Session]:
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
        self,
        targets: list[str] | SessionFilter,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        progress: Progress | None = None,
    ) -> BulkDisconnectResult:
        """Disconnect each of these sessions that exists and is the caller's, or (``targets`` a
        ``SessionFilter``) one page of the caller's sessions that match: at most ``limit`` (1..1000,
        default 1000) after ``cursor``; the result's ``next_cursor`` continues.

        More than 1000 ids go as concurrent chunks of 1000. ``progress(n)`` is called (possibly
        from a worker thread) as each chunk of ``n`` ids completes. If a chunk fails, the first
        failure in request order is raised once every chunk has finished; chunks that
        succeeded have taken effect.
        """
        if isinstance(targets, SessionFilter):
            return self._run(later.disconnect_filtered(targets, limit, cursor))
        session_ids = list(targets)
        done = self._run_chunks(session_ids, calls.disconnect_chunk, progress)
        gone = set(done)
        return BulkDisconnectResult(
            disconnected=done, not_disconnected=[sid for sid in session_ids if sid not in gone]
        )

    def message(
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
        (0 < timeout <= 60; the API's default is 60) for its answer.

        ``data`` left out means the API's default ``[]``; ``None`` sends ``null``. A deployment
        that waits less than ``timeout`` per call is long-polled until the outcome is known, so the
        full wait holds anywhere. ``wait=False`` returns a ``MessageAccepted`` at once: read the
        outcome with ``get_message``. ``idempotency_key`` makes the call safe to retry for 15
        minutes: a repeat sends nothing again and gets the first call's answer.
        """
        if not wait:
            return self._run(later.message_later(session_id, key, data, timeout, idempotency_key))
        if not later.needs_long_polls(timeout, self._maximum_wait()):
            return self._run(calls.message(session_id, key, data, timeout, idempotency_key))
        accepted = self._run(later.message_later(session_id, key, data, timeout, idempotency_key))
        return self._poll(accepted.message_id, calls.wait_of(timeout))

    def _poll(self, message_id: str, timeout_s: float) -> MessageResult:
        maximum = self._maximum_wait() or 1.0
        give_up = time.monotonic() + timeout_s + later.POLL_SLACK_S
        while True:
            left = give_up - later.POLL_SLACK_S - time.monotonic()
            outcome = self._run(later.get_message(message_id, later.poll_step_s(maximum, left)))
            if outcome.done or time.monotonic() > give_up:
                return later.as_result(outcome)

    def _maximum_wait(self) -> float | None:
        if self._maximum is UNSET:
            try:
                self._maximum = self._run(later.maximum_wait())
            except SessionRelayError:  # no OpenAPI document: the API does not need long polls
                self._maximum = None
        return self._maximum

    def message_many(
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
        """Message many sessions at once: one entry per id, in request order; an unknown id (or
        one not the caller's) gets reason ``"session not found"``. ``targets`` a ``SessionFilter``:
        one page of the caller's matching sessions, newest first (``limit``, ``cursor`` and the
        result's ``next_cursor`` as in ``disconnect_many``).

        ``wait=False`` returns a ``BatchAccepted`` at once (read it with ``get_batch``);
        ``idempotency_key`` as in ``message``. Both take at most 1000 ids (one request).
        Chunking, ``progress`` and failures behave as in ``disconnect_many``.
        """
        if isinstance(targets, SessionFilter):
            page = later.message_filtered(targets, limit, cursor, key, data, timeout, wait, idempotency_key)
            return self._run(page)
        session_ids = calls.one_request(list(targets), wait, idempotency_key)
        if not wait:
            return self._run(later.batch_later(session_ids, key, data, timeout, idempotency_key))
        entries = self._run_chunks(
            session_ids,
            lambda chunk: calls.message_chunk(chunk, key, data, timeout, idempotency_key),
            progress,
        )
        return BulkMessageResult(responses=entries)

    def get_message(self, message_id: str, *, wait: float = 0) -> MessageOutcome:
        """The outcome of a message sent with ``wait=False``, holding up to ``wait`` seconds (at most
        the deployment's maximum wait) until it is known; ``NotFound`` for an id of another key,
        unknown, or expired (15 minutes after the message's deadline)."""
        return self._run(later.get_message(message_id, wait))

    def get_batch(self, batch_id: str, *, wait: float = 0) -> BatchOutcome:
        """The outcomes of a bulk message sent with ``wait=False`` (see ``get_message``)."""
        return self._run(later.get_batch(batch_id, wait))
