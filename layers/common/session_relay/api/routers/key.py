"""``GET /key``: what the caller's key may do (its id, name, scripts and scopes), for any key whatever
its scopes; never the key itself nor its hash."""

from fastapi import Request
from fastapi.responses import JSONResponse

from session_relay.api.documented import DocumentedRouter
from session_relay.api.requests import no_query, principal
from session_relay.api.responses import KeyAnswer, answer, fails, needs
from session_relay.service.access import show_key

router = DocumentedRouter()


@router.get("/key", response_model=KeyAnswer, responses=fails(401, 422), openapi_extra=needs(None))
async def key(request: Request) -> JSONResponse:
    caller = principal(request, None)
    no_query(request)
    return answer(show_key(caller))
