"""How the two message routes answer: after the wait (``200``), at once with an id to read the
outcome by (``"wait": false``, ``202``), and, with an ``Idempotency-Key``, once for every repeat.

Each route body is a function returning ``{"status": ..., "body": ...}`` (what a repeat gets back);
``answer`` runs it, through ``session_relay.idempotency`` when the call carries a key.
"""

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from session_relay.api.dependencies import bulk_targets, get_messenger, owned_session
from session_relay.auth import Principal
from session_relay.deadlines import Deadline
from session_relay.fitting import fit_entries
from session_relay.idempotency import HEADER, idempotency_key, run_once
from session_relay.later import Later, batch_entries
from session_relay.models import MessageRequest
from session_relay.settings import get_settings
from session_relay.store import get_store
from session_relay.targets import BulkMessageRequest
from session_relay.wire import parse_json

Answer = dict[str, Any]
# A synchronous bulk call with an Idempotency-Key polls this much past its stored deadline: by then
# every message is decided (the read withdraws what is still pending), well before the answer is due.
_SETTLE_S = 0.05


def get_later() -> Later:
    if not get_settings().outcomes_table:
        raise RuntimeError("OUTCOMES_TABLE is not set: messages answered later cannot be kept")
    return Later(get_messenger())


def retry_key(request: Request) -> str | None:
    """The call's ``Idempotency-Key`` (None without one); checked with the body (422)."""
    return idempotency_key(request.headers.get(HEADER))


async def answer(request: Request, caller: Principal, key: str | None, run: Any) -> JSONResponse:
    """Run ``run()`` (once per key when ``key`` is given) and answer what it returned."""
    result = run() if key is None else await _once(request, caller, key, run)
    return JSONResponse(result["body"], status_code=result["status"])


async def _once(request: Request, caller: Principal, key: str, run: Any) -> Answer:
    first: Answer = {}

    def kept() -> Answer:
        first.update(run())
        if "batch" not in first:
            return first
        # A bulk answer can be far larger than an idempotency record may be: keep its batch instead.
        return {"status": first["status"], "batch": first["batch"], "paging": first["paging"]}

    summary = {"route": f"{request.method} {request.url.path}", "body": parse_json(await request.body())}
    result = run_once(caller.key_id, key, summary, kept, request.scope.get("aws.context"))
    if first:  # this call ran it: its own answer is at hand
        return first
    return _rebuilt(result) if "batch" in result else result


def one(caller: Principal, session_id: str, sent: MessageRequest, until: Deadline) -> Answer:
    """``POST /sessions/{id}/message``."""
    record = owned_session(caller, session_id)
    if not sent.wait:
        message_id = get_later().send_message(caller.key_id, record, sent.key, sent.data, sent.timeout)
        return {"status": 202, "body": {"success": True, "message_id": message_id}}
    outcome = get_messenger().message(record, sent.key, sent.data, until)
    return {"status": 200, "body": {"success": True, **outcome.as_contract()}}


def many(caller: Principal, sent: BulkMessageRequest, key: str | None, until: Deadline) -> Answer:
    """``POST /sessions/message``, by ``session_ids`` or by ``filter``."""
    session_ids, records, paging = bulk_targets(caller, sent)
    later = get_later()
    if not sent.wait:
        batch_id, _ = later.send_batch(caller.key_id, session_ids, records, sent.key, sent.data, sent.timeout)
        return {"status": 202, "body": {"success": True, "batch_id": batch_id, **paging}}
    if key is None:
        responses = get_messenger().message_many(session_ids, records, sent.key, sent.data, until)
        return {"status": 200, "body": {"success": True, "responses": fit_entries(responses), **paging}}
    # Idempotent: sent as a batch and waited for, so that a repeat can rebuild this very answer
    # from the batch's record (a bulk answer can be far larger than an idempotency record may be).
    # Its deadline leaves time to withdraw what is still pending before the answer is due.
    wait_s = until.wait_end(len(records)) - until.clock()
    if not until.can_send(len(records)):
        records = {}  # no reply could be recorded in time: nothing is sent, as without a key
    batch_id, record = later.send_batch(
        caller.key_id, session_ids, records, sent.key, sent.data, max(wait_s, 0.001)
    )
    responses = fit_entries(batch_entries(record, later.outcomes(record, wait_s + _SETTLE_S)))
    body = {"success": True, "responses": responses, **paging}
    return {"status": 200, "body": body, "batch": batch_id, "paging": paging}


def _rebuilt(result: Answer) -> Answer:
    """A synchronous bulk answer from its batch (every entry was decided before it answered)."""
    record = get_store().get_batch_record(result["batch"])
    if record is None:  # cannot happen within the retry window: the batch outlives it
        raise RuntimeError("the batch of an idempotent bulk call expired before its idempotency record")
    responses = fit_entries(batch_entries(record, get_later().outcomes(record, 0)))
    return {"status": 200, "body": {"success": True, "responses": responses, **result["paging"]}}
