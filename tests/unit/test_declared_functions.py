"""Declared functions (PROTOCOL.md, "Extension: declared functions" and section 2's ``functions``
frame): a client declares the functions it has registered; the session object shows them; ``function``
filters listings and bulk calls; a message whose key the session did not declare is answered
"function doesnt exist" at once, and no frame is sent."""

import pytest
from session_relay import clock as product_clock
from session_relay.contract import REASON_NO_FUNCTION
from support.tables import scan


def declare(session, names):
    """Send a ``functions`` frame; the frame the server answered with."""
    before = len(session.received)
    session.send_frame({"action": "functions", "names": names})
    answered = session.received[before:]
    assert len(answered) == 1, answered
    return answered[0]


def shown(client, owner, session):
    answer = client.get(f"/sessions/{session.session_id}", headers=owner.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["session"]


def test_a_declaration_is_counted_and_shown_sorted_on_the_session(client, owner, connect):
    session = connect(owner.script_id)
    assert "functions" not in shown(client, owner, session)  # never declared: no field

    assert declare(session, ["teleport", "announce", "kick"]) == {"type": "functions", "count": 3}

    assert shown(client, owner, session)["functions"] == ["announce", "kick", "teleport"]
    hello = session.send_frame({"action": "hello"}) and session.received_of_type("hello")[-1]
    assert hello["session"]["functions"] == ["announce", "kick", "teleport"]


def test_a_declaration_replaces_the_last_and_an_empty_one_declares_none(
    client, owner, connect, aws, dynamodb
):
    session = connect(owner.script_id)
    declare(session, ["a", "b"])
    assert declare(session, ["c"]) == {"type": "functions", "count": 1}
    assert shown(client, owner, session)["functions"] == ["c"]

    assert declare(session, []) == {"type": "functions", "count": 0}

    assert shown(client, owner, session)["functions"] == []
    # DynamoDB has no empty set: the empty declaration is the flag alone.
    (item,) = scan(dynamodb, aws["SESSIONS_TABLE"])
    assert item["functions_declared"] == {"BOOL": True}
    assert "functions" not in item


MALFORMED = {
    "not a list": ({"names": "announce"}, 'got "announce"'),
    "missing": ({}, "it is missing"),
    "an object": ({"names": {"a": 1}}, "got an object"),
    "257 names": ({"names": [f"f{i}" for i in range(257)]}, "got a list of 257 items"),
    "an empty name": ({"names": ["ok", ""]}, 'item 2: got ""'),
    "129 characters": ({"names": ["x" * 129]}, "item 1: got a string of 129 characters"),
    "a number": ({"names": ["ok", 5]}, "item 2: got 5"),
    "a duplicate": ({"names": ["a", "b", "a"]}, '"a" appears more than once'),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_declaration_is_an_error_frame_and_changes_nothing(
    client, owner, connect, aws, dynamodb, case
):
    session = connect(owner.script_id)
    declare(session, ["keep"])
    before = scan(dynamodb, aws["SESSIONS_TABLE"])
    fields, wrong = MALFORMED[case]

    session.send_frame({"action": "functions", **fields})

    error = session.received[-1]
    assert error["type"] == "error"
    assert error["error"] == (
        "names: must be a list of 0 to 256 distinct function names, each a string of 1 to 128 characters"
        f" ({wrong})"
    )
    assert scan(dynamodb, aws["SESSIONS_TABLE"]) == before
    assert shown(client, owner, session)["functions"] == ["keep"]


def test_the_limits_themselves_are_accepted(connect, owner, client):
    session = connect(owner.script_id)
    # 256 names, one of them 128 characters (256 of 128 would not fit in one 32 KB frame).
    names = [f"fn{i:03d}" for i in range(255)] + ["x" * 128]
    assert declare(session, names) == {"type": "functions", "count": 256}
    assert shown(client, owner, session)["functions"] == sorted(names)


def test_a_declaration_on_a_connection_without_session_is_an_error_frame(gateway):
    client = gateway.connect("no-session-here=", "none")
    client.send_frame({"action": "functions", "names": ["a"]})
    assert client.received == [{"type": "error", "error": "this connection has no session"}]


# ------------------------------------------------------------------------------------------------
# function= on GET /sessions, "function" in filter objects
# ------------------------------------------------------------------------------------------------


def test_listing_by_function_matches_only_sessions_that_declared_it(client, owner, connect):
    kick, both, other, never, empty = (connect(owner.script_id) for _ in range(5))
    declare(kick, ["kick"])
    declare(both, ["announce", "kick"])
    declare(other, ["announce"])
    declare(empty, [])

    answer = client.get("/sessions", headers=owner.headers, params={"function": "kick"})

    assert answer.status_code == 200, answer.text
    assert [s["id"] for s in answer.json()["sessions"]] == [both.session_id, kick.session_id]
    assert never.session_id not in {s["id"] for s in answer.json()["sessions"]}


def test_listing_by_function_pages_cover_each_match_once(client, owner, connect):
    matching = []
    for index in range(7):
        session = connect(owner.script_id)
        declare(session, ["kick"] if index % 2 == 0 else ["other"])
        if index % 2 == 0:
            matching.append(session.session_id)
    seen, cursor = [], None
    while True:
        params = {"function": "kick", "limit": "2", **({"cursor": cursor} if cursor else {})}
        body = client.get("/sessions", headers=owner.headers, params=params).json()
        seen.extend(s["id"] for s in body["sessions"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(matching))


@pytest.mark.parametrize("value", ["", "x" * 129])
def test_a_wrong_function_query_is_a_422(client, owner, failure, value):
    error = failure(client.get("/sessions", headers=owner.headers, params={"function": value}), 422)
    assert error.startswith("function: must be a string of 1 to 128 characters")


def test_a_filter_by_function_targets_only_the_sessions_that_declared_it(client, owner, connect):
    kick, other, never = (connect(owner.script_id) for _ in range(3))
    declare(kick, ["kick"])
    declare(other, ["announce"])

    body = client.post(
        "/sessions/message",
        headers=owner.headers,
        json={"filter": {"function": "kick"}, "key": "kick", "data": 1, "timeout": 5},
    ).json()

    assert body["matched"] == 1
    assert body["responses"] == [{"session_id": kick.session_id, "processed": True, "response": 1}]
    assert other.received_of_type("message") == never.received_of_type("message") == []

    gone = client.post(
        "/sessions/disconnect", headers=owner.headers, json={"filter": {"function": "announce"}}
    ).json()
    assert gone["disconnected"] == [other.session_id]


def test_a_wrong_function_in_a_filter_is_a_422_naming_its_path(client, owner, failure):
    answer = client.post("/sessions/disconnect", headers=owner.headers, json={"filter": {"function": ""}})
    assert failure(answer, 422).startswith("filter.function: must be a string of 1 to 128 characters")


# ------------------------------------------------------------------------------------------------
# A key the session did not declare: "function doesnt exist" at once, no frame sent
# ------------------------------------------------------------------------------------------------


def test_a_message_to_an_undeclared_key_is_answered_at_once_without_a_frame(client, owner, connect):
    session = connect(owner.script_id)
    declare(session, ["announce"])

    answer = client.post(
        f"/sessions/{session.session_id}/message", headers=owner.headers, json={"key": "kick", "timeout": 30}
    )

    assert answer.status_code == 200
    assert answer.json() == {"success": True, "processed": False, "reason": REASON_NO_FUNCTION}
    assert session.received_of_type("message") == []


def test_a_declared_key_and_a_session_that_never_declared_are_sent_the_frame(client, owner, connect):
    declared, never = connect(owner.script_id), connect(owner.script_id)
    declare(declared, ["announce"])
    for session in (declared, never):
        answer = client.post(
            f"/sessions/{session.session_id}/message",
            headers=owner.headers,
            json={"key": "announce", "data": "hi", "timeout": 5},
        )
        assert answer.json() == {"success": True, "processed": True, "response": "hi"}
        assert len(session.received_of_type("message")) == 1


def test_an_empty_declaration_refuses_every_key(client, owner, connect):
    session = connect(owner.script_id)
    declare(session, [])
    answer = client.post(f"/sessions/{session.session_id}/message", headers=owner.headers, json={"key": "a"})
    assert answer.json()["reason"] == REASON_NO_FUNCTION
    assert session.received_of_type("message") == []


def test_bulk_entries_of_undeclared_sessions_are_answered_without_a_frame(client, owner, connect):
    refusing, accepting, never = (connect(owner.script_id) for _ in range(3))
    declare(refusing, ["other"])
    declare(accepting, ["kick"])
    ids = [refusing.session_id, accepting.session_id, never.session_id]

    body = client.post(
        "/sessions/message", headers=owner.headers, json={"session_ids": ids, "key": "kick", "timeout": 5}
    ).json()

    assert body["responses"] == [
        {"session_id": refusing.session_id, "processed": False, "reason": REASON_NO_FUNCTION},
        {"session_id": accepting.session_id, "processed": True, "response": []},
        {"session_id": never.session_id, "processed": True, "response": []},
    ]
    assert refusing.received_of_type("message") == []
    assert len(accepting.received_of_type("message")) == len(never.received_of_type("message")) == 1


def test_messages_answered_later_read_back_function_doesnt_exist(client, owner, connect):
    refusing, accepting = connect(owner.script_id), connect(owner.script_id)
    declare(refusing, ["other"])
    declare(accepting, ["kick"])

    single = client.post(
        f"/sessions/{refusing.session_id}/message", headers=owner.headers, json={"key": "kick", "wait": False}
    ).json()
    outcome = client.get(f"/messages/{single['message_id']}", headers=owner.headers).json()
    assert outcome == {"success": True, "done": True, "processed": False, "reason": REASON_NO_FUNCTION}

    ids = [refusing.session_id, accepting.session_id]
    batch = client.post(
        "/sessions/message", headers=owner.headers, json={"session_ids": ids, "key": "kick", "wait": False}
    ).json()
    read = client.get(f"/batches/{batch['batch_id']}", headers=owner.headers, params={"wait": "5"}).json()
    assert read["responses"][0] == {
        "session_id": refusing.session_id,
        "processed": False,
        "reason": REASON_NO_FUNCTION,
    }
    assert read["responses"][1]["processed"] is True
    assert refusing.received_of_type("message") == []


def test_an_idempotent_bulk_call_answers_undeclared_sessions_alike(client, owner, connect):
    refusing = connect(owner.script_id)
    declare(refusing, ["other"])
    headers = {**owner.headers, "Idempotency-Key": "undeclared-1"}
    body = {"session_ids": [refusing.session_id], "key": "kick", "timeout": 5}

    first = client.post("/sessions/message", headers=headers, json=body).json()
    again = client.post("/sessions/message", headers=headers, json=body).json()

    entry = {"session_id": refusing.session_id, "processed": False, "reason": REASON_NO_FUNCTION}
    assert first["responses"] == again["responses"] == [entry]
    assert refusing.received_of_type("message") == []


def test_the_document_shows_functions_as_an_optional_list_of_names(client):
    session = client.get("/openapi.json").json()["components"]["schemas"]["Session"]
    assert "functions" not in session["required"]
    assert session["properties"]["functions"]["type"] == "array"
    assert session["properties"]["functions"]["items"] == {"type": "string"}
    listing = client.get("/openapi.json").json()["paths"]["/sessions"]["get"]["parameters"]
    assert {"name": "function", "in": "query", "required": False} in [
        {key: p[key] for key in ("name", "in", "required")} for p in listing
    ]


def test_a_declaration_is_a_frame_that_moves_last_seen_at(client, owner, connect, monkeypatch):
    session = connect(owner.script_id)
    before = shown(client, owner, session)["last_seen_at"]
    later = (before + 5_000) / 1000
    monkeypatch.setattr(product_clock, "epoch_s", lambda: later)

    declare(session, ["a"])

    assert shown(client, owner, session)["last_seen_at"] == before + 5_000
