"""What the handlers' requests cost the embedded database, metered for the benchmarks: the write
request units DynamoDB would bill for their writes (moto's own ``ConsumedCapacity`` is a constant, not
a measure), and the items their reads returned, by operation.

Each write is metered from the item as the embedded database holds it just before and just after
the request, under the lock that makes the request atomic, by DynamoDB's rules:

- "A standard write request unit can write an item up to 1 KB": an item's units are its size rounded
  up to the next 1 KB (at least one); for a put, an update or a delete, the larger of the item before
  and after; a transactional write takes two units a 1 KB, its condition checks included; a write
  whose condition fails still takes units for the item it found. "DynamoDB read and write
  operations", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
- A global secondary index is written when the item enters it, leaves it or changes what it
  projects; "If an update to the table changes the value of an indexed key attribute (from A to B),
  two writes are required, one to delete the previous item from the index and another write to put
  the new item into the index." "Using Global Secondary Indexes in DynamoDB", section "Provisioned
  throughput considerations for Global Secondary Indexes" / writes,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes

- Reads: "A strongly consistent read request of an item up to 4 KB requires one read unit", an
  eventually consistent one half; ``GetItem`` and ``BatchGetItem`` round each item up to 4 KB, a
  ``Query`` or ``Scan`` the total size of the items it returns; a projection does not lower it
  (the item's full size counts); a global secondary index reads only eventually. Same page. A key
  that is not found counts as nothing here.

A cancelled transaction is counted as nothing (DynamoDB bills what it read to decide it); sizes are
moto's (attribute names plus values, as DynamoDB sizes them).
"""

import json
import math
import threading
from dataclasses import dataclass
from typing import Any

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})
UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True, slots=True)
class Target:
    """One item a write touches: its table, its key, whether in a transaction."""

    table: str
    key: dict[str, Any]
    transactional: bool = False


def units(size: int) -> int:
    return max(1, math.ceil(size / UNIT_BYTES))


