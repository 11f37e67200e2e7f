"""The REST routes as transport-free calls, shared by the sync and the async client.

A ``Call`` says what to send and how to read the answer; each client only moves bytes.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from session_relay_client.contract import MAX_BULK_IDS, MAX_MESSAGE_TIMEOUT_S
from session_relay_client.errors import (
    RequestTimeout,
    SessionRelayError,
    TransportError,
    UnexpectedResponse,
    ValidationError,
    error_for,
)
from session_relay_client.models import (
    KeyInfo,
    MessageResult,
    Session,
    SessionMessageResult,
    SessionPage,
)

DEFAULT_URL = "http://127.0.0.1:3000"

# TypeVars rather than the 3.12 syntax: the SDK runs on Python 3.10.
T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Marks ``data`` as not given: the API then uses its default, ``[]`` (``None`` sends ``null``)."""


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[dict[str, Any]], T]
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    wait_s: float | None = None
    """How long the server may legitimately hold the request (a message's wait), seconds."""
    headers: dict[str, str] = field(default_factory=dict)
    success_document: bool = True
    """False for answers that are not ``{"success": true, ...}`` (the OpenAPI document)."""

    def content(self) -> bytes | None:
        if self.body is None:
            return None
        try:
            return json.dumps(self.body, ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"data: cannot be sent as JSON ({exc})") from exc


def _session_path(session_id: str, action: str = "") -> str:
    return f"/sessions/{quote(session_id, safe='')}{action}"


def model_of(model: type[M], value: Any) -> M:
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        raise UnexpectedResponse(
            f"the API answered in an unexpected shape ({exc.errors()[0]['msg']})"
        ) from exc


def _list_of(model: type[M], value: Any) -> list[M]:
    if not isinstance(value, list):
        raise UnexpectedResponse("the API answered in an unexpected shape (a list was expected)")
    return [model_of(model, item) for item in value]


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UnexpectedResponse("the API answered in an unexpected shape (a list of ids was expected)")
    return value


def message_body(key: str, data: Any, timeout_s: float | None, wait: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"key": key}
    if data is not UNSET:
        body["data"] = data
    if timeout_s is not None:
        body["timeout"] = timeout_s
    if not wait:
        body["wait"] = False
    return body


def retry_headers(idempotency_key: str | None) -> dict[str, str]:
    return {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}


def wait_of(timeout_s: float | None) -> float:
    return MAX_MESSAGE_TIMEOUT_S if timeout_s is None else float(timeout_s)


# ---------------------------------------------------------------- the routes


def health() -> Call[bool]:
    return Call("GET", "/health", lambda _: True)


def key() -> Call[KeyInfo]:
    return Call("GET", "/key", lambda answer: model_of(KeyInfo, answer.get("key")))


def list_sessions(
    filters: dict[str, str | int | None], limit: int | None, cursor: str | None
) -> Call[SessionPage]:
    params = {name: str(value) for name, value in filters.items() if value is not None}
    if limit is not None:
        params["limit"] = str(limit)
    if cursor is not None:
        params["cursor"] = cursor
    return Call("GET", "/sessions", lambda answer: model_of(SessionPage, answer), params=params)


def get_session(session_id: str) -> Call[Session]:
    return Call("GET", _session_path(session_id), lambda answer: model_of(Session, answer.get("session")))


def disconnect(session_id: str) -> Call[None]:
    return Call("POST", _session_path(session_id, "/disconnect"), lambda _: None)


def disconnect_chunk(session_ids: list[str]) -> Call[list[str]]:
    return Call(
        "POST",
        "/sessions/disconnect",
        lambda answer: _strings(answer.get("disconnected")),
        body={"session_ids": session_ids},
    )


def message(
    session_id: str, key: str, data: Any, timeout_s: float | None, idempotency_key: str | None = None
) -> Call[MessageResult]:
    return Call(
        "POST",
        _session_path(session_id, "/message"),
        lambda answer: model_of(MessageResult, answer),
        body=message_body(key, data, timeout_s),
        wait_s=wait_of(timeout_s),
        headers=retry_headers(idempotency_key),
    )


