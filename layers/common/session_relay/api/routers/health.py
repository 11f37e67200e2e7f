"""``GET /health``: no key needed."""

from fastapi import Request
from fastapi.responses import JSONResponse

from session_relay.api.documented import DocumentedRouter
from session_relay.api.requests import no_query
from session_relay.api.responses import Success, fails, ok

router = DocumentedRouter()


@router.get("/health", response_model=Success, responses=fails(422))
async def health(request: Request) -> JSONResponse:
    no_query(request)
    return ok({"success": True})
