"""Edges of the local gateways that the product relies on, over real sockets against the local stack.

- The REST proxy event's path is the request path percent-decoded exactly once:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
- A connection exists once ``$connect`` succeeded, and ``$disconnect`` runs after it closed, best-effort
  (so a lost one is bounded by the session's own expiry, 2 h 1 min after the handshake, API Gateway's
  2-hour cap plus a margin):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
"""

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from urllib.parse import urlencode, urlsplit

from session_relay_tools.local.process import free_port, start_stack, stop_stack
from session_relay_tools.simulate import RawClient, identity_for, raw_identity

SESSION_MAX_S = 2 * 60 * 60 + 60  # the contract: listed at most 2 h 1 min after the handshake


def test_a_path_is_decoded_once_so_percent_25_stays_a_percent_sign(api):
    answer = api.get("/no%2541")
    assert answer.status_code == 404
    assert answer.json()["error"] == "no route GET /no%41"


def test_a_session_id_encoded_twice_is_not_that_session(api, connect):
    (client,) = connect(1)
    session_id = client.session_id
    first = f"%{ord(session_id[0]):02X}"

    once = api.get(f"/sessions/{first}{session_id[1:]}")
    twice = api.get(f"/sessions/%25{first[1:]}{session_id[1:]}")

    assert once.status_code == 200
    assert once.json()["session"]["id"] == session_id
    assert twice.status_code == 404


def _upgrade_then_leave(ws_url: str, query: str) -> None:
    """Send a WebSocket upgrade request and close the socket at once, before any answer."""
    address = urlsplit(ws_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(
            (
                f"GET /?{query} HTTP/1.1\r\nHost: {address.netloc}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )


def _sessions_connected(lines: list[str]) -> set[str]:
    """Ids of the sessions the stack's log says were created, among the lines given (JSON or text)."""
    found = set()
    for line in lines:
        if "session connected" not in line:
            continue
        try:
            record = json.loads(line)
            session_id = record.get("session_id")
        except ValueError:
            match = re.search(r"session_id=(\S+)", line)
            session_id = match.group(1) if match else None
        if session_id:
            found.add(session_id)
    return found


def test_clients_that_leave_during_their_handshake_are_gone_from_the_listing(api, local_stack, place_id):
    mark = len(local_stack.output)
    run = secrets.token_hex(4)
    for index in range(10):
        identity = identity_for(local_stack.script_id, index, place_id=place_id)
        _upgrade_then_leave(local_stack.ws_url, urlencode({**identity, "user_key": f"leaver-{run}-{index}"}))

    deadline = time.monotonic() + 10
    created: set[str] = set()
    while len(created) < 10 and time.monotonic() < deadline:
        created = _sessions_connected(local_stack.output[mark:])
        time.sleep(0.05)
    assert len(created) == 10, "every $connect ran to its end after its client had left"

    deadline = time.monotonic() + 5
    listed = None
    while time.monotonic() < deadline:
        listed = api.get("/sessions", params={"place_id": place_id}).json()["sessions"]
        if not listed:
            break
        time.sleep(0.1)
    assert listed == []
    assert all(api.get(f"/sessions/{session_id}").status_code == 404 for session_id in created)


def test_a_session_whose_close_was_never_reported_stops_being_listed_at_its_expiry(
    api, local_stack, connect, place_id
):
    (client,) = connect(1)
    dynamodb = local_stack.dynamodb()
    table = local_stack.table("SessionsTable")
    key = {"id": {"S": client.session_id}}
    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    created_s = int(item["created_at"]["N"]) // 1000

    # The bound the product keeps, whether or not $disconnect ever runs.
    assert int(item["expires_at"]["N"]) <= created_s + SESSION_MAX_S
    assert [s["id"] for s in api.get("/sessions", params={"place_id": place_id}).json()["sessions"]] == [
        client.session_id
    ]

    # Its connection still open, no $disconnect has run: the moment its expiry passes, it is gone.
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET expires_at = :now",
        ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
    )
    assert api.get("/sessions", params={"place_id": place_id}).json()["sessions"] == []
    assert api.get(f"/sessions/{client.session_id}").status_code == 404


def test_the_local_stack_throttles_its_websocket_stage_as_the_environment_sets_it():
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html: one token
    # bucket over the stage's frames; beyond it "429 Too Many Requests", the connection staying open.
    stack = start_stack({"SESSION_RELAY_WS_RATE": "1", "SESSION_RELAY_WS_BURST": "5"})
    try:
        client = RawClient.open(stack.ws_url, urlencode(raw_identity(stack.script_id)))
        try:
            for _ in range(8):
                client.send({"action": "hello"})
            frames = []
            with contextlib.suppress(TimeoutError):
                while len(frames) < 8:
                    frames.append(client.receive(timeout=5))
            time.sleep(1.5)  # a token or more back
            after = client.hello()
        finally:
            client.close()
    finally:
        stop_stack(stack)

    hellos = [frame for frame in frames if frame.get("type") == "hello"]
    throttled = [frame for frame in frames if frame.get("message") == "Too Many Requests"]
    assert len(hellos) + len(throttled) == 8
    assert 5 <= len(hellos) <= 6  # the burst, and at most one token refilled meanwhile
    assert all(frame["connectionId"] and frame["requestId"] for frame in throttled)
    assert after["script_id"] == stack.script_id


def test_a_websocket_throttle_the_template_would_refuse_stops_the_stack_with_a_sentence():
    done = subprocess.run(
        [sys.executable, "-m", "session_relay_tools.local"],
        env={
            **os.environ,
            "SESSION_RELAY_WS_BURST": "5001",
            **{f"SESSION_RELAY_{part}_PORT": str(free_port()) for part in ("REST", "WS", "DYNAMODB")},
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "SESSION_RELAY_WS_BURST must be a number from 1 to 5000" in done.stderr
    assert "Traceback" not in done.stderr
