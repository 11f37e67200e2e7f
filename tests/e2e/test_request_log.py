"""`make dev` prints a line per request: method and path (or route and connection), status,
milliseconds and request id, for every REST call (refusals included) and every WebSocket route.
The stack's output goes to a pipe here, so the lines are JSON."""

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from session_relay_tools.local.process import RunningStack
from session_relay_tools.simulate import RawClient


def _request_lines(stack: RunningStack, mark: int) -> list[dict[str, Any]]:
    found = []
    for line in stack.output[mark:]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") == "request":
            found.append(record)
    return found


def _wait_for(stack: RunningStack, mark: int, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        matching = [record for record in _request_lines(stack, mark) if wanted(record)]
        if matching:
            (record,) = matching
            return record
        assert time.monotonic() < deadline, "no such request line in:\n" + "".join(stack.output[mark:])
        time.sleep(0.05)


def _assert_timed_and_identified(record: dict[str, Any]) -> None:
    assert record["level"] == "INFO"
    assert isinstance(record["ms"], int | float)
    assert record["ms"] >= 0
    assert isinstance(record["request_id"], str)
    assert record["request_id"] not in ("", "-")


def test_rest_calls_print_a_line_each_refusals_included(local_stack: RunningStack):
    mark = len(local_stack.output)
    with httpx.Client(base_url=local_stack.rest_url, timeout=30) as anonymous:
        assert anonymous.get("/definitely-not-a-route").status_code == 404
        assert anonymous.get("/sessions").status_code == 401

    missing = _wait_for(local_stack, mark, lambda r: r.get("path") == "/definitely-not-a-route")
    assert (missing["api"], missing["method"], missing["status"]) == ("rest_api", "GET", 404)
    _assert_timed_and_identified(missing)

    refused = _wait_for(local_stack, mark, lambda r: r.get("path") == "/sessions" and r.get("status") == 401)
    assert (refused["api"], refused["method"]) == ("rest_api", "GET")
    _assert_timed_and_identified(refused)
    assert refused["request_id"] != missing["request_id"]


def test_websocket_routes_print_a_line_each(local_stack: RunningStack, raw_client: Callable[..., RawClient]):
    mark = len(local_stack.output)
    client = raw_client()
    assert client.hello()  # the session the $connect made

    connected = _wait_for(local_stack, mark, lambda r: (r.get("route"), r.get("status")) == ("$connect", 200))
    assert connected["api"] == "websocket_api"
    _assert_timed_and_identified(connected)
    connection_id = connected["connection_id"]
    assert connection_id

    hello = _wait_for(
        local_stack,
        mark,
        lambda r: r.get("route") == "$default" and r.get("connection_id") == connection_id,
    )
    assert hello["status"] == 200
    _assert_timed_and_identified(hello)
    assert hello["request_id"] != connected["request_id"]

    client.close()
    gone = _wait_for(
        local_stack,
        mark,
        lambda r: r.get("route") == "$disconnect" and r.get("connection_id") == connection_id,
    )
    _assert_timed_and_identified(gone)
