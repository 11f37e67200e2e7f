"""REST routes other than messaging (PROTOCOL.md section 1): health, get, list, disconnect, and the
errors every route shares (404/405 routes, 401 keys, 400 bodies, the order of the checks)."""

import base64
import json
import time

import pytest
from session_relay import clock, settings
from session_relay.service import wiring

SESSION_FIELDS = {
    "id",
    "user_key",
    "script_id",
    "roblox_id",
    "place_id",
    "job_id",
    "created_at",
    "last_seen_at",
}


def ids(answer) -> list[str]:
    return [session["id"] for session in answer.json()["sessions"]]


# ------------------------------------------------------------------------------------------------
# GET /health
# ------------------------------------------------------------------------------------------------


def test_health_answers_success_without_a_key(client):
    answer = client.get("/health")

    assert answer.status_code == 200
    assert answer.json() == {"success": True}
    assert answer.headers["content-type"] == "application/json"


def test_health_refuses_other_methods(client, failure):
    assert "POST" in failure(client.post("/health", json={}), 405)


# ------------------------------------------------------------------------------------------------
# GET /sessions/{session_id}
# ------------------------------------------------------------------------------------------------


def test_get_session_returns_the_session_object(client, owner, connect):
    before = int(time.time() * 1000)
    session = connect(
        owner.script_id, user_key="uk-1", roblox_id="10234711811", place_id="606849621", job_id="J"
    )

    answer = client.get(f"/sessions/{session.session_id}", headers=owner.headers)

    assert answer.status_code == 200
    body = answer.json()
    assert body["success"] is True
    assert set(body) == {"success", "session"}
    got = body["session"]
    assert set(got) == SESSION_FIELDS
    assert got["id"] == session.session_id
    assert (got["script_id"], got["user_key"], got["job_id"]) == (owner.script_id, "uk-1", "J")
    assert got["roblox_id"] == 10234711811
    assert type(got["roblox_id"]) is int
    assert got["place_id"] == 606849621
    assert type(got["place_id"]) is int
    assert before <= got["created_at"] <= int(time.time() * 1000)
    assert got["last_seen_at"] == got["created_at"]


def test_get_session_keeps_64_bit_ids_exact(client, owner, connect):
    biggest = 2**63 - 1
    session = connect(owner.script_id, roblox_id=str(biggest), place_id=str(biggest - 1))

    answer = client.get(f"/sessions/{session.session_id}", headers=owner.headers)

    assert f'"roblox_id":{biggest}' in answer.text.replace(" ", "")
    assert answer.json()["session"]["place_id"] == biggest - 1


def test_each_connection_is_its_own_session(client, owner, connect):
    first = connect(owner.script_id)
    second = connect(owner.script_id)  # same identity, new connection

    assert first.session_id != second.session_id
    assert client.get(f"/sessions/{first.session_id}", headers=owner.headers).status_code == 200
    assert client.get(f"/sessions/{second.session_id}", headers=owner.headers).status_code == 200


@pytest.mark.parametrize("session_id", ["does-not-exist", "0" * 32, "x" * 129, "x" * 2000])
def test_get_unknown_session_is_404(client, owner, connect, failure, session_id):
    connect(owner.script_id)

    assert failure(client.get(f"/sessions/{session_id}", headers=owner.headers), 404) == "session not found"


# ------------------------------------------------------------------------------------------------
# GET /sessions (extension)
# ------------------------------------------------------------------------------------------------


def test_list_sessions_newest_first_with_ties_ordered_by_id(client, owner, connect, monkeypatch):
    now = int(time.time() * 1000)
    created = {}
    for offset in (0, 0, 0, 5_000, 5_000, 2_000):
        monkeypatch.setattr(clock, "now_ms", lambda offset=offset: now - 10_000 + offset)
        created[connect(owner.script_id).session_id] = now - 10_000 + offset
    expected = sorted(created, key=lambda sid: (-created[sid], sid))

    answer = client.get("/sessions", headers=owner.headers)

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"success", "sessions", "next_cursor"}
    assert body["success"] is True
    assert body["next_cursor"] is None
    assert ids(answer) == expected
    assert all(set(session) == SESSION_FIELDS for session in body["sessions"])


