"""``/sessions``: list, look up (scope ``read``), message (``message``) and disconnect (``disconnect``)
sessions, one or many."""

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from session_relay.api.bodies import (
    BulkMessageRequest,
    BulkRequest,
    ListQuery,
    MessageRequest,
    describe_errors,
)
from session_relay.api.documented import DocumentedRouter
from session_relay.api.requests import body, call, no_query, principal, retry
from session_relay.api.responses import (
    ACCEPTED_BATCH,
    ACCEPTED_MESSAGE,
    IDEMPOTENCY_HEADER,
    BulkDisconnectAnswer,
    BulkMessageAnswer,
    MessageAnswer,
    SessionAnswer,
    SessionPage,
    Success,
    answer,
    fails,
    needs,
    ok,
)
from session_relay.errors import ValidationFailed
from session_relay.service.wiring import get_disconnects, get_messaging, get_sessions

router = DocumentedRouter()

SessionId = Annotated[str, Path(description="The session's id")]

_LIST_QUERY = frozenset(ListQuery.model_fields)
_FILTERS = {"script_id", "user_key", "roblox_id", "place_id", "job_id", "function"}
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
            ("function", {"type": "string", "minLength": 1, "maxLength": 128}),
            ("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
            ("cursor", _STRING),
        )
    ]
}


@router.get(
    "/sessions",
    response_model=SessionPage,
    responses=fails(401, 403, 422, 503),
    openapi_extra={**_LIST_PARAMETERS, **needs("read")},
)
async def list_sessions(request: Request) -> JSONResponse:
    caller = principal(request, "read")
    no_query(request, _LIST_QUERY)
    try:
        query = ListQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ValidationFailed(describe_errors(exc.errors())) from exc
    filters = query.model_dump(include=_FILTERS, exclude_none=True)
    return answer(get_sessions().page(caller, filters, query.limit, query.cursor))


@router.get(
    "/sessions/{session_id}",
    response_model=SessionAnswer,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra=needs("read"),
)
async def get_session(session_id: SessionId, request: Request) -> JSONResponse:
    caller = principal(request, "read")
    no_query(request)
    return answer(get_sessions().get(caller, session_id))


@router.post(
    "/sessions/disconnect",
    response_model=BulkDisconnectAnswer,
    responses=fails(400, 401, 403, 413, 422, 429, 503),
    openapi_extra={"requestBody": BulkRequest, **needs("disconnect")},
)
async def disconnect_many(request: Request) -> JSONResponse:
    caller = principal(request, "disconnect")
    no_query(request)
    wanted = await body(request, BulkRequest)
    return answer(get_disconnects().many(caller, wanted.selection(), call(request)))


@router.post(
    "/sessions/message",
    response_model=BulkMessageAnswer,
    responses={**fails(400, 401, 403, 409, 413, 422, 429, 503), **ACCEPTED_BATCH},
    openapi_extra={"requestBody": BulkMessageRequest, **needs("message"), **IDEMPOTENCY_HEADER},
)
async def message_many(request: Request) -> JSONResponse:
    caller = principal(request, "message")
    no_query(request)
    sent = await body(request, BulkMessageRequest)
    result = get_messaging().message_many(
        caller, sent.selection(), sent.send(), call(request), await retry(request)
    )
    return answer(result)


@router.post(
    "/sessions/{session_id}/disconnect",
    response_model=Success,
    responses=fails(401, 403, 404, 422, 429, 503),
    openapi_extra=needs("disconnect"),
)
async def disconnect(session_id: SessionId, request: Request) -> JSONResponse:
    caller = principal(request, "disconnect")
    no_query(request)
    get_disconnects().one(caller, session_id, call(request))
    return ok({"success": True})


@router.post(
    "/sessions/{session_id}/message",
    response_model=MessageAnswer,
    responses={**fails(400, 401, 403, 404, 409, 413, 422, 429, 503), **ACCEPTED_MESSAGE},
    openapi_extra={"requestBody": MessageRequest, **needs("message"), **IDEMPOTENCY_HEADER},
)
async def message(session_id: SessionId, request: Request) -> JSONResponse:
    caller = principal(request, "message")
    no_query(request)
    sent = await body(request, MessageRequest)
    return answer(
        get_messaging().message(caller, session_id, sent.send(), call(request), await retry(request))
    )
