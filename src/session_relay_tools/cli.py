"""``session-relay``: the command line for script owners and operators.

    session-relay sessions list|get|message|disconnect   the REST API, through the SDK
    session-relay admin scripts|keys ...                  scripts and API keys, straight to DynamoDB
    session-relay dev | simulate                          the local stack and the executor simulator

Expected failures (the API's errors, an unreachable URL, AWS errors) end with the error sentence on
stderr and exit status 1; usage mistakes (including ``--data`` that is not JSON) exit with 2.
"""

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from session_relay.wire import parse_json
from typer.core import TyperGroup

from session_relay_tools.sdk import (
    DEFAULT_URL,
    MAX_BULK_IDS,
    UNSET,
    BulkMessageResult,
    Session,
    SessionMessageResult,
    SessionRelay,
    SessionRelayError,
)

# Tables are never wrapped or cut when stdout is a file or a pipe.
PIPE_WIDTH = 240


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
sessions_app = typer.Typer(
    help="Live sessions, through the REST API at --url with --api-key.", no_args_is_help=True
)
admin_app = typer.Typer(
    help="Scripts and owner API keys, written straight to DynamoDB (AWS credentials needed for a "
    "deployed stack).",
    no_args_is_help=True,
)
scripts_app = typer.Typer(help="Scripts: the ids executor clients connect as.", no_args_is_help=True)
keys_app = typer.Typer(help="Owner API keys: each covers one or more scripts.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions", rich_help_panel="Script owners")
app.add_typer(admin_app, name="admin", rich_help_panel="Operators")
admin_app.add_typer(scripts_app, name="scripts")
admin_app.add_typer(keys_app, name="keys")


# ---------------------------------------------------------------- output


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


def _client(out: Output) -> SessionRelay:
    if not out.settings.api_key:
        out.fail("no API key: pass --api-key or set SESSION_RELAY_API_KEY")
    return SessionRelay(out.settings.url, out.settings.api_key)


