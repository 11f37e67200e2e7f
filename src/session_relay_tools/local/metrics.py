"""The handlers' Powertools Metrics, made safe for execution environments that run as threads of one
process.

Powertools keeps one metric set per process (class attributes of ``Metrics``, shared by every instance).
In Lambda each environment is a process of its own; the local stack runs its environments as threads
(``environments``), each with its own ``session_relay.observability`` but all with Powertools' one set,
where one invocation's flush would iterate the set while another adds to it. So each environment's
``session_relay.observability.metrics`` (which ``count`` and ``publish_metrics`` look up at each call)
is replaced by a wrapper, and every wrapper serializes changes and flushes on one process-wide lock. The
set stays shared: a flush publishes what every running invocation counted so far, and nothing is counted
twice or lost.
"""

import threading
from types import ModuleType
from typing import Any

# Powertools' metric set is one per process, so the lock that guards it is too.
_METRIC_SET_LOCK = threading.Lock()


class ThreadSafeMetrics:
    """Powertools ``Metrics`` whose (process-wide) metric set is changed and flushed by one thread at a
    time."""

    def __init__(self, metrics: Any) -> None:
        self.wrapped = metrics
        self._lock = _METRIC_SET_LOCK

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


def install(observability: ModuleType | None = None) -> None:
    """Put the thread-safe wrapper in place of the metrics of ``observability`` (an environment's own
    ``session_relay.observability``; the process's own when not given), once: later calls keep it."""
    if observability is None:
        from session_relay import observability

    if not isinstance(observability.metrics, ThreadSafeMetrics):
        observability.metrics = ThreadSafeMetrics(observability.metrics)
