"""A session's id is derived from its connection (``session_id_of``: the connection id and the time API
Gateway opened it, both in every event of the connection), so a frame reaching an execution environment
that has not seen its connection finds its session without reading the connection's mapping: a hello
or a ``functions`` frame is one UpdateItem. A session whose id was not derived so (created before ids
were, still connected across a deploy) is still found, through the mapping."""

import json
import re
import secrets

import pytest
from session_relay.contract import parse_identity
from session_relay.service.connections import session_id_of
from session_relay.websocket import events, frames, handshake
from session_relay.wire import dump_json
from support.events import connect_event, default_event, new_connection_id

OPENED_AT = 1770624500000  # the sample events' connectedAt
QUERY = {"user_key": "user-key-0001", "roblox_id": "10234711811", "place_id": "606849621", "job_id": "job-1"}


@pytest.fixture
def sent(sent_requests):
    """The DynamoDB operations sent from now on, in order."""
    return sent_requests()


def opened(script_id: str, connection_id: str, connected_at: int | None = OPENED_AT) -> dict:
    """The ``$connect`` event of a connection opened at ``connected_at`` (None: an event without it)."""
    event = connect_event(connection_id, script_id, **QUERY)
    _set_connected_at(event, connected_at)
    answer = handshake.connect(events.WebSocketEvent.parse(event))
    assert answer["statusCode"] == 200, answer
    return event


def frame(connection_id: str, document: dict, connected_at: int | None = OPENED_AT) -> events.WebSocketEvent:
    event = default_event(connection_id, dump_json(document))
    _set_connected_at(event, connected_at)
    return events.WebSocketEvent.parse(event)


def _set_connected_at(event: dict, connected_at: int | None) -> None:
    if connected_at is None:
        event["requestContext"].pop("connectedAt", None)
    else:
        event["requestContext"]["connectedAt"] = connected_at


def test_the_id_is_a_digest_of_the_connection_and_the_time_it_opened():
    first = session_id_of("L0SM9cOFvHcCIhw=", 1770624500000)

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert session_id_of("L0SM9cOFvHcCIhw=", 1770624500000) == first
    assert session_id_of("L0SM9cOFvHcCIhw=", 1770624500001) != first  # the same id handed out again
    assert session_id_of("L0SM9cOFvHcCIhx=", 1770624500000) != first
    assert session_id_of("L0SM9cOFvHcCIhw=", None) is None


def test_connect_stores_the_derived_id_and_a_hello_elsewhere_is_one_update(owner, relay_store, gateway, sent):
    connection_id = new_connection_id()
    opened(owner.script_id, connection_id, connected_at=1770624512345)
    session_id = session_id_of(connection_id, 1770624512345)
    assert relay_store.sessions.session_id_for_connection(connection_id) == session_id
    sent.clear()

    hello = frame(connection_id, {"action": "hello"}, 1770624512345)
    frames.handle_frame(hello, frames.Kept(), gateway=gateway)

    [answer] = gateway.frames_for(connection_id)
    assert answer["type"] == "hello"
    assert answer["session"]["id"] == session_id
    assert sent == ["UpdateItem"]


def test_a_functions_frame_in_an_environment_that_has_not_seen_the_connection_is_one_update(
    owner, relay_store, gateway, sent
):
    connection_id = new_connection_id()
    opened(owner.script_id, connection_id)
    sent.clear()

    declaration = frame(connection_id, {"action": "functions", "names": ["kick", "announce"]})
    frames.handle_frame(declaration, frames.Kept(), gateway=gateway)

    assert gateway.frames_for(connection_id) == [{"type": "functions", "count": 2}]
    assert sent == ["UpdateItem"]
    stored = relay_store.sessions.get(session_id_of(connection_id, OPENED_AT)).session
    assert stored.functions == ("announce", "kick")


def test_a_session_with_an_id_of_another_kind_is_found_through_the_mapping_then_kept(
    owner, relay_store, gateway, sent
):
    """As a connection opened by the code before derived ids, still connected after a deploy."""
    connection_id = new_connection_id()
    identity = parse_identity({"script_id": owner.script_id, **QUERY})
    older = relay_store.sessions.create(secrets.token_hex(16), identity, connection_id)
    kept = frames.Kept()
    sent.clear()

    for document in ({"action": "hello"}, {"action": "functions", "names": ["kick"]}):
        frames.handle_frame(frame(connection_id, document), kept, gateway=gateway)

    hello, declared = gateway.frames_for(connection_id)
    assert hello["type"] == "hello"
    assert hello["session"]["id"] == older.id
    assert declared == {"type": "functions", "count": 1}
    # The derived id's update is refused, the mapping names the session, which is updated; the next
    # frame in this environment goes straight to the kept id.
    assert sent == ["UpdateItem", "GetItem", "UpdateItem", "UpdateItem"]
    assert relay_store.sessions.get(older.id).session.functions == ("kick",)


def test_events_without_connected_at_get_a_random_id_found_through_the_mapping(owner, relay_store, gateway):
    connection_id = new_connection_id()
    opened(owner.script_id, connection_id, connected_at=None)
    session_id = relay_store.sessions.session_id_for_connection(connection_id)
    assert re.fullmatch(r"[0-9a-f]{32}", session_id)

    frames.handle_frame(frame(connection_id, {"action": "hello"}, None), frames.Kept(), gateway=gateway)

    [hello] = gateway.frames_for(connection_id)
    assert hello["session"]["id"] == session_id


def test_a_hello_on_a_connection_whose_session_is_gone_is_an_error_and_writes_nothing(
    owner, relay_store, gateway, aws, dynamodb
):
    connection_id = new_connection_id()
    opened(owner.script_id, connection_id)
    session_id = session_id_of(connection_id, OPENED_AT)
    relay_store.sessions.delete([relay_store.sessions.get(session_id)])

    frames.handle_frame(frame(connection_id, {"action": "hello"}), frames.Kept(), gateway=gateway)

    [error] = gateway.frames_for(connection_id)
    assert error == {"type": "error", "error": "this connection has no session"}
    assert dynamodb.scan(TableName=aws["SESSIONS_TABLE"], ConsistentRead=True)["Items"] == []


@pytest.mark.parametrize("value", ["1770624500000", 1770624500000.5, True])
def test_an_event_whose_connected_at_is_not_an_integer_is_refused(value):
    event = default_event(new_connection_id(), json.dumps({"action": "hello"}))
    event["requestContext"]["connectedAt"] = value

    with pytest.raises(events.InvalidEvent, match="connectedAt must be an integer"):
        events.WebSocketEvent.parse(event)
