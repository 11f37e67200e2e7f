"""session_relay.gateway retries a throttled Management API call (429 LimitExceededException: API
Gateway's account request rate, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html)
with exponential backoff and full jitter, until the caller's deadline and never past it, and never
reports it as a gone connection. A fake client answers from a script; time is virtual (the gateway's
sleep advances it), so no test waits or measures the wall clock."""

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from session_relay import gateway as gateway_module
from session_relay.aws import MANAGEMENT_CONFIG, management_client
from session_relay.clock import now_ms
from session_relay.contract import Session
from session_relay.errors import ServiceUnavailable
from session_relay.gateway import Gateway
from session_relay.service.delivery import DeliveryCore, MessageFrames
from session_relay.store import SessionRecord
from support.environment import MANAGEMENT_API_URL

EPOCH_MS = 1_770_000_000_000


def _error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "X"
    )


class GoneException(ClientError):
    pass


THROTTLED = _error("LimitExceededException", 429)
GONE = GoneException({"Error": {"Code": "GoneException"}, "ResponseMetadata": {"HTTPStatusCode": 410}}, "X")


class FakeClient:
    """Answers each call with the next scripted outcome (an exception is raised; the last repeats)."""

    class exceptions:  # as boto3 clients spell it
        GoneException = GoneException

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[float] = []  # the virtual time of each call
        self.clock: VirtualTime | None = None

    def post_to_connection(self, **_: Any) -> dict[str, Any]:
        return self._answer()

    def delete_connection(self, **_: Any) -> dict[str, Any]:
        return self._answer()

    def _answer(self) -> dict[str, Any]:
        self.calls.append(self.clock.now_s if self.clock else 0.0)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return {}


class VirtualTime:
    def __init__(self) -> None:
        self.now_s = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now_s += seconds

    def epoch_ms(self) -> int:
        return EPOCH_MS + int(self.now_s * 1000)


def _gateway(client: FakeClient, jitter: float = 1.0) -> tuple[Gateway, VirtualTime]:
    time = VirtualTime()
    client.clock = time
    gateway = Gateway(
        client, sleep=time.sleep, jitter=lambda: jitter, clock=lambda: time.now_s, epoch_ms=time.epoch_ms
    )
    return gateway, time


def test_a_throttled_post_is_retried_and_then_delivered():
    client = FakeClient(THROTTLED, THROTTLED, {})
    gateway, time = _gateway(client, jitter=0.5)

    assert gateway.post("conn=", {"type": "pong"}, deadline_ms=EPOCH_MS + 10_000) is True
    assert len(client.calls) == 3
    assert time.slept == [0.5 * 0.05, 0.5 * 0.1]  # full jitter: a uniform share of a doubling cap


def test_backoff_doubles_up_to_its_cap_and_the_jitter_is_full():
    client = FakeClient(*([THROTTLED] * 8), {})
    gateway, time = _gateway(client, jitter=1.0)

    assert gateway.post("conn=", "{}", deadline_ms=EPOCH_MS + 60_000) is True
    assert time.slept == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]  # the upper bound of each wait
    no_wait, _ = _gateway(FakeClient(THROTTLED, {}), jitter=0.0)
    assert no_wait.post("conn=", "{}", deadline_ms=EPOCH_MS + 60_000) is True  # a wait may be zero


@pytest.mark.parametrize(
    "throttled",
    [
        THROTTLED,
        _error("TooManyRequestsException", 429),
        _error("ThrottlingException", 400),
        _error("Other", 429),
    ],
)
def test_a_throttled_post_is_never_reported_gone_and_gives_up_at_the_deadline(throttled):
    client = FakeClient(throttled)
    gateway, time = _gateway(client, jitter=0.7)

    with pytest.raises(ServiceUnavailable) as raised:  # never False: throttled is not gone
        gateway.post("conn=", "{}", deadline_ms=EPOCH_MS + 3_000)

    assert raised.value.status == 503
    assert len(client.calls) > 5  # it kept trying...
    assert max(client.calls) < 3.0  # ...never after the deadline...
    assert time.now_s < 3.0  # ...and gave up before it, without sleeping past it
    next_wait = 0.7 * min(1.0, 0.05 * 2 ** len(time.slept))
    assert time.now_s + next_wait >= 3.0  # it stopped only when the next try would come too late


def test_a_deadline_already_past_allows_one_attempt_and_no_wait():
    client = FakeClient(THROTTLED)
    gateway, time = _gateway(client)

    with pytest.raises(ServiceUnavailable):
        gateway.post("conn=", "{}", deadline_ms=EPOCH_MS - 1)
    assert len(client.calls) == 1
    assert time.slept == []


