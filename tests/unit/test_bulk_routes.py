"""POST /sessions/message and POST /sessions/disconnect: many sessions at once, answers in request
order, unknown ids, validation."""

import threading

import pytest
from session_relay.contract import REASON_NO_FUNCTION, REASON_NO_RESPONSE, REASON_NOT_FOUND, parse_identity
from support.clients import echo


def bulk_message(client, owner, session_ids, **body):
    return client.post(
        "/sessions/message", headers=owner.headers, json={"session_ids": session_ids, "key": "k", **body}
    )


def bulk_disconnect(client, owner, session_ids):
    return client.post("/sessions/disconnect", headers=owner.headers, json={"session_ids": session_ids})


def make_sessions(relay_store, gateway, script_id, count):
    """Sessions written straight to the store (faster than handshakes), each with a simulated client."""
    identity = parse_identity(
        {"script_id": script_id, "user_key": "u", "job_id": "j", "roblox_id": "1", "place_id": "2"}
    )
    clients = []
    for index in range(count):
        connection_id = f"bulk-connection-{index:04d}="
        session = relay_store.sessions.create(f"bulk-session-{index:04d}", identity, connection_id)
        clients.append(gateway.connect(connection_id, session.id))
    return clients


# ------------------------------------------------------------------------------------------------
# POST /sessions/message
# ------------------------------------------------------------------------------------------------


def test_bulk_message_answers_every_id_in_request_order(client, owner, connect, gateway):
    fast, slow, no_function, gone = (connect(owner.script_id) for _ in range(4))
    slow.delay_s = 0.2
    no_function.behaviour = lambda frame: {"processed": False, "reason": REASON_NO_FUNCTION}
    gateway.gone.add(gone.connection_id)
    order = [slow.session_id, "unknown-id", fast.session_id, gone.session_id, no_function.session_id]

    answer = bulk_message(client, owner, order, data={"n": 1}, timeout=5)

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"success", "responses"}
    assert body["success"] is True
    assert body["responses"] == [
        {"session_id": slow.session_id, "processed": True, "response": {"n": 1}},
        {"session_id": "unknown-id", "processed": False, "reason": REASON_NOT_FOUND},
        {"session_id": fast.session_id, "processed": True, "response": {"n": 1}},
        {"session_id": gone.session_id, "processed": False, "reason": REASON_NO_RESPONSE},
        {"session_id": no_function.session_id, "processed": False, "reason": REASON_NO_FUNCTION},
    ]
    # The gone connection's session was deleted; the others were each sent exactly one message.
    assert client.get(f"/sessions/{gone.session_id}", headers=owner.headers).status_code == 404
    for session in (fast, slow, no_function):
        assert [frame["type"] for frame in session.received] == ["message"]


def test_bulk_message_sends_to_all_sessions_concurrently(client, owner, connect, gateway):
    sessions = [connect(owner.script_id) for _ in range(4)]
    # Each client answers only once all four hold their message. A call that waited for one answer
    # before sending the next message would leave the first client at the barrier, and it would break.
    everyone = threading.Barrier(len(sessions), timeout=8)

    def answer_with_the_others(frame):
        everyone.wait()
        return echo(frame)

    for session in sessions:
        session.behaviour = answer_with_the_others

    answer = bulk_message(client, owner, [s.session_id for s in sessions], data="together", timeout=10)

    assert [entry.get("response") for entry in answer.json()["responses"]] == ["together"] * 4
    gateway.finish()  # no client's barrier broke


def test_bulk_message_silent_client_times_out_while_others_answer(client, owner, connect, virtual_clock):
    talker, silent = connect(owner.script_id), connect(owner.script_id)
    silent.behaviour = lambda frame: None

    started = virtual_clock.now_us
    answer = bulk_message(client, owner, [silent.session_id, talker.session_id], data="hi", timeout=0.5)
    answered_after_s = virtual_clock.since(started)

    assert 0.5 <= answered_after_s < 2.5  # virtual seconds: at the timeout, for the silent client
    assert answer.json()["responses"] == [
        {"session_id": silent.session_id, "processed": False, "reason": REASON_NO_RESPONSE},
        {"session_id": talker.session_id, "processed": True, "response": "hi"},
    ]


