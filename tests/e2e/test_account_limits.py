"""The account's rates in API Gateway, on a stack that sets them low, over real sockets:

- new WebSocket connections (500 a second per account and Region by default, here 20): a handshake
  beyond the rate is refused 429 and creates no session, the admitted ones are sessions as any other:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
- requests (10,000 a second with a burst of 5,000 by default, posts to connections included; here 50,
  a burst of 25): a bulk message whose posts exceed the rate still answers every session with its
  function's response, because the gateway retries a throttled post until the call's deadline and never
  takes it for a gone session: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from session_relay_tools.local.process import RunningStack, free_port, start_stack, stop_stack
from session_relay_tools.simulate import Fleet, identity_for

CONNECT_RATE = 20
REQUEST_RATE = 50
SESSIONS = 100


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    running = start_stack(
        {"SESSION_RELAY_CONNECT_RATE": str(CONNECT_RATE), "SESSION_RELAY_REQUEST_RATE": str(REQUEST_RATE)}
    )
    yield running
    stop_stack(running)


async def _handshake(stack: RunningStack, index: int):
    """An open connection, or the refused handshake's status."""
    query = urlencode(identity_for(stack.script_id, 5000 + index, job_id="burst"))
    try:
        return await websockets.connect(f"{stack.ws_url}/?{query}", open_timeout=30)
    except InvalidStatus as refused:
        return refused.response.status_code


def test_a_burst_of_handshakes_beyond_the_connect_rate_is_refused_and_creates_nothing(stack):
    attempts = 3 * CONNECT_RATE

    async def scenario(api):
        await asyncio.sleep(1.1)  # the bucket is full: CONNECT_RATE handshakes pass at once
        outcomes = await asyncio.gather(*(_handshake(stack, index) for index in range(attempts)))
        opened = [outcome for outcome in outcomes if not isinstance(outcome, int)]
        try:
            listed = await asyncio.to_thread(api.get, "/sessions", params={"job_id": "burst", "limit": 1000})
            await opened[0].send('{"action": "hello"}')  # an admitted connection works as any other
            hello = json.loads(await asyncio.wait_for(opened[0].recv(), 10))
        finally:
            await asyncio.gather(*(client.close() for client in opened))
        return [outcome for outcome in outcomes if isinstance(outcome, int)], opened, listed.json(), hello

    with stack.client() as api:
        refused, opened, listed, hello = asyncio.run(scenario(api))

    assert set(refused) == {429}  # beyond the rate every refusal is 429, and nothing else
    assert CONNECT_RATE <= len(opened) < 2 * CONNECT_RATE  # the burst, and what refilled meanwhile
    assert len(opened) + len(refused) == attempts
    assert len(listed["sessions"]) == len(opened)  # a refused handshake created no session
    assert hello["type"] == "hello"
    assert hello["session"]["id"] in {session["id"] for session in listed["sessions"]}


def test_a_bulk_message_beyond_the_request_rate_answers_every_session(stack):
    fleet = Fleet(stack.ws_url, stack.script_id)
    try:
        clients = []
        time.sleep(1.1)  # the connect bucket is full again, whatever ran before
        for _ in range(SESSIONS // 10):  # under the connect rate; each hello is answered by a post
            clients += fleet.connect(10)
            time.sleep(10 / CONNECT_RATE)
        ids = [client.session_id for client in clients]
        time.sleep(1)  # the request bucket refills to its burst
        with stack.client(timeout=60) as api:
            started = time.monotonic()
            answer = api.post(
                "/sessions/message", json={"session_ids": ids, "key": "echo", "data": "all", "timeout": 20}
            )
            took_s = time.monotonic() - started
    finally:
        fleet.stop()

    assert answer.status_code == 200, answer.text
    responses = answer.json()["responses"]
    assert [entry["session_id"] for entry in responses] == ids
    assert [entry for entry in responses if entry.get("reason") == "session not found"] == []
    assert responses == [{"session_id": sid, "processed": True, "response": "all"} for sid in ids]
    # 100 posts and the call itself through a bucket of 25 refilled at 50 a second: posts waited for
    # tokens (a second and a half at least), so the rate was in force and the retries carried them.
    assert took_s > (SESSIONS + 1 - REQUEST_RATE // 2) / REQUEST_RATE * 0.9


def test_rest_calls_beyond_the_request_rate_get_api_gateways_429(stack):
    async def burst():
        await asyncio.sleep(1)  # the bucket refills to its burst (25)
        async with httpx.AsyncClient(base_url=stack.rest_url, timeout=30) as client:
            return await asyncio.gather(*(client.get("/health") for _ in range(3 * REQUEST_RATE)))

    answers = asyncio.run(burst())

    throttled = [answer for answer in answers if answer.status_code == 429]
    served = [answer for answer in answers if answer.status_code == 200]
    assert len(throttled) + len(served) == len(answers)  # nothing but the function's answer or a 429
    assert len(served) >= REQUEST_RATE // 2  # the burst passed
    assert throttled  # beyond it, API Gateway's own answer:
    assert all(answer.json() == {"message": "Too Many Requests"} for answer in throttled)
    assert all(answer.headers["x-amzn-errortype"] == "TooManyRequestsException" for answer in throttled)
    assert all(answer.json() == {"success": True} for answer in served)


def test_a_rate_that_is_not_a_positive_number_stops_the_stack_with_a_sentence():
    done = subprocess.run(
        [sys.executable, "-m", "session_relay_tools.local"],
        env={
            **os.environ,
            "SESSION_RELAY_REQUEST_RATE": "0",
            **{f"SESSION_RELAY_{part}_PORT": str(free_port()) for part in ("REST", "WS", "DYNAMODB")},
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "SESSION_RELAY_REQUEST_RATE must be a positive number of requests a second, not '0'" in done.stderr
    assert "Traceback" not in done.stderr
