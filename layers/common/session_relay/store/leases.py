"""Calls in flight per API key, bounded by leases that expire (PROTOCOL.md, Errors: 429).

One item per key in the connections table (``connection_id = "inflight#<key id>"``, which no API
Gateway connection id can be: they never contain ``#``) holds one attribute per lease,
``lease_<id> = <expiry, epoch ms>``, and ``held``, the number of leases. Taking a lease and giving
it back each change both in one conditional ``UpdateItem``, so ``held`` is always the number of
lease attributes: it cannot drift. A Lambda killed mid-wait never gives its lease back; the lease
then expires at the latest instant that invocation could still have been running (the Lambda's
timeout), and the next caller that finds the key at its cap clears expired leases and tries again.
An idle key's item (``held`` 0, no lease left) is not deleted by a request of its own: that would
be a third write on every call. DynamoDB's TTL deletes it once ``expires_at`` (the last lease's
expiry plus a minute) has passed, free of charge and typically within two days.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
"""

import secrets
from typing import Any

from botocore.exceptions import ClientError

from session_relay.store.items import Tables, condition_failed, n, s, translated_errors

LEASES_PREFIX = "inflight#"
LEASES_ITEM = "leases"
LEASE_PREFIX = "lease_"
# Kept after the last lease's expiry before TTL may delete the item (seconds).
_ITEM_MARGIN_S = 60


def leases_key(key_id: str) -> dict[str, Any]:
    return {"connection_id": s(LEASES_PREFIX + key_id), "item": s(LEASES_ITEM)}


def _leases_of(item: dict[str, Any]) -> dict[str, int]:
    return {
        name.removeprefix(LEASE_PREFIX): int(value["N"])
        for name, value in item.items()
        if name.startswith(LEASE_PREFIX)
    }


class LeaseStore(Tables):
    def _lease_update(self, key_id: str, **request: Any) -> dict[str, Any] | None:
        """One conditional UpdateItem on the key's item; None when the condition failed."""
        try:
            with translated_errors():
                return self.client.update_item(
                    TableName=self.connections_table, Key=leases_key(key_id), **request
                )
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise

    def acquire_lease(self, key_id: str, cap: int, expires_ms: int) -> str | None:
        """A new lease for ``key_id``, valid until ``expires_ms``; None when ``cap`` are held."""
        lease = secrets.token_hex(8)
        for attempt in range(2):
            try:
                with translated_errors():
                    self.client.update_item(
                        TableName=self.connections_table,
                        Key=leases_key(key_id),
                        UpdateExpression="SET #lease = :expires, expires_at = :ttl ADD held :one",
                        ConditionExpression="attribute_not_exists(held) OR held < :cap",
                        ExpressionAttributeNames={"#lease": LEASE_PREFIX + lease},
                        ExpressionAttributeValues={
                            ":expires": n(expires_ms),
                            ":ttl": n(expires_ms // 1000 + _ITEM_MARGIN_S),
                            ":one": n(1),
                            ":cap": n(cap),
                        },
                        # At the cap, the refusal carries the item: no second read to find expired leases.
                        # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                return lease
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
                held = _leases_of(exc.response.get("Item") or {})
            # At the cap: leases that a killed Lambda left behind may have expired.
            if attempt or not self._clear_expired_leases(key_id, held):
                return None
        return None

    def release_lease(self, key_id: str, lease: str) -> None:
        """Give a lease back (one already cleared as expired is left alone)."""
        self._lease_update(
            key_id,
            UpdateExpression="REMOVE #lease ADD held :minus",
            ConditionExpression="attribute_exists(#lease)",
            ExpressionAttributeNames={"#lease": LEASE_PREFIX + lease},
            ExpressionAttributeValues={":minus": n(-1)},
        )

    def leases_held(self, key_id: str) -> dict[str, int]:
        """The leases held now, by id, with their expiry (epoch ms)."""
        return _leases_of(self._get(self.connections_table, leases_key(key_id)) or {})

    def _clear_expired_leases(self, key_id: str, held: dict[str, int]) -> int:
        """Remove the leases of ``held`` past their expiry, each only if it is still the one read."""
        now_ms = self.now_ms()
        expired = {lease: expiry for lease, expiry in held.items() if expiry < now_ms}
        if not expired:
            return 0
        names = {f"#l{index}": LEASE_PREFIX + lease for index, lease in enumerate(expired)}
        values: dict[str, Any] = {":minus": n(-len(expired))}
        for index, expiry in enumerate(expired.values()):
            values[f":e{index}"] = n(expiry)
        cleared = self._lease_update(
            key_id,
            UpdateExpression=f"REMOVE {', '.join(names)} ADD held :minus",
            ConditionExpression=" AND ".join(f"#l{index} = :e{index}" for index in range(len(expired))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return 0 if cleared is None else len(expired)
