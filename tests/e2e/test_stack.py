"""The local stack as a process: start, serve, stop on a signal, refuse busy ports, restart, start on
tables made beforehand."""

import json
import re
import signal
import socket
import subprocess
import sys
import time

import boto3
import httpx
import pytest

from session_relay_tools.local import logs
from session_relay_tools.local.dynamodb import EmbeddedDynamoDB
from session_relay_tools.local.process import free_port, start_stack, stop_stack
from session_relay_tools.local.stack import TABLE_PREFIX
from session_relay_tools.simulate import Fleet
from session_relay_tools.template import table_definitions


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stack_prints_credentials_then_ready_and_stops_on_signal(signum):
    stack = start_stack()
    try:
        banner = "".join(stack.output)
        assert stack.script_id in banner
        assert stack.api_key in banner
        assert stack.rest_url in banner
        assert stack.ws_url in banner
        assert httpx.get(f"{stack.rest_url}/health").json() == {"success": True}
        fleet = Fleet(stack.ws_url, stack.script_id)
        (client,) = fleet.connect(1)
        stack.process.send_signal(signum)
        assert stack.process.wait(20) == 0
        deadline = time.monotonic() + 5
        while not client.closed.is_set():
            assert time.monotonic() < deadline, "client still connected after the stack stopped"
            time.sleep(0.05)
        fleet.stop()
    finally:
        stop_stack(stack)
    for url in (stack.rest_url, stack.ws_url, stack.dynamodb_endpoint):
        assert _port_is_free(int(url.rsplit(":", 1)[1]))


def test_busy_port_is_refused_with_a_clear_message():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "session_relay_tools.local"],
            env={
                "SESSION_RELAY_REST_PORT": str(port),
                "SESSION_RELAY_WS_PORT": str(free_port()),
                "SESSION_RELAY_DYNAMODB_PORT": str(free_port()),
                "PATH": "/usr/bin:/bin",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert f"port {port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_restart_on_a_persistent_dynamodb_does_not_serve_dead_sessions():
    database = start_stack()  # provides a DynamoDB that outlives the stack under test
    try:
        first = start_stack({"SESSION_RELAY_DYNAMODB_ENDPOINT": database.dynamodb_endpoint})
        fleet = Fleet(first.ws_url, first.script_id)
        (client,) = fleet.connect(1)
        with first.client() as api:
            assert api.get(f"/sessions/{client.session_id}").status_code == 200
        first.process.kill()  # no $disconnect: the connection dies with the process
        first.process.wait(10)
        fleet.stop()
        second = start_stack(
            {
                "SESSION_RELAY_DYNAMODB_ENDPOINT": database.dynamodb_endpoint,
                "SESSION_RELAY_DEV_SCRIPT_ID": first.script_id,
                "SESSION_RELAY_DEV_API_KEY": first.api_key,
            }
        )
        try:
            with second.client(api_key=first.api_key) as api:
                assert api.get(f"/sessions/{client.session_id}").status_code == 404
                assert api.get("/sessions").json()["sessions"] == []
        finally:
            stop_stack(second)
    finally:
        stop_stack(database)


def test_start_on_tables_made_beforehand_without_ttl_applies_it_and_serves():
    database = EmbeddedDynamoDB("127.0.0.1", free_port())
    database.start()
    try:
        endpoint = f"http://127.0.0.1:{database.port}"
        raw = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        for logical_id, arguments in table_definitions().items():  # made by hand, before any start
            raw.create_table(TableName=f"{TABLE_PREFIX}{logical_id}", **arguments)
        stack = start_stack({"SESSION_RELAY_DYNAMODB_ENDPOINT": endpoint})
        try:
            for logical_id in table_definitions():
                description = raw.describe_time_to_live(TableName=stack.table(logical_id))[
                    "TimeToLiveDescription"
                ]
                assert description == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
            fleet = Fleet(stack.ws_url, stack.script_id)
            try:
                (client,) = fleet.connect(1)
                with stack.client() as api:
                    answer = api.post(
                        f"/sessions/{client.session_id}/message", json={"key": "echo", "data": 3}
                    )
                    assert answer.json() == {"success": True, "processed": True, "response": 3}
            finally:
                fleet.stop()
        finally:
            stop_stack(stack)
        assert "Traceback" not in "".join(stack.output)
    finally:
        database.stop()


def test_every_handler_log_line_is_printed_with_its_function_and_request_id(local_stack, connect):
    (client,) = connect(1)
    session_id = client.session_id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [line for line in local_stack.output if session_id in line and "session connected" in line]
        if lines:
            break
        time.sleep(0.05)
    # Output to a pipe: Powertools' JSON, as CloudWatch gets it, naming the invocation that wrote it.
    (line,) = lines
    logged = json.loads(line)
    assert logged["level"] == "INFO"
    assert logged["function_name"] == "WsConnectFunction"
    assert re.fullmatch(r"[0-9a-f-]{36}", logged["function_request_id"])
    assert logged["session_id"] == session_id


def test_on_a_terminal_log_lines_are_readable_text():
    assert logs.text_wanted({}, terminal=True)
    assert not logs.text_wanted({}, terminal=False)
    assert logs.text_wanted({logs.FORMAT_VARIABLE: "text"}, terminal=False)
    assert not logs.text_wanted({logs.FORMAT_VARIABLE: "json"}, terminal=True)
    with logs.invocation("WsConnectFunction", "0f0e-request"):
        line = logs.render(
            {"level": "INFO", "message": "session connected", "session_id": "s1", "service": "x"}
        )
    # "12:00:00.000 INFO    WsConnectFunction 0f0e-request session connected  session_id=s1"
    _, level, function, request_id, *message = line.split()
    assert (level, function, request_id) == ("INFO", "WsConnectFunction", "0f0e-request")
    assert " ".join(message) == "session connected session_id=s1"
