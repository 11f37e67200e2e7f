"""``GET /health``: no key needed, and the query string is ignored (PROTOCOL.md section 1, "Errors"):
uptime monitors and caches add parameters of their own, and a health check must not fail on them."""

from fastapi.responses import JSONResponse

from session_relay.api.documented import DocumentedRouter
from session_relay.api.responses import Success, ok

router = DocumentedRouter()


@router.get("/health", response_model=Success)
async def health() -> JSONResponse:
    return ok({"success": True})
