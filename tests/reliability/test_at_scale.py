"""At scale on the local stack, over real sockets: no accepted reply lost at a bulk deadline, every
answer before the integration timeout (1000 silent sessions under load), bulk answers fitted to
Lambda's 6 MB response limit, and one owner's flood never starving another owner.

Each test is bounded in time and count and talks to loopback only.
"""

import asyncio
import json
import random
import secrets
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets
from session_relay.service.fitting import ENVELOPE_BYTES, LAMBDA_RESPONSE_LIMIT_BYTES, proxy_bytes
from support.owners import OwnerKey, operator_owner

from session_relay_tools.local.process import RunningStack, start_stack, stop_stack
from session_relay_tools.simulate import Fleet, RawClient, identity_for, raw_identity

from .conftest import scan_table

NEVER = {"processed": False, "reason": "client never responded"}


async def _never(_data: Any) -> Any:
    await asyncio.Event().wait()


def pending(stack: RunningStack) -> int:
    return sum(
        1 for item in scan_table(stack, "ConnectionsTable") if item.get("status", {}).get("S") == "pending"
    )


# ------------------------------------------------------------------------------------------------
# The deadline race: 150 sessions replying spread across the deadline, three rounds
# ------------------------------------------------------------------------------------------------

RACERS = 150
ROUNDS = 3
TIMEOUT_S = 4.0


def _answered(stack: RunningStack, message_ids: set[str]) -> set[str]:
    """The messages whose reply the server accepted (recorded as answered in DynamoDB)."""
    return {
        item["item"]["S"].removeprefix("message#")
        for item in scan_table(stack, "ConnectionsTable")
        if item["item"]["S"].removeprefix("message#") in message_ids
        and item.get("status", {}).get("S") == "answered"
    }


def _refused(client: Any, message_id: str) -> bool:
    return _refused_at(client, message_id) is not None


def _refused_at(client: Any, message_id: str) -> float | None:
    """When the error frame refusing the reply to ``message_id`` arrived (``time.monotonic()``)."""
    frames = list(zip(client.received_at, client.received, strict=False))
    return next((at for at, f in frames if f.get("type") == "error" and message_id in f["error"]), None)


def test_no_reply_the_server_accepted_is_reported_otherwise_at_a_bulk_deadline(local_stack, place_id):
    """150 sessions reply spread across the deadline of one bulk message, three rounds. A reply the
    server accepted (recorded as answered; the client got no error frame) must be the entry's
    response; every other reply was refused with an error frame, within a second of being sent."""
    returned: dict[str, float] = {}  # (session, nonce) pairs whose function returned: when it replied
    error_after_s: list[float] = []  # from a refused reply to its error frame

    def racer_for(index: int) -> Any:
        async def racer(data: Any) -> Any:
            await asyncio.sleep(random.uniform(TIMEOUT_S - 2.5, TIMEOUT_S + 1.0))
            returned[f"{index}:{data}"] = time.monotonic()
            return data

        return racer

    fleet = Fleet(local_stack.ws_url, local_stack.script_id)
    tally = {"accepted": 0, "refused": 0, "lost": 0}
    try:
        clients = [
            fleet.connect(
                1,
                identity=identity_for(local_stack.script_id, i, place_id=place_id),
                functions={"race": racer_for(i)},
            )[0]
            for i in range(RACERS)
        ]
        ids = [client.session_id for client in clients]
        with local_stack.client() as api:
            for round_number in range(ROUNDS):
                nonce = f"round-{round_number}-{secrets.token_hex(4)}"
                body = {"session_ids": ids, "key": "race", "data": nonce, "timeout": TIMEOUT_S}
                answer = api.post("/sessions/message", json=body)
                assert answer.status_code == 200, answer.text
                entries = answer.json()["responses"]
                assert [entry["session_id"] for entry in entries] == ids
                message_ids = {}
                for index, client in enumerate(clients):
                    (message,) = [
                        f for f in list(client.received) if f.get("type") == "message" and f["data"] == nonce
                    ]
                    message_ids[index] = message["id"]
                # Every reply sent, and each either recorded or refused, before counting.
                settle_by = time.monotonic() + 30
                while True:
                    answered = _answered(local_stack, set(message_ids.values()))
                    unsettled = [
                        index
                        for index, client in enumerate(clients)
                        if f"{index}:{nonce}" not in returned
                        or not (message_ids[index] in answered or _refused(client, message_ids[index]))
                    ]
                    if not unsettled or time.monotonic() > settle_by:
                        break  # a reply still neither recorded nor refused was accepted, then dropped
                    time.sleep(0.3)
                for index, (client, entry) in enumerate(zip(clients, entries, strict=True)):
                    message_id = message_ids[index]
                    if message_id in answered:  # the server accepted this reply
                        assert not _refused(client, message_id)
                        if entry.get("processed") and entry["response"] == nonce:
                            tally["accepted"] += 1
                        else:
                            tally["lost"] += 1
                    elif not _refused(client, message_id):
                        tally["lost"] += 1  # sent, no error frame, yet not recorded: dropped
                    else:
                        assert {k: entry[k] for k in ("processed", "reason")} == NEVER, entry
                        tally["refused"] += 1
                        error_after_s.append(_refused_at(client, message_id) - returned[f"{index}:{nonce}"])
    finally:
        fleet.stop()
    error_after_s.sort()
    print(f"deadline race, {RACERS} sessions x {ROUNDS} rounds: {tally}; error frames after the reply:")
    print(f"median {statistics.median(error_after_s):.3f} s, slowest {error_after_s[-1]:.3f} s")
    assert tally["lost"] == 0, tally
    # The replies really were spread across the deadline: some won the race, some lost it.
    assert tally["accepted"] > 0, tally
    assert tally["refused"] > 0, tally
    assert pending(local_stack) == 0
    # A refused late reply hears so within a second, however many raced it.
    assert error_after_s[-1] < 1.0, error_after_s[-5:]


