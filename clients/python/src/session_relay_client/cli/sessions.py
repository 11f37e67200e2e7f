"""``session-relay sessions list|get|message|disconnect``: the REST API, through the SDK."""

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from session_relay_client import MAX_BULK_IDS, Session, SessionFilter, SessionRelay
from session_relay_client.cli.filtered import disconnect_pages, register
from session_relay_client.cli.messaging import emit_answers, parse_data, send
from session_relay_client.cli.options import FILTERS, JSON, filters, with_options
from session_relay_client.cli.output import Output, rows_table, utc_time
from session_relay_client.cli.plain_help import PlainHelpCommand, PlainHelpGroup

app = typer.Typer(
    cls=PlainHelpGroup,
    help="Live sessions, through the REST API at --url with --api-key.",
    no_args_is_help=True,
)
register(app)


def _client(out: Output) -> SessionRelay:
    if not out.settings.api_key:
        out.fail("no API key: pass --api-key or set SESSION_RELAY_API_KEY")
    return SessionRelay(out.settings.url, out.settings.api_key)


def _session_rows(sessions: list[Session]) -> Table:
    columns = ("session id", "script", "user key", "roblox id", "place id", "job id", "connected (UTC)")
    rows = [
        (s.id, s.script_id, s.user_key, str(s.roblox_id), str(s.place_id), s.job_id, utc_time(s.created_at))
        for s in sessions
    ]
    if any(s.functions is not None for s in sessions):  # a column only once some session declared
        columns += ("functions",)
        rows = [(*row, ", ".join(s.functions or [])) for row, s in zip(rows, sessions, strict=True)]
    return rows_table(columns, rows)


def _targets(ids: list[str], all_: bool, found_by: dict[str, Any]) -> list[str] | SessionFilter:
    """What a bulk command acts on: the ids given, or with --all the API's filter (every match)."""
    if all_ and ids:
        raise typer.BadParameter("give session ids or --all, not both", param_hint="--all")
    if found_by and not all_:  # checked first: filters with no ids mean "every match" was meant
        raise typer.BadParameter(
            "the filters (--script-id, --place-id, ...) only apply with --all: add --all to act on "
            "every session they match",
            param_hint="--all",
        )
    if not all_ and not ids:
        raise typer.BadParameter(
            "give at least one session id, or --all (with filters) for every match", param_hint="ID"
        )
    return SessionFilter(**found_by) if all_ else ids


@app.command("list", cls=PlainHelpCommand)
@with_options(*JSON)
@with_options(*FILTERS, before="limit")
def sessions_list(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option("--limit", metavar="N", help="Sessions per page, 1..1000 (the API's default is 100)."),
    ] = None,
    cursor: Annotated[
        str | None, typer.Option("--cursor", metavar="CURSOR", help="Continue after a previous page.")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every session the filters match (follows every page).")
    ] = False,
    all_pages: Annotated[
        bool, typer.Option("--all-pages", hidden=True, help="The old name of --all.")
    ] = False,
    **options: Any,
) -> None:
    """List your live sessions, newest first (one page, or with --all every match)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        if all_ or all_pages:
            if cursor is not None:
                raise typer.BadParameter("--cursor and --all do not go together", param_hint="--cursor")
            sessions, next_cursor = list(relay.iter_sessions(page_size=limit, **filters(options))), None
        else:
            page = relay.list_sessions(limit=limit, cursor=cursor, **filters(options))
            sessions, next_cursor = page.sessions, page.next_cursor

    def render() -> None:
        out.print(_session_rows(sessions))
        out.print(f"{len(sessions)} session{'' if len(sessions) == 1 else 's'}")
        if next_cursor:
            out.print(f"more: --cursor {next_cursor}")

    document = {"sessions": [s.model_dump(exclude_none=True) for s in sessions], "next_cursor": next_cursor}
    out.emit(document, render)


@app.command("get", cls=PlainHelpCommand)
@with_options(*JSON)
def sessions_get(
    ctx: typer.Context,
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session's id.")],
    **options: Any,
) -> None:
    """Show one session."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        session = relay.get_session(session_id)

    def render() -> None:
        shown = Table(show_header=False, box=None)
        shown.add_column(style="bold")
        shown.add_column(overflow="fold")
        for field, value in session.model_dump(exclude_none=True).items():
            text = utc_time(value) if field.endswith("_at") else str(value)
            if field == "functions":
                text = ", ".join(value) or "(none)"
            shown.add_row(field, Text(text + (" UTC" if field.endswith("_at") else "")))
        out.print(shown)

    out.emit({"session": session.model_dump(exclude_none=True)}, render)


