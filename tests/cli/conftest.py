"""Fixtures for the CLI tests: the app run in-process against the local stack, and sessions."""

from dataclasses import dataclass

import pytest
from typer.testing import CliRunner, Result

from session_relay_tools.cli import app


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
