"""``/sessions``: list, look up, message and disconnect sessions, one or many."""

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from session_relay.api import sending
from session_relay.api.dependencies import (
    body,
    bulk_body,
    bulk_targets,
    deadline,
    describe,
    get_messenger,
    in_flight,
    no_query,
    owned_session,
    principal,
)
from session_relay.api.documented import DocumentedRouter
from session_relay.api.responses import (
    ACCEPTED_BATCH,
    ACCEPTED_MESSAGE,
    AUTH,
    IDEMPOTENCY_HEADER,
    BulkDisconnectAnswer,
    BulkMessageAnswer,
    MessageAnswer,
    SessionAnswer,
    SessionPage,
    Success,
    fails,
    ok,
)
from session_relay.api.sending import answer, retry_key
from session_relay.engine import check_frame_fits
from session_relay.errors import ServiceUnavailable, ValidationFailed
from session_relay.models import ListQuery, MessageRequest
from session_relay.store import get_store
from session_relay.targets import BulkMessageRequest, BulkRequest

router = DocumentedRouter()

SessionId = Annotated[str, Path(description="The session's id")]

_LIST_QUERY = frozenset(ListQuery.model_fields)
_STRING = {"type": "string"}
_POSITIVE_ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
_LIST_PARAMETERS = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in (
            ("script_id", _STRING),
            ("user_key", _STRING),
            ("roblox_id", _POSITIVE_ID),
            ("place_id", _POSITIVE_ID),
            ("job_id", _STRING),
            ("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
            ("cursor", _STRING),
        )
    ]
}


@router.get(
    "/sessions",
    response_model=SessionPage,
    responses=fails(401, 422, 503),
    openapi_extra={**_LIST_PARAMETERS, **AUTH},
)
async def list_sessions(request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request, _LIST_QUERY)
    try:
        query = ListQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ValidationFailed(describe(exc.errors())) from exc
    scripts = caller.script_ids
    if query.script_id is not None:
        scripts = scripts & {query.script_id}
    filters = query.model_dump(include={"user_key", "roblox_id", "place_id", "job_id"}, exclude_none=True)
    sessions, cursor = get_store().list_sessions(scripts, filters, query.limit, query.cursor)
    return ok({"success": True, "sessions": [s.as_dict() for s in sessions], "next_cursor": cursor})


@router.get(
    "/sessions/{session_id}",
    response_model=SessionAnswer,
    responses=fails(401, 404, 422, 503),
    openapi_extra=AUTH,
)
async def get_session(session_id: SessionId, request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request)
    record = owned_session(caller, session_id)
    return ok({"success": True, "session": record.session.as_dict()})


@router.post(
    "/sessions/disconnect",
    response_model=BulkDisconnectAnswer,
    responses=fails(400, 401, 413, 422, 429, 503),
    openapi_extra={"requestBody": BulkRequest, **AUTH},
)
async def disconnect_many(request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request)
    wanted = await bulk_body(request, BulkRequest)
    with in_flight(request, caller):
        session_ids, records, paging = bulk_targets(caller, wanted)
        ordered = [records[sid] for sid in session_ids if sid in records]
        disconnected = get_messenger().disconnect(ordered) if ordered else []
    return ok({"success": True, "disconnected": disconnected, **paging})


@router.post(
    "/sessions/message",
    response_model=BulkMessageAnswer,
    responses={**fails(400, 401, 409, 413, 422, 429, 503), **ACCEPTED_BATCH},
    openapi_extra={"requestBody": BulkMessageRequest, **AUTH, **IDEMPOTENCY_HEADER},
)
async def message_many(request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request)
    sent = await bulk_body(request, BulkMessageRequest)
    check_frame_fits(sent.key, sent.data)
    key = retry_key(request)
    until = deadline(request, sent.timeout)
    with in_flight(request, caller):
        return await answer(request, caller, key, lambda: sending.many(caller, sent, key, until))


@router.post(
    "/sessions/{session_id}/disconnect",
    response_model=Success,
    responses=fails(401, 404, 422, 429, 503),
    openapi_extra=AUTH,
)
async def disconnect(session_id: SessionId, request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request)
    with in_flight(request, caller):
        record = owned_session(caller, session_id)
        if not get_messenger().disconnect([record]):
            raise ServiceUnavailable("the WebSocket gateway is unavailable; the session was not disconnected")
    return ok({"success": True})


@router.post(
    "/sessions/{session_id}/message",
    response_model=MessageAnswer,
    responses={**fails(400, 401, 404, 409, 413, 422, 429, 503), **ACCEPTED_MESSAGE},
    openapi_extra={"requestBody": MessageRequest, **AUTH, **IDEMPOTENCY_HEADER},
)
async def message(session_id: SessionId, request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request)
    sent = await body(request, MessageRequest)
    check_frame_fits(sent.key, sent.data)
    key = retry_key(request)
    until = deadline(request, sent.timeout)
    with in_flight(request, caller):
        return await answer(request, caller, key, lambda: sending.one(caller, session_id, sent, until))
