"""The handlers' Powertools Metrics, made safe for invocations that run as threads of one process.

Powertools keeps one metric set per process. In Lambda one invocation runs at a time in a container;
the local stack runs concurrent invocations as threads (``functions``), where one invocation's flush
would iterate the set while another adds to it. So the local stack puts a wrapper that serializes
every change and flush in place of ``session_relay.observability.metrics`` (which ``count`` and
``publish_metrics`` look up at each call). The set stays shared: a flush publishes what every
running invocation counted so far, and nothing is counted twice or lost.
"""

import threading
from typing import Any


class ThreadSafeMetrics:
    """Powertools ``Metrics`` whose metric set is changed and flushed by one thread at a time."""

    def __init__(self, metrics: Any) -> None:
        self.wrapped = metrics
        self._lock = threading.Lock()

    def add_metric(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:  # Powertools flushes here too, when the set is full
            self.wrapped.add_metric(*args, **kwargs)

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        with self._lock:
            # Another invocation's flush may have published the set since the caller found it full.
            if raise_on_empty_metrics or self.wrapped.provider.metric_set:
                self.wrapped.flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)

    def clear_metrics(self) -> None:
        with self._lock:
            self.wrapped.clear_metrics()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def install() -> None:
    """Put the thread-safe wrapper in place of the handlers' metrics (once; later calls keep it)."""
    from session_relay import observability

    if not isinstance(observability.metrics, ThreadSafeMetrics):
        observability.metrics = ThreadSafeMetrics(observability.metrics)
