"""Over real sockets: 150 sessions answer a bulk message just as its timeout ends. Every reply is either
the outcome the caller gets, or refused with an ``error`` frame (PROTOCOL.md section 2: a late reply
changes nothing and is answered with an ``error`` frame), and that frame reaches its client within 1 s
of the reply, however many replies and withdrawals race at that moment."""

import asyncio
import json
import time
from urllib.parse import urlencode

import httpx
import websockets

from session_relay_tools.simulate import raw_identity

SESSIONS = 150
TIMEOUT_S = 8.0
# Replies go out from 0.3 s before the messages' deadline to 0.3 s after (the deadline the server
# stored with them, read from the embedded DynamoDB: it starts before the 150 pending messages are
# written and their frames posted, a time that varies with the machine's load).
FIRST_REPLY_S, LAST_REPLY_S = -0.3, 0.3
ERROR_WITHIN_S = 1.0
LISTEN_S = 5.0  # how long a client listens after its reply (a frame later than that counts as never)


async def _open(stack, index: int):
    query = urlencode(raw_identity(stack.script_id, user_key=f"race-{index}", job_id="late-reply-race"))
    client = await websockets.connect(f"{stack.ws_url}/?{query}", open_timeout=30)
    await client.send(json.dumps({"action": "hello"}))
    while True:
        frame = json.loads(await client.recv())
        if frame.get("type") == "hello":
            return client, frame["session"]["id"]


async def _deadline(stack, message_id: str) -> float:
    """The stored deadline of the message ``message_id`` (every message of a bulk call has the same), as
    a ``time.monotonic()`` instant."""
    found = await asyncio.to_thread(
        stack.dynamodb().scan,
        TableName=stack.table("ConnectionsTable"),
        FilterExpression="#item = :item",
        ExpressionAttributeNames={"#item": "item"},
        ExpressionAttributeValues={":item": {"S": f"message#{message_id}"}},
        ConsistentRead=True,
    )
    (item,) = found["Items"]
    return time.monotonic() + int(item["deadline_ms"]["N"]) / 1000 - time.time()


async def _answer(client, deadline: list, offset_s: float, read_deadline) -> dict:
    """Wait for the message, reply ``offset_s`` after its deadline, then note when an ``error`` frame
    comes back (``LISTEN_S`` at most)."""
    message = json.loads(await asyncio.wait_for(client.recv(), 30))
    assert message["type"] == "message", message
    if not deadline:
        deadline.append(asyncio.ensure_future(read_deadline(message["id"])))
    reply_at = await deadline[0] + offset_s
    await asyncio.sleep(max(0.0, reply_at - time.monotonic()))
    sent_at = time.monotonic()
    reply = {"action": "reply", "id": message["id"], "processed": True, "response": message["data"]}
    await client.send(json.dumps(reply))
    seen = {"sent_at": sent_at, "error_after_s": None}
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(client.recv(), sent_at + LISTEN_S - time.monotonic()))
            if frame.get("type") == "error":
                seen["error_after_s"] = time.monotonic() - sent_at
                return seen
    except TimeoutError:
        return seen


async def _race(stack) -> tuple[dict, list[str], list[dict]]:
    opened = await asyncio.gather(*(_open(stack, index) for index in range(SESSIONS)))
    clients = [client for client, _ in opened]
    session_ids = [session_id for _, session_id in opened]
    try:
        headers = {"Authorization": f"Bearer {stack.api_key}"}
        async with httpx.AsyncClient(base_url=stack.rest_url, headers=headers, timeout=60) as api:
            body = {"session_ids": session_ids, "key": "race", "data": "x", "timeout": TIMEOUT_S}
            call = asyncio.create_task(api.post("/sessions/message", json=body))
            deadline: list[asyncio.Future] = []  # read once, by the first client its message reaches
            step = (LAST_REPLY_S - FIRST_REPLY_S) / (SESSIONS - 1)
            offsets = [FIRST_REPLY_S + step * index for index in range(SESSIONS)]
            seen = await asyncio.gather(
                *(
                    _answer(client, deadline, offset, lambda message_id: _deadline(stack, message_id))
                    for client, offset in zip(clients, offsets, strict=True)
                )
            )
            answer = await call
    finally:
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
    assert answer.status_code == 200, answer.text
    return answer.json(), session_ids, seen


def test_every_late_reply_gets_its_error_frame_within_a_second(local_stack):
    answer, session_ids, seen = asyncio.run(_race(local_stack))

    entries = answer["responses"]
    assert [entry["session_id"] for entry in entries] == session_ids
    accepted = [entry.get("processed") is True for entry in entries]
    for entry, was_accepted in zip(entries, accepted, strict=True):
        assert was_accepted or entry["reason"] == "client never responded", entry
        if was_accepted:
            assert entry["response"] == "x"
    # The race really happened: some replies made the deadline, some did not.
    assert 0 < sum(accepted) < SESSIONS
    late = [observed for observed, was_accepted in zip(seen, accepted, strict=True) if not was_accepted]
    # An accepted reply gets no error frame; every refused one gets it, within a second of its reply.
    assert all(observed["error_after_s"] is None for observed, ok in zip(seen, accepted, strict=True) if ok)
    never = float("inf")
    delays = sorted(
        never if observed["error_after_s"] is None else observed["error_after_s"] for observed in late
    )
    slow = sum(delay > ERROR_WITHIN_S for delay in delays)
    assert slow == 0, (
        f"{slow} of {len(delays)} error frames came more than {ERROR_WITHIN_S} s after their reply "
        f"(median {delays[len(delays) // 2]:.2f} s, slowest {delays[-1]:.2f} s)"
    )
