"""AWS's limits on Lambda invocations, as the local stack enforces them (PROTOCOL.md section 3).

- One pool of concurrent executions for the whole account, 1000 by default; a function with reserved
  concurrency gets exactly that many, out of the pool, and the account keeps at least 100 unreserved:
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
  Beyond it a synchronous invocation is throttled at once (never queued).
- 6 MB (6,291,456 bytes) for a synchronous invocation's request and for its response, measured on the
  JSON the runtime serializes (``json.dumps``, so escapes count):
  https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html

And API Gateway's throttle of the WebSocket stage (``TokenBucket``, ``stage_throttle``): one token
bucket of the stage's ``DefaultRouteSettings`` (``ThrottlingBurstLimit`` tokens, refilled at
``ThrottlingRateLimit`` a second) that every client frame draws on, whichever connection sent it:
https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html

And the account's own rates in API Gateway, per Region (``connect_rate``, ``request_rate``):
- 500 new WebSocket connections a second, across all WebSocket APIs ("Quotas for configuring and
  running a WebSocket in API Gateway"):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
- 10,000 requests a second with a token bucket of 5,000, across HTTP, REST, WebSocket and WebSocket
  callback (``@connections``) APIs ("Amazon API Gateway quotas"); where the quota is 2,500 the burst
  is 1,250: the burst is half the rate in both:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
"""

import json
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100
MAX_PAYLOAD_BYTES = 6_291_456
CONCURRENCY_VARIABLE = "SESSION_RELAY_CONCURRENCY"
# Local-only knobs: the WebSocket stage's throttle, instead of the template's parameter defaults.
WS_RATE_VARIABLE = "SESSION_RELAY_WS_RATE"
WS_BURST_VARIABLE = "SESSION_RELAY_WS_BURST"
# The account's rates (module docstring), and the variables that set others locally.
CONNECT_RATE_VARIABLE = "SESSION_RELAY_CONNECT_RATE"
REQUEST_RATE_VARIABLE = "SESSION_RELAY_REQUEST_RATE"
ACCOUNT_CONNECT_RATE = 500
ACCOUNT_REQUEST_RATE = 10_000
REQUEST_BURST_PER_RATE = 0.5  # 5,000 of 10,000; 1,250 of 2,500


class Throttled(Exception):
    """Lambda refused the invocation: no concurrency left (TooManyRequestsException)."""


class RequestTooLarge(Exception):
    """Lambda refused the invocation: the event is over 6 MB (RequestEntityTooLargeException)."""


class FunctionError(Exception):
    """The function ran but its invocation failed (here: a response Lambda cannot return)."""


def payload_size(document: Any) -> int:
    """Bytes of ``document`` as Lambda's Python runtime serializes it."""
    return len(json.dumps(document).encode())


