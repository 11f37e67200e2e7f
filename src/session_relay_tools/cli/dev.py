"""``session-relay dev``, ``simulate`` and ``luau``: the local stack, the executor simulator and the
real Luau client in a Luau VM. ``simulate`` and ``luau`` are the very commands that
``python -m session_relay_tools.simulate`` and ``python -m session_relay_tools.luau`` run (one
definition each); the stack and the Luau VM are imported only when run, so other commands start fast."""

import typer
from session_relay_client.cli.plain_help import PlainHelpCommand

from session_relay_tools.luau.command import luau
from session_relay_tools.simulate.command import simulate


def dev() -> None:
    """Run the local stack in the foreground (as make dev does); Ctrl-C stops it.

    REST API on 127.0.0.1:3000, WebSocket API on :3001, embedded DynamoDB on :8000.

    The SESSION_RELAY_*_PORT and SESSION_RELAY_DEV_* environment variables change them; the other
    commands follow SESSION_RELAY_REST_PORT (sessions) and SESSION_RELAY_WS_PORT (simulate, luau).
    """
    from session_relay_tools.local.stack import main as run_stack

    run_stack()


def register(app: typer.Typer) -> None:
    """Add the commands to the root app, in the "Local development" panel."""
    for command in (dev, simulate, luau):
        app.command(cls=PlainHelpCommand, rich_help_panel="Local development")(command)
