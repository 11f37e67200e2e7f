"""The API Gateway Management API: push frames to connections and close them.

API Gateway counts every ``@connections`` call against the account's request rate (10,000 a second
with a burst of 5,000, shared with every API of the account: "Amazon API Gateway quotas",
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html); beyond it a call is answered
429 ``LimitExceededException`` ("The client is sending more than the allowed number of requests per
unit of time":
https://docs.aws.amazon.com/botocore/latest/reference/services/apigatewaymanagementapi/client/exceptions/LimitExceededException.html).
Such a call is retried here with exponential backoff and full jitter for as long as the caller's
deadline allows, and never taken for a gone connection. The client makes one attempt per call
(``session_relay.aws.MANAGEMENT_CONFIG``): every retry is this module's, so the two never multiply.
"""

import random
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_relay.aws import management_client
from session_relay.clock import now_ms
from session_relay.errors import ServiceUnavailable
from session_relay.wire import dump_json

# The codes of a throttled call: the Management API's own, and what API Gateway and AWS's SDKs name
# throttling elsewhere (botocore's standard mode counts all three as throttling).
THROTTLED_CODES = frozenset({"LimitExceededException", "TooManyRequestsException", "ThrottlingException"})
THROTTLED_STATUS = 429
# What botocore's standard mode retries as transient: 5xx answers and connection errors. One retry, as
# that mode made of them before (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
TRANSIENT_RETRIES = 1
# Full jitter: each wait is uniform in [0, min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2**attempt)]
# (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 1.0
# How long a call without a deadline of its own may keep retrying (a frame to a client, a close).
DEFAULT_BUDGET_S = 5.0
UNAVAILABLE = "the WebSocket gateway is unavailable, try again"


class Gateway:
    """Posts to and closes connections of one WebSocket API stage.

    ``post`` and ``close`` return False when the connection is gone (HTTP 410), which callers treat as
    "the session is dead". A throttled call is retried until ``deadline_ms`` (epoch ms; without one,
    ``DEFAULT_BUDGET_S`` from the call); what still fails raises ``ServiceUnavailable``, never False.
    ``sleep`` (``time.sleep`` when None), ``jitter`` (uniform in [0, 1)) and the clocks are injectable
    for tests.
    """

    def __init__(
        self,
        client: Any,
        *,
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        epoch_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.client = client
        self._gone = client.exceptions.GoneException
        self._sleep, self._jitter, self._clock, self._epoch_ms = sleep, jitter, clock, epoch_ms

    def post(self, connection_id: str, frame: dict[str, Any] | str, deadline_ms: int | None = None) -> bool:
        """Send one frame (a dict, or JSON text already serialized), retrying throttling until
        ``deadline_ms`` (epoch ms) at the latest."""
        data = (frame if isinstance(frame, str) else dump_json(frame)).encode()
        return self._call(self.client.post_to_connection, deadline_ms, ConnectionId=connection_id, Data=data)

    def close(self, connection_id: str, deadline_ms: int | None = None) -> bool:
        return self._call(self.client.delete_connection, deadline_ms, ConnectionId=connection_id)

    def _call(self, operation: Any, deadline_ms: int | None, **kwargs: Any) -> bool:
        budget_s = DEFAULT_BUDGET_S if deadline_ms is None else (deadline_ms - self._epoch_ms()) / 1000
        started, slept_s = self._clock(), 0.0
        attempt, transient = 0, 0
        while True:
            try:
                operation(**kwargs)
                return True
            except self._gone:  # must come before ClientError, of which it is a subclass
                return False
            except (ClientError, BotoCoreError) as exc:
                failure = exc
                if not _throttled(exc):
                    transient += 1
                    if not _transient(exc) or transient > TRANSIENT_RETRIES:
                        raise ServiceUnavailable(UNAVAILABLE) from exc
            delay_s = self._jitter() * min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2**attempt)
            # Time spent so far, counting each planned wait whole (a sleep may be cut short in tests).
            spent_s = max(self._clock() - started, slept_s)
            if spent_s + delay_s >= budget_s:  # the next try would come after the deadline
                raise ServiceUnavailable(UNAVAILABLE) from failure
            (self._sleep or time.sleep)(delay_s)  # looked up now: a test may have replaced it
            slept_s += delay_s
            attempt += 1


def _throttled(exc: Exception) -> bool:
    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in THROTTLED_CODES or status == THROTTLED_STATUS


def _transient(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in TRANSIENT_STATUSES
    return True  # a connection error, a timeout: botocore's standard mode retries these too


def gateway_for(endpoint_url: str) -> Gateway:
    """A gateway for one stage URL (``https://{domain}/{stage}``); clients are cached per URL."""
    return Gateway(management_client(endpoint_url))
