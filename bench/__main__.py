"""``make bench``: measure the local stack and write docs/benchmarks.md, docs/cost.md and
bench/results.json.

Not part of ``make test``. Every number comes from this one run, on this machine, on loopback.
"""

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from bench import broadcasts, coldstart, cost, memory, pace_main, peer, storm, throughput
from bench.floor import bulk_floor, handlers_path
from bench.packaging import ROOT, package_sizes
from bench.report import write_report
from bench.scenarios import TURNS, Bench
from session_relay_tools.local.process import free_port, start_stack, stop_stack
from session_relay_tools.simulate import Fleet
from session_relay_tools.simulate.client import PING_INTERVAL_S


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmarks of Session Relay on the local stack.")
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    args = parser.parse_args()
    quick = args.quick
    results: dict[str, Any] = _run_header()
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
        results["floor_path"] = handlers_path(stack)[1]
        (client,) = fleet.connect(1)
        results["rest_cpu"] = memory.cpu_per_message(bench, client.session_id, 30 if quick else 100)
        print("operations per message...", flush=True)
        results["operations"] = bench.operations()
        print("bulk, in turns with its floor (sequential writes)...", flush=True)
        writes = 100 if quick else 1000

        def sequential_writes() -> float:
            return throughput.sequential_writes(
                handlers_path(stack)[0], stack.table("ConnectionsTable"), writes
            )["wall_s"]

        results["bulk"] = bench.bulk((10, 100) if quick else (100, 1000), floor=sequential_writes)
        results["bulk_floor_ms"] = bulk_floor(stack, bench.bulk_session_ids)
        largest = results["bulk"][str(writes)]
        print("local throughput (200 x a 1-second function)...", flush=True)
        results["throughput"] = {
            "sequential_writes": {"count": writes, "wall_s": round(largest["floor_s"], 3)},
            "slow_bulk": throughput.slow_bulk(bench.api, bench.bulk_session_ids[:200], turns=TURNS),
        }
        results["ping"] = throughput.ping_cost(bench)
        results["ping_interval_s"] = PING_INTERVAL_S
        print("concurrency...", flush=True)
        results["concurrency"] = bench.concurrency(10 if quick else 50, 5 if quick else 20)
    finally:
        fleet.stop()
        stop_stack(stack)
    _on_stacks_of_their_own(results, quick)
    results["pace"] = pace_main.measure(quick)  # each scenario on a stack of its own
    print("peer (python-socketio call())...", flush=True)
    results["peer_socketio"] = peer.measure(free_port(), 50 if quick else 200)
    footprint = memory.rest_footprint_mb()
    results["rest_memory"] = {
        "footprint_mb": footprint,
        "sizes": memory.sizing(footprint, results["rest_cpu"]["cpu_ms"]),
    }
    print("reconnect storms (Luau clients)...", flush=True)
    results["storm"] = storm.measure(*((200, 20, 200) if quick else (2000, 20, 2000)))
    print("package sizes (sam build)...", flush=True)
    results["package_mb"] = package_sizes()
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, ROOT / "docs" / "benchmarks.md")
    storm.write_section(results["storm"], ROOT / "docs" / "benchmarks.md")
    cost.write_cost(results, ROOT / "docs" / "cost.md")
    print(json.dumps(results, indent=2))


def _on_stacks_of_their_own(results: dict[str, Any], quick: bool) -> None:
    """The scenarios that need a stack deployed or metered otherwise, each on a fresh one."""
    print("operations per message with MaxCallsInFlightPerKey=0...", flush=True)
    results["operations"]["prompt reply, MaxCallsInFlightPerKey=0"] = _uncapped_prompt_reply()
    print("bulk polls side by side (answered index, by key)...", flush=True)
    results["polls"] = _polls_side_by_side(100 if quick else 1000)
    print("broadcast...", flush=True)
    sessions = 200 if quick else 5000
    results["broadcast"] = _metered(lambda bench, fleet: broadcasts.broadcast(bench, fleet, sessions))


def _run_header() -> dict[str, Any]:
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    return {"machine": machine, "started_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def _uncapped_prompt_reply() -> dict[str, Any]:
    """The prompt reply's requests on a stack deployed with ``MaxCallsInFlightPerKey=0``: no lease."""
    return _on_own_stack(
        lambda bench, _: bench.operations(prompt_only=True)["prompt reply"], MAX_CALLS_IN_FLIGHT="0"
    )


def _metered(scenario: Callable[[Bench, Fleet], Any], **env: str) -> Any:
    """Run ``scenario`` on a stack of its own that counts and meters the handlers' requests."""
    return _on_own_stack(scenario, SESSION_RELAY_METER="1", **env)


def _on_own_stack(scenario: Callable[[Bench, Fleet], Any], **env: str) -> Any:
    """Run ``scenario`` on a fresh stack that counts the handlers' calls, with ``env`` added."""
    stack = start_stack({"SESSION_RELAY_COUNT_CALLS": "1", **env})
    fleet = Fleet(stack.ws_url, stack.script_id)
    try:
        return scenario(Bench(stack, fleet), fleet)
    finally:
        fleet.stop()
        stop_stack(stack)


def _polls_side_by_side(size: int) -> dict[str, Any]:
    """The bulk echo and the 200 x 1 s bulk with the deployed polls, and with polls that read every
    pending message by key each round (``SESSION_RELAY_BULK_POLL=by-key``), each on its own stack."""

    def both(bench: Bench, _: Fleet) -> dict[str, Any]:
        bulk = bench.bulk((size,))
        slow = throughput.slow_bulk(bench.api, bench.bulk_session_ids[: min(200, size)])
        return {"bulk": bulk[str(size)], "slow_bulk": slow}

    polls: dict[str, Any] = {"sessions": size}
    for poll in ("answered", "by-key"):
        polls[poll] = _metered(both, SESSION_RELAY_BULK_POLL=poll)
    return polls


if __name__ == "__main__":
    main()
