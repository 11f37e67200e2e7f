"""Security against the local stack: tenant isolation, forged replies, hostile bodies, frames and
handshakes, and API keys never logged or stored in clear."""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from session_relay import FRAME_LIMIT_BYTES
from session_relay_client import admin
from support.environment import REGION
from support.owners import OwnerKey
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from session_relay_tools.local.process import RunningStack, start_stack, stop_stack
from session_relay_tools.simulate import Fleet, RawClient, SimulatedClient, identity_for, raw_identity

from .conftest import scan_table


def same_bytes(first: httpx.Response, second: httpx.Response) -> None:
    """Two answers a caller cannot tell apart: status, headers (but the clock) and body bytes."""
    assert first.status_code == second.status_code
    assert first.content == second.content
    strip = {"date"}
    assert sorted((k, v) for k, v in first.headers.items() if k not in strip) == sorted(
        (k, v) for k, v in second.headers.items() if k not in strip
    )


def failure(answer: httpx.Response, status: int) -> str:
    """The contract's error shape, and the sentence."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"success", "error"}, body
    assert body["success"] is False
    assert body["error"].strip()
    assert "Traceback" not in answer.text
    return body["error"]


@pytest.fixture(scope="module")
def echo(local_stack: RunningStack) -> Iterator[SimulatedClient]:
    """One simulated session of the development script, shared by the tests of hostile bodies."""
    fleet = Fleet(local_stack.ws_url, local_stack.script_id)
    (client,) = fleet.connect(1)
    yield client
    fleet.stop()


def messages_received(client: SimulatedClient) -> int:
    return sum(1 for frame in list(client.received) if frame.get("type") == "message")


@pytest.fixture
def owners(local_stack: RunningStack, second_owner: OwnerKey) -> Iterator[dict[str, Any]]:
    """Owner A (the stack's development key) and owner B (another script, another key), each with
    one live session."""
    fleet_a = Fleet(local_stack.ws_url, local_stack.script_id)
    fleet_b = Fleet(local_stack.ws_url, second_owner.script_id)
    job = "iso-" + secrets.token_hex(4)
    try:
        (a,) = fleet_a.connect(1, identity=identity_for(local_stack.script_id, 1, job_id=job))
        (b,) = fleet_b.connect(1, identity=identity_for(second_owner.script_id, 2, job_id=job))
        with local_stack.client() as api_a, local_stack.client(api_key=second_owner.api_key) as api_b:
            yield {
                "a": a,
                "b": b,
                "api_a": api_a,
                "api_b": api_b,
                "job": job,
                "script_b": second_owner.script_id,
            }
    finally:
        fleet_a.stop()
        fleet_b.stop()


# ------------------------------------------------------------------------------------------------
# Tenant isolation (BOLA): another owner's session is indistinguishable from no session
# ------------------------------------------------------------------------------------------------


def test_another_owners_session_cannot_be_read_and_looks_like_none(owners):
    api_b, theirs, missing = owners["api_b"], owners["a"].session_id, secrets.token_hex(16)
    same_bytes(api_b.get(f"/sessions/{theirs}"), api_b.get(f"/sessions/{missing}"))
    assert failure(api_b.get(f"/sessions/{theirs}"), 404) == "session not found"
    assert owners["api_a"].get(f"/sessions/{theirs}").status_code == 200  # it does exist


def test_another_owners_session_cannot_be_messaged(owners):
    api_b, a = owners["api_b"], owners["a"]
    body = {"key": "echo", "data": "from b"}
    same_bytes(
        api_b.post(f"/sessions/{a.session_id}/message", json=body),
        api_b.post(f"/sessions/{secrets.token_hex(16)}/message", json=body),
    )
    bulk = api_b.post("/sessions/message", json={"session_ids": [a.session_id], **body}).json()
    missing = secrets.token_hex(16)
    none = api_b.post("/sessions/message", json={"session_ids": [missing], **body}).json()
    assert bulk["responses"] == [{**none["responses"][0], "session_id": a.session_id}]
    assert bulk["responses"][0]["reason"] == "session not found"
    time.sleep(0.3)
    assert not [frame for frame in a.received if frame.get("type") == "message"]


def test_another_owners_session_cannot_be_disconnected(owners):
    api_b, a = owners["api_b"], owners["a"]
    same_bytes(
        api_b.post(f"/sessions/{a.session_id}/disconnect"),
        api_b.post(f"/sessions/{secrets.token_hex(16)}/disconnect"),
    )
    bulk = api_b.post("/sessions/disconnect", json={"session_ids": [a.session_id]})
    none = api_b.post("/sessions/disconnect", json={"session_ids": [secrets.token_hex(16)]})
    same_bytes(bulk, none)
    assert bulk.json() == {"success": True, "disconnected": []}
    assert owners["api_a"].get(f"/sessions/{a.session_id}").status_code == 200
    assert not a.closed.is_set()


def test_another_owners_sessions_are_never_listed(owners, local_stack):
    api_b, a, b, job = owners["api_b"], owners["a"], owners["b"], owners["job"]
    listed = api_b.get("/sessions", params={"job_id": job}).json()["sessions"]
    assert [s["id"] for s in listed] == [b.session_id]
    same_bytes(
        api_b.get("/sessions", params={"script_id": local_stack.script_id}),
        api_b.get("/sessions", params={"script_id": "script_" + secrets.token_hex(6)}),
    )
    assert (
        api_b.get("/sessions", params={"user_key": a.identity["user_key"], "job_id": job}).json()["sessions"]
        == []
    )
    # A cursor is a position, not a capability: one pointing into A's listing still shows B only.
    page = owners["api_a"].get("/sessions", params={"job_id": job, "limit": 1}).json()
    assert [s["id"] for s in page["sessions"]] == [a.session_id]
    forged = api_b.get("/sessions", params={"cursor": _cursor_before(a), "job_id": job}).json()
    assert a.session_id not in [s["id"] for s in forged["sessions"]]


def _cursor_before(client) -> str:
    """A well-formed cursor pointing just before ``client``'s session in the listing index."""
    key = f"{10**15 - 1 - client.session['created_at'] - 1:015d}#z"
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def test_a_key_for_one_script_never_reaches_the_other_in_bulk(owners):
    api_a, a, b = owners["api_a"], owners["a"], owners["b"]
    answer = api_a.post(
        "/sessions/message", json={"session_ids": [b.session_id, a.session_id], "key": "echo", "data": 1}
    ).json()
    assert answer["responses"] == [
        {"session_id": b.session_id, "processed": False, "reason": "session not found"},
        {"session_id": a.session_id, "processed": True, "response": 1},
    ]


# ------------------------------------------------------------------------------------------------
# Forged, duplicate and misdirected replies
# ------------------------------------------------------------------------------------------------


def test_replies_from_any_other_connection_are_refused(local_stack, raw_client, second_owner, api):
    target = raw_client()
    target_id = target.hello()["id"]
    forger = raw_client()
    forger.hello()
    other_owner = raw_client(script_id=second_owner.script_id)
    other_owner.hello()
    answers: dict[str, Any] = {}
    caller = threading.Thread(
        target=lambda: answers.update(
            answer=api.post(f"/sessions/{target_id}/message", json={"key": "k", "data": 1, "timeout": 20})
        )
    )
    caller.start()
    message = target.receive_type("message")
    for intruder in (forger, other_owner):
        intruder.send({"action": "reply", "id": message["id"], "processed": True, "response": "forged"})
        assert "ignored" in intruder.receive_type("error")["error"]
        # A field naming the target's connection changes nothing: the replying connection is the one.
        intruder.send(
            {
                "action": "reply",
                "id": message["id"],
                "processed": True,
                "response": "forged",
                "connection_id": "x",
            }
        )
        assert "ignored" in intruder.receive_type("error")["error"]
    target.send({"action": "reply", "id": message["id"], "processed": True, "response": "genuine"})
    caller.join(30)
    assert answers["answer"].json() == {"success": True, "processed": True, "response": "genuine"}
    # The first reply won; a duplicate, from the target or anyone else, is refused and changes nothing.
    target.send({"action": "reply", "id": message["id"], "processed": True, "response": "again"})
    assert "ignored" in target.receive_type("error")["error"]
    stored = [
        item
        for item in scan_table(local_stack, "ConnectionsTable")
        if item["item"]["S"] == f"message#{message['id']}"
    ]
    assert [json.loads(item["reply"]["S"]) for item in stored] == [{"processed": True, "response": "genuine"}]


# ------------------------------------------------------------------------------------------------
# Hostile REST bodies: never a 500, never a partial effect
# ------------------------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


BAD_BODIES = [
    ("deeply nested arrays", _nested(100_000).encode(), 400),
    ("deeply nested data", ('{"key":"echo","data":' + _nested(100_000) + "}").encode(), 400),
    ("deeply nested objects", ('{"a":' * 50_000 + "1" + "}" * 50_000).encode(), 400),
    ("nested just past the limit", ('{"key":"echo","data":' + _nested(600) + "}").encode(), 400),
    ("invalid UTF-8", b'{"key":"echo","data":"\xff\xfe"}', 400),
    ("UTF-8 encoded surrogate", b'{"key":"echo","data":"\xed\xa0\x80"}', 400),
    ("escaped lone surrogate", b'{"key":"echo","data":"\\ud800"}', 400),
    ("escaped lone low surrogate in key", b'{"key":"\\udc00","data":1}', 400),
    ("NaN", b'{"key":"echo","data":NaN}', 400),
    ("Infinity", b'{"key":"echo","data":Infinity}', 400),
    ("-Infinity", b'{"key":"echo","data":-Infinity}', 400),
    ("1e400", b'{"key":"echo","data":1e400}', 400),
    ("-1e400", b'{"key":"echo","data":-1e400}', 400),
    ("timeout 1e400", b'{"key":"echo","timeout":1e400}', 400),
    ("truncated", b'{"key":"echo","data":[1,2', 400),
    ("empty", b"", 400),
    ("form encoded", b"key=echo&data=1", 400),
    ("trailing garbage", b'{"key":"echo"} {"key":"x"}', 400),
    ("UTF-16", '{"key":"echo"}'.encode("utf-16"), 400),
    ("null", b"null", 422),
    ("array", b'[{"key":"echo"}]', 422),
    ("string timeout", b'{"key":"echo","timeout":"5"}', 422),
    ("boolean timeout", b'{"key":"echo","timeout":true}', 422),
    ("unknown field", b'{"key":"echo","session_id":"x"}', 422),
    ("key too long", json.dumps({"key": "k" * 129}).encode(), 422),
    ("over 1 MB", json.dumps({"key": "echo", "data": "x" * 1_100_000}).encode(), 413),
    ("frame over 32 KB", json.dumps({"key": "echo", "data": "x" * FRAME_LIMIT_BYTES}).encode(), 413),
]


@pytest.mark.parametrize(
    ("body", "status"), [(b, s) for _, b, s in BAD_BODIES], ids=[n for n, _, _ in BAD_BODIES]
)
def test_hostile_message_bodies_get_a_clear_4xx_and_send_nothing(api, echo, body, status):
    sent = messages_received(echo)
    failure(api.post(f"/sessions/{echo.session_id}/message", content=body), status)
    assert (
        api.post(f"/sessions/{echo.session_id}/message", json={"key": "echo", "data": 1}).json()["response"]
        == 1
    )
    assert messages_received(echo) == sent + 1  # only the well-formed message reached the client


@pytest.mark.parametrize("path", ["/sessions/message", "/sessions/disconnect"])
@pytest.mark.parametrize(
    "body",
    [
        _nested(100_000).encode(),
        b'{"session_ids":' + _nested(5_000).encode() + b"}",
        b'{"session_ids":["\\udfff"]}',
    ],
    ids=["nested", "nested ids", "surrogate id"],
)
def test_hostile_bulk_bodies_get_a_clear_4xx(api, path, body):
    answer = api.post(path, content=body)
    assert 400 <= answer.status_code < 500
    failure(answer, answer.status_code)


def test_big_json_numbers_and_deep_but_allowed_nesting_round_trip(api, echo):
    for data in (10**30, -(2**63), 1.7976931348623157e308, json.loads(_nested(200)), "\U0001f3ae \u00e9"):
        answer = api.post(f"/sessions/{echo.session_id}/message", json={"key": "echo", "data": data})
        assert answer.json() == {"success": True, "processed": True, "response": data}


def test_duplicate_keys_resolve_the_same_way_everywhere(api, echo):
    """Duplicate names are not an error in JSON; the last one wins, as in JavaScript's JSON.parse."""
    body = b'{"key":"nope","data":1,"key":"echo","data":2}'
    assert api.post(f"/sessions/{echo.session_id}/message", content=body).json() == {
        "success": True,
        "processed": True,
        "response": 2,
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
        "application/xml",
    ],
)
def test_content_type_does_not_change_how_a_body_is_read(local_stack, echo, content_type):
    headers = {"Authorization": f"Bearer {local_stack.api_key}"}
    if content_type:
        headers["Content-Type"] = content_type
    url = f"{local_stack.rest_url}/sessions/{echo.session_id}/message"
    good = httpx.post(url, content=b'{"key":"echo","data":"ct"}', headers=headers, timeout=30)
    assert good.json() == {"success": True, "processed": True, "response": "ct"}
    failure(httpx.post(url, content=b"key=echo", headers=headers, timeout=30), 400)


