"""``GET /batches/{batch_id}``: the outcomes of a bulk message sent with ``"wait": false``."""

from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import JSONResponse

from session_relay.api.dependencies import in_flight, principal
from session_relay.api.documented import DocumentedRouter
from session_relay.api.reading import WAIT_PARAMETER, owned_record, poll_budget_s, wait_query
from session_relay.api.responses import AUTH, BatchOutcome, fails, ok
from session_relay.api.sending import get_later
from session_relay.fitting import fit_entries
from session_relay.later import batch_entries
from session_relay.store import get_store

router = DocumentedRouter()


@router.get(
    "/batches/{batch_id}",
    response_model=BatchOutcome,
    responses=fails(401, 404, 422, 429, 503),
    openapi_extra={"parameters": [WAIT_PARAMETER], **AUTH},
)
async def read_batch(
    batch_id: Annotated[str, Path(description="The id a 202 answer gave")], request: Request
) -> JSONResponse:
    caller = principal(request)
    wait_s = wait_query(request)
    with in_flight(request, caller):  # a long poll holds a Lambda like a waiting message
        record = owned_record(caller, batch_id, get_store().get_batch_record, "batch")
        outcomes = get_later().outcomes(record, poll_budget_s(request, wait_s))
    done = len(outcomes) == len(record.targets)
    # Fitted to Lambda's 6 MB response as the synchronous bulk answer is.
    responses = fit_entries(batch_entries(record, outcomes))
    return ok({"success": True, "done": done, "responses": responses})
