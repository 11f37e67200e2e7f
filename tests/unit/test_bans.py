"""Bans (PROTOCOL.md, "Extension: bans"): ``POST /bans`` closes the script's live sessions of that
``user_key`` or ``roblox_id`` and refuses their handshakes (403, nothing created) until the ban expires
or is lifted; ``GET /bans`` lists the caller's bans in force, newest first; ``DELETE /bans/{id}`` lifts
one. Another key's ban, an unknown or an expired id: the same 404."""

import time

import pytest
from session_relay import clock as product_clock
from session_relay.errors import ServiceUnavailable
from session_relay.store import sessions as sessions_store
from session_relay.websocket import events as websocket_events
from session_relay.websocket import handshake
from support.events import connect_event, new_connection_id
from support.tables import scan


def ban(client, owner, **body):
    return client.post("/bans", headers=owner.headers, json={"script_id": owner.script_id, **body})


def handshake_status(script_id, **query):
    event = websocket_events.WebSocketEvent.parse(connect_event(new_connection_id(), script_id, **query))
    return handshake.connect(event)


def test_a_ban_by_user_key_closes_exactly_the_matching_sessions(
    client, owner, connect, make_owner, relay_store
):
    banned = [connect(owner.script_id, user_key="cheater") for _ in range(2)]
    other_user = connect(owner.script_id, user_key="honest")
    # The same user key on another script of another owner is not covered.
    stranger = make_owner("script-beta")
    elsewhere = connect(stranger.script_id, user_key="cheater")

    answer = ban(client, owner, user_key="cheater", reason="aimbot", expires_in=3600)

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["success"] is True
    assert sorted(body["disconnected"]) == sorted(s.session_id for s in banned)
    given = body["ban"]
    assert set(given) == {"id", "script_id", "user_key", "reason", "created_at", "expires_at"}
    assert given["script_id"] == owner.script_id
    assert given["user_key"] == "cheater"
    assert given["reason"] == "aimbot"
    assert given["expires_at"] == given["created_at"] + 3_600_000
    for session in banned:
        assert session.received[-1] == {"type": "disconnect", "reason": "banned"}
        assert session.connection_id in session.gateway.closed
        assert relay_store.sessions.get(session.session_id) is None
    for session in (other_user, elsewhere):
        assert session.received == []
        assert relay_store.sessions.get(session.session_id) is not None


def test_a_ban_by_roblox_id_refuses_the_next_handshake_and_lifting_admits_it(
    client, owner, connect, relay_store, aws, dynamodb
):
    session = connect(owner.script_id, roblox_id="77")

    given = ban(client, owner, roblox_id=77).json()
    assert given["disconnected"] == [session.session_id]
    assert given["ban"]["expires_at"] is None
    assert given["ban"]["reason"] is None
    assert "user_key" not in given["ban"]
    assert given["ban"]["roblox_id"] == 77
    sessions_before = scan(dynamodb, aws["SESSIONS_TABLE"])

    refused = handshake_status(owner.script_id, roblox_id="77", user_key="a-new-alt")
    assert refused == {"statusCode": 403, "body": "banned from this script"}
    assert scan(dynamodb, aws["SESSIONS_TABLE"]) == sessions_before  # nothing created
    assert handshake_status(owner.script_id, roblox_id="78")["statusCode"] == 200

    lifted = client.request("DELETE", f"/bans/{given['ban']['id']}", headers=owner.headers)
    assert lifted.status_code == 200
    assert lifted.json() == {"success": True}
    assert handshake_status(owner.script_id, roblox_id="77")["statusCode"] == 200
    assert client.get("/bans", headers=owner.headers).json()["bans"] == []


def test_a_ban_by_user_key_refuses_that_user_key_on_that_script_only(client, owner, make_owner):
    ban(client, owner, user_key="cheater")
    make_owner("script-beta")
    assert handshake_status(owner.script_id, user_key="cheater")["statusCode"] == 403
    assert handshake_status(owner.script_id, user_key="cheater2")["statusCode"] == 200
    assert handshake_status("script-beta", user_key="cheater")["statusCode"] == 200


def test_the_handshake_reads_the_script_and_both_bans_in_one_batch_get(owner, client, sent_requests):
    ban(client, owner, user_key="someone-else")
    sent = sent_requests(lambda operation, body: (operation, body))

    assert handshake_status(owner.script_id, user_key="fine")["statusCode"] == 200
    admitted = list(sent)
    sent.clear()
    assert handshake_status(owner.script_id, user_key="someone-else")["statusCode"] == 403
    refused = list(sent)

    assert [operation for operation, _ in admitted] == ["BatchGetItem", "BatchWriteItem"]
    (keys,) = [request["RequestItems"] for operation, request in admitted if operation == "BatchGetItem"]
    assert len(next(iter(keys.values()))["Keys"]) == 3  # the script and both possible bans
    assert [operation for operation, _ in refused] == ["BatchGetItem"]  # refused: nothing written


def test_an_expired_ban_not_yet_deleted_is_ignored(client, owner, monkeypatch, aws, dynamodb):
    given = ban(client, owner, user_key="briefly", expires_in=60).json()["ban"]
    assert handshake_status(owner.script_id, user_key="briefly")["statusCode"] == 403

    later = time.time() + 61
    monkeypatch.setattr(product_clock, "epoch_s", lambda: later)

    # TTL has not deleted it (it never runs here): every read ignores it by its expires_at.
    assert any(item["pk"]["S"].startswith("ban#user#") for item in scan(dynamodb, aws["AUTH_TABLE"]))
    assert handshake_status(owner.script_id, user_key="briefly")["statusCode"] == 200
    assert client.get("/bans", headers=owner.headers).json()["bans"] == []
    assert client.request("DELETE", f"/bans/{given['id']}", headers=owner.headers).status_code == 404


