"""A 5,000-session message broadcast on the local stack (``make bench``): from the ``202`` to the last
frame a client received (against the floor the post rate sets: sessions / BroadcastPostRate) and to
``done``, through the broadcast worker on the embedded SQS; every session reached exactly once (frames
counted by the simulated clients), the counts adding up and the response pages covering each session
once; and what each session cost in DynamoDB requests and write units (counted by the stack: every
request of the REST call, the workers and the replies' ``$default`` invocations, over the broadcast).
On AWS the time is set by BroadcastPostRate (docs/cost.md, "Broadcasts"); here by this machine."""

import secrets
import time
from typing import Any

from bench.broadcast_cost import DEFAULTS
from session_relay_tools.simulate import Fleet, identity_for

WAVE = 50  # sessions connected at a time (the local stack admits the account's connection rate)
WAVE_TRIES = 3  # a wave refused by a busy machine (a handshake timing out) is connected again


def _connect(fleet: Fleet, count: int, place_id: int) -> list[Any]:
    clients: list[Any] = []
    identity = identity_for(fleet.script_id, 0, place_id=place_id)
    for start in range(0, count, WAVE):
        for attempt in range(WAVE_TRIES):
            try:
                clients += fleet.connect(min(WAVE, count - start), identity=identity)
                break
            except ConnectionError:
                if attempt == WAVE_TRIES - 1:
                    raise
                time.sleep(1)
    return clients


def _pages(api: Any, broadcast_id: str) -> list[dict[str, Any]]:
    entries, cursor = [], None
    while True:
        params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
        page = api.get(f"/broadcasts/{broadcast_id}/responses", params=params).json()
        entries += page["responses"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


def broadcast(bench: Any, fleet: Fleet, count: int = 5000, within_s: float = 900) -> dict[str, Any]:
    """Broadcast ``echo`` to ``count`` fresh sessions; what it took, what it cost, whether it was exact."""
    api = bench.api
    place_id = 1 + secrets.randbelow(2**40)
    clients = _connect(fleet, count, place_id)
    time.sleep(2)  # the handshakes' last writes are over: the counts below are the broadcast's own
    bench.calls(reset=True)
    started = time.monotonic()
    answer = api.post(
        "/broadcasts/message", json={"filter": {"place_id": place_id}, "key": "echo", "timeout": 30}
    )
    accepted_ms = (time.monotonic() - started) * 1000
    broadcast_id = answer.json()["broadcast_id"]
    shown: dict[str, Any] = {}
    while time.monotonic() - started < within_s:
        shown = api.get(f"/broadcasts/{broadcast_id}", params={"wait": "5"}).json()["broadcast"]
        if shown["done"]:
            break
    done_s = time.monotonic() - started
    time.sleep(1)  # a second frame, if any, has arrived by now
    counts = bench.calls()
    frames = [sum(1 for f in c.received if f.get("type") == "message") for c in clients]
    last = max((c.last_message_at for c in clients if c.last_message_at is not None), default=started)
    entries = _pages(api, broadcast_id)
    rate = DEFAULTS["BroadcastPostRate"]  # as the local stack runs it: the template's default
    return {
        "sessions": count,
        "accepted_ms": round(accepted_ms, 1),
        "posted_s": round(last - started, 2),
        "post_rate": rate,
        "posting_floor_s": round(count / rate, 2),
        "done_s": round(done_s, 2),
        "posts_per_s": round(count / (last - started), 1) if last > started else None,
        "dynamodb_requests_per_session": round(sum(counts.get("dynamodb", {}).values()) / count, 2),
        "dynamodb_by_operation": counts.get("dynamodb", {}),
        "write_units_per_session": round(counts.get("write_units", {}).get("dynamodb", 0) / count, 2),
        "read_units_per_session": round(counts.get("read_units", {}).get("dynamodb", 0) / count, 2),
        "done": shown.get("done", False),
        "counts": shown.get("counts"),
        "every_session_once": frames == [1] * count,
        "responses_once": sorted(e["session_id"] for e in entries) == sorted(c.session_id for c in clients),
    }
