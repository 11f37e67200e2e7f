"""``make bench``: measure the local stack and write docs/benchmarks.md and bench/results.json.

Not part of ``make test``. Every number comes from this one run, on this machine, on loopback.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
from session_relay.aws import DYNAMODB_CONFIG, MANAGEMENT_CONFIG

from bench import coldstart, cost, memory, peer, throughput
from bench.report import write_report
from bench.stats import summarize
from session_relay_tools.local.process import RunningStack, free_port, start_stack, stop_stack
from session_relay_tools.simulate import PING_INTERVAL_S, Fleet

ROOT = Path(__file__).resolve().parents[1]


class Bench:
    def __init__(self, stack: RunningStack, fleet: Fleet) -> None:
        self.stack = stack
        self.fleet = fleet
        self.api = stack.client()
        self.management_url = stack.ws_url.replace("ws://", "http://")

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

    def round_trip(self, count: int = 200) -> dict[str, Any]:
        (client,) = self.fleet.connect(1)
        session_id = client.session_id
        latencies = []
        for index in range(count + 20):
            started = time.perf_counter()
            answer = self.message(session_id, "echo", {"n": index})
            elapsed = (time.perf_counter() - started) * 1000
            assert answer["response"] == {"n": index}, answer
            if index >= 20:  # warm-up (cold imports, key cache) excluded
                latencies.append(elapsed)
        result = summarize(latencies)
        result["floor"] = self.floor(session_id)
        result["ratio_p50_to_floor"] = round(result["p50_ms"] / result["floor"]["total_ms"], 2)
        return result

    def floor(self, session_id: str, repeats: int = 200) -> dict[str, Any]:
        """The minimal operations of one answered message, each timed alone (median, ms)."""
        dynamodb = boto3.client(
            "dynamodb", endpoint_url=self.stack.dynamodb_endpoint, config=DYNAMODB_CONFIG, **_credentials()
        )
        management = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=f"{self.management_url}/local",
            config=MANAGEMENT_CONFIG,
            **_credentials(),
        )
        sessions, connections = self.stack.table("SessionsTable"), self.stack.table("ConnectionsTable")
        session_key = {"id": {"S": session_id}}
        connection_id = dynamodb.get_item(TableName=sessions, Key=session_key)["Item"]["connection_id"]["S"]
        message_key = {"connection_id": {"S": "floor-bench"}, "item": {"S": "message#floor"}}
        message_item = {**message_key, "status": {"S": "pending"}, "deadline_ms": {"N": "1"}}
        operations = {
            "GetItem session": lambda: dynamodb.get_item(
                TableName=sessions, Key=session_key, ConsistentRead=True
            ),
            "PutItem message": lambda: dynamodb.put_item(TableName=connections, Item=message_item),
            "PostToConnection": lambda: management.post_to_connection(
                ConnectionId=connection_id, Data=b'{"type":"pong"}'
            ),
            "UpdateItem reply": lambda: dynamodb.update_item(
                TableName=connections,
                Key=message_key,
                UpdateExpression="SET #s = :a, reply = :r",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":a": {"S": "answered"},
                    ":r": {"S": '{"processed":true,"response":1}'},
                },
            ),
            "UpdateItem last_seen": lambda: dynamodb.update_item(
                TableName=sessions,
                Key=session_key,
                UpdateExpression="SET last_seen_at = last_seen_at",
                ConditionExpression="attribute_exists(id)",
            ),
            "GetItem poll": lambda: dynamodb.get_item(
                TableName=connections, Key=message_key, ConsistentRead=True
            ),
        }
        medians = {}
        for name, operation in operations.items():
            operation()
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                operation()
                samples.append((time.perf_counter() - started) * 1000)
            medians[name] = round(statistics.median(samples), 2)
        return {"operations_ms": medians, "total_ms": round(sum(medians.values()), 2)}

    # -------------------------------------------------------------- 2. operations per message

    def operations(self) -> dict[str, Any]:
        (client,) = self.fleet.connect(1)
        session_id = client.session_id
        self.message(session_id, "echo", "warm")  # the API key is now cached, as on a warm container
        cases = {
            "prompt reply": ("echo", "x", 10),
            "reply after 1 s": ("sleep", 1, 10),
            "full timeout (1 s)": ("sleep", 3, 1),
        }
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

    def bulk(self, sizes: tuple[int, ...] = (100, 1000)) -> dict[str, Any]:
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
            started = time.perf_counter()
            answer = self.api.post("/sessions/message", json={"session_ids": ids, "key": "echo", "data": 1})
            wall_s = time.perf_counter() - started
            if answer.status_code != 200:
                raise RuntimeError(f"bulk message to {size} failed: {answer.status_code} {answer.text}")
            responses = answer.json()["responses"]
            counts = self.calls().get("dynamodb", {})
            chunks = -(-size // 100)
            poll_calls = counts.get("BatchGetItem", 0) - chunks  # the first chunks read the sessions
            rounds = max(1, poll_calls // chunks)
            result[str(size)] = {
                "wall_s": round(wall_s, 3),
                "all_processed": all(entry["processed"] for entry in responses) and len(responses) == size,
                "dynamodb_total": sum(counts.values()),
                "dynamodb_by_operation": counts,
                "polling_rounds": rounds,
                "dynamodb_calls_per_polling_round": round(poll_calls / rounds, 1),
            }
        # The bulk sessions stay connected (idle) for the rest of the run: closing a thousand at once
        # would measure the local database's backlog of $disconnect calls, not the next scenario.
        return result

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


def _credentials() -> dict[str, str]:
    return {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}


# ------------------------------------------------------------------ 5. cold start and sizes


def _size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1_000_000, 3)


def package_sizes() -> dict[str, Any]:
    """Sizes of what ``sam build`` produces: the layer and each function package (MB, unzipped)."""
    sam = ROOT / ".venv-tools" / "bin" / "sam"
    if not sam.exists():
        return {"error": "AWS SAM CLI not installed (make install)"}
    python312 = Path(sys.executable).resolve().parent
    with tempfile.TemporaryDirectory() as build_dir:
        completed = subprocess.run(
            [str(sam), "build", "--build-dir", build_dir, "--template-file", str(ROOT / "template.yaml")],
            cwd=ROOT,
            env={**os.environ, "PATH": f"{python312}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            return {"error": completed.stdout[-2000:] + completed.stderr[-2000:]}
        built = Path(build_dir)
        sizes = {"CommonLayer": _size_mb(built / "CommonLayer")}
        for folder in sorted(built.iterdir()):
            if folder.is_dir() and folder.name.endswith("Function"):
                sizes[folder.name] = _size_mb(folder)
        return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmarks of Session Relay on the local stack.")
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    args = parser.parse_args()
    quick = args.quick
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    # First, while nothing else of the benchmark is running: imports are the most noise-sensitive.
    print("cold start...", flush=True)
    results["imports"] = coldstart.import_times(3 if quick else 9)
    results["import_breakdown_ms"] = coldstart.import_breakdown()
    stack = start_stack({"SESSION_RELAY_COUNT_CALLS": "1"})
    fleet = Fleet(stack.ws_url, stack.script_id)
    try:
        bench = Bench(stack, fleet)
        print("round trip and floor...", flush=True)
        results["round_trip"] = bench.round_trip(50 if quick else 200)
        (client,) = fleet.connect(1)
        results["rest_cpu"] = memory.cpu_per_message(bench, client.session_id, 30 if quick else 100)
        print("operations per message...", flush=True)
        results["operations"] = bench.operations()
        print("bulk...", flush=True)
        results["bulk"] = bench.bulk((10, 100) if quick else (100, 1000))
        print("local throughput (sequential writes, 200 x a 1-second function)...", flush=True)
        results["throughput"] = {
            "sequential_writes": throughput.sequential_writes(
                stack.dynamodb_endpoint, stack.table("ConnectionsTable"), 100 if quick else 1000
            ),
            "slow_bulk": throughput.slow_bulk(bench.api, bench.bulk_session_ids[:200]),
        }
        results["ping"] = throughput.ping_cost(bench)
        results["ping_interval_s"] = PING_INTERVAL_S
        print("concurrency...", flush=True)
        results["concurrency"] = bench.concurrency(10 if quick else 50, 5 if quick else 20)
    finally:
        fleet.stop()
        stop_stack(stack)
    print("peer (python-socketio call())...", flush=True)
    results["peer_socketio"] = peer.measure(free_port(), 50 if quick else 200)
    footprint = memory.rest_footprint_mb()
    results["rest_memory"] = {
        "footprint_mb": footprint,
        "sizes": memory.sizing(footprint, results["rest_cpu"]["cpu_ms"]),
    }
    print("package sizes (sam build)...", flush=True)
    results["package_mb"] = package_sizes()
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, ROOT / "docs" / "benchmarks.md")
    cost.write_cost(results, ROOT / "docs" / "cost.md")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
