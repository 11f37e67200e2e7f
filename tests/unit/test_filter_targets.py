"""POST /sessions/message and POST /sessions/disconnect by ``filter``: the caller's live sessions that
match, newest first, in pages (``limit``, ``cursor``) that cover each session once."""

import re

import pytest
from session_relay.contract import REASON_NO_RESPONSE


def by_filter(client, owner, route, **body):
    return client.post(f"/sessions/{route}", headers=owner.headers, json=body)


def test_message_by_filter_targets_matching_sessions_newest_first(client, owner, connect, make_owner):
    old, other_place, new = (
        connect(owner.script_id, place_id="7"),
        connect(owner.script_id, place_id="8"),
        connect(owner.script_id, place_id="7"),
    )
    stranger = make_owner("script-beta")
    foreign = connect(stranger.script_id, place_id="7")

    answer = by_filter(client, owner, "message", filter={"place_id": 7}, key="k", data=[1], timeout=5)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["matched"] == 2
    assert body["next_cursor"] is None
    assert [entry["session_id"] for entry in body["responses"]] == [new.session_id, old.session_id]
    assert all(entry["response"] == [1] for entry in body["responses"])
    assert other_place.received == []
    assert foreign.received == []


def test_empty_filter_means_every_session_of_the_caller(client, owner, connect):
    sessions = [connect(owner.script_id) for _ in range(3)]

    body = by_filter(client, owner, "message", filter={}, key="k", timeout=5).json()

    assert sorted(entry["session_id"] for entry in body["responses"]) == sorted(
        s.session_id for s in sessions
    )
    assert body["matched"] == 3


def test_filter_by_a_script_the_key_does_not_cover_matches_nothing(client, owner, connect, make_owner):
    stranger = make_owner("script-beta")
    foreign = connect(stranger.script_id)

    body = by_filter(client, owner, "disconnect", filter={"script_id": stranger.script_id}).json()

    assert body == {"success": True, "disconnected": [], "matched": 0, "next_cursor": None}
    assert foreign.received == []


def test_filter_pages_cover_each_session_once_while_sessions_come_and_go(client, owner, connect, gateway):
    sessions = [connect(owner.script_id, job_id="paged") for _ in range(7)]
    seen: list[str] = []
    cursor = None
    late = []
    for page in range(10):
        body = {"filter": {"job_id": "paged"}, "limit": 3, "key": "k", "timeout": 5}
        if cursor is not None:
            body["cursor"] = cursor
        answer = by_filter(client, owner, "message", **body).json()
        gateway.settle()  # replies recorded before the next page is read (moto in-process is not thread safe)
        seen.extend(entry["session_id"] for entry in answer["responses"])
        assert answer["matched"] == len(answer["responses"]) <= 3
        if page == 0:  # one joins (newer than the cursor) and one not yet messaged leaves
            late.append(connect(owner.script_id, job_id="paged"))
            sessions[0].hang_up()
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    staying = [s.session_id for s in sessions[1:]]
    assert sorted(seen) == sorted(staying)
    assert len(seen) == len(set(seen))
    assert late[0].received == []
    for session in sessions[1:]:
        assert [frame["type"] for frame in session.received] == ["message"]


def test_disconnect_by_filter_closes_only_matching_sessions(client, owner, connect, gateway):
    keep = connect(owner.script_id, user_key="keep")
    drop = [connect(owner.script_id, user_key="drop") for _ in range(2)]

    body = by_filter(client, owner, "disconnect", filter={"user_key": "drop"}).json()

    assert sorted(body["disconnected"]) == sorted(s.session_id for s in drop)
    assert body["matched"] == 2
    assert body["next_cursor"] is None
    assert sorted(gateway.closed) == sorted(s.connection_id for s in drop)
    assert client.get(f"/sessions/{keep.session_id}", headers=owner.headers).status_code == 200


def test_filter_and_session_ids_answer_the_same_for_a_silent_client(client, owner, connect):
    silent = connect(owner.script_id, job_id="silent")
    silent.behaviour = lambda frame: None

    body = by_filter(client, owner, "message", filter={"job_id": "silent"}, key="k", timeout=0.2).json()

    assert body["responses"] == [
        {"session_id": silent.session_id, "processed": False, "reason": REASON_NO_RESPONSE}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "k"}, "session_ids"),
        ({"key": "k", "session_ids": ["a"], "filter": {}}, "filter"),
        ({"key": "k", "filter": None}, "filter"),
        ({"key": "k", "filter": []}, "filter"),
        ({"key": "k", "filter": {"place": 1}}, "filter.place"),
        ({"key": "k", "filter": {"place_id": "1"}}, "filter.place_id"),
        ({"key": "k", "filter": {"place_id": True}}, "filter.place_id"),
        ({"key": "k", "filter": {"place_id": 0}}, "filter.place_id"),
        ({"key": "k", "filter": {"roblox_id": 2**63}}, "filter.roblox_id"),
        ({"key": "k", "filter": {"job_id": ""}}, "filter.job_id"),
        ({"key": "k", "filter": {"job_id": None}}, "filter.job_id"),
        ({"key": "k", "filter": {"user_key": "x" * 129}}, "filter.user_key"),
        ({"key": "k", "filter": {}, "limit": 0}, "limit"),
        ({"key": "k", "filter": {}, "limit": 1001}, "limit"),
        ({"key": "k", "filter": {}, "limit": 2.5}, "limit"),
        ({"key": "k", "filter": {}, "limit": "2"}, "limit"),
        ({"key": "k", "filter": {}, "limit": True}, "limit"),
        ({"key": "k", "filter": {}, "limit": None}, "limit"),
        ({"key": "k", "session_ids": ["a"], "limit": 5}, "limit"),
        ({"key": "k", "session_ids": ["a"], "cursor": "abc"}, "cursor"),
        ({"key": "k", "filter": {}, "cursor": "not-a-cursor"}, "cursor"),
        ({"key": "k", "filter": {}, "cursor": 5}, "cursor"),
        ({"key": "k", "filter": {}, "wait": "no"}, "wait"),
        ({"key": "k", "filter": {}, "wait": None}, "wait"),
    ],
)
def test_bad_targets_are_refused_naming_the_field_and_send_nothing(
    client, owner, connect, failure, body, field
):
    session = connect(owner.script_id)

    for route in ("message", "disconnect"):
        sent = {k: v for k, v in body.items() if route == "message" or k not in ("key", "wait")}
        if route == "disconnect" and field == "wait":
            continue
        error = failure(by_filter(client, owner, route, **sent), 422)
        assert re.match(rf"{re.escape(field)}[: ]", error), error

    assert session.received == []
    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 200
