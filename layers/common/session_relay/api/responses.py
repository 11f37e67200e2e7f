"""Answer shapes (for OpenAPI) and the ways an answer is built: a service's result, success or failure."""

from typing import Annotated, Any, Literal, Protocol

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field


class Result(Protocol):
    """A service's typed result: its status and its contract body."""

    status: int

    def body(self) -> dict[str, Any]: ...


def answer(result: Result) -> JSONResponse:
    """The answer to a route whose service returned ``result``."""
    return JSONResponse(result.body(), status_code=result.status)


def ok(payload: dict[str, Any]) -> JSONResponse:
    # Answers bypass response_model re-validation: the shapes are built exactly as the contract says.
    return JSONResponse(payload)


def failure(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status, headers=headers)


class Success(BaseModel):
    success: bool = True


def _absent_not_null(schema: dict[str, Any]) -> None:
    # Left out of a session that never declared, never null: documented as the plain list.
    schema.update(next(v for v in schema.pop("anyOf", []) if v.get("type") != "null"))
    schema.pop("default", None)


class Session(BaseModel):
    """A live session, as the contract shows it (times in epoch ms)."""

    id: str
    user_key: str
    script_id: str
    roblox_id: int
    place_id: int
    job_id: str
    created_at: int
    last_seen_at: int
    functions: Annotated[
        list[str] | None,
        Field(
            description="The functions the client declared, sorted; absent for a session that never declared",
            json_schema_extra=_absent_not_null,
        ),
    ] = None


class SessionAnswer(Success):
    session: Session


class SessionPage(Success):
    sessions: list[Session]
    next_cursor: str | None


class MessageAnswer(Success):
    processed: bool
    response: Any = None
    reason: str | None = None


class Paging(Success):
    """Present when the call targeted a ``filter``: how many sessions it targeted, and the cursor
    of the next page (null on the last)."""

    matched: int | None = None
    next_cursor: str | None = None


class BulkMessageAnswer(Paging):
    responses: list[dict[str, Any]]


class BulkDisconnectAnswer(Paging):
    disconnected: list[str]


class MessageAccepted(Success):
    message_id: str


class BatchAccepted(Paging):
    batch_id: str


class MessageOutcome(Success):
    """``done`` and, once done, the synchronous answer (``processed`` and ``response`` or ``reason``)."""

    done: bool
    processed: bool | None = None
    response: Any = None
    reason: str | None = None


class BatchOutcome(Success):
    """The synchronous bulk answer's entries in request order; one still waiting is
    ``{"session_id": ..., "pending": true}``; ``done`` once none is."""

    done: bool
    responses: list[dict[str, Any]]


class KeyDescription(BaseModel):
    """An API key as its owner may see it: never the key itself, nor its hash."""

    id: str
    name: str
    scripts: list[str]
    scopes: list[str]


class KeyAnswer(Success):
    key: KeyDescription


class BanObject(BaseModel):
    """A ban: ``user_key`` or ``roblox_id`` (exactly one), times in epoch ms, ``expires_at`` null for a
    ban until lifted, ``reason`` null when none was given."""

    id: str
    script_id: str
    user_key: str | None = None
    roblox_id: int | None = None
    reason: str | None
    created_at: int
    expires_at: int | None


class BanCreated(Success):
    ban: BanObject
    disconnected: list[str]


class BanPage(Success):
    bans: list[BanObject]
    next_cursor: str | None


class Failure(BaseModel):
    success: Literal[False] = False
    error: str


_ERRORS = {
    400: "The body is not valid JSON",
    401: "No API key, or an invalid one",
    403: "The API key's scopes do not allow this call (the sentence names the scope it needs)",
    404: "No such session, message, batch, script or ban (or not one of the caller's)",
    409: "A call with this Idempotency-Key is still running",
    413: "The body, or the frame it would make, is too large",
    422: "A field fails validation, or a query parameter the route does not take",
    429: "This key already has the most calls in flight the deployment allows (see Retry-After); "
    "nothing was sent",
    503: "A dependency stayed unavailable after retries; nothing was changed",
}

_ACCEPTED = 'Sent without waiting (`"wait": false`): read the outcome later by this id'
Documented = dict[int | str, dict[str, Any]]
ACCEPTED_MESSAGE: Documented = {202: {"model": MessageAccepted, "description": _ACCEPTED}}
ACCEPTED_BATCH: Documented = {202: {"model": BatchAccepted, "description": _ACCEPTED}}
IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Makes the call safe to retry for 15 minutes: a repeat with the same key and body "
            "sends nothing again and gets the first call's answer (409 while that call still runs, 422 for "
            "another body). Scoped to the API key.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
        }
    ]
}

# The bearer scheme itself is added to the document by ``session_relay.api.main``.
AUTH = {"security": [{"ApiKey": []}]}


def needs(scope: str | None) -> dict[str, Any]:
    """The OpenAPI fields of a route that needs a key with ``scope`` (None: any key): the bearer
    scheme, the ``x-required-scope`` extension and a description that names the scope."""
    if scope is None:
        return {**AUTH, "description": "Needs an API key, with any scopes."}
    return {
        **AUTH,
        "x-required-scope": scope,
        "description": f'Needs an API key with the "{scope}" scope; any other key is answered 403.',
    }


def fails(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents (every one is ``{"success": false, "error": ...}``)."""
    return {status: {"model": Failure, "description": _ERRORS[status]} for status in statuses}
