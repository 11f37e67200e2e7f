"""Owner webhooks (PROTOCOL.md section 5): checking a delivery's signature (``verify_webhook``), the
models of the webhook routes' answers, and their calls for the sync and async clients
(``WebhookMethods``, ``AsyncWebhookMethods``).

A receiver checks every delivery before trusting it::

    events = verify_webhook(secret, body, headers["Session-Relay-Signature"])
"""

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel

from session_relay_client.calls import Call, model_of

SIGNATURE_HEADER = "Session-Relay-Signature"
EVENT_TYPES = ("session.connected", "session.disconnected", "broadcast.done")

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "AsyncWebhookMethods",
    "InvalidSignature",
    "LastDelivery",
    "Webhook",
    "WebhookFailure",
    "WebhookFailures",
    "WebhookMethods",
    "WebhookTest",
    "verify_webhook",
]


class InvalidSignature(ValueError):
    """A delivery whose ``Session-Relay-Signature`` is missing, malformed, wrong or too old."""


def verify_webhook(
    secret: str, body: bytes | str, header: str | None, tolerance_s: float = 300, now: float | None = None
) -> list[dict[str, Any]]:
    """Check a delivery and return its events; raise ``InvalidSignature`` saying why it is refused.

    ``secret`` is the webhook's secret exactly as shown (``whsec_...``), ``body`` the raw request body
    (bytes as received: re-encoding parsed JSON would change them), ``header`` the
    ``Session-Relay-Signature`` value. A timestamp more than ``tolerance_s`` seconds from ``now``
    (default: the clock) is refused, so a captured delivery cannot be replayed later. The HMAC is
    compared in constant time."""
    raw = body.encode() if isinstance(body, str) else body
    if not header:
        raise InvalidSignature(f"no {SIGNATURE_HEADER} header")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not given:
        raise InvalidSignature(
            f"{SIGNATURE_HEADER} must read t=<unix seconds>,v1=<hex> (got {header[:80]!r})"
        )
    age = abs((time.time() if now is None else now) - int(stamp))
    if age > tolerance_s:
        raise InvalidSignature(f"the timestamp is {age:.0f} s away from now (more than {tolerance_s:g} s)")
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise InvalidSignature("the signature does not match this body and secret")
    try:
        return list(json.loads(raw)["events"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSignature('the body is not a delivery ({"events": [...]})') from exc


class LastDelivery(BaseModel):
    status: int | None
    error: str | None
    at: int


class Webhook(BaseModel):
    """A script's webhook; ``secret`` only when just created or rotated."""

    url: str
    events: list[str]
    format: Literal["json", "discord"]
    created_at: int
    last_delivery: LastDelivery | None = None
    secret: str | None = None


class WebhookTest(BaseModel):
    """What one ``webhook.test`` delivery did: ``status`` None when the endpoint was not reached."""

    delivered: bool
    status: int | None
    ms: int
    error: str | None


class WebhookFailure(BaseModel):
    event: dict[str, Any]
    last_error: dict[str, Any] | None


class WebhookFailures(BaseModel):
    failures: list[WebhookFailure]
    next_cursor: str | None


def _path(script_id: str, tail: str = "") -> str:
    return f"/scripts/{quote(script_id, safe='')}/webhook{tail}"


def _webhook(answer: dict[str, Any]) -> Webhook:
    return model_of(Webhook, answer.get("webhook"))


def set_call(script_id: str, url: str, events: list[str] | None, fmt: str | None) -> Call[Webhook]:
    body: dict[str, Any] = {"url": url}
    if events is not None:
        body["events"] = list(events)
    if fmt is not None:
        body["format"] = fmt
    return Call("PUT", _path(script_id), _webhook, body=body)


def failures_call(script_id: str, limit: int | None, cursor: str | None) -> Call[WebhookFailures]:
    params = {name: str(value) for name, value in (("limit", limit), ("cursor", cursor)) if value is not None}
    return Call("GET", _path(script_id, "/failures"), lambda a: model_of(WebhookFailures, a), params=params)


def _calls(script_id: str) -> dict[str, Call[Any]]:
    return {
        "get": Call("GET", _path(script_id), _webhook),
        "delete": Call("DELETE", _path(script_id), lambda _: None),
        "rotate": Call("POST", _path(script_id, "/rotate-secret"), _webhook),
        "test": Call("POST", _path(script_id, "/test"), lambda a: model_of(WebhookTest, a)),
        "replay": Call("POST", _path(script_id, "/failures/replay"), lambda a: int(a.get("replayed", 0))),
    }


class WebhookMethods:
    """The webhook routes on ``SessionRelay`` (scope ``manage``); each raises as every call does."""

    _run: Callable[[Call[Any]], Any]  # the client's

    def set_webhook(
        self, script_id: str, url: str, *, events: list[str] | None = None, format: str | None = None
    ) -> Webhook:
        """Create (the answer shows the secret, once) or update (the secret is kept) a script's webhook."""
        return self._run(set_call(script_id, url, events, format))

    def get_webhook(self, script_id: str) -> Webhook:
        return self._run(_calls(script_id)["get"])

    def delete_webhook(self, script_id: str) -> None:
        self._run(_calls(script_id)["delete"])

    def rotate_webhook_secret(self, script_id: str) -> Webhook:
        """A new signing secret, shown in the answer (the old one stops signing)."""
        return self._run(_calls(script_id)["rotate"])

    def test_webhook(self, script_id: str) -> WebhookTest:
        """Deliver one ``webhook.test`` event now and say what the endpoint did."""
        return self._run(_calls(script_id)["test"])

    def webhook_failures(
        self, script_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> WebhookFailures:
        return self._run(failures_call(script_id, limit, cursor))

    def replay_webhook_failures(self, script_id: str) -> int:
        """Deliver the failures again; the number of events sent back to the queue."""
        return self._run(_calls(script_id)["replay"])


class AsyncWebhookMethods:
    """The webhook routes on ``AsyncSessionRelay``."""

    _run: Callable[[Call[Any]], Awaitable[Any]]  # the client's

    async def set_webhook(
        self, script_id: str, url: str, *, events: list[str] | None = None, format: str | None = None
    ) -> Webhook:
        return await self._run(set_call(script_id, url, events, format))

    async def get_webhook(self, script_id: str) -> Webhook:
        return await self._run(_calls(script_id)["get"])

    async def delete_webhook(self, script_id: str) -> None:
        await self._run(_calls(script_id)["delete"])

    async def rotate_webhook_secret(self, script_id: str) -> Webhook:
        return await self._run(_calls(script_id)["rotate"])

    async def test_webhook(self, script_id: str) -> WebhookTest:
        return await self._run(_calls(script_id)["test"])

    async def webhook_failures(
        self, script_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> WebhookFailures:
        return await self._run(failures_call(script_id, limit, cursor))

    async def replay_webhook_failures(self, script_id: str) -> int:
        return await self._run(_calls(script_id)["replay"])
