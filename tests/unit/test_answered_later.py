"""Messages answered later: ``"wait": false`` answers 202 with an id at once; GET /messages/{id} and
GET /batches/{id} read the outcome (long-polling with ``?wait=``), readable by the sending key only."""

import re
import time

import pytest
from session_relay.contract import REASON_NO_FUNCTION, REASON_NO_RESPONSE, REASON_NOT_FOUND
from session_relay.service.delivery import new_message_id
from support.environment import clear_caches
from support.events import load_event


def send_later(client, owner, session_id, **body):
    return client.post(
        f"/sessions/{session_id}/message", headers=owner.headers, json={"key": "k", "wait": False, **body}
    )


def send_batch_later(client, owner, **body):
    return client.post("/sessions/message", headers=owner.headers, json={"key": "k", "wait": False, **body})


def read(client, owner, path, wait=None):
    return client.get(path, headers=owner.headers, params=None if wait is None else {"wait": str(wait)})


def test_wait_false_answers_202_at_once_and_the_outcome_is_read_later(
    client, owner, connect, gateway, virtual_clock
):
    session = connect(owner.script_id)
    session.delay_s = 0.3  # virtual seconds

    sent = send_later(client, owner, session.session_id, data={"x": 1}, timeout=10)

    assert sent.status_code == 202, sent.text
    assert set(sent.json()) == {"success", "message_id"}
    message_id = sent.json()["message_id"]
    assert read(client, owner, f"/messages/{message_id}").json() == {"success": True, "done": False}
    started = virtual_clock.now_us
    answer = read(client, owner, f"/messages/{message_id}", wait=20).json()
    long_poll_s = virtual_clock.since(started)
    assert long_poll_s < 10  # virtual seconds: the long poll ended when the reply landed, not at 20 s
    assert answer == {"success": True, "done": True, "processed": True, "response": {"x": 1}}
    # Read again: the same outcome, and the client got exactly one frame.
    assert read(client, owner, f"/messages/{message_id}").json() == answer
    gateway.settle()
    assert [frame["type"] for frame in session.received] == ["message"]


def test_outcome_read_after_the_deadline_is_client_never_responded(client, owner, connect, virtual_clock):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None  # never answers
    message_id = send_later(client, owner, session.session_id, timeout=0.2).json()["message_id"]
    virtual_clock.sleep(0.4)  # past the deadline

    answer = read(client, owner, f"/messages/{message_id}").json()

    assert answer == {"success": True, "done": True, "processed": False, "reason": REASON_NO_RESPONSE}
    # A reply now is refused (the message was withdrawn), and the outcome stays as it was read.
    late = session.received_of_type("message")[0]["id"]
    session.reply(late, processed=True, response="late")
    assert session.received_of_type("error")
    assert read(client, owner, f"/messages/{message_id}").json() == answer


def test_a_reply_recorded_before_the_deadline_wins_when_read_after_it(client, owner, connect, virtual_clock):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None
    message_id = send_later(client, owner, session.session_id, timeout=0.5).json()["message_id"]
    session.reply(session.received_of_type("message")[0]["id"], processed=False, reason=REASON_NO_FUNCTION)
    virtual_clock.sleep(0.7)  # past the deadline

    answer = read(client, owner, f"/messages/{message_id}").json()

    assert answer == {"success": True, "done": True, "processed": False, "reason": REASON_NO_FUNCTION}


def test_long_poll_ends_at_the_deadline_with_the_outcome(client, owner, connect):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None
    message_id = send_later(client, owner, session.session_id, timeout=0.3).json()["message_id"]

    answer = read(client, owner, f"/messages/{message_id}", wait=30).json()

    assert answer["done"] is True
    assert answer["reason"] == REASON_NO_RESPONSE


def test_client_that_leaves_is_client_never_responded(client, owner, connect):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None
    message_id = send_later(client, owner, session.session_id, timeout=30).json()["message_id"]
    session.hang_up()

    answer = read(client, owner, f"/messages/{message_id}").json()

    assert answer == {"success": True, "done": True, "processed": False, "reason": REASON_NO_RESPONSE}


def test_gone_connection_is_answered_202_and_reads_client_never_responded(client, owner, connect, gateway):
    session = connect(owner.script_id)
    gateway.gone.add(session.connection_id)

    sent = send_later(client, owner, session.session_id)

    assert sent.status_code == 202
    answer = read(client, owner, f"/messages/{sent.json()['message_id']}").json()
    assert answer["reason"] == REASON_NO_RESPONSE
    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 404


