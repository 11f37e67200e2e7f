"""Faults: DynamoDB throttling and errors, dead connections, a throttled Management API, a Lambda
running out of time, duplicate and late replies, and the local stack killed and restarted.

Most tests run the deployed handlers in-process (the ``relay`` fixture): faults are injected under
botocore, so its standard-mode retries, the store's own ``UnprocessedKeys`` retries and the
gateway's retries all run as in production. The last test kills a real local stack.
"""

import contextlib
import json
import signal
import threading
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from session_relay.service import deadlines
from support.clients import silent
from support.events import connect_event
from support.functions import LambdaContext
from websockets.sync.client import connect

from session_relay_tools.local.dynamodb import EmbeddedDynamoDB
from session_relay_tools.local.process import free_port, start_stack, stop_stack
from session_relay_tools.simulate import Fleet, RawClient, raw_identity

from .conftest import scan_table

NEVER = {"success": True, "processed": False, "reason": "client never responded"}


def attempts(client: Any) -> int:
    """How many times botocore's standard mode (session_relay.aws) tries one call of this client."""
    return client.meta.config.retries["total_max_attempts"]


def processed(response: Any) -> dict[str, Any]:
    return {"success": True, "processed": True, "response": response}


def assert_unavailable(answer: Any) -> None:
    """The contract's 503: one clear sentence, nothing else."""
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["success"] is False
    assert set(body) == {"success", "error"}
    assert "unavailable" in body["error"]
    assert "Traceback" not in body["error"]


# ------------------------------------------------------------------------------------------------
# DynamoDB: transient failures are retried (botocore standard mode) and the answer is still right
# ------------------------------------------------------------------------------------------------

ROUTES = {
    # route: the DynamoDB operations it depends on
    "message": ["GetItem", "PutItem", "UpdateItem"],
    "bulk message": ["BatchGetItem", "BatchWriteItem", "UpdateItem"],
    "list": ["Query", "GetItem"],
    "connect": ["GetItem", "BatchWriteItem"],
    "hang up": ["Query", "BatchWriteItem"],
}
CASES = [
    (route, operation, code)
    for route, operations in ROUTES.items()
    for operation in operations
    for code in ("ProvisionedThroughputExceededException", "InternalServerError")
]


def exercise(relay, route: str, executor) -> None:
    """Run one route and check its answer is exactly right."""
    if route == "message":
        assert relay.message(executor.session_id, data={"n": 1}).json() == processed({"n": 1})
    elif route == "bulk message":
        answer = relay.message_many([executor.session_id, "unknown"], data="hi").json()
        assert answer["responses"] == [
            {"session_id": executor.session_id, "processed": True, "response": "hi"},
            {"session_id": "unknown", "processed": False, "reason": "session not found"},
        ]
    elif route == "list":
        answer = relay.request("GET", "/sessions")
        assert [s["id"] for s in answer.json()["sessions"]] == [executor.session_id]
    elif route == "connect":
        second = relay.connect()
        assert relay.store.sessions.get(second.session_id) is not None
    elif route == "hang up":
        relay.hang_up(executor)
        assert relay.items("sessions") == []
        assert relay.leftovers() == []


@pytest.mark.parametrize(("route", "operation", "code"), CASES)
def test_transient_dynamodb_errors_are_retried_and_the_answer_is_right(
    relay, backoff, route, operation, code
):
    executor = relay.connect()
    relay.faults.fail(operation, code, times=3)
    exercise(relay, route, executor)
    relay.management.settle()
    assert relay.faults.injected[operation] == 3, "the route never reached the failing operation"
    # Retried by botocore, with growing delays (jitter pinned at its maximum by the fixture).
    assert len(backoff.delays) >= 3
    assert backoff.delays[:3] == sorted(backoff.delays[:3])
    assert backoff.delays[2] > backoff.delays[0] > 0
    assert relay.pending_messages() == []


