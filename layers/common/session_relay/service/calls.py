"""A REST call's own time and its slot among the key's calls in flight (PROTOCOL.md, Errors: 429)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from session_relay.clock import now_ms
from session_relay.errors import ServiceUnavailable, TooManyCalls
from session_relay.service.access import Principal
from session_relay.service.deadlines import LAMBDA_MARGIN_S, Deadline, plan
from session_relay.service.pool import shared_pool
from session_relay.settings import Settings
from session_relay.store import Store

# How long a caller told 429 should wait before trying again (seconds, the Retry-After header).
RETRY_AFTER_S = 1
# Threads for a read made beside the lease's write (one per call in flight in the container).
ALONGSIDE_WORKERS = 4


@dataclass(frozen=True, slots=True)
class Call:
    """What an invocation knows of its own time: the Lambda's remaining milliseconds, when API Gateway
    received the request (epoch ms, ``requestContext.requestTimeEpoch``), and the Lambda context (for
    how long an idempotency key may stay in progress). Each is None where unknown."""

    remaining_ms: int | None = None
    arrival_ms: int | None = None
    lambda_context: Any = None


def wait_budget_s(settings: Settings, timeout_s: float | None, remaining_ms: int | None) -> float:
    """How long a call may wait: the requested timeout, capped by the deployment's maximum wait and by
    the Lambda's remaining time less a margin (seconds, never negative)."""
    budget = min(timeout_s or settings.max_wait_s, settings.max_wait_s)
    if remaining_ms is not None:
        budget = min(budget, remaining_ms / 1000 - LAMBDA_MARGIN_S)
    return max(0.0, budget)


def deadline(settings: Settings, timeout_s: float | None, call: Call, clock: Any) -> Deadline:
    """The call's deadline: its wait budget, and the answer due before the integration timeout (counted
    from the request's arrival) and before the Lambda's own timeout."""
    wait_s = wait_budget_s(settings, timeout_s, call.remaining_ms)
    return plan(wait_s, settings.integration_timeout_ms, call.arrival_ms, call.remaining_ms, clock=clock)


def _nothing() -> None:
    return None


@contextmanager
def in_flight[T](
    store: Store, settings: Settings, caller: Principal, call: Call, alongside: Callable[[], T] = _nothing
) -> Iterator[T]:
    """Hold one of the key's slots until the call answers (429 when none is free, before anything is
    sent). Given back on every way out; if the Lambda dies first, the lease expires once that
    invocation could no longer be running. A cap of 0 is no cap: nothing is held, the store untouched.

    ``alongside`` is a read the call makes whatever the lease's answer (the session a message goes
    to): it runs beside the lease's write, so the call waits for one DynamoDB round trip where it
    waited for two, and its result is what this yields. The lease still answers first: a call refused
    a slot is 429 even when the read fails, and a read that fails gives the slot back."""
    cap = settings.max_calls_in_flight
    if cap == 0:
        yield alongside()
        return
    expires_ms = now_ms() + (call.remaining_ms or settings.integration_timeout_ms) + 1_000
    read = None if alongside is _nothing else shared_pool(ALONGSIDE_WORKERS).submit(alongside)
    lease = store.leases.acquire(caller.key_id, cap, expires_ms)
    if lease is None:
        raise TooManyCalls(
            f"this API key already has {cap} calls in flight, the most this deployment allows; "
            f"nothing was sent, retry after {RETRY_AFTER_S} s",
            retry_after_s=RETRY_AFTER_S,
        )
    try:
        yield alongside() if read is None else read.result()
    finally:
        with suppress(ServiceUnavailable):  # not given back: the lease expires by itself
            store.leases.release(caller.key_id, lease)
