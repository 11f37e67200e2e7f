"""Bulk answers that fit Lambda's 6 MB synchronous response (PROTOCOL.md, bulk message), measured as
the runtime serializes the proxy response, escapes included: an entry that would pass the limit becomes
``"response too large"``, always leaving room for the entries after it (docs/design.md, "Fitting").
https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
"""

import json
from typing import Any

from session_relay.wire import dump_json

LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_456
# The proxy response around the answer's entries: status code, headers (content-length,
# content-type), ``isBase64Encoded`` and ``{"success":true,"responses":[]}``: about 200 bytes; kept
# generous for any header a later version adds.
ENVELOPE_BYTES = 1_024
REASON_TOO_LARGE = "response too large"


def proxy_bytes(text: str) -> int:
    """Bytes ``text`` takes inside the proxy response's ``body`` string, at most (non-ASCII escaped)."""
    return len(json.dumps(text)) - 2


def _entry_bytes(entry: dict[str, Any]) -> int:
    return proxy_bytes(dump_json(entry)) + 1  # and the comma that separates it from the next


def too_large(session_id: str) -> dict[str, Any]:
    return {"session_id": session_id, "processed": False, "reason": REASON_TOO_LARGE}


def fit_entries(
    entries: list[dict[str, Any]], limit_bytes: int = LAMBDA_RESPONSE_LIMIT_BYTES
) -> list[dict[str, Any]]:
    """The entries, in order, with those that would pass the limit replaced by ``too_large``."""
    sizes = [_entry_bytes(entry) for entry in entries]
    smallest = [
        min(size, _entry_bytes(too_large(entry["session_id"])))
        for entry, size in zip(entries, sizes, strict=True)
    ]
    after = [0] * (len(entries) + 1)  # the smallest the entries after each one can be
    for index in range(len(entries) - 1, -1, -1):
        after[index] = after[index + 1] + smallest[index]
    room = limit_bytes - ENVELOPE_BYTES
    fitted, used = [], 0
    for index, entry in enumerate(entries):
        if used + sizes[index] + after[index + 1] <= room:
            fitted.append(entry)
            used += sizes[index]
        else:
            fitted.append(too_large(entry["session_id"]))
            used += smallest[index]
    return fitted
