"""``GET /messages/{id}`` and ``GET /batches/{id}``: outcomes of messages sent with ``"wait": false``,
readable by the key that sent them (any other key, an unknown or an expired id: the same 404)."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import JSONResponse

from session_relay.api.documented import DocumentedRouter
from session_relay.api.requests import call, principal, wait_query
from session_relay.api.responses import BatchOutcome, MessageOutcome, Result, answer, fails, needs
from session_relay.service.messaging import Messaging
from session_relay.service.wiring import get_messaging

router = DocumentedRouter()

WAIT_PARAMETER = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "Seconds to hold the call until the outcome is known (0 to the deployment's maximum wait)",
    "schema": {"type": "number", "minimum": 0, "default": 0},
}


def _outcome_route(noun: str, model: Any, read: Callable[[Messaging], Callable[..., Result]]) -> None:
    """``GET /{noun}s/{{noun}_id}``: the key (with the ``read`` scope), the ``wait`` query, then the
    service's read (a long poll holds one of the key's calls in flight, like a waiting message)."""
    record_id_type = Annotated[str, Path(alias=f"{noun}_id", description="The id a 202 answer gave")]

    @router.get(
        f"/{noun}es/{{{noun}_id}}" if noun.endswith("ch") else f"/{noun}s/{{{noun}_id}}",
        name=f"read_{noun}",
        response_model=model,
        responses=fails(401, 403, 404, 422, 429, 503),
        openapi_extra={"parameters": [WAIT_PARAMETER], **needs("read")},
    )
    async def read_outcome(record_id: record_id_type, request: Request) -> JSONResponse:
        caller = principal(request, "read")
        wait_s = wait_query(request)
        return answer(read(get_messaging())(caller, record_id, wait_s, call(request)))


_outcome_route("message", MessageOutcome, lambda messaging: messaging.read_message)
_outcome_route("batch", BatchOutcome, lambda messaging: messaging.read_batch)
