"""POST /sessions/{session_id}/message: what reaches the client, what comes back, every reason,
validation, size limits and how early the call answers when the client is gone."""

import json

import pytest
from session_relay import FRAME_LIMIT_BYTES
from session_relay.contract import (
    REASON_ERRORED_PREFIX,
    REASON_INVALID,
    REASON_NO_FUNCTION,
    REASON_NO_RESPONSE,
)
from session_relay.service import delivery
from session_relay.wire import dump_json

MESSAGE_ID_LENGTH = 32  # secrets.token_hex(16)


def message(client, owner, session, body, **kwargs):
    return client.post(f"/sessions/{session.session_id}/message", headers=owner.headers, json=body, **kwargs)


def connection_items(dynamodb, aws, connection_id):
    """Every item stored under a connection (its session mapping and its messages)."""
    return dynamodb.query(
        TableName=aws["CONNECTIONS_TABLE"],
        KeyConditionExpression="connection_id = :c",
        ExpressionAttributeValues={":c": {"S": connection_id}},
        ConsistentRead=True,
    )["Items"]


# ------------------------------------------------------------------------------------------------
# Answers
# ------------------------------------------------------------------------------------------------


def test_message_delivers_key_and_data_and_returns_the_response(client, owner, connect):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: {
        "processed": True,
        "response": {"got": frame["key"], "with": frame["data"]},
    }

    answer = message(client, owner, session, {"key": "greet", "data": {"name": "Ada"}, "timeout": 5})

    assert answer.status_code == 200
    assert answer.json() == {
        "success": True,
        "processed": True,
        "response": {"got": "greet", "with": {"name": "Ada"}},
    }
    [frame] = session.received
    assert set(frame) == {"type", "id", "key", "data"}
    assert frame["type"] == "message"
    assert frame["key"] == "greet"
    assert frame["data"] == {"name": "Ada"}
    assert isinstance(frame["id"], str)
    assert len(frame["id"]) == MESSAGE_ID_LENGTH


def test_message_ids_are_unique_per_message(client, owner, connect):
    session = connect(owner.script_id)

    for _ in range(3):
        assert message(client, owner, session, {"key": "k", "timeout": 5}).json()["processed"] is True

    assert len({frame["id"] for frame in session.received}) == 3


def test_function_returning_nothing_is_answered_with_null_response(client, owner, connect):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: {"processed": True, "response": None}

    answer = message(client, owner, session, {"key": "k", "timeout": 5})

    assert answer.json() == {"success": True, "processed": True, "response": None}
    assert '"response":null' in answer.text.replace(" ", "")


@pytest.mark.parametrize(
    "reason",
    [
        REASON_ERRORED_PREFIX + 'Players.Ada.Script:12: attempt to index nil with "Name"',
        REASON_ERRORED_PREFIX,
        REASON_INVALID,
        REASON_NO_FUNCTION,
        REASON_NO_RESPONSE,
    ],
)
def test_client_reasons_reach_the_caller_verbatim(client, owner, connect, reason):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: {"processed": False, "reason": reason}

    answer = message(client, owner, session, {"key": "k", "timeout": 5})

    assert answer.status_code == 200
    assert answer.json() == {"success": True, "processed": False, "reason": reason}
    session.gateway.settle()
    assert session.received_of_type("error") == []


def test_reason_strings_are_exactly_the_contracts():
    assert REASON_ERRORED_PREFIX == "function errored, message: "
    assert REASON_INVALID == "invalid return data"
    assert REASON_NO_RESPONSE == "client never responded"
    assert REASON_NO_FUNCTION == "function doesnt exist"


ROUND_TRIP = [
    pytest.param('héllo wörld ✓ 🌍 日本語 \u0000 "quoted" \\ slash', id="unicode"),
    pytest.param({"a": {"b": [1, {"c": None, "d": [[], {}]}]}, "e": "f"}, id="nested"),
    pytest.param([2**63 - 1, 2**63 + 5, -(2**70), 10234711811], id="big-ints"),
    pytest.param([], id="empty-array"),
    pytest.param({}, id="empty-object"),
    pytest.param([[], {}, [{}], {"x": []}], id="arrays-vs-objects"),
    pytest.param(None, id="null"),
    pytest.param(0.1, id="float"),
    pytest.param(True, id="true"),
    pytest.param(0, id="zero"),
    pytest.param("", id="empty-string"),
]


@pytest.mark.parametrize("data", ROUND_TRIP)
def test_data_round_trips_exactly(client, owner, connect, data):
    session = connect(owner.script_id)

    answer = message(client, owner, session, {"key": "echo", "data": data, "timeout": 5})

    [frame] = session.received
    assert dump_json(frame["data"]) == dump_json(data)
    assert answer.status_code == 200
    assert dump_json(answer.json()["response"]) == dump_json(data)


