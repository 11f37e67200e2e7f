"""Retries without repeats, under faults: once a call's frames are out no failure turns it into a 503,
and whatever the first attempt's fate, a retry finds the batch it started and sends nothing again."""

import json
import time

from session_relay.clock import now_ms
from session_relay.settings import get_settings
from support.functions import LambdaContext


def _is_outcome_poll(request) -> bool:
    """The poll of a batch's messages (it projects ``reply``), not the lookup of its sessions."""
    return b"reply" in request.body


def _writes_to(table: str):
    return lambda request: json.loads(request.body).get("TableName") == table


def _keyed(relay, body, key, context=None):
    headers = {"Authorization": f"Bearer {relay.api_key}", "Idempotency-Key": key}
    return relay.rest.request(
        "POST", "/sessions/message", headers=headers, json_body=body, context=context, arrival_ms=now_ms()
    )


def test_an_idempotent_bulk_call_whose_polls_fail_after_its_frames_went_out_still_answers(relay):
    executor = relay.connect()
    relay.faults.fail("BatchGetItem", "InternalServerError", when=_is_outcome_poll)
    body = {"session_ids": [executor.session_id, "unknown"], "key": "echo", "data": "once", "timeout": 1}

    first = _keyed(relay, body, "polls-fail")

    assert first.status_code == 200, first.text  # not 503: the frame was out
    assert relay.faults.injected["BatchGetItem"] > 0
    assert first.json()["responses"] == [
        {"session_id": executor.session_id, "processed": True, "response": "once"},
        {"session_id": "unknown", "processed": False, "reason": "session not found"},
    ]
    relay.faults.heal()
    again = _keyed(relay, body, "polls-fail")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert len(executor.received_of_type("message")) == 1  # the retry sent nothing again


def test_a_retry_after_the_first_attempt_lost_its_answer_finds_the_batch_it_started(relay):
    executor = relay.connect()
    # The first attempt runs, but its answer cannot be kept (the idempotency store fails after the
    # frames went out): it answers all the same, and its key stays "in progress" until that Lambda
    # could no longer be running (2 s here), as after a Lambda killed mid-call.
    relay.faults.fail("UpdateItem", "InternalServerError", when=_writes_to(get_settings().idempotency_table))
    body = {"session_ids": [executor.session_id], "key": "echo", "data": "once", "timeout": 1}

    first = _keyed(relay, body, "answer-lost", LambdaContext(remaining_ms=2_000))

    assert first.status_code == 200, first.text
    assert first.json()["responses"][0] == {
        "session_id": executor.session_id,
        "processed": True,
        "response": "once",
    }
    relay.faults.heal()
    time.sleep(2.5)  # the first attempt's in-progress record has expired: the retry runs as a first call
    again = _keyed(relay, body, "answer-lost")

    assert again.status_code == 200, again.text
    assert again.json() == first.json()  # rebuilt from the batch the first attempt started
    assert len(executor.received_of_type("message")) == 1


def test_a_first_attempt_refused_before_any_frame_keeps_nothing_and_the_retry_sends_once(relay):
    executor = relay.connect()
    relay.faults.fail("BatchWriteItem", "InternalServerError")  # the pending messages cannot be recorded
    body = {"session_ids": [executor.session_id], "key": "echo", "data": "once", "timeout": 2}

    first = _keyed(relay, body, "refused-first")

    assert first.status_code == 503, first.text
    assert executor.received_of_type("message") == []
    relay.faults.heal()
    again = _keyed(relay, body, "refused-first")
    assert again.status_code == 200, again.text
    assert again.json()["responses"][0]["response"] == "once"
    assert len(executor.received_of_type("message")) == 1
