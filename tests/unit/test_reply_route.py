"""The client's reply frames (PROTOCOL.md section 2): only the first reply from the addressed
connection to a waiting message counts; anything else changes nothing and gets an error frame."""

import time

import pytest
from session_relay import clock, store
from session_relay.contract import REASON_INVALID, REASON_NO_RESPONSE


def message(client, owner, session, **body):
    return client.post(
        f"/sessions/{session.session_id}/message", headers=owner.headers, json={"key": "k", **body}
    )


def errors_of(session) -> list[str]:
    """The error frames the client got, once every simulated client is done."""
    session.gateway.settle()
    return [frame["error"] for frame in session.received_of_type("error")]


def test_reply_from_another_connection_is_ignored(client, owner, connect):
    target = connect(owner.script_id)
    intruder = connect(owner.script_id)
    seen = {}

    def answer(frame):
        intruder.reply(frame["id"], processed=True, response="forged")
        seen["intruder_errors"] = errors_of(intruder)
        return {"processed": True, "response": "genuine"}

    target.behaviour = answer

    reply = message(client, owner, target, timeout=5)

    assert reply.json() == {"success": True, "processed": True, "response": "genuine"}
    assert len(seen["intruder_errors"]) == 1
    assert errors_of(target) == []


def test_reply_from_another_connection_does_not_end_the_wait(client, owner, connect, relay_store):
    target = connect(owner.script_id)
    intruder = connect(owner.script_id)
    pending = {}

    def only_the_intruder_answers(frame):
        intruder.reply(frame["id"], processed=True, response="forged")
        pending["state"] = relay_store.messages.read(target.connection_id, frame["id"])
        return

    target.behaviour = only_the_intruder_answers

    reply = message(client, owner, target, timeout=0.5)

    assert reply.json() == {"success": True, "processed": False, "reason": REASON_NO_RESPONSE}
    assert pending["state"] == (True, None)  # still pending after the forged reply
    assert len(errors_of(intruder)) == 1


def test_reply_to_an_unknown_message_id_gets_an_error_frame(owner, connect, relay_store):
    session = connect(owner.script_id)

    answer = session.reply("no-such-message", processed=True, response=1)

    assert answer["statusCode"] == 200
    assert len(errors_of(session)) == 1
    assert relay_store.messages.read(session.connection_id, "no-such-message") == (False, None)


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param({"action": "reply", "processed": True, "response": 1}, id="no-id"),
        pytest.param({"action": "reply", "id": 5, "processed": True, "response": 1}, id="id-number"),
        pytest.param({"action": "reply", "id": "", "processed": True, "response": 1}, id="id-empty"),
        pytest.param({"action": "reply", "id": "x" * 65, "processed": True, "response": 1}, id="id-too-long"),
    ],
)
def test_reply_without_a_usable_id_gets_an_error_frame(owner, connect, frame):
    session = connect(owner.script_id)

    session.send_frame(frame)

    assert len(errors_of(session)) == 1


def test_first_reply_wins_and_a_duplicate_gets_an_error_frame(client, owner, connect):
    session = connect(owner.script_id)

    def answer_twice(frame):
        session.reply(frame["id"], processed=True, response="first")
        session.reply(frame["id"], processed=True, response="second")
        return

    session.behaviour = answer_twice

    reply = message(client, owner, session, timeout=5)

    assert reply.json() == {"success": True, "processed": True, "response": "first"}
    assert len(errors_of(session)) == 1


def test_reply_after_the_timeout_changes_nothing_and_gets_an_error_frame(client, owner, connect, relay_store):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None

    reply = message(client, owner, session, timeout=0.3)
    assert reply.json()["reason"] == REASON_NO_RESPONSE
    [sent] = session.received_of_type("message")

    session.reply(sent["id"], processed=True, response="too late")

    assert len(errors_of(session)) == 1
    assert relay_store.messages.read(session.connection_id, sent["id"]) == (False, None)


def test_reply_past_the_deadline_is_refused_even_before_withdrawal(owner, connect, relay_store):
    session = connect(owner.script_id)
    record = relay_store.sessions.get(session.session_id)
    relay_store.messages.put(
        record, "expired-message", clock.now_ms() - 1
    )  # deadline passed, not withdrawn yet

    session.reply("expired-message", processed=True, response="late")

    assert len(errors_of(session)) == 1
    assert relay_store.messages.read(session.connection_id, "expired-message") == (True, None)


