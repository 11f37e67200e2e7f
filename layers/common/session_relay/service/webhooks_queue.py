"""The webhook queues (PROTOCOL.md section 5): the FIFO queue the ``events`` function fills (one message
per script and stream batch, its events in order; message group = the script), and its dead-letter
queue, which is the failures list.

The queues' URLs come from ``WEBHOOK_QUEUE_URL`` and ``WEBHOOK_DLQ_URL`` (the template sets them); the SQS
endpoint is boto3's own (``AWS_ENDPOINT_URL_SQS`` on the local stack).
"""

import hashlib
import json
import os
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from session_relay.errors import ServiceUnavailable

SQS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=10)
# "ReceiveMessage": at most 10 messages a call.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
RECEIVE_MAX = 10
# A scan of the dead-letter queue holds what it received this long (seconds), then lets it go at once.
SCAN_HOLD_S = 30
SCAN_RECEIVES = 20
UNAVAILABLE = "the webhook queue is unavailable; nothing was changed"


@dataclass(frozen=True, slots=True)
class QueueUrls:
    queue: str
    dead_letters: str


@lru_cache(maxsize=1)
def queue_urls() -> QueueUrls:
    """The two queues' URLs, read once; a deployment without them cannot deliver webhooks."""
    queue, dead = os.environ.get("WEBHOOK_QUEUE_URL"), os.environ.get("WEBHOOK_DLQ_URL")
    if not queue or not dead:
        raise ServiceUnavailable("webhooks are not configured on this deployment (no webhook queue)")
    return QueueUrls(queue, dead)


@lru_cache(maxsize=1)
def sqs_client() -> Any:
    return boto3.client("sqs", config=SQS_CONFIG)


def deduplication_id(events: list[dict[str, Any]]) -> str:
    """The same events give the same id, so a retried stream batch is dropped by the FIFO queue within
    its 5-minute deduplication interval ("Exactly-once processing in Amazon SQS",
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-exactly-once-processing.html)."""
    return hashlib.sha256("|".join(event["id"] for event in events).encode()).hexdigest()


def enqueue(script_id: str, events: list[dict[str, Any]], dedup_suffix: str = "") -> None:
    """One message for one script's events, in the script's message group (order kept per script)."""
    body = json.dumps({"script_id": script_id, "events": events}, separators=(",", ":"))
    _call(
        "send_message",
        QueueUrl=queue_urls().queue,
        MessageBody=body,
        MessageGroupId=script_id,
        MessageDeduplicationId=deduplication_id(events) + dedup_suffix,
    )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    receipt: str
    script_id: str
    events: list[dict[str, Any]]


def scan_dead_letters(script_id: str) -> tuple[list[DeadLetter], list[str]]:
    """This script's messages on the dead-letter queue, oldest first, and the receipts of every
    message the scan holds (``release`` them). A FIFO queue returns no more of a group while some of
    it is held, so one scan sees at most ``SCAN_RECEIVES`` x 10 messages."""
    mine: list[DeadLetter] = []
    held: list[str] = []
    for _ in range(SCAN_RECEIVES):
        answer = _call(
            "receive_message",
            QueueUrl=queue_urls().dead_letters,
            MaxNumberOfMessages=RECEIVE_MAX,
            VisibilityTimeout=SCAN_HOLD_S,
            WaitTimeSeconds=0,
            AttributeNames=["MessageGroupId"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            held.append(message["ReceiptHandle"])
            body = json.loads(message["Body"])
            if body.get("script_id") == script_id:
                mine.append(DeadLetter(message["ReceiptHandle"], script_id, body.get("events", [])))
    return mine, held


def release(receipts: list[str]) -> None:
    """Make held dead letters visible again at once (10 a call)."""
    for start in range(0, len(receipts), RECEIVE_MAX):
        entries = [
            {"Id": str(number), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
            for number, receipt in enumerate(receipts[start : start + RECEIVE_MAX])
        ]
        with suppress(BotoCoreError, ClientError):  # else they come back by themselves after SCAN_HOLD_S
            sqs_client().change_message_visibility_batch(QueueUrl=queue_urls().dead_letters, Entries=entries)


def forget_dead_letter(receipt: str) -> None:
    _call("delete_message", QueueUrl=queue_urls().dead_letters, ReceiptHandle=receipt)


def _call(operation: str, **request: Any) -> Any:
    try:
        return getattr(sqs_client(), operation)(**request)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable(UNAVAILABLE) from exc
