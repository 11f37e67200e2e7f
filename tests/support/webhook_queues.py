"""The webhook queues (a FIFO queue and its FIFO dead-letter queue) on the SQS of the current backend
(moto in unit tests), made the way template.yaml makes them, and the environment the functions read."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
from session_relay.service import webhooks_queue

MAX_RECEIVES = 3  # unit tests: a few receives; the template's own value is checked in tests/template


@dataclass(frozen=True)
class WebhookQueues:
    client: Any
    queue: str
    dead_letters: str

    def messages(self, url: str) -> list[dict[str, Any]]:
        """Every message body on a queue (received, then made visible again)."""
        found, held = [], []
        for _ in range(20):
            answer = self.client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
            if not answer.get("Messages"):
                break
            for message in answer["Messages"]:
                found.append(json.loads(message["Body"]))
                held.append(message["ReceiptHandle"])
        for receipt in held:
            self.client.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
        return found


def make_queues(session: Any, monkeypatch: pytest.MonkeyPatch, prefix: str) -> WebhookQueues:
    client = session.client("sqs")
    dead = client.create_queue(QueueName=f"{prefix}webhook-failures.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVES})
    queue = client.create_queue(
        QueueName=f"{prefix}webhooks.fifo",
        Attributes={"FifoQueue": "true", "RedrivePolicy": redrive, "VisibilityTimeout": "30"},
    )["QueueUrl"]
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue)
    monkeypatch.setenv("WEBHOOK_DLQ_URL", dead)
    webhooks_queue.queue_urls.cache_clear()
    webhooks_queue.sqs_client.cache_clear()
    return WebhookQueues(client, queue, dead)


def drop_queues(queues: WebhookQueues) -> None:
    for url in (queues.queue, queues.dead_letters):
        queues.client.delete_queue(QueueUrl=url)
    webhooks_queue.queue_urls.cache_clear()
    webhooks_queue.sqs_client.cache_clear()
