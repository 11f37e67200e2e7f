"""``GET /messages/{message_id}``: the outcome of a message sent with ``"wait": false``."""

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import JSONResponse

from session_relay.api.dependencies import in_flight, principal
from session_relay.api.documented import DocumentedRouter
from session_relay.api.reading import WAIT_PARAMETER, owned_record, poll_budget_s, wait_query
from session_relay.api.responses import AUTH, MessageOutcome, fails, ok
from session_relay.api.sending import get_later
from session_relay.later import message_answer
from session_relay.store import get_store

router = DocumentedRouter()


@router.get(
    "/messages/{message_id}",
    response_model=MessageOutcome,
    responses=fails(401, 404, 422, 429, 503),
    openapi_extra={"parameters": [WAIT_PARAMETER], **AUTH},
)
async def read_message(
    message_id: Annotated[str, Path(description="The id a 202 answer gave")], request: Request
) -> JSONResponse:
    caller = principal(request)
    wait_s = wait_query(request)
    with in_flight(request, caller):  # a long poll holds a Lambda like a waiting message
        record = owned_record(caller, message_id, get_store().get_message_record, "message")
        outcomes = get_later().outcomes(record, poll_budget_s(request, wait_s))
    return ok(message_answer(outcomes))
