"""``session-relay broadcasts send|show|responses|cancel|list``: every session matching the filters,
however many, through the SDK; ``send`` shows a progress bar until the broadcast is done (or, with
``--no-wait``, prints its id at once)."""

from typing import Annotated, Any

import typer

from session_relay_client import Broadcast, SessionFilter, SessionRelay
from session_relay_client.cli.messaging import parse_data
from session_relay_client.cli.options import FILTERS, JSON, filters, with_options
from session_relay_client.cli.output import Output, compact, rows_table, utc_time
from session_relay_client.cli.plain_help import PlainHelpCommand, PlainHelpGroup

app = typer.Typer(
    cls=PlainHelpGroup,
    help="Broadcasts: message or disconnect every session the filters match, however many.",
    no_args_is_help=True,
)
BroadcastId = Annotated[str, typer.Argument(metavar="ID", help="The broadcast's id (send prints it).")]
_WAIT_STEP_S = 5.0


def _client(out: Output) -> SessionRelay:
    if not out.settings.api_key:
        out.fail("no API key: pass --api-key or set SESSION_RELAY_API_KEY")
    return SessionRelay(out.settings.url, out.settings.api_key)


def _shown(broadcast: Broadcast) -> dict[str, Any]:
    return broadcast.model_dump(mode="json")


def _decided(broadcast: Broadcast) -> int:
    counts = broadcast.counts
    total = (counts.processed or 0) + sum((counts.not_processed or {}).values()) + counts.not_sent
    return total + (counts.disconnected or 0) + (counts.session_not_found or 0)


def _follow(out: Output, relay: SessionRelay, broadcast_id: str) -> Broadcast:
    """Hold until the broadcast is done, with a progress bar for people (none with --json)."""
    shown = relay.get_broadcast(broadcast_id)
    if out.json:
        while not shown.done:
            shown = relay.get_broadcast(broadcast_id, wait=_WAIT_STEP_S)
        return shown
    with out.progress("broadcast", shown.matched or 0) as advance:
        reported = 0
        while True:
            decided = _decided(shown)
            advance(decided - reported)
            reported = decided
            if shown.done:
                return shown
            shown = relay.get_broadcast(broadcast_id, wait=_WAIT_STEP_S)


def _render(out: Output, broadcast: Broadcast) -> None:
    counts = {k: v for k, v in broadcast.counts.model_dump().items() if v is not None}
    out.print(f"broadcast {broadcast.id} ({broadcast.action}) {'done' if broadcast.done else 'running'}")
    out.print(f"matched: {broadcast.matched if broadcast.matched is not None else 'still planning'}")
    out.print(f"counts: {compact(counts)}")


@app.command("send", cls=PlainHelpCommand)
@with_options(*JSON)
@with_options(*FILTERS, before="key")
def send(
    ctx: typer.Context,
    key: Annotated[str | None, typer.Option("--key", metavar="NAME", help="The function to run.")] = None,
    data: Annotated[str | None, typer.Option("--data", metavar="JSON", help="Its argument (JSON).")] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", metavar="S", help="Seconds each session has to answer.")
    ] = None,
    disconnect: Annotated[bool, typer.Option("--disconnect", help="Close the sessions instead.")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Print the id at once, do not follow.")] = False,
    **options: Any,
) -> None:
    """Message (--key, --data, --timeout) or disconnect (--disconnect) every session matching the
    filters (none: every session of the key's scripts), then follow it until done."""
    out = Output(ctx, options["json_flag"])
    if not disconnect and key is None:
        raise typer.BadParameter("give --key (the function to run), or --disconnect", param_hint="--key")
    with out.reported(), _client(out) as relay:
        where = SessionFilter(**filters(options))
        broadcast_id = relay.broadcast(where, key, parse_data(data), timeout=timeout, disconnect=disconnect)
        if no_wait:
            out.emit({"broadcast_id": broadcast_id}, lambda: out.print(broadcast_id))
            return
        shown = _follow(out, relay, broadcast_id)
        out.emit(_shown(shown), lambda: _render(out, shown))


@app.command("show", cls=PlainHelpCommand)
@with_options(*JSON)
def show(
    ctx: typer.Context,
    broadcast_id: BroadcastId,
    wait: Annotated[float, typer.Option("--wait", metavar="S", help="Hold until done, at most S.")] = 0,
    **options: Any,
) -> None:
    """A broadcast's progress: matched, done, and its counts."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        shown = relay.get_broadcast(broadcast_id, wait=wait)
        out.emit(_shown(shown), lambda: _render(out, shown))


@app.command("responses", cls=PlainHelpCommand)
@with_options(*JSON)
def responses(ctx: typer.Context, broadcast_id: BroadcastId, **options: Any) -> None:
    """Every decided session's answer, each once (follows the pages until the broadcast is done)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        entries = [entry for page in relay.responses(broadcast_id) for entry in page.responses]
        rows = [
            (e["session_id"], compact({k: v for k, v in e.items() if k != "session_id"})) for e in entries
        ]
        out.emit(entries, lambda: out.print(rows_table(("session id", "answer"), rows)))


@app.command("cancel", cls=PlainHelpCommand)
@with_options(*JSON)
def cancel(ctx: typer.Context, broadcast_id: BroadcastId, **options: Any) -> None:
    """Send no more frames (close no more sessions); what was sent keeps its outcome."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        relay.cancel_broadcast(broadcast_id)
        out.emit({"cancelled": broadcast_id}, lambda: out.print(f"cancelled {broadcast_id}"))


@app.command("list", cls=PlainHelpCommand)
@with_options(*JSON)
def list_(
    ctx: typer.Context,
    limit: Annotated[int | None, typer.Option("--limit", metavar="N", help="At most N, 1..1000.")] = None,
    **options: Any,
) -> None:
    """Your broadcasts, newest first (each kept 24 hours after it is done)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        shown = relay.list_broadcasts(limit=limit).broadcasts
        columns = ("broadcast id", "action", "started (UTC)", "state", "matched", "pending")
        rows = [
            (
                b.id,
                b.action,
                utc_time(b.created_at),
                "done" if b.done else "running",
                str(b.matched if b.matched is not None else ""),
                str(b.counts.pending),
            )
            for b in shown
        ]
        out.emit([_shown(b) for b in shown], lambda: out.print(rows_table(columns, rows)))