@pytest.mark.parametrize(
    "session_id",
    ["x" * 10_000, "%00", "a%0d%0aSet-Cookie:%20x=1", "%F0%9F%8E%AE", "%ED%A0%80", "' OR 1=1 --", "*"],
    ids=["long", "nul", "crlf", "emoji", "bad utf-8", "sql", "star"],
)
def test_hostile_session_ids_in_the_path_look_like_unknown_sessions(local_stack, api, session_id):
    missing = api.get(f"/sessions/{secrets.token_hex(16)}")
    answer = api.get(f"{local_stack.rest_url}/sessions/{session_id}")
    same_bytes(answer, missing)
    assert "set-cookie" not in answer.headers
    message = api.post(f"{local_stack.rest_url}/sessions/{session_id}/message", json={"key": "echo"})
    failure(message, 404)


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer " + "k" * 10_000,
        "Bearer sr_\u00e9t\u00e9",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer a\tb",
        "Bearer ' OR 1=1 --",
    ],
    ids=["huge", "non-ascii", "empty", "basic", "tab", "sql"],
)
def test_hostile_authorization_headers_are_a_401(local_stack, authorization):
    headers = {"Authorization": authorization.encode("utf-8")}
    answer = httpx.get(f"{local_stack.rest_url}/sessions", headers=headers, timeout=30)
    failure(answer, 401)


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "1e3"},
        {"limit": "-1"},
        {"limit": "0"},
        {"limit": "1001"},
        {"roblox_id": "9223372036854775808"},
        {"roblox_id": "\uff11"},
        {"place_id": " 1"},
        {"cursor": "%00"},
        {"cursor": "x" * 5000},
    ],
)
def test_hostile_listing_queries_are_a_422(api, query):
    failure(api.get("/sessions", params=query), 422)


