"""The REST API (PROTOCOL.md section 1) as a FastAPI app; ``functions/rest_api`` wraps it in Mangum.

Each route checks in the contract's order: route (404/405, by the router) -> key (401) ->
body (400/413/422) -> session (404). Bodies are parsed here, not by FastAPI, to keep that order
and to refuse what ``json`` would otherwise accept (NaN, Infinity).
"""

from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from session_relay.auth import Principal, get_authenticator
from session_relay.deadlines import Deadline
from session_relay.engine import Messenger, check_frame_fits
from session_relay.errors import (
    MalformedBody,
    NotFound,
    PayloadTooLarge,
    RelayError,
    ServiceUnavailable,
    ValidationFailed,
)
from session_relay.fitting import fit_entries
from session_relay.gateway import gateway_for
from session_relay.leases import call_in_flight, get_leases
from session_relay.models import (
    MAX_FIELD_LENGTH,
    BulkMessageRequest,
    BulkRequest,
    ListQuery,
    MessageRequest,
    Session,
)
from session_relay.observability import logger
from session_relay.settings import get_settings
from session_relay.store import SessionRecord, get_store, now_ms
from session_relay.wire import parse_json

MAX_BODY_BYTES = 1_048_576
# Ids this API issues are short; anything longer cannot exist and is never sent to DynamoDB.
MAX_SESSION_ID_LENGTH = MAX_FIELD_LENGTH

app = FastAPI(
    title="Session Relay",
    version="1.0",
    description="Look up, message and disconnect live Roblox executor sessions.",
    # A trailing-slash redirect would point outside the API Gateway stage: answer 404 instead.
    redirect_slashes=False,
)


@lru_cache(maxsize=1)
def get_messenger() -> Messenger:
    settings = get_settings()
    if not settings.management_api_url:
        raise RuntimeError("MANAGEMENT_API_URL is not set: the REST API cannot reach the WebSocket API")
    return Messenger(get_store(), gateway_for(settings.management_api_url), settings)


# ---------------------------------------------------------------- errors, in one place


def _ok(payload: dict[str, Any]) -> JSONResponse:
    # Answers bypass response_model re-validation: the shapes are built exactly as the contract says.
    return JSONResponse(payload)


def _failure(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status, headers=headers)


@app.exception_handler(RelayError)
async def _relay_error(_: Request, exc: RelayError) -> JSONResponse:
    if exc.status >= 500:
        logger.warning("dependency unavailable", extra={"error": exc.message})
    return _failure(exc.status, exc.message, exc.headers)


@app.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 404:
        return _failure(404, f"no route {request.method} {request.url.path}")
    if exc.status_code == 405:
        allow = {"Allow": _allowed_methods(request.url.path)} if request.url.path else exc.headers
        return _failure(405, f"method {request.method} is not allowed on {request.url.path}", allow)
    return _failure(exc.status_code, str(exc.detail))


def _allowed_methods(path: str) -> str:
    """The methods this path supports, for a 405's ``Allow`` header (RFC 9110). The router names only
    the first route that matched (``/sessions/message`` also matches ``/sessions/{session_id}``);
    a literal route is the resource the caller meant, so it wins over templated ones."""
    matching = [
        route for route in app.routes if getattr(route, "path_regex", None) and route.path_regex.match(path)
    ]
    literal = [route for route in matching if "{" not in route.path]
    return ", ".join(sorted({method for route in literal or matching for method in route.methods or ()}))


@app.exception_handler(RequestValidationError)
async def _request_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return _failure(422, _describe(exc.errors()))


@app.exception_handler(Exception)
async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error")
    return _failure(500, "internal error")


def _describe(errors: Any) -> str:
    """One sentence naming the first failing field."""
    error = errors[0]
    field = ".".join(str(part) for part in error["loc"] if part not in ("body", "query", "path"))
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field or 'body'}: {message}"


# ---------------------------------------------------------------- request pieces


def _principal(request: Request) -> Principal:
    return get_authenticator().authenticate(request.headers.get("authorization"))


async def _body[M: BaseModel](request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the request body is over {MAX_BODY_BYTES} bytes")
    try:
        document = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"the request body is not valid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise ValidationFailed("body: must be a JSON object")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ValidationFailed(_describe(exc.errors())) from exc


def _remaining_ms(request: Request) -> int | None:
    context = request.scope.get("aws.context")
    return context.get_remaining_time_in_millis() if context is not None else None


def _arrival_ms(request: Request) -> int | None:
    """When API Gateway received the request (epoch ms), from the REST proxy event:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    """
    arrival = ((request.scope.get("aws.event") or {}).get("requestContext") or {}).get("requestTimeEpoch")
    return arrival if isinstance(arrival, int) and not isinstance(arrival, bool) else None


def _deadline(request: Request, timeout_s: float | None) -> Deadline:
    return get_messenger().deadline(timeout_s, _remaining_ms(request), _arrival_ms(request))


def _in_flight(request: Request, principal: Principal) -> AbstractContextManager[None]:
    """One of the key's slots for calls in flight, held until the call answers (429 when none is
    free). The lease outlives the call at most until the Lambda's own timeout."""
    settings = get_settings()
    remaining_ms = _remaining_ms(request) or settings.integration_timeout_ms + 15_000
    expires_ms = now_ms() + remaining_ms + 1_000
    return call_in_flight(get_leases(), principal.key_id, settings.max_calls_in_flight, expires_ms)


def _owned_session(principal: Principal, session_id: str) -> SessionRecord:
    """The caller's live session, or 404: another owner's session looks exactly like none."""
    record = None
    if 0 < len(session_id) <= MAX_SESSION_ID_LENGTH:
        record = get_store().get_session(session_id)
    if record is None or record.session.script_id not in principal.script_ids:
        raise NotFound("session not found")
    return record


def _owned_sessions(principal: Principal, session_ids: list[str]) -> dict[str, SessionRecord]:
    lookup = [sid for sid in session_ids if 0 < len(sid) <= MAX_SESSION_ID_LENGTH]
    found = get_store().get_sessions(lookup) if lookup else {}
    return {sid: r for sid, r in found.items() if r.session.script_id in principal.script_ids}


def _openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


SessionId = Annotated[str, Path(description="The session's id")]

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


# ---------------------------------------------------------------- response shapes (for OpenAPI)


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
    422: "A field fails validation",
    503: "A dependency stayed unavailable after retries; nothing was changed",
}