def test_list_sessions_pages_with_a_cursor_across_scripts(client, make_owner, connect):
    owner = make_owner("script-one", "script-two")
    for index in range(7):
        connect(owner.script_ids[index % 2])
    everything = ids(client.get("/sessions", headers=owner.headers))
    assert len(everything) == 7

    pages, cursor = [], None
    while True:
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        answer = client.get("/sessions", headers=owner.headers, params=params)
        assert answer.status_code == 200
        pages.append(ids(answer))
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [sid for page in pages for sid in page] == everything


def test_list_sessions_exact_page_has_no_next_cursor(client, owner, connect):
    for _ in range(2):
        connect(owner.script_id)

    answer = client.get("/sessions", headers=owner.headers, params={"limit": "2"})

    assert len(ids(answer)) == 2
    assert answer.json()["next_cursor"] is None


def test_list_sessions_defaults_to_100(client, owner, relay_store):
    from session_relay.contract import parse_identity

    identity = parse_identity(
        {"script_id": owner.script_id, "user_key": "u", "job_id": "j", "roblox_id": "1", "place_id": "2"}
    )
    for index in range(101):
        relay_store.sessions.create(f"session-{index:03d}", identity, f"connection-{index:03d}")

    answer = client.get("/sessions", headers=owner.headers)

    assert len(ids(answer)) == 100
    assert answer.json()["next_cursor"] is not None
    rest = client.get("/sessions", headers=owner.headers, params={"cursor": answer.json()["next_cursor"]})
    assert len(ids(rest)) == 1
    assert rest.json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_key", "uk-wanted"),
        ("job_id", "job-wanted"),
        ("roblox_id", "77"),
        ("place_id", "88"),
    ],
)
def test_list_sessions_filters_by_field(client, owner, connect, field, value):
    wanted = connect(owner.script_id, **{field: value})
    connect(owner.script_id)
    connect(owner.script_id)

    answer = client.get("/sessions", headers=owner.headers, params={field: value})

    assert ids(answer) == [wanted.session_id]


def test_list_sessions_filters_by_script_and_combines_filters(client, make_owner, connect):
    owner = make_owner("script-one", "script-two")
    match = connect("script-two", user_key="u1", roblox_id="5")
    connect("script-two", user_key="u1", roblox_id="6")
    connect("script-one", user_key="u1", roblox_id="5")

    by_script = client.get("/sessions", headers=owner.headers, params={"script_id": "script-two"})
    combined = client.get(
        "/sessions",
        headers=owner.headers,
        params={"script_id": "script-two", "user_key": "u1", "roblox_id": "5"},
    )

    assert len(ids(by_script)) == 2
    assert ids(combined) == [match.session_id]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "abc"),
        ("limit", "-1"),
        ("limit", "1.5"),
        ("limit", ""),
        ("cursor", "not-a-cursor"),
        ("cursor", base64.urlsafe_b64encode(b"123#abc").decode()),
        ("roblox_id", "abc"),
        ("roblox_id", "-5"),
        ("roblox_id", "0"),
        ("roblox_id", str(2**63)),
        ("place_id", "1e3"),
    ],
)
def test_list_sessions_rejects_invalid_query_with_422(client, owner, failure, field, value):
    error = failure(client.get("/sessions", headers=owner.headers, params={field: value}), 422)

    assert field in error


def test_list_sessions_accepts_limit_bounds(client, owner, connect):
    connect(owner.script_id)

    assert client.get("/sessions", headers=owner.headers, params={"limit": "1"}).status_code == 200
    assert client.get("/sessions", headers=owner.headers, params={"limit": "1000"}).status_code == 200


def test_list_sessions_omits_disconnected_sessions(client, owner, connect):
    staying = connect(owner.script_id)
    leaving = connect(owner.script_id)
    leaving.hang_up()

    assert ids(client.get("/sessions", headers=owner.headers)) == [staying.session_id]


# ------------------------------------------------------------------------------------------------
# POST /sessions/{session_id}/disconnect
# ------------------------------------------------------------------------------------------------


