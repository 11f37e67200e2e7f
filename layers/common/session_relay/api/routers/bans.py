"""``/bans``: ban a ``user_key`` or ``roblox_id`` from a script and lift it (scope ``disconnect``), list
the caller's bans (``read``). PROTOCOL.md, "Extension: bans"."""

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from session_relay.api.ban_bodies import BanListQuery, BanRequest
from session_relay.api.bodies import describe_errors
from session_relay.api.documented import DocumentedRouter
from session_relay.api.requests import body, call, no_query, principal, retry
from session_relay.api.responses import IDEMPOTENCY_HEADER, BanCreated, BanPage, Success, answer, fails, needs
from session_relay.errors import ValidationFailed
from session_relay.service.wiring import get_bans

router = DocumentedRouter()

BanId = Annotated[str, Path(description="The ban's id, as POST /bans gave it")]

_LIST_QUERY = frozenset(BanListQuery.model_fields)
_LIST_PARAMETERS = {
    "parameters": [
        {"name": "script_id", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        },
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
}
_GIVEN = {
    201: {
        "model": BanCreated,
        "description": "The ban, and the ids of the live sessions it closed (each was sent "
        '`{"type":"disconnect","reason":"banned"}`)',
    }
}


@router.post(
    "/bans",
    status_code=201,
    response_model=BanCreated,
    responses={**_GIVEN, **fails(400, 401, 403, 404, 409, 413, 422, 503)},
    openapi_extra={"requestBody": BanRequest, **needs("disconnect"), **IDEMPOTENCY_HEADER},
)
async def give_ban(request: Request) -> JSONResponse:
    caller = principal(request, "disconnect")
    no_query(request)
    wanted = await body(request, BanRequest)
    sent = await retry(request)
    context = call(request).lambda_context
    return answer(get_bans().give(caller, wanted.wanted(), sent.header, sent.request, context))


@router.get(
    "/bans",
    response_model=BanPage,
    responses=fails(401, 403, 422, 503),
    openapi_extra={**_LIST_PARAMETERS, **needs("read")},
)
async def list_bans(request: Request) -> JSONResponse:
    caller = principal(request, "read")
    no_query(request, _LIST_QUERY)
    try:
        query = BanListQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ValidationFailed(describe_errors(exc.errors())) from exc
    return answer(get_bans().page(caller, query.script_id, query.limit, query.cursor))


@router.delete(
    "/bans/{ban_id}",
    response_model=Success,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra=needs("disconnect"),
)
async def lift_ban(ban_id: BanId, request: Request) -> JSONResponse:
    caller = principal(request, "disconnect")
    no_query(request)
    return answer(get_bans().lift(caller, ban_id))
