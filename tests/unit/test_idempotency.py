"""Idempotency-Key on both message routes: a repeat sends nothing and gets the first answer; 409 while
the first call runs; 422 for another body; scoped to the API key; the header validated strictly."""

import asyncio
import threading
import time

import pytest


def message(client, owner, session_id, key, **body):
    return client.post(
        f"/sessions/{session_id}/message",
        headers={**owner.headers, "Idempotency-Key": key},
        json={"key": "k", **body},
    )


def bulk(client, owner, key, **body):
    return client.post(
        "/sessions/message", headers={**owner.headers, "Idempotency-Key": key}, json={"key": "k", **body}
    )


def messages_received(session):
    return [frame for frame in session.received if frame.get("type") == "message"]


def test_repeat_sends_nothing_and_gets_the_first_answer(client, owner, connect, gateway):
    session = connect(owner.script_id)

    first = message(client, owner, session.session_id, "order-1", data={"n": 1}, timeout=5)
    gateway.settle()
    repeat = message(client, owner, session.session_id, "order-1", data={"n": 1}, timeout=5)

    assert first.status_code == repeat.status_code == 200
    assert repeat.json() == first.json() == {"success": True, "processed": True, "response": {"n": 1}}
    gateway.settle()
    assert len(messages_received(session)) == 1


def test_repeat_with_the_body_in_another_key_order_is_the_same_body(client, owner, connect, gateway):
    session = connect(owner.script_id)
    path = f"/sessions/{session.session_id}/message"
    headers = {**owner.headers, "Idempotency-Key": "same"}

    first = client.post(path, headers=headers, content='{"key": "k", "data": [1], "timeout": 5}')
    repeat = client.post(path, headers=headers, content='{"timeout":5,"data":[1],"key":"k"}')

    assert repeat.json() == first.json()
    gateway.settle()
    assert len(messages_received(session)) == 1


def test_repeat_of_a_wait_false_call_gets_the_same_message_id(client, owner, connect, gateway):
    session = connect(owner.script_id)

    first = message(client, owner, session.session_id, "later-1", wait=False)
    repeat = message(client, owner, session.session_id, "later-1", wait=False)

    assert first.status_code == repeat.status_code == 202
    assert repeat.json() == first.json()
    gateway.settle()
    assert len(messages_received(session)) == 1


def test_bulk_repeat_sends_nothing_and_rebuilds_the_first_answer(client, owner, connect, gateway):
    answering, silent = connect(owner.script_id), connect(owner.script_id)
    silent.behaviour = lambda frame: None
    ids = [silent.session_id, "unknown-id", answering.session_id]

    first = bulk(client, owner, "bulk-1", session_ids=ids, data=3, timeout=2)
    repeat = bulk(client, owner, "bulk-1", session_ids=ids, data=3, timeout=2)

    assert first.status_code == repeat.status_code == 200
    assert repeat.json() == first.json()
    assert [entry.get("response", entry.get("reason")) for entry in first.json()["responses"]] == [
        "client never responded",
        "session not found",
        3,
    ]
    gateway.settle()
    assert len(messages_received(answering)) == len(messages_received(silent)) == 1


def test_bulk_repeat_by_filter_gets_the_same_page(client, owner, connect, gateway):
    sessions = [connect(owner.script_id, job_id="idem") for _ in range(3)]

    first = bulk(client, owner, "page-1", filter={"job_id": "idem"}, limit=2, timeout=5)
    repeat = bulk(client, owner, "page-1", filter={"job_id": "idem"}, limit=2, timeout=5)

    assert repeat.json() == first.json()
    assert first.json()["matched"] == 2
    gateway.settle()
    assert sum(len(messages_received(s)) for s in sessions) == 2


def test_same_key_with_another_body_is_422_and_sends_nothing(client, owner, connect, gateway, failure):
    session = connect(owner.script_id)
    message(client, owner, session.session_id, "reused", data=1, timeout=5)

    error = failure(message(client, owner, session.session_id, "reused", data=2, timeout=5), 422)

    assert error.startswith("Idempotency-Key:")
    other = connect(owner.script_id)
    failure(message(client, owner, other.session_id, "reused", data=1, timeout=5), 422)  # another route
    gateway.settle()
    assert len(messages_received(session)) == 1
    assert messages_received(other) == []


def test_while_the_first_call_runs_a_repeat_is_409(client, owner, connect, gateway, failure):
    session = connect(owner.script_id)
    release = threading.Event()
    session.behaviour = lambda frame: (release.wait(10), {"processed": True, "response": "done"})[1]
    answers = {}

    def first_call() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())  # Mangum runs the app on this thread's loop
        answers["first"] = message(client, owner, session.session_id, "slow", timeout=10)

    runner = threading.Thread(target=first_call)
    runner.start()
    deadline = time.monotonic() + 5
    while not messages_received(session) and time.monotonic() < deadline:
        time.sleep(0.01)

    error = failure(message(client, owner, session.session_id, "slow", timeout=10), 409)

    release.set()
    runner.join(15)
    assert "still running" in error
    assert answers["first"].json() == {"success": True, "processed": True, "response": "done"}
    assert message(client, owner, session.session_id, "slow", timeout=10).json() == answers["first"].json()
    gateway.settle()
    assert len(messages_received(session)) == 1


def test_keys_are_scoped_to_the_api_key(client, owner, connect, make_owner, gateway):
    other = make_owner(owner.script_id)
    session = connect(owner.script_id)

    message(client, owner, session.session_id, "shared", timeout=5)
    message(client, other, session.session_id, "shared", timeout=5)

    gateway.settle()
    assert len(messages_received(session)) == 2


def test_a_refused_first_call_keeps_the_key_free(client, owner, connect, gateway, failure):
    failure(message(client, owner, "not-yet", "retry-me", timeout=5), 404)
    session = connect(owner.script_id)

    answer = message(client, owner, session.session_id, "retry-me", timeout=5)

    assert answer.status_code == 200


@pytest.mark.parametrize("value", ["", " ", "a b", "x" * 129, "é", "tab\tbed"])
def test_bad_idempotency_key_is_422_and_sends_nothing(client, owner, connect, gateway, failure, value):
    session = connect(owner.script_id)

    for answer in (
        message(client, owner, session.session_id, value, timeout=5),
        bulk(client, owner, value, session_ids=[session.session_id], timeout=5),
    ):
        assert failure(answer, 422).startswith("Idempotency-Key:")
    assert session.received == []


def test_longest_key_of_visible_ascii_is_accepted(client, owner, connect):
    session = connect(owner.script_id)
    key = "".join(chr(33 + i % 94) for i in range(128))

    assert message(client, owner, session.session_id, key, timeout=5).status_code == 200
