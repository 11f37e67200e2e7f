"""``session-relay admin scripts|keys ...``: scripts and owner API keys, straight to DynamoDB.

Every command takes the same target options (``--stack``, ``--table``, ``--dynamodb-endpoint``,
``--region``) and ``--json``, added once by ``_command``. ``session_relay_client.admin`` (boto3) is
imported only when an admin command runs, so the other commands start fast.
"""

import inspect
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

import typer

from session_relay_client.cli.options import JSON, TARGET
from session_relay_client.cli.output import Output, rows_table, utc_time
from session_relay_client.cli.plain_help import PlainHelpCommand, PlainHelpGroup

app = typer.Typer(
    cls=PlainHelpGroup,
    help="Scripts and owner API keys, written straight to DynamoDB (AWS credentials needed for a "
    "deployed stack).",
    no_args_is_help=True,
)
scripts_app = typer.Typer(
    cls=PlainHelpGroup, help="Scripts: the ids executor clients connect as.", no_args_is_help=True
)
keys_app = typer.Typer(
    cls=PlainHelpGroup,
    help="Owner API keys: each covers one or more scripts, with scopes saying what it may do.",
    no_args_is_help=True,
)
app.add_typer(scripts_app, name="scripts")
app.add_typer(keys_app, name="keys")


class Scope(str, Enum):
    """A key's scopes (``session_relay_client.admin.SCOPES``, not imported here: that would load boto3
    for every command's --help)."""

    READ = "read"
    MESSAGE = "message"
    DISCONNECT = "disconnect"
    MANAGE = "manage"


_CONTEXT = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)


def _command(group: typer.Typer, name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``run(out, store, **its own options)`` as this group's command ``name``: it gets the
    target options and ``--json``, the store they name, and admin errors as the error sentence."""

    def register(run: Callable[..., None]) -> Callable[..., None]:
        own = list(inspect.signature(run).parameters.values())[2:]  # after (out, store)

        def command(ctx: typer.Context, **values: Any) -> None:
            out = Output(ctx, values.pop("json_flag"))
            try:
                from session_relay_client import admin
            except ImportError as exc:  # boto3 comes with the ``admin`` extra
                out.fail(f"the admin commands need boto3: pip install 'session-relay-client[admin]' ({exc})")
            target = admin.Target(
                stack=values.pop("stack"),
                table=values.pop("table"),
                endpoint=values.pop("dynamodb_endpoint"),
                region=values.pop("region"),
            )
            with out.reported(admin.AdminError):
                run(out, admin.open_store(target), **values)

        command.__name__, command.__doc__ = run.__name__, run.__doc__
        command.__signature__ = inspect.Signature([_CONTEXT, *own, *TARGET, *JSON])  # type: ignore[attr-defined]
        group.command(name, cls=PlainHelpCommand)(command)
        return run

    return register


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
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "revoked": key.revoked,
    }


# ---------------------------------------------------------------- scripts

ScriptId = Annotated[str, typer.Argument(metavar="ID", help="The script's id.")]


@_command(scripts_app, "create")
def scripts_create(
    out: Output,
    store: Any,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="A name for people; the id is what clients use.")
    ],
    script_id: Annotated[
        str | None,
        typer.Option("--id", metavar="ID", help="Choose the script id (default: random script_...)."),
    ] = None,
) -> None:
    """Register a script (enabled): executor clients can connect with its id."""
    from session_relay_client import admin

    script = admin.create_script(store, name, script_id)
    out.emit(
        {"script": _script_document(script)},
        lambda: out.print(f"created script {script.script_id} ({script.name})"),
    )


@_command(scripts_app, "list")
def scripts_list(out: Output, store: Any) -> None:
    """List every script."""
    from session_relay_client import admin

    scripts = admin.list_scripts(store)
    rows = [(s.script_id, s.name, "yes" if s.enabled else "no", utc_time(s.created_at)) for s in scripts]
    out.emit(
        {"scripts": [_script_document(script) for script in scripts]},
        lambda: out.print(rows_table(("script id", "name", "enabled", "created (UTC)"), rows)),
    )


def _set_enabled(out: Output, store: Any, script_id: str, enabled: bool) -> None:
    from session_relay_client import admin

    admin.set_script_enabled(store, script_id, enabled)
    word = "enabled" if enabled else "disabled"
    out.emit({"script_id": script_id, "enabled": enabled}, lambda: out.print(f"script {script_id} {word}"))


@_command(scripts_app, "disable")
def scripts_disable(out: Output, store: Any, script_id: ScriptId) -> None:
    """Disable a script: new connections with its id are refused (403); connected sessions stay."""
    _set_enabled(out, store, script_id, False)


@_command(scripts_app, "enable")
def scripts_enable(out: Output, store: Any, script_id: ScriptId) -> None:
    """Enable a script again: clients can connect with its id."""
    _set_enabled(out, store, script_id, True)


# ---------------------------------------------------------------- keys


@_command(keys_app, "create")
def keys_create(
    out: Output,
    store: Any,
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
    scopes: Annotated[
        list[Scope] | None,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            help="What the key may do (repeat for several): read (list and look up sessions, read "
            "outcomes), message, disconnect, manage (webhooks). Default: all four.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Issue an owner API key for existing scripts. The key is shown once; only its hash is stored.

    Without --scope the key may do everything; with it, only what the named scopes allow (any
    other call is answered 403).
    """
    from session_relay_client import admin

    issued = admin.create_key(store, scripts, name, [scope.value for scope in scopes] if scopes else None)

    def render() -> None:
        record = issued.record
        out.print(
            f"created key {record.key_id} for {', '.join(record.script_ids)} "
            f"(scopes: {', '.join(record.scopes)})"
        )
        out.print(issued.api_key)

    out.note("The API key is shown only this once: store it now (it cannot be recovered, only revoked).")
    out.emit({"key": _key_document(issued.record), "api_key": issued.api_key}, render)


@_command(keys_app, "list")
def keys_list(out: Output, store: Any) -> None:
    """List API keys (ids, names, scripts, scopes; never the keys themselves)."""
    from session_relay_client import admin

    keys = admin.list_keys(store)
    rows = [
        (
            k.key_id,
            k.name,
            ", ".join(k.script_ids),
            ", ".join(k.scopes) or "none",
            utc_time(k.created_at),
            "yes" if k.revoked else "no",
        )
        for k in keys
    ]
    columns = ("key id", "name", "scripts", "scopes", "created (UTC)", "revoked")
    out.emit(
        {"keys": [_key_document(key) for key in keys]},
        lambda: out.print(rows_table(columns, rows)),
    )


@_command(keys_app, "revoke")
def keys_revoke(
    out: Output,
    store: Any,
    key_id: Annotated[
        str, typer.Argument(metavar="KEY_ID", help="The key's id (key_...), as keys list shows.")
    ],
) -> None:
    """Revoke an API key.

    A key already in use keeps working for up to 30 s: each API container caches keys that long.
    """
    from session_relay_client import admin

    admin.revoke_key(store, key_id)
    out.emit({"key_id": key_id, "revoked": True}, lambda: out.print(f"key {key_id} revoked"))
