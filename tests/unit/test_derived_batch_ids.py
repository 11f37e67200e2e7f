"""An idempotent call's batch id is derived from the call (key, Idempotency-Key, route and body), so a
retry finds the batch its first attempt started; once the retry window has passed, the same id is that
of a new call, which replaces the old record (even one TTL has not deleted yet) and sends again."""

import pytest
from session_relay import clock
from session_relay.errors import RecordExists
from session_relay.service import wiring
from session_relay.service.access import Targets
from session_relay.service.delivery import MessageFrames
from session_relay.service.idempotency import RETRY_WINDOW_S, derived_id
from session_relay.store import OutcomeRecord, Target

BATCH = derived_id("key-id", "retry-1", {"route": "POST /sessions/message", "body": {"key": "k"}})


def test_the_same_call_derives_the_same_id_and_another_body_another():
    same = derived_id("key-id", "retry-1", {"body": {"b": 1, "a": [1, 2]}, "route": "POST /sessions/message"})
    again = derived_id(
        "key-id", "retry-1", {"route": "POST /sessions/message", "body": {"a": [1, 2], "b": 1}}
    )
    other = derived_id(
        "key-id", "retry-1", {"route": "POST /sessions/message", "body": {"a": [2, 1], "b": 1}}
    )
    stranger = derived_id(
        "other-key", "retry-1", {"route": "POST /sessions/message", "body": {"a": [1, 2], "b": 1}}
    )

    assert same == again
    assert len({same, other, stranger}) == 3
    assert len(same) == 32
    assert set(same) <= set("0123456789abcdef")


def test_a_record_within_the_window_is_kept_and_one_from_before_it_is_replaced(relay_store):
    now_ms = clock.now_ms()
    first = OutcomeRecord("key-id", now_ms + 1_000, (Target("a"),))
    second = OutcomeRecord("key-id", now_ms + 2_000, (Target("b"),))
    relay_store.outcomes.put_batch_record(BATCH, first)

    with pytest.raises(RecordExists):
        relay_store.outcomes.put_batch_record(BATCH, second, replaces_before_ms=first.deadline_ms)
    assert relay_store.outcomes.get_batch_record(BATCH) == first

    relay_store.outcomes.put_batch_record(BATCH, second, replaces_before_ms=first.deadline_ms + 1)
    assert relay_store.outcomes.get_batch_record(BATCH) == second


def test_a_retry_within_the_window_sends_nothing_and_a_call_after_it_sends_again(
    owner, connect, gateway, relay_store, monkeypatch
):
    session = connect(owner.script_id)
    later = wiring.get_messaging().later
    found = Targets([session.session_id], {session.session_id: relay_store.sessions.get(session.session_id)})
    frames = MessageFrames("k", "x")

    batch_id, first = later.send_batch(owner.key_id, found, frames, 5, BATCH)
    again_id, again = later.send_batch(owner.key_id, found, frames, 5, BATCH)
    gateway.settle()
    assert (again_id, again) == (batch_id, first)
    assert len(session.received) == 1

    start = clock.epoch_s()
    monkeypatch.setattr(clock, "epoch_s", lambda: start + RETRY_WINDOW_S + 61)
    _, renewed = later.send_batch(owner.key_id, found, frames, 5, BATCH)
    gateway.settle()
    assert renewed != first
    assert len(session.received) == 2
