"""Run the local stack as a child process on free ports, for tests and benchmarks."""

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx

from session_relay_tools.local.database_process import DATABASE_SOCKET_VARIABLE
from session_relay_tools.local.dynamodb import stop_child
from session_relay_tools.local.stack import TABLE_PREFIX

STARTUP_TIMEOUT_S = 90


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table`` as DynamoDB returns them (a full, consistent scan, page after page)."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningStack:
    """A ``session-relay dev`` process on free ports, with its credentials and endpoints."""

    process: subprocess.Popen
    rest_url: str
    ws_url: str
    dynamodb_endpoint: str
    script_id: str
    api_key: str
    output: list[str] = field(default_factory=list)
    # The embedded database's socket (the handlers' own path to it), in a folder of this run's own.
    database_socket: str | None = None

    def table(self, logical_id: str) -> str:
        return f"{TABLE_PREFIX}{logical_id}"

    def dynamodb(self):
        return boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the embedded DynamoDB takes any key
        )

    def scan(self, logical_id: str) -> list[dict]:
        """Every item of one of the stack's tables (a full, consistent scan)."""
        return scan_table(self.dynamodb(), self.table(logical_id))

    def client(self, api_key: str | None = None, timeout: float = 75) -> httpx.Client:
        key = self.api_key if api_key is None else api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.rest_url, headers=headers, timeout=timeout)


def start_stack(extra_env: dict[str, str] | None = None, own_group: bool = False) -> RunningStack:
    """Start the local stack as a child process and wait for its ``ready`` line; ``own_group``: in a
    process group of its own, as a terminal runs ``make dev`` (a signal to the group reaches all of
    it, and none of the caller)."""
    rest, ws, dynamodb = free_port(), free_port(), free_port()
    socket_folder = tempfile.mkdtemp(prefix="session-relay-stack-")  # mode 0700
    atexit.register(shutil.rmtree, socket_folder, True)  # also when the stack is never stopped here
    env = {
        **os.environ,
        "SESSION_RELAY_REST_PORT": str(rest),
        "SESSION_RELAY_WS_PORT": str(ws),
        "SESSION_RELAY_DYNAMODB_PORT": str(dynamodb),
        "SESSION_RELAY_DEV_SCRIPT_ID": "script_" + secrets.token_hex(4),
        "SESSION_RELAY_DEV_API_KEY": "sr_test_" + secrets.token_urlsafe(16),
        "PYTHONUNBUFFERED": "1",
        "AWS_DEFAULT_REGION": "us-east-1",  # the region RunningStack.dynamodb() reads
        **(extra_env or {}),
        DATABASE_SOCKET_VARIABLE: os.path.join(socket_folder, "database.sock"),  # removed at the stop
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "session_relay_tools.local"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0 if own_group else None,
    )
    stack = RunningStack(
        process=process,
        rest_url=f"http://127.0.0.1:{rest}",
        ws_url=f"ws://127.0.0.1:{ws}",
        dynamodb_endpoint=env.get("SESSION_RELAY_DYNAMODB_ENDPOINT") or f"http://127.0.0.1:{dynamodb}",
        script_id=env["SESSION_RELAY_DEV_SCRIPT_ID"],
        api_key=env["SESSION_RELAY_DEV_API_KEY"],
        database_socket=env[DATABASE_SOCKET_VARIABLE],
    )
    ready = threading.Event()

    def pump() -> None:
        for line in process.stdout:
            stack.output.append(line)
            if "ready" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_stack(stack)
            raise RuntimeError("local stack did not start:\n" + "".join(stack.output))
    return stack


def stop_stack(stack: RunningStack) -> int | None:
    """SIGTERM, then wait; SIGKILL only if it does not stop by itself. Returns the exit code."""
    stop_child(stack.process, grace_s=20)
    if stack.database_socket is not None:
        shutil.rmtree(os.path.dirname(stack.database_socket), ignore_errors=True)
    return stack.process.returncode
