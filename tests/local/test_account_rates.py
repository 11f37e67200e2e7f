"""The account's rates in API Gateway, as the local stack enforces them, on handlers of the tests' own
behind the real local gateways (real sockets, a real boto3 Management API client):

- 500 new WebSocket connections a second per account and Region; beyond it a handshake is refused
  ``429`` and no function runs:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
- 10,000 requests a second with a burst of 5,000, one bucket for every API of the account, WebSocket
  callback (``@connections``) calls included: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
  Beyond it the REST API answers 429 ``{"message": "Too Many Requests"}`` (the THROTTLED gateway
  response: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html)
  and the Management API 429 ``LimitExceededException``, which boto3 raises as that code:
  https://docs.aws.amazon.com/botocore/latest/reference/services/apigatewaymanagementapi/client/exceptions/LimitExceededException.html
"""

import asyncio
import json

import boto3
import httpx
import pytest
import websockets
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.exceptions import InvalidStatus

from session_relay_tools.local import STAGE, limits, logs
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.rest_gateway import RestGateway
from session_relay_tools.local.websocket_gateway import WebSocketGateway
from tests.local.conftest import template_text
from tests.local.test_websocket_gateway import _calls, _eventually, serving

# No refill within a test: exactly the burst passes.
NO_REFILL_PER_S = 0.001


@pytest.fixture
def host(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(template_text(route_keys=("$connect", "$disconnect", "$default")))
    host = FunctionHost(path, concurrency=50)
    yield host
    host.close()


async def _connect(url: str):
    """An open client, or the status and body of the refused handshake."""
    try:
        return await websockets.connect(url)
    except InvalidStatus as refused:
        return refused.response.status_code, refused.response.body


def test_a_burst_of_handshakes_beyond_the_connect_rate_is_refused_429_and_runs_nothing(
    host, capsys, monkeypatch
):
    monkeypatch.setenv(logs.FORMAT_VARIABLE, "json")  # request lines as JSON, to read them back
    rate = limits.TokenBucket(NO_REFILL_PER_S, 3)
    gateway = WebSocketGateway(host, "127.0.0.1:1", connect_rate=rate)
    calls = _calls()

    async def scenario():
        async with serving(gateway) as (address, port):
            outcomes = await asyncio.gather(*(_connect(f"ws://{address}:{port}/") for _ in range(7)))
            admitted = [outcome for outcome in outcomes if not isinstance(outcome, tuple)]
            for client in admitted:
                await client.send('{"action": "anything"}')
            worked = await _eventually(
                lambda: sum(route == "$default" for route, _ in calls) == len(admitted)
            )
            for client in admitted:
                await client.close()
            return outcomes, admitted, worked

    outcomes, admitted, worked = asyncio.run(scenario())

    refused = [outcome for outcome in outcomes if isinstance(outcome, tuple)]
    assert len(admitted) == 3
    assert len(refused) == 4
    assert all(status == 429 for status, _ in refused)
    assert all(json.loads(body) == {"message": "Too Many Requests"} for _, body in refused)
    connects = [connection for route, connection in calls if route == "$connect"]
    assert len(connects) == 3  # a refused handshake ran no function: no session could be made
    assert worked  # the admitted connections work: each frame reached its function
    frames = {connection for route, connection in calls if route == "$default"}
    assert frames == set(connects)
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    refusals = [line for line in logged if line.get("route") == "$connect" and line.get("status") == 429]
    assert len(refusals) == 4  # each refusal has its request line, as API Gateway's access log would


def _management_client(port: int):
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"http://127.0.0.1:{port}/{STAGE}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


def _post(client, connection_id: str, text: str) -> str:
    """What a post came to: "ok", or the error code boto3 raised."""
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=text.encode())
    except ClientError as error:
        return f"{error.response['ResponseMetadata']['HTTPStatusCode']} {error.response['Error']['Code']}"
    return "ok"


