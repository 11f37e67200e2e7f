"""What ``GET /messages/{id}`` and ``GET /batches/{id}`` share: the ``wait`` query and the record,
readable only by the key that sent it (any other key, an unknown or an expired id: the same 404)."""

import re
from collections.abc import Callable
from typing import Any

from fastapi import Request

from session_relay.api.dependencies import arrival_ms, get_messenger, remaining_ms
from session_relay.auth import Principal
from session_relay.errors import NotFound, ValidationFailed
from session_relay.settings import DEFAULT_INTEGRATION_TIMEOUT_MS, get_settings, max_wait_for
from session_relay.store import OutcomeRecord

# Ids this API issues are 22 URL-safe characters; anything else cannot exist and is never looked up.
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A plain decimal number (as any client prints a float: "2", "2.5", "1e-05"); no sign, no NaN.
_SECONDS = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?")

WAIT_PARAMETER = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "Seconds to hold the call until the outcome is known (0 to the deployment's maximum wait)",
    "schema": {"type": "number", "minimum": 0, "default": 0},
}


def wait_query(request: Request) -> float:
    """The ``wait`` query parameter in seconds: 0 <= wait <= the deployment's maximum wait, default 0.
    Any other parameter is a 422 (a typo must not silently mean "do not wait")."""
    maximum = get_settings().max_wait_s
    for name in request.query_params:
        if name != "wait":
            raise ValidationFailed(f"{name}: unknown query parameter (only wait is accepted)")
    values = request.query_params.getlist("wait")
    if not values:
        return 0.0
    if len(values) > 1 or not _SECONDS.fullmatch(values[0]) or float(values[0]) > maximum:
        raise ValidationFailed(f"wait: must be a number of seconds from 0 to {maximum:g}")
    return float(values[0])


def publish_maximum_wait(document: dict[str, Any]) -> None:
    """Give the ``wait`` parameters of the OpenAPI document this deployment's maximum (the SDK reads
    it to long-poll in steps a deployment with a short integration timeout can serve)."""
    try:
        maximum = get_settings().max_wait_s
    except RuntimeError:  # a process without a deployment's environment documents the default
        maximum = max_wait_for(DEFAULT_INTEGRATION_TIMEOUT_MS)
    for path in document.get("paths", {}).values():
        for parameter in path.get("get", {}).get("parameters", []):
            if parameter.get("name") == "wait" and parameter.get("in") == "query":
                parameter["schema"] = {**parameter["schema"], "maximum": maximum}


def poll_budget_s(request: Request, wait_s: float) -> float:
    """How long this call may hold: ``wait_s``, ending in time for the answer to beat both the
    Lambda's own timeout and API Gateway's integration timeout counted from the request's arrival
    (``session_relay.deadlines``, as for a message's wait)."""
    if wait_s <= 0:
        return 0.0
    until = get_messenger().deadline(wait_s, remaining_ms(request), arrival_ms(request))
    return max(0.0, until.wait_end(0) - until.clock())


def owned_record(
    caller: Principal, record_id: str, read: Callable[[str], OutcomeRecord | None], noun: str
) -> OutcomeRecord:
    record = read(record_id) if _RECORD_ID.fullmatch(record_id) else None
    if record is None or record.owner != caller.key_id:
        raise NotFound(f"{noun} not found")
    get_messenger()  # fails loudly here, not mid-read, on a deployment without its gateway URL
    return record
