"""Owner events from the sessions table's change stream (PROTOCOL.md section 5): an ``INSERT`` is a
``session.connected``, a ``REMOVE`` a ``session.disconnected`` whose ``reason`` comes from the item
itself: ``ended_reason`` when whatever deleted it marked it first (``owner``, ``banned``, ``flood``), else
``expired`` for a delete by DynamoDB's TTL, else ``client``. Each script's events go to the webhook
FIFO queue only when its webhook subscribes to them (one read of the webhooks per batch) and the
change was made once the webhook existed: a record still in the stream from before the webhook was set
is not its event.
"""

from collections.abc import Iterable
from typing import Any

from session_relay.clock import now_ms
from session_relay.service import webhooks_queue as queue
from session_relay.store import Store
from session_relay.store.sessions import ENDED_REASON, session_from_item
from session_relay.store.table import deserialize
from session_relay.store.webhooks import WebhookRecord
from session_relay.webhook_signing import event_id

# A TTL delete's stream record: userIdentity {"type": "Service", "principalId": "dynamodb.amazonaws.com"}.
# "Record" (userIdentity), https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html
TTL_IDENTITY = ("Service", "dynamodb.amazonaws.com")
MARKED_REASONS = ("owner", "banned", "flood")
# A stream record's ApproximateCreationDateTime is "rounded down to the closest second", so a change is
# before the webhook only when its second is earlier than the second the webhook was created in.
# "StreamRecord", https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html
MS_PER_S = 1000
# The most events one delivery carries (PROTOCOL.md section 5).
DELIVERY_MAX_EVENTS = 100


def reason_for(record: dict[str, Any], old: dict[str, Any]) -> str:
    """Why a session ended, from its REMOVE record and its old image."""
    marked = old.get(ENDED_REASON)
    if marked in MARKED_REASONS:
        return marked
    identity = record.get("userIdentity") or {}
    if (identity.get("type"), identity.get("principalId")) == TTL_IDENTITY:
        return "expired"
    return "client"


def event_from_record(record: dict[str, Any]) -> dict[str, Any] | None:
    """The owner event of one stream record, or None (a change that is no event, an item that is not a
    session, or a hidden session written again after its close)."""
    name, change = record.get("eventName"), record.get("dynamodb") or {}
    if name == "INSERT":
        item, kind = deserialize(change.get("NewImage") or {}), "session.connected"
        if item.get("expires_at") == 0:  # a hidden record re-created by a late write: no new session
            return None
    elif name == "REMOVE":
        item, kind = deserialize(change.get("OldImage") or {}), "session.disconnected"
    else:
        return None
    try:
        data = session_from_item(item).session.as_dict()
    except KeyError:
        return None
    if isinstance(item.get("functions"), set | list):
        data["functions"] = sorted(item["functions"])
    if kind == "session.disconnected":
        data["reason"] = reason_for(record, item)
    created = change.get("ApproximateCreationDateTime")  # epoch seconds
    return {
        "id": event_id(str(record.get("eventID") or data["id"] + kind)),
        "type": kind,
        "created_at": int(float(created) * 1000) if created is not None else now_ms(),
        "script_id": data["script_id"],
        "data": data,
    }


def events_by_script(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The batch's events per script, in stream order (a session's INSERT before its REMOVE)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        event = event_from_record(record)
        if event is not None:
            grouped.setdefault(event["script_id"], []).append(event)
    return grouped


def wanted_by(hook: WebhookRecord, event: dict[str, Any]) -> bool:
    """Whether ``hook`` takes ``event``: one of its types, of a change made once it existed."""
    made_s, hook_s = event["created_at"] // MS_PER_S, hook.created_at // MS_PER_S
    return event["type"] in hook.events and made_s >= hook_s


def publish(store: Store, records: list[dict[str, Any]]) -> int:
    """Queue the owner events of one stream batch for the scripts whose webhooks want them; the number
    of events queued. A queue that stays unavailable raises: the batch is retried (bisected)."""
    grouped = events_by_script(records)
    if not grouped:
        return 0
    hooks = store.webhooks.get_many(grouped)
    queued = 0
    for script_id, events in grouped.items():
        hook = hooks.get(script_id)
        wanted = [event for event in events if hook is not None and wanted_by(hook, event)]
        for start in range(0, len(wanted), DELIVERY_MAX_EVENTS):
            queue.enqueue(script_id, wanted[start : start + DELIVERY_MAX_EVENTS])
        queued += len(wanted)
    return queued


def publish_one(store: Store, script_id: str, kind: str, data: dict[str, Any], source_id: str) -> bool:
    """Queue one event that does not come from the stream (``broadcast.done``, by whatever finishes a
    broadcast) for the script's webhook, if it subscribes to ``kind``; True when queued. ``source_id``
    names what caused it, so a retry derives the same event id (and the queue drops the repeat)."""
    hook = store.webhooks.get(script_id)
    if hook is None or kind not in hook.events:
        return False
    event = {
        "id": event_id(f"{kind}:{source_id}"),
        "type": kind,
        "created_at": now_ms(),
        "script_id": script_id,
        "data": data,
    }
    queue.enqueue(script_id, [event])
    return True