def test_disconnect_closes_the_socket_and_deletes_the_session(client, owner, connect, gateway, failure):
    session = connect(owner.script_id)
    other = connect(owner.script_id)

    answer = client.post(f"/sessions/{session.session_id}/disconnect", headers=owner.headers)

    assert answer.status_code == 200
    assert answer.json() == {"success": True}
    assert session.received[-1]["type"] == "disconnect"
    assert isinstance(session.received[-1]["reason"], str)
    assert gateway.closed == [session.connection_id]
    failure(client.get(f"/sessions/{session.session_id}", headers=owner.headers), 404)
    assert ids(client.get("/sessions", headers=owner.headers)) == [other.session_id]
    assert other.received == []


def test_disconnect_twice_is_404_the_second_time(client, owner, connect, failure):
    session = connect(owner.script_id)

    assert client.post(f"/sessions/{session.session_id}/disconnect", headers=owner.headers).status_code == 200
    failure(client.post(f"/sessions/{session.session_id}/disconnect", headers=owner.headers), 404)


def test_disconnect_unknown_session_is_404(client, owner, gateway, failure):
    assert (
        failure(client.post("/sessions/nope/disconnect", headers=owner.headers), 404) == "session not found"
    )
    assert gateway.closed == []


def test_disconnect_of_a_vanished_connection_still_deletes_the_session(
    client, owner, connect, gateway, failure
):
    session = connect(owner.script_id)
    gateway.gone.add(session.connection_id)  # the Management API answers 410

    assert client.post(f"/sessions/{session.session_id}/disconnect", headers=owner.headers).status_code == 200
    failure(client.get(f"/sessions/{session.session_id}", headers=owner.headers), 404)


def test_disconnect_frame_is_best_effort(client, owner, connect, gateway):
    session = connect(owner.script_id)
    gateway.failing.add(session.connection_id)  # posting the disconnect frame fails

    answer = client.post(f"/sessions/{session.session_id}/disconnect", headers=owner.headers)

    assert answer.status_code == 200
    assert gateway.closed == [session.connection_id]


def test_disconnect_that_cannot_close_is_503_and_changes_nothing(client, owner, connect, gateway, failure):
    session = connect(owner.script_id)
    gateway.failing_close.add(session.connection_id)

    failure(client.post(f"/sessions/{session.session_id}/disconnect", headers=owner.headers), 503)

    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 200


# ------------------------------------------------------------------------------------------------
# Routes and methods (404/405), before anything else
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/nope"),
        ("GET", "/sessions/"),
        ("GET", "/sessions/a/b"),
        ("POST", "/sessions/a/unknown"),
        ("GET", "/sessions/a/message/extra"),
    ],
)
def test_unknown_route_is_404_with_or_without_a_key(client, owner, failure, method, path):
    for headers in (owner.headers, {}):
        error = failure(client.request(method, path, headers=headers, content="{not json"), 404)

        assert path in error


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/health"),
        ("POST", "/sessions"),
        ("PUT", "/sessions"),
        ("DELETE", "/sessions/abc"),
        ("PATCH", "/sessions/abc"),
        ("GET", "/sessions/abc/message"),
        ("GET", "/sessions/abc/disconnect"),
        ("PUT", "/sessions/message"),
        ("DELETE", "/sessions/disconnect"),
    ],
)
def test_wrong_method_is_405_before_the_key_is_checked(client, failure, method, path):
    error = failure(client.request(method, path, content="{not json"), 405)

    assert method in error


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/health", "GET"),
        ("/sessions", "GET"),
        ("/sessions/abc", "GET"),
        ("/sessions/abc/message", "POST"),
        ("/sessions/message", "POST"),
        ("/sessions/disconnect", "POST"),
        ("/dashboard", "GET"),
    ],
)
def test_wrong_method_names_the_allowed_ones_in_allow(client, path, allowed):
    # RFC 9110 15.5.6: a 405 carries Allow; the routes live in included routers.
    answer = client.request("PATCH", path)

    assert (answer.status_code, answer.headers.get("allow")) == (405, allowed)


# ------------------------------------------------------------------------------------------------
# Keys (401)
# ------------------------------------------------------------------------------------------------