# ------------------------------------------------------------------------------------------------
# 1000 sessions that never answer, timeout 60, on a stack with a 29 s integration timeout, under load
# ------------------------------------------------------------------------------------------------

SILENT = 1000


CAP = 10  # calls in flight per key on the capped stack (the template's default is 50)


@pytest.fixture(scope="module")
def capped_stack() -> Iterator[RunningStack]:
    """A stack with a cap of 10 calls in flight per key: the embedded DynamoDB serves one request at
    a time (about 8 ms each), and 50 waiting calls polling four times a second would alone ask more
    of it than it serves."""
    stack = start_stack({"MAX_CALLS_IN_FLIGHT": str(CAP)})
    yield stack
    stop_stack(stack)


async def _open_silent(
    stack: RunningStack, place_id: int, opened: list[Any], ready: threading.Event, stop: asyncio.Event
) -> None:
    """Open connections that never send a frame (nor answer one), in waves of 100, and hold them
    until ``stop``; then close them in waves of 50."""
    for start in range(0, SILENT, 100):
        wave = []
        for index in range(start, start + 100):
            query = urlencode(raw_identity(stack.script_id, user_key=f"silent-{index}", place_id=place_id))
            wave.append(websockets.connect(f"{stack.ws_url}/?{query}", open_timeout=60))
        opened.extend(await asyncio.gather(*wave))
    ready.set()
    await stop.wait()
    for start in range(0, len(opened), 50):
        await asyncio.gather(
            *(socket.close() for socket in opened[start : start + 50]), return_exceptions=True
        )


