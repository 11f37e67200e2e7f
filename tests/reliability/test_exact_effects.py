"""Answers that say exactly what was done: disconnect with a fault after each of its steps, calls in
flight bounded per key by leases (429, including a Lambda killed mid-wait), a flooding connection
closed without further DynamoDB writes, and the edges of short waits.

The deployed handlers run in-process (the ``relay`` fixture) on the embedded DynamoDB, with faults
injected under botocore and a Management API faked at the same hook.
"""

import json
import time
from typing import Any

import pytest
from session_relay import settings
from session_relay.store.leases import Leases
from session_relay.websocket import floods
from support.clients import silent
from support.functions import LambdaContext

NEVER = {"success": True, "processed": False, "reason": "client never responded"}


def is_write(operation: str) -> bool:
    return operation in {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def writes(relay) -> int:
    return sum(count for operation, count in relay.faults.calls.items() if is_write(operation))


def listed(relay) -> set[str]:
    return {session["id"] for session in relay.request("GET", "/sessions").json()["sessions"]}


def status_of(relay, executor) -> int:
    return relay.request("GET", f"/sessions/{executor.session_id}").status_code


# ------------------------------------------------------------------------------------------------
# Disconnect: hide (batch write) -> disconnect frame -> close -> delete (batch write)
# ------------------------------------------------------------------------------------------------


def test_disconnect_when_hiding_fails_is_a_503_and_nothing_changed(relay):
    executor = relay.connect()
    relay.request("GET", "/sessions")  # the key is cached: the fault hits the disconnect itself
    relay.faults.fail("BatchWriteItem")
    answer = relay.request("POST", f"/sessions/{executor.session_id}/disconnect")
    assert answer.status_code == 503, answer.text
    relay.faults.heal()
    assert relay.management.closed == []
    assert executor.received_of_type("disconnect") == []
    assert status_of(relay, executor) == 200
    assert executor.session_id in listed(relay)


def test_disconnect_when_the_frame_fails_still_disconnects(relay):
    executor = relay.connect()
    relay.management.refused.add(("PostToConnection", executor.connection_id))
    assert relay.request("POST", f"/sessions/{executor.session_id}/disconnect").json() == {"success": True}
    assert relay.management.closed == [executor.connection_id]
    assert status_of(relay, executor) == 404


def test_disconnect_when_the_close_fails_is_a_503_and_the_session_stays(relay):
    executor = relay.connect()
    relay.management.refused.add(("DeleteConnection", executor.connection_id))
    answer = relay.request("POST", f"/sessions/{executor.session_id}/disconnect")
    assert answer.status_code == 503, answer.text
    assert relay.management.closed == []
    assert status_of(relay, executor) == 200  # un-hidden: it is still connected and still listed
    assert executor.session_id in listed(relay)
    assert relay.message(executor.session_id, data="still here").json()["response"] == "still here"


def test_disconnect_when_the_delete_fails_reports_it_done_and_it_is_gone(relay):
    executor = relay.connect()
    relay.request("GET", "/sessions")
    relay.faults.fail("BatchWriteItem", when=lambda request: b"DeleteRequest" in request.body)
    assert relay.request("POST", f"/sessions/{executor.session_id}/disconnect").json() == {"success": True}
    assert relay.faults.injected["BatchWriteItem"] > 0, "the delete step was never reached"
    relay.faults.heal()
    assert relay.management.closed == [executor.connection_id]
    assert status_of(relay, executor) == 404  # its record is still there, expired: read as gone
    assert executor.session_id not in listed(relay)
    assert relay.message(executor.session_id, data=1).status_code == 404
    relay.hang_up(executor)  # the close's $disconnect removes what the failed delete left
    assert relay.items("sessions") == []


@pytest.mark.parametrize("failing_step", ["frame", "close", "delete"])
def test_bulk_disconnect_with_a_fault_reports_exactly_the_sessions_disconnected(relay, failing_step):
    executors = [relay.connect() for _ in range(3)]
    relay.request("GET", "/sessions")
    victim = executors[1]
    if failing_step == "frame":
        relay.management.refused.add(("PostToConnection", victim.connection_id))
    elif failing_step == "close":
        relay.management.refused.add(("DeleteConnection", victim.connection_id))
    else:
        relay.faults.fail("BatchWriteItem", when=lambda request: b"DeleteRequest" in request.body)
    ids = [executor.session_id for executor in executors]
    answer = relay.request("POST", "/sessions/disconnect", {"session_ids": ids})
    assert answer.status_code == 200, answer.text
    relay.faults.heal()
    reported = answer.json()["disconnected"]
    expected = [sid for sid in ids if sid != victim.session_id] if failing_step == "close" else ids
    assert reported == expected
    for executor in executors:
        gone = executor.session_id in reported
        assert status_of(relay, executor) == (404 if gone else 200)
        assert (executor.connection_id in relay.management.closed) is gone
    assert listed(relay) == set(ids) - set(reported)


def test_bulk_disconnect_when_hiding_fails_is_a_503_and_nothing_changed(relay):
    executors = [relay.connect() for _ in range(2)]
    relay.request("GET", "/sessions")
    relay.faults.fail("BatchWriteItem")
    answer = relay.request("POST", "/sessions/disconnect", {"session_ids": [e.session_id for e in executors]})
    assert answer.status_code == 503
    relay.faults.heal()
    assert relay.management.closed == []
    assert listed(relay) == {e.session_id for e in executors}


# ------------------------------------------------------------------------------------------------
# Calls in flight per key: leases, 429, released on every way out, expired when a Lambda is killed
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def cap_of_two(relay, monkeypatch):
    monkeypatch.setenv("MAX_CALLS_IN_FLIGHT", "2")
    settings.get_settings.cache_clear()
    return 2


def lease_items(relay) -> list[dict[str, Any]]:
    return [item for item in relay.items("connections") if item["connection_id"]["S"].startswith("inflight#")]


def assert_no_lease_held(relay) -> None:
    """Every lease given back. The key's item stays, holding none, for DynamoDB's TTL to delete (a
    DeleteItem of its own would be a third write on every call)."""
    (item,) = lease_items(relay)
    assert item["held"] == {"N": "0"}
    assert not [name for name in item if name.startswith("lease_")]
    assert int(item["expires_at"]["N"]) > 0


def test_every_way_out_of_a_call_gives_its_lease_back(relay, cap_of_two):
    executor = relay.connect()
    relay.management.gone.add("no-such-connection")
    answers = [
        relay.message(executor.session_id, data=1).status_code,  # processed
        relay.message("unknown-session", data=1).status_code,  # 404 inside the lease
        relay.message(executor.session_id, data=1, timeout=0.001).status_code,  # nothing sent
        relay.request("POST", "/sessions/message", {"session_ids": ["x"], "key": "k"}).status_code,
        relay.request("POST", "/sessions/unknown/disconnect").status_code,
    ]
    relay.management.throttled = float("inf")
    answers.append(relay.message(executor.session_id, data=1).status_code)  # 503 inside the lease
    relay.management.throttled = 0
    assert answers == [200, 404, 200, 200, 404, 503]
    assert_no_lease_held(relay)
    for _ in range(3):  # still the full cap available
        assert relay.message(executor.session_id, data=2).json()["response"] == 2


def test_a_killed_lambdas_lease_expires_and_frees_its_slot(relay, cap_of_two, monkeypatch):
    executor = relay.connect(behaviour=silent)
    # Two invocations killed mid-wait: their ``finally`` never runs, so the leases are never given
    # back. Each expires at the latest instant its invocation could have run (its remaining time).
    monkeypatch.setattr(Leases, "release", lambda self, key_id, lease: None)
    for _ in range(2):
        context = LambdaContext(remaining_ms=2_500)
        assert relay.message(executor.session_id, data=1, timeout=0.2, context=context).json() == NEVER
    monkeypatch.undo()
    sent = len(executor.received_of_type("message"))
    refused = relay.message(executor.session_id, data=1)
    assert refused.status_code == 429, refused.text
    assert set(refused.json()) == {"success", "error"}
    assert "in flight" in refused.json()["error"]
    assert len(executor.received_of_type("message")) == sent  # nothing was sent
    time.sleep(3.6)  # past the killed invocations' remaining time plus a second
    assert relay.message(executor.session_id, data=1, timeout=0.2).json() == NEVER
    assert_no_lease_held(relay)


def hold_the_cap(relay, monkeypatch) -> Any:
    """A silent executor, and the cap of two held by two calls that never gave their lease back."""
    executor = relay.connect(behaviour=silent)
    monkeypatch.setattr(Leases, "release", lambda self, key_id, lease: None)
    for _ in range(2):
        relay.message(executor.session_id, data=1, timeout=0.05)
    monkeypatch.undo()
    return executor


def test_at_the_cap_bad_bodies_are_still_422_and_unknown_sessions_429(relay, cap_of_two, monkeypatch):
    executor = hold_the_cap(relay, monkeypatch)
    # route -> key -> body -> calls in flight -> session
    assert relay.request("POST", f"/sessions/{executor.session_id}/message", {"key": 5}).status_code == 422
    assert relay.request("POST", "/sessions/nope/message", {"key": "k"}).status_code == 429
    assert (
        relay.request("POST", "/sessions/nope/message", {"key": "k"}, api_key="sr_wrong").status_code == 401
    )


def test_429_carries_retry_after_in_seconds(relay, cap_of_two, monkeypatch):
    executor = hold_the_cap(relay, monkeypatch)
    answer = relay.message(executor.session_id, data=1)
    assert answer.status_code == 429
    retry_after = answer.headers["retry-after"]
    assert retry_after.isascii()
    assert retry_after.isdigit()
    assert int(retry_after) >= 1


# ------------------------------------------------------------------------------------------------
# A flooding connection: told, closed, and its later frames cost no DynamoDB write
# ------------------------------------------------------------------------------------------------


def test_a_flooding_connection_is_told_closed_and_costs_nothing_more(relay, function_handlers, monkeypatch):
    frozen = time.monotonic()
    kept = function_handlers["ws_default"].__globals__["kept"]  # what the function's environment keeps
    monkeypatch.setattr(kept.rate, "clock", lambda: frozen)  # no refill: the burst is all
    executor = relay.connect()
    for _ in range(floods.BURST):
        executor.send('{"action":"ping"}')
    assert executor.received_of_type("disconnect") == []
    assert len(executor.received_of_type("pong")) == floods.BURST  # the whole burst is served
    executor.send('{"action":"ping"}')
    assert executor.received_of_type("disconnect") == [{"type": "disconnect", "reason": "too many frames"}]
    assert relay.management.closed == [executor.connection_id]
    before = writes(relay), sum(relay.faults.calls.values())
    for _ in range(300):  # frames it had already sent, arriving after the close
        executor.send(json.dumps({"action": "reply", "id": "m1", "processed": True, "response": 1}))
        executor.send("not json")
    assert (writes(relay), sum(relay.faults.calls.values())) == before  # no write, not even a read
    assert len(executor.received_of_type("error")) == 0


def test_the_rate_leaves_room_for_twenty_frames_a_second(monkeypatch):
    now = [0.0]
    rate = floods.FrameRate(clock=lambda: now[0])
    for _ in range(60 * 20):  # a minute at 20 frames a second
        now[0] += 1 / 20
        assert rate.admit("steady") == floods.ADMIT
    assert floods.RATE >= 20


def test_another_connection_is_not_limited_by_a_flooding_one():
    rate = floods.FrameRate(clock=lambda: 0.0)
    for _ in range(floods.BURST):
        rate.admit("flooder")
    assert rate.admit("flooder") == floods.FLOOD
    assert rate.admit("flooder") == floods.CLOSED
    assert rate.admit("neighbour") == floods.ADMIT


# ------------------------------------------------------------------------------------------------
# Short waits: a message is sent only while a reply can still be recorded
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0.001, 0.0001, 0.009])
def test_a_wait_below_the_minimum_sends_nothing(relay, timeout):
    executor = relay.connect()
    assert relay.message(executor.session_id, data=1, timeout=timeout).json() == NEVER
    bulk = relay.message_many([executor.session_id], data=1, timeout=timeout).json()
    assert bulk["responses"] == [
        {"session_id": executor.session_id, "processed": False, "reason": "client never responded"}
    ]
    assert executor.received_of_type("message") == []
    assert relay.messages() == []
