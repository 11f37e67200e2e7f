"""The synchronous SDK against the local stack, over real HTTP."""

import json

import pytest
from session_relay_client import (
    MessageResult,
    PayloadTooLarge,
    Session,
    SessionNotFound,
    SessionPage,
    SessionRelay,
    TransportError,
    Unauthorized,
    ValidationError,
)
from session_relay_client.calls import Timeouts, message


def test_health_answers_without_a_key(local_stack):
    with SessionRelay(local_stack.rest_url) as anonymous:
        assert anonymous.health() is True


def test_list_filters_pages_and_iterates_newest_first(relay, connect, place_id):
    clients = connect(5)
    ids = {client.session_id for client in clients}

    page = relay.list_sessions(place_id=place_id, limit=2)
    assert isinstance(page, SessionPage)
    assert len(page.sessions) == 2
    assert page.next_cursor is not None
    second = relay.list_sessions(place_id=place_id, limit=2, cursor=page.next_cursor)
    assert {s.id for s in page.sessions}.isdisjoint({s.id for s in second.sessions})

    every = list(relay.iter_sessions(place_id=place_id, page_size=2))
    assert {s.id for s in every} == ids
    assert len(every) == 5
    assert [s.created_at for s in every] == sorted((s.created_at for s in every), reverse=True)

    only = relay.list_sessions(place_id=place_id, user_key=clients[3].identity["user_key"])
    assert [s.id for s in only.sessions] == [clients[3].session_id]
    assert only.next_cursor is None


def test_get_returns_the_contract_session(relay, connect, place_id):
    (client,) = connect(1)
    session = relay.get_session(client.session_id)
    assert isinstance(session, Session)
    assert session.id == client.session_id
    assert session.place_id == place_id
    assert session.roblox_id == client.identity["roblox_id"]
    assert session.user_key == client.identity["user_key"]


def test_unknown_session_raises_session_not_found_with_the_api_sentence(relay):
    for call in (
        lambda: relay.get_session("no-such-session"),
        lambda: relay.message("no-such-session", "echo"),
        lambda: relay.disconnect("no-such-session"),
    ):
        with pytest.raises(SessionNotFound) as raised:
            call()
        assert raised.value.status == 404
        assert raised.value.error == "session not found"


def test_message_reports_each_outcome_of_the_contract(relay, connect):
    (client,) = connect(1)
    sid = client.session_id
    assert relay.message(sid, "echo", {"a": [1, 2]}) == MessageResult(processed=True, response={"a": [1, 2]})
    assert relay.message(sid, "echo").response == []  # data left out: the API's default
    explicit_null = relay.message(sid, "echo", None)
    assert explicit_null.processed is True
    assert explicit_null.response is None
    assert relay.message(sid, "nope").reason == "function doesnt exist"
    assert relay.message(sid, "error", "boom").reason == "function errored, message: boom"
    assert relay.message(sid, "invalid").reason == "invalid return data"


def test_message_wait_outlasts_the_plain_request_timeout(local_stack, connect):
    (client,) = connect(1)
    # Requests time out after 0.5 s, but a message call may take its whole wait plus the margin.
    with SessionRelay(local_stack.rest_url, local_stack.api_key, timeout=0.5) as impatient:
        result = impatient.message(client.session_id, "sleep", 1.5, timeout=10)
    assert result == MessageResult(processed=True, response=1.5)


def test_default_http_timeout_exceeds_the_longest_message_wait():
    timeouts = Timeouts()
    assert timeouts.for_call(message("s", "k", [], None)).read > 60
    assert timeouts.for_call(message("s", "k", [], 5)).read >= 5 + timeouts.message_margin_s - 1e-9


def test_validation_failures_name_the_field(relay, connect):
    (client,) = connect(1)
    with pytest.raises(ValidationError) as empty_key:
        relay.message(client.session_id, "")
    assert empty_key.value.status == 422
    assert "key" in empty_key.value.error
    with pytest.raises(ValidationError) as zero_timeout:
        relay.message(client.session_id, "echo", timeout=0)
    assert "timeout" in zero_timeout.value.error
    with pytest.raises(ValidationError) as bad_limit:
        relay.list_sessions(limit=0)
    assert "limit" in bad_limit.value.error
    with pytest.raises(ValidationError) as not_json:
        relay.message(client.session_id, "echo", float("nan"))
    assert not_json.value.status is None  # refused before anything was sent
    assert "data" in not_json.value.error