def _listed_ids(api: httpx.Client, place_id: int) -> list[str]:
    ids, cursor = [], None
    while True:
        params = {"place_id": place_id, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = api.get("/sessions", params=params).json()
        ids += [session["id"] for session in page["sessions"]]
        if not (cursor := page["next_cursor"]):
            return ids


def test_1000_silent_sessions_with_timeout_60_answer_before_a_29_s_integration_timeout():
    # Its own stack, stopped before the 1000 connections close: their $disconnects would keep the
    # embedded DynamoDB busy for a minute and more.
    stack = start_stack({"INTEGRATION_TIMEOUT_MS": "29000"})
    place_id = 1 + secrets.randbelow(2**40)
    loop = asyncio.new_event_loop()
    opened: list[Any] = []
    ready = threading.Event()
    stop = asyncio.Event()
    holder = threading.Thread(
        target=loop.run_until_complete,
        args=(_open_silent(stack, place_id, opened, ready, stop),),
        daemon=True,
    )
    holder.start()
    load = Fleet(stack.ws_url, stack.script_id)
    busy = threading.Event()
    try:
        assert ready.wait(240), "the silent sessions did not connect"
        with stack.client() as api:
            ids = _listed_ids(api, place_id)
            assert len(ids) == SILENT
            echoes = load.connect(3)

            def keep_busy(client: Any) -> None:  # the stack under load: other calls all along
                with stack.client() as caller:
                    while not busy.is_set():
                        caller.post(f"/sessions/{client.session_id}/message", json={"key": "echo", "data": 1})

            workers = [threading.Thread(target=keep_busy, args=(echo,), daemon=True) for echo in echoes]
            for worker in workers:
                worker.start()
            started = time.monotonic()
            answer = api.post("/sessions/message", json={"session_ids": ids, "key": "echo", "timeout": 60})
            elapsed = time.monotonic() - started
            busy.set()
            for worker in workers:
                worker.join(30)
        assert answer.status_code == 200, f"{answer.status_code} after {elapsed:.2f} s: {answer.text[:200]}"
        entries = answer.json()["responses"]
        assert [entry["session_id"] for entry in entries] == ids
        assert all({k: entry[k] for k in ("processed", "reason")} == NEVER for entry in entries)
        assert pending(stack) == 0  # every message withdrawn, none left for a late reply to land on
        print(f"1000 silent sessions, timeout 60, integration timeout 29 s: answered 200 in {elapsed:.2f} s")
    finally:
        busy.set()
        load.stop()
        stop_stack(stack)
        loop.call_soon_threadsafe(stop.set)
        holder.join(120)


# ------------------------------------------------------------------------------------------------
# Bulk answers at Lambda's 6 MB limit, with multi-byte and escape-heavy responses
# ------------------------------------------------------------------------------------------------

# Under 32 KB as a reply frame, about 69 KB inside the proxy response (quotes and backslashes are
# escaped twice there, control characters once more, other characters as \uXXXX escapes).
HEAVY = '"' * 6000 + "é" * 3000 + "🎮" * 1500 + "\\" * 2000 + "\u0001" * 100 + "</script>"


def test_a_bulk_answer_at_the_size_limit_is_filled_in_order_and_fits(local_stack, place_id):
    fleet = Fleet(local_stack.ws_url, local_stack.script_id)
    try:
        clients = [
            fleet.connect(
                1,
                identity=identity_for(local_stack.script_id, i, place_id=place_id),
                functions={"heavy": lambda _d: HEAVY},
            )[0]
            for i in range(160)
        ]
        ids = [client.session_id for client in clients]
        with local_stack.client() as api:
            answer = api.post("/sessions/message", json={"session_ids": ids, "key": "heavy", "timeout": 30})
    finally:
        fleet.stop()
    assert answer.status_code == 200, answer.text[:300]
    entries = answer.json()["responses"]
    assert [entry["session_id"] for entry in entries] == ids
    full = [index for index, entry in enumerate(entries) if entry.get("processed")]
    assert all(entries[index]["response"] == HEAVY for index in full)
    assert full == list(range(len(full)))  # request order: the first ones that fit, then the rest
    print(f"bulk answer at the size limit: {len(full)} of {len(ids)} entries in full, {size_note(answer)}")
    assert 50 < len(full) < len(ids)
    assert all(
        entry == {"session_id": entry["session_id"], "processed": False, "reason": "response too large"}
        for entry in entries[len(full) :]
    )
    # Measured as the runtime serializes the proxy response (the body string escaped once more).
    proxy = {
        "statusCode": 200,
        "headers": dict(answer.headers),
        "multiValueHeaders": {},
        "body": answer.text,
        "isBase64Encoded": False,
    }
    size = len(json.dumps(proxy).encode())  # with non-ASCII escaped: the larger of the two ways
    assert size <= LAMBDA_RESPONSE_LIMIT_BYTES
    assert len(json.dumps(proxy, ensure_ascii=False).encode()) <= size
    # ...and at the limit: one more full entry would not have fitted.
    one_more = proxy_bytes(
        json.dumps({"session_id": ids[len(full)], "processed": True, "response": HEAVY}, ensure_ascii=False)
    )
    assert proxy_bytes(answer.text) + one_more > LAMBDA_RESPONSE_LIMIT_BYTES - ENVELOPE_BYTES


def size_note(answer: httpx.Response) -> str:
    return f"body {len(answer.content):,} bytes, {proxy_bytes(answer.text):,} inside the proxy response"


# ------------------------------------------------------------------------------------------------
# Fairness: owner B's echo stays fast while owner A floods calls, and while an executor floods frames
# ------------------------------------------------------------------------------------------------

FAST_S = 3.0


def owner_b_echo_on(stack: RunningStack, owner: OwnerKey) -> Iterator[Any]:
    """Owner B's echo call on ``stack``: returns how long one took (its answer is checked)."""
    fleet = Fleet(stack.ws_url, owner.script_id)
    (client,) = fleet.connect(1)
    with stack.client(api_key=owner.api_key) as api_b:

        def echo(data: Any) -> float:
            started = time.monotonic()
            answer = api_b.post(f"/sessions/{client.session_id}/message", json={"key": "echo", "data": data})
            assert answer.json() == {"success": True, "processed": True, "response": data}
            return time.monotonic() - started

        yield echo
    fleet.stop()


@pytest.fixture
def owner_b_echo(local_stack: RunningStack, second_owner: OwnerKey) -> Iterator[Any]:
    yield from owner_b_echo_on(local_stack, second_owner)


@pytest.fixture
def owner_b_echo_capped(capped_stack: RunningStack) -> Iterator[Any]:
    yield from owner_b_echo_on(capped_stack, operator_owner(capped_stack, "owner B"))


def test_owner_b_stays_fast_while_owner_a_floods_calls_in_flight(capped_stack, owner_b_echo_capped):
    local_stack, owner_b_echo = capped_stack, owner_b_echo_capped
    fleet = Fleet(local_stack.ws_url, local_stack.script_id)
    (silent,) = fleet.connect(1, functions={"wait": _never})
    statuses: list[int] = []
    retry_after: set[str] = set()

    async def flood() -> None:
        async with httpx.AsyncClient(
            base_url=local_stack.rest_url,
            headers={"Authorization": f"Bearer {local_stack.api_key}"},
            timeout=60,
        ) as api_a:
            body = {"key": "wait", "timeout": 8}
            answers = await asyncio.gather(
                *(api_a.post(f"/sessions/{silent.session_id}/message", json=body) for _ in range(200))
            )
        for answer in answers:
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                retry_after.add(answer.headers.get("retry-after", ""))

    held: list[int] = []  # the key's leases, sampled from its DynamoDB item during the flood
    dynamodb = local_stack.dynamodb()
    flooder = threading.Thread(target=asyncio.run, args=(flood(),))
    flooder.start()

    def sample() -> None:
        key = {"connection_id": {"S": "inflight#key_dev"}, "item": {"S": "leases"}}
        while flooder.is_alive():
            item = dynamodb.get_item(
                TableName=local_stack.table("ConnectionsTable"), Key=key, ConsistentRead=True
            )
            held.append(int(item.get("Item", {}).get("held", {}).get("N", "0")))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    time.sleep(1.0)
    latencies = [owner_b_echo(n) for n in range(3)]
    flooder.join(60)
    sampler.join(10)
    fleet.stop()
    assert len(statuses) == 200
    assert set(statuses) <= {200, 429}
    assert statuses.count(429) >= 150
    assert retry_after == {"1"}
    assert max(held) == CAP  # the cap was reached and never passed
    assert max(latencies) < FAST_S, latencies
    print(f"owner B's echo while owner A floods: {', '.join(f'{s:.2f}' for s in latencies)} s")


def test_owner_b_stays_fast_while_an_executor_floods_frames(local_stack, owner_b_echo):
    flooder = RawClient.open(local_stack.ws_url, urlencode(raw_identity(local_stack.script_id)))
    session_id = flooder.hello()["id"]
    sent = threading.Event()
    frames: list[dict] = []

    def flood() -> None:
        try:
            # 100 at once: spread over as many execution environments, each counting only its share
            # (PROTOCOL.md section 2), so each of them is handled.
            for n in range(100):
                flooder.send("junk frame " + str(n))
            # Then 100 a second, five times the sustained rate, until the server closes the connection.
            for n in range(3000):
                flooder.send("paced junk frame " + str(n))
                time.sleep(0.01)
        except websockets.ConnectionClosed:
            pass
        sent.set()

    def read() -> None:  # as a client does: what the server sends is read while it floods
        try:
            while True:
                frames.append(flooder.receive(timeout=60))
        except (websockets.ConnectionClosed, TimeoutError):
            pass

    reader = threading.Thread(target=read)
    reader.start()
    thread = threading.Thread(target=flood)
    thread.start()
    latencies = [owner_b_echo(n) for n in range(3)]
    thread.join(90)
    reader.join(90)
    assert sent.is_set()
    assert {"type": "disconnect", "reason": "too many frames"} in frames
    with pytest.raises(websockets.ConnectionClosed):
        flooder.socket.recv(5)
    assert max(latencies) < FAST_S, latencies
    with local_stack.client() as api:
        deadline = time.monotonic() + 20
        while api.get(f"/sessions/{session_id}").status_code != 404:  # its $disconnect removes it
            assert time.monotonic() < deadline
            time.sleep(0.2)
    print(f"owner B's echo while an executor floods frames: {', '.join(f'{s:.2f}' for s in latencies)} s")
