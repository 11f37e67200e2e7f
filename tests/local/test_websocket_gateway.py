"""The local WebSocket gateway over real sockets (uvicorn, as the stack runs it), on handlers of the
tests' own, held to what API Gateway does:

- the upgrade is pending until ``$connect`` completes, and ``$disconnect`` runs after the connection
  closed, best-effort: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
  So a client that leaves while ``$connect`` runs still gets its ``$disconnect`` (the connection was
  made, and closed at once), and a ``$disconnect`` that Lambda throttles is lost, since API Gateway
  never retries an invocation: https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
- the stage's throttle (``DefaultRouteSettings``) is one token bucket over every client frame; beyond
  it a frame runs nothing and the client gets "429 Too Many Requests" (as a frame):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html
"""

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
import websockets

from local import mapping_records
from session_relay_tools.local import limits
from session_relay_tools.local.connection import Connection
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.websocket_gateway import WebSocketGateway
from tests.local.conftest import template_text


@pytest.fixture
def websocket_host(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(template_text(route_keys=("$connect", "$disconnect", "$default")))
    hosts: list[FunctionHost] = []

    def make(concurrency: int = 50) -> FunctionHost:
        hosts.append(FunctionHost(path, concurrency=concurrency))
        return hosts[-1]

    yield make
    for host in hosts:
        host.close()


def _calls() -> list[tuple[str, str]]:
    """The record of the WebSocket invocations the test handlers ran from now on (every route's, in
    every execution environment)."""
    mapping_records.reset()
    return mapping_records.WEBSOCKET_CALLS


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(gateway: WebSocketGateway) -> AsyncIterator[tuple[str, int]]:
    """The gateway behind uvicorn's sans-I/O WebSocket protocol, as the local stack serves it."""
    port = _free_port()
    config = uvicorn.Config(
        gateway, host="127.0.0.1", port=port, lifespan="off", log_level="error", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        await task


async def _eventually(condition, timeout_s: float = 5) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return condition()


async def _upgrade_then_leave(address: tuple[str, int], query: str) -> None:
    """Send a WebSocket upgrade request, then close the socket before any answer can come."""
    _reader, writer = await asyncio.open_connection(*address)
    writer.write(
        (
            f"GET /?{query} HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_clients_that_leave_during_a_slow_connect_each_get_their_disconnect(websocket_host):
    host = websocket_host()
    gateway = WebSocketGateway(host, "127.0.0.1:1")
    calls = _calls()

    async def scenario():
        async with serving(gateway) as address:
            await asyncio.gather(*(_upgrade_then_leave(address, "sleep_s=0.5") for _ in range(10)))
            connected = await _eventually(lambda: sum(route == "$connect" for route, _ in calls) == 10)
            disconnected = await _eventually(lambda: sum(route == "$disconnect" for route, _ in calls) == 10)
            return connected, disconnected

    connected, disconnected = asyncio.run(scenario())

    assert connected  # each $connect ran to its end after its client had left...
    assert disconnected  # ...and each of those connections got its $disconnect, as any closed one
    connects = {connection_id for route, connection_id in calls if route == "$connect"}
    disconnects = [connection_id for route, connection_id in calls if route == "$disconnect"]
    assert sorted(disconnects) == sorted(connects)
    assert gateway.connections == {}


def test_a_disconnect_that_lambda_throttles_is_lost_as_api_gateway_never_retries(websocket_host):
    host = websocket_host(concurrency=1)
    gateway = WebSocketGateway(host, "127.0.0.1:1")
    calls = _calls()

    async def scenario():
        async with serving(gateway) as (address, port):
            client = await websockets.connect(f"ws://{address}:{port}/")
            holding = asyncio.create_task(host.invoke(host.rest_function, {"body": '{"sleep_s": 1}'}))
            await _eventually(lambda: host.concurrency.in_use() == 1)
            await client.close()
            await holding
            await asyncio.sleep(0.5)  # time enough for a retry, were there one
            return await _eventually(lambda: not gateway.connections)

    assert asyncio.run(scenario())
    assert [route for route, _ in calls] == ["$connect"]  # the throttled $disconnect never ran


def _throttle_frames(messages: list[str]) -> list[dict]:
    return [frame for frame in map(json.loads, messages) if frame.get("message") == "Too Many Requests"]


async def _receive_all(client, quiet_s: float = 0.3) -> list[str]:
    received = []
    with contextlib.suppress(TimeoutError):
        while True:
            received.append(await asyncio.wait_for(client.recv(), quiet_s))
    return received


def test_a_burst_beyond_the_stage_burst_limit_is_throttled_and_the_rest_passes(websocket_host):
    host = websocket_host()
    # No refill within the test: exactly the burst passes.
    gateway = WebSocketGateway(host, "127.0.0.1:1", throttle=limits.TokenBucket(0.001, 5))
    calls = _calls()

    async def scenario():
        async with serving(gateway) as (ip, port), websockets.connect(f"ws://{ip}:{port}/") as client:
            for index in range(8):
                await client.send(json.dumps({"action": "anything", "n": index}))
            received = await _receive_all(client)
            await _eventually(lambda: sum(route == "$default" for route, _ in calls) == 5)
            await client.send(json.dumps({"action": "still open"}))
            after = await _receive_all(client)
            return received, after

    received, after = asyncio.run(scenario())

    assert sum(route == "$default" for route, _ in calls) == 5
    throttled = _throttle_frames(received)
    assert len(throttled) == 3 == len(received)
    assert all(frame["connectionId"] and frame["requestId"] for frame in throttled)
    assert len(_throttle_frames(after)) == 1  # the connection stays open; the bucket is still empty


def test_the_stage_throttle_is_shared_by_every_connection(websocket_host):
    host = websocket_host()
    gateway = WebSocketGateway(host, "127.0.0.1:1", throttle=limits.TokenBucket(0.001, 5))
    calls = _calls()

    async def scenario():
        async with serving(gateway) as (address, port):
            url = f"ws://{address}:{port}/"
            async with websockets.connect(url) as first, websockets.connect(url) as second:
                for _ in range(3):
                    await first.send('{"action": "a"}')
                for _ in range(3):
                    await second.send('{"action": "b"}')
                return await _receive_all(first), await _receive_all(second)

    first, second = asyncio.run(scenario())

    # Each connection sent 3, under any per-connection limit; together they are one over the burst.
    assert (len(_throttle_frames(first)), len(_throttle_frames(second))) == (0, 1)
    assert sum(route == "$default" for route, _ in calls) == 5


def test_the_token_bucket_refills_at_its_rate_up_to_its_burst():
    now = [0.0]
    bucket = limits.TokenBucket(rate_per_s=2, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # one token
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 100  # refilled, but never beyond the burst
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_the_stage_throttle_is_the_templates_unless_the_environment_sets_it():
    from session_relay_tools.template import load_template

    template = load_template()
    parameters = template["Parameters"]
    default = limits.stage_throttle(template, {})
    assert default.rate_per_s == parameters["WebSocketThrottlingRateLimit"]["Default"]
    assert default.burst == parameters["WebSocketThrottlingBurstLimit"]["Default"]
    chosen = limits.stage_throttle(
        template, {limits.WS_RATE_VARIABLE: " 2.5 ", limits.WS_BURST_VARIABLE: "7"}
    )
    assert (chosen.rate_per_s, chosen.burst) == (2.5, 7)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (limits.WS_RATE_VARIABLE, "0"),
        (limits.WS_RATE_VARIABLE, "10001"),  # above the parameter's MaxValue: CloudFormation refuses it
        (limits.WS_RATE_VARIABLE, "many"),
        (limits.WS_BURST_VARIABLE, "5001"),
        (limits.WS_BURST_VARIABLE, "2.5"),
    ],
)
def test_a_stage_throttle_the_template_would_refuse_stops_the_stack_with_a_sentence(variable, value):
    from session_relay_tools.template import load_template

    with pytest.raises(SystemExit, match=variable):
        limits.stage_throttle(load_template(), {variable: value})


def test_the_management_api_decodes_a_connection_id_once(websocket_host):
    gateway = WebSocketGateway(websocket_host(), "127.0.0.1:1")

    async def send(message):
        pass

    gateway.connections["Ab%="] = Connection("Ab%=", send, "127.0.0.1", None)

    async def scenario():
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://ws.local") as client:
            once = await client.get("/local/@connections/Ab%25%3D")
            twice = await client.get("/local/@connections/%2541b%2525%253D")
            return once, twice

    once, twice = asyncio.run(scenario())

    assert once.status_code == 200
    assert twice.status_code == 410  # "%41b%25%3D" is another id, not "Ab%="
