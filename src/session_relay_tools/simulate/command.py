"""``session-relay simulate`` (also ``python -m session_relay_tools.simulate``): simulated executors.

Each session lives on its own: one that is disconnected through the API (or whose connection drops)
ends alone and the others stay. Ctrl-C (or SIGTERM) disconnects the rest. Exit status 0 when at least
one session connected, 1 when none did, 2 for a usage mistake.
"""

import asyncio
import os
import signal
from collections import Counter
from dataclasses import dataclass
from typing import Annotated

import typer
from session_relay_client.cli.plain_help import PlainHelpCommand

from session_relay_tools.open_files import allow_many_open_files
from session_relay_tools.simulate.client import PING_INTERVAL_S, SimulatedClient, identity_for


def default_ws_url() -> str:
    """``$SESSION_RELAY_WS_URL``, else the local stack's WebSocket API on ``$SESSION_RELAY_WS_PORT``."""
    return os.environ.get("SESSION_RELAY_WS_URL") or (
        f"ws://127.0.0.1:{os.environ.get('SESSION_RELAY_WS_PORT') or '3001'}"
    )


@dataclass(frozen=True)
class Plan:
    url: str
    script_id: str
    sessions: int
    place_id: int
    job_id: str
    ping_interval_s: float


def _say(text: str) -> None:
    print(text, flush=True)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


async def run_sessions(plan: Plan) -> int:
    """Connect the sessions and keep each until it ends; returns the exit status."""
    allow_many_open_files()  # a session is a socket
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    clients = [
        SimulatedClient(
            plan.url,
            identity_for(plan.script_id, index, plan.place_id, plan.job_id),
            ping_interval_s=plan.ping_interval_s,
        )
        for index in range(plan.sessions)
    ]
    tasks = {asyncio.create_task(client.run()): client for client in clients}
    stopper = asyncio.create_task(stop.wait())
    hellos = asyncio.gather(*(client.hello.wait() for client in clients))
    await asyncio.wait([hellos, stopper], return_when=asyncio.FIRST_COMPLETED)
    live = {task for task, client in tasks.items() if client.session_id}
    _report_start(clients)
    try:
        while live and not stop.is_set():
            done, _ = await asyncio.wait([*live, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stopper}:
                live.discard(task)
                client = tasks[task]
                _say(f"session {client.session_id} ended, {client.ending()}; {len(live)} still connected")
        if not live and any(client.session_id for client in clients):
            _say("every session has ended")
    finally:
        stopper.cancel()
        hellos.cancel()
        await asyncio.gather(*(client.stop() for client in clients), return_exceptions=True)
        await asyncio.gather(*tasks, stopper, hellos, return_exceptions=True)
    return 0 if any(client.session_id for client in clients) else 1


def _report_start(clients: list[SimulatedClient]) -> None:
    live = [client for client in clients if client.session_id]
    for client in live:
        _say(f"session {client.session_id}  user_key={client.identity['user_key']}")
    refusals = Counter(client.ending() for client in clients if not client.session_id and client.error)
    for why, count in refusals.items():
        _say(f"{_plural(count, 'session')} {why}")
    if live:
        _say(f"{_plural(len(live), 'session')} connected; Ctrl-C disconnects them")
    else:
        _say("no session connected")


# Shared with ``session_relay_tools.luau``: who connects, and where.
ScriptIdOption = Annotated[
    str,
    typer.Option(
        "--script-id",
        metavar="ID",
        envvar="SESSION_RELAY_DEV_SCRIPT_ID",
        show_default=False,
        help="The script id to connect as (make dev prints its development script id).",
    ),
]
WsUrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        show_default=False,
        help="WebSocket API URL (default: $SESSION_RELAY_WS_URL, else ws://127.0.0.1 on "
        "$SESSION_RELAY_WS_PORT, else port 3001).",
    ),
]


def simulate(
    script_id: ScriptIdOption,
    sessions: Annotated[
        int,
        typer.Option(
            "--sessions", "-n", metavar="N", min=1, help="How many sessions to connect (at least 1)."
        ),
    ] = 1,
    url: WsUrlOption = None,
    place_id: Annotated[
        int,
        typer.Option(
            "--place-id", metavar="N", min=1, help="The place id of every session (a positive integer)."
        ),
    ] = 606849621,
    job_id: Annotated[str, typer.Option("--job-id", metavar="ID", help="The job id of every session.")] = (
        "job-local"
    ),
    ping_interval: Annotated[
        float,
        typer.Option(
            "--ping-interval",
            metavar="S",
            min=0.1,
            help=f"Seconds between pings (at least 0.1; default {PING_INTERVAL_S:g}; one is owed in 540).",
        ),
    ] = PING_INTERVAL_S,
) -> None:
    """Connect simulated sessions that declare and answer the demo functions echo, sleep, error, invalid.

    Each session stays until it is disconnected (through the API, or its connection drops) or Ctrl-C.

    A refused handshake prints the HTTP status and the server's reason.

    Exit status: 0 when at least one session connected, 1 when none did.
    """
    plan = Plan(url or default_ws_url(), script_id, sessions, place_id, job_id, ping_interval)
    raise typer.Exit(asyncio.run(run_sessions(plan)))


app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
app.command(cls=PlainHelpCommand)(simulate)


def main(argv: list[str] | None = None, prog_name: str = "session-relay simulate") -> None:
    """Run the simulator as its own program (``argv`` defaults to the command line)."""
    app(args=argv, prog_name=prog_name)
