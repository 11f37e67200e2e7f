"""The handlers' metrics on the local stack, whose invocations run as threads of one process: every
count is published once, by some invocation's flush, and no flush fails or warns."""

import json
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest
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


def test_the_function_host_makes_the_metrics_safe_for_its_threads(make_host, monkeypatch):
    monkeypatch.setattr(observability, "metrics", observability.metrics)
    make_host(concurrency=2)
    make_host(concurrency=2)
    assert isinstance(observability.metrics, ThreadSafeMetrics)
    assert not isinstance(observability.metrics.wrapped, ThreadSafeMetrics)  # wrapped once


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