def test_unknown_session_is_404_and_sends_nothing(client, owner, failure, relay_store, dynamodb, aws):
    failure(send_later(client, owner, "no-such-session"), 404)

    assert dynamodb.scan(TableName=aws["OUTCOMES_TABLE"])["Items"] == []


def test_batch_with_unknown_ids_answers_in_request_order(client, owner, connect):
    fast, slow, silent = (connect(owner.script_id) for _ in range(3))
    slow.delay_s = 0.3
    silent.behaviour = lambda frame: None
    order = [slow.session_id, "unknown-id", fast.session_id, silent.session_id]

    sent = send_batch_later(client, owner, session_ids=order, data=5, timeout=1)

    assert sent.status_code == 202, sent.text
    assert set(sent.json()) == {"success", "batch_id"}
    path = f"/batches/{sent.json()['batch_id']}"
    first = read(client, owner, path).json()
    assert first["done"] is False
    assert first["responses"][1] == {
        "session_id": "unknown-id",
        "processed": False,
        "reason": REASON_NOT_FOUND,
    }
    assert {"session_id": silent.session_id, "pending": True} in first["responses"]
    final = read(client, owner, path, wait=10).json()
    assert final == {
        "success": True,
        "done": True,
        "responses": [
            {"session_id": slow.session_id, "processed": True, "response": 5},
            {"session_id": "unknown-id", "processed": False, "reason": REASON_NOT_FOUND},
            {"session_id": fast.session_id, "processed": True, "response": 5},
            {"session_id": silent.session_id, "processed": False, "reason": REASON_NO_RESPONSE},
        ],
    }


def test_batch_by_filter_carries_matched_and_next_cursor(client, owner, connect):
    sessions = [connect(owner.script_id, job_id="later") for _ in range(3)]

    sent = send_batch_later(client, owner, filter={"job_id": "later"}, limit=2).json()

    assert sent["matched"] == 2
    assert sent["next_cursor"] is not None
    answer = read(client, owner, f"/batches/{sent['batch_id']}", wait=10).json()
    assert [entry["session_id"] for entry in answer["responses"]] == [s.session_id for s in sessions[:0:-1]]


def test_another_key_reads_404_exactly_as_an_unknown_id(client, owner, connect, make_owner, failure):
    session = connect(owner.script_id)
    other = make_owner(owner.script_id)  # even a key covering the same script
    message_id = send_later(client, owner, session.session_id).json()["message_id"]
    batch_id = send_batch_later(client, owner, session_ids=[session.session_id]).json()["batch_id"]

    for path, unknown in ((f"/messages/{message_id}", "/messages/x"), (f"/batches/{batch_id}", "/batches/x")):
        theirs = read(client, other, path)
        failure(theirs, 404)
        assert theirs.text == read(client, owner, unknown).text
        assert theirs.text == read(client, owner, path + "x" * 100).text
    # Message ids and batch ids are not interchangeable.
    failure(read(client, owner, f"/batches/{message_id}"), 404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"wait": "-1"}, "wait"),
        ({"wait": "61"}, "wait"),
        ({"wait": "nan"}, "wait"),
        ({"wait": "1e3"}, "wait"),
        ({"wait": "+1"}, "wait"),
        ({"wait": "0x10"}, "wait"),
        ({"wait": ""}, "wait"),
        ({"wait": "true"}, "wait"),
        ({"wiat": "5"}, "wiat"),
    ],
)
def test_bad_wait_is_422_naming_it(client, owner, connect, failure, params, field):
    session = connect(owner.script_id)
    message_id = send_later(client, owner, session.session_id).json()["message_id"]

    error = failure(client.get(f"/messages/{message_id}", headers=owner.headers, params=params), 422)

    assert error.startswith(f"{field}:")


def test_wait_above_the_deployments_maximum_is_422(client, owner, connect, failure, monkeypatch):
    monkeypatch.setenv("INTEGRATION_TIMEOUT_MS", "29000")
    clear_caches()
    session = connect(owner.script_id)
    message_id = send_later(client, owner, session.session_id, timeout=60).json()["message_id"]

    assert "27" in failure(read(client, owner, f"/messages/{message_id}", wait=28), 422)
    assert read(client, owner, f"/messages/{message_id}", wait=1).json()["done"] is True