def test_listing_filters_are_values_never_expressions(api, fleet):
    job = "flt-" + secrets.token_hex(4)
    sqlish = "' OR '1'='1"
    (target,) = fleet.connect(
        1, identity={**identity_for(fleet.script_id, 7, job_id=job), "user_key": sqlish}
    )
    (other,) = fleet.connect(1, identity=identity_for(fleet.script_id, 8, job_id=job))
    assert [s["id"] for s in api.get("/sessions", params={"user_key": sqlish}).json()["sessions"]] == [
        target.session_id
    ]
    for injected in ('{"$ne": null}', "* OR user_key <> ''", ":user_key", "#status"):
        assert api.get("/sessions", params={"user_key": injected, "job_id": job}).json()["sessions"] == []
    # Unknown parameters are refused (422), never turned into conditions nor silently ignored.
    for unknown in ({"expires_at": "0"}, {"#item": "session"}):
        answer = api.get("/sessions", params={"job_id": job, **unknown})
        assert answer.status_code == 422
        assert set(answer.json()) == {"success", "error"}
    listed = api.get("/sessions", params={"job_id": job}).json()["sessions"]
    assert {s["id"] for s in listed} == {target.session_id, other.session_id}


# ------------------------------------------------------------------------------------------------
# Hostile frames: one error frame each, the connection stays usable
# ------------------------------------------------------------------------------------------------

