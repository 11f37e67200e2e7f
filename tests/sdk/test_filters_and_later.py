"""The SDK's bulk calls by filter, messages answered later, idempotency keys, and the long polls that
give a blocking message its full wait on a deployment that waits less per call."""

import asyncio

import pytest
from session_relay_client import (
    AsyncSessionRelay,
    BatchAccepted,
    MessageAccepted,
    MessageResult,
    NotFound,
    SessionFilter,
    SessionRelay,
    ValidationError,
)

from session_relay_tools.local.process import start_stack, stop_stack
from session_relay_tools.simulate import Fleet


def test_message_and_disconnect_by_filter_page_by_page(relay, connect, place_id):
    clients = connect(3)
    where = SessionFilter(place_id=place_id)

    first = relay.message_many(where, "echo", 1, limit=2, timeout=10)
    second = relay.message_many(where, "echo", 2, cursor=first.next_cursor, timeout=10)
    gone = relay.disconnect_many(where)

    assert first.matched == 2
    assert second.matched == 1
    assert second.next_cursor is None
    messaged = [entry.session_id for entry in first.responses + second.responses]
    assert sorted(messaged) == sorted(client.session_id for client in clients)
    assert sorted(gone.disconnected) == sorted(messaged)
    assert gone.matched == 3


def test_wait_false_then_get_message_and_get_batch(relay, connect):
    fast, slow = connect(2)

    accepted = relay.message(slow.session_id, "sleep", 0.5, wait=False)
    batch = relay.message_many([fast.session_id, "unknown"], "echo", "b", wait=False, timeout=5)

    assert isinstance(accepted, MessageAccepted)
    assert isinstance(batch, BatchAccepted)
    outcome = relay.get_message(accepted.message_id, wait=10)
    assert outcome.done is True
    assert outcome.response == 0.5
    entries = relay.get_batch(batch.batch_id, wait=10)
    assert entries.done is True
    assert [(e.session_id, e.response, e.reason) for e in entries.responses] == [
        (fast.session_id, "b", None),
        ("unknown", None, "session not found"),
    ]
    with pytest.raises(NotFound):
        relay.get_message("no-such-message")


def test_idempotency_key_repeats_send_nothing(relay, connect):
    (client,) = connect(1)

    first = relay.message(client.session_id, "echo", 9, idempotency_key="sdk-once")
    again = relay.message(client.session_id, "echo", 9, idempotency_key="sdk-once")

    assert first == again == MessageResult(processed=True, response=9)
    assert [frame["type"] for frame in client.received].count("message") == 1
    with pytest.raises(ValidationError, match="Idempotency-Key"):
        relay.message(client.session_id, "echo", 10, idempotency_key="sdk-once")


def test_wait_false_over_1000_ids_is_refused_before_sending(local_stack, recording_transport):
    ids = [f"id-{index}" for index in range(1001)]
    relay = SessionRelay(local_stack.rest_url, local_stack.api_key, transport=recording_transport)
    with relay, pytest.raises(ValidationError, match="session_ids"):
        relay.message_many(ids, "echo", wait=False)
    assert recording_transport.requests == []


@pytest.fixture(scope="module")
def short_stack():
    """A stack whose integration timeout (5 s) allows 3 s waits per call."""
    stack = start_stack({"INTEGRATION_TIMEOUT_MS": "5000"})
    yield stack
    stop_stack(stack)


def test_blocking_message_longer_than_the_deployments_wait_long_polls(short_stack, recording_transport):
    fleet = Fleet(short_stack.ws_url, short_stack.script_id)
    try:
        (client,) = fleet.connect(1)
        transport = recording_transport
        with SessionRelay(short_stack.rest_url, short_stack.api_key, transport=transport) as relay:
            result = relay.message(client.session_id, "sleep", 5, timeout=10)

        async def in_async() -> MessageResult:
            async with AsyncSessionRelay(short_stack.rest_url, short_stack.api_key) as relay:
                return await relay.message(client.session_id, "sleep", 4, timeout=8)

        async_result = asyncio.run(in_async())
    finally:
        fleet.stop()
    assert result == MessageResult(processed=True, response=5)
    assert async_result == MessageResult(processed=True, response=4)
    polls = [r for r in transport.requests if r.url.path.startswith("/messages/")]
    assert len(polls) >= 2  # 3 s a call cannot hold a 5 s function: the SDK polled again
    assert all(float(r.url.params["wait"]) <= 3 for r in polls)
