"""The bans repository, in the auth table (PROTOCOL.md, "Extension: bans").

- ``ban#user#<[script, user_key]>`` / ``ban#roblox#<[script, roblox_id]>`` (the pair as JSON, so no
  script id or user key can run into another): the ban in force for that identity on that script; the
  handshake reads both with the script in one BatchGetItem (``Auth.admission``);
- ``banid#<id>`` -> the ban's item: the way from the id an owner holds to its ban;
- the ``by_owner`` index (``ban_owner``, ``ban_listing``) lists a key's bans newest first.

A ban given an ``expires_in`` carries ``expires_at`` (epoch seconds, the table's TTL attribute); TTL
deletion lags, so every read treats an expired ban as absent.
"""

import json
from dataclasses import dataclass
from typing import Any

from session_relay import clock
from session_relay.store.keys import live
from session_relay.store.listing import decode_cursor, encode_cursor, listing_key
from session_relay.store.table import Table, batch_write

_BY_OWNER = "by_owner"


@dataclass(frozen=True, slots=True)
class Ban:
    """One ban: on ``script_id``, of exactly one of ``user_key`` and ``roblox_id``, by the API key
    ``owner``. Times are epoch milliseconds; ``expires_at`` None means until lifted."""

    id: str
    script_id: str
    owner: str
    created_at: int
    user_key: str | None = None
    roblox_id: int | None = None
    reason: str | None = None
    expires_at: int | None = None

    def as_contract(self) -> dict[str, Any]:
        target = {"user_key": self.user_key} if self.user_key is not None else {"roblox_id": self.roblox_id}
        return {
            "id": self.id,
            "script_id": self.script_id,
            **target,
            "reason": self.reason,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


def ban_key(script_id: str, user_key: str | None = None, roblox_id: int | None = None) -> dict[str, Any]:
    """The auth-table key of the ban of this identity on this script."""
    if user_key is not None:
        return {"pk": "ban#user#" + json.dumps([script_id, user_key], ensure_ascii=False)}
    return {"pk": "ban#roblox#" + json.dumps([script_id, roblox_id])}


def _id_key(ban_id: str) -> dict[str, Any]:
    return {"pk": f"banid#{ban_id}"}


def _ttl_s(ban: Ban) -> dict[str, Any]:
    # Epoch seconds, rounded up: the item outlives the ban's last millisecond.
    return {} if ban.expires_at is None else {"expires_at": -(-ban.expires_at // 1000)}


def ban_item(ban: Ban) -> dict[str, Any]:
    item: dict[str, Any] = {
        **ban_key(ban.script_id, ban.user_key, ban.roblox_id),
        "kind": "ban",
        "ban_id": ban.id,
        "script_id": ban.script_id,
        "ban_owner": ban.owner,
        "ban_listing": listing_key(ban.created_at, ban.id),
        "created_at": ban.created_at,
        **_ttl_s(ban),
    }
    if ban.expires_at is not None:
        item["ends_at"] = ban.expires_at
    for name in ("user_key", "roblox_id", "reason"):
        if getattr(ban, name) is not None:
            item[name] = getattr(ban, name)
    return item


def ban_from_item(item: dict[str, Any]) -> Ban:
    return Ban(
        id=item["ban_id"],
        script_id=item["script_id"],
        owner=item["ban_owner"],
        created_at=item["created_at"],
        user_key=item.get("user_key"),
        roblox_id=item.get("roblox_id"),
        reason=item.get("reason"),
        expires_at=item.get("ends_at"),
    )


def banned(item: dict[str, Any] | None, now_s: int) -> bool:
    """True for a ban item in force (an expired one not yet deleted by TTL is ignored)."""
    return item is not None and live(item, now_s)


class Bans:
    """Bans (table ``auth``)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, ban: Ban) -> None:
        """Store a ban and its id (one BatchWriteItem). A ban of the same identity on the same script
        is replaced: the newest ban is the one in force, and the older id reads as unknown."""
        target = ban_key(ban.script_id, ban.user_key, ban.roblox_id)["pk"]
        lookup = {**_id_key(ban.id), "kind": "banid", "target": target, **_ttl_s(ban)}
        requests = [self.table.put_request(ban_item(ban)), self.table.put_request(lookup)]
        batch_write(self.table.client, requests)

    def get(self, ban_id: str) -> Ban | None:
        """The ban in force with this id, or None (strongly consistent: two GetItems)."""
        now_s = clock.now_s()
        lookup = self.table.get(_id_key(ban_id))
        if lookup is None or not live(lookup, now_s):
            return None
        item = self.table.get({"pk": lookup["target"]})
        if not banned(item, now_s) or item["ban_id"] != ban_id:
            return None
        return ban_from_item(item)

    def delete(self, ban: Ban) -> bool:
        """Lift a ban (if it is still this one); False when it was already gone or replaced."""
        lifted = self.table.conditional(
            "delete_item",
            ban_key(ban.script_id, ban.user_key, ban.roblox_id),
            "ban_id = :id",
            values={":id": ban.id},
        ).applied
        self.table.delete(_id_key(ban.id))
        return lifted

    def page(
        self, owner: str, script_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Ban], str | None]:
        """The bans in force ``owner`` gave (on ``script_id`` when given), newest first, and the next
        page's cursor. The index is read eventually consistently, so the page's bans are read again
        from the table (one BatchGetItem per 100): a ban lifted a moment ago is never listed.
        https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Reading
        """
        after = decode_cursor(cursor) if cursor else None
        now_s = clock.now_s()
        key_condition = "ban_owner = :owner" + (" AND ban_listing > :after" if after else "")
        values: dict[str, Any] = {":owner": owner, ":now": now_s}
        # TTL deletion lags: an expired ban still in the index is filtered out.
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ttl-expired-items.html
        condition = "(attribute_not_exists(expires_at) OR expires_at > :now)"
        if after:
            values[":after"] = after
        if script_id is not None:
            condition += " AND script_id = :script"
            values[":script"] = script_id
        found: list[dict[str, Any]] = []
        for item in self.table.query(
            values=values,
            IndexName=_BY_OWNER,
            KeyConditionExpression=key_condition,
            FilterExpression=condition,
            Limit=max(limit + 1, 25),
        ):
            found.append(item)
            if len(found) > limit:
                break
        page = found[:limit]
        next_cursor = encode_cursor(page[-1]["ban_listing"]) if len(found) > limit else None
        return self._still_in_force(page, owner, now_s), next_cursor

    def _still_in_force(self, listed: list[dict[str, Any]], owner: str, now_s: int) -> list[Ban]:
        """The listed bans that the table (read strongly consistently) still holds as they were listed."""
        if not listed:
            return []
        current = {item["pk"]: item for item in self.table.batch_get([{"pk": item["pk"]} for item in listed])}
        bans = []
        for item in listed:
            now = current.get(item["pk"])
            if banned(now, now_s) and now["ban_id"] == item["ban_id"] and now["ban_owner"] == owner:
                bans.append(ban_from_item(now))
        return bans