def test_without_a_deadline_the_default_budget_bounds_the_retries():
    client = FakeClient(THROTTLED)
    gateway, time = _gateway(client)

    with pytest.raises(ServiceUnavailable):
        gateway.close("conn=")
    assert max(client.calls) < gateway_module.DEFAULT_BUDGET_S
    assert time.now_s + min(1.0, 0.05 * 2 ** len(time.slept)) >= gateway_module.DEFAULT_BUDGET_S


def test_a_sleep_cut_short_still_counts_whole_so_the_retries_end():
    """With a sleep that returns at once (as some tests patch it), the planned waits still spend the
    budget: the loop ends instead of spinning until the wall clock reaches the deadline."""
    client = FakeClient(THROTTLED)
    planned: list[float] = []
    gateway = Gateway(
        client, sleep=planned.append, jitter=lambda: 1.0, clock=lambda: 0.0, epoch_ms=lambda: EPOCH_MS
    )

    with pytest.raises(ServiceUnavailable):
        gateway.post("conn=", "{}", deadline_ms=EPOCH_MS + 2_000)
    assert sum(planned) < 2.0
    assert len(client.calls) == len(planned) + 1


def test_gone_after_a_throttle_is_gone():
    client = FakeClient(THROTTLED, GONE)
    gateway, _ = _gateway(client)

    assert gateway.post("conn=", "{}", deadline_ms=EPOCH_MS + 5_000) is False
    assert len(client.calls) == 2


@pytest.mark.parametrize(
    "transient", [_error("InternalServerError", 500), EndpointConnectionError(endpoint_url="x")]
)
def test_a_transient_failure_is_retried_once(transient):
    recovers = FakeClient(transient, {})
    assert _gateway(recovers)[0].post("conn=", "{}", deadline_ms=EPOCH_MS + 5_000) is True
    persists = FakeClient(transient)
    with pytest.raises(ServiceUnavailable):
        _gateway(persists)[0].post("conn=", "{}", deadline_ms=EPOCH_MS + 5_000)
    assert len(persists.calls) == 2


@pytest.mark.parametrize(
    "refusal", [_error("ForbiddenException", 403), _error("PayloadTooLargeException", 413)]
)
def test_a_refusal_is_not_retried(refusal):
    client = FakeClient(refusal, {})
    with pytest.raises(ServiceUnavailable):
        _gateway(client)[0].post("conn=", "{}", deadline_ms=EPOCH_MS + 5_000)
    assert len(client.calls) == 1


def test_botocore_makes_one_attempt_per_call_so_its_retries_never_multiply_the_gateways():
    client = management_client(MANAGEMENT_API_URL)
    assert client.meta.config.retries["total_max_attempts"] == 1  # the request itself, no retry
    assert MANAGEMENT_CONFIG.retries["mode"] == "standard"


class RecordingGateway:
    def __init__(self) -> None:
        self.deadlines: list[int | None] = []

    def post(self, connection_id: str, frame: str, deadline_ms: int | None = None) -> bool:
        self.deadlines.append(deadline_ms)
        return True


class NoStore:
    class messages:  # the one store call ``post`` could make (not on success)
        @staticmethod
        def delete_many(pairs: list[Any]) -> None:
            raise AssertionError("nothing to withdraw")


def _posted_deadlines(deadline_ms: int | None) -> list[int | None]:
    gateway = RecordingGateway()
    core = DeliveryCore(NoStore(), gateway, workers=4)  # type: ignore[arg-type]
    sessions = [Session(f"s{n}", "u", "script", 1, 2, "job", 0, 0) for n in range(3)]
    targets = [(SessionRecord(session, f"c{n}="), f"m{n}") for n, session in enumerate(sessions)]
    posted = core.post(targets, MessageFrames("echo", []), deadline_ms=deadline_ms)
    assert len(posted.out) == 3
    return gateway.deadlines


def test_the_delivery_core_bounds_each_post_by_the_messages_stored_deadline():
    soon = now_ms() + 2_000
    assert _posted_deadlines(soon) == [soon] * 3


def test_the_delivery_core_never_lets_posts_retry_past_its_budget_whatever_the_deadline():
    """A message answered later has a deadline up to 60 s away, but its call answers at once: its posts
    may not hold that call past the budget (nor may a batch without a deadline)."""
    budget_ms = int(gateway_module.DEFAULT_BUDGET_S * 1000)
    for deadline_ms in (now_ms() + 60_000, None):
        before = now_ms()
        (first, *others) = _posted_deadlines(deadline_ms)
        assert before + budget_ms <= first <= now_ms() + budget_ms
        assert others == [first] * 2  # one deadline for the whole batch, not one per post's start