def account_concurrency(environ: dict[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    value = environ.get(CONCURRENCY_VARIABLE, "").strip()
    if not value:
        return ACCOUNT_CONCURRENCY
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{CONCURRENCY_VARIABLE} must be a positive number of executions, not {value!r}")
    return int(value)


class ConcurrencyPool:
    """Concurrent executions of every function of both gateways, as one account's."""

    def __init__(self, total: int, reserved: dict[str, int] | None = None) -> None:
        self.reserved = dict(reserved or {})
        self.unreserved = total - sum(self.reserved.values())
        if self.reserved and self.unreserved < MIN_UNRESERVED:
            reserved_total = sum(self.reserved.values())
            raise SystemExit(
                f"reserved concurrency {reserved_total} leaves {self.unreserved} of the account's {total} "
                f"unreserved; Lambda requires at least {MIN_UNRESERVED} (lower the reservation or raise "
                f"{CONCURRENCY_VARIABLE})"
            )
        self.total = total
        self._in_use: Counter[str] = Counter()
        self._unreserved_in_use = 0
        self._lock = threading.Lock()

    def acquire(self, function: str) -> bool:
        """Take one execution for ``function``; False means Lambda would throttle it."""
        with self._lock:
            if function in self.reserved:
                if self._in_use[function] >= self.reserved[function]:
                    return False
            elif self._unreserved_in_use >= self.unreserved:
                return False
            else:
                self._unreserved_in_use += 1
            self._in_use[function] += 1
            return True

    def release(self, function: str) -> None:
        with self._lock:
            self._in_use[function] -= 1
            if function not in self.reserved:
                self._unreserved_in_use -= 1

    def in_use(self) -> int:
        with self._lock:
            return sum(self._in_use.values())


def resolve(value: Any, template: dict[str, Any]) -> Any:
    """A property value with ``Ref`` to parameters (their defaults) and ``Fn::If`` resolved;
    ``None`` for ``AWS::NoValue``."""
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        if name == "AWS::NoValue":
            return None
        return template.get("Parameters", {})[name].get("Default")
    if isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        chosen = when_true if _condition(template["Conditions"][condition], template) else when_false
        return resolve(chosen, template)
    return value


def _condition(expression: Any, template: dict[str, Any]) -> bool:
    if "Fn::Not" in expression:
        return not _condition(expression["Fn::Not"][0], template)
    if "Fn::Equals" in expression:
        left, right = (resolve(side, template) for side in expression["Fn::Equals"])
        return str(left) == str(right)
    if "Condition" in expression:
        return _condition(template["Conditions"][expression["Condition"]], template)
    raise ValueError(f"unsupported condition {expression!r}")


class TokenBucket:
    """``burst`` tokens, refilled at ``rate_per_s`` a second up to ``burst``; each request takes one.
    Starts full. ``clock`` (seconds, monotonic) is injectable for tests."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """One token for one request; False means API Gateway would throttle it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate_per_s)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


def stage_throttle(template: dict[str, Any], environ: dict[str, str] | None = None) -> TokenBucket:
    """The WebSocket stage's throttle as the template deploys it (``DefaultRouteSettings``, its
    parameters' defaults), or as ``SESSION_RELAY_WS_RATE`` / ``SESSION_RELAY_WS_BURST`` set it within
    the parameters' ranges (a value CloudFormation would refuse stops the stack with a sentence)."""
    environ = os.environ if environ is None else environ
    (stage,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    settings = stage["Properties"]["DefaultRouteSettings"]
    rate = _setting(settings["ThrottlingRateLimit"], template, environ, WS_RATE_VARIABLE)
    burst = _setting(settings["ThrottlingBurstLimit"], template, environ, WS_BURST_VARIABLE)
    if burst != int(burst):
        raise SystemExit(f"{WS_BURST_VARIABLE} must be a whole number of requests, not {burst!r}")
    return TokenBucket(rate, int(burst))


def _setting(value: Any, template: dict[str, Any], environ: dict[str, str], variable: str) -> float:
    override = environ.get(variable, "").strip()
    if not override:
        return float(resolve(value, template))
    parameter = template.get("Parameters", {}).get(value["Ref"], {}) if isinstance(value, dict) else {}
    low, high = parameter.get("MinValue", 0), parameter.get("MaxValue", float("inf"))
    try:
        number = float(override)
    except ValueError:
        number = float("nan")
    if not low <= number <= high or number <= 0:
        raise SystemExit(
            f"{variable} must be a number from {low} to {high} (the template's range), not {override!r}"
        )
    return number


def connect_rate(environ: dict[str, str] | None = None) -> TokenBucket:
    """The account's admission of new WebSocket connections: ``SESSION_RELAY_CONNECT_RATE`` a second
    (500 unless set), at most one second's worth at once (AWS documents no burst of its own)."""
    rate = _account_rate(environ, CONNECT_RATE_VARIABLE, ACCOUNT_CONNECT_RATE, "new connections")
    return TokenBucket(rate, max(1, int(rate)))


def request_rate(environ: dict[str, str] | None = None) -> TokenBucket:
    """The account's request throttle, one bucket for every API (REST calls and ``@connections``
    calls alike): ``SESSION_RELAY_REQUEST_RATE`` a second (10,000 unless set), a burst of half that."""
    rate = _account_rate(environ, REQUEST_RATE_VARIABLE, ACCOUNT_REQUEST_RATE, "requests")
    return TokenBucket(rate, max(1, int(rate * REQUEST_BURST_PER_RATE)))


def _account_rate(environ: dict[str, str] | None, variable: str, default: int, what: str) -> float:
    environ = os.environ if environ is None else environ
    value = environ.get(variable, "").strip()
    if not value:
        return float(default)
    try:
        rate = float(value)
    except ValueError:
        rate = float("nan")
    if not math.isfinite(rate) or rate <= 0:
        raise SystemExit(f"{variable} must be a positive number of {what} a second, not {value!r}")
    return rate
