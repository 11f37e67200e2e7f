"""The DynamoDB plumbing every store module shares: attribute values, keys, conditions on expiry,
error translation, and the loops over Query/Scan pages and BatchGetItem/BatchWriteItem chunks.

No module outside ``session_relay.store`` builds a key, an expression or an item.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_relay.errors import ServiceUnavailable
from session_relay.settings import Settings

SESSION_ITEM = "session"
MESSAGE_PREFIX = "message#"
PENDING, ANSWERED = "pending", "answered"

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


def condition_failed(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def live(item: dict[str, Any], now_s: int) -> bool:
    return "expires_at" not in item or int(item["expires_at"]["N"]) > now_s


def session_key(session_id: str) -> dict[str, Any]:
    return {"id": s(session_id)}


def mapping_key(connection_id: str) -> dict[str, Any]:
    """The connections-table item that maps a connection to its session."""
    return {"connection_id": s(connection_id), "item": s(SESSION_ITEM)}


def message_key(connection_id: str, message_id: str) -> dict[str, Any]:
    return {"connection_id": s(connection_id), "item": s(MESSAGE_PREFIX + message_id)}


def auth_key(kind: str, ident: str) -> dict[str, Any]:
    """``script#<id>`` or ``apikey#<sha256>`` in the auth table."""
    return {"pk": s(f"{kind}#{ident}")}


class Tables(ABC):
    """The client, the table names and the page and batch loops; the concern modules build on it.

    The clock and the retry pause are hooks (``now_ms``, ``now_s``, ``pause``, ``batch_get_limit``)
    that the composed ``Store`` provides, so there is one clock for every module.
    """

    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.sessions_table = settings.sessions_table
        self.connections_table = settings.connections_table
        self.auth_table = settings.auth_table
        # Only the REST API reads these two (messages answered later, idempotency records).
        self.outcomes_table = settings.outcomes_table or ""
        self.message_ttl_s = settings.message_ttl_s

    @abstractmethod
    def now_ms(self) -> int: ...

    @abstractmethod
    def now_s(self) -> int: ...

    @abstractmethod
    def pause(self, attempt: int) -> None: ...

    @property
    def batch_get_limit(self) -> int:
        return BATCH_GET_LIMIT

    def _get(
        self, table: str, key: dict[str, Any], projection: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """One item, strongly consistent, or None (only the projected attributes, if given)."""
        with translated_errors():
            return self.client.get_item(
                TableName=table, Key=key, ConsistentRead=True, **(projection or {})
            ).get("Item")

    def _items(self, operation: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a Query or Scan, page after page (a page is read only when needed)."""
        request = dict(request)
        while True:
            with translated_errors():
                page = operation(**request)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_get(
        self, table: str, keys: list[dict[str, Any]], projection: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for chunk in chunks(keys, self.batch_get_limit):
            request: dict[str, Any] = {table: {"Keys": chunk, "ConsistentRead": True, **(projection or {})}}
            for attempt in range(UNPROCESSED_RETRIES + 1):
                with translated_errors():
                    answer = self.client.batch_get_item(RequestItems=request)
                items.extend(answer["Responses"].get(table, []))
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                self.pause(attempt)
            else:
                raise ServiceUnavailable(_UNAVAILABLE)
        return items

    def _batch_delete(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        self._batch_write([(table, {"DeleteRequest": {"Key": key}}) for table, key in requests])

    def _batch_write(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        for chunk in chunks(requests, BATCH_WRITE_LIMIT):
            pending: dict[str, list[dict[str, Any]]] = {}
            for table, request in chunk:
                pending.setdefault(table, []).append(request)
            for attempt in range(UNPROCESSED_RETRIES + 1):
                with translated_errors():
                    answer = self.client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                self.pause(attempt)
            else:
                raise ServiceUnavailable(_UNAVAILABLE)
