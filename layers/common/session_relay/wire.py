"""Strict JSON in and compact JSON out, for REST bodies and WebSocket frames alike."""

import json
import math
import re
from typing import Any

MAX_DEPTH = 512
"""The deepest nesting of arrays and objects accepted in a body or frame. Deeper documents are
refused before any work is done: they would exhaust the recursion limit of the parser or the
serializer (a 500 or a dropped frame instead of a clear answer). The Luau client stops at 200."""

# JSON text may escape a lone UTF-16 surrogate ("\ud800"), which no UTF-8 text can carry.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(text: str | bytes) -> Any:
    """Parse standard JSON only: UTF-8 text, no NaN/Infinity literals, no numbers that overflow to
    infinity, no lone surrogates, at most ``MAX_DEPTH`` levels of nesting.

    Raises ``ValueError`` (``json.JSONDecodeError`` and ``UnicodeError`` are ones) on anything else.
    """
    if isinstance(text, bytes):
        # Strictly UTF-8 (a leading BOM is ignored): json.loads would also take UTF-16/32, and
        # UTF-8-encoded surrogates, from bytes.
        text = text.decode("utf-8-sig")
    elif not text.isascii() and not _is_unicode(text):
        raise ValueError(_LONE_SURROGATE)
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if isinstance(value, dict | list) and text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(value):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(text) and not _is_unicode(dump_json(value)):
        raise ValueError(_LONE_SURROGATE)
    return value


_LONE_SURROGATE = "a string holds a lone UTF-16 surrogate, which is not Unicode text"


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def dump_json(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as UTF-8 (it is what frame sizes are measured on)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
