"""``/scripts/{script_id}/webhook``: a script's owner events webhook (PROTOCOL.md section 5), every route
scope ``manage`` (``GET`` included); a script the key does not cover is ``404``."""

from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from session_relay.api.documented import DocumentedRouter
from session_relay.api.requests import body, no_query, principal
from session_relay.api.responses import Success, answer, fails, needs, ok
from session_relay.contract import decimal_id
from session_relay.errors import ValidationFailed
from session_relay.service import webhooks_rules as rules
from session_relay.service.webhooks import DEFAULT_FAILURES_PAGE, MAX_FAILURES_PAGE, Webhooks, get_webhooks

router = DocumentedRouter()
ScriptId = Annotated[str, Path(description="The script's id (one the key covers)")]
BASE = "/scripts/{script_id}/webhook"

_EXAMPLE = {
    "url": "https://example.com/hooks/session-relay",
    "events": ["session.connected"],
    "format": "json",
}


_EVENTS_SCHEMA = {"type": "array", "items": {"enum": list(rules.EVENT_TYPES)}, "uniqueItems": True}


class WebhookRequest(BaseModel):
    """``PUT`` body: ``url`` (required), ``events`` (default: all three), ``format`` (default ``json``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True, json_schema_extra={"examples": [_EXAMPLE]})
    # Checked by the service's rules (their 422 sentences); documented here as the contract says.
    url: Annotated[Any, Field(json_schema_extra={"type": "string"})] = None
    events: Annotated[Any, Field(json_schema_extra=_EVENTS_SCHEMA)] = None
    format: Annotated[Any, Field(json_schema_extra={"enum": ["json", "discord"]})] = None


class LastDelivery(BaseModel):
    status: int | None
    error: str | None
    at: int


class Webhook(BaseModel):
    url: str
    events: list[str]
    format: str
    created_at: int
    last_delivery: LastDelivery | None
    secret: str | None = None


class WebhookAnswer(Success):
    webhook: Webhook


class TestAnswer(Success):
    delivered: bool
    status: int | None
    ms: int
    error: str | None


class FailuresAnswer(Success):
    failures: list[dict[str, Any]]
    next_cursor: str | None


class ReplayAnswer(Success):
    replayed: int


def _service() -> Webhooks:
    return get_webhooks()


@router.put(
    BASE,
    response_model=WebhookAnswer,
    responses=fails(400, 401, 403, 404, 413, 422, 503),
    openapi_extra={"requestBody": WebhookRequest, **needs("manage")},
)
async def put_webhook(script_id: ScriptId, request: Request) -> JSONResponse:
    caller = principal(request, "manage")
    no_query(request)
    sent = await body(request, WebhookRequest)
    try:
        if "url" not in sent.model_fields_set:
            raise rules.RuleBroken(f"{rules.URL_RULE} (missing)")
        url = rules.checked_url(sent.url)
        events, fmt = rules.checked_events(sent.events), rules.checked_format(sent.format)
    except rules.RuleBroken as exc:
        raise ValidationFailed(str(exc)) from exc
    return answer(_service().put(caller, script_id, url, events, fmt))


@router.get(
    BASE,
    response_model=WebhookAnswer,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra=needs("manage"),
)
async def get_webhook(script_id: ScriptId, request: Request) -> JSONResponse:
    caller = principal(request, "manage")
    no_query(request)
    return answer(_service().get(caller, script_id))


@router.delete(
    BASE, response_model=Success, responses=fails(401, 403, 404, 422, 503), openapi_extra=needs("manage")
)
async def delete_webhook(script_id: ScriptId, request: Request) -> JSONResponse:
    caller = principal(request, "manage")
    no_query(request)
    _service().delete(caller, script_id)
    return ok({"success": True})


@router.post(
    BASE + "/rotate-secret",
    response_model=WebhookAnswer,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra=needs("manage"),
)
async def rotate_secret(script_id: ScriptId, request: Request) -> JSONResponse:
    caller = principal(request, "manage")
    no_query(request)
    return answer(_service().rotate(caller, script_id))


@router.post(
    BASE + "/test",
    response_model=TestAnswer,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra=needs("manage"),
)
async def test_webhook(script_id: ScriptId, request: Request) -> JSONResponse:
    caller = principal(request, "manage")
    no_query(request)
    return answer(_service().test(caller, script_id))


_PAGE = frozenset({"limit", "cursor"})
_PAGE_PARAMETERS = {
    "parameters": [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_FAILURES_PAGE,
                "default": DEFAULT_FAILURES_PAGE,
            },
        },
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
    ]
}


@router.get(
    BASE + "/failures",
    response_model=FailuresAnswer,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra={**_PAGE_PARAMETERS, **needs("manage")},
)
async def list_failures(script_id: ScriptId, request: Request) -> JSONResponse:
    caller = principal(request, "manage")
    no_query(request, _PAGE)
    limit = DEFAULT_FAILURES_PAGE
    if "limit" in request.query_params:
        text = request.query_params["limit"]
        limit = decimal_id(text, MAX_FAILURES_PAGE) or 0
        if not limit:
            raise ValidationFailed(f"limit: must be an integer from 1 to {MAX_FAILURES_PAGE} (got {text!r})")
    cursor = request.query_params.get("cursor")
    return answer(_service().failures(caller, script_id, limit, cursor))


@router.post(
    BASE + "/failures/replay",
    response_model=ReplayAnswer,
    responses=fails(401, 403, 404, 422, 503),
    openapi_extra=needs("manage"),
)
async def replay_failures(script_id: ScriptId, request: Request) -> JSONResponse:
    caller = principal(request, "manage")
    no_query(request)
    return answer(_service().replay(caller, script_id))
