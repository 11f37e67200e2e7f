"""The WebSocket side (PROTOCOL.md section 2): the $connect handshake, $disconnect, and the hello,
ping and not-understood frames on $default."""

import base64
import dataclasses
import time

import pytest
from session_relay import FRAME_LIMIT_BYTES, clock, store
from session_relay.store.sessions import Sessions
from session_relay.websocket import events, frames
from session_relay.websocket import handshake as routes
from session_relay.wire import dump_json
from support.events import connect_event, frame_event, load_event, new_connection_id

GOOD_QUERY = {
    "user_key": "user-key-0001",
    "roblox_id": "10234711811",
    "place_id": "606849621",
    "job_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
}


def handshake(script_id: str, connection_id: str | None = None, **query):
    event = connect_event(connection_id or new_connection_id(), script_id, **query)
    return routes.connect(events.WebSocketEvent.parse(event))


def stored_items(dynamodb, aws):
    sessions = dynamodb.scan(TableName=aws["SESSIONS_TABLE"], ConsistentRead=True)["Items"]
    connections = dynamodb.scan(TableName=aws["CONNECTIONS_TABLE"], ConsistentRead=True)["Items"]
    return sessions, connections


class ShiftedClock:
    """``time`` for the store, running ``offset_s`` ahead of the real clock."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def time(self) -> float:
        return time.time() + self.offset_s

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds)


# ------------------------------------------------------------------------------------------------
# $connect
# ------------------------------------------------------------------------------------------------


def test_connect_with_a_valid_identity_creates_the_session(owner, relay_store):
    connection_id = new_connection_id()

    answer = handshake(owner.script_id, connection_id)

    assert answer["statusCode"] == 200
    session_id = relay_store.sessions.session_id_for_connection(connection_id)
    record = relay_store.sessions.get(session_id)
    assert record.connection_id == connection_id
    session = record.session
    assert (session.script_id, session.user_key, session.job_id) == (
        owner.script_id,
        GOOD_QUERY["user_key"],
        GOOD_QUERY["job_id"],
    )
    assert (session.roblox_id, session.place_id) == (10234711811, 606849621)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("script_id", "s" * 128, id="script_id-128-chars"),
        pytest.param("user_key", "u" * 128, id="user_key-128-chars"),
        pytest.param("job_id", "j" * 128, id="job_id-128-chars"),
        pytest.param("roblox_id", "1", id="roblox_id-1"),
        pytest.param("roblox_id", str(2**63 - 1), id="roblox_id-2^63-1"),
        pytest.param("place_id", str(2**63 - 1), id="place_id-2^63-1"),
        pytest.param("user_key", "ключ 🔑", id="user_key-unicode"),
    ],
)
def test_connect_accepts_boundary_values(make_owner, relay_store, field, value):
    script_id = value if field == "script_id" else "script-alpha"
    make_owner(script_id)
    connection_id = new_connection_id()

    answer = handshake(script_id, connection_id, **({} if field == "script_id" else {field: value}))

    assert answer["statusCode"] == 200
    session = relay_store.sessions.get(relay_store.sessions.session_id_for_connection(connection_id)).session
    assert str(getattr(session, field)) == value


MALFORMED_QUERIES = [
    *[
        pytest.param({name: None}, name, id=f"{name}-missing")
        for name in ("user_key", "roblox_id", "place_id", "job_id")
    ],
    *[
        pytest.param({name: ""}, name, id=f"{name}-empty")
        for name in ("user_key", "job_id", "roblox_id", "place_id")
    ],
    *[pytest.param({name: "x" * 129}, name, id=f"{name}-129-chars") for name in ("user_key", "job_id")],
    *[
        pytest.param({"roblox_id": value}, "roblox_id", id=f"roblox_id-{label}")
        for label, value in [
            ("zero", "0"),
            ("negative", "-1"),
            ("exponent", "1e3"),
            ("trailing-letters", "12a"),
            ("2^63", str(2**63)),
            ("huge", "9" * 40),
            ("decimal", "1.0"),
            ("plus-sign", "+5"),
            ("space", " 12"),
            ("hex", "0x10"),
            ("fullwidth-digits", "\uff11\uff12"),
            ("arabic-digits", "١٢"),
        ]
    ],
    pytest.param({"place_id": "0"}, "place_id", id="place_id-zero"),
    pytest.param({"place_id": "-606849621"}, "place_id", id="place_id-negative"),
    pytest.param({"place_id": str(2**63)}, "place_id", id="place_id-2^63"),
]


@pytest.mark.parametrize(("query", "field"), MALFORMED_QUERIES)
def test_connect_with_a_malformed_field_is_refused_with_400(owner, dynamodb, aws, query, field):
    answer = handshake(owner.script_id, **query)

    assert answer["statusCode"] == 400
    assert field in answer["body"]
    assert stored_items(dynamodb, aws) == ([], [])


@pytest.mark.parametrize(
    "script_id",
    [pytest.param(None, id="missing"), pytest.param("", id="empty"), pytest.param("s" * 129, id="129-chars")],
)
def test_connect_with_a_malformed_script_id_is_refused_with_400(owner, dynamodb, aws, script_id):
    event = connect_event(new_connection_id(), script_id or "")
    if script_id is None:
        event["queryStringParameters"].pop("script_id")

    answer = routes.connect(events.WebSocketEvent.parse(event))

    assert answer["statusCode"] == 400
    assert "script_id" in answer["body"]
    assert stored_items(dynamodb, aws) == ([], [])


def test_connect_without_any_query_string_is_400(owner, dynamodb, aws):
    event = connect_event(new_connection_id(), owner.script_id)
    event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None

    assert routes.connect(events.WebSocketEvent.parse(event))["statusCode"] == 400
    assert stored_items(dynamodb, aws) == ([], [])


def test_connect_for_an_unknown_script_is_403(owner, dynamodb, aws):
    answer = handshake("script-nobody-registered")

    assert answer["statusCode"] == 403
    assert stored_items(dynamodb, aws) == ([], [])


def test_connect_for_a_disabled_script_is_403(make_owner, relay_store, dynamodb, aws):
    owner = make_owner("script-off", enabled=False)

    assert handshake(owner.script_id)["statusCode"] == 403
    assert stored_items(dynamodb, aws) == ([], [])

    relay_store.auth.set_script_enabled(owner.script_id, True)
    assert handshake(owner.script_id)["statusCode"] == 200


def test_connect_checks_fields_before_the_script(dynamodb, aws):
    # An unknown script with a malformed field: the field is what is wrong first.
    assert handshake("script-nobody-registered", roblox_id="abc")["statusCode"] == 400


# ------------------------------------------------------------------------------------------------
# $disconnect
# ------------------------------------------------------------------------------------------------


def test_disconnect_removes_the_session_and_its_pending_messages(owner, connect, relay_store, dynamodb, aws):
    staying = connect(owner.script_id)
    leaving = connect(owner.script_id)
    record = relay_store.sessions.get(leaving.session_id)
    relay_store.messages.put(record, "pending-one", clock.now_ms() + 60_000)
    relay_store.messages.put(record, "pending-two", clock.now_ms() + 60_000)

    assert leaving.hang_up()["statusCode"] == 200

    assert relay_store.sessions.get(leaving.session_id) is None
    assert relay_store.sessions.session_id_for_connection(leaving.connection_id) is None
    assert relay_store.messages.read(leaving.connection_id, "pending-one") == (False, None)
    sessions, connections = stored_items(dynamodb, aws)
    assert [item["id"]["S"] for item in sessions] == [staying.session_id]
    assert {item["connection_id"]["S"] for item in connections} == {staying.connection_id}


def test_disconnect_of_an_unknown_connection_is_harmless(owner, connect, relay_store):
    session = connect(owner.script_id)
    event = frame_event(new_connection_id(), "")

    assert routes.disconnect(event)["statusCode"] == 200
    assert relay_store.sessions.get(session.session_id) is not None


# ------------------------------------------------------------------------------------------------
# hello and ping
# ------------------------------------------------------------------------------------------------


def test_hello_answers_with_the_session_object(owner, connect, client):
    session = connect(owner.script_id)

    answer = session.send_frame({"action": "hello"})

    assert answer["statusCode"] == 200
    [frame] = session.received
    assert set(frame) == {"type", "session"}
    assert frame["type"] == "hello"
    listed = client.get(f"/sessions/{session.session_id}", headers=owner.headers).json()["session"]
    assert frame["session"] == listed
    assert frame["session"]["id"] == session.session_id


def test_ping_reaching_the_function_gets_pong_and_writes_nothing(owner, connect, client, monkeypatch):
    # In AWS the ping route answers in API Gateway; a ping that reaches $default anyway is answered
    # the same way, without touching DynamoDB (last_seen_at counts frames that reach the functions).
    session = connect(owner.script_id)
    created = client.get(f"/sessions/{session.session_id}", headers=owner.headers).json()["session"]
    monkeypatch.setattr(clock, "now_ms", lambda: created["created_at"] + 90_000)
    monkeypatch.setattr(Sessions, "touch", lambda *_: pytest.fail("a ping must not write"))

    session.send_frame({"action": "ping"})

    assert session.received == [{"type": "pong"}]
    after = client.get(f"/sessions/{session.session_id}", headers=owner.headers).json()["session"]
    assert after == created


def test_silent_session_stays_listed_until_the_connection_limit(owner, connect, client, monkeypatch):
    # Pings never reach the functions, so a client that only pings looks silent: its session must
    # stay live for its connection's whole life (API Gateway's 2-hour cap).
    clock = ShiftedClock()
    monkeypatch.setattr("session_relay.clock.time", clock)
    session = connect(owner.script_id)

    clock.offset_s = 119 * 60

    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 200
    session.send_frame({"action": "hello"})
    assert session.received[-1]["type"] == "hello", session.received[-1]


def test_session_ends_after_the_two_hour_connection_limit_even_with_pings(
    owner, connect, client, monkeypatch
):
    clock = ShiftedClock()
    monkeypatch.setattr("session_relay.clock.time", clock)
    session = connect(owner.script_id)

    for minutes in range(5, 126, 5):
        clock.offset_s = minutes * 60
        session.send_frame({"action": "ping"})

    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 404
    session.send_frame({"action": "hello"})
    assert session.received[-1]["type"] == "error"


def test_session_whose_disconnect_was_lost_stops_being_listed_after_the_limit(
    owner, connect, client, monkeypatch
):
    clock = ShiftedClock()
    monkeypatch.setattr("session_relay.clock.time", clock)
    session = connect(owner.script_id)

    clock.offset_s = store.SESSION_MAX_S + 1  # 2 hours and a minute: API Gateway closed it long ago

    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 404
    assert client.get("/sessions", headers=owner.headers).json()["sessions"] == []
    session.send_frame({"action": "hello"})  # too late: the session is not resurrected
    assert client.get(f"/sessions/{session.session_id}", headers=owner.headers).status_code == 404


def test_hello_on_a_connection_without_session_is_an_error_frame(gateway):
    connection_id = new_connection_id()

    hello = frame_event(connection_id, dump_json({"action": "hello"}))
    frames.handle_frame(hello, frames.Kept(), gateway=gateway)

    [frame] = gateway.frames_for(connection_id)
    assert frame["type"] == "error"
    assert frame["error"]


def test_base64_encoded_frame_is_decoded(owner, connect, gateway):
    session = connect(owner.script_id)
    event = frame_event(session.connection_id, base64.b64encode(b'{"action":"ping"}').decode())
    event = dataclasses.replace(event, is_base64_encoded=True)

    frames.handle_frame(event, frames.Kept(), gateway=gateway)

    assert session.received == [{"type": "pong"}]


# ------------------------------------------------------------------------------------------------
# Frames the server does not understand
# ------------------------------------------------------------------------------------------------

NOT_UNDERSTOOD = [
    pytest.param('{"action":"dance"}', id="unknown-action"),
    pytest.param('{"action":"HELLO"}', id="action-wrong-case"),
    pytest.param("{}", id="no-action"),
    pytest.param('{"action":5}', id="action-number"),
    pytest.param('{"action":null}', id="action-null"),
    pytest.param("{", id="invalid-json"),
    pytest.param("", id="empty"),
    pytest.param("hello", id="plain-text"),
    pytest.param('{"action":"ping","n":NaN}', id="nan-literal"),
    pytest.param("[]", id="array"),
    pytest.param('["hello"]', id="array-of-action"),
    pytest.param("5", id="number"),
    pytest.param('"hello"', id="string"),
    pytest.param("null", id="null"),
    pytest.param(dump_json({"action": "ping", "pad": "x" * FRAME_LIMIT_BYTES}), id="over-32768-bytes"),
]


@pytest.mark.parametrize("body", NOT_UNDERSTOOD)
def test_frame_not_understood_gets_an_error_frame_and_the_connection_stays(owner, connect, body):
    session = connect(owner.script_id)

    answer = session.send(body)

    assert answer["statusCode"] == 200
    [frame] = session.received
    assert set(frame) == {"type", "error"}
    assert frame["type"] == "error"
    assert isinstance(frame["error"], str)
    assert frame["error"]
    session.send_frame({"action": "ping"})
    assert session.received[-1] == {"type": "pong"}


def test_invalid_base64_frame_gets_an_error_frame(owner, connect, gateway):
    session = connect(owner.script_id)
    event = frame_event(session.connection_id, "%%% not base64 %%%")
    event = dataclasses.replace(event, is_base64_encoded=True)

    frames.handle_frame(event, frames.Kept(), gateway=gateway)

    assert [frame["type"] for frame in session.received] == ["error"]


@pytest.mark.parametrize("body", ["{", '{"action":"dance"}', "[]"])
def test_any_frame_reaching_the_function_refreshes_last_seen_at(owner, connect, client, monkeypatch, body):
    session = connect(owner.script_id)
    created_at = client.get(f"/sessions/{session.session_id}", headers=owner.headers).json()["session"][
        "created_at"
    ]
    monkeypatch.setattr(clock, "now_ms", lambda: created_at + 30_000)

    session.send(body)

    got = client.get(f"/sessions/{session.session_id}", headers=owner.headers).json()["session"]
    assert got["last_seen_at"] == created_at + 30_000


def test_answers_go_to_the_stage_of_the_event_without_management_url(owner, connect, gateway, monkeypatch):
    session = connect(owner.script_id)
    monkeypatch.delenv("MANAGEMENT_API_URL")
    from session_relay import settings

    settings.get_settings.cache_clear()
    gateway.urls.clear()

    frames.handle_frame(frame_event(session.connection_id, '{"action":"ping"}'), frames.Kept())

    assert gateway.urls == ["https://w3bs0ck3t1.execute-api.us-east-1.amazonaws.com/prod"]
    assert session.received == [{"type": "pong"}]


# ------------------------------------------------------------------------------------------------
# The event itself (checked without pydantic)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["connect", "default_hello", "default_ping", "default_reply", "disconnect"])
def test_every_sample_event_parses_to_what_it_carries(name):
    event = load_event(f"websocket/{name}", connection_id="c-1=", script_id="script-1", message_id="m-1")

    parsed = events.WebSocketEvent.parse(event)

    context = event["requestContext"]
    assert parsed.connection_id == context["connectionId"] == "c-1="
    assert parsed.request_context.route_key == context["routeKey"]
    assert parsed.request_context.request_time_epoch == context.get("requestTimeEpoch")
    assert (parsed.query, parsed.body) == (event.get("queryStringParameters"), event.get("body"))
    assert parsed.is_base64_encoded is event.get("isBase64Encoded", False)


def _broken(change):
    event = load_event("websocket/default_ping", connection_id="c-1=")
    change(event)
    return event


@pytest.mark.parametrize(
    ("event", "named"),
    [
        pytest.param([], "requestContext", id="not-an-object"),
        pytest.param(_broken(lambda e: e.pop("requestContext")), "requestContext", id="no-context"),
        pytest.param(_broken(lambda e: e["requestContext"].pop("connectionId")), "connectionId", id="no-id"),
        pytest.param(
            _broken(lambda e: e["requestContext"].update(connectionId="")), "connectionId", id="empty-id"
        ),
        pytest.param(_broken(lambda e: e["requestContext"].update(stage=5)), "stage", id="stage-number"),
        pytest.param(
            _broken(lambda e: e["requestContext"].update(requestTimeEpoch="1")),
            "requestTimeEpoch",
            id="epoch-text",
        ),
        pytest.param(_broken(lambda e: e.update(body=b"{}")), "body", id="body-bytes"),
        pytest.param(_broken(lambda e: e.update(isBase64Encoded="false")), "isBase64Encoded", id="flag-text"),
        pytest.param(
            _broken(lambda e: e.update(queryStringParameters={"a": 1})),
            "queryStringParameters",
            id="query-number",
        ),
    ],
)
def test_an_event_of_the_wrong_shape_is_refused_naming_the_part(event, named):
    with pytest.raises(events.InvalidEvent, match=named):
        events.WebSocketEvent.parse(event)
