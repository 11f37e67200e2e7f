"""The local stack's own pace: waves of sessions connecting and leaving, the listing under many live
sessions, and one process holding thousands of simulated sessions.

``wave``: sessions connect (hundreds at a time), optionally get a message each that stays pending
(``sleep`` for minutes, sent with ``"wait": false``), close together, and the clock stops when the
listing is empty; then more handshakes arrive at once and the refusals are counted.
``many``: thousands of live sessions, ``GET /sessions?limit=1`` timed, then one bulk message to 1000.
"""

import asyncio
import statistics
import time
from collections import Counter
from typing import Any

from bench.stats import all_processed
from session_relay_tools.local.process import RunningStack
from session_relay_tools.simulate import Fleet, SimulatedClient, identity_for

CONNECT_STEP = 100  # handshakes started together (Fleet.connect waits for each step's hellos)
PENDING_S = 300  # a pending message's function runs longer than the whole scenario


def connect(fleet: Fleet, count: int) -> tuple[list[SimulatedClient], float]:
    """``count`` sessions connected, ``CONNECT_STEP`` at a time; and the seconds it took."""
    started = time.perf_counter()
    clients: list[SimulatedClient] = []
    while len(clients) < count:
        clients += fleet.connect(min(CONNECT_STEP, count - len(clients)))
    return clients, time.perf_counter() - started


def close_all(fleet: Fleet, clients: list[SimulatedClient]) -> None:
    """Close every client at once (each waits only for its own close handshake)."""

    async def close() -> None:
        await asyncio.gather(*(client.stop() for client in clients), return_exceptions=True)
        await asyncio.gather(*(client.closed.wait() for client in clients))

    fleet._call(close(), timeout=120)


def listed(api: Any) -> set[str] | None:
    """The ids of the sessions the listing shows (pages of 1000); None when a page is refused."""
    ids: set[str] = set()
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        answer = api.get("/sessions", params=params)
        if answer.status_code != 200:
            return None
        page = answer.json()
        ids.update(session["id"] for session in page["sessions"])
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def send_pending(api: Any, clients: list[SimulatedClient]) -> int:
    """One ``"wait": false`` bulk message per 1000 sessions whose function outlives the scenario."""
    ids = [client.session_id for client in clients]
    for start in range(0, len(ids), 1000):
        body = {"session_ids": ids[start : start + 1000], "key": "sleep", "data": PENDING_S, "wait": False}
        body["timeout"] = 60  # the longest a message may wait (PROTOCOL.md); its function outlives it
        answer = api.post("/sessions/message", json=body)
        if answer.status_code != 202:
            raise RuntimeError(f"the pending messages were refused: {answer.status_code} {answer.text}")
    time.sleep(0.5)  # every frame has reached its client
    return sum(1 for client in clients if client.received and client.received[-1].get("type") == "message")


def admitted(fleet: Fleet, count: int) -> dict[str, Any]:
    """``count`` handshakes started together: how many were admitted; the clients are closed again."""

    async def attempt() -> list[SimulatedClient]:
        identities = [identity_for(fleet.script_id, 900_000 + index) for index in range(count)]
        clients = [SimulatedClient(fleet.url, identity) for identity in identities]
        for client in clients:
            client.task = asyncio.create_task(client.run())
        await asyncio.gather(*(client.hello.wait() for client in clients))
        return clients

    started = time.perf_counter()
    clients = fleet._call(attempt(), timeout=120)
    wall_s = time.perf_counter() - started
    refused = [client.ending() for client in clients if client.session_id is None]
    close_all(fleet, [client for client in clients if client.session_id is not None])
    return {
        "attempted": count,
        "admitted": count - len(refused),
        "wall_s": round(wall_s, 2),
        "refusals": sorted(set(refused))[:3],
    }


def wave(stack: RunningStack, sessions: int = 1000, pending: bool = True, after: int = 250) -> dict[str, Any]:
    """Connect, (message,) close; right away ``after`` handshakes at once (while the closes are still
    being handled); the clock stops when none of the closed sessions is listed any more."""
    fleet = Fleet(stack.ws_url, stack.script_id)
    api = stack.client()
    try:
        started = time.perf_counter()
        clients, connect_s = connect(fleet, sessions)
        messaged = send_pending(api, clients) if pending else 0
        closing = time.perf_counter()
        close_all(fleet, clients)
        admission = admitted(fleet, after)
        wave_ids, refused_listings = {client.session_id for client in clients}, 0
        while (shown := listed(api)) is None or shown & wave_ids:
            refused_listings += shown is None
            time.sleep(0.1)
        gone_s = time.perf_counter() - closing
        total_s = time.perf_counter() - started
    finally:
        fleet.stop()
        api.close()
    # A handshake is two WebSocket invocations ($connect, then the hello on $default); a close is one.
    invocations = 3 * sessions + 2 * admission["admitted"]
    return {
        "sessions": sessions,
        "pending_messages": messaged,
        "connect_s": round(connect_s, 2),
        "handshakes_per_s": round(sessions / connect_s, 1),
        "gone_after_close_s": round(gone_s, 2),
        "listings_refused_meanwhile": refused_listings,
        "total_s": round(total_s, 2),
        "invocations_per_s": round(invocations / (connect_s + gone_s), 1),
        "after": admission,
    }


def many(stack: RunningStack, live: int = 5000, samples: int = 20, bulk: int = 1000) -> dict[str, Any]:
    """``live`` sessions in this one process: the listing's first page timed, then one bulk echo."""
    fleet = Fleet(stack.ws_url, stack.script_id)
    api = stack.client()
    try:
        try:
            clients, connect_s = connect(fleet, live)
        except ConnectionError as exc:  # the stack could not take them all: how far it came
            return {"live": live, "connected": len(fleet.clients), "failed": str(exc)}
        latencies = []
        for _ in range(samples):
            started = time.perf_counter()
            answer = api.get("/sessions", params={"limit": 1})
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200 or len(answer.json()["sessions"]) != 1:
                raise RuntimeError(f"the listing failed: {answer.status_code} {answer.text}")
        ids = [client.session_id for client in clients[:bulk]]
        started = time.perf_counter()
        answer = api.post("/sessions/message", json={"session_ids": ids, "key": "echo", "data": 1})
        bulk_s = time.perf_counter() - started
        responses = answer.json().get("responses", []) if answer.status_code == 200 else []
    finally:
        fleet.stop()
        api.close()
    return {
        "live": live,
        "connect_s": round(connect_s, 2),
        "handshakes_per_s": round(live / connect_s, 1),
        "list_limit_1_p50_ms": round(statistics.median(latencies), 1),
        "list_limit_1_max_ms": round(max(latencies), 1),
        "bulk": {
            "sessions": bulk,
            "status": answer.status_code,
            "wall_s": round(bulk_s, 2),
            "all_processed": all_processed(responses, bulk),
            "reasons": dict(Counter(r.get("reason") for r in responses if not r["processed"])),
        },
    }