def _time(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return ""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _table(*columns: str, ids: int = 1) -> Table:
    """A table whose first ``ids`` columns fold rather than cut (ids must stay copyable)."""
    table = Table(header_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, overflow="fold" if index < ids else "ellipsis")
    return table


def _session_rows(sessions: list[Session]) -> Table:
    table = _table("session id", "script", "user key", "roblox id", "place id", "job id", "connected (UTC)")
    for s in sessions:
        cells = (
            s.id,
            s.script_id,
            s.user_key,
            str(s.roblox_id),
            str(s.place_id),
            s.job_id,
            _time(s.created_at),
        )
        table.add_row(*(Text(cell) for cell in cells))
    return table


# ---------------------------------------------------------------- shared options

JsonFlag = Annotated[
    bool,
    typer.Option("--json", help="Print exactly one JSON document on stdout (same as the global --json)."),
]
ScriptFilter = Annotated[
    str | None, typer.Option("--script-id", metavar="ID", help="Only sessions of this script.")
]
UserKeyFilter = Annotated[
    str | None, typer.Option("--user-key", metavar="KEY", help="Only sessions with this user key.")
]
RobloxFilter = Annotated[
    int | None, typer.Option("--roblox-id", metavar="N", help="Only sessions of this Roblox user id.")
]
PlaceFilter = Annotated[
    int | None, typer.Option("--place-id", metavar="N", help="Only sessions in this place.")
]
JobFilter = Annotated[
    str | None, typer.Option("--job-id", metavar="ID", help="Only sessions in this server (job id).")
]


def _filters(
    script_id: str | None,
    user_key: str | None,
    roblox_id: int | None,
    place_id: int | None,
    job_id: str | None,
) -> dict[str, Any]:
    found = {
        "script_id": script_id,
        "user_key": user_key,
        "roblox_id": roblox_id,
        "place_id": place_id,
        "job_id": job_id,
    }
    return {name: value for name, value in found.items() if value is not None}


def _targets(
    out: Output, relay: SessionRelay, ids: list[str], all_: bool, filters: dict[str, Any]
) -> list[str]:
    """The ids a bulk command acts on: those given, or with --all every session the filters match."""
    if all_ and ids:
        raise typer.BadParameter("give session ids or --all, not both", param_hint="--all")
    if not all_ and not ids:
        raise typer.BadParameter(
            "give at least one session id, or --all (with filters) for every match", param_hint="ID"
        )
    if filters and not all_:
        raise typer.BadParameter(
            "the filters (--script-id, --place-id, ...) only apply with --all", param_hint="--all"
        )
    if not all_:
        return ids
    with out.err.status("finding the matching sessions..."):
        return [session.id for session in relay.iter_sessions(page_size=MAX_BULK_IDS, **filters)]


# ---------------------------------------------------------------- root


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


# ---------------------------------------------------------------- sessions


@sessions_app.command("list")
def sessions_list(
    ctx: typer.Context,
    script_id: ScriptFilter = None,
    user_key: UserKeyFilter = None,
    roblox_id: RobloxFilter = None,
    place_id: PlaceFilter = None,
    job_id: JobFilter = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", metavar="N", help="Sessions per page, 1..1000 (the API's default is 100)."),
    ] = None,
    cursor: Annotated[
        str | None, typer.Option("--cursor", metavar="CURSOR", help="Continue after a previous page.")
    ] = None,
    all_pages: Annotated[
        bool, typer.Option("--all-pages", help="Follow the cursor through every page.")
    ] = False,
    json_flag: JsonFlag = False,
) -> None:
    """List your live sessions, newest first."""
    out = Output(ctx, json_flag)
    filters = _filters(script_id, user_key, roblox_id, place_id, job_id)
    with out.reported(), _client(out) as relay:
        if all_pages:
            if cursor is not None:
                raise typer.BadParameter("--cursor and --all-pages do not go together", param_hint="--cursor")
            sessions, next_cursor = list(relay.iter_sessions(page_size=limit, **filters)), None
        else:
            page = relay.list_sessions(limit=limit, cursor=cursor, **filters)
            sessions, next_cursor = page.sessions, page.next_cursor

    def render() -> None:
        out.print(_session_rows(sessions))
        out.print(f"{len(sessions)} session{'' if len(sessions) == 1 else 's'}")
        if next_cursor:
            out.print(f"more: --cursor {next_cursor}")

    document = {"sessions": [s.model_dump() for s in sessions], "next_cursor": next_cursor}
    out.emit(document, render)


@sessions_app.command("get")
def sessions_get(
    ctx: typer.Context,
    session_id: Annotated[str, typer.Argument(metavar="ID", help="The session's id.")],
    json_flag: JsonFlag = False,
) -> None:
    """Show one session."""
    out = Output(ctx, json_flag)
    with out.reported(), _client(out) as relay:
        session = relay.get_session(session_id)

    def render() -> None:
        table = Table(show_header=False, box=None)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for field, value in session.model_dump().items():
            shown = _time(value) if field.endswith("_at") else str(value)
            table.add_row(field, Text(shown + (" UTC" if field.endswith("_at") else "")))
        out.print(table)

    out.emit({"session": session.model_dump()}, render)


def _parse_data(data: str | None) -> Any:
    if data is None:
        return UNSET
    try:
        return parse_json(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"not valid JSON ({exc})", param_hint="--data") from exc


def _summary_lines(result: BulkMessageResult) -> list[str]:
    summary = result.summary()
    lines = [f"processed {summary.processed} of {summary.requested}"]
    lines += [f"{reason}: {count}" for reason, count in summary.reasons.items()]
    return lines


@sessions_app.command("message")
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
    script_id: ScriptFilter = None,
    user_key: UserKeyFilter = None,
    roblox_id: RobloxFilter = None,
    place_id: PlaceFilter = None,
    job_id: JobFilter = None,
    json_flag: JsonFlag = False,
) -> None:
    """Run a function in sessions and show each answer (or why there is none).

    Many ids go 1000 to a request, several requests at once; answers keep the order asked.

    Among many ids, one that is unknown (or not yours) is answered "session not found";
    exactly one such id fails with the API's 404 instead.
    """
    out = Output(ctx, json_flag)
    payload = _parse_data(data)
    filters = _filters(script_id, user_key, roblox_id, place_id, job_id)
    with out.reported(), _client(out) as relay:
        ids = _targets(out, relay, list(session_ids or []), all_, filters)
        if len(ids) == 1 and not all_:
            single = relay.message(ids[0], key, payload, timeout=timeout)
            result = BulkMessageResult(
                responses=[SessionMessageResult(session_id=ids[0], **single.model_dump())]
            )
        elif not ids:
            result = BulkMessageResult(responses=[])
        elif all_ or len(ids) > MAX_BULK_IDS:
            with out.progress("messaging", len(ids)) as advance:
                result = relay.message_many(ids, key, payload, timeout=timeout, progress=advance)
        else:
            result = relay.message_many(ids, key, payload, timeout=timeout)

    def render() -> None:
        if not all_:
            table = _table("session id", "processed", "response / reason")
            for entry in result.responses:
                shown = _compact(entry.response) if entry.processed else entry.reason or ""
                table.add_row(Text(entry.session_id), Text("yes" if entry.processed else "no"), Text(shown))
            out.print(table)
        elif not ids:
            out.print("no sessions match")
        for line in _summary_lines(result):
            out.print(line)

    document = {
        "responses": [entry.contract() for entry in result.responses],
        "summary": result.summary().model_dump(),
    }
    out.emit(document, render)