def test_unprocessed_keys_are_retried_by_the_store(relay, monkeypatch):
    """BatchGetItem may answer part of a batch (UnprocessedKeys): the store asks again for the rest."""
    executors = [relay.connect() for _ in range(3)]
    client = relay.store.client
    original = client.batch_get_item
    calls = []

    def partial(**kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        answer = original(**kwargs)
        if len(calls) <= 2:  # hold back all but one item, twice
            ((table, items),) = answer["Responses"].items()
            if len(items) > 1:
                keys = kwargs["RequestItems"][table]["Keys"]
                kept = items[:1]
                kept_keys = [{name: item[name] for name in keys[0]} for item in kept]
                answer["Responses"][table] = kept
                answer["UnprocessedKeys"] = {
                    table: {"Keys": [key for key in keys if key not in kept_keys], "ConsistentRead": True}
                }
        return answer

    monkeypatch.setattr(client, "batch_get_item", partial)
    ids = [executor.session_id for executor in executors]
    answer = relay.message_many(ids, data="all").json()
    assert [entry["response"] for entry in answer["responses"]] == ["all", "all", "all"]
    assert len(calls) >= 3


def test_unprocessed_items_are_retried_by_the_store(relay, monkeypatch):
    executor = relay.connect()
    client = relay.store.client
    original = client.batch_write_item
    calls = []

    def partial(**kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        if len(calls) == 1:  # the first batch is answered "not done", untouched
            return {"UnprocessedItems": kwargs["RequestItems"]}
        return original(**kwargs)

    monkeypatch.setattr(client, "batch_write_item", partial)
    relay.hang_up(executor)
    assert len(calls) == 2
    assert relay.items("sessions") == []


def test_unprocessed_keys_that_never_clear_are_a_503(relay, monkeypatch):
    executor = relay.connect()
    client = relay.store.client
    monkeypatch.setattr(
        client,
        "batch_get_item",
        lambda **kwargs: {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]},
    )
    monkeypatch.setattr("session_relay.store.table.backoff", lambda attempt: None)
    assert_unavailable(relay.message_many([executor.session_id], data=1))
    assert executor.received == []
    assert relay.messages() == []


# ------------------------------------------------------------------------------------------------
# DynamoDB: when retries are exhausted, a clear 503 and nothing changed
# ------------------------------------------------------------------------------------------------


def test_message_when_the_pending_write_keeps_failing_is_a_503_and_nothing_is_sent(relay):
    executor = relay.connect()
    relay.faults.fail("PutItem")
    assert_unavailable(relay.message(executor.session_id, data=1))
    assert relay.faults.injected["PutItem"] == attempts(relay.store.client)
    assert executor.received == []
    assert relay.messages() == []


def test_message_when_the_session_lookup_keeps_failing_is_a_503_and_nothing_is_sent(relay):
    executor = relay.connect()
    relay.request("GET", "/sessions")  # authenticates once: the key is cached, the session is not
    relay.faults.fail("GetItem")
    assert_unavailable(relay.message(executor.session_id, data=1))
    assert executor.received == []
    assert relay.messages() == []


def test_bulk_message_when_writes_keep_failing_is_a_503_and_nothing_is_sent(relay):
    executors = [relay.connect() for _ in range(2)]
    relay.faults.fail("BatchWriteItem")
    assert_unavailable(relay.message_many([e.session_id for e in executors], data=1))
    assert all(e.received == [] for e in executors)
    assert relay.messages() == []


def test_an_outage_is_never_reported_as_a_bad_api_key(relay):
    relay.faults.fail("GetItem")
    assert_unavailable(relay.request("GET", "/sessions"))


def test_listing_when_queries_keep_failing_is_a_503(relay):
    relay.connect()
    relay.request("GET", "/sessions")
    relay.faults.fail("Query", "InternalServerError")
    assert_unavailable(relay.request("GET", "/sessions"))


def test_handshake_when_dynamodb_keeps_failing_is_refused_cleanly_and_creates_nothing(relay):
    relay.faults.fail("BatchGetItem")  # the script and both possible bans, in one request
    identity = {"user_key": "u", "roblox_id": "1", "place_id": "2", "job_id": "j"}
    event = connect_event("c0nn3ct10nX=", relay.script_id, **identity)
    answer = relay.handlers["ws_connect"](event, LambdaContext(function_name="ws_connect"))
    assert answer["statusCode"] == 503
    relay.faults.heal()
    assert relay.items("sessions") == []


def test_a_frame_when_dynamodb_keeps_failing_is_answered_with_an_error_frame(relay):
    executor = relay.connect(behaviour=silent)
    relay.faults.fail("GetItem")
    relay.faults.fail("UpdateItem")
    for frame in ({"action": "hello"}, {"action": "reply", "id": "m1", "processed": True, "response": 1}):
        before = len(executor.received)
        answer = executor.send(json.dumps(frame))
        assert answer["statusCode"] == 200
        (error,) = executor.received[before:]  # exactly one frame back, and it says why
        assert error["type"] == "error"
        assert "unavailable" in error["error"]


def test_a_poll_that_fails_mid_wait_does_not_lose_the_reply(relay):
    """The message is out: a read failing for a while (past botocore's retries) must not turn into
    a 503 that drops the client's answer and leaves the message pending."""
    executor = relay.connect()
    executor.delay_s = 0.3
    polls = relay.faults.fail(
        "GetItem", times=attempts(relay.store.client), when=lambda request: b"message#" in request.body
    )
    assert relay.message(executor.session_id, data="kept").json() == processed("kept")
    assert polls.remaining == 0
    assert relay.pending_messages() == []


def test_a_bulk_poll_that_fails_mid_wait_does_not_lose_the_replies(relay):
    executors = [relay.connect() for _ in range(2)]
    for executor in executors:
        executor.delay_s = 0.3
    # A bulk call's polls read the answered index (a Query of what was answered since the last round).
    polls = relay.faults.fail(
        "Query", times=attempts(relay.store.client), when=lambda request: b'"answered"' in request.body
    )
    answer = relay.message_many([e.session_id for e in executors], data="kept").json()
    assert [entry.get("response") for entry in answer["responses"]] == ["kept", "kept"]
    assert polls.remaining == 0
    assert relay.pending_messages() == []


# ------------------------------------------------------------------------------------------------
# The Management API: dead connections (410) and throttling (LimitExceededException)
# ------------------------------------------------------------------------------------------------


def test_a_connection_that_died_without_disconnect_is_answered_at_once_and_removed(relay):
    executor = relay.connect()
    relay.management.gone.add(executor.connection_id)  # no $disconnect ever came
    started = time.monotonic()
    assert relay.message(executor.session_id, data=1).json() == NEVER
    assert time.monotonic() - started < 10  # at once, not after the 60 s wait
    assert relay.request("GET", f"/sessions/{executor.session_id}").status_code == 404
    assert relay.items("sessions") == []
    assert relay.leftovers() == []


def test_bulk_to_dead_and_live_connections_answers_each_and_removes_the_dead(relay):
    dead, alive = relay.connect(), relay.connect()
    relay.management.gone.add(dead.connection_id)
    answer = relay.message_many([dead.session_id, alive.session_id], data="x").json()
    assert answer["responses"] == [
        {"session_id": dead.session_id, "processed": False, "reason": "client never responded"},
        {"session_id": alive.session_id, "processed": True, "response": "x"},
    ]
    assert relay.store.sessions.get(dead.session_id) is None
    assert relay.store.sessions.get(alive.session_id) is not None
    assert relay.pending_messages() == []


def test_disconnecting_a_dead_connection_removes_it(relay):
    executor = relay.connect()
    relay.management.gone.add(executor.connection_id)
    assert relay.request("POST", f"/sessions/{executor.session_id}/disconnect").json() == {"success": True}
    assert relay.items("sessions") == []


def test_a_throttled_management_api_is_retried_and_the_message_goes_through(relay, backoff):
    executor = relay.connect()
    botocore_attempts = attempts(relay.management_client)
    assert botocore_attempts == 1  # botocore leaves every retry to the gateway (session_relay.aws)
    relay.management.throttled = 2
    assert relay.message(executor.session_id, data="through").json() == processed("through")
    assert relay.management.calls["PostToConnection"] == 3
    assert not backoff.delays  # the gateway backed off between attempts, not botocore
    assert relay.pending_messages() == []


def test_a_management_api_that_stays_throttled_is_a_503_with_nothing_left_pending(relay):
    executor = relay.connect()
    relay.management.throttled = float("inf")
    # Retried until the call's deadline (2 s from now), then given up: 503, nothing changed.
    assert_unavailable(relay.message(executor.session_id, data=1, timeout=2))
    assert relay.management.calls["PostToConnection"] > attempts(relay.management_client)
    assert relay.messages() == []
    assert relay.store.sessions.get(executor.session_id) is not None  # throttled is not dead


def test_bulk_to_a_management_api_that_stays_throttled_answers_each_entry(relay):
    executors = [relay.connect() for _ in range(3)]
    relay.management.throttled = float("inf")
    answer = relay.message_many([e.session_id for e in executors], data=1, timeout=2)  # retried until then
    assert answer.status_code == 200
    assert [entry["reason"] for entry in answer.json()["responses"]] == ["client never responded"] * 3
    assert relay.messages() == []
    assert all(relay.store.sessions.get(e.session_id) is not None for e in executors)


def test_throttling_cannot_hold_a_message_call_past_the_lambdas_time(relay, backoff, monkeypatch):
    """The time a throttled post may spend backing off (botocore's delays plus the gateway's own)
    must fit the time the Lambda has left; otherwise the caller gets a 504 and the message sticks."""
    slept: list[float] = []
    monkeypatch.setattr("session_relay.gateway.time.sleep", slept.append)
    executor = relay.connect()
    relay.management.throttled = float("inf")
    context = LambdaContext(remaining_ms=20_000)
    assert_unavailable(relay.message(executor.session_id, data=1, context=context))
    planned_s = sum(backoff.delays) + sum(slept)
    assert planned_s < 20, f"a throttled post may back off for {planned_s:.1f} s"


# ------------------------------------------------------------------------------------------------
# A Lambda nearly out of time answers before it is stopped
# ------------------------------------------------------------------------------------------------


def test_a_lambda_nearly_out_of_time_answers_before_it_is_stopped(relay):
    executor = relay.connect(behaviour=silent)
    context = LambdaContext(remaining_ms=2_500)
    answer = relay.message(executor.session_id, data=1, timeout=60, context=context)
    assert answer.json() == NEVER
    assert context.get_remaining_time_in_millis() > 0, "answered after the Lambda would have been stopped"
    assert relay.pending_messages() == []


def test_a_bulk_call_nearly_out_of_time_answers_before_it_is_stopped(relay):
    executors = [relay.connect(behaviour=silent), relay.connect()]
    context = LambdaContext(remaining_ms=2_500)
    answer = relay.message_many([e.session_id for e in executors], data=1, timeout=60, context=context)
    assert [entry["processed"] for entry in answer.json()["responses"]] == [False, True]
    assert context.get_remaining_time_in_millis() > 0
    assert relay.pending_messages() == []


def test_a_lambda_with_less_than_the_margin_left_answers_at_once(relay):
    executor = relay.connect(behaviour=silent)
    context = LambdaContext(remaining_ms=int(deadlines.LAMBDA_MARGIN_S * 1000) - 200)
    assert relay.message(executor.session_id, data=1, context=context).json() == NEVER
    assert context.get_remaining_time_in_millis() > 0
    assert executor.received == []  # no time to wait for a reply: nothing was sent
    assert relay.messages() == []


# ------------------------------------------------------------------------------------------------
# Duplicate, late and racing replies
# ------------------------------------------------------------------------------------------------


def test_the_first_reply_wins_and_a_duplicate_changes_nothing(relay):
    def twice(frame: dict[str, Any]) -> None:
        executor.reply(frame["id"], processed=True, response="first")
        executor.reply(frame["id"], processed=True, response="second")

    executor = relay.connect(behaviour=twice)
    assert relay.message(executor.session_id, data=1).json() == processed("first")
    relay.management.settle()
    (error,) = executor.received_of_type("error")
    assert "ignored" in error["error"]
    (stored,) = relay.messages()
    assert json.loads(stored["reply"]["S"]) == {"processed": True, "response": "first"}


def test_a_late_reply_is_refused_and_changes_nothing(relay):
    executor = relay.connect(behaviour=silent)
    assert relay.message(executor.session_id, data=1, timeout=0.2).json() == NEVER
    (frame,) = executor.received_of_type("message")
    executor.reply(frame["id"], processed=True, response="too late")
    assert "ignored" in executor.received_of_type("error")[0]["error"]
    assert relay.messages() == []


def test_a_reply_racing_the_deadline_is_either_delivered_or_refused_never_lost(relay):
    """Replies land around the deadline: each is either the caller's answer, or refused with an
    error frame to the client. None is accepted and then lost."""
    executor = relay.connect()
    for attempt in range(8):
        executor.delay_s = 0.25 + 0.02 * (attempt - 4)  # the executor answers on its own thread
        before = len(executor.received_of_type("error"))
        got = relay.message(executor.session_id, data=attempt, timeout=0.25).json()
        relay.management.settle()
        refused = len(executor.received_of_type("error")) - before
        if got == processed(attempt):
            assert refused == 0
        else:
            assert got == NEVER
            assert refused == 1, "the reply was accepted but the caller was told it never came"
    assert relay.pending_messages() == []


def test_a_client_leaving_while_a_caller_waits_is_answered_at_once(relay):
    executor = relay.connect(behaviour=silent)
    threading.Timer(0.3, relay.hang_up, args=(executor,)).start()
    started = time.monotonic()
    assert relay.message(executor.session_id, data=1, timeout=30).json() == NEVER
    assert time.monotonic() - started < 15  # long before the 30 s timeout
    assert relay.leftovers() == []


# ------------------------------------------------------------------------------------------------
# The local stack killed (SIGKILL) and restarted on a DynamoDB that outlives it
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def persistent_dynamodb():
    database = EmbeddedDynamoDB("127.0.0.1", free_port())
    database.start()
    yield f"http://127.0.0.1:{database.port}"
    database.stop()


def _table_state(stack) -> dict[str, int]:
    connections = scan_table(stack, "ConnectionsTable")
    return {
        "sessions": len(scan_table(stack, "SessionsTable")),
        "mappings": sum(1 for item in connections if item["item"]["S"] == "session"),
        "pending": sum(1 for item in connections if item.get("status", {}).get("S") == "pending"),
    }


def test_a_killed_stack_leaves_no_live_sessions_or_pending_messages_after_restart(persistent_dynamodb):
    environment = {"SESSION_RELAY_DYNAMODB_ENDPOINT": persistent_dynamodb}
    first = start_stack(environment)
    with contextlib.ExitStack() as sockets:
        # Clients that never answer, so messages stay pending until the stack dies.
        query = urlencode(raw_identity(first.script_id))
        clients = [
            RawClient(sockets.enter_context(connect(f"{first.ws_url}/?{query}", open_timeout=10)))
            for _ in range(3)
        ]
        old_ids = [client.hello()["id"] for client in clients]
        outcomes: dict[str, Any] = {}

        def wait_for(name: str, path: str, body: dict[str, Any]) -> None:
            try:
                with first.client() as api:
                    outcomes[name] = api.post(path, json=body)
            except httpx.HTTPError as exc:
                outcomes[name] = exc

        callers = [
            threading.Thread(
                target=wait_for,
                args=("single", f"/sessions/{old_ids[0]}/message", {"key": "echo", "timeout": 40}),
            ),
            threading.Thread(
                target=wait_for,
                args=("bulk", "/sessions/message", {"session_ids": old_ids, "key": "echo", "timeout": 40}),
            ),
        ]
        try:
            for caller in callers:
                caller.start()
            deadline = time.monotonic() + 20
            while _table_state(first)["pending"] < 4:  # 1 single + 3 bulk messages out and waiting
                assert time.monotonic() < deadline, _table_state(first)
                time.sleep(0.1)
            first.process.send_signal(signal.SIGKILL)  # no $disconnect, no answer: all dies at once
            first.process.wait(10)
            for caller in callers:
                caller.join(20)
        finally:
            stop_stack(first)
        # A caller whose server died gets a failed request, never an invented answer.
        assert set(outcomes) == {"single", "bulk"}
        assert all(isinstance(outcome, httpx.HTTPError) for outcome in outcomes.values()), outcomes
        assert _table_state(first) == {"sessions": 3, "mappings": 3, "pending": 4}

    second = start_stack(
        {
            **environment,
            "SESSION_RELAY_DEV_SCRIPT_ID": first.script_id,
            "SESSION_RELAY_DEV_API_KEY": first.api_key,
        }
    )
    try:
        assert _table_state(second) == {"sessions": 0, "mappings": 0, "pending": 0}
        with second.client() as api:
            assert api.get("/sessions").json()["sessions"] == []
            for session_id in old_ids:
                assert api.get(f"/sessions/{session_id}").status_code == 404
                assert api.post(f"/sessions/{session_id}/message", json={"key": "echo"}).status_code == 404
            bulk = api.post("/sessions/message", json={"session_ids": old_ids, "key": "echo"}).json()
            assert [entry["reason"] for entry in bulk["responses"]] == ["session not found"] * 3
            gone = api.post("/sessions/disconnect", json={"session_ids": old_ids}).json()
            assert gone == {"success": True, "disconnected": []}
            # The restarted stack serves new sessions as usual.
            fresh = Fleet(second.ws_url, second.script_id)
            try:
                (client,) = fresh.connect(1)
                answer = api.post(f"/sessions/{client.session_id}/message", json={"key": "echo", "data": 7})
                assert answer.json() == processed(7)
                assert [s["id"] for s in api.get("/sessions").json()["sessions"]] == [client.session_id]
            finally:
                fresh.stop()
    finally:
        stop_stack(second)