def test_bulk_message_answers_early_when_every_client_is_done_or_gone(client, owner, connect, virtual_clock):
    talker, leaver = connect(owner.script_id), connect(owner.script_id)

    def leave(frame):
        leaver.hang_up()

    leaver.behaviour = leave

    started = virtual_clock.now_us
    answer = bulk_message(client, owner, [talker.session_id, leaver.session_id], timeout=10)
    answered_after_s = virtual_clock.since(started)

    assert answered_after_s < 2.0  # virtual seconds: once both were decided, not at the 10 s timeout
    assert answer.json()["responses"][1] == {
        "session_id": leaver.session_id,
        "processed": False,
        "reason": REASON_NO_RESPONSE,
    }


def test_bulk_message_gateway_failure_answers_never_responded_for_that_session(
    client, owner, connect, gateway
):
    broken, fine = connect(owner.script_id), connect(owner.script_id)
    gateway.failing.add(broken.connection_id)

    answer = bulk_message(client, owner, [broken.session_id, fine.session_id], timeout=5)

    assert answer.json()["responses"] == [
        {"session_id": broken.session_id, "processed": False, "reason": REASON_NO_RESPONSE},
        {"session_id": fine.session_id, "processed": True, "response": []},
    ]


def test_bulk_message_to_only_unknown_ids_sends_nothing(client, owner, connect, gateway):
    bystander = connect(owner.script_id)

    answer = bulk_message(client, owner, ["a", "b" * 200, "c"], timeout=5)

    assert [entry["reason"] for entry in answer.json()["responses"]] == [REASON_NOT_FOUND] * 3
    assert [entry["session_id"] for entry in answer.json()["responses"]] == ["a", "b" * 200, "c"]
    assert bystander.received == []


def test_bulk_message_accepts_1000_ids(client, owner):
    ids = [f"id-{index:04d}" for index in range(1000)]

    answer = bulk_message(client, owner, ids, timeout=1)

    assert answer.status_code == 200
    assert [entry["session_id"] for entry in answer.json()["responses"]] == ids


def test_bulk_message_polls_more_than_one_batch_of_sessions(client, owner, relay_store, gateway, monkeypatch):
    # BatchGetItem takes 100 keys; a smaller batch here exercises the same chunking with fewer
    # sessions (the real limit is met by test_bulk_disconnect_handles_more_than_one_batch).
    monkeypatch.setattr("session_relay.store.table.BATCH_GET_LIMIT", 4)
    sessions = make_sessions(relay_store, gateway, owner.script_id, 11)
    sessions[3].delay_s = 0.1  # answers after the others: later polls read a smaller set

    answer = bulk_message(client, owner, [s.session_id for s in reversed(sessions)], data=7, timeout=10)

    responses = answer.json()["responses"]
    assert [entry["session_id"] for entry in responses] == [s.session_id for s in reversed(sessions)]
    assert all(
        entry == {"session_id": entry["session_id"], "processed": True, "response": 7} for entry in responses
    )


def test_bulk_message_sends_absent_data_as_empty_array(client, owner, connect):
    sessions = [connect(owner.script_id) for _ in range(2)]

    bulk_message(client, owner, [s.session_id for s in sessions], timeout=5)

    assert [s.received[0]["data"] for s in sessions] == [[], []]


def test_bulk_message_too_large_is_413_and_nothing_is_sent(client, owner, connect, failure):
    sessions = [connect(owner.script_id) for _ in range(2)]

    failure(bulk_message(client, owner, [s.session_id for s in sessions], data="x" * 33_000), 413)

    assert all(s.received == [] for s in sessions)


BULK_INVALID = [
    pytest.param({"key": "k"}, "session_ids", id="ids-missing"),
    pytest.param({"key": "k", "session_ids": []}, "session_ids", id="ids-empty"),
    pytest.param({"key": "k", "session_ids": ["a", "b", "a"]}, "session_ids", id="ids-duplicate"),
    pytest.param({"key": "k", "session_ids": [f"i{n}" for n in range(1001)]}, "session_ids", id="ids-1001"),
    pytest.param({"key": "k", "session_ids": "a"}, "session_ids", id="ids-string"),
    pytest.param({"key": "k", "session_ids": [1, 2]}, "session_ids", id="ids-numbers"),
    pytest.param({"key": "k", "session_ids": None}, "session_ids", id="ids-null"),
    pytest.param({"session_ids": ["a"]}, "key", id="key-missing"),
    pytest.param({"session_ids": ["a"], "key": ""}, "key", id="key-empty"),
    pytest.param({"session_ids": ["a"], "key": "k" * 129}, "key", id="key-129-chars"),
    pytest.param({"session_ids": ["a"], "key": 1}, "key", id="key-number"),
    pytest.param({"session_ids": ["a"], "key": "k", "timeout": "5"}, "timeout", id="timeout-string"),
    pytest.param({"session_ids": ["a"], "key": "k", "timeout": True}, "timeout", id="timeout-true"),
    pytest.param({"session_ids": ["a"], "key": "k", "timeout": 0}, "timeout", id="timeout-zero"),
    pytest.param({"session_ids": ["a"], "key": "k", "timeout": 61}, "timeout", id="timeout-61"),
    pytest.param({"session_ids": ["a"], "key": "k", "timeout": None}, "timeout", id="timeout-null"),
    pytest.param({"session_ids": ["a"], "key": "k", "extra": 1}, "extra", id="extra-field"),
]


