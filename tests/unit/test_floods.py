"""The per-connection frame rate (PROTOCOL.md section 2, "too many frames"): a reply the server accepts
never counts, so it is never the frame that closes a connection, however frames interleave; any other
frame that finds the bucket empty closes the connection for flooding."""

import threading
import time

from session_relay import clock
from session_relay.contract import REASON_INVALID
from session_relay.errors import ServiceUnavailable
from session_relay.websocket import floods
from session_relay.websocket.floods import ADMIT, BURST, CLOSED, EMPTY, FLOOD, FrameRate

DISCONNECT = {"type": "disconnect", "reason": "too many frames"}

# ------------------------------------------------------------------------------------------------
# FrameRate
# ------------------------------------------------------------------------------------------------


def test_take_admits_the_burst_then_finds_the_bucket_empty_without_closing():
    rate = FrameRate(clock=lambda: 0.0)
    assert [rate.take("c") for _ in range(BURST)] == [ADMIT] * BURST
    assert rate.take("c") == EMPTY
    assert rate.take("c") == EMPTY  # empty stays empty, and the connection stays open
    assert not rate.is_closed("c")
    assert rate.take("neighbour") == ADMIT


def test_close_is_done_by_one_call_and_later_frames_find_it_closed():
    rate = FrameRate(clock=lambda: 0.0)
    assert rate.close("c") is True
    assert rate.close("c") is False  # whoever comes second does not tell the client again
    assert rate.is_closed("c")
    assert rate.take("c") == CLOSED
    assert rate.admit("c") == CLOSED


def test_an_empty_bucket_refills_at_the_rate_by_arrival_time():
    rate = FrameRate(clock=lambda: 0.0)
    for _ in range(BURST):
        rate.take("c", 100.0)
    assert rate.take("c", 100.0) == EMPTY
    assert rate.take("c", 100.0 + 1.5 / floods.RATE) == ADMIT  # a token and a half came back
    assert rate.take("c", 100.0 + 1.5 / floods.RATE) == EMPTY
    assert rate.take("c", 99.0) == EMPTY  # a frame handled late refills nothing


def test_admit_is_take_then_close_when_empty():
    rate = FrameRate(clock=lambda: 0.0)
    for _ in range(BURST):
        assert rate.admit("c") == ADMIT
    assert rate.admit("c") == FLOOD
    assert rate.admit("c") == CLOSED


def test_a_failed_close_is_tried_again_by_the_next_frame():
    rate = FrameRate(clock=lambda: 0.0)
    assert rate.close("c")
    rate.retry_close("c")
    assert not rate.is_closed("c")
    assert rate.take("c") == EMPTY


