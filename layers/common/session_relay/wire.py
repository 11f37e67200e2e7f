"""Strict JSON in and compact JSON out, for REST bodies and WebSocket frames alike."""

import json
import math
from typing import Any


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} does not fit a 64-bit float")
    return value


def parse_json(text: str | bytes) -> Any:
    """Parse standard JSON only: no NaN/Infinity literals, no numbers that overflow to infinity.

    Raises ``ValueError`` (``json.JSONDecodeError`` is one) on anything else.
    """
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def dump_json(value: Any) -> str:
    """Compact JSON text, non-ASCII kept as UTF-8 (it is what frame sizes are measured on)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