def _fails(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents (every one is ``{"success": false, "error": ...}``)."""
    return {status: {"model": Failure, "description": _ERRORS[status]} for status in statuses}


_default_openapi = app.openapi


def _openapi() -> dict[str, Any]:
    """The generated document, plus the bearer scheme every route but ``/health`` requires."""
    document = _default_openapi()
    document.setdefault("components", {})["securitySchemes"] = {
        "ApiKey": {"type": "http", "scheme": "bearer", "description": "An owner API key"}
    }
    return document


app.openapi = _openapi  # type: ignore[method-assign]
_AUTH = {"security": [{"ApiKey": []}]}


# ---------------------------------------------------------------- routes


@app.get("/health", response_model=Success)
async def health() -> JSONResponse:
    return _ok({"success": True})


@app.get(
    "/sessions",
    response_model=SessionPage,
    responses=_fails(401, 422, 503),
    openapi_extra={**_LIST_PARAMETERS, **_AUTH},
)
async def list_sessions(request: Request) -> JSONResponse:
    principal = _principal(request)
    try:
        query = ListQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ValidationFailed(_describe(exc.errors())) from exc
    scripts = principal.script_ids
    if query.script_id is not None:
        scripts = scripts & {query.script_id}
    filters = query.model_dump(include={"user_key", "roblox_id", "place_id", "job_id"}, exclude_none=True)
    sessions, cursor = get_store().list_sessions(scripts, filters, query.limit, query.cursor)
    return _ok({"success": True, "sessions": [s.model_dump() for s in sessions], "next_cursor": cursor})


@app.get(
    "/sessions/{session_id}",
    response_model=SessionAnswer,
    responses=_fails(401, 404, 422, 503),
    openapi_extra=_AUTH,
)
async def get_session(session_id: SessionId, request: Request) -> JSONResponse:
    record = _owned_session(_principal(request), session_id)
    return _ok({"success": True, "session": record.session.model_dump()})


@app.post(
    "/sessions/disconnect",
    response_model=BulkDisconnectAnswer,
    responses=_fails(400, 401, 413, 422, 503),
    openapi_extra={**_openapi_body(BulkRequest), **_AUTH},
)
async def disconnect_many(request: Request) -> JSONResponse:
    principal = _principal(request)
    body = await _body(request, BulkRequest)
    with _in_flight(request, principal):
        records = _owned_sessions(principal, body.session_ids)
        ordered = [records[sid] for sid in body.session_ids if sid in records]
        disconnected = get_messenger().disconnect(ordered) if ordered else []
    return _ok({"success": True, "disconnected": disconnected})


@app.post(
    "/sessions/message",
    response_model=BulkMessageAnswer,
    responses=_fails(400, 401, 413, 422, 503),
    openapi_extra={**_openapi_body(BulkMessageRequest), **_AUTH},
)
async def message_many(request: Request) -> JSONResponse:
    principal = _principal(request)
    body = await _body(request, BulkMessageRequest)
    check_frame_fits(body.key, body.data)
    deadline = _deadline(request, body.timeout)
    with _in_flight(request, principal):
        records = _owned_sessions(principal, body.session_ids)
        responses = get_messenger().message_many(body.session_ids, records, body.key, body.data, deadline)
    return _ok({"success": True, "responses": fit_entries(responses)})


@app.post(
    "/sessions/{session_id}/disconnect",
    response_model=Success,
    responses=_fails(401, 404, 422, 503),
    openapi_extra=_AUTH,
)
async def disconnect(session_id: SessionId, request: Request) -> JSONResponse:
    principal = _principal(request)
    with _in_flight(request, principal):
        record = _owned_session(principal, session_id)
        if not get_messenger().disconnect([record]):
            raise ServiceUnavailable("the WebSocket gateway is unavailable; the session was not disconnected")
    return _ok({"success": True})


@app.post(
    "/sessions/{session_id}/message",
    response_model=MessageAnswer,
    responses=_fails(400, 401, 404, 413, 422, 503),
    openapi_extra={**_openapi_body(MessageRequest), **_AUTH},
)
async def message(session_id: SessionId, request: Request) -> JSONResponse:
    principal = _principal(request)
    body = await _body(request, MessageRequest)
    check_frame_fits(body.key, body.data)
    deadline = _deadline(request, body.timeout)
    with _in_flight(request, principal):
        record = _owned_session(principal, session_id)
        outcome = get_messenger().message(record, body.key, body.data, deadline)
    return _ok({"success": True, **outcome.as_contract()})