def test_oversized_message_is_payload_too_large(relay, connect):
    (client,) = connect(1)
    with pytest.raises(PayloadTooLarge) as raised:
        relay.message(client.session_id, "echo", "x" * 40_000)
    assert raised.value.status == 413
    assert "32768" in raised.value.error


def test_bad_or_missing_key_is_unauthorized(local_stack):
    with SessionRelay(local_stack.rest_url, "sr_not_a_key") as wrong, pytest.raises(Unauthorized) as bad:
        wrong.list_sessions()
    assert bad.value.status == 401
    assert bad.value.error == "invalid API key"
    with SessionRelay(local_stack.rest_url) as anonymous, pytest.raises(Unauthorized) as missing:
        anonymous.get_session("anything")
    assert "missing API key" in missing.value.error


def test_unreachable_api_is_a_transport_error():
    with SessionRelay("http://127.0.0.1:9", "sr_key") as nowhere, pytest.raises(TransportError) as raised:
        nowhere.health()
    assert raised.value.status is None
    assert "127.0.0.1:9" in raised.value.error


def test_message_many_over_1000_ids_is_chunked_and_merged_in_request_order(
    local_stack, connect, recording_transport
):
    first, second, last = (client.session_id for client in connect(3))
    unknown = [f"unknown-{index}" for index in range(1400)]
    ids = [*unknown[:500], first, *unknown[500:1000], second, *unknown[1000:], last]
    transport = recording_transport
    done: list[int] = []
    with SessionRelay(local_stack.rest_url, local_stack.api_key, transport=transport) as relay:
        result = relay.message_many(ids, "echo", {"hi": 1}, timeout=20, progress=done.append)

    assert [entry.session_id for entry in result.responses] == ids
    by_id = {entry.session_id: entry for entry in result.responses}
    for sid in (first, second, last):
        assert by_id[sid].processed is True
        assert by_id[sid].response == {"hi": 1}
    assert all(by_id[sid].reason == "session not found" for sid in unknown)
    summary = result.summary()
    assert (summary.requested, summary.processed) == (1403, 3)
    assert summary.reasons == {"session not found": 1400}

    sent = [json.loads(request.content)["session_ids"] for request in transport.requests]
    assert [len(chunk) for chunk in sent] == [1000, 403]
    assert [sid for chunk in sent for sid in chunk] == ids
    assert sorted(done) == [403, 1000]


def test_disconnect_many_over_1000_ids(relay, connect, eventually):
    clients = connect(3)
    real = [client.session_id for client in clients]
    unknown = [f"gone-{index}" for index in range(1100)]
    ids = [real[0], *unknown[:999], real[1], *unknown[999:], real[2]]

    result = relay.disconnect_many(ids)

    assert result.disconnected == real
    assert result.not_disconnected == unknown
    for sid in real:
        with pytest.raises(SessionNotFound):
            relay.get_session(sid)
    for client in clients:
        assert eventually(client.closed.is_set)
        assert any(frame.get("type") == "disconnect" for frame in client.received)


def test_duplicates_beyond_one_request_are_refused_before_sending(local_stack, recording_transport):
    transport = recording_transport
    ids = [f"id-{index}" for index in range(1000)] + ["id-7"]
    relay = SessionRelay(local_stack.rest_url, local_stack.api_key, transport=transport)
    with relay, pytest.raises(ValidationError) as raised:
        relay.message_many(ids, "echo")
    assert "duplicate" in raised.value.error
    assert transport.requests == []


def test_single_disconnect_closes_the_session(relay, connect):
    (client,) = connect(1)
    relay.disconnect(client.session_id)
    with pytest.raises(SessionNotFound):
        relay.get_session(client.session_id)
