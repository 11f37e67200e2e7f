"""Small handlers of the local-limit tests: they do only what a test asks of them in the request."""

import asyncio
import json
import logging
import time
import uuid

from local import mapping_records

# Set when an execution environment loads this module: each has its own.
ENVIRONMENT = uuid.uuid4().hex
INVOCATIONS = 0  # this environment's invocations so far
RUNNING = 0  # this environment's invocations running now


def _asked(event: dict) -> dict:
    try:
        return json.loads(event.get("body") or "{}")
    except ValueError:
        return {}


def rest(event, context):
    """Sleeps ``sleep_s``, then answers a body of ``quotes`` double quotes (each escaped as two bytes),
    or with ``echo_path`` the event's ``path`` and ``pathParameters`` as JSON, or with ``count`` what
    this module counted: its environment, its invocations, the most that ran in it at once, and which
    event loop the invocation found (as Mangum looks for it)."""
    global INVOCATIONS, RUNNING
    INVOCATIONS += 1
    RUNNING += 1
    try:
        most = RUNNING
        asked = _asked(event)
        time.sleep(asked.get("sleep_s", 0))
        most = max(most, RUNNING)
    finally:
        RUNNING -= 1
    if asked.get("count"):
        logging.getLogger("local.handlers").info("counted")  # a line of this invocation's
        counted = {"environment": ENVIRONMENT, "invocations": INVOCATIONS, "at_once": most}
        body = json.dumps({**counted, "loop": id(asyncio.get_event_loop())})
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}
    if asked.get("echo_path"):
        body = json.dumps({"path": event["path"], "pathParameters": event["pathParameters"]})
        return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body}
    body = '"' * asked.get("quotes", 0) or "ok"
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": body}


def websocket(event, context):
    """Every WebSocket route: sleeps ``sleep_s`` (the frame's, or ``$connect``'s query string's), then
    records the call in ``mapping_records.WEBSOCKET_CALLS``."""
    query = event.get("queryStringParameters") or {}
    time.sleep(float(query.get("sleep_s", 0)) or _asked(event).get("sleep_s", 0))
    request = event.get("requestContext") or {}
    mapping_records.WEBSOCKET_CALLS.append((request.get("routeKey"), request.get("connectionId")))
    return {"statusCode": 200}
