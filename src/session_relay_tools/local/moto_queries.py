"""moto's ``Query`` reading one partition instead of the whole table.

moto answers every ``Query`` by sorting all the table's items (comparing its typed values, which
recomputes a ``Decimal`` or ``str`` at each comparison), keeping those of the asked partition and
sorting them again: a ``$disconnect``'s query of its own connection, or ``GET /sessions?limit=1``,
cost time in proportion to every item of the table (0.9 s with 1,500 live sessions).

Here moto's own ``Table.query`` runs unchanged (key conditions, ``Limit`` counted before the filter,
``ExclusiveStartKey``, projection, the filter expression: DynamoDB's semantics as moto has them), but
the candidates it starts from are only the partition's items, already in the order moto would sort
them into (GSI hash keys, GSI range keys, table hash key, table range key), sorted once with plain
Python values. A GSI's partition is found by one pass comparing the hash key's attribute (no sort of
the table); a table's partition is one dictionary lookup.
"""

import bisect
import threading
from typing import Any

_installing = threading.Lock()
_HINT = "_session_relay_candidates"
_CACHE = "_session_relay_partitions"
_originals: dict[str, Any] = {}
# Operations that change no item. Any other request (``note_request``) makes every cached partition
# stale; only a server that sees every request (``EmbeddedServices``) turns the cache on.
READS = frozenset(
    {"GetItem", "BatchGetItem", "Query", "Scan", "DescribeTable", "ListTables", "DescribeTimeToLive"}
    | {"TransactGetItems", "DescribeContinuousBackups", "ListTagsOfResource", "DescribeEndpoints"}
)
_writes = {"seen": 0, "tracked": False}


def track_writes() -> None:
    """Cache each GSI partition's order until the next request that may write (``note_request``)."""
    _writes["tracked"] = True


def note_request(operation: str) -> None:
    """Called for every request, under the lock that makes requests atomic."""
    if operation not in READS:
        _writes["seen"] += 1


def install() -> None:
    """Patch moto's ``Table`` (once per process; later calls do nothing)."""
    from moto.dynamodb.models.table import Table

    with _installing:
        if _originals:
            return
        _originals.update(query=Table.query, all_items=Table.all_items, sorted_items=Table.sorted_items)

        def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
            candidates = partition(self, hash_key, args, kwargs)
            if candidates is None:
                return _originals["query"](self, hash_key, *args, **kwargs)
            self.__dict__[_HINT] = candidates
            try:
                return _originals["query"](self, hash_key, *args, **kwargs)
            finally:
                self.__dict__.pop(_HINT, None)

        def all_items(self: Any) -> list[Any]:
            hinted = self.__dict__.get(_HINT)
            return _originals["all_items"](self) if hinted is None else hinted

        def sorted_items(self: Any, hash_attrs: Any, range_attrs: Any, items: list[Any]) -> list[Any]:
            if _HINT in self.__dict__:
                return items  # already in moto's order (``partition``)
            return _originals["sorted_items"](self, hash_attrs, range_attrs, items)

        Table.query, Table.all_items, Table.sorted_items = query, all_items, sorted_items


def uninstall() -> None:
    """moto's own ``Query`` again, without the cache (for tests comparing the two)."""
    from moto.dynamodb.models.table import Table

    with _installing:
        for name, function in _originals.items():
            setattr(Table, name, function)
        _originals.clear()
        _writes["tracked"] = False


