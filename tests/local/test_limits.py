"""The local stack holds invocations to AWS's limits (PROTOCOL.md section 3), shown on small handlers
of the tests' own behind the real local gateways.

- Lambda: 6 MB synchronous responses as serialized, one account-wide pool of concurrent executions,
  reserved concurrency: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html,
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
- API Gateway REST proxy: 500 when Lambda refuses the invocation, 502 when it fails:
  https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html; 504 past the
  integration timeout: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

import asyncio
import json
import time

import pytest

from session_relay_tools.local import limits
from session_relay_tools.local.connection import Connection
from session_relay_tools.local.websocket_gateway import WebSocketGateway

INTERNAL_ERROR = {"message": "Internal server error"}


def _run(scenario):
    return asyncio.run(scenario())


async def _drained(host, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while host.concurrency.in_use() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return host.concurrency.in_use() == 0


def test_a_response_over_6_mb_as_lambda_serializes_it_is_a_502(make_host, rest_client):
    host = make_host(concurrency=10)
    # 3,200,000 quotes are 3.2 MB of body but 6.4 MB once JSON-escaped: over the limit.
    over, under = 3_200_000, 3_000_000

    async def scenario():
        async with rest_client(host) as client:
            return await client.post("/big", json={"quotes": over}), await client.post(
                "/big", json={"quotes": under}
            )

    too_large, fits = _run(scenario)

    assert too_large.status_code == 502
    assert too_large.json() == INTERNAL_ERROR
    assert fits.status_code == 200
    assert len(fits.content) == under


def test_the_serialized_size_counts_json_escapes():
    assert limits.payload_size({"body": '"' * 10}) == len('{"body": "' + '\\"' * 10 + '"}')


def test_an_answer_after_the_integration_timeout_is_a_504_and_its_execution_stays_busy(
    make_host, rest_client
):
    host = make_host(concurrency=10)

    async def scenario():
        async with rest_client(host, integration_timeout_s=0.5) as client:
            late = await client.post("/slow", json={"sleep_s": 1.5})
            busy_after_504 = host.concurrency.in_use()
            return late, busy_after_504, await _drained(host)

    late, busy_after_504, drained = _run(scenario)

    assert late.status_code == 504
    assert late.json() == {"message": "Endpoint request timed out"}
    # As in Lambda, the function runs on after API Gateway gave up: its execution is still taken.
    assert busy_after_504 == 1
    assert drained


def test_the_integration_timeout_counts_from_the_requests_arrival(make_host, rest_client):
    host = make_host(concurrency=10)

    async def slow_upload():
        yield b'{"sleep_s": '
        await asyncio.sleep(0.6)
        yield b"0.3}"

    async def scenario():
        async with rest_client(host, integration_timeout_s=0.8) as client:
            quick_upload = await client.post("/x", content=b'{"sleep_s": 0.3}')
            late = await client.post("/x", content=slow_upload())
            return quick_upload, late

    quick_upload, late = _run(scenario)

    # 0.3 s of handler fits 0.8 s; 0.6 s of upload first does not.
    assert quick_upload.status_code == 200
    assert late.status_code == 504


def test_the_n_plus_first_concurrent_invocation_of_a_pool_of_n_is_throttled(make_host, rest_client):
    n = 3
    host = make_host(concurrency=n)

    async def scenario():
        async with rest_client(host) as client:
            holding = [asyncio.create_task(client.post("/hold", json={"sleep_s": 1.5})) for _ in range(n)]
            while host.concurrency.in_use() < n:
                await asyncio.sleep(0.01)
            throttled = await client.post("/one-more", json={})
            held = await asyncio.gather(*holding)
            await _drained(host)
            after = await client.post("/again", json={})
            return throttled, held, after

    throttled, held, after = _run(scenario)

    assert throttled.status_code == 500
    assert throttled.json() == INTERNAL_ERROR
    assert [answer.status_code for answer in held] == [200] * n
    assert after.status_code == 200


def test_one_pool_for_every_function_a_busy_websocket_route_throttles_the_rest_api(make_host, rest_client):
    host = make_host(concurrency=2)
    websocket = host.websocket_routes["$default"]

    async def scenario():
        holding = [
            asyncio.create_task(host.invoke(websocket, {"body": json.dumps({"sleep_s": 1})}))
            for _ in range(2)
        ]
        while host.concurrency.in_use() < 2:
            await asyncio.sleep(0.01)
        async with rest_client(host) as client:
            throttled = await client.post("/x", json={})
        await asyncio.gather(*holding)
        return throttled

    assert _run(scenario).status_code == 500


def test_reserved_concurrency_from_the_template_caps_its_function(make_host):
    host = make_host(concurrency=101, reserved=1)
    websocket = host.websocket_routes["$default"]

    async def scenario():
        first = asyncio.create_task(host.invoke(websocket, {"body": json.dumps({"sleep_s": 1})}))
        while host.concurrency.in_use() < 1:
            await asyncio.sleep(0.01)
        with pytest.raises(limits.Throttled):
            await host.invoke(websocket, {"body": "{}"})
        rest = await host.invoke(host.rest_function, {"body": "{}"})  # the unreserved 100 are free
        return await first, rest

    first, rest = _run(scenario)

    assert first == {"statusCode": 200}
    assert rest["statusCode"] == 200


def test_reserved_concurrency_must_leave_100_unreserved(make_host):
    with pytest.raises(SystemExit, match="at least 100"):
        make_host(concurrency=100, reserved=1)


def test_a_throttled_frame_gets_api_gateways_error_frame(make_host):
    host = make_host(concurrency=1)
    gateway = WebSocketGateway(host, "127.0.0.1:1")
    sent = []

    async def send(message):
        sent.append(message)

    async def scenario():
        connection = Connection(connection_id="c1=", send=send, source_ip="127.0.0.1", user_agent=None)
        holding = asyncio.create_task(host.invoke(host.rest_function, {"body": json.dumps({"sleep_s": 1})}))
        while host.concurrency.in_use() < 1:
            await asyncio.sleep(0.01)
        await gateway._frame(connection, {"type": "websocket.receive", "text": '{"type":"ping"}'})
        await holding

    _run(scenario)

    (frame,) = [json.loads(message["text"]) for message in sent]
    assert frame["message"] == "Internal server error"
    assert frame["connectionId"] == "c1="
    assert frame["requestId"]


@pytest.mark.parametrize(("value", "expected"), [("", 1000), ("5", 5), (" 40 ", 40)])
def test_the_pool_size_comes_from_the_environment(value, expected):
    assert limits.account_concurrency({limits.CONCURRENCY_VARIABLE: value}) == expected


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_bad_pool_size_stops_the_stack_with_a_sentence(value):
    with pytest.raises(SystemExit, match=limits.CONCURRENCY_VARIABLE):
        limits.account_concurrency({limits.CONCURRENCY_VARIABLE: value})