@sessions_app.command("disconnect")
def sessions_disconnect(
    ctx: typer.Context,
    session_ids: Annotated[
        list[str] | None,
        typer.Argument(metavar="ID", help="Sessions to disconnect (or use --all).", show_default=False),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Disconnect every session the filters match.")] = False,
    script_id: ScriptFilter = None,
    user_key: UserKeyFilter = None,
    roblox_id: RobloxFilter = None,
    place_id: PlaceFilter = None,
    job_id: JobFilter = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation with --all.")] = False,
    json_flag: JsonFlag = False,
) -> None:
    """Close sessions' connections and delete them (clients get a disconnect frame first).

    With --all, asks for confirmation unless --yes.

    Among many ids, those unknown (or not yours) are listed as not disconnected;
    exactly one such id fails with the API's 404 instead.
    """
    out = Output(ctx, json_flag)
    filters = _filters(script_id, user_key, roblox_id, place_id, job_id)
    with out.reported(), _client(out) as relay:
        ids = _targets(out, relay, list(session_ids or []), all_, filters)
        if all_ and ids and not yes:
            try:
                confirmed = typer.confirm(
                    f"Disconnect {len(ids)} session{'s' if len(ids) != 1 else ''}?", err=True
                )
            except typer.Abort:
                confirmed = False
            if not confirmed:
                out.fail("not confirmed (pass --yes to skip the question); nothing was disconnected")
        if len(ids) == 1 and not all_:
            relay.disconnect(ids[0])
            disconnected, missing = ids, []
        elif not ids:
            disconnected, missing = [], []
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


# ---------------------------------------------------------------- admin

StackOption = Annotated[
    str | None,
    typer.Option(
        "--stack", metavar="NAME", help="A deployed stack: table names come from its CloudFormation outputs."
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", metavar="REGION", help="AWS region (default: your AWS configuration)."),
]
TableOption = Annotated[
    str | None, typer.Option("--table", metavar="NAME", help="The auth table's name, given directly.")
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--dynamodb-endpoint",
        metavar="URL",
        help="A DynamoDB endpoint, e.g. the local stack's http://127.0.0.1:8000 "
        "(its tables then have the local names).",
    ),
]


def _store(
    out: Output, stack: str | None, table: str | None, endpoint: str | None, region: str | None
) -> Any:
    from session_relay_tools.admin import AdminError, Target, open_store

    with out.reported(AdminError):
        return open_store(Target(stack=stack, table=table, endpoint=endpoint, region=region))


def _script_document(script: Any) -> dict[str, Any]:
    return {
        "script_id": script.script_id,
        "name": script.name,
        "enabled": script.enabled,
        "created_at": script.created_at,
    }


def _key_document(key: Any) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "script_ids": list(key.script_ids),
        "created_at": key.created_at,
        "revoked": key.revoked,
    }


@scripts_app.command("create")
def scripts_create(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A name for people; the id is what clients use.")
    ],
    script_id: Annotated[
        str | None,
        typer.Option("--id", metavar="ID", help="Choose the script id (default: random script_...)."),
    ] = None,
    stack: StackOption = None,
    table: TableOption = None,
    dynamodb_endpoint: EndpointOption = None,
    region: RegionOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Register a script (enabled): executor clients can connect with its id."""
    from session_relay_tools import admin

    out = Output(ctx, json_flag)
    store = _store(out, stack, table, dynamodb_endpoint, region)
    with out.reported(admin.AdminError):
        script = admin.create_script(store, name, script_id)
    out.emit(
        {"script": _script_document(script)},
        lambda: out.print(f"created script {script.script_id} ({script.name})"),
    )


@scripts_app.command("list")
def scripts_list(
    ctx: typer.Context,
    stack: StackOption = None,
    table: TableOption = None,
    dynamodb_endpoint: EndpointOption = None,
    region: RegionOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """List every script."""
    from session_relay_tools import admin

    out = Output(ctx, json_flag)
    store = _store(out, stack, table, dynamodb_endpoint, region)
    with out.reported(admin.AdminError):
        scripts = admin.list_scripts(store)

    def render() -> None:
        rows = _table("script id", "name", "enabled", "created (UTC)")
        for script in scripts:
            cells = (
                script.script_id,
                script.name,
                "yes" if script.enabled else "no",
                _time(script.created_at),
            )
            rows.add_row(*(Text(cell) for cell in cells))
        out.print(rows)

    out.emit({"scripts": [_script_document(script) for script in scripts]}, render)


def _set_enabled(
    ctx: typer.Context, script_id: str, enabled: bool, target: tuple[Any, ...], json_flag: bool
) -> None:
    from session_relay_tools import admin

    out = Output(ctx, json_flag)
    store = _store(out, *target)
    with out.reported(admin.AdminError):
        admin.set_script_enabled(store, script_id, enabled)
    word = "enabled" if enabled else "disabled"
    out.emit({"script_id": script_id, "enabled": enabled}, lambda: out.print(f"script {script_id} {word}"))


ScriptId = Annotated[str, typer.Argument(metavar="ID", help="The script's id.")]


@scripts_app.command("disable")
def scripts_disable(
    ctx: typer.Context,
    script_id: ScriptId,
    stack: StackOption = None,
    table: TableOption = None,
    dynamodb_endpoint: EndpointOption = None,
    region: RegionOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Disable a script: new connections with its id are refused (403); connected sessions stay."""
    _set_enabled(ctx, script_id, False, (stack, table, dynamodb_endpoint, region), json_flag)


