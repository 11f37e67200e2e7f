"""The broadcast work queue (SQS): planning, chunk and deadline messages, JSON bodies.

A message may be delayed by up to 900 seconds (15 minutes), which is how a chunk's deadline comes back
to a worker without any Lambda waiting for it:
https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/sqs/aws.sdk.kotlin.services.sqs.model/-send-message-request/delay-seconds.html
"""

import json
import math
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from session_relay.errors import ServiceUnavailable
from session_relay.settings import get_settings

MAX_DELAY_S = 900
# SendMessageBatch takes at most 10 messages a call ("SendMessageBatch", Amazon SQS API Reference):
# https://docs.aws.amazon.com/goto/SdkForKotlin/sqs-2012-11-05/SendMessageBatch
BATCH_LIMIT = 10
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=2, read_timeout=5)
_UNAVAILABLE = "the broadcast queue is unavailable, try again shortly"


class WorkQueue:
    """Sends broadcast work to one SQS queue."""

    def __init__(self, client: Any, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, body: dict[str, Any], delay_s: float = 0) -> None:
        """One message, delayed ``delay_s`` seconds (rounded up, at most ``MAX_DELAY_S``)."""
        delay = min(MAX_DELAY_S, max(0, math.ceil(delay_s)))
        try:
            self.client.send_message(QueueUrl=self.url, MessageBody=json.dumps(body), DelaySeconds=delay)
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable(_UNAVAILABLE) from exc

    def send_many(self, bodies: list[dict[str, Any]], delay_s: float = 0) -> None:
        """Many messages, ten a call; entries SQS refused are sent again once."""
        delay = min(MAX_DELAY_S, max(0, math.ceil(delay_s)))
        for start in range(0, len(bodies), BATCH_LIMIT):
            entries = [
                {"Id": str(n), "MessageBody": json.dumps(body), "DelaySeconds": delay}
                for n, body in enumerate(bodies[start : start + BATCH_LIMIT])
            ]
            for _ in range(3):
                try:
                    answer = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
                except (ClientError, BotoCoreError) as exc:
                    raise ServiceUnavailable(_UNAVAILABLE) from exc
                failed = {entry["Id"] for entry in answer.get("Failed", [])}
                entries = [entry for entry in entries if entry["Id"] in failed]
                if not entries:
                    break
            else:
                raise ServiceUnavailable(_UNAVAILABLE)


@lru_cache(maxsize=1)
def get_queue() -> WorkQueue:
    """The container's work queue (cached; the URL comes from ``BROADCAST_QUEUE_URL``)."""
    url = get_settings().broadcast_queue_url
    if not url:
        raise RuntimeError("BROADCAST_QUEUE_URL is not set: broadcasts cannot be queued")
    # A queue outside AWS (the local stack's embedded SQS) is reached at the URL's own host.
    parts = urlsplit(url)
    endpoint = (
        None
        if parts.hostname and parts.hostname.endswith(".amazonaws.com")
        else f"{parts.scheme}://{parts.netloc}"
    )
    return WorkQueue(boto3.client("sqs", endpoint_url=endpoint, config=_CONFIG), url)