def message_chunk(
    session_ids: list[str], key: str, data: Any, timeout_s: float | None, idempotency_key: str | None = None
) -> Call[list[SessionMessageResult]]:
    def parse(answer: dict[str, Any]) -> list[SessionMessageResult]:
        entries = answer.get("responses")
        if not isinstance(entries, list) or len(entries) != len(session_ids):
            raise UnexpectedResponse("the API answered with a different number of entries than ids sent")
        # Entries come in request order, so a server without the session_id extension is labelled too.
        labelled = [
            {"session_id": sid, **entry} if isinstance(entry, dict) else entry
            for sid, entry in zip(session_ids, entries, strict=True)
        ]
        return _list_of(SessionMessageResult, labelled)

    body = {"session_ids": session_ids, **message_body(key, data, timeout_s)}
    headers = retry_headers(idempotency_key)
    return Call("POST", "/sessions/message", parse, body=body, wait_s=wait_of(timeout_s), headers=headers)


# ---------------------------------------------------------------- chunking


def chunked(session_ids: list[str]) -> list[list[str]]:
    """Split ids into requests of at most ``MAX_BULK_IDS``.

    Up to the limit the list goes as it is (the API judges emptiness and duplicates); beyond it,
    duplicates are refused here, since no single request would see them all.
    """
    session_ids = list(session_ids)
    if len(session_ids) <= MAX_BULK_IDS:
        return [session_ids]
    if len(set(session_ids)) != len(session_ids):
        raise ValidationError("session_ids: must not contain duplicate ids")
    return [session_ids[start : start + MAX_BULK_IDS] for start in range(0, len(session_ids), MAX_BULK_IDS)]


def one_request(session_ids: list[str], wait: bool, idempotency_key: str | None) -> list[str]:
    """Ids for a call that cannot be split into chunks (one batch id, one idempotency record)."""
    if len(session_ids) > MAX_BULK_IDS and (not wait or idempotency_key is not None):
        raise ValidationError(
            f"session_ids: at most {MAX_BULK_IDS} with wait=False or an idempotency_key (one request)"
        )
    return session_ids


def first_failure(results: list[Any]) -> None:
    """Raise the first exception (in request order) among gathered chunk results."""
    for result in results:
        if isinstance(result, BaseException):
            raise result


def flatten(parts: list[list[T]]) -> list[T]:
    return [item for part in parts for item in part]


# ---------------------------------------------------------------- transport glue


@dataclass(frozen=True)
class Timeouts:
    """HTTP timeouts (seconds): ``request_s`` for every call, raised for message calls to the
    message's wait plus ``message_margin_s`` so the client never gives up before the server."""

    request_s: float = 30.0
    connect_s: float = 10.0
    message_margin_s: float = 15.0

    def for_call(self, call: Call[Any]) -> httpx.Timeout:
        read = (
            self.request_s
            if call.wait_s is None
            else max(self.request_s, call.wait_s + self.message_margin_s)
        )
        return httpx.Timeout(self.request_s, connect=self.connect_s, read=read)


def headers(api_key: str | None) -> dict[str, str]:
    found = {"Accept": "application/json", "User-Agent": "session-relay-sdk"}
    if api_key:
        found["Authorization"] = f"Bearer {api_key}"
    return found


def request_kwargs(call: Call[Any], timeouts: Timeouts) -> dict[str, Any]:
    content = call.content()
    return {
        "method": call.method,
        "url": call.path,
        "params": call.params or None,
        "content": content,
        "headers": {**({"Content-Type": "application/json"} if content is not None else {}), **call.headers}
        or None,
        "timeout": timeouts.for_call(call),
    }


def transport_error(exc: httpx.HTTPError, url: str) -> SessionRelayError:
    """A clear sentence for a request that got no answer."""
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"no answer from {url} in time ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectError):
        return TransportError(f"cannot connect to {url}: {exc or 'connection failed'}")
    return TransportError(f"request to {url} failed: {exc or type(exc).__name__}")


def parse_response(call: Call[T], response: httpx.Response) -> T:
    """The call's result, or the typed exception for a failed or malformed answer."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.is_error:
        raise error_for(response.status_code, answer, response.reason_phrase)
    if not isinstance(answer, dict) or (call.success_document and answer.get("success") is not True):
        raise UnexpectedResponse(f"the API answered HTTP {response.status_code} without a success document")
    return call.parse(answer)
