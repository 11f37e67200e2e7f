"""Long polls at scale on the local stack: reads of a batch of 600 silent sessions whose deadline falls
near the end of their wait answer before a 29 s integration timeout (never the gateway's 504),
however many messages the read that meets the deadline withdraws."""

import asyncio
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest
import websockets

from session_relay_tools.local.process import RunningStack, start_stack, stop_stack
from session_relay_tools.simulate import raw_identity

SILENT = 600
WAIT_S = 27


@pytest.fixture(scope="module")
def stack_29s() -> Any:
    stack = start_stack({"INTEGRATION_TIMEOUT_MS": "29000"})
    yield stack
    stop_stack(stack)


async def _hold_silent(
    stack: RunningStack, place_id: int, ready: threading.Event, stop: asyncio.Event
) -> None:
    """Open connections that never answer, in waves of 100; hold them until ``stop``."""
    opened: list[Any] = []
    for start in range(0, SILENT, 100):
        wave = [
            websockets.connect(
                f"{stack.ws_url}/?{urlencode(raw_identity(stack.script_id, place_id=place_id))}",
                open_timeout=60,
            )
            for _ in range(start, start + 100)
        ]
        opened.extend(await asyncio.gather(*wave))
    ready.set()
    await stop.wait()
    for start in range(0, len(opened), 50):
        await asyncio.gather(
            *(socket.close() for socket in opened[start : start + 50]), return_exceptions=True
        )


def test_staggered_long_polls_of_a_batch_whose_deadline_ends_the_wait_never_time_out(stack_29s):
    place_id = 1 + secrets.randbelow(2**40)
    loop, ready, stop = asyncio.new_event_loop(), threading.Event(), asyncio.Event()
    holder = threading.Thread(
        target=loop.run_until_complete, args=(_hold_silent(stack_29s, place_id, ready, stop),), daemon=True
    )
    holder.start()
    try:
        assert ready.wait(240), "the silent sessions did not connect"
        with stack_29s.client() as api:
            body = {"filter": {"place_id": place_id}, "key": "echo", "timeout": WAIT_S, "wait": False}
            sent = api.post("/sessions/message", json=body)
            assert sent.status_code == 202, sent.text
            assert sent.json()["matched"] == SILENT
            batch = f"/batches/{sent.json()['batch_id']}"

            def read(delay_s: float) -> Any:
                threading.Event().wait(delay_s)
                with stack_29s.client() as reader:
                    return reader.get(batch, params={"wait": WAIT_S})

            with ThreadPoolExecutor(4) as readers:
                answers = list(readers.map(read, [0.2, 0.7, 1.2, 1.7]))
            for answer in answers:
                assert answer.status_code == 200, f"{answer.status_code}: {answer.text[:200]}"
            final = api.get(batch, params={"wait": WAIT_S})
        assert final.status_code == 200, final.text[:200]
        entries = final.json()["responses"]
        assert final.json()["done"] is True
        assert len(entries) == SILENT
        assert {entry.get("reason") for entry in entries} == {"client never responded"}
    finally:
        loop.call_soon_threadsafe(stop.set)
        holder.join(120)
