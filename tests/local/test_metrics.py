"""The handlers' metrics on the local stack, whose execution environments run as threads of one process
sharing Powertools' one metric set: every count is published once, by some invocation's flush, and no
flush fails or warns."""

import json
import warnings
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import pytest
from aws_lambda_powertools import Metrics
from session_relay import observability

from session_relay_tools.local import metrics as local_metrics
from session_relay_tools.local.metrics import ThreadSafeMetrics

INVOCATIONS = 64
COUNTS = 150  # past Powertools' 100 values a metric, where adding a value flushes the set too


@pytest.fixture
def published(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setattr(observability, "metrics", observability.metrics)  # restored afterwards
    observability.metrics.clear_metrics()
    yield
    observability.metrics.clear_metrics()


def test_each_environments_metrics_are_wrapped_once_and_every_wrapper_shares_one_lock():
    # Two environments' own copies of session_relay.observability, over Powertools' one metric set.
    environments = [ModuleType(f"observability_{number}") for number in (1, 2)]
    for environment in environments:
        environment.metrics = Metrics(namespace="SessionRelay", service="session-relay")
        local_metrics.install(environment)
        local_metrics.install(environment)  # an environment's Init installs it once; a repeat keeps it
    first, second = (environment.metrics for environment in environments)
    assert isinstance(first, ThreadSafeMetrics)
    assert isinstance(second, ThreadSafeMetrics)
    assert not isinstance(first.wrapped, ThreadSafeMetrics)  # wrapped once
    assert first.provider.metric_set is second.provider.metric_set  # Powertools' set is one per process
    assert first._lock is second._lock  # so its guard is too


def test_concurrent_invocations_publish_every_count_once(published, capfd):
    local_metrics.install()

    @observability.publish_metrics
    def handler(number: int) -> int:
        for _ in range(COUNTS):
            observability.count("Counted")
        observability.count("Invoked")
        return number

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No application metrics to publish" would fail the handler
        with ThreadPoolExecutor(16) as pool:
            assert sorted(pool.map(handler, range(INVOCATIONS))) == list(range(INVOCATIONS))
    totals = {"Counted": 0, "Invoked": 0}
    for line in capfd.readouterr().out.splitlines():
        emf = json.loads(line)
        for name in totals:
            values = emf.get(name, [])
            totals[name] += sum(values) if isinstance(values, list) else values
    assert totals == {"Counted": INVOCATIONS * COUNTS, "Invoked": INVOCATIONS}
