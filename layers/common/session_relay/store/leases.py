"""The leases repository: calls in flight per API key, bounded by leases that expire (PROTOCOL.md,
Errors: 429). One item per key in the connections table (``connection_id = "inflight#<key id>"``,
``item = "leases"``) holds ``lease_<id> = <expiry, epoch ms>`` per lease and ``held``, their count,
both changed together by one conditional UpdateItem. A lease a killed Lambda never gave back is
cleared, once expired, by the next caller that finds the key at its cap; TTL deletes idle items.
"""

import secrets
from typing import Any

from session_relay import clock
from session_relay.store.table import Table

LEASES_PREFIX = "inflight#"
LEASES_ITEM = "leases"
LEASE_PREFIX = "lease_"
# Kept after the last lease's expiry before TTL may delete the item (seconds).
_ITEM_MARGIN_S = 60


def leases_key(key_id: str) -> dict[str, Any]:
    return {"connection_id": LEASES_PREFIX + key_id, "item": LEASES_ITEM}


def _leases_of(item: dict[str, Any]) -> dict[str, int]:
    held = {name: expiry for name, expiry in item.items() if name.startswith(LEASE_PREFIX)}
    return {name.removeprefix(LEASE_PREFIX): expiry for name, expiry in held.items()}


class Leases:
    """Leases on calls in flight, one item per API key (table ``connections``)."""

    def __init__(self, connections: Table) -> None:
        self.table = connections

    def acquire(self, key_id: str, cap: int, expires_ms: int) -> str | None:
        """A new lease for ``key_id``, valid until ``expires_ms``; None when ``cap`` are held."""
        lease = secrets.token_hex(8)
        for attempt in range(2):
            written = self.table.conditional(
                "update_item",
                leases_key(key_id),
                "attribute_not_exists(held) OR held < :cap",
                update="SET #lease = :expires, expires_at = :ttl ADD held :one",
                names={"#lease": LEASE_PREFIX + lease},
                values={
                    ":expires": expires_ms,
                    ":ttl": expires_ms // 1000 + _ITEM_MARGIN_S,
                    ":one": 1,
                    ":cap": cap,
                },
                # At the cap, the refusal carries the item: no second read to find expired leases.
                # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
                old_on_refusal=True,
            )
            if written.applied:
                return lease
            # At the cap: leases that a killed Lambda left behind may have expired.
            if attempt or not self._clear_expired(key_id, _leases_of(written.item)):
                return None
        return None

    def release(self, key_id: str, lease: str) -> None:
        """Give a lease back (one already cleared as expired is left alone)."""
        self.table.conditional(
            "update_item",
            leases_key(key_id),
            "attribute_exists(#lease)",
            update="REMOVE #lease ADD held :minus",
            names={"#lease": LEASE_PREFIX + lease},
            values={":minus": -1},
        )

    def _clear_expired(self, key_id: str, held: dict[str, int]) -> int:
        """Remove the leases of ``held`` past their expiry, each only if it is still the one read."""
        now_ms = clock.now_ms()
        expired = {lease: expiry for lease, expiry in held.items() if expiry < now_ms}
        if not expired:
            return 0
        names = {f"#l{index}": LEASE_PREFIX + lease for index, lease in enumerate(expired)}
        values: dict[str, Any] = {":minus": -len(expired)}
        for index, expiry in enumerate(expired.values()):
            values[f":e{index}"] = expiry
        cleared = self.table.conditional(
            "update_item",
            leases_key(key_id),
            " AND ".join(f"#l{index} = :e{index}" for index in range(len(expired))),
            update=f"REMOVE {', '.join(names)} ADD held :minus",
            names=names,
            values=values,
        )
        return len(expired) if cleared.applied else 0