def test_concurrent_takes_on_an_empty_bucket_close_once():
    rate = FrameRate(clock=lambda: 0.0)
    for _ in range(BURST):
        rate.take("c")
    start = threading.Barrier(16)
    closed = []

    def flood() -> None:
        start.wait()
        if rate.take("c") == EMPTY and rate.close("c"):
            closed.append(1)

    threads = [threading.Thread(target=flood) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert closed == [1]


# ------------------------------------------------------------------------------------------------
# The $default handler (sample events all arrive at the same instant: the bucket never refills)
# ------------------------------------------------------------------------------------------------


def pending(relay_store, session, *message_ids):
    record = relay_store.sessions.get(session.session_id)
    for message_id in message_ids:
        relay_store.messages.put(record, message_id, clock.now_ms() + 30_000)


def hellos(session, n=BURST):
    for _ in range(n):
        session.send_frame({"action": "hello"})
    assert len(session.received_of_type("hello")) == min(n, BURST)


def test_30_hellos_then_an_accepted_reply_is_recorded_and_no_flood(owner, connect, relay_store, gateway):
    session = connect(owner.script_id)
    pending(relay_store, session, "m1")
    hellos(session)

    session.reply("m1", processed=True, response="after the burst")

    assert relay_store.messages.read(session.connection_id, "m1")[1].as_contract() == {
        "processed": True,
        "response": "after the burst",
    }
    assert session.received_of_type("disconnect") == []
    assert session.received_of_type("error") == []
    assert gateway.closed == []
    session.send_frame({"action": "hello"})  # the reply took nothing, and gave nothing back
    assert session.received_of_type("disconnect") == [DISCONNECT]


def test_30_hellos_then_a_malformed_reply_still_counts_and_is_no_flood(owner, connect, relay_store, gateway):
    session = connect(owner.script_id)
    pending(relay_store, session, "m1")
    hellos(session)

    session.reply("m1", processed=True)  # no response: accepted, answered "invalid return data"

    assert relay_store.messages.read(session.connection_id, "m1")[1].reason == REASON_INVALID
    assert len(session.received_of_type("error")) == 1
    assert session.received_of_type("disconnect") == []
    assert gateway.closed == []


def test_30_hellos_then_a_reply_to_an_unknown_id_is_closed_for_flooding(owner, connect, gateway):
    session = connect(owner.script_id)
    hellos(session)

    session.reply("no-such-message", processed=True, response=1)

    assert session.received_of_type("disconnect") == [DISCONNECT]
    assert session.received_of_type("error") == []
    assert gateway.closed == [session.connection_id]


def test_30_hellos_then_a_reply_without_an_id_is_closed_for_flooding(owner, connect, gateway):
    session = connect(owner.script_id)
    hellos(session)

    session.send_frame({"action": "reply", "processed": True, "response": 1})

    assert session.received_of_type("disconnect") == [DISCONNECT]
    assert gateway.closed == [session.connection_id]


def test_30_hellos_then_a_reply_that_could_not_be_recorded_is_closed_for_flooding(
    owner, connect, relay_store, gateway, monkeypatch
):
    session = connect(owner.script_id)
    pending(relay_store, session, "m1")
    hellos(session)

    def unavailable(*_):
        raise ServiceUnavailable("DynamoDB is unavailable")

    monkeypatch.setattr(relay_store.messages, "record_reply", unavailable)
    session.reply("m1", processed=True, response=1)

    assert session.received_of_type("disconnect") == [DISCONNECT]
    assert gateway.closed == [session.connection_id]


def test_a_reply_that_could_not_be_recorded_is_answered_while_tokens_are_left(
    owner, connect, relay_store, gateway, monkeypatch
):
    session = connect(owner.script_id)
    pending(relay_store, session, "m1")

    def unavailable(*_):
        raise ServiceUnavailable("DynamoDB is unavailable")

    monkeypatch.setattr(relay_store.messages, "record_reply", unavailable)
    session.reply("m1", processed=True, response=1)

    assert [frame["error"] for frame in session.received_of_type("error")] == [
        "DynamoDB is unavailable; the frame was not handled"
    ]
    assert gateway.closed == []


def test_a_reply_after_the_close_is_dropped_unrecorded(owner, connect, relay_store, gateway, monkeypatch):
    session = connect(owner.script_id)
    pending(relay_store, session, "m1")
    hellos(session, BURST + 1)  # the last one is the flood
    assert gateway.closed == [session.connection_id]
    calls = []
    monkeypatch.setattr(relay_store.messages, "record_reply", lambda *args: calls.append(args))

    session.reply("m1", processed=True, response=1)

    assert calls == []  # no DynamoDB access
    assert session.received_of_type("disconnect") == [DISCONNECT]


def test_a_reply_being_recorded_holds_no_token_from_a_frame_beside_it(
    owner, connect, relay_store, monkeypatch
):
    """The interleaving that closed a connection for a reply: the reply took the last token, and
    another frame found the bucket empty before the reply gave it back."""
    session = connect(owner.script_id)
    pending(relay_store, session, "m1")
    hellos(session, BURST - 1)  # one token left
    record_reply = relay_store.messages.record_reply
    recording, release = threading.Event(), threading.Event()

    def slow_record_reply(*args):
        recording.set()
        assert release.wait(10)
        return record_reply(*args)

    monkeypatch.setattr(relay_store.messages, "record_reply", slow_record_reply)
    reply = threading.Thread(target=session.reply, args=("m1",), kwargs={"processed": True, "response": 1})
    reply.start()
    assert recording.wait(10)
    session.send_frame({"action": "hello"})  # while the reply is being recorded
    release.set()
    reply.join(10)

    assert session.received_of_type("disconnect") == []
    assert len(session.received_of_type("hello")) == BURST
    assert relay_store.messages.read(session.connection_id, "m1")[1].processed is True


def test_45_replies_at_once_on_threads_all_count_and_none_is_a_flood(
    owner, connect, relay_store, gateway, monkeypatch
):
    session = connect(owner.script_id)
    ids = [f"m{n}" for n in range(45)]
    pending(relay_store, session, *ids)
    record_reply = relay_store.messages.record_reply

    def slow_record_reply(*args):  # DynamoDB takes a while: the frames are all in flight together
        time.sleep(0.2)
        return record_reply(*args)

    monkeypatch.setattr(relay_store.messages, "record_reply", slow_record_reply)
    start = threading.Barrier(len(ids))

    def answer(message_id: str) -> None:
        start.wait()
        session.reply(message_id, processed=True, response=message_id)

    threads = [threading.Thread(target=answer, args=(message_id,)) for message_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert session.received_of_type("disconnect") == []
    assert session.received_of_type("error") == []
    assert gateway.closed == []
    for message_id in ids:
        assert relay_store.messages.read(session.connection_id, message_id)[1].response == message_id
