"""Items near DynamoDB's item limit: an item's size as DynamoDB counts it, and a JSON list cut into
JSON lists that each fit an item, for a record too large for one item to be written as several.

DynamoDB items are at most 400 KB, attribute names and values together:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items
counted as https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
says: a string is its UTF-8 bytes, a number at most 21 bytes (38 significant digits, a byte per two,
plus one), a list 3 bytes plus a byte and the size of each element; every attribute adds its name's
UTF-8 bytes.
"""

from decimal import Decimal
from typing import Any

ITEM_LIMIT_BYTES = 400 * 1024
ITEM_BUDGET_BYTES = 300 * 1024
"""What an item cut to fit may take: 100 KB under the limit, for any rounding in DynamoDB's count."""
_NUMBER_BYTES = 21


def item_bytes(item: dict[str, Any]) -> int:
    """The size of ``item`` (plain Python values, as ``Table.put`` takes them) as DynamoDB counts it."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes | bytearray):
        return len(value)
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | Decimal):
        return _NUMBER_BYTES
    if isinstance(value, list | tuple):
        return 3 + sum(1 + _value_bytes(element) for element in value)
    if isinstance(value, dict):
        return 3 + sum(1 + len(key.encode()) + _value_bytes(element) for key, element in value.items())
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def json_lists(elements: list[str], room_bytes: int) -> list[str]:
    """``elements`` (each one's JSON text), in order, as JSON lists of at most ``room_bytes`` UTF-8
    bytes each (an element too large for ``room_bytes`` gets a list of its own). The lists' elements
    joined are the whole list's: ``[a,b]`` and ``[c]`` for ``[a,b,c]`` in compact JSON."""
    lists: list[str] = []
    pending: list[str] = []
    used = 2  # the brackets
    for element in elements:
        size = len(element.encode()) + (1 if pending else 0)  # and its comma
        if pending and used + size > room_bytes:
            lists.append("[" + ",".join(pending) + "]")
            pending, used, size = [], 2, size - 1
        pending.append(element)
        used += size
    lists.append("[" + ",".join(pending) + "]")
    return lists
