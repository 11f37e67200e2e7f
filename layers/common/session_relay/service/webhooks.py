"""Owner webhooks for the REST API (PROTOCOL.md section 5; scope ``manage``): set, show, delete, rotate
the secret, send a test event, list and replay the failures. A script the key does not cover is a
``404``, exactly like a script without a webhook's ``GET``.
"""

import base64
import binascii
import json
import secrets
from dataclasses import dataclass, replace
from typing import Any

from session_relay.clock import now_ms
from session_relay.errors import NotFound, ValidationFailed
from session_relay.service import webhooks_queue as queue
from session_relay.service.access import Principal
from session_relay.service.webhooks_delivery import Outcome, deliver
from session_relay.store import Store, get_store
from session_relay.store.webhooks import WebhookRecord
from session_relay.webhook_signing import EVENT_PREFIX, new_secret

NO_WEBHOOK = "webhook not found"
NO_SCRIPT = "script not found"
MAX_FAILURES_PAGE = 1000
DEFAULT_FAILURES_PAGE = 100


@dataclass(frozen=True, slots=True)
class WebhookShown:
    """A webhook as its owner sees it; the secret only when just created or rotated."""

    webhook: WebhookRecord
    with_secret: bool = False
    status = 200

    def body(self) -> dict[str, Any]:
        hook = self.webhook
        shown: dict[str, Any] = {
            "url": hook.url,
            "events": list(hook.events),
            "format": hook.format,
            "created_at": hook.created_at,
            "last_delivery": None
            if hook.last_delivery_at is None
            else {"status": hook.last_status, "error": hook.last_error, "at": hook.last_delivery_at},
        }
        if self.with_secret:
            shown["secret"] = hook.secret
        return {"success": True, "webhook": shown}


@dataclass(frozen=True, slots=True)
class TestDelivered:
    outcome: Outcome
    status = 200

    def body(self) -> dict[str, Any]:
        out = self.outcome
        return {
            "success": True,
            "delivered": out.delivered,
            "status": out.status,
            "ms": out.ms,
            "error": out.error,
        }


@dataclass(frozen=True, slots=True)
class Failures:
    failures: list[dict[str, Any]]
    next_cursor: str | None
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "failures": self.failures, "next_cursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class Replayed:
    replayed: int
    status = 200

    def body(self) -> dict[str, Any]:
        return {"success": True, "replayed": self.replayed}


def owned_script(caller: Principal, script_id: str) -> str:
    if script_id not in caller.script_ids:
        raise NotFound(NO_SCRIPT)
    return script_id


class Webhooks:
    """A script's webhook, through one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _existing(self, caller: Principal, script_id: str) -> WebhookRecord:
        hook = self.store.webhooks.get(owned_script(caller, script_id))
        if hook is None:
            raise NotFound(NO_WEBHOOK)
        return hook

    def put(
        self, caller: Principal, script_id: str, url: str, events: tuple[str, ...], fmt: str
    ) -> WebhookShown:
        """Create (a new secret, shown) or update (the secret kept, not shown)."""
        old = self.store.webhooks.get(owned_script(caller, script_id))
        if old is None:
            hook = WebhookRecord(script_id, url, events, fmt, new_secret(), now_ms())
        else:
            hook = replace(old, url=url, events=events, format=fmt)
        self.store.webhooks.put(hook)
        return WebhookShown(hook, with_secret=old is None)

    def get(self, caller: Principal, script_id: str) -> WebhookShown:
        return WebhookShown(self._existing(caller, script_id))

    def delete(self, caller: Principal, script_id: str) -> None:
        if not self.store.webhooks.delete(owned_script(caller, script_id)):
            raise NotFound(NO_WEBHOOK)

    def rotate(self, caller: Principal, script_id: str) -> WebhookShown:
        hook = self._existing(caller, script_id)
        secret = new_secret()
        if not self.store.webhooks.set_secret(script_id, secret):
            raise NotFound(NO_WEBHOOK)
        return WebhookShown(replace(hook, secret=secret), with_secret=True)

    def test(self, caller: Principal, script_id: str) -> TestDelivered:
        """Deliver one ``webhook.test`` event now (not queued, not retried) and say what happened."""
        hook = self._existing(caller, script_id)
        event = {
            "id": EVENT_PREFIX + secrets.token_hex(16),
            "type": "webhook.test",
            "created_at": now_ms(),
            "script_id": script_id,
            "data": {},
        }
        outcome = deliver(hook, [event])
        self.store.webhooks.record_delivery(script_id, outcome.status, outcome.error, now_ms())
        return TestDelivered(outcome)

    def failures(self, caller: Principal, script_id: str, limit: int, cursor: str | None) -> Failures:
        """The events that could not be delivered, oldest first, each with its last error."""
        self._existing(caller, script_id)
        after = decode_failure_cursor(cursor)
        letters, held = queue.scan_dead_letters(script_id)
        queue.release(held)
        events = [event for letter in letters for event in letter.events]
        events.sort(key=lambda event: (event["created_at"], event["id"]))
        if after is not None:
            events = [event for event in events if (event["created_at"], event["id"]) > after]
        page = events[:limit]
        errors = self.store.webhooks.errors(event["id"] for event in page)
        listed = []
        for event in page:
            error = errors.get(event["id"])
            last = None if error is None else {"error": error.error, "status": error.status, "at": error.at}
            listed.append({"event": event, "last_error": last})
        more = len(events) > limit
        return Failures(listed, encode_failure_cursor(page[-1]) if more and page else None)

    def replay(self, caller: Principal, script_id: str) -> Replayed:
        """Send this script's failed events back to the delivery queue (receive, send, delete: SQS's own
        redrive, StartMessageMoveTask, moves a whole dead-letter queue, every owner's messages at once:
        https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html)."""
        self._existing(caller, script_id)
        letters, held = queue.scan_dead_letters(script_id)
        mine = {letter.receipt for letter in letters}
        try:
            replayed = 0
            for letter in letters:
                queue.enqueue(script_id, letter.events, dedup_suffix=f"-replay-{now_ms()}")
                queue.forget_dead_letter(letter.receipt)
                replayed += len(letter.events)
        finally:
            queue.release([receipt for receipt in held if receipt not in mine])
        return Replayed(replayed)


def get_webhooks() -> Webhooks:
    """The service on the container's store (not cached itself: the store is)."""
    return Webhooks(get_store())


def encode_failure_cursor(event: dict[str, Any]) -> str:
    raw = json.dumps([event["created_at"], event["id"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_failure_cursor(cursor: str | None) -> tuple[int, str] | None:
    """The position a cursor names; a cursor this API did not give is a 422."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, event_id = json.loads(raw)
        valid = (
            isinstance(created_at, int) and isinstance(event_id, str) and event_id.startswith(EVENT_PREFIX)
        )
    except (ValueError, TypeError, binascii.Error):
        valid = False
    if not valid or encode_failure_cursor({"created_at": created_at, "id": event_id}) != cursor:
        raise ValidationFailed("cursor: must be a next_cursor this route returned (got an unknown cursor)")
    return created_at, event_id
