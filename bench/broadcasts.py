"""A 2,000-session message broadcast on the local stack (``make bench``): from the ``202`` to ``done``
through the broadcast worker on the embedded SQS, every session reached exactly once (frames counted by
the simulated clients), the counts adding up and the response pages covering each session once.
On AWS the time is set by BroadcastPostRate (docs/cost.md, "Broadcasts"); here by this machine."""

import secrets
import time
from typing import Any

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


def broadcast(api: Any, fleet: Fleet, count: int = 2000, within_s: float = 300) -> dict[str, Any]:
    """Broadcast ``echo`` to ``count`` fresh sessions; what it took and whether it was exact."""
    place_id = 1 + secrets.randbelow(2**40)
    clients = _connect(fleet, count, place_id)
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
    frames = [sum(1 for f in c.received if f.get("type") == "message") for c in clients]
    entries = _pages(api, broadcast_id)
    return {
        "sessions": count,
        "accepted_ms": round(accepted_ms, 1),
        "done_s": round(done_s, 2),
        "posts_per_s": round(count / done_s, 1),
        "done": shown.get("done", False),
        "counts": shown.get("counts"),
        "every_session_once": frames == [1] * count,
        "responses_once": sorted(e["session_id"] for e in entries) == sorted(c.session_id for c in clients),
    }
