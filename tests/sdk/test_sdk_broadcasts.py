"""The SDK's broadcasts against the local stack: start, follow, page the responses, cancel, list,
synchronously and with asyncio."""

import asyncio
import time

import pytest
from session_relay_client import AsyncSessionRelay, Broadcast, SessionFilter


def done(relay, broadcast_id, within_s=60) -> Broadcast:
    ends = time.monotonic() + within_s
    while time.monotonic() < ends:
        shown = relay.get_broadcast(broadcast_id, wait=5)
        if shown.done:
            return shown
    raise AssertionError("the broadcast did not end")


def test_a_broadcast_started_followed_and_paged_with_the_sdk(relay, connect, place_id):
    clients = connect(4)

    broadcast_id = relay.broadcast(SessionFilter(place_id=place_id), "echo", {"n": 1}, timeout=10)
    shown = done(relay, broadcast_id)

    assert shown.action == "message"
    assert shown.matched == 4
    assert shown.counts.processed == 4
    assert shown.counts.not_processed["client never responded"] == 0
    entries = [entry for page in relay.responses(broadcast_id, page_size=3) for entry in page.responses]
    assert sorted(entry["session_id"] for entry in entries) == sorted(c.session_id for c in clients)
    assert all(entry["response"] == {"n": 1} for entry in entries)
    assert broadcast_id in [b.id for b in relay.list_broadcasts(limit=100).broadcasts]
    relay.cancel_broadcast(broadcast_id)  # a done broadcast stays as it is
    assert relay.get_broadcast(broadcast_id).cancelled is False


def test_a_disconnect_broadcast_with_the_async_client(local_stack, connect, place_id):
    clients = connect(3)

    async def run():
        async with AsyncSessionRelay(local_stack.rest_url, local_stack.api_key) as relay:
            broadcast_id = await relay.broadcast({"place_id": place_id}, disconnect=True)
            for _ in range(12):
                shown = await relay.get_broadcast(broadcast_id, wait=5)
                if shown.done:
                    break
            pages = [page async for page in relay.responses(broadcast_id)]
            return shown, pages

    shown, pages = asyncio.run(run())

    assert shown.counts.disconnected == 3
    assert shown.counts.session_not_found == 0
    entries = [entry for page in pages for entry in page.responses]
    assert sorted(e["session_id"] for e in entries) == sorted(c.session_id for c in clients)
    assert all(e["disconnected"] is True for e in entries)


def test_a_message_broadcast_needs_a_key(relay):
    with pytest.raises(ValueError, match="key"):
        relay.broadcast({})
