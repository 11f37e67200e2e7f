"""Fixtures shared by every suite that talks to a running local stack over real sockets."""

import contextlib
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from session_relay_tools.local.process import RunningStack, start_stack, stop_stack
from session_relay_tools.simulate import Fleet, RawClient, SimulatedClient, identity_for, raw_identity


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


@pytest.fixture
def raw_client(local_stack: RunningStack) -> Iterator[Callable[..., RawClient]]:
    """A factory of raw connections with a valid identity (``query`` replaces the whole query
    string, ``script_id`` and other keywords adjust the identity); all closed afterwards."""
    with contextlib.ExitStack() as opened:

        def open_client(
            script_id: str | None = None, query: str | None = None, **overrides: Any
        ) -> RawClient:
            if query is None:
                query = urlencode(raw_identity(script_id or local_stack.script_id, **overrides))
            client = RawClient.open(local_stack.ws_url, query)
            opened.callback(client.close)
            return client

        yield open_client


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