def test_absent_data_is_sent_as_empty_array(client, owner, connect):
    session = connect(owner.script_id)

    answer = message(client, owner, session, {"key": "echo", "timeout": 5})

    assert session.received[0]["data"] == []
    assert type(session.received[0]["data"]) is list
    assert answer.json()["response"] == []


def test_explicit_null_data_is_sent_as_null(client, owner, connect):
    session = connect(owner.script_id)

    message(client, owner, session, {"key": "echo", "data": None, "timeout": 5})

    assert "data" in session.received[0]
    assert session.received[0]["data"] is None


def test_slow_client_within_the_timeout_is_processed(client, owner, connect, virtual_clock):
    session = connect(owner.script_id)
    session.delay_s = 0.3  # virtual seconds

    started = virtual_clock.now_us
    answer = message(client, owner, session, {"key": "k", "data": "late but fine", "timeout": 3})
    answered_after_s = virtual_clock.since(started)

    assert answer.json() == {"success": True, "processed": True, "response": "late but fine"}
    assert 0.3 <= answered_after_s < 2.5  # virtual seconds: answered once the reply landed


def test_silent_client_is_answered_never_responded_at_the_timeout(
    client, owner, connect, dynamodb, aws, virtual_clock
):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None

    started = virtual_clock.now_us
    answer = message(client, owner, session, {"key": "k", "timeout": 0.4})
    answered_after_s = virtual_clock.since(started)

    assert answer.json() == {"success": True, "processed": False, "reason": REASON_NO_RESPONSE}
    assert 0.4 <= answered_after_s < 2.0  # virtual seconds: at the timeout, not before
    # The message was withdrawn: only the session mapping is left under the connection.
    assert [item["item"]["S"] for item in connection_items(dynamodb, aws, session.connection_id)] == [
        "session"
    ]


def test_message_to_vanished_client_answers_early(client, owner, connect, virtual_clock):
    session = connect(owner.script_id)

    def vanish(frame):
        virtual_clock.sleep(0.1)  # the client's own pause: 0.1 virtual seconds
        session.hang_up()  # the socket closes: $disconnect runs while the caller waits

    session.behaviour = vanish

    started = virtual_clock.now_us
    answer = message(client, owner, session, {"key": "k", "timeout": 10})
    answered_after_s = virtual_clock.since(started)

    assert answer.json() == {"success": True, "processed": False, "reason": REASON_NO_RESPONSE}
    assert answered_after_s < 2.0  # virtual seconds: when the client left, not at the 10 s timeout
    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 404


def test_reply_sent_just_before_the_client_leaves_still_counts(client, owner, connect, monkeypatch):
    monkeypatch.setattr(delivery, "FIRST_POLL_S", 0.2)  # the caller first looks after the close
    session = connect(owner.script_id)

    def answer_then_leave(frame):
        session.reply(frame["id"], processed=True, response="last words")
        session.hang_up()

    session.behaviour = answer_then_leave

    answer = message(client, owner, session, {"key": "k", "timeout": 10})

    assert answer.json() == {"success": True, "processed": True, "response": "last words"}
    session.gateway.settle()  # the client's close may finish after the caller has its answer
    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 404


def test_message_to_gone_connection_deletes_the_session_and_answers_at_once(
    client, owner, connect, gateway, dynamodb, aws, virtual_clock
):
    session = connect(owner.script_id)
    gateway.gone.add(session.connection_id)  # the Management API answers 410 GoneException

    started = virtual_clock.now_us
    answer = message(client, owner, session, {"key": "k", "timeout": 10})
    answered_after_s = virtual_clock.since(started)

    assert answer.json() == {"success": True, "processed": False, "reason": REASON_NO_RESPONSE}
    assert answered_after_s < 1.0  # virtual seconds: at once, without waiting
    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 404
    assert connection_items(dynamodb, aws, session.connection_id) == []


def test_gateway_failure_is_503_and_leaves_no_pending_message(
    client, owner, connect, gateway, failure, dynamodb, aws
):
    session = connect(owner.script_id)
    gateway.failing.add(session.connection_id)

    failure(message(client, owner, session, {"key": "k", "timeout": 5}), 503)

    assert [item["item"]["S"] for item in connection_items(dynamodb, aws, session.connection_id)] == [
        "session"
    ]
    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 200


def test_unknown_session_is_404_and_nothing_is_sent(client, owner, connect, gateway, failure):
    session = connect(owner.script_id)

    assert failure(client.post("/sessions/unknown/message", headers=owner.headers, json={"key": "k"}), 404)

    assert session.received == []


