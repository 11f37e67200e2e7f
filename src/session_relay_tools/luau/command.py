"""``python -m session_relay_tools.luau``: the real Luau client against a stack, before any executor.

It loads ``clients/luau/SessionRelay.lua`` as a ModuleScript in the executor stand-in, registers the
demo functions (the simulator's: echo, sleep, error, invalid), prints its session id and stays
connected, reconnecting as the client does, until Ctrl-C (or until the owner disconnects it).
"""

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from session_relay_client.cli.plain_help import PlainHelpCommand

from session_relay_tools.signals import take_signals
from session_relay_tools.simulate.command import ScriptIdOption, WsUrlOption, default_ws_url

if TYPE_CHECKING:
    from session_relay_tools.luau.executor import LuauExecutor

DEMO = """
local SessionRelay = require(game:GetService("ReplicatedStorage").SessionRelay)
session = SessionRelay.connect({
	url = URL, script_id = SCRIPT_ID, user_key = USER_KEY, place_id = PLACE_ID, job_id = JOB_ID,
	debug = DEBUG,
})
connections = 0
session.Connected:Connect(function(id)
	connections += 1
	print("session " .. id .. " connected; functions: echo, sleep, error, invalid; Ctrl-C disconnects it")
end)
session.Disconnected:Connect(function(reason, willReconnect)
	print("disconnected: " .. tostring(reason) .. (if willReconnect then " (reconnecting)" else ""))
end)
session:register("echo", function(data)
	return data
end)
session:register("sleep", function(seconds)
	task.wait(if type(seconds) == "number" then seconds else 1)
	return seconds
end)
session:register("error", function(data)
	error(if type(data) == "string" then data else "demo error")
end)
session:register("invalid", function()
	return 0 / 0 -- NaN: the client answers "invalid return data"
end)
"""
CLOSE_WAIT_S = 3
NOTICE_AFTER_S = 10
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set when SIGINT or SIGTERM arrives, for as long as the block runs (``take_signals``:
    taken by a thread of their own, as a Python handler was seen not to run while the VM's socket
    threads were busy)."""
    stop = threading.Event()
    release = take_signals(STOP_SIGNALS, stop.set, "stop-signals")
    try:
        yield stop
    finally:
        release()


def run_client(executor: "LuauExecutor", stop: threading.Event) -> int:
    """Run the demo until ``stop`` is set or the client closes for good; returns the exit status."""
    noticed = False
    while not stop.is_set() and not executor.eval("return session.closed"):
        executor.settle(0.2)
        connected_once = executor.eval("return connections") > 0
        if not connected_once and not noticed and executor.now() > NOTICE_AFTER_S:
            noticed = True
            why = executor.eval("return session.last_error") or "no answer yet"
            print(f"not connected yet ({why}); the client keeps trying", flush=True)
    if not stop.is_set() and executor.eval("return connections") == 0:  # refused for good (a 403)
        why = executor.eval("return session.last_error") or "closed"
        print(f"not connected ({why}); the client does not retry", flush=True)
    executor.exec("session:close()", name="stop")
    executor.wait_until(lambda: not executor.open_sockets(), CLOSE_WAIT_S, what="the close")
    connected_once = executor.eval("return connections") > 0
    for error in executor.errors:
        print(f"Luau error: {error}", file=sys.stderr, flush=True)
    return 0 if connected_once and not executor.errors else 1


def luau(
    script_id: ScriptIdOption,
    url: WsUrlOption = None,
    user_key: Annotated[str, typer.Option("--user-key", metavar="KEY", help="The user key to send.")] = (
        "luau-demo"
    ),
    place_id: Annotated[
        int, typer.Option("--place-id", metavar="N", help="The place id to send (a positive integer).")
    ] = 606849621,
    job_id: Annotated[str, typer.Option("--job-id", metavar="ID", help="The job id to send.")] = "job-luau",
    client: Annotated[
        Path | None,
        typer.Option(
            "--client",
            metavar="FILE",
            show_default=False,
            help="The client file to run (default: clients/luau/SessionRelay.lua of this repository).",
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Print the client's own log lines.")] = False,
) -> None:
    """Run clients/luau/SessionRelay.lua in a Luau VM against a stack, with demo functions.

    The demo functions are the simulator's: echo, sleep, error, invalid.

    It prints its session id, then stays connected until Ctrl-C or until it is disconnected.

    Exit status: 0 when the client connected, 1 when it never did or a Luau error escaped.
    """
    from session_relay_tools.luau.executor import CLIENT_PATH, LuauExecutor  # the VM only when run

    with stop_on_signals() as stop:  # before the executor starts its threads, so they block them too
        executor = LuauExecutor(
            client_path=client or CLIENT_PATH,
            on_output=lambda _kind, text: print(text, flush=True),
            place_id=place_id,
        )
        try:
            executor.exec(
                DEMO,
                name="demo",
                URL=url or default_ws_url(),
                SCRIPT_ID=script_id,
                USER_KEY=user_key,
                PLACE_ID=place_id,
                JOB_ID=job_id,
                DEBUG=debug,
            )
            status = run_client(executor, stop)
        finally:
            executor.close()
    raise typer.Exit(status)


app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
app.command(cls=PlainHelpCommand)(luau)


def main(argv: list[str] | None = None, prog_name: str = "session-relay luau") -> None:
    """Run the Luau demo client as its own program (``argv`` defaults to the command line)."""
    app(args=argv, prog_name=prog_name)