BAD_FRAMES = [
    ("nested arrays", _nested(16_000)),
    ("nested reply", '{"action":"reply","id":"x","processed":true,"response":' + _nested(5_000) + "}"),
    ("nested objects", '{"a":' * 5_000 + "1" + "}" * 5_000),
    # Not pings: a ping is answered by the gateway's MOCK route whatever else it carries.
    ("NaN", '{"action":"hello","x":NaN}'),
    ("1e400", '{"action":"hello","x":1e400}'),
    ("lone surrogate", '{"action":"reply","id":"x","processed":true,"response":"\\ud800"}'),
    ("surrogate id", '{"action":"reply","id":"\\ud800","processed":true,"response":1}'),
    ("not json", "hello"),
    ("not an object", "[1,2]"),
    ("no action", "{}"),
    ("unknown action", '{"action":"$connect"}'),
    ("action not a string", '{"action":{"$ne":null}}'),
    ("reply without id", '{"action":"reply","processed":true,"response":1}'),
    ("reply with huge id", '{"action":"reply","id":"' + "i" * 10_000 + '","processed":true,"response":1}'),
    ("binary", b"\xff\xfe\x00"),
]


@pytest.mark.parametrize("frame", [f for _, f in BAD_FRAMES], ids=[n for n, _ in BAD_FRAMES])
def test_hostile_frames_get_one_error_frame_and_the_connection_stays_open(raw_client, frame):
    client = raw_client()
    client.hello()
    client.send(frame)
    error = client.receive(10)
    assert error["type"] == "error"
    assert error["error"].strip()
    client.ping()  # still open, and the error frame was the only answer to the bad frame