def test_bans_are_listed_newest_first_in_pages(client, owner, make_owner):
    given = []
    for index in range(5):
        given.append(ban(client, owner, user_key=f"user-{index}").json()["ban"])
        time.sleep(0.002)  # distinct creation times
    other = make_owner(owner.script_id)
    ban(client, other, user_key="not-mine")

    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get("/bans", headers=owner.headers, params=params)
        assert page.status_code == 200, page.text
        seen.extend(page.json()["bans"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(given))
    only = client.get("/bans", headers=owner.headers, params={"script_id": "script-none"}).json()
    assert only == {"success": True, "bans": [], "next_cursor": None}
    mine = client.get("/bans", headers=owner.headers, params={"script_id": owner.script_id}).json()
    assert mine["bans"] == list(reversed(given))


def test_another_keys_ban_and_an_unknown_id_are_byte_identical_404s(client, owner, make_owner):
    given = ban(client, owner, user_key="cheater").json()["ban"]
    other = make_owner(owner.script_id)

    theirs = client.request("DELETE", f"/bans/{given['id']}", headers=other.headers)
    unknown = client.request("DELETE", "/bans/ban_" + "0" * 32, headers=owner.headers)
    malformed = client.request("DELETE", "/bans/not-an-id", headers=owner.headers)

    assert theirs.status_code == unknown.status_code == malformed.status_code == 404
    assert theirs.text == unknown.text == malformed.text
    assert theirs.json() == {"success": False, "error": "ban not found"}
    assert client.get("/bans", headers=other.headers).json()["bans"] == []
    assert handshake_status(owner.script_id, user_key="cheater")["statusCode"] == 403  # still in force


def test_a_script_the_key_does_not_cover_is_404_and_bans_nothing(client, owner, make_owner, failure):
    make_owner("script-beta")
    answer = client.post("/bans", headers=owner.headers, json={"script_id": "script-beta", "user_key": "u"})
    assert failure(answer, 404) == "script not found"
    assert handshake_status("script-beta", user_key="u")["statusCode"] == 200


WRONG = {
    "both": ({"user_key": "u", "roblox_id": 5}, "user_key: give either user_key or roblox_id, not both"),
    "neither": ({}, "user_key: must be a string of 1 to 128 characters (it is missing, and so is roblox_id)"),
    "empty reason": (
        {"user_key": "u", "reason": ""},
        'reason: must be a string of 1 to 200 characters (got "")',
    ),
    "long reason": (
        {"user_key": "u", "reason": "r" * 201},
        "reason: must be a string of 1 to 200 characters (got a string of 201 characters)",
    ),
    "short": (
        {"user_key": "u", "expires_in": 59},
        "expires_in: must be a whole number of seconds from 60 to 31536000 (got 59)",
    ),
    "long": (
        {"user_key": "u", "expires_in": 31_536_001},
        "expires_in: must be a whole number of seconds from 60 to 31536000 (got 31536001)",
    ),
    "text": (
        {"user_key": "u", "expires_in": "60"},
        'expires_in: must be a whole number of seconds from 60 to 31536000 (got "60")',
    ),
    "roblox text": ({"roblox_id": "5"}, 'roblox_id: must be a positive decimal integer below 2^63 (got "5")'),
    "null": ({"user_key": None}, "user_key: must be a string of 1 to 128 characters (got null)"),
    "extra": ({"user_key": "u", "why": 1}, "why: is not a field of this request"),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_a_wrong_body_is_a_422_and_bans_nothing(client, owner, failure, aws, dynamodb, case):
    before = scan(dynamodb, aws["AUTH_TABLE"])
    fields, sentence = WRONG[case]
    error = failure(ban(client, owner, **fields), 422)
    assert error.startswith(sentence)
    assert scan(dynamodb, aws["AUTH_TABLE"]) == before


def test_the_limits_themselves_are_accepted(client, owner):
    for seconds in (60, 31_536_000):
        answer = ban(client, owner, user_key=f"u{seconds}", reason="r" * 200, expires_in=seconds)
        assert answer.status_code == 201, answer.text


def test_a_wrong_list_query_is_a_422(client, owner, failure):
    for params in ({"limit": "0"}, {"limit": "1001"}, {"cursor": "nope"}, {"user_key": "u"}):
        assert failure(client.get("/bans", headers=owner.headers, params=params), 422)


def test_a_retried_ban_with_an_idempotency_key_gets_the_first_answer(client, owner, connect):
    session = connect(owner.script_id, user_key="cheater")
    headers = {**owner.headers, "Idempotency-Key": "ban-1"}
    body = {"script_id": owner.script_id, "user_key": "cheater"}

    first = client.post("/bans", headers=headers, json=body)
    again = client.post("/bans", headers=headers, json=body)

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["disconnected"] == [session.session_id]
    assert len(client.get("/bans", headers=owner.headers).json()["bans"]) == 1


def test_a_ban_whose_sessions_could_not_be_closed_is_a_503_that_changes_nothing(
    client, owner, connect, monkeypatch, failure
):
    session = connect(owner.script_id, user_key="cheater")

    def unavailable(*_args, **_kwargs):
        raise ServiceUnavailable("the session store is unavailable, try again shortly")

    monkeypatch.setattr(sessions_store.Sessions, "hide", unavailable)
    failure(ban(client, owner, user_key="cheater"), 503)

    assert client.get("/bans", headers=owner.headers).json()["bans"] == []
    assert handshake_status(owner.script_id, user_key="cheater")["statusCode"] == 200
    assert session.received == []
