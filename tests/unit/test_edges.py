"""Edges of the contract: forged Unicode cursors, unknown query parameters on every route, the
deadline arithmetic (rounded up, a minimum wait, counted from the request's arrival), the size rule
of bulk answers, and idempotent table setup."""

import base64
import json
import math
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from session_relay.service.deadlines import MIN_WAIT_S, plan, reserve_s
from session_relay.service.fitting import ENVELOPE_BYTES, fit_entries, proxy_bytes

from session_relay_tools.template import create_tables, table_definitions

# ------------------------------------------------------------------------------------------------
# Cursors: ASCII digits only
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "digits",
    ["\u0660" * 15, "\u06f0" * 15, "\u0966" * 15, "\uff10" * 15, "0" * 14 + "\u0661"],
    ids=["arabic-indic", "extended-arabic-indic", "devanagari", "fullwidth", "one-forged-digit"],
)
def test_a_cursor_forged_with_unicode_digits_is_422(client, owner, failure, digits):
    forged = base64.urlsafe_b64encode(f"{digits}#abc".encode()).decode().rstrip("=")
    error = failure(client.get("/sessions", headers=owner.headers, params={"cursor": forged}), 422)
    assert "cursor" in error


def test_a_cursor_of_ascii_digits_still_pages(client, owner):
    cursor = base64.urlsafe_b64encode(b"0" * 15 + b"#abc").decode().rstrip("=")
    answer = client.get("/sessions", headers=owner.headers, params={"cursor": cursor})
    assert answer.status_code == 200


# ------------------------------------------------------------------------------------------------
# Unknown query parameters: 422 on every route
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/sessions", None),
        ("GET", "/sessions/abc", None),
        ("POST", "/sessions/abc/message", {"key": "k"}),
        ("POST", "/sessions/abc/disconnect", None),
        ("POST", "/sessions/message", {"session_ids": ["a"], "key": "k"}),
        ("POST", "/sessions/disconnect", {"session_ids": ["a"]}),
    ],
)
def test_an_unknown_query_parameter_is_422_on_every_route(
    client, owner, failure, gateway, method, path, body
):
    answer = client.request(method, path, headers=owner.headers, params={"plce_id": "1"}, json_body=body)
    assert "plce_id" in failure(answer, 422)


def test_listing_query_parameters_are_still_taken(client, owner):
    params = {
        "script_id": "x",
        "user_key": "u",
        "roblox_id": "1",
        "place_id": "2",
        "job_id": "j",
        "limit": "5",
    }
    assert client.get("/sessions", headers=owner.headers, params=params).status_code == 200


# ------------------------------------------------------------------------------------------------
# Deadlines
# ------------------------------------------------------------------------------------------------


def test_the_stored_deadline_is_rounded_up_to_a_whole_millisecond():
    now = [100.0]
    deadline = plan(0.0004, 29_000, None, None, clock=lambda: now[0])
    before_ms = time.time() * 1000
    stored = deadline.stored_deadline_ms(1)
    assert stored >= math.ceil(before_ms + 0.4) - 1
    assert stored > before_ms  # never a deadline that has already passed


def test_no_message_is_sent_for_a_wait_below_the_minimum():
    now = [100.0]
    assert not plan(MIN_WAIT_S / 2, 29_000, None, None, clock=lambda: now[0]).can_send(1)
    assert plan(MIN_WAIT_S * 2, 29_000, None, None, clock=lambda: now[0]).can_send(1)


def test_the_answer_is_due_before_the_integration_timeout_counted_from_arrival():
    now = [100.0]
    arrived_ms = int(time.time() * 1000) - 20_000  # 20 s ago (a slow start, a queue)
    deadline = plan(60, 29_000, arrived_ms, 75_000, clock=lambda: now[0])
    assert deadline.answer_by == pytest.approx(100.0 + 9.0 - 1.0, abs=0.05)
    # The wait ends early enough for the withdraws that follow it, more so with more pending.
    assert deadline.wait_end(1000) == pytest.approx(deadline.answer_by - reserve_s(1000))
    assert deadline.wait_end(1000) < deadline.wait_end(10) < deadline.answer_by


def test_an_arrival_older_than_the_timeout_counts_from_now():
    now = [100.0]
    deadline = plan(5, 29_000, 1_000, None, clock=lambda: now[0])  # a stored sample event
    assert deadline.wait_end(1) == pytest.approx(105.0)


def test_the_lambdas_own_timeout_bounds_the_answer_too():
    now = [100.0]
    deadline = plan(60, 62_000, None, 10_000, clock=lambda: now[0])
    assert deadline.answer_by == pytest.approx(100.0 + 10 - 1.0)


# ------------------------------------------------------------------------------------------------
# The size rule of bulk answers
# ------------------------------------------------------------------------------------------------


