"""``/broadcasts``: message or disconnect every session matching a filter, however many (``202`` at
once, scope ``message`` or ``disconnect``), read one and its responses, list the key's (``read``),
cancel one (the scope of its action)."""

from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from session_relay.api.bodies import describe_errors
from session_relay.api.broadcast_bodies import BroadcastDisconnectRequest, BroadcastMessageRequest, PageQuery
from session_relay.api.documented import DocumentedRouter
from session_relay.api.requests import body, call, no_query, principal, retry, wait_query
from session_relay.api.responses import IDEMPOTENCY_HEADER, Success, answer, fails, needs
from session_relay.api.routers.outcomes import WAIT_PARAMETER
from session_relay.errors import ValidationFailed
from session_relay.service.access import require
from session_relay.service.broadcasts import Order
from session_relay.service.wiring import get_broadcasts

router = DocumentedRouter()

BroadcastId = Annotated[str, Path(description="The id a 202 answer gave")]
_PAGE_QUERY = frozenset(PageQuery.model_fields)
_PAGE_PARAMETERS = {
    "parameters": [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
}


class BroadcastAccepted(Success):
    broadcast_id: str


class BroadcastAnswer(Success):
    """The broadcast object: id, action, filter, key (message only), created_at, done, cancelled,
    matched (null until every matching session was found) and counts."""

    broadcast: dict[str, Any]


class BroadcastList(Success):
    broadcasts: list[dict[str, Any]]
    next_cursor: str | None


class BroadcastResponses(Success):
    responses: list[dict[str, Any]]
    next_cursor: str | None


_ACCEPTED = {202: {"model": BroadcastAccepted, "description": "Started: read it by this id"}}


def _page(request: Request) -> PageQuery:
    no_query(request, _PAGE_QUERY)
    try:
        return PageQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ValidationFailed(describe_errors(exc.errors())) from exc


async def _start(request: Request, action: str, model: type[BaseModel]) -> JSONResponse:
    caller = principal(request, action)
    no_query(request)
    sent = await body(request, model)
    send = sent.send() if isinstance(sent, BroadcastMessageRequest) else None
    order = Order(action, sent.filter_fields(), send)  # type: ignore[attr-defined]
    return answer(get_broadcasts().start(caller, order, call(request), await retry(request)))


@router.post(
    "/broadcasts/message",
    status_code=202,
    response_model=BroadcastAccepted,
    responses={**fails(400, 401, 403, 409, 413, 422, 429, 503), **_ACCEPTED},
    openapi_extra={"requestBody": BroadcastMessageRequest, **needs("message"), **IDEMPOTENCY_HEADER},
)
async def broadcast_message(request: Request) -> JSONResponse:
    return await _start(request, "message", BroadcastMessageRequest)


@router.post(
    "/broadcasts/disconnect",
    status_code=202,
    response_model=BroadcastAccepted,
    responses={**fails(400, 401, 403, 409, 413, 422, 429, 503), **_ACCEPTED},
    openapi_extra={"requestBody": BroadcastDisconnectRequest, **needs("disconnect"), **IDEMPOTENCY_HEADER},
)
async def broadcast_disconnect(request: Request) -> JSONResponse:
    return await _start(request, "disconnect", BroadcastDisconnectRequest)


@router.get(
    "/broadcasts",
    response_model=BroadcastList,
    responses=fails(401, 403, 422, 503),
    openapi_extra={**_PAGE_PARAMETERS, **needs("read")},
)
async def list_broadcasts(request: Request) -> JSONResponse:
    caller = principal(request, "read")
    query = _page(request)
    return answer(get_broadcasts().page(caller, query.limit, query.cursor))


@router.get(
    "/broadcasts/{broadcast_id}",
    response_model=BroadcastAnswer,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra={"parameters": [WAIT_PARAMETER], **needs("read")},
)
async def read_broadcast(broadcast_id: BroadcastId, request: Request) -> JSONResponse:
    caller = principal(request, "read")
    wait_s = wait_query(request)
    return answer(get_broadcasts().read(caller, broadcast_id, wait_s, call(request)))


@router.get(
    "/broadcasts/{broadcast_id}/responses",
    response_model=BroadcastResponses,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra={**_PAGE_PARAMETERS, **needs("read")},
)
async def broadcast_responses(broadcast_id: BroadcastId, request: Request) -> JSONResponse:
    caller = principal(request, "read")
    query = _page(request)
    return answer(get_broadcasts().responses(caller, broadcast_id, query.limit, query.cursor))


@router.post(
    "/broadcasts/{broadcast_id}/cancel",
    response_model=Success,
    responses=fails(400, 401, 403, 404, 422, 503),
    openapi_extra={
        "security": [{"ApiKey": []}],
        "x-required-scope": "message or disconnect",
        "description": 'Needs an API key with the "message or disconnect" scope: the scope of the '
        "broadcast's action; any other key is answered 403.",
    },
)
async def cancel_broadcast(broadcast_id: BroadcastId, request: Request) -> JSONResponse:
    caller = principal(request, None)
    if "message" not in caller.scopes and "disconnect" not in caller.scopes:
        require(caller, "message")  # it may cancel nothing: 403 before anything is read
    no_query(request)
    if (await request.body()).strip():  # no body, or {}
        await body(request, _NoFields)
    broadcasts = get_broadcasts()
    require(caller, broadcasts.action_of(caller, broadcast_id))  # 404 first: another key's is none
    return answer(broadcasts.cancel(caller, broadcast_id))


class _NoFields(BaseModel):
    """``POST /broadcasts/{id}/cancel`` takes no body, or ``{}``."""

    model_config = ConfigDict(extra="forbid")