@app.command("message", cls=PlainHelpCommand)
@with_options(*FILTERS, *JSON)
def sessions_message(
    ctx: typer.Context,
    key: Annotated[
        str,
        typer.Option("--key", "-k", metavar="KEY", help="The function the client runs (1..128 characters)."),
    ],
    session_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="Sessions to message (or use --all).", show_default=False),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data", "-d", metavar="JSON", help="A JSON value passed to the function (default: [])."
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", "-t", metavar="S", help="Seconds to wait for answers, 0 < S <= 60 (default 60)."
        ),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Message every session the filters match.")] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Send and print the id to read answers with `sessions result`.")
    ] = False,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            metavar="KEY",
            help="Safe to retry for 15 minutes: a repeat with this key sends nothing again.",
        ),
    ] = None,
    **options: Any,
) -> None:
    """Run a function in sessions and show each answer (or why there is none).

    Many ids go 1000 to a request, several requests at once; answers keep the order asked.
    With --all the API picks the matching sessions, 1000 a request, each once.

    Among many ids, one that is unknown (or not yours) is answered "session not found";
    exactly one such id fails with the API's 404 instead.
    """
    out = Output(ctx, options["json_flag"])
    payload = parse_data(data)
    sending = {"timeout": timeout, "wait": not no_wait, "idempotency_key": idempotency_key}
    with out.reported(), _client(out) as relay:
        targets = _targets(list(session_ids or []), all_, filters(options))
        result = send(out, relay, targets, key, payload, **sending)
    if isinstance(result, list):  # --no-wait: the ids to read the answers with
        out.emit({"sent": result}, lambda: out.print(*(f"sent: {sent}" for sent in result)))
        return
    emit_answers(out, result, all_)


@app.command("disconnect", cls=PlainHelpCommand)
@with_options(*JSON)
@with_options(*FILTERS, before="yes")
def sessions_disconnect(
    ctx: typer.Context,
    session_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="Sessions to disconnect (or use --all).", show_default=False),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Disconnect every session the filters match.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation with --all.")] = False,
    **options: Any,
) -> None:
    """Close sessions' connections and delete them (clients get a disconnect frame first).

    With --all, asks for confirmation unless --yes.

    Among many ids, those unknown (or not yours) are listed as not disconnected;
    exactly one such id fails with the API's 404 instead.
    """
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        targets = _targets(list(session_ids or []), all_, filters(options))
        ids = targets if isinstance(targets, list) else []
        if isinstance(targets, SessionFilter) and not yes:
            with out.err.status("counting the matching sessions..."):
                count = sum(1 for _ in relay.iter_sessions(page_size=MAX_BULK_IDS, **filters(options)))
            try:
                confirmed = count == 0 or typer.confirm(
                    f"Disconnect {count} session{'s' if count != 1 else ''}?", err=True
                )
            except typer.Abort:
                confirmed = False
            if not confirmed:
                out.fail("not confirmed (pass --yes to skip the question); nothing was disconnected")
        if isinstance(targets, SessionFilter):
            result = disconnect_pages(out, relay, targets)
            ids, disconnected, missing = result.disconnected, result.disconnected, []
        elif len(ids) == 1:
            relay.disconnect(ids[0])
            disconnected, missing = ids, []
        else:
            with out.progress("disconnecting", len(ids)) as advance:
                result = relay.disconnect_many(ids, progress=advance)
            disconnected, missing = result.disconnected, result.not_disconnected

    def render() -> None:
        if not ids:
            out.print("no sessions match")
            return
        out.print(f"disconnected {len(disconnected)} of {len(ids)}")
        if missing:
            shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            out.print(f"not disconnected (unknown, not yours, or the close failed): {shown}")

    out.emit({"disconnected": disconnected, "not_disconnected": missing}, render)
