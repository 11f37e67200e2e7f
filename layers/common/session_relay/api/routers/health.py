"""``GET /health``: no key needed."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from session_relay.api.responses import Success, ok

router = APIRouter()


@router.get("/health", response_model=Success)
async def health() -> JSONResponse:
    return ok({"success": True})
