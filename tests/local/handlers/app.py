"""Small handlers of the local-limit tests: they do only what a test asks of them in the request."""

import json
import time

# (route key, connection id) of every WebSocket invocation that ran to its end, in order.
WEBSOCKET_CALLS: list[tuple[str, str]] = []


def _asked(event: dict) -> dict:
    try:
        return json.loads(event.get("body") or "{}")
    except ValueError:
        return {}


def rest(event, context):
    """Sleeps ``sleep_s``, then answers a body of ``quotes`` double quotes (each escaped as two bytes),
    or with ``echo_path`` the event's ``path`` and ``pathParameters`` as JSON."""
    asked = _asked(event)
    time.sleep(asked.get("sleep_s", 0))
    if asked.get("echo_path"):
        body = json.dumps({"path": event["path"], "pathParameters": event["pathParameters"]})
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}
    body = '"' * asked.get("quotes", 0) or "ok"
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": body}


def websocket(event, context):
    """Every WebSocket route: sleeps ``sleep_s`` (the frame's, or ``$connect``'s query string's), then
    records the call in ``WEBSOCKET_CALLS``."""
    query = event.get("queryStringParameters") or {}
    time.sleep(float(query.get("sleep_s", 0)) or _asked(event).get("sleep_s", 0))
    request = event.get("requestContext") or {}
    WEBSOCKET_CALLS.append((request.get("routeKey"), request.get("connectionId")))
    return {"statusCode": 200}
