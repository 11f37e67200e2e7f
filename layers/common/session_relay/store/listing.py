"""Newest-first listing order and its cursors, shared by the sessions and the bans: a sort key of the
inverted creation time and the id (so newest first, then by id ascending), and a cursor that is that
key in base64url, decoded strictly."""

import base64
import binascii
import re

from session_relay.contract import field_sentence
from session_relay.errors import ValidationFailed

# Listing sorts newest first, then by id ascending: the sort key stores the inverted creation time.
_LISTING_MAX_MS = 10**15 - 1
# ASCII digits only: ``\d`` alone would also take other scripts' digits (Arabic-Indic and more).
_CURSOR_PATTERN = re.compile(r"[0-9]{15}#[^\x00-\x1f]{1,128}")


def listing_key(created_at_ms: int, session_id: str) -> str:
    return f"{_LISTING_MAX_MS - created_at_ms:015d}#{session_id}"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The listing key a cursor points after; a cursor not made by ``encode_cursor`` is a 422: it must
    decode strictly (base64url without padding or stray characters) to a listing key, and encode back
    to exactly itself."""
    try:
        key = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if not _CURSOR_PATTERN.fullmatch(key) or encode_cursor(key) != cursor:
        raise ValidationFailed(field_sentence("cursor", cursor))
    return key
