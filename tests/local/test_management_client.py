"""The handlers' Management API client answered in-process by the WebSocket gateway's own code: the
same answers (200, 410 GoneException, 429 LimitExceededException) as over HTTP, with no socket."""

import asyncio
import threading
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config

from session_relay_tools.local.limits import TokenBucket
from session_relay_tools.local.management_client import InProcessManagement


class _Connection:
    def __init__(self) -> None:
        self.open = True
        self.sent: list[str] = []

    async def send_text(self, text: str) -> bool:
        self.sent.append(text)
        return True


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _client(gateway, loop):
    # An endpoint nothing listens on: an answer can only come from the in-process handler.
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="http://127.0.0.1:9/local",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1}),
    )
    client.meta.events.register("before-send.apigatewaymanagementapi", InProcessManagement(gateway, loop, 5))
    return client


def test_a_post_reaches_the_connection_without_a_socket(loop):
    connection = _Connection()
    gateway = SimpleNamespace(calls=None, requests=TokenBucket(100, 100), connections={"abc=": connection})
    _client(gateway, loop).post_to_connection(ConnectionId="abc=", Data=b'{"type":"pong"}')
    assert connection.sent == ['{"type":"pong"}']


def test_an_unknown_connection_is_gone(loop):
    gateway = SimpleNamespace(calls=None, requests=TokenBucket(100, 100), connections={})
    client = _client(gateway, loop)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="missing", Data=b"{}")


def test_beyond_the_request_rate_the_post_is_throttled_not_gone(loop):
    connection = _Connection()
    gateway = SimpleNamespace(calls=None, requests=TokenBucket(0.001, 1), connections={"abc=": connection})
    client = _client(gateway, loop)
    client.post_to_connection(ConnectionId="abc=", Data=b"1")
    with pytest.raises(client.exceptions.LimitExceededException):
        client.post_to_connection(ConnectionId="abc=", Data=b"2")
    assert connection.sent == ["1"]