# ------------------------------------------------------------------------------------------------
# Frame size (413)
# ------------------------------------------------------------------------------------------------


def padding_for(frame_bytes: int, key: str = "k") -> str:
    """ASCII data that makes the message frame exactly ``frame_bytes`` long."""
    overhead = len(
        dump_json({"type": "message", "id": "x" * MESSAGE_ID_LENGTH, "key": key, "data": ""}).encode()
    )
    return "a" * (frame_bytes - overhead)


def test_frame_of_exactly_32768_bytes_is_sent(client, owner, connect, gateway):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: {"processed": True, "response": len(frame["data"])}
    data = padding_for(FRAME_LIMIT_BYTES)

    answer = message(client, owner, session, {"key": "k", "data": data, "timeout": 5})

    assert answer.status_code == 200
    assert answer.json()["response"] == len(data)
    assert len(dump_json(session.received[0]).encode()) == FRAME_LIMIT_BYTES


def test_frame_one_byte_over_32768_is_413_and_nothing_is_sent(client, owner, connect, failure):
    session = connect(owner.script_id)

    error = failure(
        message(client, owner, session, {"key": "k", "data": padding_for(FRAME_LIMIT_BYTES + 1)}), 413
    )

    assert str(FRAME_LIMIT_BYTES) in error
    assert session.received == []


def test_frame_size_counts_utf8_bytes_not_characters(client, owner, connect, failure):
    session = connect(owner.script_id)
    # 11,000 three-byte characters: 11,000 characters but 33,000 bytes.
    failure(message(client, owner, session, {"key": "k", "data": "€" * 11_000}), 413)

    assert session.received == []


def test_request_body_over_a_megabyte_is_413(client, owner, connect, failure):
    session = connect(owner.script_id)

    failure(message(client, owner, session, {"key": "k", "data": "a" * 1_100_000}), 413)

    assert session.received == []


# ------------------------------------------------------------------------------------------------
# Validation (422, the field named)
# ------------------------------------------------------------------------------------------------

INVALID_BODIES = [
    pytest.param({"data": 1}, "key", id="key-missing"),
    pytest.param({"key": 5}, "key", id="key-number"),
    pytest.param({"key": None}, "key", id="key-null"),
    pytest.param({"key": ["k"]}, "key", id="key-array"),
    pytest.param({"key": ""}, "key", id="key-empty"),
    pytest.param({"key": "k" * 129}, "key", id="key-129-chars"),
    pytest.param({"key": "k", "timeout": "5"}, "timeout", id="timeout-string"),
    pytest.param({"key": "k", "timeout": True}, "timeout", id="timeout-true"),
    pytest.param({"key": "k", "timeout": 0}, "timeout", id="timeout-zero"),
    pytest.param({"key": "k", "timeout": -1}, "timeout", id="timeout-negative"),
    pytest.param({"key": "k", "timeout": 61}, "timeout", id="timeout-61"),
    pytest.param({"key": "k", "timeout": 60.001}, "timeout", id="timeout-just-over-60"),
    pytest.param({"key": "k", "timeout": None}, "timeout", id="timeout-null"),
    pytest.param({"key": "k", "timeout": [5]}, "timeout", id="timeout-array"),
    pytest.param({"key": "k", "extra": 1}, "extra", id="extra-field"),
    pytest.param({"key": "k", "session_ids": ["a"]}, "session_ids", id="bulk-field-on-single-route"),
]


@pytest.mark.parametrize(("body", "field"), INVALID_BODIES)
def test_invalid_message_body_is_422_naming_the_field(client, owner, connect, failure, body, field):
    session = connect(owner.script_id)

    error = failure(message(client, owner, session, body), 422)

    assert error.split(":")[0] == field
    assert session.received == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"key": "k" * 128}, id="key-128-chars"),
        pytest.param({"key": "k", "timeout": 5}, id="timeout-integer"),
        pytest.param({"key": "k", "timeout": 60}, id="timeout-60"),
        pytest.param({"key": "k", "timeout": 2.5}, id="timeout-fraction"),
        pytest.param({"key": "ключ 🔑"}, id="key-unicode"),
    ],
)
def test_valid_message_bodies_are_accepted(client, owner, connect, body):
    session = connect(owner.script_id)

    answer = message(client, owner, session, body)

    assert answer.status_code == 200
    assert answer.json()["processed"] is True
    assert session.received[0]["key"] == body["key"]


def test_timeout_null_is_not_the_same_as_absent(client, owner, connect):
    # Absent means the default; an explicit null is a type error, not a default.
    session = connect(owner.script_id)

    assert message(client, owner, session, {"key": "k"}).status_code == 200
    assert json.loads(message(client, owner, session, {"key": "k", "timeout": None}).text)["success"] is False
