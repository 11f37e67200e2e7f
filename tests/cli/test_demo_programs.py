"""The demo programs against the local stack, as child processes: the executor simulator
(``python -m session_relay_tools.simulate``: each session lives on its own, refusals are explained,
the exit status tells) and the real Luau client in a Luau VM (``python -m session_relay_tools.luau``)."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from session_relay_tools.local.process import free_port


class Program:
    """A demo program as a child process; its output lines are collected as they come."""

    def __init__(self, module: str, *args: str) -> None:
        self.process = subprocess.Popen(
            # faulthandler: a program that does not exit in time is sent SIGABRT, which prints
            # every thread's stack into its output, so the failure shows where it hung.
            [sys.executable, "-u", "-X", "faulthandler", "-m", module, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout_s: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text)
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the simulator's output:\n{self.text}")

    def session_ids(self) -> list[str]:
        return re.findall(r"^session (\w+)  user_key=", self.text, flags=re.MULTILINE)

    def _signal_state(self) -> str:
        """The kernel's view of the program's signals (pending, blocked, ignored, caught; per thread
        too), to tell a signal that never reached a handler from one whose handler did not end it."""
        lines = []
        for status in [f"/proc/{self.process.pid}/status", *_thread_statuses(self.process.pid)]:
            with contextlib.suppress(OSError):
                with open(status) as file:
                    fields = [line.strip() for line in file if line.startswith(("Name", "Sig", "ShdPnd"))]
                lines.append(f"{status}: " + "; ".join(fields))
        return "\n".join(lines)

    def exit_status(self, timeout_s: float = 20) -> int:
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            signals = self._signal_state()
            self.process.send_signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
            time.sleep(0.2)  # the reader thread takes the last lines
            raise AssertionError(
                f"no exit within {timeout_s} s; its signal state, stacks and output:\n{signals}\n{self.text}"
            ) from None
        finally:
            if self.process.poll() is None:
                self.process.kill()


def _thread_statuses(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return [f"/proc/{pid}/task/{task}/status" for task in sorted(os.listdir(f"/proc/{pid}/task"))]
    return []


@pytest.fixture
def program(local_stack):
    started: list[Program] = []

    def start(
        *args: str, script_id: str | None = None, module: str = "session_relay_tools.simulate"
    ) -> Program:
        identity = ("--script-id", script_id or local_stack.script_id, "--url", local_stack.ws_url)
        started.append(Program(module, *identity, *args))
        return started[-1]

    yield start
    for process in (program.process for program in started):
        if process.poll() is None:
            process.kill()
            process.wait(5)


def listed(api, place_id: int) -> set[str]:
    sessions = api.get("/sessions", params={"place_id": place_id}).json()["sessions"]
    return {session["id"] for session in sessions}


def test_each_session_outlives_the_disconnect_of_another(program, api, place_id):
    run = program("--sessions", "3", "--place-id", str(place_id))
    run.wait_for("3 sessions connected")
    first, *others = run.session_ids()

    assert api.post(f"/sessions/{first}/disconnect").json() == {"success": True}

    run.wait_for(f"session {first} ended, disconnected by the server: .+; 2 still connected")
    assert listed(api, place_id) == set(others)
    for session_id in others:
        answer = api.post(f"/sessions/{session_id}/message", json={"key": "echo", "data": [session_id]})
        assert answer.json() == {"success": True, "processed": True, "response": [session_id]}
    assert run.process.poll() is None, run.text

    many = api.post("/sessions/disconnect", json={"session_ids": others}).json()
    assert sorted(many["disconnected"]) == sorted(others)
    assert run.exit_status() == 0, run.text
    assert "every session has ended" in run.text
    assert "Traceback" not in run.text


def test_ctrl_c_disconnects_every_session_and_exits_0(program, api, place_id):
    run = program("--sessions", "2", "--place-id", str(place_id))
    run.wait_for("2 sessions connected; Ctrl-C disconnects them")
    assert len(listed(api, place_id)) == 2

    run.process.send_signal(signal.SIGINT)

    assert run.exit_status() == 0, run.text
    assert "Traceback" not in run.text
    deadline = time.monotonic() + 10
    while listed(api, place_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert listed(api, place_id) == set()


def test_refused_handshake_prints_the_status_and_the_reason_and_exits_1(program):
    run = program("--sessions", "2", script_id="script-nobody-registered")

    assert run.exit_status() == 1, run.text
    assert "2 sessions refused: HTTP 403: unknown or disabled script" in run.text
    assert "no session connected" in run.text
    assert "Traceback" not in run.text


def test_handshake_refused_for_a_field_names_the_field(program):
    run = program("--job-id", "j" * 129)

    assert run.exit_status() == 1, run.text
    expected = "HTTP 400: job_id: must be a string of 1 to 128 characters (got a string of 129 characters)"
    assert f"1 session refused: {expected}" in run.text


def test_no_server_at_the_url_is_said_in_words_and_exits_1():
    run = Program(
        "session_relay_tools.simulate", "--script-id", "demo", "--url", f"ws://127.0.0.1:{free_port()}"
    )

    assert run.exit_status() == 1, run.text
    assert "1 session refused: cannot connect" in run.text
    assert "Traceback" not in run.text


def test_help_is_in_the_cli_style_and_plain_words():
    shown = subprocess.run(
        [sys.executable, "-m", "session_relay_tools.simulate", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )

    assert shown.returncode == 0, shown.stderr
    for option in ("--sessions", "--script-id", "--url", "--place-id", "--job-id", "--ping-interval"):
        assert option in shown.stdout
    for placeholder in ("<bool>", "<int>", "<float>", "<str>", "list[str]", "{", "x>="):
        assert placeholder not in shown.stdout
    assert "SESSION_RELAY_WS_PORT" in shown.stdout


def test_usage_mistakes_exit_2():
    no_sessions = subprocess.run(
        [sys.executable, "-m", "session_relay_tools.simulate", "--script-id", "demo", "--sessions", "0"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert no_sessions.returncode == 2
    assert "--sessions" in no_sessions.stderr


# ------------------------------------------------------------ the Luau client in a Luau VM


def luau_client(program, place_id: int, *args: str) -> Program:
    return program(
        "--place-id",
        str(place_id),
        "--user-key",
        f"luau-{place_id}",
        *args,
        module="session_relay_tools.luau",
    )


def test_luau_command_runs_the_real_client_and_answers_messages(program, api, place_id):
    run = luau_client(program, place_id)
    session_id = run.wait_for(r"session (\w+) connected; functions: echo, sleep, error, invalid").group(1)

    assert listed(api, place_id) == {session_id}
    answers = [
        api.post(f"/sessions/{session_id}/message", json=body).json()
        for body in (
            {"key": "echo", "data": {"hello": "world"}},
            {"key": "error", "data": "boom"},
            {"key": "invalid"},
            {"key": "missing"},
        )
    ]
    errored = answers[1].pop("reason")
    assert re.fullmatch(r"function errored, message: demo:\d+: boom", errored), errored
    assert answers == [
        {"success": True, "processed": True, "response": {"hello": "world"}},
        {"success": True, "processed": False},
        {"success": True, "processed": False, "reason": "invalid return data"},
        {"success": True, "processed": False, "reason": "function doesnt exist"},
    ]

    run.process.send_signal(signal.SIGINT)
    assert run.exit_status() == 0, run.text
    assert "disconnected: closed by the script" in run.text
    assert listed(api, place_id) == set()


def test_luau_command_ends_when_the_owner_disconnects_it(program, api, place_id):
    run = luau_client(program, place_id)
    session_id = run.wait_for(r"session (\w+) connected").group(1)

    assert api.post(f"/sessions/{session_id}/disconnect").json() == {"success": True}

    assert run.exit_status() == 0, run.text
    assert "disconnected: disconnected by the script owner" in run.text
    assert "Luau error" not in run.text


def test_luau_command_that_never_connects_says_why_and_exits_1(program, place_id):
    run = luau_client(program, place_id, "--script-id", "script-nobody-registered")

    # An unknown script is refused with 403, which the client never retries: the command ends by itself.
    run.wait_for(r"not connected \(.*HTTP 403.*\); the client does not retry", timeout_s=40)

    assert run.exit_status() == 1, run.text
    assert "Traceback" not in run.text
