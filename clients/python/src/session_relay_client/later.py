"""Calls for messages answered later and bulk calls by filter, shared by the sync and async clients.

A deployment whose API Gateway integration timeout is below 62 s waits less than 60 s per call
(its "maximum wait", published as the ``maximum`` of the ``wait`` parameter in ``/openapi.json``).
A blocking ``message`` whose timeout is longer then sends with ``"wait": false`` and long-polls
``GET /messages/{id}`` in steps of that maximum: the caller gets the full wait on any deployment.
"""

from typing import Any
from urllib.parse import quote

from session_relay_client.calls import Call, message_body, model_of, retry_headers, wait_of
from session_relay_client.errors import UnexpectedResponse
from session_relay_client.models import (
    BatchAccepted,
    BatchOutcome,
    BulkDisconnectResult,
    BulkMessageResult,
    MessageAccepted,
    MessageOutcome,
    MessageResult,
    SessionFilter,
)

# A message id the SDK polls for is answered at the latest once its deadline passed; past it by
# this much the SDK stops polling in short steps.
POLL_SLACK_S = 5.0


def message_later(
    session_id: str, key: str, data: Any, timeout_s: float | None, idempotency_key: str | None
) -> Call[MessageAccepted]:
    return Call(
        "POST",
        f"/sessions/{quote(session_id, safe='')}/message",
        lambda answer: model_of(MessageAccepted, answer),
        body=message_body(key, data, timeout_s, wait=False),
        headers=retry_headers(idempotency_key),
    )


def batch_later(
    session_ids: list[str], key: str, data: Any, timeout_s: float | None, idempotency_key: str | None
) -> Call[BatchAccepted]:
    return Call(
        "POST",
        "/sessions/message",
        lambda answer: model_of(BatchAccepted, answer),
        body={"session_ids": session_ids, **message_body(key, data, timeout_s, wait=False)},
        headers=retry_headers(idempotency_key),
    )


def _filter_body(where: SessionFilter, limit: int | None, cursor: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"filter": where.body()}
    if limit is not None:
        body["limit"] = limit
    if cursor is not None:
        body["cursor"] = cursor
    return body


def message_filtered(
    where: SessionFilter,
    limit: int | None,
    cursor: str | None,
    key: str,
    data: Any,
    timeout_s: float | None,
    wait: bool,
    idempotency_key: str | None,
) -> Call[Any]:
    """One page of a bulk message by filter: a ``BulkMessageResult``, or a ``BatchAccepted``."""
    body = {**_filter_body(where, limit, cursor), **message_body(key, data, timeout_s, wait)}
    model = BulkMessageResult if wait else BatchAccepted
    return Call(
        "POST",
        "/sessions/message",
        lambda answer: model_of(model, answer),
        body=body,
        wait_s=wait_of(timeout_s) if wait else None,
        headers=retry_headers(idempotency_key),
    )


def disconnect_filtered(
    where: SessionFilter, limit: int | None, cursor: str | None
) -> Call[BulkDisconnectResult]:
    def parse(answer: dict[str, Any]) -> BulkDisconnectResult:
        return model_of(BulkDisconnectResult, {**answer, "not_disconnected": []})

    return Call("POST", "/sessions/disconnect", parse, body=_filter_body(where, limit, cursor))


def get_message(message_id: str, wait_s: float) -> Call[MessageOutcome]:
    return Call(
        "GET",
        f"/messages/{quote(message_id, safe='')}",
        lambda answer: model_of(MessageOutcome, answer),
        params={"wait": f"{wait_s:g}"} if wait_s else {},
        wait_s=wait_s,
    )


def get_batch(batch_id: str, wait_s: float) -> Call[BatchOutcome]:
    return Call(
        "GET",
        f"/batches/{quote(batch_id, safe='')}",
        lambda answer: model_of(BatchOutcome, answer),
        params={"wait": f"{wait_s:g}"} if wait_s else {},
        wait_s=wait_s,
    )


def _maximum_wait(document: dict[str, Any]) -> float | None:
    operation = document.get("paths", {}).get("/messages/{message_id}", {}).get("get", {})
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "wait" and isinstance(
            parameter.get("schema", {}).get("maximum"), int | float
        ):
            return float(parameter["schema"]["maximum"])
    return None


def maximum_wait() -> Call[float | None]:
    """The deployment's maximum wait (seconds), from its OpenAPI document; None if it says none."""
    return Call("GET", "/openapi.json", _maximum_wait, success_document=False)


def needs_long_polls(timeout_s: float | None, maximum_s: float | None) -> bool:
    """True when a blocking message of ``timeout_s`` would be cut short by the deployment."""
    return maximum_s is not None and wait_of(timeout_s) > maximum_s


def poll_step_s(maximum_s: float, left_s: float) -> float:
    """The next long poll's ``wait``: the deployment's maximum, or what is left (at least 1 s, so a
    deadline just passed is answered in one more call)."""
    return round(min(maximum_s, max(1.0, left_s)), 3)


def as_result(outcome: MessageOutcome) -> MessageResult:
    if not outcome.done:
        raise UnexpectedResponse("the API still reports the message pending after its deadline")
    return MessageResult(processed=outcome.processed, response=outcome.response, reason=outcome.reason)
