"""Handlers behind the event source mapping tests: each does what its records ask.

An SQS message's body is JSON: ``sleep_s`` (sleep that long), ``raise`` (fail the invocation),
``fail_item`` (name this message in ``batchItemFailures``). A stream record fails its invocation when its
new image has a ``poison`` attribute, and is named in ``batchItemFailures`` when it has ``fail_item``.
Every event received, and how many invocations ran at once, is recorded per function in
``local.mapping_records``.
"""

import json
import time

from local import mapping_records


def sqs(event, context):
    mapping_records.enter(context.function_name, event)
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
        mapping_records.leave(context.function_name)


def stream(event, context):
    mapping_records.enter(context.function_name, event)
    try:
        if any("poison" in record["dynamodb"].get("NewImage", {}) for record in event["Records"]):
            raise RuntimeError("a poison record")
        failed = [
            r["dynamodb"]["SequenceNumber"]
            for r in event["Records"]
            if "fail_item" in r["dynamodb"].get("NewImage", {})
        ]
        return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}
    finally:
        mapping_records.leave(context.function_name)
