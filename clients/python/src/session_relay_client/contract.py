"""What the SDK needs of the API's contract, kept here so the package stands alone (no server code).

The server defines these in its layer: ``session_relay.contract`` (``MAX_BULK_IDS``,
``REASON_NOT_FOUND``), ``session_relay.MAX_MESSAGE_TIMEOUT_S`` and ``session_relay.wire.parse_json``
(the strict JSON it accepts); the repository's tests check that the two agree.
"""

import json
import math
import re
from typing import Any

MAX_BULK_IDS = 1000
"""The most session ids one bulk request takes (and the largest page of sessions)."""
MAX_MESSAGE_TIMEOUT_S = 60.0
"""The longest a message call waits for answers."""
REASON_NOT_FOUND = "session not found"
"""The API's sentence for a session that does not exist or is not the key's."""

MAX_DEPTH = 512
"""The deepest nesting of arrays and objects the API accepts in a body."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = "a string holds a lone UTF-16 surrogate, which is not Unicode text"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} does not fit a 64-bit float")
    return value


def _too_deep(value: Any) -> bool:
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def parse_json(text: str) -> Any:
    """Parse standard JSON only, as the API does: no NaN/Infinity literals, no numbers that overflow
    to infinity, no lone surrogates, at most ``MAX_DEPTH`` levels of nesting.

    Raises ``ValueError`` on anything else.
    """
    if not text.isascii() and not _is_unicode(text):
        raise ValueError(_LONE_SURROGATE)
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if isinstance(value, (dict, list)) and text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(text) and not _is_unicode(json.dumps(value, ensure_ascii=False)):
        raise ValueError(_LONE_SURROGATE)
    return value
