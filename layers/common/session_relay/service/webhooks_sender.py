"""The ``webhooks`` function's work (PROTOCOL.md section 5): each message of the FIFO queue is one
delivery (one script's events, at most 100). A failed delivery stays on the queue: its visibility
timeout becomes the next backoff (``backoff_s``), and once the queue's ``maxReceiveCount`` is reached SQS
moves it to the dead-letter queue, the failures list. Within a script (a message group) order holds:
after a failure, that script's later messages in the batch are not tried and are reported failed too,
as Lambda asks of FIFO partial batch responses ("Handling errors for an SQS event source in Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
"""

import json
import math
import os
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_relay.clock import now_ms
from session_relay.errors import ServiceUnavailable
from session_relay.observability import count, logger
from session_relay.service import webhooks_queue as queue
from session_relay.service.pool import run_all
from session_relay.service.webhooks_delivery import Outcome, deliver
from session_relay.store import Store
from session_relay.store.webhooks import DeliveryError, WebhookRecord

# Backoff after the n-th failed receive: 60 s doubling, capped at 15 minutes. With the queue's
# maxReceiveCount of 10 (template.yaml, WebhookQueue) a delivery is retried for
# 60+120+240+480+900x6 = 6,300 s (1 h 45 min) before it becomes a failure. The cap is far below SQS's
# 12-hour maximum visibility timeout ("ChangeMessageVisibility",
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
# WEBHOOK_BACKOFF_FIRST_S / _MAX_S change them (end-to-end tests shorten them; nothing on AWS sets them).
BACKOFF_FIRST_S = int(os.environ.get("WEBHOOK_BACKOFF_FIRST_S") or 60)
BACKOFF_MAX_S = int(os.environ.get("WEBHOOK_BACKOFF_MAX_S") or 900)
GROUP_WORKERS = 10  # a FIFO batch holds at most 10 messages


def backoff_s(receive_count: int, retry_after_s: float | None = None) -> int:
    """The visibility timeout after the ``receive_count``-th failed attempt (at least what the endpoint
    asked for with ``retry_after``)."""
    wait = min(BACKOFF_FIRST_S * 2 ** max(receive_count - 1, 0), BACKOFF_MAX_S)
    return max(wait, math.ceil(retry_after_s or 0))


Deliver = Callable[[WebhookRecord, list[dict[str, Any]]], Outcome]


class Sender:
    """Delivers a batch of the webhook queue's messages; answers Lambda's partial batch response."""

    def __init__(self, store: Store, send: Deliver = deliver) -> None:
        self.store = store
        self.send = send

    def handle(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            groups.setdefault(_body(record)["script_id"], []).append(record)
        try:
            hooks = self.store.webhooks.get_many(groups)
        except ServiceUnavailable:  # nothing was tried: the whole batch comes back later
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
        failed = run_all(
            lambda script: self._group(hooks.get(script), groups[script]), list(groups), GROUP_WORKERS
        )
        return {"batchItemFailures": [{"itemIdentifier": mid} for ids in failed for mid in ids]}

    def _group(self, hook: WebhookRecord | None, records: list[dict[str, Any]]) -> list[str]:
        """Deliver one script's messages in order; the ids of those not delivered."""
        for position, record in enumerate(records):
            if not self._one(hook, record):
                return [r["messageId"] for r in records[position:]]
        return []

    def _one(self, hook: WebhookRecord | None, record: dict[str, Any]) -> bool:
        events = _body(record)["events"]
        wanted = [] if hook is None else [event for event in events if event["type"] in hook.events]
        if not wanted:  # the webhook was deleted or unsubscribed meanwhile: nothing is owed
            return True
        outcome = self.send(hook, wanted)
        with suppress(ServiceUnavailable):  # the delivery's outcome matters more than its note
            self.store.webhooks.record_delivery(hook.script_id, outcome.status, outcome.error, now_ms())
        if outcome.delivered:
            count("WebhookEventsDelivered", len(wanted))
            return True
        count("WebhookDeliveriesFailed")
        logger.warning("webhook delivery failed", extra={"script_id": hook.script_id, "error": outcome.error})
        with suppress(ServiceUnavailable):
            error = DeliveryError(outcome.error or "not delivered", outcome.status, now_ms())
            self.store.webhooks.record_errors([event["id"] for event in wanted], error)
        received = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        _delay(record, backoff_s(received, outcome.retry_after_s))
        return False


def _body(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(record["body"])


def _delay(record: dict[str, Any], seconds: int) -> None:
    """Keep a failed message invisible for ``seconds`` (its backoff); if that fails, the queue's own
    visibility timeout applies."""
    with suppress(BotoCoreError, ClientError, ServiceUnavailable):
        queue.sqs_client().change_message_visibility(
            QueueUrl=queue.queue_urls().queue,
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=seconds,
        )
