"""Powertools Logger, Tracer and Metrics shared by every handler. Locally they print; they never
need AWS (the Tracer switches itself off outside Lambda)."""

import functools
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = "session-relay"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="SessionRelay", service=SERVICE)

# Powertools keeps one metric set per process. In Lambda one invocation runs at a time; the local
# stack runs invocations in threads, so every access goes through this lock.
_metrics_lock = threading.Lock()


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """Add one value to a metric published when the current invocation ends."""
    with _metrics_lock:
        metrics.add_metric(name=name, unit=unit, value=value)


def publish_metrics(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: flush the metric set (EMF on stdout) when the handler returns or raises."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            with _metrics_lock:
                if is_metrics_disabled():
                    metrics.clear_metrics()
                elif metrics.provider.metric_set:
                    metrics.flush_metrics()

    return wrapper