def test_a_frame_over_32_kb_closes_the_connection_and_its_session(raw_client, api):
    client = raw_client()
    session_id = client.hello()["id"]
    client.send(json.dumps({"action": "ping", "pad": "x" * FRAME_LIMIT_BYTES}))
    with pytest.raises(ConnectionClosed) as closed:
        client.receive(10)
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
    deadline = time.monotonic() + 10
    while api.get(f"/sessions/{session_id}").status_code != 404:
        assert time.monotonic() < deadline, "the closed connection's session is still served"
        time.sleep(0.1)


# ------------------------------------------------------------------------------------------------
# Hostile handshakes
# ------------------------------------------------------------------------------------------------


def _handshake(local_stack: RunningStack, query: str) -> dict[str, Any] | int:
    """The session a handshake creates (closed again at once), or the status that refused it."""
    try:
        with connect(f"{local_stack.ws_url}/?{query}", open_timeout=10) as socket:
            client = RawClient(socket)
            return client.hello()
    except InvalidStatus as refused:
        return refused.response.status_code


def test_duplicate_query_parameters_take_the_last_value(local_stack):
    identity = raw_identity(local_stack.script_id)
    rest = urlencode({k: v for k, v in identity.items() if k != "script_id"})
    unknown = "script_" + secrets.token_hex(6)
    accepted = _handshake(local_stack, f"script_id={unknown}&script_id={local_stack.script_id}&{rest}")
    assert isinstance(accepted, dict)
    assert accepted["script_id"] == local_stack.script_id
    assert _handshake(local_stack, f"script_id={local_stack.script_id}&script_id={unknown}&{rest}") == 403


@pytest.mark.parametrize(
    "value",
    [
        "nul\x00byte",
        "cr\r\nlf: injected",
        "' OR '1'='1' --",
        '{"$ne": null}',
        "日本語 🎮 \u202eRTL",
        "a" * 128,
    ],
    ids=["nul", "crlf", "sql", "nosql", "unicode", "128 chars"],
)
def test_identity_strings_are_stored_and_returned_verbatim(local_stack, api, value):
    job = "hs-" + secrets.token_hex(4)
    session = _handshake(
        local_stack, urlencode(raw_identity(local_stack.script_id, user_key=value, job_id=job))
    )
    assert isinstance(session, dict)
    assert session["user_key"] == value


@pytest.mark.parametrize(
    "overrides",
    [
        {"user_key": "a" * 129},
        {"job_id": "j" * 5_000},
        {"user_key": ""},
        {"roblox_id": "1e3"},
        {"roblox_id": "-1"},
        {"roblox_id": "0x10"},
        {"roblox_id": " 1"},
        {"roblox_id": "\uff11"},
        {"place_id": "9223372036854775808"},
        {"place_id": "0"},
    ],
    ids=[
        "user_key 129",
        "job_id 5000",
        "empty user_key",
        "1e3",
        "negative",
        "hex",
        "space",
        "fullwidth",
        "2^63",
        "zero",
    ],
)
def test_malformed_identity_fields_are_refused_and_create_nothing(local_stack, api, overrides):
    job = "bad-" + secrets.token_hex(4)
    query = urlencode(raw_identity(local_stack.script_id, **{"job_id": job, **overrides}))
    assert _handshake(local_stack, query) in (400, 414, 431)
    assert api.get("/sessions", params={"job_id": job}).json()["sessions"] == []