@pytest.mark.parametrize(("body", "field"), BULK_INVALID)
def test_invalid_bulk_message_is_422_naming_the_field(client, owner, connect, failure, body, field):
    session = connect(owner.script_id)
    if "session_ids" in body and isinstance(body["session_ids"], list) and body["session_ids"] == ["a"]:
        body = {**body, "session_ids": [session.session_id]}

    error = failure(client.post("/sessions/message", headers=owner.headers, json=body), 422)

    assert error.split(":")[0].split(".")[0] == field
    assert session.received == []


# ------------------------------------------------------------------------------------------------
# POST /sessions/disconnect
# ------------------------------------------------------------------------------------------------


def test_bulk_disconnect_disconnects_existing_ids_and_skips_unknown(client, owner, connect, gateway):
    first, second, staying = (connect(owner.script_id) for _ in range(3))

    answer = bulk_disconnect(client, owner, [second.session_id, "unknown", first.session_id])

    assert answer.status_code == 200
    assert answer.json() == {"success": True, "disconnected": [second.session_id, first.session_id]}
    for session in (first, second):
        assert session.received[-1]["type"] == "disconnect"
        assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 404
    assert sorted(gateway.closed) == sorted([first.connection_id, second.connection_id])
    assert staying.received == []
    assert client.get(f"/sessions/{staying.session_id}", headers=owner.headers).status_code == 200


def test_bulk_disconnect_of_only_unknown_ids_succeeds_with_nothing_disconnected(client, owner, gateway):
    answer = bulk_disconnect(client, owner, ["a", "b"])

    assert answer.json() == {"success": True, "disconnected": []}
    assert gateway.closed == []


def test_bulk_disconnect_leaves_a_session_it_could_not_close(client, owner, connect, gateway):
    stuck, closing = connect(owner.script_id), connect(owner.script_id)
    gateway.failing_close.add(stuck.connection_id)

    answer = bulk_disconnect(client, owner, [stuck.session_id, closing.session_id])

    assert answer.json() == {"success": True, "disconnected": [closing.session_id]}
    assert client.get(f"/sessions/{stuck.session_id}", headers=owner.headers).status_code == 200
    assert client.get(f"/sessions/{closing.session_id}", headers=owner.headers).status_code == 404


def test_bulk_disconnect_handles_more_than_one_batch(client, owner, relay_store, gateway):
    sessions = make_sessions(relay_store, gateway, owner.script_id, 105)

    answer = bulk_disconnect(client, owner, [s.session_id for s in sessions])

    assert answer.json()["disconnected"] == [s.session_id for s in sessions]
    assert len(gateway.closed) == 105
    listed = client.get("/sessions", headers=owner.headers, params={"limit": "1000"}).json()["sessions"]
    assert listed == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "session_ids", id="ids-missing"),
        pytest.param({"session_ids": []}, "session_ids", id="ids-empty"),
        pytest.param({"session_ids": ["a", "a"]}, "session_ids", id="ids-duplicate"),
        pytest.param({"session_ids": [f"i{n}" for n in range(1001)]}, "session_ids", id="ids-1001"),
        pytest.param({"session_ids": [None]}, "session_ids", id="ids-null-entry"),
        pytest.param({"session_ids": ["a"], "key": "k"}, "key", id="extra-field"),
    ],
)
def test_invalid_bulk_disconnect_is_422_naming_the_field(
    client, owner, connect, gateway, failure, body, field
):
    connect(owner.script_id)

    error = failure(client.post("/sessions/disconnect", headers=owner.headers, json=body), 422)

    assert error.split(":")[0].split(".")[0] == field
    assert gateway.closed == []


def test_bulk_disconnect_accepts_1000_ids(client, owner):
    answer = bulk_disconnect(client, owner, [f"id-{index:04d}" for index in range(1000)])

    assert answer.json() == {"success": True, "disconnected": []}
