"""Handlers behind the event source mapping tests: each does what its records ask.

An SQS message's body is JSON: ``sleep_s`` (sleep that long), ``raise`` (fail the invocation),
``fail_item`` (name this message in ``batchItemFailures``). A stream record fails its invocation when its
new image has a ``poison`` attribute. Every event received is kept in ``EVENTS``, in arrival order, and
``PEAK`` holds the most invocations that ran at once.
"""

import json
import threading
import time

EVENTS: list[dict] = []
PEAK = [0]
_running = [0]
_lock = threading.Lock()


def _enter(event: dict) -> None:
    with _lock:
        EVENTS.append(event)
        _running[0] += 1
        PEAK[0] = max(PEAK[0], _running[0])


def _leave() -> None:
    with _lock:
        _running[0] -= 1


def sqs(event, context):
    _enter(event)
    try:
        asks = [json.loads(record["body"]) for record in event["Records"]]
        time.sleep(max((ask.get("sleep_s", 0) for ask in asks), default=0))
        if any(ask.get("raise") for ask in asks):
            raise RuntimeError("asked to fail")
        failed = [
            r["messageId"] for r, ask in zip(event["Records"], asks, strict=True) if ask.get("fail_item")
        ]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
    finally:
        _leave()


def stream(event, context):
    _enter(event)
    try:
        if any("poison" in record["dynamodb"].get("NewImage", {}) for record in event["Records"]):
            raise RuntimeError("a poison record")
    finally:
        _leave()
