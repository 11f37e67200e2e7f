"""A key sees only the sessions of its own scripts; another owner's session is indistinguishable
from one that does not exist, on every route (PROTOCOL.md section 1, Authentication)."""

import pytest
from session_relay.contract import REASON_NOT_FOUND


@pytest.fixture
def two_owners(make_owner, connect):
    """Owner A (script-a) and owner B (script-b), one session each."""
    owner_a, owner_b = make_owner("script-a"), make_owner("script-b")
    return (
        owner_a,
        owner_b,
        connect("script-a", user_key="shared-user"),
        connect("script-b", user_key="shared-user"),
    )


def test_get_of_another_owners_session_looks_like_a_missing_one(client, two_owners, failure):
    owner_a, _, _, session_b = two_owners

    foreign = client.get(f"/sessions/{session_b.session_id}", headers=owner_a.headers)
    missing = client.get("/sessions/no-such-session", headers=owner_a.headers)

    assert failure(foreign, 404) == failure(missing, 404)
    assert foreign.text == missing.text


def test_list_shows_only_the_callers_sessions(client, two_owners):
    owner_a, owner_b, session_a, session_b = two_owners

    listed_a = client.get("/sessions", headers=owner_a.headers).json()["sessions"]
    listed_b = client.get("/sessions", headers=owner_b.headers).json()["sessions"]

    assert [s["id"] for s in listed_a] == [session_a.session_id]
    assert [s["id"] for s in listed_b] == [session_b.session_id]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"script_id": "script-b"}, id="other-script"),
        pytest.param({"script_id": "script-nobody"}, id="unknown-script"),
        pytest.param({"script_id": "script-b", "user_key": "shared-user"}, id="other-script-and-user"),
    ],
)
def test_list_filtered_by_a_script_the_key_does_not_cover_is_empty(client, two_owners, params):
    owner_a = two_owners[0]

    answer = client.get("/sessions", headers=owner_a.headers, params=params)

    assert answer.status_code == 200
    assert answer.json() == {"success": True, "sessions": [], "next_cursor": None}


def test_list_filter_on_a_shared_field_never_reaches_other_scripts(client, two_owners):
    owner_a, _, session_a, _ = two_owners

    listed = client.get("/sessions", headers=owner_a.headers, params={"user_key": "shared-user"}).json()[
        "sessions"
    ]

    assert [s["id"] for s in listed] == [session_a.session_id]


def test_message_to_another_owners_session_is_404_and_sends_nothing(client, two_owners, failure):
    owner_a, _, _, session_b = two_owners

    foreign = client.post(
        f"/sessions/{session_b.session_id}/message", headers=owner_a.headers, json={"key": "k"}
    )
    missing = client.post("/sessions/no-such-session/message", headers=owner_a.headers, json={"key": "k"})

    assert failure(foreign, 404) == failure(missing, 404)
    assert session_b.received == []


def test_disconnect_of_another_owners_session_is_404_and_leaves_it(client, two_owners, gateway, failure):
    owner_a, owner_b, _, session_b = two_owners

    foreign = client.post(f"/sessions/{session_b.session_id}/disconnect", headers=owner_a.headers)
    missing = client.post("/sessions/no-such-session/disconnect", headers=owner_a.headers)

    assert failure(foreign, 404) == failure(missing, 404)
    assert gateway.closed == []
    assert session_b.received == []
    assert client.get(f"/sessions/{session_b.session_id}", headers=owner_b.headers).status_code == 200


def test_bulk_message_reports_another_owners_session_as_not_found(client, two_owners):
    owner_a, _, session_a, session_b = two_owners

    answer = client.post(
        "/sessions/message",
        headers=owner_a.headers,
        json={
            "session_ids": [session_b.session_id, session_a.session_id, "no-such-session"],
            "key": "k",
            "timeout": 5,
        },
    )

    assert answer.json()["responses"] == [
        {"session_id": session_b.session_id, "processed": False, "reason": REASON_NOT_FOUND},
        {"session_id": session_a.session_id, "processed": True, "response": []},
        {"session_id": "no-such-session", "processed": False, "reason": REASON_NOT_FOUND},
    ]
    assert session_b.received == []


def test_bulk_disconnect_skips_another_owners_session(client, two_owners, gateway):
    owner_a, owner_b, session_a, session_b = two_owners

    answer = client.post(
        "/sessions/disconnect",
        headers=owner_a.headers,
        json={"session_ids": [session_b.session_id, session_a.session_id]},
    )

    assert answer.json() == {"success": True, "disconnected": [session_a.session_id]}
    assert gateway.closed == [session_a.connection_id]
    assert client.get(f"/sessions/{session_b.session_id}", headers=owner_b.headers).status_code == 200


def test_key_covering_two_scripts_sees_both(client, make_owner, two_owners):
    _, _, session_a, session_b = two_owners
    both = make_owner("script-a", "script-b")

    listed = {s["id"] for s in client.get("/sessions", headers=both.headers).json()["sessions"]}

    assert listed == {session_a.session_id, session_b.session_id}
    assert client.get(f"/sessions/{session_b.session_id}", headers=both.headers).status_code == 200
