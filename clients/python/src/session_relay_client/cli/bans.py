"""``session-relay bans add|list|lift``: keep a user of a script out (PROTOCOL.md, "Extension: bans")."""

from typing import Annotated, Any

import typer

from session_relay_client import Ban, SessionRelay
from session_relay_client.cli.options import JSON, with_options
from session_relay_client.cli.output import Output, rows_table, utc_time
from session_relay_client.cli.plain_help import PlainHelpCommand, PlainHelpGroup

app = typer.Typer(
    cls=PlainHelpGroup,
    help="Bans: a user of a script refused at every handshake, through the REST API at --url with --api-key.",
    no_args_is_help=True,
)


def _client(out: Output) -> SessionRelay:
    if not out.settings.api_key:
        out.fail("no API key: pass --api-key or set SESSION_RELAY_API_KEY")
    return SessionRelay(out.settings.url, out.settings.api_key)


def _who(ban: Ban) -> str:
    return f"user key {ban.user_key}" if ban.user_key is not None else f"roblox id {ban.roblox_id}"


def _expiry(ban: Ban) -> str:
    return "until lifted" if ban.expires_at is None else utc_time(ban.expires_at)


@app.command("add", cls=PlainHelpCommand)
@with_options(*JSON)
def bans_add(
    ctx: typer.Context,
    script_id: Annotated[
        str, typer.Argument(metavar="SCRIPT_ID", help="The script the user is banned from.")
    ],
    user_key: Annotated[
        str | None, typer.Option("--user-key", metavar="KEY", help="Ban this user key (or --roblox-id).")
    ] = None,
    roblox_id: Annotated[
        int | None, typer.Option("--roblox-id", metavar="N", help="Ban this Roblox user id (or --user-key).")
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", metavar="TEXT", help="Why, for your own records (1..200 characters)."),
    ] = None,
    expires_in: Annotated[
        int | None,
        typer.Option(
            "--expires-in",
            metavar="S",
            help="Seconds until the ban ends by itself, 60..31536000 (default: until lifted).",
        ),
    ] = None,
    **options: Any,
) -> None:
    """Ban a user of a script: its live sessions are disconnected now, and its handshakes refused
    (403) until the ban expires or is lifted. Give exactly one of --user-key and --roblox-id."""
    if (user_key is None) == (roblox_id is None):
        raise typer.BadParameter("give exactly one of --user-key and --roblox-id", param_hint="--user-key")
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        who = {"user_key": user_key, "roblox_id": roblox_id}
        result = relay.ban(script_id, **who, reason=reason, expires_in=expires_in)

    def render() -> None:
        ban = result.ban
        out.print(f"banned {_who(ban)} from {ban.script_id} ({_expiry(ban)}); ban id {ban.id}")
        count = len(result.disconnected)
        out.print(f"disconnected {count} live session{'' if count == 1 else 's'}")

    out.emit({"ban": result.ban.model_dump(), "disconnected": result.disconnected}, render)


@app.command("list", cls=PlainHelpCommand)
@with_options(*JSON)
def bans_list(
    ctx: typer.Context,
    script_id: Annotated[
        str | None, typer.Option("--script-id", metavar="ID", help="Only bans of this script.")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", metavar="N", help="Bans per page, 1..1000 (the API's default is 100)."),
    ] = None,
    cursor: Annotated[
        str | None, typer.Option("--cursor", metavar="CURSOR", help="Continue after a previous page.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every ban in force (follows every page).")] = False,
    **options: Any,
) -> None:
    """List your bans in force, newest first (one page, or with --all every one)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        if all_:
            if cursor is not None:
                raise typer.BadParameter("--cursor and --all do not go together", param_hint="--cursor")
            bans, next_cursor = list(relay.iter_bans(script_id=script_id, page_size=limit)), None
        else:
            page = relay.list_bans(script_id=script_id, limit=limit, cursor=cursor)
            bans, next_cursor = page.bans, page.next_cursor

    def render() -> None:
        columns = ("ban id", "script", "banned", "reason", "since (UTC)", "ends (UTC)")
        rows = [
            (b.id, b.script_id, _who(b), b.reason or "", utc_time(b.created_at), _expiry(b)) for b in bans
        ]
        out.print(rows_table(columns, rows))
        out.print(f"{len(bans)} ban{'' if len(bans) == 1 else 's'}")
        if next_cursor:
            out.print(f"more: --cursor {next_cursor}")

    out.emit({"bans": [b.model_dump() for b in bans], "next_cursor": next_cursor}, render)


@app.command("lift", cls=PlainHelpCommand)
@with_options(*JSON)
def bans_lift(
    ctx: typer.Context,
    ban_id: Annotated[str, typer.Argument(metavar="BAN_ID", help="The ban's id (bans list shows it).")],
    **options: Any,
) -> None:
    """Lift a ban: the user may connect again (sessions closed by the ban stay closed)."""
    out = Output(ctx, options["json_flag"])
    with out.reported(), _client(out) as relay:
        relay.lift_ban(ban_id)
    out.emit({"lifted": ban_id}, lambda: out.print(f"lifted ban {ban_id}"))
