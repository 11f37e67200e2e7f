"""When a message call must answer, and so how long it may wait: before API Gateway's integration
timeout counted from the request's arrival (``requestTimeEpoch``) and before the Lambda's own timeout,
less what answering costs with messages still pending (docs/design.md, "Deadlines").
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from session_relay import clock as clock_module

# Kept back from the Lambda's remaining time so the answer is sent before the function is killed.
LAMBDA_MARGIN_S = 1.0
# Kept back from the integration timeout: the answer's trip back through API Gateway, Mangum's work.
GATEWAY_MARGIN_S = 1.0
# What answering costs with nothing pending (building and serializing the answer).
ANSWER_RESERVE_S = 0.2
# What answering costs per message still pending at the end of the wait: one conditional withdraw
# (and, if the reply won the race, one read) each. Measured on the local stack's embedded DynamoDB,
# which serves one request at a time (about 8 ms each): the worst case; DynamoDB itself serves the
# withdraws in parallel, through the bounded pool.
PENDING_RESERVE_S = 0.012
# The shortest wait worth sending a message for: below it no reply can arrive (a round trip through
# the WebSocket API and one DynamoDB write), so nothing is sent and the answer is at once
# "client never responded".
MIN_WAIT_S = 0.01


def reserve_s(pending: int) -> float:
    """How long before the answer is due the wait must end, with ``pending`` messages still out."""
    return ANSWER_RESERVE_S + PENDING_RESERVE_S * pending


@dataclass(frozen=True)
class Deadline:
    """One call's time: ``answer_by`` (monotonic) is when the answer must be handed back; the wait
    never runs past ``wait_until_s`` (monotonic: the requested timeout, capped by the deployment)."""

    answer_by: float
    wait_until_s: float
    clock: Callable[[], float] = time.monotonic

    def wait_end(self, pending: int) -> float:
        """The instant (monotonic) the wait ends with ``pending`` messages still out."""
        return min(self.wait_until_s, self.answer_by - reserve_s(pending))

    def can_send(self, pending: int) -> bool:
        """True while a wait for ``pending`` messages is long enough for a reply to be recorded."""
        return self.wait_end(pending) - self.clock() >= MIN_WAIT_S

    def stored_deadline_ms(self, pending: int) -> int:
        """The last instant (epoch ms) a reply may be recorded, rounded up to a whole millisecond so
        that a short wait is never truncated to a deadline that has already passed."""
        remaining = max(0.0, self.wait_end(pending) - self.clock())
        return math.ceil((clock_module.epoch_s() + remaining) * 1000)


def plan(
    wait_s: float,
    integration_timeout_ms: int,
    arrival_epoch_ms: int | None,
    remaining_ms: int | None,
    clock: Callable[[], float] = time.monotonic,
) -> Deadline:
    """The deadline of a call that may wait ``wait_s`` seconds, given when its request arrived at API
    Gateway (epoch ms, None when unknown: counted from now) and the Lambda's remaining time."""
    now = clock()
    elapsed_s = 0.0
    if arrival_epoch_ms is not None:
        elapsed_s = max(0.0, clock_module.epoch_s() - arrival_epoch_ms / 1000)  # never in the future
        if elapsed_s >= integration_timeout_ms / 1000:
            # API Gateway has answered 504 already, or the event is a stored sample (sam local
            # invoke): nothing is gained by refusing, so count from now.
            elapsed_s = 0.0
    answer_by = now + integration_timeout_ms / 1000 - elapsed_s - GATEWAY_MARGIN_S
    if remaining_ms is not None:
        answer_by = min(answer_by, now + remaining_ms / 1000 - LAMBDA_MARGIN_S)
    return Deadline(answer_by=answer_by, wait_until_s=now + max(0.0, wait_s), clock=clock)
