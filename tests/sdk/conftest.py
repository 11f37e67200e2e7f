"""Fixtures for the SDK tests: an authenticated client and simulated sessions at a fresh place."""

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from session_relay_client import SessionRelay


@pytest.fixture
def relay(local_stack) -> Iterator[SessionRelay]:
    with SessionRelay(local_stack.rest_url, local_stack.api_key) as client:
        yield client


def wait_until(condition: Callable[[], bool], timeout_s: float = 10) -> bool:
    """Poll ``condition`` until true or ``timeout_s`` passes; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that remembers every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.fixture
def recording_transport() -> Iterator[RecordingTransport]:
    transport = RecordingTransport()
    yield transport
    transport.close()


@pytest.fixture
def eventually() -> Callable[..., bool]:
    return wait_until
