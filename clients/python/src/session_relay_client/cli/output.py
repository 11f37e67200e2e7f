"""Where a command's answer goes: one JSON document, or rich text for people; and the table and
time formats every group shares."""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from session_relay_client import DEFAULT_URL, SessionRelayError

# Tables are never wrapped or cut when stdout is a file or a pipe.
PIPE_WIDTH = 240


@dataclass
class GlobalOptions:
    url: str = DEFAULT_URL
    api_key: str | None = None
    json: bool = False


class Output:
    """Where a command's answer goes: one JSON document, or rich text for people."""

    def __init__(self, ctx: typer.Context, json_flag: bool) -> None:
        settings = ctx.find_object(GlobalOptions) or GlobalOptions()
        self.settings = settings
        self.json = settings.json or json_flag
        self.out = Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)  # a sentence stays one line

    def emit(self, document: Any, render: Callable[[], None]) -> None:
        if self.json:
            typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        else:
            render()

    def print(self, *parts: Any) -> None:
        self.out.print(*parts, markup=False)

    def note(self, text: str) -> None:
        """A remark for people on stderr (never mixed into the JSON on stdout)."""
        self.err.print(text, markup=False)

    def fail(self, error: str, status: int | None = None, code: int = 1) -> NoReturn:
        if self.json:
            typer.echo(json.dumps({"error": error, "status": status}, ensure_ascii=False))
        self.err.print(Text("error: ", style="bold red") + Text(error))
        raise typer.Exit(code)

    @contextmanager
    def reported(self, *also: type[Exception]) -> Iterator[None]:
        """Turn expected failures (API errors, and ``also`` these) into the error sentence on
        stderr and exit status 1."""
        try:
            yield
        except SessionRelayError as exc:
            self.fail(exc.error, exc.status)
        except also as exc:
            self.fail(str(exc))
        except KeyboardInterrupt:
            self.fail("interrupted", code=130)

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        """A progress bar on stderr; yields ``advance(n)``."""
        columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.err, transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda done: bar.advance(task, done)


def utc_time(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return ""
    return datetime.fromtimestamp(epoch_ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def table(*columns: str, ids: int = 1) -> Table:
    """A table whose first ``ids`` columns fold rather than cut (ids must stay copyable)."""
    rows = Table(header_style="bold")
    for index, column in enumerate(columns):
        rows.add_column(column, overflow="fold" if index < ids else "ellipsis")
    return rows


def rows_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    """A table of these columns holding these rows, each cell plain text (never markup)."""
    shown = table(*columns)
    for cells in rows:
        shown.add_row(*(Text(cell) for cell in cells))
    return shown
