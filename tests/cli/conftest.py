"""Fixtures for the CLI tests: the app run in-process against the local stack, and sessions."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner, Result

from session_relay_tools.cli import app
from session_relay_tools.simulate import Fleet, SimulatedClient, identity_for


@dataclass
class Cli:
    """Runs ``session-relay`` in-process with the stack's URL and key in the environment."""

    env: dict[str, str | None]

    def __call__(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        return CliRunner().invoke(
            app, list(args), input=input, env={**self.env, **env}, catch_exceptions=False
        )


@pytest.fixture
def cli(local_stack) -> Cli:
    return Cli({"SESSION_RELAY_URL": local_stack.rest_url, "SESSION_RELAY_API_KEY": local_stack.api_key})


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
