"""Fixtures for the SDK tests: an authenticated client and simulated sessions at a fresh place."""

import secrets
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from session_relay_tools.sdk import SessionRelay
from session_relay_tools.simulate import Fleet, SimulatedClient, identity_for


@pytest.fixture
def relay(local_stack) -> Iterator[SessionRelay]:
    with SessionRelay(local_stack.rest_url, local_stack.api_key) as client:
        yield client


@pytest.fixture
def place_id() -> int:
    """A place id no other test uses, so filters see only this test's sessions."""
    return 1 + secrets.randbelow(2**40)


@pytest.fixture
def connect(fleet: Fleet, place_id: int) -> Callable[[int], list[SimulatedClient]]:
    """Connect n simulated sessions of the development script at this test's place."""

    def connect_sessions(count: int) -> list[SimulatedClient]:
        clients = [
            fleet.connect(1, identity=identity_for(fleet.script_id, index, place_id=place_id))[0]
            for index in range(count)
        ]
        assert all(client.session_id for client in clients)
        return clients

    return connect_sessions


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
