"""The root app: global options, one sub-app per group, and the console script's ``main``."""

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from session_relay_tools.cli import admin, dev, sessions
from session_relay_tools.cli.output import GlobalOptions
from session_relay_tools.sdk import DEFAULT_URL


class _OwnersFirst(TyperGroup):
    """Lists the commands owners use most before the development ones."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        order = ["sessions", "admin"]
        return [n for n in order if n in names] + [n for n in names if n not in order]


app = typer.Typer(
    name="session-relay",
    cls=_OwnersFirst,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals would include API keys
)
app.add_typer(sessions.app, name="sessions", rich_help_panel="Script owners")
app.add_typer(admin.app, name="admin", rich_help_panel="Operators")


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Option(
            "--url",
            metavar="URL",
            envvar="SESSION_RELAY_URL",
            help="REST API base URL (the stage URL on AWS).",
        ),
    ] = DEFAULT_URL,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            metavar="KEY",
            envvar="SESSION_RELAY_API_KEY",
            show_default=False,
            help="Owner API key (sessions commands).",
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print exactly one JSON document on stdout (sessions and admin commands)."
        ),
    ] = False,
) -> None:
    """Session Relay: see, message and disconnect live executor sessions; manage scripts and API keys.

    Global options go before the command (--json is also accepted after it).
    """
    ctx.obj = GlobalOptions(url=url, api_key=api_key, json=json_output)


dev.register(app)


def main() -> None:
    """The ``session-relay`` console script."""
    app(prog_name="session-relay")