@scripts_app.command("enable")
def scripts_enable(
    ctx: typer.Context,
    script_id: ScriptId,
    stack: StackOption = None,
    table: TableOption = None,
    dynamodb_endpoint: EndpointOption = None,
    region: RegionOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Enable a script again: clients can connect with its id."""
    _set_enabled(ctx, script_id, True, (stack, table, dynamodb_endpoint, region), json_flag)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    scripts: Annotated[
        list[str],
        typer.Option(
            "--script",
            "-s",
            metavar="ID",
            help="A script the key covers (repeat for several).",
            show_default=False,
        ),
    ],
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="A label for people.")] = "",
    stack: StackOption = None,
    table: TableOption = None,
    dynamodb_endpoint: EndpointOption = None,
    region: RegionOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Issue an owner API key for existing scripts. The key is shown once; only its hash is stored."""
    from session_relay_tools import admin

    out = Output(ctx, json_flag)
    store = _store(out, stack, table, dynamodb_endpoint, region)
    with out.reported(admin.AdminError):
        issued = admin.create_key(store, scripts, name)

    def render() -> None:
        out.print(f"created key {issued.record.key_id} for {', '.join(issued.record.script_ids)}")
        out.print(issued.api_key)

    out.note("The API key is shown only this once: store it now (it cannot be recovered, only revoked).")
    out.emit({"key": _key_document(issued.record), "api_key": issued.api_key}, render)


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    stack: StackOption = None,
    table: TableOption = None,
    dynamodb_endpoint: EndpointOption = None,
    region: RegionOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """List API keys (ids, names, scripts; never the keys themselves)."""
    from session_relay_tools import admin

    out = Output(ctx, json_flag)
    store = _store(out, stack, table, dynamodb_endpoint, region)
    with out.reported(admin.AdminError):
        keys = admin.list_keys(store)

    def render() -> None:
        rows = _table("key id", "name", "scripts", "created (UTC)", "revoked")
        for key in keys:
            cells = (
                key.key_id,
                key.name,
                ", ".join(key.script_ids),
                _time(key.created_at),
                "yes" if key.revoked else "no",
            )
            rows.add_row(*(Text(cell) for cell in cells))
        out.print(rows)

    out.emit({"keys": [_key_document(key) for key in keys]}, render)


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[
        str, typer.Argument(metavar="KEY_ID", help="The key's id (key_...), as keys list shows.")
    ],
    stack: StackOption = None,
    table: TableOption = None,
    dynamodb_endpoint: EndpointOption = None,
    region: RegionOption = None,
    json_flag: JsonFlag = False,
) -> None:
    """Revoke an API key.

    A key already in use keeps working for up to 30 s: each API container caches keys that long.
    """
    from session_relay_tools import admin

    out = Output(ctx, json_flag)
    store = _store(out, stack, table, dynamodb_endpoint, region)
    with out.reported(admin.AdminError):
        admin.revoke_key(store, key_id)
    out.emit({"key_id": key_id, "revoked": True}, lambda: out.print(f"key {key_id} revoked"))


# ---------------------------------------------------------------- local development


@app.command(rich_help_panel="Local development")
def dev() -> None:
    """Run the local stack in the foreground (as make dev does); Ctrl-C stops it.

    REST API on 127.0.0.1:3000, WebSocket API on :3001, embedded DynamoDB on :8000.

    The SESSION_RELAY_*_PORT and SESSION_RELAY_DEV_* environment variables change them.
    """
    from session_relay_tools.local.stack import main as run_stack

    run_stack()


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
    rich_help_panel="Local development",
)
def simulate(ctx: typer.Context) -> None:
    """Connect simulated executor sessions (session-relay simulate --help lists its options)."""
    from session_relay_tools.simulate import main as run_simulator

    run_simulator(list(ctx.args))


def main() -> None:
    """The ``session-relay`` console script."""
    app(prog_name="session-relay")
