"""The root app: global options, one sub-app per group, and the console script's ``main``.

``build_app()`` makes a fresh app each call, so the repository's ``session-relay`` can add its
development commands (``dev``, ``simulate``, ``luau``) to its own copy without changing this one.
"""

import os
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer

from session_relay_client.cli import admin, bans, broadcasts, sessions, webhook
from session_relay_client.cli.output import GlobalOptions
from session_relay_client.cli.plain_help import PlainHelpGroup

DISTRIBUTION = "session-relay-client"


def local_rest_url() -> str:
    """The local stack's REST API: port ``$SESSION_RELAY_REST_PORT`` (3000 when unset), as make dev."""
    return f"http://127.0.0.1:{os.environ.get('SESSION_RELAY_REST_PORT') or '3000'}"


def _installed_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _print_version(shown: bool) -> None:
    if shown:
        typer.echo(f"session-relay {_installed_version()}")
        raise typer.Exit


class _OwnersFirst(PlainHelpGroup):
    """Lists the commands owners use most before the development ones."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        order = ["sessions", "broadcasts", "bans", "webhook", "admin"]
        return [n for n in order if n in names] + [n for n in names if n not in order]


def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            envvar="SESSION_RELAY_URL",
            show_default=False,
            help="REST API base URL: the stage URL on AWS. Default: the local stack, "
            "http://127.0.0.1 on $SESSION_RELAY_REST_PORT (3000 when unset), as the repository's "
            "make dev serves it.",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            metavar="KEY",
            envvar="SESSION_RELAY_API_KEY",
            show_default=False,
            help="Owner API key (sessions and bans commands).",
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print exactly one JSON document on stdout (sessions, bans and admin commands)."
        ),
    ] = False,
    _version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
) -> None:
    """Session Relay: see, message and disconnect live executor sessions, ban users; manage scripts and keys.

    Global options go before the command (--json is also accepted after it).
    """
    ctx.obj = GlobalOptions(url=url or local_rest_url(), api_key=api_key, json=json_output)


def build_app() -> typer.Typer:
    """The ``session-relay`` app: ``sessions`` and ``bans`` for script owners, ``admin`` for operators."""
    app = typer.Typer(
        name="session-relay",
        cls=_OwnersFirst,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,  # locals would include API keys
    )
    app.add_typer(sessions.app, name="sessions", rich_help_panel="Script owners")
    app.add_typer(broadcasts.app, name="broadcasts", rich_help_panel="Script owners")
    app.add_typer(webhook.app, name="webhook", rich_help_panel="Script owners")
    app.add_typer(bans.app, name="bans", rich_help_panel="Script owners")
    app.add_typer(admin.app, name="admin", rich_help_panel="Operators")
    app.callback()(root)
    return app


app = build_app()


def main() -> None:
    """The ``session-relay`` console script."""
    app(prog_name="session-relay")
