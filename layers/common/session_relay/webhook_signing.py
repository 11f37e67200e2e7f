"""Webhook secrets, event ids and the ``Session-Relay-Signature`` header (PROTOCOL.md section 5).

The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, keyed by the secret exactly as
the owner was shown it (``whsec_`` included) as UTF-8 bytes. Plain standard library: the ``events`` and
``webhooks`` functions import it without pydantic.
"""

import base64
import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Session-Relay-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32
EVENT_PREFIX = "evt_"


def new_secret() -> str:
    """``whsec_`` and 32 random bytes, base64url without padding (43 characters)."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()
    return SECRET_PREFIX + raw


def event_id(source: str) -> str:
    """A stable event id derived from what caused it (a stream record's event id, a test's nonce):
    a retried batch derives the same id, so the FIFO queue's deduplication and the receiver drop it."""
    return EVENT_PREFIX + hashlib.sha256(source.encode()).hexdigest()[:32]


def signature(secret: str, body: bytes, timestamp_s: int) -> str:
    """The hex HMAC-SHA256 of ``"<t>.<body>"`` keyed by ``secret`` (UTF-8)."""
    signed = str(timestamp_s).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp_s: int) -> str:
    """The ``Session-Relay-Signature`` value for this body sent at ``timestamp_s`` (Unix seconds)."""
    return f"t={timestamp_s},v1={signature(secret, body, timestamp_s)}"
