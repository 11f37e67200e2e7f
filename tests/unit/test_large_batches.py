"""Batches whose record passes DynamoDB's 400 KB item limit: 1000 session ids of 128 characters that
take many bytes each (4-byte emoji in UTF-8, control characters that JSON escapes to 6 bytes). Every
valid bulk body records, answers and reads back byte-identically.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items
"""

import contextlib
import json

import pytest
from session_relay import clock
from session_relay.contract import MAX_BULK_IDS, MAX_FIELD_LENGTH, REASON_NOT_FOUND
from session_relay.store import OutcomeRecord, Target
from session_relay.store.outcomes import outcome_expiry_s
from session_relay.wire import dump_json

ITEM_LIMIT_BYTES = 400 * 1024
# Control characters JSON escapes as "\u00XX" (6 bytes); \b \t \n \f \r have 2-byte escapes.
_SIX_BYTE_CONTROLS = [chr(c) for c in range(1, 0x20) if chr(c) not in "\b\t\n\f\r"]


def emoji_ids(count: int = MAX_BULK_IDS) -> list[str]:
    """Distinct ids of 128 characters of 4 bytes each in UTF-8."""
    return [
        chr(0x1F300 + i % 256) + chr(0x1F300 + i // 256) + "\U0001f600" * (MAX_FIELD_LENGTH - 2)
        for i in range(count)
    ]


def control_ids(count: int = MAX_BULK_IDS) -> list[str]:
    """Distinct ids of 128 control characters, each escaped to 6 bytes by JSON."""
    base = len(_SIX_BYTE_CONTROLS)

    def digits(i: int) -> str:
        return "".join(_SIX_BYTE_CONTROLS[i // base**k % base] for k in range(3))

    return [digits(i) + "\x01" * (MAX_FIELD_LENGTH - 3) for i in range(count)]


def item_bytes(item: dict) -> int:
    """An item's size as DynamoDB counts it (attribute names + UTF-8 values; numbers at most 21)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "B" in value:
            size += len(value["B"])
        else:
            size += 21
    return size


def post_bulk(client, owner, body, key=None):
    """The body as UTF-8 JSON (as a client sends it: escaping every emoji would pass the 1 MB cap)."""
    headers = dict(owner.headers) if key is None else {**owner.headers, "Idempotency-Key": key}
    return client.post("/sessions/message", headers=headers, content=dump_json({"key": "k", **body}))


def read_batch(client, owner, batch_id, wait=None):
    params = None if wait is None else {"wait": str(wait)}
    return client.get(f"/batches/{batch_id}", headers=owner.headers, params=params)


def assert_all_not_found(responses, session_ids):
    assert [entry["session_id"] for entry in responses] == session_ids
    assert [entry["session_id"].encode() for entry in responses] == [sid.encode() for sid in session_ids]
    assert all(
        entry == {"session_id": sid, "processed": False, "reason": REASON_NOT_FOUND}
        for entry, sid in zip(responses, session_ids, strict=True)
    )


def outcome_items(dynamodb, aws):
    return dynamodb.scan(TableName=aws["OUTCOMES_TABLE"])["Items"]


@pytest.mark.parametrize("make_ids", [emoji_ids, control_ids], ids=["emoji", "control"])
def test_wait_false_with_the_largest_ids_is_202_and_reads_back_every_id(
    client, owner, make_ids, dynamodb, aws
):
    session_ids = make_ids()
    assert len(dump_json(session_ids).encode()) > ITEM_LIMIT_BYTES  # the record cannot be one item

    sent = post_bulk(client, owner, {"session_ids": session_ids, "wait": False})

    assert sent.status_code == 202, sent.text
    batch_id = sent.json()["batch_id"]
    answer = read_batch(client, owner, batch_id)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["done"] is True
    assert_all_not_found(body["responses"], session_ids)
    assert read_batch(client, owner, batch_id).text == answer.text
    # Every item the record took is within the limit, and all share the record's TTL.
    items = outcome_items(dynamodb, aws)
    assert len(items) > 1
    assert all(item_bytes(item) < ITEM_LIMIT_BYTES for item in items)
    assert len({item["expires_at"]["N"] for item in items}) == 1


@pytest.mark.parametrize("make_ids", [emoji_ids, control_ids], ids=["emoji", "control"])
def test_idempotent_synchronous_bulk_with_the_largest_ids_answers_and_repeats(client, owner, make_ids):
    session_ids = make_ids()
    body = {"session_ids": session_ids, "timeout": 2}

    first = post_bulk(client, owner, body, key="huge-1")
    repeat = post_bulk(client, owner, body, key="huge-1")

    assert first.status_code == 200, first.text
    assert repeat.status_code == 200, repeat.text
    assert repeat.text == first.text
    assert_all_not_found(first.json()["responses"], session_ids)


def test_live_sessions_among_the_largest_unknown_ids_get_their_replies(client, owner, connect, gateway):
    live = [connect(owner.script_id), connect(owner.script_id)]
    unknown = emoji_ids(MAX_BULK_IDS - len(live))
    order = [live[0].session_id, *unknown[:500], live[1].session_id, *unknown[500:]]

    sent = post_bulk(client, owner, {"session_ids": order, "data": {"n": 7}, "wait": False, "timeout": 5})
    assert sent.status_code == 202, sent.text
    later = read_batch(client, owner, sent.json()["batch_id"], wait=10).json()
    kept = post_bulk(client, owner, {"session_ids": order, "data": {"n": 8}, "timeout": 5}, key="mix")
    repeat = post_bulk(client, owner, {"session_ids": order, "data": {"n": 8}, "timeout": 5}, key="mix")

    for answer, data in ((later, {"n": 7}), (kept.json(), {"n": 8})):
        responses = answer["responses"]
        assert [entry["session_id"] for entry in responses] == order
        assert responses[0] == {"session_id": live[0].session_id, "processed": True, "response": data}
        assert responses[501] == {"session_id": live[1].session_id, "processed": True, "response": data}
        assert_all_not_found(responses[1:501] + responses[502:], unknown)
    assert repeat.status_code == 200
    assert repeat.text == kept.text
    gateway.settle()
    assert all([frame["type"] for frame in session.received] == ["message", "message"] for session in live)


@pytest.mark.parametrize("make_ids", [emoji_ids, control_ids], ids=["emoji", "control"])
def test_store_round_trip_of_the_largest_batch(relay_store, make_ids, dynamodb, aws):
    ids = make_ids()
    # Every other target found, with a connection and message id as the service writes them.
    targets = tuple(
        Target(sid, f"conn-{i:04d}=", f"{i:032x}") if i % 2 else Target(sid) for i, sid in enumerate(ids)
    )
    record = OutcomeRecord("key-id", clock.now_ms() + 60_000, targets)

    relay_store.outcomes.put_batch_record("b" * 32, record)

    assert relay_store.outcomes.get_batch_record("b" * 32) == record
    items = outcome_items(dynamodb, aws)
    assert len(items) > 1
    assert all(item_bytes(item) < ITEM_LIMIT_BYTES for item in items)
    assert {int(item["expires_at"]["N"]) for item in items} == {outcome_expiry_s(record.deadline_ms)}
    # A part is not a record of its own.
    part_ids = [item["id"]["S"] for item in items if item["id"]["S"] != "batch#" + "b" * 32]
    assert part_ids
    for part_id in part_ids:
        assert relay_store.outcomes.get_batch_record(part_id.removeprefix("batch#")) is None


def test_a_small_record_is_still_one_item_in_todays_shape(relay_store, dynamodb, aws):
    record = OutcomeRecord("key-id", 10**13, (Target("a", "conn=", "m" * 32), Target("b")))

    relay_store.outcomes.put_batch_record("c" * 32, record)

    (item,) = outcome_items(dynamodb, aws)
    assert set(item) == {"id", "owner", "deadline_ms", "targets", "expires_at"}
    assert json.loads(item["targets"]["S"]) == [["a", "conn=", "m" * 32], ["b", None, None]]
    assert relay_store.outcomes.get_batch_record("c" * 32) == record


def test_writing_a_large_record_id_again_leaves_the_first_record_whole(relay_store):
    first = OutcomeRecord("key-id", clock.now_ms() + 60_000, tuple(Target(sid) for sid in control_ids()))
    second = OutcomeRecord("key-id", clock.now_ms() + 60_000, tuple(Target(sid) for sid in emoji_ids()))
    relay_store.outcomes.put_batch_record("d" * 32, first)

    with contextlib.suppress(Exception):  # refused: how is the service's concern
        relay_store.outcomes.put_batch_record("d" * 32, second)

    assert relay_store.outcomes.get_batch_record("d" * 32) == first
