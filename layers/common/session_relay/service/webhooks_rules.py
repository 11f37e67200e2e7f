"""What a webhook may be (PROTOCOL.md section 5): its URL, events and format, each checked into the
contract's ``422`` sentence (``<field>: must be <what> (<what was wrong>)``).

A URL is ``https`` with a host name: no IP literal (a webhook must not reach into the deployment's own
network by address), no ``localhost``. The local stack sets ``WEBHOOK_LOOPBACK_URLS=allowed`` (nothing on
AWS sets it), and then ``http://127.0.0.1:<port>`` and ``http://localhost:<port>`` are accepted too.
"""

import ipaddress
import os
from urllib.parse import urlsplit

EVENT_TYPES = ("session.connected", "session.disconnected", "broadcast.done")
FORMATS = ("json", "discord")
MAX_URL_LENGTH = 2048
LOOPBACK_VARIABLE = "WEBHOOK_LOOPBACK_URLS"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")

URL_RULE = "url: must be an https URL with a host name (no IP address, no localhost)"
LOCAL_URL_RULE = (
    "url: must be an https URL with a host name (no IP address, no localhost), "
    "or http://127.0.0.1:<port> or http://localhost:<port> on the local stack"
)
EVENTS_RULE = "events: must be a list of distinct event types among " + ", ".join(EVENT_TYPES)
FORMAT_RULE = 'format: must be "json" or "discord"'


class RuleBroken(ValueError):
    """A field breaks its rule; the message is the whole 422 sentence."""


def loopback_allowed() -> bool:
    """True on the local stack only."""
    return os.environ.get(LOOPBACK_VARIABLE) == "allowed"


def checked_url(value: object) -> str:
    """The URL if it is one a webhook may have; else ``RuleBroken`` with the sentence."""
    local = loopback_allowed()
    rule = LOCAL_URL_RULE if local else URL_RULE
    if not isinstance(value, str):
        raise RuleBroken(f"{rule} (got {type(value).__name__ if value is not None else 'null'})")
    problem = _url_problem(value, local)
    if problem:
        raise RuleBroken(f"{rule} ({problem})")
    return value


def _url_problem(url: str, local: bool) -> str | None:
    if len(url) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    host = (parts.hostname or "").rstrip(".")
    if local and parts.scheme == "http" and host in LOOPBACK_HOSTS and port is not None:
        return None
    if parts.scheme != "https":
        return f"scheme {parts.scheme or 'none'!r}"
    if not host:
        return "no host"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL"
    if _is_ip(host):
        return f"the IP address {host}"
    if host == "localhost" or host.endswith(".localhost") or "." not in host:
        return f"the host {host!r} is not a public host name"
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.replace(".", "").isdigit()  # 2130706433 or 127.1: numbers a resolver takes as IPs
    return True


def checked_events(value: object) -> tuple[str, ...]:
    """The event types (absent or null: all three), in the contract's order."""
    if value is None:
        return EVENT_TYPES
    if not isinstance(value, list) or not value:
        raise RuleBroken(f"{EVENTS_RULE} (got {_shown(value)})")
    for name in value:
        if not isinstance(name, str) or name not in EVENT_TYPES:
            raise RuleBroken(f"{EVENTS_RULE} (got {_shown(name)})")
    if len(set(value)) != len(value):
        raise RuleBroken(f"{EVENTS_RULE} (got a type twice)")
    return tuple(name for name in EVENT_TYPES if name in value)


def checked_format(value: object) -> str:
    if value is None:
        return "json"
    if not isinstance(value, str) or value not in FORMATS:
        raise RuleBroken(f"{FORMAT_RULE} (got {_shown(value)})")
    return value


def _shown(value: object) -> str:
    if isinstance(value, list) and not value:
        return "an empty list"
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 60 else text[:57] + "..."