@pytest.mark.parametrize(
    "script_id",
    ["' OR '1'='1", '{"$ne": null}', "apikey#" + "0" * 64, "script#x", "*", "nul\x00"],
    ids=["sql", "nosql", "apikey item", "prefix", "star", "nul"],
)
def test_script_ids_that_look_like_queries_are_unknown_scripts(local_stack, script_id):
    assert _handshake(local_stack, urlencode(raw_identity(script_id))) == 403


def test_every_identity_field_is_required(local_stack):
    identity = raw_identity(local_stack.script_id)
    for name in identity:
        query = urlencode({k: v for k, v in identity.items() if k != name})
        assert _handshake(local_stack, query) == 400, name
    assert _handshake(local_stack, "") == 400


# ------------------------------------------------------------------------------------------------
# API keys are never logged and never stored in clear
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def debug_stack() -> Iterator[RunningStack]:
    stack = start_stack({"POWERTOOLS_LOG_LEVEL": "DEBUG"})
    yield stack
    stop_stack(stack)


def test_api_keys_never_appear_in_logs_or_tables(debug_stack):
    relay_store = admin.open_store(admin.Target(endpoint=debug_stack.dynamodb_endpoint, region=REGION))
    second = admin.create_key(relay_store, [debug_stack.script_id], name="never logged").api_key
    revoked = admin.create_key(relay_store, [debug_stack.script_id], name="revoked")
    admin.revoke_key(relay_store, revoked.record.key_id)
    wrong = "sr_" + secrets.token_urlsafe(32)
    keys = {"development": debug_stack.api_key, "second": second, "revoked": revoked.api_key, "wrong": wrong}
    ready_at = len(debug_stack.output)  # the banner shows the development key once, by design

    fleet = Fleet(debug_stack.ws_url, debug_stack.script_id)
    try:
        (client,) = fleet.connect(1)
        for name, key in keys.items():
            with debug_stack.client(api_key=key) as api:
                listed = api.get("/sessions")
                assert listed.status_code == (200 if name in ("development", "second") else 401)
                assert key not in listed.text
                api.post(f"/sessions/{client.session_id}/message", json={"key": "echo", "data": 1})
                api.post(f"/sessions/{client.session_id}/message", content=b"{bad json")
                api.post("/sessions/message", json={"session_ids": [client.session_id], "key": "nope"})
                api.get(f"/sessions/{client.session_id}", headers={"Authorization": f"Basic {key}"})
    finally:
        fleet.stop()
    time.sleep(0.5)
    logged = "".join(debug_stack.output[ready_at:])
    assert '"level":"INFO"' in logged.replace(" ", "")  # the handlers' logs were captured
    for name, key in keys.items():
        assert key not in logged, f"the {name} API key was logged"
        assert key[3:] not in logged, f"the secret part of the {name} API key was logged"

    everything = json.dumps(
        [scan_table(debug_stack, table) for table in ("SessionsTable", "ConnectionsTable", "AuthTable")]
    )
    for name, key in keys.items():
        assert key not in everything, f"the {name} API key is stored in clear"
        assert key[3:] not in everything
    for name in ("development", "second", "revoked"):
        assert hashlib.sha256(keys[name].encode()).hexdigest() in everything  # stored as its hash


def test_revoked_and_wrong_keys_get_the_same_answer(debug_stack):
    relay_store = admin.open_store(admin.Target(endpoint=debug_stack.dynamodb_endpoint, region=REGION))
    revoked = admin.create_key(relay_store, [debug_stack.script_id], name="to revoke")
    admin.revoke_key(relay_store, revoked.record.key_id)
    with (
        debug_stack.client(api_key=revoked.api_key) as revoked_api,
        debug_stack.client(api_key="sr_" + secrets.token_urlsafe(32)) as wrong_api,
    ):
        same_bytes(revoked_api.get("/sessions"), wrong_api.get("/sessions"))
        failure(revoked_api.get("/sessions"), 401)
