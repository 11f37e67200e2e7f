"""The four Lambda entry points (functions/*/app.py) driven by the sample events in events/:
API Gateway in, API Gateway's answer out, as deployed."""

import json

from session_relay.contract import REASON_NO_RESPONSE
from support.events import load_event, new_connection_id
from support.functions import LambdaContext


def rest_event(name, owner, *sessions):
    values = {"api_key": owner.api_key}
    for placeholder, session in zip(("session_id", "session_id_2"), sessions, strict=False):
        values[placeholder] = session.session_id
    if name == "list_sessions":
        values["script_id"] = owner.script_id
    return load_event(f"rest/{name}", **values)


def body_of(event):
    return json.loads(event["body"])


# ------------------------------------------------------------------------------------------------
# REST (Mangum)
# ------------------------------------------------------------------------------------------------


def test_health_event_answers_200_as_api_gateway_expects(function_handlers, lambda_context):
    answer = function_handlers["rest_api"](load_event("rest/health"), lambda_context)

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"success": True}
    assert answer["headers"]["content-type"] == "application/json"
    assert answer["isBase64Encoded"] is False


def test_list_sessions_event_lists_the_owners_sessions(client, owner, connect):
    session = connect(owner.script_id)

    answer = client.invoke(rest_event("list_sessions", owner))

    assert answer.status_code == 200
    assert [s["id"] for s in answer.json()["sessions"]] == [session.session_id]


def test_get_session_event_returns_the_session(client, owner, connect):
    session = connect(owner.script_id)

    answer = client.invoke(rest_event("get_session", owner, session))

    assert answer.status_code == 200
    assert answer.json()["session"]["id"] == session.session_id


def test_get_session_event_with_the_wrong_key_is_401(client, owner, connect, failure):
    session = connect(owner.script_id)
    event = rest_event("get_session", owner, session)
    event["headers"]["Authorization"] = event["multiValueHeaders"]["Authorization"][0] = "Bearer sr_wrong"

    failure(client.invoke(event), 401)


def test_message_session_event_returns_the_clients_answer(client, owner, connect):
    session = connect(owner.script_id)
    event = rest_event("message_session", owner, session)

    answer = client.invoke(event)

    assert answer.status_code == 200
    assert answer.json() == {"success": True, "processed": True, "response": body_of(event)["data"]}
    assert session.received[0]["key"] == body_of(event)["key"]


def test_message_many_event_answers_each_session_in_order(client, owner, connect):
    first, second = connect(owner.script_id), connect(owner.script_id)

    answer = client.invoke(rest_event("message_many", owner, first, second))

    assert [entry["session_id"] for entry in answer.json()["responses"]] == [
        first.session_id,
        second.session_id,
    ]
    assert all(
        entry["processed"] is True and entry["response"] == ["hello"] for entry in answer.json()["responses"]
    )


def test_disconnect_session_event_closes_the_connection(client, owner, connect, gateway):
    session = connect(owner.script_id)

    answer = client.invoke(rest_event("disconnect_session", owner, session))

    assert answer.status_code == 200
    assert answer.json() == {"success": True}
    assert gateway.closed == [session.connection_id]


def test_disconnect_many_event_disconnects_both_sessions(client, owner, connect, gateway):
    first, second = connect(owner.script_id), connect(owner.script_id)

    answer = client.invoke(rest_event("disconnect_many", owner, first, second))

    assert answer.json() == {"success": True, "disconnected": [first.session_id, second.session_id]}
    assert gateway.closed == [first.connection_id, second.connection_id]


def test_message_answers_before_the_lambda_runs_out_of_time(client, owner, connect, virtual_clock):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None  # never answers
    event = rest_event("message_session", owner, session)
    assert body_of(event)["timeout"] >= 5
    context = LambdaContext(remaining_ms=1_800, clock=virtual_clock.monotonic)  # runs on virtual time

    started = virtual_clock.now_us
    answer = client.invoke(event, context)
    answered_after_s = virtual_clock.since(started)

    assert answer.json() == {"success": True, "processed": False, "reason": REASON_NO_RESPONSE}
    assert answered_after_s < 1.8  # virtual seconds
    assert context.get_remaining_time_in_millis() > 0


def test_message_with_almost_no_time_left_does_not_wait(client, owner, connect, virtual_clock):
    session = connect(owner.script_id)
    session.behaviour = lambda frame: None
    context = LambdaContext(remaining_ms=900, clock=virtual_clock.monotonic)

    started = virtual_clock.now_us
    answer = client.invoke(rest_event("message_session", owner, session), context)
    answered_after_s = virtual_clock.since(started)

    assert answer.json()["reason"] == REASON_NO_RESPONSE
    assert answered_after_s < 0.9  # virtual seconds
    assert session.received == []  # nothing is sent that could not be waited for


# ------------------------------------------------------------------------------------------------
# WebSocket
# ------------------------------------------------------------------------------------------------


def ws_context(name):
    return LambdaContext(function_name=f"session-relay-{name}", remaining_ms=10_000)


def test_connect_event_creates_a_session(function_handlers, owner, relay_store):
    connection_id = new_connection_id()
    event = load_event("websocket/connect", connection_id=connection_id, script_id=owner.script_id)

    answer = function_handlers["ws_connect"](event, ws_context("ws_connect"))

    assert answer["statusCode"] == 200
    session_id = relay_store.sessions.session_id_for_connection(connection_id)
    session = relay_store.sessions.get(session_id).session
    assert session.roblox_id == int(event["queryStringParameters"]["roblox_id"])


def test_connect_event_for_an_unknown_script_is_refused(function_handlers, relay_store):
    connection_id = new_connection_id()
    event = load_event("websocket/connect", connection_id=connection_id, script_id="script-unknown")

    assert function_handlers["ws_connect"](event, ws_context("ws_connect"))["statusCode"] == 403
    assert relay_store.sessions.session_id_for_connection(connection_id) is None


def test_default_hello_event_answers_hello_with_the_session(function_handlers, owner, connect):
    session = connect(owner.script_id)

    answer = function_handlers["ws_default"](
        load_event("websocket/default_hello", connection_id=session.connection_id), ws_context("ws_default")
    )

    assert answer["statusCode"] == 200
    assert session.received[-1]["type"] == "hello"
    assert session.received[-1]["session"]["id"] == session.session_id


def test_default_ping_event_answers_pong(function_handlers, owner, connect):
    session = connect(owner.script_id)

    function_handlers["ws_default"](
        load_event("websocket/default_ping", connection_id=session.connection_id), ws_context("ws_default")
    )

    assert session.received == [{"type": "pong"}]


def test_default_reply_event_answers_the_waiting_caller(function_handlers, client, owner, connect):
    session = connect(owner.script_id)
    sent = []

    def reply_through_the_lambda(frame):
        event = load_event(
            "websocket/default_reply", connection_id=session.connection_id, message_id=frame["id"]
        )
        sent.append(json.loads(event["body"]))
        function_handlers["ws_default"](event, ws_context("ws_default"))

    session.behaviour = reply_through_the_lambda

    answer = client.invoke(rest_event("message_session", owner, session))

    assert answer.json() == {"success": True, "processed": True, "response": sent[0]["response"]}


def test_disconnect_event_removes_the_session(function_handlers, client, owner, connect, failure):
    session = connect(owner.script_id)

    answer = function_handlers["ws_disconnect"](
        load_event("websocket/disconnect", connection_id=session.connection_id), ws_context("ws_disconnect")
    )

    assert answer["statusCode"] == 200
    failure(client.get(f"/sessions/{session.session_id}", headers=owner.headers), 404)
