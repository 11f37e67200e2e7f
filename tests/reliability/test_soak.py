"""A short soak inside the test suite: churn and concurrent owners, then nothing lost or left behind.

The full soak (``python -m session_relay_tools.soak``, 60 s, 300 sessions, 30 callers) checks the same
invariants at scale; docs/reliability.md has its figures.
"""

from types import SimpleNamespace

import pytest

from session_relay_tools.simulate import SimulatedClient
from session_relay_tools.soak import Soak, SoakSession, parse_args, percentile, run_soak


def test_short_soak_loses_nothing_and_leaves_nothing_behind():
    args = parse_args(["--duration", "10", "--sessions", "60", "--callers", "8", "--churn-per-s", "1.5"])
    summary = run_soak(args)

    failed = [name for name, passed in summary["checks"].items() if not passed]
    assert not failed, (failed, summary["failures"])
    assert summary["ok"] is True
    assert summary["server_errors"] == 0
    assert summary["unanswered"] == summary["wrong_replies"] == summary["lost_replies"] == 0
    assert summary["left_in_dynamodb"]["sessions"] == 0
    assert summary["left_in_dynamodb"]["connection_mappings"] == 0
    assert summary["left_in_dynamodb"]["pending_messages"] == 0
    # The run really exercised what it claims to: every kind of request, bulk calls, every way of
    # leaving, and sessions that joined during the run.
    assert set(summary["requests_by_kind"]) == {
        "echo",
        "bulk",
        "sleep",
        "late",
        "error",
        "invalid",
        "unknown",
        "list",
    }
    assert summary["bulk_entries"] > summary["requests_by_kind"]["bulk"]
    assert set(summary["churn"]) == {"close", "owner", "abrupt"}
    assert summary["sessions_connected"] > 60
    assert summary["outcomes"]["processed"] > 0
    assert summary["latency_ms"]["all"]["p50"] is not None


def _session(session_id: str) -> SoakSession:
    client = SimulatedClient("ws://127.0.0.1:1", {})
    client.session = {"id": session_id}
    return SoakSession(client)


@pytest.fixture
def checker() -> Soak:
    return Soak(SimpleNamespace(), SimpleNamespace(seed=1))


def test_soak_checker_flags_a_reply_that_another_session_produced(checker):
    mine, other = _session("mine"), _session("other")
    other.returned["n1"] = {"nonce": "n1", "by": "other"}
    checker._check("echo", "n1", mine, None, {"processed": True, "response": {"nonce": "n1", "by": "other"}})
    assert checker.report.wrong_replies == 1


def test_soak_checker_flags_an_answer_the_function_never_returned(checker):
    mine = _session("mine")
    answer = {"processed": True, "response": {"nonce": "n2", "by": "mine"}}
    checker._check("echo", "n2", mine, None, answer)
    assert checker.report.wrong_replies == 1
    mine.returned["n2"] = answer["response"]
    checker._check("echo", "n2", mine, None, answer)
    assert checker.report.wrong_replies == 1  # unchanged: now it is exactly what the function returned


def test_soak_checker_flags_a_lost_reply_but_not_one_from_a_dropped_client(checker):
    mine = _session("mine")
    mine.returned["n3"] = {"nonce": "n3", "by": "mine"}
    never = {"processed": False, "reason": "client never responded"}
    checker._check("echo", "n3", mine, None, never)
    assert checker.report.lost_replies == 1
    mine.abrupt = True
    checker._check("echo", "n3", mine, None, never)
    assert checker.report.lost_replies == 1


def test_percentile_is_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.99) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
