"""The event Lambda gives a function for a batch of DynamoDB stream records, what its answer means, and
the record Lambda sends to the on-failure destination.

Event shape: "Using AWS Lambda with Amazon DynamoDB" (example event),
https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html : ``eventID``, ``eventName`` (INSERT, MODIFY,
REMOVE), ``eventVersion``, ``eventSource`` ``aws:dynamodb``, ``awsRegion``, ``dynamodb`` (``Keys``,
``NewImage``, ``OldImage`` as the view type gives them, ``SequenceNumber``, ``SizeBytes``,
``StreamViewType``, ``ApproximateCreationDateTime`` in epoch seconds), ``eventSourceARN``, and for a TTL
delete ``userIdentity`` (``{"type": "Service", "principalId": "dynamodb.amazonaws.com"}``). Attribute
values keep DynamoDB's typed JSON; binary values are base64 text, as in any JSON event.

Partial batch responses: "Configuring partial batch response with DynamoDB and Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html : the
``itemIdentifier`` is a record's sequence number; the lowest one named is the checkpoint, from which
Lambda retries; an empty or null identifier, or one naming no record of the batch, fails the batch.

On-failure record: "Retaining discarded records for a DynamoDB event source in Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html : ``requestContext``
(``requestId``, ``functionArn``, ``condition``, ``approximateInvokeCount``), ``responseContext``,
``version`` ``1.0``, ``timestamp``, and ``DDBStreamBatchInfo`` (``shardId``, first and last sequence
numbers, the first and last records' arrival in whole seconds, ``batchSize``, ``streamArn``); the records
themselves are not included.
"""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from session_relay_tools.local.mappings.sqs_events import WholeBatchFailed

_STREAM_FIELDS = (
    "ApproximateCreationDateTime",
    "Keys",
    "NewImage",
    "OldImage",
    "SequenceNumber",
    "SizeBytes",
)
ACCOUNT = "000000000000"  # the local stack's account, as in its functions' ARNs


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [_json_value(item) for item in value]
    return value


def created_at_s(record: dict[str, Any]) -> float:
    """When the change was made, in epoch seconds."""
    created = record["dynamodb"].get("ApproximateCreationDateTime")
    return created.timestamp() if isinstance(created, datetime) else float(created or 0)


def stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One ``GetRecords`` record as a record of Lambda's DynamoDB event."""
    change = record["dynamodb"]
    dynamodb = {name: _json_value(change[name]) for name in _STREAM_FIELDS if name in change}
    dynamodb["ApproximateCreationDateTime"] = float(int(created_at_s(record)))
    dynamodb["StreamViewType"] = change.get("StreamViewType", "NEW_AND_OLD_IMAGES")
    shaped = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    identity = record.get("userIdentity")
    if identity:
        shaped["userIdentity"] = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
    return shaped


@dataclass(frozen=True, slots=True)
class Change:
    """One ``GetRecords`` record, shaped once as its record of Lambda's event: ``record`` (read here,
    never handed to a function), ``text`` (its JSON: what its share of the payload weighs, and what
    each invocation's event is parsed from, so every invocation gets objects of its own, as from
    Lambda's JSON payload) and ``created_s`` (when the change was made, epoch seconds, unrounded)."""

    record: dict[str, Any]
    text: str
    created_s: float

    @property
    def sequence_number(self) -> str:
        return self.record["dynamodb"]["SequenceNumber"]


def shaped_change(record: dict[str, Any], stream_arn: str, region: str) -> Change:
    shaped = stream_record(record, stream_arn, region)
    return Change(shaped, json.dumps(shaped), created_at_s(record))


def stream_event(changes: list[Change]) -> dict[str, Any]:
    """Lambda's event for a batch of ``changes``, new objects at each call."""
    return json.loads('{"Records": [' + ", ".join(change.text for change in changes) + "]}")


def checkpoint(answer: Any, sequence_numbers: list[str]) -> int | None:
    """Index in the batch from which a ``ReportBatchItemFailures`` answer asks for a retry (``None``: the
    batch succeeded); ``WholeBatchFailed`` when the answer fails the whole batch."""
    if answer is None or answer == {} or answer == "":
        return None
    failures = answer.get("batchItemFailures") if isinstance(answer, dict) else "not a batch response"
    if failures is None or failures == []:
        return None
    if not isinstance(failures, list):
        raise WholeBatchFailed("batchItemFailures is not a list")
    indexes = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in sequence_numbers:
            raise WholeBatchFailed(f"itemIdentifier {identifier!r} is not a record of the batch")
        indexes.append(sequence_numbers.index(identifier))
    return min(indexes)


def _arrival(record: dict[str, Any]) -> str:
    return datetime.fromtimestamp(created_at_s(record), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    records: list[dict[str, Any]],
    shard_id: str,
    stream_arn: str,
    function: str,
    region: str,
    condition: str,
    invokes: int,
) -> dict[str, Any]:
    """What Lambda sends to the on-failure destination for discarded ``records`` (GetRecords records, or
    their records of Lambda's event)."""
    now = datetime.now(UTC)
    document: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function}",
            "condition": condition,
            "approximateInvokeCount": invokes,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _arrival(records[0]),
            "approximateArrivalOfLastRecord": _arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }
    if invokes == 0:  # discarded before any invocation (too old): there is no response to describe
        del document["responseContext"]
    return document
