"""Over real sockets: bulk calls by filter, messages answered later (wait:false, GET /messages and
/batches), and Idempotency-Key retries that never run a function twice."""

import threading
import time

import pytest
from session_relay_client import admin

from session_relay_tools.simulate import identity_for

NEVER = "client never responded"


def frames_of(client, frame_type="message"):
    return [frame for frame in client.received if frame.get("type") == frame_type]


@pytest.fixture
def other_key(local_stack):
    """A second API key for the same development script (made the way an operator does)."""
    relay_store = admin.open_store(admin.Target(endpoint=local_stack.dynamodb_endpoint, region="us-east-1"))
    issued = admin.create_key(relay_store, [local_stack.script_id], name="second key")
    with local_stack.client(issued.api_key) as client:
        yield client


# ------------------------------------------------------------------------------------------------
# filter
# ------------------------------------------------------------------------------------------------


def test_filter_pages_cover_every_session_once_while_sessions_come_and_go(api, fleet, connect, place_id):
    sessions = connect(6)
    seen, cursor, joined = [], None, []
    for page in range(10):
        body = {"filter": {"place_id": place_id}, "limit": 2, "key": "echo", "data": page, "timeout": 10}
        if cursor:
            body["cursor"] = cursor
        answer = api.post("/sessions/message", json=body)
        assert answer.status_code == 200, answer.text
        seen.extend(entry["session_id"] for entry in answer.json()["responses"])
        assert all(entry["processed"] for entry in answer.json()["responses"])
        if page == 0:  # a newer session joins, an older one not yet messaged leaves
            joined = fleet.connect(1, identity=identity_for(fleet.script_id, 99, place_id=place_id))
            fleet.close(sessions[0])
            time.sleep(0.3)  # its $disconnect has run
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    staying = {client.session_id for client in sessions[1:]}
    assert len(seen) == len(set(seen))
    assert set(seen) == staying
    assert frames_of(joined[0]) == []
    assert all(len(frames_of(client)) == 1 for client in sessions[1:])


def test_disconnect_by_filter_closes_the_matching_sessions(api, connect, place_id):
    clients = connect(3)

    answer = api.post("/sessions/disconnect", json={"filter": {"place_id": place_id}})

    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()["disconnected"]) == sorted(c.session_id for c in clients)
    assert answer.json()["matched"] == 3
    listed = api.get("/sessions", params={"place_id": str(place_id)}).json()["sessions"]
    assert listed == []


