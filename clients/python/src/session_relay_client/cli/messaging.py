"""What ``sessions message`` sends and shows: the --data value, the requests for the sessions
targeted (one, many in requests of 1000, or --all's filter page after page), and their answers."""

from typing import Any

import typer
from rich.text import Text

from session_relay_client import (
    MAX_BULK_IDS,
    UNSET,
    BatchAccepted,
    BulkMessageResult,
    MessageAccepted,
    SessionFilter,
    SessionMessageResult,
    SessionRelay,
)
from session_relay_client.cli.filtered import message_pages
from session_relay_client.cli.output import Output, compact, table
from session_relay_client.contract import parse_json


def parse_data(data: str | None) -> Any:
    if data is None:
        return UNSET
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"not valid JSON ({exc})", param_hint="--data") from exc


def send(
    out: Output,
    relay: SessionRelay,
    targets: list[str] | SessionFilter,
    key: str,
    payload: Any,
    **sending: Any,
) -> BulkMessageResult | list[str]:
    """Message the targets: their answers, or without waiting the ids to read them with."""
    if isinstance(targets, SessionFilter):
        return message_pages(out, relay, targets, key, payload, **sending)
    if len(targets) == 1:
        single = relay.message(targets[0], key, payload, **sending)
        if isinstance(single, MessageAccepted):
            return [single.message_id]
        entry = SessionMessageResult(session_id=targets[0], **single.model_dump())
        return BulkMessageResult(responses=[entry])
    if not sending["wait"] or sending["idempotency_key"] is not None or len(targets) <= MAX_BULK_IDS:
        result = relay.message_many(targets, key, payload, **sending)
        return [result.batch_id] if isinstance(result, BatchAccepted) else result
    with out.progress("messaging", len(targets)) as advance:
        return relay.message_many(targets, key, payload, **sending, progress=advance)


def emit_answers(out: Output, result: BulkMessageResult, all_: bool) -> None:
    """Each session's answer (a table, except with --all) and the summary, or the JSON document."""
    ids = [entry.session_id for entry in result.responses]

    def render() -> None:
        if not all_:
            rows = table("session id", "processed", "response / reason")
            for entry in result.responses:
                shown = compact(entry.response) if entry.processed else entry.reason or ""
                rows.add_row(Text(entry.session_id), Text("yes" if entry.processed else "no"), Text(shown))
            out.print(rows)
        elif not ids:
            out.print("no sessions match")
        for line in _summary_lines(result):
            out.print(line)

    document = {
        "responses": [entry.contract() for entry in result.responses],
        "summary": result.summary().model_dump(),
    }
    out.emit(document, render)


def _summary_lines(result: BulkMessageResult) -> list[str]:
    summary = result.summary()
    lines = [f"processed {summary.processed} of {summary.requested}"]
    lines += [f"{reason}: {count}" for reason, count in summary.reasons.items()]
    return lines