def test_reply_just_before_the_deadline_counts(owner, connect, relay_store):
    session = connect(owner.script_id)
    record = relay_store.sessions.get(session.session_id)
    relay_store.messages.put(record, "live-message", clock.now_ms() + 5_000)

    session.reply("live-message", processed=True, response={"ok": True})

    assert errors_of(session) == []
    exists, outcome = relay_store.messages.read(session.connection_id, "live-message")
    assert exists
    assert outcome.as_contract() == {"processed": True, "response": {"ok": True}}


MALFORMED_REPLIES = [
    pytest.param({}, id="no-processed"),
    pytest.param({"response": 1}, id="response-without-processed"),
    pytest.param({"processed": True}, id="processed-true-without-response"),
    pytest.param({"processed": False}, id="processed-false-without-reason"),
    pytest.param({"processed": False, "reason": "because"}, id="unknown-reason"),
    pytest.param({"processed": False, "reason": "session not found"}, id="server-only-reason"),
    pytest.param({"processed": False, "reason": "Function doesnt exist"}, id="reason-wrong-case"),
    pytest.param({"processed": False, "reason": "function errored"}, id="errored-without-prefix-colon"),
    pytest.param({"processed": False, "reason": 5}, id="reason-number"),
    pytest.param({"processed": False, "reason": None}, id="reason-null"),
    pytest.param({"processed": "true", "response": 1}, id="processed-string"),
    pytest.param({"processed": 1, "response": 1}, id="processed-number"),
    pytest.param({"processed": None, "response": 1}, id="processed-null"),
]


@pytest.mark.parametrize("fields", MALFORMED_REPLIES)
def test_malformed_reply_answers_invalid_return_data_and_an_error_frame(client, owner, connect, fields):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: fields

    reply = message(client, owner, session, timeout=5)

    assert reply.json() == {"success": True, "processed": False, "reason": REASON_INVALID}
    assert len(errors_of(session)) == 1


def test_a_malformed_reply_still_uses_up_the_message(client, owner, connect):
    session = connect(owner.script_id)

    def malformed_then_good(frame):
        session.reply(frame["id"], processed=True)  # no response: malformed
        session.reply(frame["id"], processed=True, response="fixed")  # too late: the first reply won
        return

    session.behaviour = malformed_then_good

    reply = message(client, owner, session, timeout=5)

    assert reply.json()["reason"] == REASON_INVALID
    assert len(errors_of(session)) == 2


def test_reply_refreshes_last_seen_at_once_it_is_a_minute_old(client, owner, connect, monkeypatch):
    session = connect(owner.script_id)
    created_at = client.get(f"/sessions/{session.session_id}", headers=owner.headers).json()["session"][
        "created_at"
    ]
    record = store.get_store().sessions.get(session.session_id)
    store.get_store().messages.put(record, "recent", created_at + 120_000)
    store.get_store().messages.put(record, "later", created_at + 120_000)

    monkeypatch.setattr(clock, "now_ms", lambda: created_at + 45_000)
    session.reply("recent", processed=True, response=None)
    got = client.get(f"/sessions/{session.session_id}", headers=owner.headers).json()["session"]
    assert got["last_seen_at"] == created_at  # sent with a last_seen_at under a minute old: no write

    monkeypatch.setattr(clock, "now_ms", lambda: created_at + 75_000)
    session.reply("later", processed=True, response=None)
    got = client.get(f"/sessions/{session.session_id}", headers=owner.headers).json()["session"]
    assert got["last_seen_at"] == created_at + 75_000


def test_reply_with_extra_fields_still_counts(client, owner, connect):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: {"processed": True, "response": "ok", "elapsed_ms": 3}

    assert message(client, owner, session, timeout=5).json()["response"] == "ok"
    assert errors_of(session) == []


def test_concurrent_messages_to_one_client_get_their_own_answers(client, owner, connect):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: (time.sleep(0.05), {"processed": True, "response": frame["data"]})[1]

    answers = [
        message(client, owner, session, data=index, timeout=5).json()["response"] for index in range(3)
    ]

    assert answers == [0, 1, 2]
