"""Messaging over real sockets: the four reasons, data fidelity, timeouts, vanishing clients."""

import asyncio
import threading
import time

import pytest

BIG = 123456789012345678901234567890


def message(api, session_id, key, data=None, **extra):
    body = {"key": key, **({} if data is None else {"data": data}), **extra}
    answer = api.post(f"/sessions/{session_id}/message", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_echo_is_processed_with_the_functions_result(api, fleet):
    (client,) = fleet.connect(1)
    assert message(api, client.session_id, "echo", {"x": 1}) == {
        "success": True,
        "processed": True,
        "response": {"x": 1},
    }


@pytest.mark.parametrize(
    "data",
    [
        {"nested": {"deep": [1, [2, [3, {"four": 4}]]]}},
        "unicode: héllo wörld ✓ 日本語 🎮",
        BIG,
        -(2**63),
        [],
        {},
        [[], {}],
        None,
        1.5e-10,
        True,
        "",
    ],
    ids=[
        "nested",
        "unicode",
        "big-int",
        "min-int64",
        "empty-array",
        "empty-object",
        "mixed-empties",
        "null",
        "float",
        "bool",
        "empty-string",
    ],
)
def test_data_round_trips_exactly(api, fleet, data):
    (client,) = fleet.connect(1)
    answer = api.post(f"/sessions/{client.session_id}/message", json={"key": "echo", "data": data})
    assert answer.json() == {"success": True, "processed": True, "response": data}
    # Exactness at the byte level: [] stays [] and {} stays {}, big ints keep every digit.
    if data in ([], {}):
        assert answer.text.endswith(f'"response":{"[]" if data == [] else "{}"}}}')


def test_absent_data_is_sent_as_empty_array_and_null_as_null(api, fleet):
    (client,) = fleet.connect(1)
    assert message(api, client.session_id, "echo")["response"] == []
    explicit_null = api.post(f"/sessions/{client.session_id}/message", json={"key": "echo", "data": None})
    assert explicit_null.json() == {"success": True, "processed": True, "response": None}


def test_function_error_reason_carries_the_message(api, fleet):
    (client,) = fleet.connect(1)
    answer = message(api, client.session_id, "error", "kaboom")
    assert answer == {"success": True, "processed": False, "reason": "function errored, message: kaboom"}


def test_unsendable_return_is_invalid_return_data(api, fleet):
    (client,) = fleet.connect(1)
    answer = message(api, client.session_id, "invalid")
    assert answer == {"success": True, "processed": False, "reason": "invalid return data"}


def test_unknown_function_is_reported(api, fleet):
    (client,) = fleet.connect(1)
    answer = message(api, client.session_id, "no-such-function")
    assert answer == {"success": True, "processed": False, "reason": "function doesnt exist"}


def test_slow_client_times_out_as_never_responded(api, fleet):
    (client,) = fleet.connect(1)
    started = time.monotonic()
    answer = message(api, client.session_id, "sleep", 5, timeout=0.5)
    assert answer == {"success": True, "processed": False, "reason": "client never responded"}
    assert time.monotonic() - started < 4.5  # answered at the timeout, not when the function ends


def test_slow_function_within_timeout_is_processed(api, fleet):
    (client,) = fleet.connect(1)
    assert message(api, client.session_id, "sleep", 0.3, timeout=5) == {
        "success": True,
        "processed": True,
        "response": 0.3,
    }


def test_message_to_vanished_client_answers_early(api, fleet):
    (client,) = fleet.connect(1)
    result = {}

    def call():
        started = time.monotonic()
        result["answer"] = message(api, client.session_id, "sleep", 30, timeout=30)
        result["elapsed"] = time.monotonic() - started

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.5)
    fleet.close(client)
    caller.join(30)
    assert result["answer"] == {"success": True, "processed": False, "reason": "client never responded"}
    assert result["elapsed"] < 10


def test_concurrent_messages_to_one_session_do_not_wait_for_each_other(api, local_stack, fleet):
    (client,) = fleet.connect(1)
    results = {}

    def call(name, key, data):
        with local_stack.client() as own:
            started = time.monotonic()
            results[name] = (
                message(own, client.session_id, key, data, timeout=10),
                time.monotonic() - started,
            )

    slow = threading.Thread(target=call, args=("slow", "sleep", 3))
    fast = threading.Thread(target=call, args=("fast", "echo", "quick"))
    slow.start()
    time.sleep(0.2)
    fast.start()
    fast.join(10)
    slow.join(10)
    assert results["fast"][0]["response"] == "quick"
    assert results["slow"][0]["response"] == 3
    assert results["fast"][1] < results["slow"][1]


def test_message_to_unknown_session_is_404(api):
    answer = api.post("/sessions/does-not-exist/message", json={"key": "echo"})
    assert answer.status_code == 404
    assert answer.json() == {"success": False, "error": "session not found"}


def test_frame_over_32kb_is_refused_with_413_before_sending(api, fleet):
    (client,) = fleet.connect(1)
    answer = api.post(f"/sessions/{client.session_id}/message", json={"key": "echo", "data": "x" * 33_000})
    assert answer.status_code == 413
    assert answer.json()["success"] is False
    time.sleep(0.2)
    assert not [frame for frame in client.received if frame.get("type") == "message"]


def test_bulk_message_answers_in_request_order_with_every_reason(api, fleet):
    clients = fleet.connect(3)
    ids = [clients[2].session_id, "missing-id", clients[0].session_id, clients[1].session_id]
    answer = api.post("/sessions/message", json={"session_ids": ids, "key": "echo", "data": {"n": 1}})
    assert answer.status_code == 200
    responses = answer.json()["responses"]
    assert [entry["session_id"] for entry in responses] == ids
    assert responses[1] == {"session_id": "missing-id", "processed": False, "reason": "session not found"}
    for index in (0, 2, 3):
        assert responses[index] == {"session_id": ids[index], "processed": True, "response": {"n": 1}}


def test_bulk_message_to_200_sessions(api, fleet):
    clients = fleet.connect(200)
    ids = [client.session_id for client in clients]
    answer = api.post(
        "/sessions/message", json={"session_ids": ids, "key": "echo", "data": "all", "timeout": 30}
    )
    assert answer.status_code == 200
    responses = answer.json()["responses"]
    assert [entry["session_id"] for entry in responses] == ids
    assert all(
        entry == {"session_id": entry["session_id"], "processed": True, "response": "all"}
        for entry in responses
    )


def test_bulk_message_reports_each_session_on_its_own(api, fleet):
    async def slow_echo(data):
        await asyncio.sleep(5)
        return data

    def broken(_data):
        raise RuntimeError("broken here")

    (prompt,) = fleet.connect(1)
    (slow,) = fleet.connect(1, functions={"echo": slow_echo})
    (failing,) = fleet.connect(1, functions={"echo": broken})
    (bare,) = fleet.connect(1, functions={})
    ids = [prompt.session_id, slow.session_id, failing.session_id, bare.session_id]
    started = time.monotonic()
    answer = api.post("/sessions/message", json={"session_ids": ids, "key": "echo", "data": 7, "timeout": 1})
    assert time.monotonic() - started < 4
    assert answer.json()["responses"] == [
        {"session_id": ids[0], "processed": True, "response": 7},
        {"session_id": ids[1], "processed": False, "reason": "client never responded"},
        {"session_id": ids[2], "processed": False, "reason": "function errored, message: broken here"},
        {"session_id": ids[3], "processed": False, "reason": "function doesnt exist"},
    ]