def test_rest_calls_and_posts_to_connections_share_one_request_rate(host):
    requests = limits.TokenBucket(NO_REFILL_PER_S, 3)
    websocket = WebSocketGateway(host, "127.0.0.1:1", requests=requests)
    rest = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=RestGateway(host, 10, requests)), base_url="http://rest.local"
    )

    async def scenario():
        async with (
            serving(websocket) as (address, port),
            rest,
            websockets.connect(f"ws://{address}:{port}/") as executor,
        ):
            (connection_id,) = websocket.connections
            management = _management_client(port)
            first_rest = await rest.post("/anything", json={})
            posts = [
                await asyncio.to_thread(_post, management, connection_id, f"frame {n}") for n in range(3)
            ]
            gone = await asyncio.to_thread(_post, management, "not-a-connection=", "x")
            second_rest = await rest.post("/anything", json={})
            received = [await asyncio.wait_for(executor.recv(), 5) for _ in range(2)]
            with pytest.raises(TimeoutError):  # the throttled post sent nothing
                await asyncio.wait_for(executor.recv(), 0.3)
            return first_rest, posts, gone, second_rest, received

    first_rest, posts, gone, second_rest, received = asyncio.run(scenario())

    assert first_rest.status_code == 200
    assert first_rest.text == "ok"  # the function answered it
    assert posts == ["ok", "ok", "429 LimitExceededException"]  # three tokens: one REST call, two posts
    assert gone == "429 LimitExceededException"  # throttled before the connection is looked up, not 410
    assert second_rest.status_code == 429
    assert second_rest.json() == {"message": "Too Many Requests"}  # the gateway's answer, not the function's
    assert second_rest.headers["x-amzn-errortype"] == "TooManyRequestsException"
    assert second_rest.headers["content-type"] == "application/json"
    assert received == ["frame 0", "frame 1"]


def test_a_throttled_post_is_boto3s_limit_exceeded_exception_and_sends_nothing(host):
    requests = limits.TokenBucket(NO_REFILL_PER_S, 1)
    websocket = WebSocketGateway(host, "127.0.0.1:1", requests=requests)

    async def scenario():
        async with (
            serving(websocket) as (address, port),
            websockets.connect(f"ws://{address}:{port}/") as executor,
        ):
            (connection_id,) = websocket.connections
            management = _management_client(port)
            await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
            with pytest.raises(management.exceptions.LimitExceededException) as raised:
                await asyncio.to_thread(
                    management.post_to_connection, ConnectionId=connection_id, Data=b"never"
                )
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(executor.recv(), 0.3)
            return raised.value.response

    response = asyncio.run(scenario())

    assert response["Error"]["Code"] == "LimitExceededException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_the_account_rates_default_to_aws_quotas():
    connections, requests = limits.connect_rate({}), limits.request_rate({})
    assert (connections.rate_per_s, connections.burst) == (500, 500)
    assert (requests.rate_per_s, requests.burst) == (10_000, 5_000)


def test_the_environment_sets_other_rates_with_the_burst_in_aws_proportion():
    connections = limits.connect_rate({limits.CONNECT_RATE_VARIABLE: " 20 "})
    requests = limits.request_rate({limits.REQUEST_RATE_VARIABLE: "50"})
    assert (connections.rate_per_s, connections.burst) == (20, 20)
    assert (requests.rate_per_s, requests.burst) == (50, 25)
    assert limits.request_rate({limits.REQUEST_RATE_VARIABLE: "2500"}).burst == 1250  # AWS's other pair


@pytest.mark.parametrize("variable", [limits.CONNECT_RATE_VARIABLE, limits.REQUEST_RATE_VARIABLE])
@pytest.mark.parametrize("value", ["0", "-5", "many", "inf", "nan"])
def test_a_bad_rate_stops_the_stack_with_a_sentence(variable, value):
    reader = limits.connect_rate if variable == limits.CONNECT_RATE_VARIABLE else limits.request_rate
    with pytest.raises(SystemExit, match=f"{variable} must be a positive number of .* a second, not"):
        reader({variable: value})
