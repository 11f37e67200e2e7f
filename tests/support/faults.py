"""Faults injected under botocore, at the ``before-send`` hook, in place of the HTTP call (so a refused
write is never applied), while botocore's own retries (standard mode, see session_relay.aws) and the
store's and gateway's retries all run exactly as in production."""

import io
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries import standard


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def aws_response(request: Any, status: int, body: Any, headers: dict[str, str] | None = None) -> AWSResponse:
    """The HTTP answer AWS would give ``request``: ``status``, ``body`` as JSON, and ``headers``."""
    payload = b"" if body is None else json.dumps(body).encode()
    return AWSResponse(
        request.url, status, {"Content-Type": "application/json", **(headers or {})}, _Raw(payload)
    )


DYNAMODB_ERRORS = {
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "RequestLimitExceeded": 400,
    "InternalServerError": 500,
}


@dataclass
class Rule:
    operation: str
    code: str
    remaining: float
    when: Callable[[Any], bool] | None = None


class DynamoDBFaults:
    """Makes chosen DynamoDB operations fail with AWS error codes, before the database sees them."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()

    def fail(
        self,
        operation: str,
        code: str = "ProvisionedThroughputExceededException",
        times: float = float("inf"),
        when: Callable[[Any], bool] | None = None,
    ) -> Rule:
        """Fail the next ``times`` calls of ``operation`` (every call by default) with ``code``."""
        rule = Rule(operation, code, times, when)
        self.rules.append(rule)
        return rule

    def heal(self) -> None:
        self.rules.clear()

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.calls[operation] += 1
            for rule in self.rules:
                if (
                    rule.operation == operation
                    and rule.remaining > 0
                    and (rule.when is None or rule.when(request))
                ):
                    rule.remaining -= 1
                    self.injected[operation] += 1
                    body = {
                        "__type": f"com.amazonaws.dynamodb.v20120810#{rule.code}",
                        "message": "injected fault",
                    }
                    return aws_response(request, DYNAMODB_ERRORS[rule.code], body)
        return None


@dataclass
class BackoffLog:
    """Delays botocore's standard retry mode computed (seconds), kept instead of slept."""

    delays: list[float] = field(default_factory=list)


def record_backoff(monkeypatch: pytest.MonkeyPatch) -> BackoffLog:
    """Record botocore's exponential backoff delays and sleep only a millisecond of each.

    The jitter is fixed at its maximum so the delays themselves show the exponential growth.
    """
    log = BackoffLog()
    original = standard.ExponentialBackoff.delay_amount

    def delay_amount(self: Any, context: Any) -> float:
        self._random = lambda: 1.0
        delay = original(self, context)
        log.delays.append(delay)
        return delay / 1000

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", delay_amount)
    return log
