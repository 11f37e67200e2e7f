"""The sample events under events/ have the shapes API Gateway sends (checked against Powertools'
own event models), one per route, with placeholders the tests fill in."""

import json
import re

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from support.events import EVENTS_DIR

REST_ROUTES = {
    "health": ("GET", "/health"),
    "dashboard": ("GET", "/dashboard"),
    "list_sessions": ("GET", "/sessions"),
    "get_session": ("GET", "/sessions/{{session_id}}"),
    "disconnect_session": ("POST", "/sessions/{{session_id}}/disconnect"),
    "message_session": ("POST", "/sessions/{{session_id}}/message"),
    "disconnect_many": ("POST", "/sessions/disconnect"),
    "message_many": ("POST", "/sessions/message"),
    "get_message": ("GET", "/messages/{{message_id}}"),
    "get_batch": ("GET", "/batches/{{batch_id}}"),
    "broadcast_message": ("POST", "/broadcasts/message"),
    "broadcast_disconnect": ("POST", "/broadcasts/disconnect"),
    "list_broadcasts": ("GET", "/broadcasts"),
    "get_broadcast": ("GET", "/broadcasts/{{broadcast_id}}"),
    "broadcast_responses": ("GET", "/broadcasts/{{broadcast_id}}/responses"),
    "cancel_broadcast": ("POST", "/broadcasts/{{broadcast_id}}/cancel"),
}
WEBSOCKET_EVENTS = {
    "connect": ("$connect", APIGatewayWebSocketConnectEventModel),
    "disconnect": ("$disconnect", APIGatewayWebSocketDisconnectEventModel),
    "default_hello": ("$default", APIGatewayWebSocketMessageEventModel),
    "default_ping": ("$default", APIGatewayWebSocketMessageEventModel),
    "default_reply": ("$default", APIGatewayWebSocketMessageEventModel),
}


def raw(name: str) -> dict:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def test_there_is_one_event_per_route_and_no_other():
    assert sorted(p.stem for p in (EVENTS_DIR / "rest").glob("*.json")) == sorted(REST_ROUTES)
    assert sorted(p.stem for p in (EVENTS_DIR / "websocket").glob("*.json")) == sorted(WEBSOCKET_EVENTS)


@pytest.mark.parametrize("name", sorted(REST_ROUTES))
def test_rest_event_is_a_rest_proxy_event_for_its_route(name):
    event = raw(f"rest/{name}")
    method, path = REST_ROUTES[name]

    parsed = APIGatewayProxyEventModel.model_validate(event)

    assert (parsed.httpMethod, parsed.path) == (method, path)
    assert parsed.requestContext.httpMethod == method
    assert parsed.requestContext.path == f"/{parsed.requestContext.stage}{path}"
    assert parsed.resource == "/{proxy+}"
    assert parsed.pathParameters == {"proxy": path.lstrip("/")}
    assert event["multiValueHeaders"] == {k: [v] for k, v in event["headers"].items()}
    if event["queryStringParameters"] is not None:
        assert event["multiValueQueryStringParameters"] == {
            k: [v] for k, v in event["queryStringParameters"].items()
        }
    assert ("Authorization" in event["headers"]) == (name not in ("health", "dashboard"))
    if method == "POST" and event["body"] is not None:
        assert isinstance(json.loads(event["body"]), dict)
        assert event["headers"]["Content-Type"] == "application/json"
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize("name", sorted(WEBSOCKET_EVENTS))
def test_websocket_event_matches_api_gateways_shape(name):
    event = raw(f"websocket/{name}")
    route_key, model = WEBSOCKET_EVENTS[name]

    parsed = model.model_validate(event)

    assert parsed.request_context.route_key == route_key
    assert event["requestContext"]["connectionId"] == "{{connection_id}}"
    assert ("messageId" in event["requestContext"]) == (route_key == "$default")


def test_connect_event_carries_the_five_identity_fields():
    query = raw("websocket/connect")["queryStringParameters"]

    assert set(query) == {"script_id", "user_key", "roblox_id", "place_id", "job_id"}
    assert all(isinstance(value, str) for value in query.values())


def test_disconnect_event_carries_status_and_reason():
    context = raw("websocket/disconnect")["requestContext"]

    assert isinstance(context["disconnectStatusCode"], int)
    assert isinstance(context["disconnectReason"], str)


@pytest.mark.parametrize("name", ["default_hello", "default_ping", "default_reply"])
def test_default_event_body_is_a_frame_with_an_action(name):
    frame = json.loads(raw(f"websocket/{name}")["body"])

    assert frame["action"] == name.removeprefix("default_")


def test_placeholders_are_the_documented_ones(events):
    found = set()
    for path in EVENTS_DIR.rglob("*.json"):
        found |= set(re.findall(r"\{\{(\w+)\}\}", path.read_text()))

    assert found == {
        "api_key",
        "session_id",
        "session_id_2",
        "script_id",
        "connection_id",
        "message_id",
        "batch_id",
        "broadcast_id",
    }
    with pytest.raises(AssertionError):
        events("rest/get_session", api_key="k")  # session_id left unfilled
