"""Request pieces every router shares (FastAPI's "dependencies"). Bodies are parsed here, not by
FastAPI, to keep the contract's order of checks and to refuse what ``json`` would otherwise accept
(NaN, Infinity)."""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from session_relay.auth import Principal, get_authenticator
from session_relay.contract import MAX_FIELD_LENGTH
from session_relay.deadlines import Deadline
from session_relay.engine import Messenger
from session_relay.errors import (
    MalformedBody,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyCalls,
    ValidationFailed,
)
from session_relay.gateway import gateway_for
from session_relay.models import describe_errors
from session_relay.settings import get_settings
from session_relay.store import SessionRecord, decode_cursor, get_store, now_ms
from session_relay.targets import BulkRequest
from session_relay.wire import parse_json

MAX_BODY_BYTES = 1_048_576
# Ids this API issues are short; anything longer cannot exist and is never sent to DynamoDB.
MAX_SESSION_ID_LENGTH = MAX_FIELD_LENGTH
# How long a caller told 429 should wait before trying again (seconds, the Retry-After header).
RETRY_AFTER_S = 1


@lru_cache(maxsize=1)
def get_messenger() -> Messenger:
    settings = get_settings()
    if not settings.management_api_url:
        raise RuntimeError("MANAGEMENT_API_URL is not set: the REST API cannot reach the WebSocket API")
    return Messenger(get_store(), gateway_for(settings.management_api_url), settings)


def describe(errors: Any, model: type[BaseModel] | None = None) -> str:
    """One sentence naming the first failing field and what it must be (``models.EXPECTED``)."""
    return describe_errors(errors, model)


def principal(request: Request) -> Principal:
    return get_authenticator().authenticate(request.headers.get("authorization"))


async def body[M: BaseModel](request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES} bytes")
    try:
        document = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"the request body is not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ValidationFailed("body: must be a JSON object")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ValidationFailed(describe(exc.errors(), model)) from exc


def remaining_ms(request: Request) -> int | None:
    context = request.scope.get("aws.context")
    return context.get_remaining_time_in_millis() if context is not None else None


def arrival_ms(request: Request) -> int | None:
    """When API Gateway received the request (epoch ms), from the REST proxy event:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    """
    context = (request.scope.get("aws.event") or {}).get("requestContext") or {}
    arrival = context.get("requestTimeEpoch")
    return arrival if isinstance(arrival, int) and not isinstance(arrival, bool) else None


def deadline(request: Request, timeout_s: float | None) -> Deadline:
    """The call's deadline: its wait, and its answer due before the integration timeout."""
    return get_messenger().deadline(timeout_s, remaining_ms(request), arrival_ms(request))


@contextmanager
def in_flight(request: Request, caller: Principal) -> Iterator[None]:
    """Hold one of the key's slots for calls in flight until the call answers (429 when none is
    free, before anything is sent). The slot is given back on every way out; if the Lambda dies
    first, its lease expires when the invocation could no longer be running."""
    settings, store = get_settings(), get_store()
    cap = settings.max_calls_in_flight
    expires_ms = now_ms() + (remaining_ms(request) or settings.integration_timeout_ms) + 1_000
    lease = store.acquire_lease(caller.key_id, cap, expires_ms)
    if lease is None:
        raise TooManyCalls(
            f"this API key already has {cap} calls in flight, the most this deployment allows; "
            f"nothing was sent, retry after {RETRY_AFTER_S} s",
            retry_after_s=RETRY_AFTER_S,
        )
    try:
        yield
    finally:
        with suppress(ServiceUnavailable):  # not given back: the lease expires by itself
            store.release_lease(caller.key_id, lease)


def no_query(request: Request, allowed: frozenset[str] = frozenset()) -> None:
    """A query parameter the route does not take is a 422 (a typo must not be silently ignored)."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise ValidationFailed(f"{unknown[0]}: is not a query parameter of this route (it takes {takes})")


def owned_session(caller: Principal, session_id: str) -> SessionRecord:
    """The caller's live session, or 404: another owner's session looks exactly like none."""
    record = None
    if 0 < len(session_id) <= MAX_SESSION_ID_LENGTH:
        record = get_store().get_session(session_id)
    if record is None or record.session.script_id not in caller.script_ids:
        raise NotFound("session not found")
    return record


def owned_sessions(caller: Principal, session_ids: list[str]) -> dict[str, SessionRecord]:
    lookup = [sid for sid in session_ids if 0 < len(sid) <= MAX_SESSION_ID_LENGTH]
    found = get_store().get_sessions(lookup) if lookup else {}
    return {sid: r for sid, r in found.items() if r.session.script_id in caller.script_ids}


def bulk_targets(
    caller: Principal, wanted: BulkRequest
) -> tuple[list[str], dict[str, SessionRecord], dict[str, Any]]:
    """What a bulk call targets: the ids in the order to answer them, the caller's live sessions
    among them, and (for a ``filter``) the ``matched`` and ``next_cursor`` fields of the answer."""
    if wanted.filter is None:
        assert wanted.session_ids is not None  # the model requires exactly one of the two
        return wanted.session_ids, owned_sessions(caller, wanted.session_ids), {}
    fields: dict[str, Any] = wanted.filter.model_dump(exclude_none=True)
    scripts = caller.script_ids
    if "script_id" in fields:  # a script the key does not cover matches nothing
        scripts = scripts & {fields.pop("script_id")}
    records, cursor = get_store().list_session_records(scripts, fields, wanted.page_size, wanted.cursor)
    ids = [record.session.id for record in records]
    paging = {"matched": len(ids), "next_cursor": cursor}
    return ids, {record.session.id: record for record in records}, paging


async def bulk_body[M: BulkRequest](request: Request, model: type[M]) -> M:
    """A bulk body, its cursor checked too (a cursor not made here is a 422 before anything else)."""
    wanted = await body(request, model)
    if wanted.cursor is not None:
        decode_cursor(wanted.cursor)
    return wanted
