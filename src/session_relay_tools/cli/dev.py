"""``session-relay dev`` and ``session-relay simulate``: the local stack and the executor simulator
(imported only when run, so the other commands start fast)."""

import typer


def dev() -> None:
    """Run the local stack in the foreground (as make dev does); Ctrl-C stops it.

    REST API on 127.0.0.1:3000, WebSocket API on :3001, embedded DynamoDB on :8000.

    The SESSION_RELAY_*_PORT and SESSION_RELAY_DEV_* environment variables change them.
    """
    from session_relay_tools.local.stack import main as run_stack

    run_stack()


def simulate(ctx: typer.Context) -> None:
    """Connect simulated executor sessions (session-relay simulate --help lists its options)."""
    from session_relay_tools.simulate import main as run_simulator

    run_simulator(list(ctx.args))


def register(app: typer.Typer) -> None:
    """Add both commands to the root app, in the "Local development" panel."""
    app.command(rich_help_panel="Local development")(dev)
    app.command(
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
        rich_help_panel="Local development",
    )(simulate)