def test_filter_with_session_ids_is_422(api, connect):
    (client,) = connect(1)
    answer = api.post(
        "/sessions/message", json={"filter": {}, "session_ids": [client.session_id], "key": "echo"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"].startswith("filter:")
    assert frames_of(client) == []


# ------------------------------------------------------------------------------------------------
# messages answered later
# ------------------------------------------------------------------------------------------------


def test_long_poll_returns_as_soon_as_the_reply_lands(api, connect):
    (client,) = connect(1)
    sent = api.post(f"/sessions/{client.session_id}/message", json={"key": "sleep", "data": 1, "wait": False})
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]

    started = time.monotonic()
    answer = api.get(f"/messages/{message_id}", params={"wait": "20"})

    assert answer.status_code == 200
    assert answer.json() == {"success": True, "done": True, "processed": True, "response": 1}
    assert time.monotonic() - started < 10  # held until the reply, not for the whole 20 s


def test_outcome_read_after_the_deadline_is_client_never_responded(api, connect):
    (client,) = connect(1)
    sent = api.post(
        f"/sessions/{client.session_id}/message",
        json={"key": "sleep", "data": 3, "wait": False, "timeout": 1},
    )
    message_id = sent.json()["message_id"]
    time.sleep(1.5)

    answer = api.get(f"/messages/{message_id}").json()

    assert answer == {"success": True, "done": True, "processed": False, "reason": NEVER}
    time.sleep(2)  # the client's late reply is refused; the outcome stays
    assert api.get(f"/messages/{message_id}").json() == answer
    assert frames_of(client, "error")


def test_batch_with_unknown_ids_answers_in_request_order(api, connect):
    fast, slow = connect(2)
    order = [slow.session_id, "no-such-session", fast.session_id]
    body = {"session_ids": order, "key": "sleep", "data": 0.5, "wait": False, "timeout": 10}
    sent = api.post("/sessions/message", json=body)
    assert sent.status_code == 202, sent.text

    answer = api.get(f"/batches/{sent.json()['batch_id']}", params={"wait": "20"}).json()

    assert answer == {
        "success": True,
        "done": True,
        "responses": [
            {"session_id": slow.session_id, "processed": True, "response": 0.5},
            {"session_id": "no-such-session", "processed": False, "reason": "session not found"},
            {"session_id": fast.session_id, "processed": True, "response": 0.5},
        ],
    }


def test_another_key_reading_a_message_or_batch_gets_404_as_for_an_unknown_id(api, connect, other_key):
    (client,) = connect(1)
    message_id = api.post(
        f"/sessions/{client.session_id}/message", json={"key": "echo", "wait": False}
    ).json()["message_id"]
    batch_id = api.post(
        "/sessions/message", json={"session_ids": [client.session_id], "key": "echo", "wait": False}
    ).json()["batch_id"]

    for path, unknown in (
        (f"/messages/{message_id}", "/messages/unknown"),
        (f"/batches/{batch_id}", "/batches/unknown"),
    ):
        theirs = other_key.get(path)
        assert theirs.status_code == 404
        assert theirs.content == api.get(unknown).content
        assert api.get(path, params={"wait": "5"}).json()["done"] is True


# ------------------------------------------------------------------------------------------------
# Idempotency-Key
# ------------------------------------------------------------------------------------------------


def test_idempotent_repeat_sends_nothing(api, connect):
    (client,) = connect(1)
    headers = {"Idempotency-Key": "e2e-repeat"}
    body = {"key": "echo", "data": {"order": 7}}

    first = api.post(f"/sessions/{client.session_id}/message", json=body, headers=headers)
    repeat = api.post(f"/sessions/{client.session_id}/message", json=body, headers=headers)

    assert first.status_code == repeat.status_code == 200
    assert repeat.json() == first.json() == {"success": True, "processed": True, "response": {"order": 7}}
    time.sleep(0.3)
    assert len(frames_of(client)) == 1


def test_idempotent_bulk_repeat_sends_nothing(api, connect, place_id):
    clients = connect(2)
    headers = {"Idempotency-Key": f"e2e-bulk-{place_id}"}
    body = {"filter": {"place_id": place_id}, "key": "echo", "data": 1, "timeout": 10}

    first = api.post("/sessions/message", json=body, headers=headers)
    repeat = api.post("/sessions/message", json=body, headers=headers)

    assert repeat.json() == first.json()
    assert [entry["response"] for entry in first.json()["responses"]] == [1, 1]
    time.sleep(0.3)
    assert [len(frames_of(client)) for client in clients] == [1, 1]


def test_repeat_while_the_first_runs_is_409_and_another_body_is_422(local_stack, api, connect):
    (client,) = connect(1)
    headers = {"Idempotency-Key": "e2e-running"}
    path = f"/sessions/{client.session_id}/message"
    first: dict = {}

    def run_first() -> None:
        with local_stack.client() as own:
            first["answer"] = own.post(path, json={"key": "sleep", "data": 2}, headers=headers)

    runner = threading.Thread(target=run_first)
    runner.start()
    deadline = time.monotonic() + 10
    while not frames_of(client) and time.monotonic() < deadline:
        time.sleep(0.02)

    running = api.post(path, json={"key": "sleep", "data": 2}, headers=headers)
    other_body = api.post(path, json={"key": "sleep", "data": 3}, headers=headers)
    runner.join(30)

    assert running.status_code == 409, running.text
    assert other_body.status_code == 422
    assert other_body.json()["error"].startswith("Idempotency-Key:")
    assert first["answer"].json() == {"success": True, "processed": True, "response": 2}
    assert len(frames_of(client)) == 1
