"""API Gateway events, built from the samples under ``events/`` (as ``sam local invoke`` sends them)."""

import base64
import json
import secrets
from typing import Any

from session_relay.websocket import events as websocket_events

from support.environment import REPO_ROOT

EVENTS_DIR = REPO_ROOT / "events"


def load_event(name: str, **values: Any) -> dict[str, Any]:
    """The event ``events/<name>.json`` with every ``{{placeholder}}`` replaced by ``values``."""
    text = (EVENTS_DIR / f"{name}.json").read_text()
    for placeholder, value in values.items():
        text = text.replace("{{" + placeholder + "}}", str(value))
    if "{{" in text:
        raise AssertionError(f"event {name} still has placeholders: give them as keyword arguments")
    return json.loads(text)


def new_connection_id() -> str:
    # API Gateway connection ids look like "L0SM9cOFvHcCIhw=".
    return secrets.token_urlsafe(10)[:14] + "="


# ------------------------------------------------------------------------------------------------
# WebSocket API
# ------------------------------------------------------------------------------------------------


def connect_event(connection_id: str, script_id: str, **query: str | None) -> dict[str, Any]:
    """The ``$connect`` sample event with query fields overridden (None removes one)."""
    event = load_event("websocket/connect", connection_id=connection_id, script_id=script_id)
    parameters = dict(event["queryStringParameters"])
    for name, value in query.items():
        if value is None:
            parameters.pop(name, None)
        else:
            parameters[name] = value
    event["queryStringParameters"] = parameters or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in parameters.items()} or None
    return event


def default_event(connection_id: str, body: str) -> dict[str, Any]:
    """A ``$default`` event carrying ``body`` as a client frame on ``connection_id``."""
    event = load_event("websocket/default_ping", connection_id=connection_id)
    event["requestContext"]["requestId"] = secrets.token_hex(8)
    event["body"] = body
    return event


def frame_event(connection_id: str, body: str) -> websocket_events.WebSocketEvent:
    """``default_event``, parsed as the ``$default`` handler parses it."""
    return websocket_events.WebSocketEvent.parse(default_event(connection_id, body))


def disconnect_event(connection_id: str) -> dict[str, Any]:
    return load_event("websocket/disconnect", connection_id=connection_id)


# ------------------------------------------------------------------------------------------------
# REST API (proxy integration)
# ------------------------------------------------------------------------------------------------


def rest_event(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    content: str | bytes | None = None,
    arrival_ms: int | None = None,
) -> dict[str, Any]:
    """A REST proxy event for ``method path``, built from ``events/rest/get_session.json``: its
    CloudFront headers and ``headers``, the query ``params``, the body ``content`` (JSON), and the
    request's arrival at API Gateway (``requestTimeEpoch``, the sample's own unless given)."""
    event = load_event("rest/get_session", api_key="unused", session_id="unused")
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{path}"
    event["requestContext"]["requestId"] = secrets.token_hex(8)
    if arrival_ms is not None:
        event["requestContext"]["requestTimeEpoch"] = arrival_ms
    sent = {k: v for k, v in event["headers"].items() if k not in ("Authorization", "Content-Type")}
    if content is not None:
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    event["headers"] = sent
    event["multiValueHeaders"] = {k: [v] for k, v in sent.items()}
    event["queryStringParameters"] = params or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()} if params else None
    if isinstance(content, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(content).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = content, False
    return event
