"""The WebSocket wire protocol with hand-made frames: errors, forged and malformed replies."""

import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed


def test_hello_returns_the_session(raw_client, local_stack):
    session = raw_client(user_key="hello-user").hello()
    assert session["user_key"] == "hello-user"
    assert session["script_id"] == local_stack.script_id


def test_ping_is_answered_with_pong_by_the_gateway_alone(api, raw_client):
    # The template's ping route is a MOCK integration: the gateway answers, no function runs, so
    # nothing is written and last_seen_at keeps the time of the last frame a function saw.
    client = raw_client()
    session = client.hello()
    time.sleep(0.05)
    client.send({"action": "ping"})
    assert client.receive() == {"type": "pong"}
    assert api.get(f"/sessions/{session['id']}").json()["session"] == session


@pytest.mark.parametrize(
    "frame", ["not json", "[1,2]", '{"action":"dance"}', '{"no":"action"}', "NaN", '{"action":"reply"}']
)
def test_bad_frames_get_an_error_frame_and_the_connection_stays(raw_client, frame):
    client = raw_client()
    client.hello()
    client.send(frame)
    error = client.receive()
    assert error["type"] == "error"
    assert isinstance(error["error"], str)
    assert error["error"]
    client.send({"action": "ping"})
    assert client.receive() == {"type": "pong"}


def test_frame_over_32kb_closes_the_connection_with_1009(raw_client):
    client = raw_client()
    client.hello()
    client.send({"action": "ping", "pad": "x" * 33_000})
    with pytest.raises(ConnectionClosed) as closed:
        client.receive(timeout=5)
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009 or closed.value.sent.code == 1009


def _message_in_background(api, session_id, results, **body):
    def call():
        results["answer"] = api.post(f"/sessions/{session_id}/message", json={"key": "k", **body}).json()

    thread = threading.Thread(target=call)
    thread.start()
    return thread


def test_forged_reply_from_another_connection_is_ignored(api, raw_client):
    target, forger = raw_client(), raw_client()
    session = target.hello()
    forger.hello()
    results = {}
    caller = _message_in_background(api, session["id"], results, timeout=3)
    frame = target.receive_type("message")
    forger.send({"action": "reply", "id": frame["id"], "processed": True, "response": "forged"})
    assert forger.receive()["type"] == "error"
    target.send({"action": "reply", "id": frame["id"], "processed": True, "response": "genuine"})
    caller.join(10)
    assert results["answer"] == {"success": True, "processed": True, "response": "genuine"}


def test_duplicate_and_late_replies_change_nothing(api, raw_client):
    client = raw_client()
    session = client.hello()
    results = {}
    caller = _message_in_background(api, session["id"], results, timeout=3)
    frame = client.receive_type("message")
    client.send({"action": "reply", "id": frame["id"], "processed": True, "response": "first"})
    caller.join(10)
    assert results["answer"]["response"] == "first"
    client.send({"action": "reply", "id": frame["id"], "processed": True, "response": "second"})
    assert client.receive()["type"] == "error"
    client.send({"action": "reply", "id": "never-sent", "processed": True, "response": 1})
    assert client.receive()["type"] == "error"


def test_reply_after_the_timeout_is_refused(api, raw_client):
    client = raw_client()
    session = client.hello()
    results = {}
    caller = _message_in_background(api, session["id"], results, timeout=0.3)
    frame = client.receive_type("message")
    caller.join(10)
    assert results["answer"]["reason"] == "client never responded"
    client.send({"action": "reply", "id": frame["id"], "processed": True, "response": "late"})
    assert client.receive()["type"] == "error"


@pytest.mark.parametrize(
    "reply",
    [
        {"processed": True},
        {"reason": "function doesnt exist"},
        {"processed": False, "reason": "made up"},
        {"processed": "yes", "response": 1},
        {"processed": False},
    ],
)
def test_malformed_reply_is_invalid_return_data(api, raw_client, reply):
    client = raw_client()
    session = client.hello()
    results = {}
    caller = _message_in_background(api, session["id"], results, timeout=5)
    frame = client.receive_type("message")
    client.send({"action": "reply", "id": frame["id"], **reply})
    assert client.receive()["type"] == "error"
    caller.join(10)
    assert results["answer"] == {"success": True, "processed": False, "reason": "invalid return data"}


def test_message_frame_shape(api, raw_client):
    client = raw_client()
    session = client.hello()
    results = {}
    caller = _message_in_background(api, session["id"], results, data={"a": [1]}, timeout=3)
    frame = client.receive_type("message")
    assert set(frame) == {"type", "id", "key", "data"}
    assert (frame["key"], frame["data"]) == ("k", {"a": [1]})
    client.send({"action": "reply", "id": frame["id"], "processed": True, "response": None})
    caller.join(10)
    assert results["answer"] == {"success": True, "processed": True, "response": None}


def test_reply_sent_just_before_closing_still_reaches_the_caller(api, raw_client):
    client = raw_client()
    session = client.hello()
    results = {}
    caller = _message_in_background(api, session["id"], results, timeout=10)
    frame = client.receive_type("message")
    time.sleep(1.5)  # let the caller's poll interval grow, as it does for slow functions
    client.send({"action": "reply", "id": frame["id"], "processed": True, "response": "last words"})
    client.socket.close()
    caller.join(15)
    assert results["answer"] == {"success": True, "processed": True, "response": "last words"}
