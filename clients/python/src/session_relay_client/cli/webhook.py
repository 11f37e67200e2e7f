"""``session-relay webhook set|show|delete|rotate|test|failures|replay|listen``: a script's owner events
webhook (PROTOCOL.md section 5) through the SDK; ``listen`` is a local receiver (``webhook_listen``)."""

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from session_relay_client import SessionRelay
from session_relay_client.cli.options import JSON, with_options
from session_relay_client.cli.output import Output, compact, rows_table, utc_time
from session_relay_client.cli.plain_help import PlainHelpCommand, PlainHelpGroup
from session_relay_client.cli.webhook_listen import listen
from session_relay_client.webhooks import EVENT_TYPES, Webhook

app = typer.Typer(
    cls=PlainHelpGroup,
    help="A script's webhook (owner events), through the REST API at --url with --api-key (scope manage).",
    no_args_is_help=True,
)
app.command("listen", cls=PlainHelpCommand)(listen)

Script = Annotated[str, typer.Argument(metavar="SCRIPT", help="The script's id (one your key covers).")]


def _client(out: Output) -> SessionRelay:
    if not out.settings.api_key:
        out.fail("no API key: pass --api-key or set SESSION_RELAY_API_KEY")
    return SessionRelay(out.settings.url, out.settings.api_key)


def _show(out: Output, hook: Webhook) -> None:
    shown = Table(show_header=False, box=None)
    shown.add_column(style="bold")
    shown.add_column(overflow="fold")
    last = hook.last_delivery
    rows = [
        ("url", hook.url),
        ("events", ", ".join(hook.events)),
        ("format", hook.format),
        ("created", utc_time(hook.created_at) + " UTC"),
        (
            "last delivery",
            "none" if last is None else f"{last.status} {last.error or 'ok'} at {utc_time(last.at)} UTC",
        ),
    ]
    if hook.secret:
        rows.append(("secret", hook.secret))
    for field, value in rows:
        shown.add_row(field, Text(value))
    out.print(shown)
    if hook.secret:
        out.note("keep the secret: it is shown only now (rotate makes a new one)")


@app.command("set", cls=PlainHelpCommand)
@with_options(*JSON)
def webhook_set(
    ctx: typer.Context,
    script_id: Script,
    url: Annotated[str, typer.Option("--url", metavar="URL", help="Where to POST the events (https).")],
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--event",
            metavar="TYPE",
            help=f"An event type to send, repeatable: {', '.join(EVENT_TYPES)} (default: all three).",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="FORMAT", help="json (signed) or discord (default: json)."),
    ] = None,
    **options: Any,
) -> None:
    """Create or update the script's webhook (a new one's secret is shown once)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        hook = relay.set_webhook(script_id, url, events=events, format=fmt)
    out.emit({"webhook": hook.model_dump()}, lambda: _show(out, hook))


@app.command("show", cls=PlainHelpCommand)
@with_options(*JSON)
def webhook_show(ctx: typer.Context, script_id: Script, **options: Any) -> None:
    """Show the script's webhook and its last delivery (never the secret)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        hook = relay.get_webhook(script_id)
    out.emit({"webhook": hook.model_dump(exclude={"secret"})}, lambda: _show(out, hook))


@app.command("delete", cls=PlainHelpCommand)
@with_options(*JSON)
def webhook_delete(ctx: typer.Context, script_id: Script, **options: Any) -> None:
    """Remove the script's webhook (no more events are sent)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        relay.delete_webhook(script_id)
    out.emit({"deleted": script_id}, lambda: out.print(f"webhook of {script_id} deleted"))


@app.command("rotate", cls=PlainHelpCommand)
@with_options(*JSON)
def webhook_rotate(ctx: typer.Context, script_id: Script, **options: Any) -> None:
    """Give the webhook a new signing secret (shown once; the old one stops signing)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        hook = relay.rotate_webhook_secret(script_id)
    out.emit({"webhook": hook.model_dump()}, lambda: _show(out, hook))


@app.command("test", cls=PlainHelpCommand)
@with_options(*JSON)
def webhook_test(ctx: typer.Context, script_id: Script, **options: Any) -> None:
    """Deliver one webhook.test event now and say what the endpoint did (exit 1 when not delivered)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        result = relay.test_webhook(script_id)

    def render() -> None:
        verdict = "delivered" if result.delivered else f"not delivered: {result.error}"
        out.print(f"{verdict} (status {result.status}, {result.ms} ms)")

    out.emit(result.model_dump(), render)
    if not result.delivered:
        raise typer.Exit(1)


@app.command("failures", cls=PlainHelpCommand)
@with_options(*JSON)
def webhook_failures(
    ctx: typer.Context,
    script_id: Script,
    limit: Annotated[
        int | None, typer.Option("--limit", metavar="N", help="Failures per page, 1..1000.")
    ] = None,
    cursor: Annotated[
        str | None, typer.Option("--cursor", metavar="CURSOR", help="Continue after a page.")
    ] = None,
    **options: Any,
) -> None:
    """List the events that could not be delivered, oldest first, with their last error."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        page = relay.webhook_failures(script_id, limit=limit, cursor=cursor)

    def render() -> None:
        rows = [
            (
                f.event.get("id", ""),
                f.event.get("type", ""),
                utc_time(f.event.get("created_at")),
                compact(f.last_error) if f.last_error else "",
            )
            for f in page.failures
        ]
        out.print(rows_table(("event id", "type", "created (UTC)", "last error"), rows))
        if page.next_cursor:
            out.print(f"more: --cursor {page.next_cursor}")

    out.emit(page.model_dump(), render)


@app.command("replay", cls=PlainHelpCommand)
@with_options(*JSON)
def webhook_replay(ctx: typer.Context, script_id: Script, **options: Any) -> None:
    """Deliver the failures again (those delivered leave the list)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        count = relay.replay_webhook_failures(script_id)
    out.emit({"replayed": count}, lambda: out.print(f"{count} event{'' if count == 1 else 's'} sent again"))