def targets(operation: str, body: dict[str, Any], key_of) -> list[Target]:
    """The items ``operation`` writes; ``key_of(table, item)`` picks an item's key attributes."""
    if operation == "PutItem":
        return [Target(body["TableName"], key_of(body["TableName"], body["Item"]))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [Target(body["TableName"], body["Key"])]
    if operation == "BatchWriteItem":
        found = []
        for table, requests in body.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    found.append(Target(table, key_of(table, request["PutRequest"]["Item"])))
                else:
                    found.append(Target(table, request["DeleteRequest"]["Key"]))
        return found
    found = []
    for action in body.get("TransactItems", []):
        ((kind, spec),) = action.items()
        key = key_of(spec["TableName"], spec["Item"]) if kind == "Put" else spec["Key"]
        found.append(Target(spec["TableName"], key, transactional=True))
    return found


class Meter:
    """Sums the write units of the writes it is shown and the items of the reads; ``snapshot()`` and
    ``reset()`` for the call counter."""

    def __init__(self) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self._backends = dynamodb_backends[DEFAULT_ACCOUNT_ID]
        self._lock = threading.Lock()
        self._units = 0
        self._read: dict[str, int] = {}
        self._read_units = 0.0

    def total(self) -> int:
        """The write units so far."""
        with self._lock:
            return self._units

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {
                "write_units": {"dynamodb": self._units},
                "read_units": {"dynamodb": round(self._read_units, 1)},
                "items_read": dict(sorted(self._read.items())),
            }

    def reset(self) -> None:
        with self._lock:
            self._units = 0
            self._read = {}
            self._read_units = 0.0

    def measure(self, operation: str, raw_body: bytes, dispatch):
        """Run ``dispatch()`` (the request, under the database's lock) and meter what it wrote."""
        if operation in READS:
            answer = dispatch()
            self._count_read(operation, json.loads(raw_body or b"{}"), answer)
            return answer
        if operation not in WRITES:
            return dispatch()
        try:
            touched = targets(operation, json.loads(raw_body or b"{}"), self._key_of)
            before = [self._state(target) for target in touched]
        except (KeyError, ValueError, TypeError):  # a malformed request: moto answers its error
            return dispatch()
        status, _, body = answer = dispatch()
        if status == 200:
            spent = sum(self._spent(t, b, self._state(t)) for t, b in zip(touched, before, strict=True))
        elif operation in ("PutItem", "UpdateItem", "DeleteItem") and CONDITION_FAILED in str(body):
            spent = units(before[0][0])
        else:
            spent = 0
        with self._lock:
            self._units += spent
        return answer

    def _count_read(self, operation: str, request: dict[str, Any], answer: tuple[int, Any, Any]) -> None:
        status, _, body = answer
        if status != 200:
            return
        found = json.loads(body or b"{}")
        if operation == "GetItem":
            rows = {request["TableName"]: [found["Item"]] if "Item" in found else []}
            strong = {request["TableName"]: bool(request.get("ConsistentRead"))}
        elif operation == "BatchGetItem":
            rows = found.get("Responses", {})
            asked = request.get("RequestItems", {})
            strong = {table: bool(asked.get(table, {}).get("ConsistentRead")) for table in rows}
        else:
            rows = {request["TableName"]: found.get("Items", [])}
            on_index = bool(request.get("IndexName"))  # a global secondary index reads eventually
            strong = {request["TableName"]: bool(request.get("ConsistentRead")) and not on_index}
        read_units = 0.0
        for table, items in rows.items():
            sizes = [self._full_size(table, item) for item in items]
            if operation == "Query" or operation == "Scan":
                blocks = math.ceil(sum(sizes) / READ_UNIT_BYTES) if sizes else 1
            else:
                blocks = sum(max(1, math.ceil(size / READ_UNIT_BYTES)) for size in sizes)
            read_units += blocks * (1.0 if strong[table] else 0.5)
        with self._lock:
            self._read[operation] = self._read.get(operation, 0) + sum(len(items) for items in rows.values())
            self._read_units += read_units

    def _full_size(self, table_name: str, returned: dict[str, Any]) -> int:
        """The stored item's size (what a read is billed for, whatever it projected)."""
        try:
            item, _ = self._item(Target(table_name, self._key_of(table_name, returned)))
        except KeyError:  # the keys were not projected: the size of what was returned
            from moto.dynamodb.models.dynamo_type import Item

            item = Item(None, None, returned)  # type: ignore[arg-type]
        return 0 if item is None else item.size()

    # -------------------------------------------------------------- the rules

    def _spent(self, target: Target, before, after) -> int:
        size_before, entries_before = before
        size_after, entries_after = after
        table = units(max(size_before, size_after)) * (2 if target.transactional else 1)
        return table + sum(_index_units(entries_before[name], entries_after[name]) for name in entries_before)

    def _table(self, name: str):
        for backend in self._backends.values():
            if name in backend.tables:
                return backend.tables[name]
        raise KeyError(name)

    def _key_of(self, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
        table = self._table(table_name)
        return {attr: item[attr] for attr in table.table_key_attrs}

    def _item(self, target: Target) -> tuple[Any, Any]:
        """The stored item under ``target``'s key (None when absent), and its table."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self._table(target.table)
        range_key = target.key.get(table.range_key_attr) if table.range_key_attr else None
        item = table.get_item(
            DynamoType(target.key[table.hash_key_attr]), DynamoType(range_key) if range_key else None
        )
        return item, table

    def _state(self, target: Target) -> tuple[int, dict[str, tuple[str, str, int] | None]]:
        """The item's size (0 when absent) and each index's entry: (key values, projection, size)."""
        item, table = self._item(target)
        entries: dict[str, tuple[str, str, int] | None] = {}
        for index in table.global_indexes:
            present = item is not None and all(k in item.attrs for k in index.schema_key_attrs)
            if not present:
                entries[index.name] = None
                continue
            projected = index.project(item)
            keys = json.dumps([item.attrs[k].to_json() for k in index.schema_key_attrs])
            entries[index.name] = (keys, json.dumps(projected.to_json(), sort_keys=True), projected.size())
        return (0 if item is None else item.size()), entries


def _index_units(before: tuple[str, str, int] | None, after: tuple[str, str, int] | None) -> int:
    """An index's writes for one item: a put when it enters, a delete when it leaves, both when its
    index key changes, one when what it projects changes, none otherwise."""
    if before is None and after is None:
        return 0
    if before is None or after is None:
        return units((before or after)[2])
    if before[0] != after[0]:
        return units(before[2]) + units(after[2])
    return units(max(before[2], after[2])) if before[1] != after[1] else 0
