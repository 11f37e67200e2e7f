"""``/sessions``: list, look up, message and disconnect sessions, one or many."""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from session_relay.api.dependencies import (
    body,
    deadline,
    describe,
    get_messenger,
    in_flight,
    no_query,
    owned_session,
    owned_sessions,
    principal,
)
from session_relay.api.responses import (
    AUTH,
    BulkDisconnectAnswer,
    BulkMessageAnswer,
    MessageAnswer,
    SessionAnswer,
    SessionPage,
    Success,
    fails,
    ok,
    openapi_body,
)
from session_relay.engine import check_frame_fits
from session_relay.errors import ServiceUnavailable, ValidationFailed
from session_relay.fitting import fit_entries
from session_relay.models import BulkMessageRequest, BulkRequest, ListQuery, MessageRequest
from session_relay.store import get_store

router = APIRouter()

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
    return ok({"success": True, "sessions": [s.model_dump() for s in sessions], "next_cursor": cursor})


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
    return ok({"success": True, "session": record.session.model_dump()})


@router.post(
    "/sessions/disconnect",
    response_model=BulkDisconnectAnswer,
    responses=fails(400, 401, 413, 422, 429, 503),
    openapi_extra={**openapi_body(BulkRequest), **AUTH},
)
async def disconnect_many(request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request)
    wanted = await body(request, BulkRequest)
    with in_flight(request, caller):
        records = owned_sessions(caller, wanted.session_ids)
        ordered = [records[sid] for sid in wanted.session_ids if sid in records]
        disconnected = get_messenger().disconnect(ordered) if ordered else []
    return ok({"success": True, "disconnected": disconnected})


@router.post(
    "/sessions/message",
    response_model=BulkMessageAnswer,
    responses=fails(400, 401, 413, 422, 429, 503),
    openapi_extra={**openapi_body(BulkMessageRequest), **AUTH},
)
async def message_many(request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request)
    sent = await body(request, BulkMessageRequest)
    check_frame_fits(sent.key, sent.data)
    until = deadline(request, sent.timeout)
    with in_flight(request, caller):
        records = owned_sessions(caller, sent.session_ids)
        responses = get_messenger().message_many(sent.session_ids, records, sent.key, sent.data, until)
    return ok({"success": True, "responses": fit_entries(responses)})


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
    responses=fails(400, 401, 404, 413, 422, 429, 503),
    openapi_extra={**openapi_body(MessageRequest), **AUTH},
)
async def message(session_id: SessionId, request: Request) -> JSONResponse:
    caller = principal(request)
    no_query(request)
    sent = await body(request, MessageRequest)
    check_frame_fits(sent.key, sent.data)
    until = deadline(request, sent.timeout)
    with in_flight(request, caller):
        record = owned_session(caller, session_id)
        outcome = get_messenger().message(record, sent.key, sent.data, until)
    return ok({"success": True, **outcome.as_contract()})
