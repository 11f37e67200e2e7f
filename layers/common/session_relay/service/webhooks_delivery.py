"""One delivery of owner events to a webhook's URL (PROTOCOL.md section 5): a signed JSON ``POST``, or
for ``"format": "discord"`` Discord messages of up to 10 embeds. A ``2xx`` within 10 seconds is a
delivery; anything else is an ``Outcome`` with the reason, which the caller retries (the ``webhooks``
function leaves the batch on its queue). Standard library only: no pydantic, no FastAPI.
"""

import functools
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from session_relay.clock import epoch_s
from session_relay.service.webhooks_rules import loopback_allowed
from session_relay.store.webhooks import WebhookRecord
from session_relay.webhook_signing import SIGNATURE_HEADER, signature_header

TIMEOUT_S = 10.0
USER_AGENT = "Session-Relay-Webhooks/1.0"
# Execute Webhook takes at most 10 embeds a message (Discord's OpenAPI, ExecuteWebhookRequest.embeds
# maxItems 10: https://discord.com/developers/docs/resources/webhook#execute-webhook), all of a
# message's embeds 6,000 characters at most: one of ours is under 600 (identity fields are at most 128
# characters each), so 10 fit.
DISCORD_EMBEDS = 10
# Discord's 429 names how long to wait in ``retry_after`` (seconds): waited here when short, else the
# delivery is retried after it. https://discord.com/developers/docs/topics/rate-limits
DISCORD_WAIT_MAX_S = 5.0
_ERROR_TEXT = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one delivery did: ``delivered`` (a 2xx), the endpoint's last status (None: not reached),
    the milliseconds it took, why it failed, and how long the endpoint asked us to wait (Discord)."""

    delivered: bool
    status: int | None
    ms: int
    error: str | None = None
    retry_after_s: float | None = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery (it would turn the POST into a GET elsewhere)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    """Built at the first delivery, not at import: building it loads the CA certificates (about 30 ms),
    which every REST cold start would pay for a webhook it never posts."""
    return urllib.request.build_opener(_NoRedirects)


Post = Callable[[str, bytes, dict[str, str]], tuple[int | None, bytes, str | None]]


def private_address(url: str) -> str | None:
    """The address a webhook's host name resolves to when it is not a public one (loopback, private,
    link-local, reserved), else None: a host name must not lead into the function's own network. Only
    where loopback URLs are allowed (the local stack) is this not checked. (A name that resolves
    differently a moment later is not caught; nothing on that network is reached without TLS anyway.)"""
    if loopback_allowed():
        return None
    parts = urlsplit(url)
    try:
        found = socket.getaddrinfo(parts.hostname or "", parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None  # the POST itself reports the name that does not resolve
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global or ip.is_multicast:
            return str(ip)
    return None


def http_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, bytes, str | None]:
    """POST with a 10 s timeout: (status or None, the first bytes of the answer, error or None)."""
    inside = private_address(url)
    if inside is not None:
        return None, b"", f"the host resolves to a non-public address ({inside})"
    # The URL passed checked_url (https, or loopback http on the local stack): never file: or custom.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener().open(request, timeout=TIMEOUT_S) as answer:
            return answer.status, answer.read(4096), None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(4096) if exc.fp else b"", f"the endpoint answered {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, b"", f"could not reach the endpoint: {str(reason)[:_ERROR_TEXT]}"


def delivery_body(events: list[dict[str, Any]]) -> bytes:
    """The JSON body of a delivery: ``{"events": [...]}``, compact UTF-8."""
    return json.dumps({"events": events}, separators=(",", ":"), ensure_ascii=False).encode()


def deliver(webhook: WebhookRecord, events: list[dict[str, Any]], post: Post = http_post) -> Outcome:
    """Deliver these events (at most 100, one script's) to the webhook as it is now."""
    started = time.monotonic()
    if webhook.format == "discord":
        status, error, wait = _discord(webhook.url, events, post)
    else:
        body = delivery_body(events)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(webhook.secret, body, int(epoch_s())),
        }
        status, _, error = post(webhook.url, body, headers)
        wait = None
    ms = round((time.monotonic() - started) * 1000)
    delivered = status is not None and 200 <= status < 300
    if not delivered and error is None:
        error = f"the endpoint answered {status}"
    return Outcome(delivered, status, ms, None if delivered else error, wait)


def _discord(
    url: str, events: list[dict[str, Any]], post: Post
) -> tuple[int | None, str | None, float | None]:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    status: int | None = None
    for start in range(0, len(events), DISCORD_EMBEDS):
        body = json.dumps({"embeds": [_embed(event) for event in events[start : start + DISCORD_EMBEDS]]})
        for _ in range(2):  # once more after a short 429
            status, answer, error = post(url, body.encode(), headers)
            wait = _retry_after(answer) if status == 429 else None
            if wait is None or wait > DISCORD_WAIT_MAX_S:
                break
            time.sleep(wait)
        if status is None or not 200 <= status < 300:
            return status, error or f"the endpoint answered {status}", wait
    return status, None, None


def _retry_after(answer: bytes) -> float | None:
    try:
        value = json.loads(answer or b"{}").get("retry_after")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def _embed(event: dict[str, Any]) -> dict[str, Any]:
    """One event as a Discord embed: the type as title, the session's identity (or the data) as fields."""
    data = event.get("data") or {}
    fields = [
        {"name": name, "value": str(data[name])[:1024], "inline": True}
        for name in ("id", "user_key", "roblox_id", "place_id", "job_id", "reason")
        if isinstance(data, dict) and data.get(name) is not None
    ]
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(event["created_at"] / 1000))
    return {
        "title": event["type"],
        "description": f"script {event['script_id']}"[:4096],
        "timestamp": created,
        "fields": fields[:25],
        "footer": {"text": event["id"]},
    }
