"""The asyncio SDK against the local stack, over real HTTP."""

import asyncio

import pytest
from session_relay_client import AsyncSessionRelay, SessionNotFound, Unauthorized


def test_async_client_lists_gets_and_messages(local_stack, connect, place_id):
    clients = connect(3)
    ids = {client.session_id for client in clients}

    async def scenario():
        async with AsyncSessionRelay(local_stack.rest_url, local_stack.api_key) as relay:
            assert await relay.health() is True
            listed = [session.id async for session in relay.iter_sessions(place_id=place_id, page_size=1)]
            first = await relay.list_sessions(place_id=place_id, limit=1)
            session = await relay.get_session(clients[0].session_id)
            answer = await relay.message(clients[0].session_id, "echo", [1, "two"])
            return listed, first, session, answer

    listed, first, session, answer = asyncio.run(scenario())
    assert sorted(listed) == sorted(ids)
    assert len(first.sessions) == 1
    assert first.next_cursor is not None
    assert session.place_id == place_id
    assert answer.processed is True
    assert answer.response == [1, "two"]


def test_async_bulk_calls_chunk_over_1000_ids_in_request_order(local_stack, connect):
    first, last = (client.session_id for client in connect(2))
    unknown = [f"async-unknown-{index}" for index in range(2000)]
    ids = [first, *unknown, last]
    progress: list[int] = []

    async def scenario():
        async with AsyncSessionRelay(local_stack.rest_url, local_stack.api_key, max_concurrency=2) as relay:
            messaged = await relay.message_many(ids, "echo", "hey", timeout=20, progress=progress.append)
            disconnected = await relay.disconnect_many(ids)
            with pytest.raises(SessionNotFound):
                await relay.get_session(first)
            return messaged, disconnected

    messaged, disconnected = asyncio.run(scenario())
    assert [entry.session_id for entry in messaged.responses] == ids
    assert messaged.responses[0].response == "hey"
    assert messaged.responses[-1].response == "hey"
    assert {entry.reason for entry in messaged.responses[1:-1]} == {"session not found"}
    assert sorted(progress) == [2, 1000, 1000]
    assert disconnected.disconnected == [first, last]
    assert disconnected.not_disconnected == unknown


def test_async_errors_are_typed(local_stack):
    async def scenario():
        async with AsyncSessionRelay(local_stack.rest_url, "sr_wrong") as relay:
            await relay.list_sessions()

    with pytest.raises(Unauthorized) as raised:
        asyncio.run(scenario())
    assert raised.value.status == 401