def test_wait_false_deadline_is_the_requested_timeout_even_above_the_maximum_wait(
    client, owner, connect, monkeypatch, relay_store
):
    monkeypatch.setenv("INTEGRATION_TIMEOUT_MS", "29000")
    clear_caches()
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None
    sent_at = time.time()
    message_id = send_later(client, owner, session.session_id, timeout=60).json()["message_id"]

    record = relay_store.outcomes.get_message_record(message_id)

    assert record.deadline_ms / 1000 - sent_at >= 59
    assert read(client, owner, f"/messages/{message_id}").json() == {"success": True, "done": False}


def test_missing_key_is_401_before_anything(client, failure):
    failure(client.get("/messages/abc"), 401)
    failure(client.get("/batches/abc", params={"wait": "-5"}), 401)


def test_largest_batch_fits_one_record(client, owner, connect):
    # 1000 ids of the longest length a session id may have: the record stays under DynamoDB's
    # 400 KB item limit (moto enforces it), and every entry reads back in order.
    session = connect(owner.script_id)
    ids = [session.session_id] + [f"{index:04d}".ljust(128, "x") for index in range(999)]

    sent = send_batch_later(client, owner, session_ids=ids, timeout=5)

    assert sent.status_code == 202, sent.text
    answer = read(client, owner, f"/batches/{sent.json()['batch_id']}", wait=10).json()
    assert [entry["session_id"] for entry in answer["responses"]] == ids
    assert answer["responses"][0]["processed"] is True
    assert {entry["reason"] for entry in answer["responses"][1:]} == {REASON_NOT_FOUND}


def test_long_poll_ends_in_time_for_the_gateway_counted_from_arrival(
    client, owner, connect, monkeypatch, virtual_clock
):
    # The request reached API Gateway 25 s ago (a slow cold start, say): of a 29 s integration timeout
    # only about 2.5 s are left, so a 27 s long poll answers "not done" well before the gateway's 504.
    monkeypatch.setenv("INTEGRATION_TIMEOUT_MS", "29000")
    clear_caches()
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None
    message_id = send_later(client, owner, session.session_id, timeout=60).json()["message_id"]
    event = load_event("rest/get_session", api_key=owner.api_key, session_id="unused")
    event["path"] = event["requestContext"]["path"] = f"/messages/{message_id}"
    event["resource"] = "/{proxy+}"
    event["pathParameters"] = {"proxy": f"messages/{message_id}"}
    event["queryStringParameters"] = {"wait": "27"}
    event["multiValueQueryStringParameters"] = {"wait": ["27"]}
    event["requestContext"]["requestTimeEpoch"] = virtual_clock.now_ms() - 25_000

    started = virtual_clock.now_us
    answer = client.invoke(event)
    long_poll_s = virtual_clock.since(started)

    assert answer.json() == {"success": True, "done": False}
    assert long_poll_s < 4  # virtual seconds: well before the gateway's 504 (29 s after arrival)


def test_sample_events_read_a_message_and_a_batch(client, owner, connect):
    session = connect(owner.script_id)
    message_id = send_later(client, owner, session.session_id).json()["message_id"]
    batch_id = send_batch_later(client, owner, session_ids=[session.session_id]).json()["batch_id"]

    message = client.invoke(load_event("rest/get_message", api_key=owner.api_key, message_id=message_id))
    batch = client.invoke(load_event("rest/get_batch", api_key=owner.api_key, batch_id=batch_id))

    assert message.json() == {"success": True, "done": True, "processed": True, "response": []}
    assert batch.json()["responses"] == [
        {"session_id": session.session_id, "processed": True, "response": []}
    ]


def test_ids_handed_out_are_hex_and_never_start_with_a_dash(client, owner, connect, gateway):
    # An id starting with "-" reads as an option on a command line (`sessions result -P…` failed):
    # with 64 symbols one id in 64 did. Ids are 128 random bits in lowercase hex.
    sessions = [connect(owner.script_id) for _ in range(3)]
    handed_out = [send_later(client, owner, s.session_id).json()["message_id"] for s in sessions]
    handed_out.append(
        send_batch_later(client, owner, session_ids=[s.session_id for s in sessions]).json()["batch_id"]
    )
    gateway.settle()
    handed_out += [frame["id"] for s in sessions for frame in s.received_of_type("message")]
    handed_out += [new_message_id() for _ in range(5000)]  # (63/64)^5000: the old alphabet fails this

    assert len(set(handed_out)) == len(handed_out) == 3 + 1 + 6 + 5000
    assert all(re.fullmatch("[0-9a-f]{32}", one) for one in handed_out), [
        one for one in handed_out if not re.fullmatch("[0-9a-f]{32}", one)
    ][:3]
