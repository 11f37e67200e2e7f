"""Answer shapes (for OpenAPI) and the two ways an answer is built: success or failure."""

from typing import Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from session_relay.models import Session


def ok(payload: dict[str, Any]) -> JSONResponse:
    # Answers bypass response_model re-validation: the shapes are built exactly as the contract says.
    return JSONResponse(payload)


def failure(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status, headers=headers)


class Success(BaseModel):
    success: bool = True


class SessionAnswer(Success):
    session: Session


class SessionPage(Success):
    sessions: list[Session]
    next_cursor: str | None


class MessageAnswer(Success):
    processed: bool
    response: Any = None
    reason: str | None = None


class BulkMessageAnswer(Success):
    responses: list[dict[str, Any]]


class BulkDisconnectAnswer(Success):
    disconnected: list[str]


class Failure(BaseModel):
    success: Literal[False] = False
    error: str


_ERRORS = {
    400: "The body is not valid JSON",
    401: "No API key, or an invalid one",
    404: "No such session (or not one of the caller's)",
    413: "The body, or the frame it would make, is too large",
    422: "A field fails validation, or a query parameter the route does not take",
    429: "This key already has the most calls in flight the deployment allows (see Retry-After); "
    "nothing was sent",
    503: "A dependency stayed unavailable after retries; nothing was changed",
}

# The bearer scheme itself is added to the document by ``session_relay.api.main``.
AUTH = {"security": [{"ApiKey": []}]}


def fails(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents (every one is ``{"success": false, "error": ...}``)."""
    return {status: {"model": Failure, "description": _ERRORS[status]} for status in statuses}


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
