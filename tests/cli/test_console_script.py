"""The installed ``session-relay`` console script, run as a real process."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from session_relay_client import SessionRelay

from session_relay_tools.local.process import free_port

SCRIPT = Path(sys.executable).with_name("session-relay")


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        check=False,
    )


def stack_env(local_stack) -> dict[str, str]:
    return {"SESSION_RELAY_URL": local_stack.rest_url, "SESSION_RELAY_API_KEY": local_stack.api_key}


class Lines:
    """Collects a child's output lines on a thread, so waiting for one never blocks forever."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(process,), daemon=True)
        self._thread.start()

    def _pump(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.05)
        return False


def stop(process: subprocess.Popen, signum: int) -> int:
    process.send_signal(signum)
    try:
        return process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise


def test_help_lists_every_command_group():
    result = run("--help")
    assert result.returncode == 0
    for command in ("sessions", "admin", "dev", "simulate", "--url", "--api-key", "--json"):
        assert command in result.stdout
    for level in (["sessions", "--help"], ["admin", "--help"], ["admin", "keys", "--help"]):
        assert run(*level).returncode == 0


def test_json_output_and_error_exit_of_the_real_script(local_stack, connect, place_id):
    (client,) = connect(1)
    listed = run("--json", "sessions", "list", "--place-id", str(place_id), env=stack_env(local_stack))
    assert listed.returncode == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)["sessions"]] == [client.session_id]

    missing = run("sessions", "get", "no-such-session", env=stack_env(local_stack))
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: session not found"
    assert "Traceback" not in missing.stderr

    refused = run("--url", "http://127.0.0.1:9", "--api-key", "k", "sessions", "list")
    assert refused.returncode == 1
    assert "cannot connect" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_simulate_passes_its_arguments_to_the_simulator(local_stack, place_id):
    shown = run("simulate", "--help")
    assert shown.returncode == 0
    assert "session-relay simulate" in shown.stdout
    for option in ("--sessions", "--script-id", "--place-id", "--ping-interval"):
        assert option in shown.stdout

    process = subprocess.Popen(
        [
            str(SCRIPT),
            "simulate",
            *("--sessions", "2", "--url", local_stack.ws_url),
            *("--script-id", local_stack.script_id, "--place-id", str(place_id)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        output = Lines(process)
        assert output.wait_for("2 sessions connected", 30), "".join(output.lines)
        with SessionRelay(local_stack.rest_url, local_stack.api_key) as relay:
            assert len(relay.list_sessions(place_id=place_id).sessions) == 2
    finally:
        assert stop(process, signal.SIGINT) == 0


def test_dev_runs_the_local_stack_until_sigterm():
    rest, ws, dynamodb = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "SESSION_RELAY_REST_PORT": str(rest),
        "SESSION_RELAY_WS_PORT": str(ws),
        "SESSION_RELAY_DYNAMODB_PORT": str(dynamodb),
        "SESSION_RELAY_DEV_API_KEY": "sr_cli_dev_test",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [str(SCRIPT), "dev"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        output = Lines(process)
        assert output.wait_for("ready", 90), "".join(output.lines)
        assert httpx.get(f"http://127.0.0.1:{rest}/health", timeout=10).json() == {"success": True}
        listed = run(
            "--json",
            "sessions",
            "list",
            env={"SESSION_RELAY_URL": f"http://127.0.0.1:{rest}", "SESSION_RELAY_API_KEY": "sr_cli_dev_test"},
        )
        assert json.loads(listed.stdout) == {"sessions": [], "next_cursor": None}
    finally:
        assert stop(process, signal.SIGTERM) == 0
