"""Small handlers of the local-limit tests: they do only what a test asks of them in the request."""

import json
import time


def _asked(event: dict) -> dict:
    try:
        return json.loads(event.get("body") or "{}")
    except ValueError:
        return {}


def rest(event, context):
    """Sleeps ``sleep_s``, then answers a body of ``quotes`` double quotes (each escaped as two bytes)."""
    asked = _asked(event)
    time.sleep(asked.get("sleep_s", 0))
    body = '"' * asked.get("quotes", 0) or "ok"
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": body}


def websocket(event, context):
    time.sleep(_asked(event).get("sleep_s", 0))
    return {"statusCode": 200}
