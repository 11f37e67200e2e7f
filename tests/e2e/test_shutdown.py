"""The local stack stops quietly and completely on SIGTERM or SIGINT (PROTOCOL.md section 3),
however many connections were closing and whatever calls were still waiting."""

import asyncio
import os
import signal
import threading
import time

import pytest

from session_relay_tools.local.process import start_stack, stop_stack
from session_relay_tools.simulate import Fleet

CLIENTS = 150


def assert_quiet(output: str) -> None:
    assert "Traceback" not in output, output
    assert "Error" not in output, output
    assert "ERROR" not in output, output
    assert output.rstrip().endswith("stopped"), output


def close_without_waiting(fleet: Fleet) -> None:
    """Every client sends its close frame; the server is left to run the $disconnects."""

    async def close_all() -> None:
        await asyncio.gather(*(client.stop() for client in fleet.clients), return_exceptions=True)

    asyncio.run_coroutine_threadsafe(close_all(), fleet._loop).result(30)


def got_message(client) -> bool:
    return any(frame.get("type") == "message" for frame in client.received)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_right_after_many_clients_closed_is_quiet_and_exits_0(signum):
    stack = start_stack()
    fleet = Fleet(stack.ws_url, stack.script_id)
    try:
        for _ in range(CLIENTS // 50):
            fleet.connect(50)
        close_without_waiting(fleet)
        stack.process.send_signal(signum)

        assert stack.process.wait(30) == 0
    finally:
        stop_stack(stack)
        fleet.stop()
    assert_quiet("".join(stack.output))


def test_ctrl_c_on_a_terminal_reaches_the_database_too_yet_the_closing_connections_drain():
    """A terminal's Ctrl-C signals the whole process group, the embedded database's child included:
    it must stay until the stack has run every closed connection's $disconnect."""
    stack = start_stack(own_group=True)
    fleet = Fleet(stack.ws_url, stack.script_id)
    try:
        for _ in range(CLIENTS // 50):
            fleet.connect(50)
        close_without_waiting(fleet)
        os.killpg(stack.process.pid, signal.SIGINT)

        assert stack.process.wait(30) == 0
    finally:
        stop_stack(stack)
        fleet.stop()
    assert_quiet("".join(stack.output))


def test_stop_while_a_rest_call_waits_for_a_reply_is_quiet_and_exits_0():
    stack = start_stack()
    fleet = Fleet(stack.ws_url, stack.script_id)
    try:
        (client,) = fleet.connect(1)
        answers: list[int] = []

        def wait_for_reply() -> None:
            with stack.client() as api:
                try:
                    body = {"key": "sleep", "data": 30, "timeout": 40}
                    answers.append(api.post(f"/sessions/{client.session_id}/message", json=body).status_code)
                except Exception:  # the stack went away under the call: that is the point
                    answers.append(0)

        caller = threading.Thread(target=wait_for_reply, daemon=True)
        caller.start()
        deadline = time.monotonic() + 10
        while not got_message(client) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got_message(client), "the message never reached the client"
        stack.process.send_signal(signal.SIGTERM)

        assert stack.process.wait(30) == 0
        caller.join(10)
    finally:
        stop_stack(stack)
        fleet.stop()
    assert_quiet("".join(stack.output))