def partition(table: Any, hash_key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
    """The items a ``Query`` will look at, in moto's order; None to let moto read the whole table."""
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if not index_name:
        if hash_key is None:
            return None
        if table.range_key_attr is None:
            item = table.items.get(hash_key)
            return [] if item is None else [item]
        return list(table.items.get(hash_key, {}).values())  # moto sorts these by range key
    index = next((index for index in table.all_indexes() if index.name == index_name), None)
    conditions = list(kwargs.get("hash_key_conditions") or [])
    range_conditions = kwargs.get("range_key_conditions") or []
    if index is None or not conditions or len(range_conditions) > 1 or len(args) < 5:
        return None  # moto's own error, or a query shape this does not know
    range_attrs = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
    if len(range_attrs) > 1 or set(kwargs) - {"hash_key_conditions", "range_key_conditions", "index_name"}:
        return None  # multi-attribute keys, or the legacy QueryFilter
    # Within the partition the index's hash keys are equal: the range key, then the table's keys.
    order = [name for name in (*range_attrs, table.hash_key_attr, table.range_key_attr) if name]
    keyed = _sorted_partition(table, index_name, conditions, range_attrs, order)
    range_attr = range_conditions[-1][0] if range_conditions else (range_attrs or [None])[0]
    return _looked_at(keyed, order, range_attr, *args[:5])


def _looked_at(
    keyed: list[tuple[Any, Any]],
    order: list[str],
    range_attr: str | None,
    comparison: str | None,
    comparands: list[Any],
    limit: int | None,
    start_key: dict[str, Any] | None,
    forward: bool,
) -> list[Any]:
    """The items moto's loop visits, in ascending order: after ``start_key`` (in the scan's
    direction), every item up to the ``limit``-th that meets the range condition, and the next one
    (where moto stops and writes ``LastEvaluatedKey``)."""
    keys = [key for key, _ in keyed]
    if start_key:
        from moto.dynamodb.models.dynamo_type import DynamoType

        start = tuple(_cast(DynamoType(start_key[name])) for name in order if name in start_key)
        keyed = (
            keyed[bisect.bisect_right(keys, start) :] if forward else keyed[: bisect.bisect_left(keys, start)]
        )
    sequence = keyed if forward else keyed[::-1]
    visited, counted = [], 0
    for _, item in sequence:
        visited.append(item)
        if limit is not None and counted == limit:
            break
        if comparison and range_attr:
            value = item.attrs.get(range_attr)
            counted += bool(value and value.compare(comparison, comparands))
        else:
            counted += 1
    return visited if forward else visited[::-1]


def _sorted_partition(
    table: Any, index_name: str, conditions: list[tuple[str, Any]], range_attrs: list[str], order: list[str]
) -> list[tuple[Any, Any]]:
    """(sort key, item) of every item of the GSI partition, ascending; cached while nothing is written."""
    cache_key = (index_name, tuple((name, _cast(value)) for name, value in conditions))
    generation, cached = table.__dict__.get(_CACHE, (None, {}))
    if _writes["tracked"] and generation == _writes["seen"] and cache_key in cached:
        return cached[cache_key]
    # Items without the index's key attributes are not in the index (moto leaves them out too): "Take
    # advantage of sparse indexes" (Amazon DynamoDB Developer Guide),
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-indexes-general-sparse-indexes.html
    matching = _matching(table, conditions, range_attrs)
    keyed = [(tuple(_cast(item.attrs[name]) for name in order), item) for item in matching]
    keyed.sort(key=_first)
    if _writes["tracked"]:
        if generation != _writes["seen"]:
            cached = {}
        cached[cache_key] = keyed
        table.__dict__[_CACHE] = (_writes["seen"], cached)
    return keyed


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _matching(table: Any, conditions: list[tuple[str, Any]], required: list[str]) -> list[Any]:
    matches = []
    for item in _every_item(table):
        attrs = item.attrs
        if any(name not in attrs for name in required):
            continue
        for name, expected in conditions:
            value = attrs.get(name)
            if value is None or not _same(value, expected):
                break
        else:
            matches.append(item)
    return matches


def _same(value: Any, expected: Any) -> bool:
    if value.type != expected.type:
        return False
    # A string's value is itself (the typed comparison recomputes it at each call); a number's is not.
    return value.value == expected.value if value.type == "S" else value == expected


def _cast(value: Any) -> Any:
    """A sort key ordering as moto orders typed values (a string as itself, a number as a Decimal).

    DynamoDB orders strings by their UTF-8 bytes, which is the order of their code points (Python's
    string order): "Key condition expressions for the Query operation in DynamoDB",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.KeyConditionExpressions.html
    """
    return value.value if value.type == "S" else value.cast_value


def _every_item(table: Any) -> list[Any]:
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for by_range in table.items.values() for item in by_range.values()]
