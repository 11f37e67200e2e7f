"""Fixtures shared by every suite that talks to a running local stack over real sockets."""

from collections.abc import Iterator

import httpx
import pytest

from session_relay_tools.local.process import RunningStack, start_stack, stop_stack
from session_relay_tools.simulate import Fleet


@pytest.fixture(scope="session")
def local_stack() -> Iterator[RunningStack]:
    stack = start_stack()
    yield stack
    stop_stack(stack)


@pytest.fixture
def fleet(local_stack: RunningStack) -> Iterator[Fleet]:
    """Simulated executor clients of the stack's development script; all closed afterwards."""
    clients = Fleet(local_stack.ws_url, local_stack.script_id)
    yield clients
    clients.stop()


@pytest.fixture
def api(local_stack: RunningStack) -> Iterator[httpx.Client]:
    """An HTTP client for the REST API, authenticated with the development key."""
    with local_stack.client() as client:
        yield client
