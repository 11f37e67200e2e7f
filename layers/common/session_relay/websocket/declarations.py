"""The ``functions`` frame (PROTOCOL.md section 2, extension): a client declares the functions it has
registered, replacing what it declared before. Checked here in plain code; a malformed declaration is
answered with an ``error`` frame and changes nothing."""

from collections import Counter
from collections.abc import Callable
from typing import Any

from session_relay.contract import MAX_FIELD_LENGTH, shown

MAX_DECLARED_FUNCTIONS = 256
EXPECTED_NAMES = (
    f"names: must be a list of 0 to {MAX_DECLARED_FUNCTIONS} distinct function names, "
    f"each a string of 1 to {MAX_FIELD_LENGTH} characters"
)


def declared_names(frame: dict[str, Any]) -> list[str] | str:
    """The names a ``functions`` frame declares, sorted; or the ``error`` frame's sentence saying what
    was wrong (``names: must be ... (what was wrong)``)."""
    names = frame.get("names")
    if "names" not in frame:
        return f"{EXPECTED_NAMES} (it is missing)"
    if not isinstance(names, list):
        return f"{EXPECTED_NAMES} (got {shown(names)})"
    if len(names) > MAX_DECLARED_FUNCTIONS:
        return f"{EXPECTED_NAMES} (got {shown(names)})"
    for position, name in enumerate(names, start=1):
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_FIELD_LENGTH:
            return f"{EXPECTED_NAMES} (item {position}: got {shown(name)})"
    repeated = [name for name, times in Counter(names).items() if times > 1]
    if repeated:
        return f"{EXPECTED_NAMES} ({shown(repeated[0])} appears more than once)"
    return sorted(names)


def declare(frame: dict[str, Any], store_names: Callable[[list[str]], Any]) -> dict[str, Any]:
    """The frame that answers a ``functions`` frame: ``{"type": "functions", "count": N}`` once
    ``store_names`` stored the names (one UpdateItem; it answers falsy when the connection has no
    session), else an ``error`` frame (nothing was changed; a malformed frame costs no request)."""
    names = declared_names(frame)
    if isinstance(names, str):
        return {"type": "error", "error": names}
    if not store_names(names):
        return {"type": "error", "error": "this connection has no session"}
    return {"type": "functions", "count": len(names)}
