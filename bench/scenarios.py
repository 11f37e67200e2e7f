"""The scenarios measured against the running local stack: round trip, operations per message,
bulk, concurrency."""

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.floor import floor_of, floor_samples, management_endpoint
from bench.stats import all_processed, summarize
from session_relay_tools.local.process import RunningStack
from session_relay_tools.simulate import Fleet

# Turns in which a figure and its floor are timed in alternation: the machine is shared, so a slow
# spell then weighs on both alike.
TURNS = 4


class Bench:
    def __init__(self, stack: RunningStack, fleet: Fleet) -> None:
        self.stack = stack
        self.fleet = fleet
        self.api = stack.client()
        self.management_url = management_endpoint(stack)

    # -------------------------------------------------------------- helpers

    def calls(self, reset: bool = False) -> dict[str, dict[str, int]]:
        method = "DELETE" if reset else "GET"
        return httpx.request(method, f"{self.management_url}/@local/calls").json()

    def message(self, session_id: str, key: str, data: Any, timeout: float = 60, client=None) -> dict:
        answer = (client or self.api).post(
            f"/sessions/{session_id}/message", json={"key": key, "data": data, "timeout": timeout}
        )
        answer.raise_for_status()
        return answer.json()

    # -------------------------------------------------------------- 1. round trip and floor

    def round_trip(self, count: int = 200, turns: int = TURNS) -> dict[str, Any]:
        """``count`` round trips and the floor's operations ``count`` times each, in ``turns`` turns
        taken in alternation, so both are timed while the shared machine is as busy."""
        (client,) = self.fleet.connect(1)
        session_id = client.session_id
        for index in range(20):  # warm-up (cold imports, key cache), not counted
            self.message(session_id, "echo", {"n": index})
        latencies: list[float] = []
        samples: dict[str, list[float]] = {}
        for _ in range(turns):
            for _ in range(count // turns):
                index = len(latencies)
                started = time.perf_counter()
                answer = self.message(session_id, "echo", {"n": index})
                latencies.append((time.perf_counter() - started) * 1000)
                assert answer["response"] == {"n": index}, answer
            for name, values in floor_samples(self.stack, session_id, count // turns).items():
                samples.setdefault(name, []).extend(values)
        result = summarize(latencies)
        result["floor"] = floor_of(samples)
        result["turns"] = turns
        result["ratio_p50_to_floor"] = round(result["p50_ms"] / result["floor"]["total_ms"], 2)
        return result

    # -------------------------------------------------------------- 2. operations per message

    def operations(self, prompt_only: bool = False) -> dict[str, Any]:
        """DynamoDB and Management API requests of one call per case, counted by the stack."""
        (client,) = self.fleet.connect(1)
        session_id = client.session_id
        self.message(session_id, "echo", "warm")  # the API key is now cached, as on a warm container
        cases = {
            "prompt reply": ("echo", "x", 10),
            "reply after 1 s": ("sleep", 1, 10),
            "full timeout (1 s)": ("sleep", 3, 1),
        }
        if prompt_only:
            cases = {"prompt reply": cases["prompt reply"]}
        result = {}
        for name, (key, data, timeout) in cases.items():
            time.sleep(2.5)  # let the previous call's function finish on the client
            self.calls(reset=True)
            self.message(session_id, key, data, timeout)
            time.sleep(0.3)  # the reply's own handler may still be finishing
            counts = self.calls()
            dynamodb = counts.get("dynamodb", {})
            result[name] = {
                "dynamodb_requests": sum(dynamodb.values()),
                "dynamodb_by_operation": dynamodb,
                "management_api_calls": sum(counts.get("apigatewaymanagementapi", {}).values()),
            }
        return result

    # -------------------------------------------------------------- 3. bulk

    def bulk(
        self, sizes: tuple[int, ...] = (100, 1000), floor: Any = None, turns: int = TURNS
    ) -> dict[str, Any]:
        """Bulk echoes of each size; the largest ``turns`` times, in alternation with ``floor()`` (its
        floor's wall time, s) when given: its wall time and the floor's are the medians of the turns
        (requests are counted on the first)."""
        started = time.perf_counter()
        clients = []
        while len(clients) < max(sizes):  # in waves: a thousand handshakes at once would time out
            clients += self.fleet.connect(min(100, max(sizes) - len(clients)))
        connect_s = time.perf_counter() - started
        self.bulk_session_ids = [client.session_id for client in clients]
        result: dict[str, Any] = {"connect_s": round(connect_s, 2)}
        for size in sizes:
            ids = [client.session_id for client in clients[:size]]
            self.calls(reset=True)
            wall_s, responses = self._bulk_echo(ids)
            counts = self.calls()
            processed = all_processed(responses, size)
            extra: dict[str, Any] = {}
            if floor is not None and size == max(sizes):
                walls, floors = [wall_s], [floor()]
                for _ in range(turns - 1):
                    wall_s, responses = self._bulk_echo(ids)
                    walls.append(wall_s)
                    floors.append(floor())
                    processed = processed and all_processed(responses, size)
                wall_s = statistics.median(walls)
                extra = {"turns_wall_s": walls, "floor_s": statistics.median(floors), "turns_floor_s": floors}
            dynamodb = counts.get("dynamodb", {})
            result[str(size)] = {
                "wall_s": round(wall_s, 3),
                **extra,
                "all_processed": processed,
                "dynamodb_total": sum(dynamodb.values()),
                "dynamodb_by_operation": dynamodb,
                # The sessions read by key, the polls (answered-index Queries, sweeps by key), withdraws.
                "items_read": counts.get("items_read", {}),
                "write_units": counts.get("write_units", {}).get("dynamodb"),
                "read_units": counts.get("read_units", {}).get("dynamodb"),
            }
        # The bulk sessions stay connected (idle) for the rest of the run: closing a thousand at once
        # would measure the local database's backlog of $disconnect calls, not the next scenario.
        return result

    def _bulk_echo(self, ids: list[str]) -> tuple[float, list[dict[str, Any]]]:
        started = time.perf_counter()
        answer = self.api.post("/sessions/message", json={"session_ids": ids, "key": "echo", "data": 1})
        wall_s = round(time.perf_counter() - started, 3)
        if answer.status_code != 200:
            raise RuntimeError(f"bulk message to {len(ids)} failed: {answer.status_code} {answer.text}")
        return wall_s, answer.json()["responses"]

    # -------------------------------------------------------------- 4. concurrency

    def concurrency(self, callers: int = 50, duration_s: float = 20) -> dict[str, Any]:
        clients = self.fleet.connect(callers)
        latencies: list[float] = []
        errors = []
        lock = threading.Lock()
        stop_at = time.monotonic() + duration_s

        def caller(session_id: str) -> None:
            with self.stack.client() as api:
                index = 0
                while time.monotonic() < stop_at:
                    index += 1
                    started = time.perf_counter()
                    try:
                        answer = self.message(session_id, "echo", index, client=api)
                        ok = answer.get("response") == index
                    except httpx.HTTPError as exc:
                        answer, ok = repr(exc), False
                    elapsed = (time.perf_counter() - started) * 1000
                    with lock:
                        latencies.append(elapsed)
                        if not ok:
                            errors.append(answer)

        started = time.monotonic()
        with ThreadPoolExecutor(callers) as pool:
            list(pool.map(caller, [client.session_id for client in clients]))
        elapsed = time.monotonic() - started
        for client in clients:
            self.fleet.close(client)
        return {
            "callers": callers,
            "duration_s": round(elapsed, 1),
            "messages": len(latencies),
            "throughput_per_s": round(len(latencies) / elapsed, 1),
            **summarize(latencies),
            "errors": len(errors),
        }
