"""Powertools Logger, Tracer and Metrics shared by every handler. Locally they print; they never
need AWS.

Tracing costs only when it is on: Powertools' Tracer imports the X-Ray SDK, which patches botocore
and builds clients of its own, so ``tracer`` is a no-op unless tracing is enabled, and the real
Tracer is imported and created only then (when the handler is decorated, in the init phase).
"""

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = "session-relay"

logger = Logger(service=SERVICE)
# One metric set per process (Powertools'), published at the end of each invocation; ``count`` and
# ``publish_metrics`` look it up here at every call, so it can be replaced by one of the same interface.
metrics = Metrics(namespace="SessionRelay", service=SERVICE)
_TRUTHY = frozenset({"1", "y", "yes", "t", "true", "on"})


def tracing_enabled(environ: dict[str, str] | None = None) -> bool:
    """Powertools' own rule: tracing runs in Lambda (``LAMBDA_TASK_ROOT`` is set) unless
    ``POWERTOOLS_TRACE_DISABLED`` is true, and never under ``sam local`` or ``chalice local``."""
    environ = os.environ if environ is None else environ
    disabled = environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUTHY
    emulated = environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE")
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not emulated and not disabled


class LazyTracer:
    """The one Tracer method the handlers use, importing Powertools' Tracer only when tracing is on."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Any = None

    @property
    def real(self) -> Any:
        """Powertools' Tracer (imported and created at first use)."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self.service)
        return self._tracer

    def capture_lambda_handler(self, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if not tracing_enabled():
            return lambda handler: handler
        return self.real.capture_lambda_handler(**options)


tracer = LazyTracer(SERVICE)


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """Add one value to a metric published when the current invocation ends."""
    metrics.add_metric(name=name, unit=unit, value=value)


def publish_metrics(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: flush the metric set (EMF on stdout) when the handler returns or raises."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            if is_metrics_disabled():
                metrics.clear_metrics()
            elif metrics.provider.metric_set:
                metrics.flush_metrics()

    return wrapper