def proxy_size(entries: list[dict[str, Any]]) -> int:
    body = json.dumps({"success": True, "responses": entries}, ensure_ascii=False, separators=(",", ":"))
    proxy = {
        "statusCode": 200,
        "headers": {"content-length": str(len(body.encode())), "content-type": "application/json"},
        "multiValueHeaders": {},
        "body": body,
        "isBase64Encoded": False,
    }
    return max(len(json.dumps(proxy).encode()), len(json.dumps(proxy, ensure_ascii=False).encode()))


@pytest.mark.parametrize(
    "response",
    ['"' * 5000, "\\" * 5000, "é" * 5000, "🎮" * 5000, "\u0001" * 5000, "x" * 5000],
    ids=["quotes", "backslashes", "two-byte", "four-byte", "control", "ascii"],
)
def test_fitted_entries_stay_under_the_limit_in_order(response):
    entries = [{"session_id": f"s{i:03}", "processed": True, "response": response} for i in range(400)]
    limit = 1_000_000
    fitted = fit_entries(entries, limit_bytes=limit)
    assert [entry["session_id"] for entry in fitted] == [entry["session_id"] for entry in entries]
    kept = [entry for entry in fitted if entry.get("processed")]
    assert fitted[: len(kept)] == entries[: len(kept)]
    assert all(entry["reason"] == "response too large" for entry in fitted[len(kept) :])
    assert proxy_size(fitted) <= limit
    # At the limit: one more kept entry would have passed it.
    assert len(kept) < len(entries)
    assert proxy_size(entries[: len(kept) + 1] + fitted[len(kept) + 1 :]) > limit - ENVELOPE_BYTES


def test_the_body_is_escaped_once_more_inside_the_proxy_response():
    assert proxy_bytes('"') == 2
    assert proxy_bytes("\\") == 2
    assert proxy_bytes("\u0001") == 6
    # Non-ASCII as the older runtimes write it, never less than the Python 3.12 runtime's UTF-8.
    assert proxy_bytes("é") == 6 >= len("é".encode())
    assert proxy_bytes("🎮") == 12 >= len("🎮".encode())


def test_small_answers_are_left_alone():
    entries = [{"session_id": "a", "processed": True, "response": "x" * 1000}]
    assert fit_entries(entries) == entries


# ------------------------------------------------------------------------------------------------
# Table setup: idempotent, TTL on existing tables, a warning without UpdateTimeToLive, no half-made
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def raw_dynamodb(aws):
    return boto3.client("dynamodb", region_name="us-east-1")


def ttl_status(client: Any, name: str) -> str:
    return client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"]


def test_setup_applies_ttl_to_tables_that_already_exist(raw_dynamodb):
    for logical_id, arguments in table_definitions().items():  # made by someone else, without TTL
        raw_dynamodb.create_table(TableName=f"pre-{logical_id}", **arguments)
    tables = create_tables(raw_dynamodb, "pre-")
    assert {ttl_status(raw_dynamodb, name) for name in tables.values()} == {"ENABLED"}
    assert create_tables(raw_dynamodb, "pre-") == tables  # and again: nothing to do, no error


class _WithoutTtl:
    """A DynamoDB that lacks the TTL operations (as dynalite does)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        if name in ("update_time_to_live", "describe_time_to_live"):

            def unknown(**_: Any) -> Any:
                error = {"Error": {"Code": "UnknownOperationException", "Message": ""}}
                raise ClientError(error, "UpdateTimeToLive")

            return unknown
        return getattr(self._client, name)


def test_a_dynamodb_without_ttl_gets_a_warning_line_not_a_crash(raw_dynamodb):
    lines: list[str] = []
    tables = create_tables(_WithoutTtl(raw_dynamodb), "nottl-", warn=lines.append)
    assert len(tables) == 6  # every table of the template, each with its warning
    assert len(lines) == 6
    assert all(line.startswith("warning:") and "TTL" in line and "\n" not in line for line in lines)


class _FailsOnSecondCreate(_WithoutTtl):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.created = 0

    def __getattr__(self, name: str) -> Any:
        if name == "create_table":

            def create_table(**kwargs: Any) -> Any:
                self.created += 1
                if self.created == 2:
                    raise ClientError(
                        {"Error": {"Code": "LimitExceededException", "Message": ""}}, "CreateTable"
                    )
                return self._client.create_table(**kwargs)

            return create_table
        return getattr(self._client, name)


def test_a_failed_setup_leaves_nothing_half_made(raw_dynamodb):
    before = set(raw_dynamodb.list_tables()["TableNames"])
    with pytest.raises(ClientError):
        create_tables(_FailsOnSecondCreate(raw_dynamodb), "half-")
    assert set(raw_dynamodb.list_tables()["TableNames"]) == before