PROTECTED = [
    ("GET", "/sessions", None),
    ("GET", "/sessions/some-id", None),
    ("POST", "/sessions/some-id/disconnect", None),
    ("POST", "/sessions/some-id/message", {"key": "k"}),
    ("POST", "/sessions/disconnect", {"session_ids": ["some-id"]}),
    ("POST", "/sessions/message", {"session_ids": ["some-id"], "key": "k"}),
]
BAD_AUTHORIZATION = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Bearer sr_not-a-key-we-issued",
    "Bearer " + "x" * 300,
    "Bearer sr_ключ",
]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
def test_protected_routes_refuse_missing_or_invalid_keys(client, owner, failure, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    for method, path, body in PROTECTED:
        assert failure(client.request(method, path, headers=headers, json_body=body), 401), (method, path)


def test_revoked_key_is_401(client, make_owner, failure):
    revoked = make_owner("script-alpha", revoked=True)

    assert failure(client.get("/sessions", headers=revoked.headers), 401) == "invalid API key"


def test_key_revoked_after_use_stops_working_once_the_cache_expires(
    client, owner, relay_store, failure, monkeypatch
):
    monkeypatch.setenv("API_KEY_CACHE_TTL_S", "0")
    settings.get_settings.cache_clear()
    wiring.get_authenticator.cache_clear()
    assert client.get("/sessions", headers=owner.headers).status_code == 200

    assert relay_store.auth.revoke_api_key(owner.key_id) is True

    assert failure(client.get("/sessions", headers=owner.headers), 401) == "invalid API key"


def test_bearer_scheme_is_case_insensitive(client, owner):
    answer = client.get("/sessions", headers={"Authorization": f"bearer {owner.api_key}"})

    assert answer.status_code == 200


# ------------------------------------------------------------------------------------------------
# Bodies (400) and the order of checks
# ------------------------------------------------------------------------------------------------

MALFORMED_BODIES = [
    "",
    "{",
    "{'key': 'k'}",
    '{"key": "k"} trailing',
    '{"key": "k", "data": NaN}',
    '{"key": "k", "data": Infinity}',
    '{"key": "k", "data": -Infinity}',
    '{"key": "k", "data": 1e999}',
    b'{"key": "\xff\xfe"}',
]


def body_routes(session_id: str) -> list[str]:
    return [f"/sessions/{session_id}/message", "/sessions/disconnect", "/sessions/message"]


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_malformed_json_is_400_and_changes_nothing(client, owner, connect, gateway, failure, body):
    session = connect(owner.script_id)

    for path in body_routes(session.session_id):
        assert failure(client.request("POST", path, headers=owner.headers, content=body), 400), path

    assert session.received == []
    assert gateway.closed == []


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null", "true"])
def test_body_that_is_not_an_object_is_422(client, owner, connect, gateway, failure, body):
    session = connect(owner.script_id)

    for path in body_routes(session.session_id):
        assert "body" in failure(client.request("POST", path, headers=owner.headers, content=body), 422), path

    assert session.received == []
    assert gateway.closed == []


def test_checks_run_route_then_key_then_body_then_session(client, owner, failure):
    unknown = "/sessions/unknown-session/message"
    oversized = json.dumps({"key": "k", "data": "x" * 40_000})

    assert failure(client.request("GET", "/sessions/a/b/c", content="{"), 404)
    assert failure(client.request("GET", unknown, content="{"), 405)
    assert failure(client.request("POST", unknown, content="{"), 401)
    assert failure(client.request("POST", unknown, headers=owner.headers, content="{"), 400)
    assert failure(client.request("POST", unknown, headers=owner.headers, content=oversized), 413)
    assert failure(client.request("POST", unknown, headers=owner.headers, json_body={"key": 5}), 422)
    assert failure(client.request("POST", unknown, headers=owner.headers, json_body={"key": "k"}), 404)


def test_bulk_checks_run_key_then_body(client, owner, failure):
    for path in ("/sessions/disconnect", "/sessions/message"):
        assert failure(client.request("POST", path, content="{"), 401)
        assert failure(client.request("POST", path, headers=owner.headers, content="{"), 400)
        assert "session_ids" in failure(
            client.request("POST", path, headers=owner.headers, json_body={}), 422
        )


def test_bulk_message_too_large_is_413_even_for_unknown_sessions(client, owner, failure):
    body = {"session_ids": ["unknown"], "key": "k", "data": "x" * 40_000}

    assert "32768" in failure(client.post("/sessions/message", headers=owner.headers, json=body), 413)
