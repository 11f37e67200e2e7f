"""What ``--all`` does: the API's own filters, page after page (each session targeted once while
others come and go), and ``sessions result`` for messages sent with ``--no-wait``."""

from typing import Annotated, Any

import typer
from rich.text import Text

from session_relay_client import (
    BatchAccepted,
    BulkDisconnectResult,
    BulkMessageResult,
    NotFound,
    SessionFilter,
    SessionRelay,
)
from session_relay_client.cli.options import JSON, with_options
from session_relay_client.cli.output import Output, compact, table
from session_relay_client.cli.plain_help import PlainHelpCommand


def message_pages(
    out: Output, relay: SessionRelay, where: SessionFilter, key: str, payload: Any, **sending: Any
) -> BulkMessageResult | list[str]:
    """Message every matching session, a page (up to 1000) a request; with ``wait=False`` the
    batch ids, one a page."""
    entries, batches, cursor = [], [], None
    with out.err.status("messaging the matching sessions..."):
        while True:
            page = relay.message_many(where, key, payload, cursor=cursor, **sending)
            if isinstance(page, BatchAccepted):
                batches.append(page.batch_id)
            else:
                entries.extend(page.responses)
            cursor = page.next_cursor
            if cursor is None:
                break
    if not sending.get("wait", True):
        return batches
    return BulkMessageResult(responses=entries)


def disconnect_pages(out: Output, relay: SessionRelay, where: SessionFilter) -> BulkDisconnectResult:
    """Disconnect every matching session, a page (up to 1000) a request."""
    done: list[str] = []
    cursor = None
    with out.err.status("disconnecting the matching sessions..."):
        while True:
            page = relay.disconnect_many(where, cursor=cursor)
            done.extend(page.disconnected)
            cursor = page.next_cursor
            if cursor is None:
                return BulkDisconnectResult(disconnected=done, not_disconnected=[])


def register(app: typer.Typer) -> None:
    app.command("result", cls=PlainHelpCommand)(sessions_result)


@with_options(*JSON)
def sessions_result(
    ctx: typer.Context,
    sent_id: Annotated[str, typer.Argument(metavar="ID", help="A message id or batch id from --no-wait.")],
    wait: Annotated[
        float,
        typer.Option("--wait", "-w", metavar="S", help="Seconds to wait for the outcome (default 0)."),
    ] = 0,
    **options: Any,
) -> None:
    """Show the outcome of a message sent with --no-wait (pending while the client may answer)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), SessionRelay(out.settings.url, out.settings.api_key) as relay:
        try:
            message = relay.get_message(sent_id, wait=wait)
            document = message.model_dump(exclude_none=True)
            if not message.done:
                document = {"done": False}
            entries = [("", message.done, message)]
        except NotFound:
            batch = relay.get_batch(sent_id, wait=wait)
            document = {"done": batch.done, "responses": [_entry(e) for e in batch.responses]}
            entries = [(e.session_id, not e.pending, e) for e in batch.responses]

    def render() -> None:
        rows = table("session id", "done", "processed", "response / reason")
        for session_id, finished, entry in entries:
            shown = compact(entry.response) if entry.processed else entry.reason or ""
            processed = ("yes" if entry.processed else "no") if finished else ""
            rows.add_row(Text(session_id), Text("yes" if finished else "no"), Text(processed), Text(shown))
        out.print(rows)
        out.print("done" if document["done"] else "still pending")

    out.emit(document, render)


def _entry(entry: Any) -> dict[str, Any]:
    if entry.pending:
        return {"session_id": entry.session_id, "pending": True}
    shown = {"response": entry.response} if entry.processed else {"reason": entry.reason}
    return {"session_id": entry.session_id, "processed": entry.processed, **shown}
