"""The webhooks repository (auth table, PROTOCOL.md section 5): one item per script,
``pk`` -> ``webhook#<script id>`` (URL, events, format, signing secret, the last delivery's outcome),
and the last error of each event that could not be delivered, ``webhook-error#<event id>`` (kept as
long as the dead-letter queue keeps the event, then removed by TTL)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from session_relay.store.table import Table, batch_write

# SQS keeps a message at most 14 days (MessageRetentionPeriod, 1,209,600 s); an error record lives a day
# longer so that a failure listed from the dead-letter queue always finds it. "CreateQueue",
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
ERROR_TTL_S = 15 * 24 * 3600


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    script_id: str
    url: str
    events: tuple[str, ...]
    format: str
    secret: str
    created_at: int
    # The last delivery (or test): its HTTP status (None: not reached), error, epoch ms.
    last_status: int | None = None
    last_error: str | None = None
    last_delivery_at: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryError:
    error: str
    status: int | None
    at: int


def webhook_key(script_id: str) -> dict[str, Any]:
    return {"pk": f"webhook#{script_id}"}


def error_key(event_id: str) -> dict[str, Any]:
    return {"pk": f"webhook-error#{event_id}"}


def webhook_from_item(item: dict[str, Any]) -> WebhookRecord:
    return WebhookRecord(
        script_id=item["script_id"],
        url=item["url"],
        events=tuple(item["events"]),
        format=item["format"],
        secret=item["secret"],
        created_at=item["created_at"],
        last_status=item.get("last_status"),
        last_error=item.get("last_error"),
        last_delivery_at=item.get("last_delivery_at"),
    )


class Webhooks:
    """Webhooks and delivery errors (table ``auth``)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, script_id: str) -> WebhookRecord | None:
        item = self.table.get(webhook_key(script_id))
        return None if item is None else webhook_from_item(item)

    def get_many(self, script_ids: Iterable[str]) -> dict[str, WebhookRecord]:
        """The webhooks of these scripts that exist (one BatchGetItem per 100 scripts)."""
        keys = [webhook_key(script_id) for script_id in sorted(set(script_ids))]
        return {item["script_id"]: webhook_from_item(item) for item in self.table.batch_get(keys)}

    def put(self, webhook: WebhookRecord) -> None:
        """Create or replace a script's webhook (the last delivery's outcome is kept when present)."""
        item = {
            **webhook_key(webhook.script_id),
            "kind": "webhook",
            "script_id": webhook.script_id,
            "url": webhook.url,
            "events": list(webhook.events),
            "format": webhook.format,
            "secret": webhook.secret,
            "created_at": webhook.created_at,
        }
        for name in ("last_status", "last_error", "last_delivery_at"):
            if getattr(webhook, name) is not None:
                item[name] = getattr(webhook, name)
        self.table.put(item)

    def delete(self, script_id: str) -> bool:
        """Remove a script's webhook; False when it had none."""
        return self.table.conditional("delete_item", webhook_key(script_id), "attribute_exists(pk)").applied

    def set_secret(self, script_id: str, secret: str) -> bool:
        """Replace the signing secret; False when the script has no webhook."""
        return self.table.conditional(
            "update_item",
            webhook_key(script_id),
            "attribute_exists(pk)",
            update="SET secret = :secret",
            values={":secret": secret},
        ).applied

    def record_delivery(self, script_id: str, status: int | None, error: str | None, at_ms: int) -> None:
        """Note a delivery's outcome on the webhook (nothing when the webhook was deleted meanwhile)."""
        self.table.conditional(
            "update_item",
            webhook_key(script_id),
            "attribute_exists(pk)",
            update="SET last_status = :status, last_error = :error, last_delivery_at = :at",
            values={":status": status, ":error": error, ":at": at_ms},
        )

    def record_errors(self, event_ids: Iterable[str], error: DeliveryError) -> None:
        """Keep the last error of each of these events (25 a BatchWriteItem)."""
        expires = error.at // 1000 + ERROR_TTL_S
        requests = [
            self.table.put_request(
                {
                    **error_key(event_id),
                    "kind": "webhook-error",
                    "error": error.error,
                    "status": error.status,
                    "at": error.at,
                    "expires_at": expires,
                }
            )
            for event_id in event_ids
        ]
        if requests:
            batch_write(self.table.client, requests)

    def errors(self, event_ids: Iterable[str]) -> dict[str, DeliveryError]:
        """The last error recorded for each of these events that has one."""
        keys = [error_key(event_id) for event_id in dict.fromkeys(event_ids)]
        found = {}
        for item in self.table.batch_get(keys) if keys else []:
            found[item["pk"].split("#", 1)[1]] = DeliveryError(item["error"], item.get("status"), item["at"])
        return found

    def forget_errors(self, event_ids: Iterable[str]) -> None:
        requests = [self.table.delete_request(error_key(event_id)) for event_id in event_ids]
        if requests:
            batch_write(self.table.client, requests)
