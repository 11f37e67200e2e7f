"""Bulk answers that fit Lambda's synchronous response limit (PROTOCOL.md, bulk message).

Lambda refuses a synchronous response over 6 MB (6,291,456 bytes), measured on the invocation's
response as the runtime serializes it; API Gateway then answers 502 although every client's function
ran: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
For a REST proxy integration that response is the proxy object whose ``body`` is the answer's JSON
text as a string, so every ``"`` and ``\\`` of the answer is escaped once more. The Python 3.12
runtime writes non-ASCII characters as UTF-8 (2 to 4 bytes), older runtimes as ``\\uXXXX`` escapes
(6 bytes, 12 for a surrogate pair):
https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html (Response format)
https://github.com/aws/aws-lambda-python-runtime-interface-client/commit/80eefef7da59c814369b3ec37f6d30d46461f181
The answer is measured the escaped way, never smaller than either, so it fits whichever runtime
serializes it (and the local stack, which measures with ``json.dumps`` as the older runtimes do).
Entries are kept in request order; one whose response would take the answer past the limit becomes
``{"session_id": ..., "processed": false, "reason": "response too large"}``, always leaving room
for the entries after it.
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
