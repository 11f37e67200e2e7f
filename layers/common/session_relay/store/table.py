"""The one DynamoDB table helper the repositories share: plain Python items in and out (boto3's type
(de)serializer), errors translated once, the Query/Scan page loop, the BatchGetItem/BatchWriteItem
chunk loops with their retries of unprocessed work, and the one place a refused condition is caught.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from session_relay.errors import ServiceUnavailable

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
UNPROCESSED_RETRIES = 8
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)
_UNAVAILABLE = "the session store is unavailable, try again shortly"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def backoff(attempt: int) -> None:
    """The pause before retrying work a batch call left unprocessed."""
    time.sleep(min(0.5, 0.02 * 2**attempt))


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn DynamoDB failures that survived boto3's retries into a clear 503."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _TRANSIENT_CODES:
            raise ServiceUnavailable(_UNAVAILABLE) from exc
        raise
    except BotoCoreError as exc:
        raise ServiceUnavailable(_UNAVAILABLE) from exc


class _Deserializer(TypeDeserializer):
    """Numbers come back as ``int`` (every number the store keeps is an integer)."""

    def _deserialize_n(self, value: str) -> int | Decimal:
        number = super()._deserialize_n(value)
        return int(number) if number == number.to_integral_value() else number


_SERIALIZER = TypeSerializer()
_DESERIALIZER = _Deserializer()


def serialize(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values (str, int, bool, list) as DynamoDB attribute values."""
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class Written:
    """What a conditional write did: ``applied``, or refused. ``item`` is what DynamoDB returned:
    the ``ReturnValues`` when applied, the item as it was (if asked for) when refused."""

    applied: bool
    item: dict[str, Any] = field(default_factory=dict)


class Table:
    """One table on one client; keys, items and expression values are plain Python dicts."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def _request(
        self, names: dict[str, str] | None = None, values: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        request = {"TableName": self.name, **{k: v for k, v in fields.items() if v is not None}}
        if names:
            request["ExpressionAttributeNames"] = names
        if values:
            request["ExpressionAttributeValues"] = serialize(values)
        return request

    def get(self, key: dict[str, Any], projection: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """One item, strongly consistent, or None (only the projected attributes, if given)."""
        with translated_errors():
            item = self.client.get_item(
                TableName=self.name, Key=serialize(key), ConsistentRead=True, **(projection or {})
            ).get("Item")
        return None if item is None else deserialize(item)

    def put(self, item: dict[str, Any], condition: str | None = None) -> None:
        """Write a whole item; a ``condition`` that fails raises (for ids that must never collide)."""
        with translated_errors():
            self.client.put_item(**self._request(Item=serialize(item), ConditionExpression=condition))

    def update(
        self,
        key: dict[str, Any],
        update: str,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        """An unconditional UpdateItem."""
        request = self._request(names, values, Key=serialize(key), UpdateExpression=update)
        with translated_errors():
            self.client.update_item(**request)

    def delete(self, key: dict[str, Any]) -> None:
        with translated_errors():
            self.client.delete_item(TableName=self.name, Key=serialize(key))

    def conditional(
        self,
        action: Literal["put_item", "update_item", "delete_item"],
        target: dict[str, Any],
        condition: str,
        *,
        update: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        returns: str | None = None,
        old_on_refusal: bool = False,
        refused: Exception | None = None,
    ) -> Written:
        """One write that runs only if ``condition`` holds: ``target`` is the item (put) or its key.

        ``returns`` is the ``ReturnValues`` wanted; ``old_on_refusal`` asks for the item as it was
        when refused (no second read). A refusal raises ``refused`` when given."""
        request = self._request(
            names,
            values,
            ConditionExpression=condition,
            UpdateExpression=update,
            ReturnValues=returns,
            ReturnValuesOnConditionCheckFailure="ALL_OLD" if old_on_refusal else None,
            **{"Item" if action == "put_item" else "Key": serialize(target)},
        )
        try:
            with translated_errors():
                answer = getattr(self.client, action)(**request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            if refused is not None:
                raise refused from exc
            return Written(False, deserialize(exc.response.get("Item") or {}))
        return Written(True, deserialize(answer.get("Attributes") or {}))

    def query(
        self, names: dict[str, str] | None = None, values: dict[str, Any] | None = None, **fields: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item of a Query, page after page (a page is read only when needed)."""
        return _pages(self.client.query, self._request(names, values, **fields))

    def scan(
        self, names: dict[str, str] | None = None, values: dict[str, Any] | None = None, **fields: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item of a Scan, page after page."""
        return _pages(self.client.scan, self._request(names, values, **fields))

    def batch_get(
        self, keys: list[dict[str, Any]], projection: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The items that exist among ``keys``, strongly consistent (100 keys a call, unprocessed
        keys retried after a pause; still unprocessed after the retries: ``ServiceUnavailable``)."""
        items: list[dict[str, Any]] = []
        for chunk in chunks([serialize(key) for key in keys], BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.name: {"Keys": chunk, "ConsistentRead": True, **(projection or {})}
            }
            for attempt in range(UNPROCESSED_RETRIES + 1):
                with translated_errors():
                    answer = self.client.batch_get_item(RequestItems=request)
                items.extend(deserialize(item) for item in answer["Responses"].get(self.name, []))
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                backoff(attempt)
            else:
                raise ServiceUnavailable(_UNAVAILABLE)
        return items

    def put_request(self, item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A put for ``batch_write``."""
        return self.name, {"PutRequest": {"Item": serialize(item)}}

    def delete_request(self, key: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A delete for ``batch_write``."""
        return self.name, {"DeleteRequest": {"Key": serialize(key)}}


def _pages(operation: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        with translated_errors():
            page = operation(**request)
        yield from (deserialize(item) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def batch_write(client: Any, requests: list[tuple[str, dict[str, Any]]]) -> None:
    """Puts and deletes, across tables, as (table name, request) pairs (``Table.put_request``,
    ``Table.delete_request``): 25 a BatchWriteItem, unprocessed items retried after a pause."""
    for chunk in chunks(requests, BATCH_WRITE_LIMIT):
        pending: dict[str, list[dict[str, Any]]] = {}
        for table, request in chunk:
            pending.setdefault(table, []).append(request)
        for attempt in range(UNPROCESSED_RETRIES + 1):
            with translated_errors():
                answer = client.batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                break
            backoff(attempt)
        else:
            raise ServiceUnavailable(_UNAVAILABLE)
