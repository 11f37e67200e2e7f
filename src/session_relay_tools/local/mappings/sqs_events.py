"""The event Lambda gives a function for a batch of SQS messages, and what its answer means.

Event shape: "Using Lambda with Amazon SQS" (example standard and FIFO queue message events),
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html : each record has ``messageId``,
``receiptHandle``, ``body``, ``attributes`` (``ApproximateReceiveCount``, ``SentTimestamp``, ``SenderId``,
``ApproximateFirstReceiveTimestamp``, and on a FIFO queue ``SequenceNumber``, ``MessageGroupId``,
``MessageDeduplicationId``), ``messageAttributes`` (``stringValue``/``binaryValue``, ``dataType``),
``md5OfBody``, ``eventSource`` ``aws:sqs``, ``eventSourceARN`` and ``awsRegion``.

Partial batch responses: "Handling errors for an SQS event source in Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html . With
``ReportBatchItemFailures`` on, ``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}`` names the
messages to keep; an empty or null list, or an empty or null answer, is complete success; an
identifier that is empty, null, under another key, or not a message of the batch makes the whole batch
a failure. Without ``ReportBatchItemFailures`` the answer is not read.
"""

import base64
from typing import Any

# The system attributes Lambda passes on, in the record's ``attributes``.
_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


class WholeBatchFailed(Exception):
    """The function's answer makes the whole batch a failure."""


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS ``ReceiveMessage`` message as a record of Lambda's SQS event."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {name: attributes[name] for name in _SYSTEM_ATTRIBUTES if name in attributes},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return shaped


def failed_message_ids(answer: Any, message_ids: list[str]) -> set[str]:
    """The messages a ``ReportBatchItemFailures`` answer keeps on the queue (empty: all succeeded);
    ``WholeBatchFailed`` when the answer fails the whole batch."""
    if answer is None or answer == {} or answer == "":
        return set()
    if not isinstance(answer, dict):
        raise WholeBatchFailed(f"the answer is not a batch response: {type(answer).__name__}")
    failures = answer.get("batchItemFailures")
    if failures is None or failures == []:
        return set()
    if not isinstance(failures, list):
        raise WholeBatchFailed("batchItemFailures is not a list")
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            raise WholeBatchFailed(f"itemIdentifier {identifier!r} is not a message of the batch")
        failed.add(identifier)
    return failed
