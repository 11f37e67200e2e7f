"""Calls in flight per API key, bounded by leases that expire (PROTOCOL.md, Errors: 429).

One item per key in the connections table (``connection_id = "inflight#<key id>"``, which no API
Gateway connection id can be: they never contain ``#``) holds one attribute per lease,
``lease_<id> = <expiry, epoch ms>``, and ``held``, the number of leases. Taking a lease and giving
it back each change both in one conditional ``UpdateItem``, so ``held`` is always the number of
lease attributes: it cannot drift. A Lambda killed mid-wait never gives its lease back; the lease
then expires at the latest instant that invocation could still have been running (the Lambda's
timeout), and the next caller that finds the key at its cap clears expired leases and tries again.
"""

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_relay.aws import dynamodb_client
from session_relay.errors import ServiceUnavailable, TooManyCalls
from session_relay.settings import get_settings

LEASES_PREFIX = "inflight#"
LEASES_ITEM = "leases"
LEASE_PREFIX = "lease_"
# How long a caller told 429 should wait before trying again (seconds, the Retry-After header).
RETRY_AFTER_S = 1
# Kept after the last lease's expiry before TTL may delete the item (seconds).
_ITEM_MARGIN_S = 60


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _transient(call: Any, **request: Any) -> Any:
    """One DynamoDB call; what survived botocore's retries is a 503 (nothing was changed)."""
    try:
        return call(**request)
    except ClientError as exc:
        if _conditional_failure(exc):
            raise
        raise ServiceUnavailable("the session store is unavailable, try again shortly") from exc
    except BotoCoreError as exc:  # connection errors and timeouts
        raise ServiceUnavailable("the session store is unavailable, try again shortly") from exc


class Leases:
    """Takes and gives back leases on a key's calls in flight."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _key(self, key_id: str) -> dict[str, Any]:
        return {"connection_id": {"S": LEASES_PREFIX + key_id}, "item": {"S": LEASES_ITEM}}

    def acquire(self, key_id: str, cap: int, expires_ms: int) -> str | None:
        """A new lease for ``key_id``, valid until ``expires_ms``; None when ``cap`` are held."""
        lease = secrets.token_hex(8)
        for attempt in range(2):
            try:
                _transient(
                    self.client.update_item,
                    TableName=self.table,
                    Key=self._key(key_id),
                    UpdateExpression="SET #lease = :expires, expires_at = :ttl ADD held :one",
                    ConditionExpression="attribute_not_exists(held) OR held < :cap",
                    ExpressionAttributeNames={"#lease": LEASE_PREFIX + lease},
                    ExpressionAttributeValues={
                        ":expires": {"N": str(expires_ms)},
                        ":ttl": {"N": str(expires_ms // 1000 + _ITEM_MARGIN_S)},
                        ":one": {"N": "1"},
                        ":cap": {"N": str(cap)},
                    },
                )
                return lease
            except ClientError:  # at the cap: leases a killed Lambda left behind may have expired
                if attempt or not self._clear_expired(key_id):
                    return None
        return None

    def release(self, key_id: str, lease: str) -> None:
        """Give a lease back (a lease already cleared as expired is left alone); the key's item is
        deleted with its last lease, so an idle key leaves nothing behind."""
        try:
            held = _transient(
                self.client.update_item,
                TableName=self.table,
                Key=self._key(key_id),
                UpdateExpression="REMOVE #lease ADD held :minus",
                ConditionExpression="attribute_exists(#lease)",
                ExpressionAttributeNames={"#lease": LEASE_PREFIX + lease},
                ExpressionAttributeValues={":minus": {"N": "-1"}},
                ReturnValues="UPDATED_NEW",
            )["Attributes"]["held"]["N"]
            if held == "0":
                _transient(
                    self.client.delete_item,
                    TableName=self.table,
                    Key=self._key(key_id),
                    ConditionExpression="held = :zero",
                    ExpressionAttributeValues={":zero": {"N": "0"}},
                )
        except ClientError:  # cleared as expired, or a new lease was taken meanwhile
            pass

    def held(self, key_id: str) -> dict[str, int]:
        """The leases held now, by id, with their expiry (epoch ms)."""
        item = _transient(
            self.client.get_item, TableName=self.table, Key=self._key(key_id), ConsistentRead=True
        ).get("Item", {})
        return {
            name.removeprefix(LEASE_PREFIX): int(value["N"])
            for name, value in item.items()
            if name.startswith(LEASE_PREFIX)
        }

    def _clear_expired(self, key_id: str) -> int:
        """Remove the leases past their expiry, each only if it is still the one read."""
        now_ms = int(time.time() * 1000)
        expired = {lease: expiry for lease, expiry in self.held(key_id).items() if expiry < now_ms}
        if not expired:
            return 0
        names = {f"#l{index}": LEASE_PREFIX + lease for index, lease in enumerate(expired)}
        values: dict[str, Any] = {":minus": {"N": str(-len(expired))}}
        conditions = []
        for index, expiry in enumerate(expired.values()):
            values[f":e{index}"] = {"N": str(expiry)}
            conditions.append(f"#l{index} = :e{index}")
        try:
            _transient(
                self.client.update_item,
                TableName=self.table,
                Key=self._key(key_id),
                UpdateExpression=f"REMOVE {', '.join(names)} ADD held :minus",
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError:  # another caller cleared them first
            return 0
        return len(expired)


@contextmanager
def call_in_flight(leases: "Leases", key_id: str, cap: int, expires_ms: int) -> Iterator[None]:
    """Hold one of the key's ``cap`` slots for the ``with`` block; 429 when none is free. The slot is
    given back on every way out of the block (and expires at ``expires_ms`` if the process dies)."""
    lease = leases.acquire(key_id, cap, expires_ms)
    if lease is None:
        raise TooManyCalls(
            f"this API key already has {cap} calls in flight, the most this deployment allows; "
            f"nothing was sent, retry after {RETRY_AFTER_S} s",
            retry_after_s=RETRY_AFTER_S,
        )
    try:
        yield
    finally:
        with suppress(ServiceUnavailable):  # not given back: the lease expires by itself
            leases.release(key_id, lease)


@lru_cache(maxsize=1)
def get_leases() -> Leases:
    return Leases(dynamodb_client(), get_settings().connections_table)
